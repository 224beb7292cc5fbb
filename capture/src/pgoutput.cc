#include "pgoutput.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace ghostlog::capture::pgoutput {
namespace {

// What a read was for, formatted only when it fails: "new tuple column 3
// length", "column 2 name", "xid".
struct What {
  const char* part = nullptr;   // "new tuple", or nullptr
  uint32_t column = 0;          // 1-based; 0 = not a column field
  const char* field = nullptr;  // "length", "name", ...
};
What W(const char* field) { return What{nullptr, 0, field}; }

std::string Describe(const What& w) {
  std::string s;
  auto add = [&s](const std::string& piece) {
    if (!s.empty()) s += ' ';
    s += piece;
  };
  if (w.part) add(w.part);
  if (w.column) add("column " + std::to_string(w.column));
  if (w.field) add(w.field);
  return s;
}

std::string ByteRepr(uint8_t b) {
  static const char* kHex = "0123456789abcdef";
  std::string s = "0x";
  s += kHex[b >> 4];
  s += kHex[b & 15];
  if (b >= 0x20 && b < 0x7f) {
    s += " '";
    s += static_cast<char>(b);
    s += '\'';
  }
  return s;
}

// Bounds-checked big-endian reader over one message. Every read names what it
// was reading so that a failure says where the message went wrong.
class Reader {
 public:
  Reader(std::string_view data, const char* msg_name) : data_(data), msg_name_(msg_name) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  void Skip(size_t n) { pos_ += n; }

  Status Error(const std::string& what) const {
    return Status::Corruption(std::string("pgoutput ") + msg_name_ + " message: " + what);
  }
  Status Truncated(size_t at, const What& w) const {
    return Error("truncated at byte " + std::to_string(at) + " reading " + Describe(w));
  }
  Status Unexpected(size_t at, const What& w, uint8_t got, const char* expected) const {
    return Error("unexpected " + Describe(w) + " " + ByteRepr(got) + " at byte " + std::to_string(at) + " (expected " +
                 expected + ")");
  }

  Status U8(uint8_t* v, const What& w) {
    if (remaining() < 1) return Truncated(pos_, w);
    *v = static_cast<uint8_t>(data_[pos_++]);
    return Status::OK();
  }
  Status U16(uint16_t* v, const What& w) {
    if (remaining() < 2) return Truncated(pos_, w);
    *v = static_cast<uint16_t>(Byte(0) << 8 | Byte(1));
    pos_ += 2;
    return Status::OK();
  }
  Status U32(uint32_t* v, const What& w) {
    if (remaining() < 4) return Truncated(pos_, w);
    *v = Byte(0) << 24 | Byte(1) << 16 | Byte(2) << 8 | Byte(3);
    pos_ += 4;
    return Status::OK();
  }
  Status I32(int32_t* v, const What& w) {
    uint32_t u = 0;
    RETURN_NOT_OK(U32(&u, w));
    *v = static_cast<int32_t>(u);
    return Status::OK();
  }
  Status U64(uint64_t* v, const What& w) {
    if (remaining() < 8) return Truncated(pos_, w);
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i) x = x << 8 | Byte(i);
    *v = x;
    pos_ += 8;
    return Status::OK();
  }
  Status I64(int64_t* v, const What& w) {
    uint64_t u = 0;
    RETURN_NOT_OK(U64(&u, w));
    *v = static_cast<int64_t>(u);
    return Status::OK();
  }
  // A NUL-terminated string; the NUL is consumed, not returned.
  Status CString(std::string* s, const What& w) {
    const char* begin = data_.data() + pos_;
    const void* nul = remaining() ? std::memchr(begin, '\0', remaining()) : nullptr;
    if (!nul) return Truncated(pos_, w);
    size_t len = static_cast<const char*>(nul) - begin;
    s->assign(begin, len);
    pos_ += len + 1;
    return Status::OK();
  }
  // An Int32 length (must be >= 0) followed by that many bytes.
  Status Counted(std::string* s, const What& length_what, const What& bytes_what) {
    size_t at = pos_;
    int32_t len = 0;
    RETURN_NOT_OK(I32(&len, length_what));
    if (len < 0)
      return Error("negative " + Describe(length_what) + " " + std::to_string(len) + " at byte " + std::to_string(at));
    if (remaining() < static_cast<size_t>(len)) return Truncated(pos_, bytes_what);
    s->assign(data_.data() + pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return Status::OK();
  }

  Status Xid(std::optional<pgoutput::Xid>* xid) {
    uint32_t v = 0;
    RETURN_NOT_OK(U32(&v, W("xid")));
    *xid = v;
    return Status::OK();
  }

  Status Finish() const {
    if (remaining() == 0) return Status::OK();
    return Error(std::to_string(remaining()) + " unexpected trailing byte" + (remaining() == 1 ? "" : "s") +
                 " at byte " + std::to_string(pos_));
  }

 private:
  uint32_t Byte(size_t i) const { return static_cast<uint8_t>(data_[pos_ + i]); }

  std::string_view data_;
  const char* msg_name_;
  size_t pos_ = 0;
};

Status ReadTuple(Reader& r, const char* part, Tuple* out) {
  uint16_t ncols = 0;
  RETURN_NOT_OK(r.U16(&ncols, What{part, 0, "column count"}));
  out->clear();
  // Every column takes at least one byte: never reserve more than could follow.
  out->reserve(std::min<size_t>(ncols, r.remaining()));
  for (uint32_t i = 1; i <= ncols; ++i) {
    size_t at = r.pos();
    uint8_t kind = 0;
    RETURN_NOT_OK(r.U8(&kind, What{part, i, "kind"}));
    Datum& d = out->emplace_back();
    switch (kind) {
      case 'n':
        d.kind = Datum::Kind::kNull;
        break;
      case 'u':
        d.kind = Datum::Kind::kUnchangedToast;
        break;
      case 't':
      case 'b':
        d.kind = kind == 't' ? Datum::Kind::kText : Datum::Kind::kBinary;
        RETURN_NOT_OK(r.Counted(&d.bytes, What{part, i, "length"}, What{part, i, "value"}));
        break;
      default:
        return r.Unexpected(at, What{part, i, "kind"}, kind, "'n', 'u', 't' or 'b'");
    }
  }
  return Status::OK();
}

void Put8(std::string& o, uint8_t v) { o.push_back(static_cast<char>(v)); }
void Put16(std::string& o, uint16_t v) {
  Put8(o, v >> 8);
  Put8(o, v & 0xff);
}
void Put32(std::string& o, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) Put8(o, (v >> s) & 0xff);
}
void Put64(std::string& o, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) Put8(o, (v >> s) & 0xff);
}
void PutStr(std::string& o, const std::string& s) {
  o += s;
  o.push_back('\0');
}
void PutXid(std::string& o, const std::optional<Xid>& xid) {
  if (xid) Put32(o, *xid);
}
void PutTuple(std::string& o, const Tuple& t) {
  Put16(o, static_cast<uint16_t>(t.size()));
  for (const Datum& d : t) {
    Put8(o, static_cast<uint8_t>(d.kind));
    if (d.kind == Datum::Kind::kText || d.kind == Datum::Kind::kBinary) {
      Put32(o, static_cast<uint32_t>(d.bytes.size()));
      o += d.bytes;
    }
  }
}

// ---- one decoder per message type; `r` is positioned after the type byte ----

Result<Msg> DecodeBegin(Reader& r) {
  Begin m;
  RETURN_NOT_OK(r.U64(&m.final_lsn, W("final LSN")));
  RETURN_NOT_OK(r.I64(&m.commit_ts_us, W("commit timestamp")));
  RETURN_NOT_OK(r.U32(&m.xid, W("xid")));
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeCommit(Reader& r) {
  Commit m;
  RETURN_NOT_OK(r.U8(&m.flags, W("flags")));
  RETURN_NOT_OK(r.U64(&m.commit_lsn, W("commit LSN")));
  RETURN_NOT_OK(r.U64(&m.end_lsn, W("end LSN")));
  RETURN_NOT_OK(r.I64(&m.commit_ts_us, W("commit timestamp")));
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeOrigin(Reader& r) {
  Origin m;
  RETURN_NOT_OK(r.U64(&m.commit_lsn, W("commit LSN")));
  RETURN_NOT_OK(r.CString(&m.name, W("origin name")));
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeRelation(Reader& r, bool in_stream) {
  Relation m;
  if (in_stream) RETURN_NOT_OK(r.Xid(&m.xid));
  RETURN_NOT_OK(r.U32(&m.oid, W("relation oid")));
  RETURN_NOT_OK(r.CString(&m.schema, W("namespace")));
  RETURN_NOT_OK(r.CString(&m.name, W("relation name")));
  size_t at = r.pos();
  uint8_t ident = 0;
  RETURN_NOT_OK(r.U8(&ident, W("replica identity")));
  if (ident != 'd' && ident != 'n' && ident != 'f' && ident != 'i') {
    return r.Unexpected(at, W("replica identity"), ident, "'d', 'n', 'f' or 'i'");
  }
  m.replica_identity = static_cast<char>(ident);
  uint16_t ncols = 0;
  RETURN_NOT_OK(r.U16(&ncols, W("column count")));
  // A column takes at least 10 bytes (flags, name NUL, type oid, typmod).
  m.columns.reserve(std::min<size_t>(ncols, r.remaining() / 10));
  for (uint32_t i = 1; i <= ncols; ++i) {
    Column& c = m.columns.emplace_back();
    RETURN_NOT_OK(r.U8(&c.flags, What{nullptr, i, "flags"}));
    RETURN_NOT_OK(r.CString(&c.name, What{nullptr, i, "name"}));
    RETURN_NOT_OK(r.U32(&c.type_oid, What{nullptr, i, "type oid"}));
    RETURN_NOT_OK(r.I32(&c.type_modifier, What{nullptr, i, "type modifier"}));
  }
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeType(Reader& r, bool in_stream) {
  Type m;
  if (in_stream) RETURN_NOT_OK(r.Xid(&m.xid));
  RETURN_NOT_OK(r.U32(&m.oid, W("type oid")));
  RETURN_NOT_OK(r.CString(&m.schema, W("namespace")));
  RETURN_NOT_OK(r.CString(&m.name, W("type name")));
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeInsert(Reader& r, bool in_stream) {
  Insert m;
  if (in_stream) RETURN_NOT_OK(r.Xid(&m.xid));
  RETURN_NOT_OK(r.U32(&m.relation, W("relation oid")));
  size_t at = r.pos();
  uint8_t tag = 0;
  RETURN_NOT_OK(r.U8(&tag, W("tuple tag")));
  if (tag != 'N') return r.Unexpected(at, W("tuple tag"), tag, "'N'");
  RETURN_NOT_OK(ReadTuple(r, "new tuple", &m.new_tuple));
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeUpdate(Reader& r, bool in_stream) {
  Update m;
  if (in_stream) RETURN_NOT_OK(r.Xid(&m.xid));
  RETURN_NOT_OK(r.U32(&m.relation, W("relation oid")));
  size_t at = r.pos();
  uint8_t tag = 0;
  RETURN_NOT_OK(r.U8(&tag, W("tuple tag")));
  if (tag == 'K' || tag == 'O') {
    m.old_kind = static_cast<char>(tag);
    RETURN_NOT_OK(ReadTuple(r, "old tuple", &m.old_tuple));
    at = r.pos();
    RETURN_NOT_OK(r.U8(&tag, W("new tuple tag")));
    if (tag != 'N') return r.Unexpected(at, W("new tuple tag"), tag, "'N'");
  } else if (tag != 'N') {
    return r.Unexpected(at, W("tuple tag"), tag, "'K', 'O' or 'N'");
  }
  RETURN_NOT_OK(ReadTuple(r, "new tuple", &m.new_tuple));
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeDelete(Reader& r, bool in_stream) {
  Delete m;
  if (in_stream) RETURN_NOT_OK(r.Xid(&m.xid));
  RETURN_NOT_OK(r.U32(&m.relation, W("relation oid")));
  size_t at = r.pos();
  uint8_t tag = 0;
  RETURN_NOT_OK(r.U8(&tag, W("tuple tag")));
  if (tag != 'K' && tag != 'O') return r.Unexpected(at, W("tuple tag"), tag, "'K' or 'O'");
  m.old_kind = static_cast<char>(tag);
  RETURN_NOT_OK(ReadTuple(r, "old tuple", &m.old_tuple));
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeTruncate(Reader& r, bool in_stream) {
  Truncate m;
  if (in_stream) RETURN_NOT_OK(r.Xid(&m.xid));
  uint32_t nrels = 0;
  RETURN_NOT_OK(r.U32(&nrels, W("relation count")));
  RETURN_NOT_OK(r.U8(&m.options, W("options")));
  m.relations.reserve(std::min<size_t>(nrels, r.remaining() / 4));
  for (uint32_t i = 0; i < nrels; ++i) {
    if (r.remaining() < 4) {
      return r.Error("truncated at byte " + std::to_string(r.pos()) + " reading relation oid " + std::to_string(i + 1) +
                     " of " + std::to_string(nrels));
    }
    uint32_t oid = 0;
    RETURN_NOT_OK(r.U32(&oid, W("relation oid")));
    m.relations.push_back(oid);
  }
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeMessage(Reader& r, bool in_stream) {
  Message m;
  // pgoutput sends the xid whenever it is streaming; non-transactional
  // messages are never emitted inside a stream block.
  if (in_stream) RETURN_NOT_OK(r.Xid(&m.xid));
  uint8_t flags = 0;
  RETURN_NOT_OK(r.U8(&flags, W("flags")));
  m.transactional = flags & 1;
  RETURN_NOT_OK(r.U64(&m.lsn, W("LSN")));
  RETURN_NOT_OK(r.CString(&m.prefix, W("prefix")));
  RETURN_NOT_OK(r.Counted(&m.content, W("content length"), W("content")));
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeStreamStart(Reader& r) {
  StreamStart m;
  RETURN_NOT_OK(r.U32(&m.xid, W("xid")));
  uint8_t first = 0;
  RETURN_NOT_OK(r.U8(&first, W("first segment flag")));
  m.first_segment = first == 1;  // as PostgreSQL's own reader does
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeStreamCommit(Reader& r) {
  StreamCommit m;
  RETURN_NOT_OK(r.U32(&m.xid, W("xid")));
  RETURN_NOT_OK(r.U8(&m.flags, W("flags")));
  RETURN_NOT_OK(r.U64(&m.commit_lsn, W("commit LSN")));
  RETURN_NOT_OK(r.U64(&m.end_lsn, W("end LSN")));
  RETURN_NOT_OK(r.I64(&m.commit_ts_us, W("commit timestamp")));
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

Result<Msg> DecodeStreamAbort(Reader& r) {
  StreamAbort m;
  RETURN_NOT_OK(r.U32(&m.xid, W("xid")));
  RETURN_NOT_OK(r.U32(&m.subxid, W("subtransaction xid")));
  // PostgreSQL 16+ appends Int64 abort LSN and Int64 abort time when the
  // subscriber asked for parallel streaming: accept and ignore them.
  if (r.remaining() == 16) r.Skip(16);
  RETURN_NOT_OK(r.Finish());
  return Msg(std::move(m));
}

const char* TwoPhaseName(char type) {
  switch (type) {
    case 'b':
      return "Begin Prepare";
    case 'P':
      return "Prepare";
    case 'K':
      return "Commit Prepared";
    case 'r':
      return "Rollback Prepared";
    case 'p':
      return "Stream Prepare";
  }
  return nullptr;
}

const char* MessageName(char type) {
  switch (type) {
    case 'B':
      return "Begin";
    case 'C':
      return "Commit";
    case 'O':
      return "Origin";
    case 'R':
      return "Relation";
    case 'Y':
      return "Type";
    case 'I':
      return "Insert";
    case 'U':
      return "Update";
    case 'D':
      return "Delete";
    case 'T':
      return "Truncate";
    case 'M':
      return "Message";
    case 'S':
      return "Stream Start";
    case 'E':
      return "Stream Stop";
    case 'c':
      return "Stream Commit";
    case 'A':
      return "Stream Abort";
  }
  return nullptr;
}

}  // namespace

Result<Msg> Decode(std::string_view data, bool in_stream) {
  if (data.empty()) return Status::Corruption("pgoutput message is empty");
  const char type = data[0];
  const char* name = MessageName(type);
  if (!name) {
    if (const char* two_phase = TwoPhaseName(type)) {
      return Status::NotSupported(std::string("pgoutput ") + two_phase + " message ('" + type +
                                  "') is not supported: two_phase must be off");
    }
    return Status::Corruption("pgoutput message has unknown type " + ByteRepr(static_cast<uint8_t>(type)));
  }
  Reader r(data, name);
  r.Skip(1);
  switch (type) {
    case 'B':
      return DecodeBegin(r);
    case 'C':
      return DecodeCommit(r);
    case 'O':
      return DecodeOrigin(r);
    case 'R':
      return DecodeRelation(r, in_stream);
    case 'Y':
      return DecodeType(r, in_stream);
    case 'I':
      return DecodeInsert(r, in_stream);
    case 'U':
      return DecodeUpdate(r, in_stream);
    case 'D':
      return DecodeDelete(r, in_stream);
    case 'T':
      return DecodeTruncate(r, in_stream);
    case 'M':
      return DecodeMessage(r, in_stream);
    case 'S':
      return DecodeStreamStart(r);
    case 'E':
      RETURN_NOT_OK(r.Finish());
      return Msg(StreamStop{});
    case 'c':
      return DecodeStreamCommit(r);
    default:
      return DecodeStreamAbort(r);  // 'A'
  }
}

std::string Encode(const Msg& msg) {
  std::string o;
  std::visit(
      [&o](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Begin>) {
          Put8(o, 'B');
          Put64(o, m.final_lsn);
          Put64(o, static_cast<uint64_t>(m.commit_ts_us));
          Put32(o, m.xid);
        } else if constexpr (std::is_same_v<T, Commit>) {
          Put8(o, 'C');
          Put8(o, m.flags);
          Put64(o, m.commit_lsn);
          Put64(o, m.end_lsn);
          Put64(o, static_cast<uint64_t>(m.commit_ts_us));
        } else if constexpr (std::is_same_v<T, Origin>) {
          Put8(o, 'O');
          Put64(o, m.commit_lsn);
          PutStr(o, m.name);
        } else if constexpr (std::is_same_v<T, Relation>) {
          Put8(o, 'R');
          PutXid(o, m.xid);
          Put32(o, m.oid);
          PutStr(o, m.schema);
          PutStr(o, m.name);
          Put8(o, static_cast<uint8_t>(m.replica_identity));
          Put16(o, static_cast<uint16_t>(m.columns.size()));
          for (const Column& c : m.columns) {
            Put8(o, c.flags);
            PutStr(o, c.name);
            Put32(o, c.type_oid);
            Put32(o, static_cast<uint32_t>(c.type_modifier));
          }
        } else if constexpr (std::is_same_v<T, Type>) {
          Put8(o, 'Y');
          PutXid(o, m.xid);
          Put32(o, m.oid);
          PutStr(o, m.schema);
          PutStr(o, m.name);
        } else if constexpr (std::is_same_v<T, Insert>) {
          Put8(o, 'I');
          PutXid(o, m.xid);
          Put32(o, m.relation);
          Put8(o, 'N');
          PutTuple(o, m.new_tuple);
        } else if constexpr (std::is_same_v<T, Update>) {
          Put8(o, 'U');
          PutXid(o, m.xid);
          Put32(o, m.relation);
          if (m.old_kind) {
            Put8(o, static_cast<uint8_t>(*m.old_kind));
            PutTuple(o, m.old_tuple);
          }
          Put8(o, 'N');
          PutTuple(o, m.new_tuple);
        } else if constexpr (std::is_same_v<T, Delete>) {
          Put8(o, 'D');
          PutXid(o, m.xid);
          Put32(o, m.relation);
          Put8(o, static_cast<uint8_t>(m.old_kind));
          PutTuple(o, m.old_tuple);
        } else if constexpr (std::is_same_v<T, Truncate>) {
          Put8(o, 'T');
          PutXid(o, m.xid);
          Put32(o, static_cast<uint32_t>(m.relations.size()));
          Put8(o, m.options);
          for (Oid oid : m.relations) Put32(o, oid);
        } else if constexpr (std::is_same_v<T, Message>) {
          Put8(o, 'M');
          PutXid(o, m.xid);
          Put8(o, m.transactional ? 1 : 0);
          Put64(o, m.lsn);
          PutStr(o, m.prefix);
          Put32(o, static_cast<uint32_t>(m.content.size()));
          o += m.content;
        } else if constexpr (std::is_same_v<T, StreamStart>) {
          Put8(o, 'S');
          Put32(o, m.xid);
          Put8(o, m.first_segment ? 1 : 0);
        } else if constexpr (std::is_same_v<T, StreamStop>) {
          Put8(o, 'E');
        } else if constexpr (std::is_same_v<T, StreamCommit>) {
          Put8(o, 'c');
          Put32(o, m.xid);
          Put8(o, m.flags);
          Put64(o, m.commit_lsn);
          Put64(o, m.end_lsn);
          Put64(o, static_cast<uint64_t>(m.commit_ts_us));
        } else if constexpr (std::is_same_v<T, StreamAbort>) {
          Put8(o, 'A');
          Put32(o, m.xid);
          Put32(o, m.subxid);
        } else {
          static_assert(sizeof(T) == 0, "Encode misses a message type");
        }
      },
      msg);
  return o;
}

std::string FormatLsn(Lsn lsn) {
  static const char* kHex = "0123456789ABCDEF";
  char buf[18];
  char* p = buf;
  auto put = [&p](uint32_t v) {
    char tmp[8];
    int n = 0;
    do {
      tmp[n++] = kHex[v & 15];
      v >>= 4;
    } while (v);
    while (n) *p++ = tmp[--n];
  };
  put(static_cast<uint32_t>(lsn >> 32));
  *p++ = '/';
  put(static_cast<uint32_t>(lsn));
  return std::string(buf, p);
}

Result<Lsn> ParseLsn(std::string_view s) {
  // As PostgreSQL's pg_lsn_in: 1 to 8 hex digits, '/', 1 to 8 hex digits.
  auto bad = [&s] {
    return Status::InvalidArgument("'" + std::string(s.substr(0, 64)) + (s.size() > 64 ? "...'" : "'") +
                                   " is not a valid LSN (expected two hex numbers like 16/B374D848)");
  };
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  size_t i = 0;
  uint64_t halves[2] = {0, 0};
  for (int h = 0; h < 2; ++h) {
    size_t start = i;
    int d;
    while (i < s.size() && (d = hex(s[i])) >= 0) {
      halves[h] = halves[h] << 4 | static_cast<uint64_t>(d);
      ++i;
    }
    size_t len = i - start;
    if (len < 1 || len > 8) return bad();
    if (h == 0) {
      if (i >= s.size() || s[i] != '/') return bad();
      ++i;
    }
  }
  if (i != s.size()) return bad();
  return Lsn(halves[0] << 32 | halves[1]);
}

}  // namespace ghostlog::capture::pgoutput
