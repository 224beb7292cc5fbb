// pgoutput decoder/encoder: wire format per PostgreSQL's "Logical Replication
// Message Formats" (src/backend/replication/logical/proto.c), truncation and
// garbage handling, LSN text form.
#include "pgoutput.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ghostlog::capture::pgoutput {
namespace {

// Builds wire bytes by hand, independently of Encode().
class Bytes {
 public:
  Bytes& u8(uint8_t v) {
    s_.push_back(static_cast<char>(v));
    return *this;
  }
  Bytes& ch(char c) { return u8(static_cast<uint8_t>(c)); }
  Bytes& u16(uint16_t v) { return u8(v >> 8).u8(v & 0xff); }
  Bytes& u32(uint32_t v) { return u8(v >> 24).u8((v >> 16) & 0xff).u8((v >> 8) & 0xff).u8(v & 0xff); }
  Bytes& i32(int32_t v) { return u32(static_cast<uint32_t>(v)); }
  Bytes& u64(uint64_t v) { return u32(static_cast<uint32_t>(v >> 32)).u32(static_cast<uint32_t>(v)); }
  Bytes& i64(int64_t v) { return u64(static_cast<uint64_t>(v)); }
  Bytes& str(std::string_view v) {
    s_.append(v);
    s_.push_back('\0');
    return *this;
  }
  Bytes& raw(std::string_view v) {
    s_.append(v);
    return *this;
  }
  Bytes& text(std::string_view v) { return ch('t').u32(static_cast<uint32_t>(v.size())).raw(v); }
  Bytes& binary(std::string_view v) { return ch('b').u32(static_cast<uint32_t>(v.size())).raw(v); }
  const std::string& s() const { return s_; }
  operator std::string() const { return s_; }       // NOLINT
  operator std::string_view() const { return s_; }  // NOLINT

 private:
  std::string s_;
};

Datum Text(std::string v) { return Datum{Datum::Kind::kText, std::move(v)}; }
Datum Bin(std::string v) { return Datum{Datum::Kind::kBinary, std::move(v)}; }
Datum Null() { return Datum{Datum::Kind::kNull, {}}; }
Datum Toast() { return Datum{Datum::Kind::kUnchangedToast, {}}; }

template <typename T>
T DecodeAs(const std::string& bytes, bool in_stream) {
  auto r = Decode(bytes, in_stream);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*r)) << "variant index " << r->index();
  if (!std::holds_alternative<T>(*r)) return T{};
  return std::get<T>(*r);
}

// Checks both directions: bytes decode to `m`, and `m` encodes to the bytes.
template <typename T>
void ExpectWire(const std::string& bytes, const T& m, bool in_stream) {
  EXPECT_EQ(DecodeAs<T>(bytes, in_stream), m);
  EXPECT_EQ(Encode(Msg(m)), bytes);
}

std::string ErrorOf(const std::string& bytes, bool in_stream) {
  auto r = Decode(bytes, in_stream);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

constexpr Lsn kLsn = 0x16B374D848;
constexpr int64_t kTs = 759'974'400'123'456;  // 2024-01-31 ...

// ---------------------------------------------------------------------------
// Wire format, one message type at a time.

TEST(PgoutputWire, Begin) {
  std::string b = Bytes().ch('B').u64(kLsn).i64(kTs).u32(4711);
  ExpectWire(b, Begin{kLsn, kTs, 4711}, false);
  // in_stream does not change Begin (it never carries a leading xid).
  EXPECT_EQ(DecodeAs<Begin>(b, true), (Begin{kLsn, kTs, 4711}));
  EXPECT_EQ(b.size(), 1u + 8 + 8 + 4);
}

TEST(PgoutputWire, BeginNegativeTimestampAndMaxValues) {
  std::string b = Bytes().ch('B').u64(~0ull).i64(-1).u32(0xFFFFFFFF);
  ExpectWire(b, Begin{~0ull, -1, 0xFFFFFFFF}, false);
}

TEST(PgoutputWire, Commit) {
  std::string b = Bytes().ch('C').u8(0).u64(kLsn).u64(kLsn + 40).i64(kTs);
  ExpectWire(b, Commit{0, kLsn, kLsn + 40, kTs}, false);
  EXPECT_EQ(b.size(), 1u + 1 + 8 + 8 + 8);
}

TEST(PgoutputWire, CommitKeepsUnknownFlags) {
  std::string b = Bytes().ch('C').u8(0x80).u64(1).u64(2).i64(3);
  ExpectWire(b, Commit{0x80, 1, 2, 3}, false);
}

TEST(PgoutputWire, Origin) {
  ExpectWire<Origin>(Bytes().ch('O').u64(kLsn).str("pg_16384"), Origin{kLsn, "pg_16384"}, false);
  ExpectWire<Origin>(Bytes().ch('O').u64(0).str(""), Origin{0, ""}, false);
}

Relation SampleRelation() {
  Relation r;
  r.oid = 16385;
  r.schema = "public";
  r.name = "orders";
  r.replica_identity = 'd';
  r.columns = {{1, "id", 20, -1}, {0, "note", 1043, 68}, {0, "Größe", 1700, 655366}};
  return r;
}

std::string SampleRelationBytes(std::optional<Xid> xid) {
  Bytes b;
  b.ch('R');
  if (xid) b.u32(*xid);
  b.u32(16385).str("public").str("orders").ch('d').u16(3);
  b.u8(1).str("id").u32(20).i32(-1);
  b.u8(0).str("note").u32(1043).i32(68);
  b.u8(0).str("Größe").u32(1700).i32(655366);
  return b;
}

TEST(PgoutputWire, Relation) {
  Relation r = SampleRelation();
  ExpectWire(SampleRelationBytes(std::nullopt), r, false);
  EXPECT_TRUE(r.columns[0].is_key());
  EXPECT_FALSE(r.columns[1].is_key());
}

TEST(PgoutputWire, RelationInStreamHasXidFirst) {
  Relation r = SampleRelation();
  r.xid = 777;
  ExpectWire(SampleRelationBytes(777), r, true);
}

TEST(PgoutputWire, RelationPgCatalogNamespaceIsEmptyAndNoColumns) {
  Relation r;
  r.oid = 1259;
  r.schema = "";
  r.name = "pg_class";
  r.replica_identity = 'n';
  ExpectWire(Bytes().ch('R').u32(1259).str("").str("pg_class").ch('n').u16(0), r, false);
}

TEST(PgoutputWire, RelationAllReplicaIdentities) {
  for (char ident : {'d', 'n', 'f', 'i'}) {
    Relation r{std::nullopt, 1, "s", "t", ident, {{1, "a", 23, -1}}};
    ExpectWire(Bytes().ch('R').u32(1).str("s").str("t").ch(ident).u16(1).u8(1).str("a").u32(23).i32(-1), r, false);
  }
}

TEST(PgoutputWire, Type) {
  ExpectWire(Bytes().ch('Y').u32(16390).str("public").str("mood"), Type{std::nullopt, 16390, "public", "mood"},
             false);
  ExpectWire(Bytes().ch('Y').u32(9).u32(16390).str("").str("int4"), Type{9u, 16390, "", "int4"}, true);
}

TEST(PgoutputWire, InsertAllDatumKinds) {
  std::string bin("\x00\x01\xff\x00", 4);
  std::string b =
      Bytes().ch('I').u32(16385).ch('N').u16(5).text("42").ch('n').ch('u').binary(bin).text("").s();
  Insert m{std::nullopt, 16385, {Text("42"), Null(), Toast(), Bin(bin), Text("")}};
  ExpectWire(b, m, false);
}

TEST(PgoutputWire, InsertInStream) {
  std::string b = Bytes().ch('I').u32(555).u32(16385).ch('N').u16(1).text("x");
  ExpectWire(b, Insert{555u, 16385, {Text("x")}}, true);
}

TEST(PgoutputWire, InsertZeroColumns) {
  ExpectWire(Bytes().ch('I').u32(1).ch('N').u16(0), Insert{std::nullopt, 1, {}}, false);
}

TEST(PgoutputWire, UpdateWithoutOldTuple) {
  Update m;
  m.relation = 16385;
  m.new_tuple = {Text("1"), Text("new")};
  ExpectWire(Bytes().ch('U').u32(16385).ch('N').u16(2).text("1").text("new"), m, false);
}

TEST(PgoutputWire, UpdateWithKey) {
  Update m;
  m.relation = 16385;
  m.old_kind = 'K';
  m.old_tuple = {Text("1"), Null()};
  m.new_tuple = {Text("2"), Toast()};
  ExpectWire(Bytes().ch('U').u32(16385).ch('K').u16(2).text("1").ch('n').ch('N').u16(2).text("2").ch('u'), m,
             false);
}

TEST(PgoutputWire, UpdateWithOldRowInStream) {
  Update m;
  m.xid = 99;
  m.relation = 16385;
  m.old_kind = 'O';
  m.old_tuple = {Text("1"), Text("old")};
  m.new_tuple = {Text("1"), Text("new")};
  ExpectWire(Bytes().ch('U').u32(99).u32(16385).ch('O').u16(2).text("1").text("old").ch('N').u16(2).text("1").text(
                 "new"),
             m, true);
}

TEST(PgoutputWire, Delete) {
  ExpectWire(Bytes().ch('D').u32(16385).ch('K').u16(1).text("7"), Delete{std::nullopt, 16385, 'K', {Text("7")}},
             false);
  ExpectWire(Bytes().ch('D').u32(3).u32(16385).ch('O').u16(2).text("7").ch('n'),
             Delete{3u, 16385, 'O', {Text("7"), Null()}}, true);
}

TEST(PgoutputWire, Truncate) {
  ExpectWire(Bytes().ch('T').u32(3).u8(3).u32(16385).u32(16390).u32(16400),
             Truncate{std::nullopt, 3, {16385, 16390, 16400}}, false);
  ExpectWire(Bytes().ch('T').u32(12).u32(1).u8(1).u32(16385), Truncate{12u, 1, {16385}}, true);
  ExpectWire(Bytes().ch('T').u32(0).u8(0), Truncate{std::nullopt, 0, {}}, false);
}

TEST(PgoutputWire, MessageNonTransactional) {
  std::string content("pay\0load", 8);
  ExpectWire(Bytes().ch('M').u8(0).u64(kLsn).str("ghostlog").u32(8).raw(content),
             Message{std::nullopt, false, kLsn, "ghostlog", content}, false);
}

TEST(PgoutputWire, MessageTransactional) {
  ExpectWire(Bytes().ch('M').u8(1).u64(kLsn).str("p").u32(0), Message{std::nullopt, true, kLsn, "p", ""}, false);
}

TEST(PgoutputWire, MessageInStreamHasXidBeforeFlags) {
  ExpectWire(Bytes().ch('M').u32(1234).u8(1).u64(kLsn).str("ddl").u32(3).raw("abc"),
             Message{1234u, true, kLsn, "ddl", "abc"}, true);
}

TEST(PgoutputWire, MessageIgnoresUnknownFlagBits) {
  auto m = DecodeAs<Message>(Bytes().ch('M').u8(0xFE).u64(1).str("p").u32(0), false);
  EXPECT_FALSE(m.transactional);
  m = DecodeAs<Message>(Bytes().ch('M').u8(0xFF).u64(1).str("p").u32(0), false);
  EXPECT_TRUE(m.transactional);
}

TEST(PgoutputWire, StreamStart) {
  ExpectWire(Bytes().ch('S').u32(4711).u8(1), StreamStart{4711, true}, false);
  ExpectWire(Bytes().ch('S').u32(4711).u8(0), StreamStart{4711, false}, false);
  // PostgreSQL's reader treats only 1 as "first segment".
  EXPECT_FALSE(DecodeAs<StreamStart>(Bytes().ch('S').u32(1).u8(2), false).first_segment);
}

TEST(PgoutputWire, StreamStop) {
  ExpectWire(Bytes().ch('E'), StreamStop{}, true);
  ExpectWire(Bytes().ch('E'), StreamStop{}, false);
}

TEST(PgoutputWire, StreamCommit) {
  ExpectWire(Bytes().ch('c').u32(4711).u8(0).u64(kLsn).u64(kLsn + 8).i64(kTs),
             StreamCommit{4711, 0, kLsn, kLsn + 8, kTs}, false);
}

TEST(PgoutputWire, StreamAbort) {
  ExpectWire(Bytes().ch('A').u32(4711).u32(4712), StreamAbort{4711, 4712}, true);
  ExpectWire(Bytes().ch('A').u32(4711).u32(4711), StreamAbort{4711, 4711}, false);
}

TEST(PgoutputWire, StreamAbortPg16ParallelFieldsAreIgnored) {
  std::string b = Bytes().ch('A').u32(4711).u32(4712).u64(kLsn).i64(kTs);
  EXPECT_EQ(DecodeAs<StreamAbort>(b, true), (StreamAbort{4711, 4712}));
  // Anything else after the subxid is still an error.
  for (size_t extra : {1u, 8u, 15u, 17u}) {
    std::string bad = Bytes().ch('A').u32(1).u32(2).raw(std::string(extra, '\x01'));
    auto r = Decode(bad, true);
    EXPECT_TRUE(r.status().IsCorruption()) << extra;
  }
}

// ---------------------------------------------------------------------------
// A corpus of valid messages for round trips and fuzzing.

struct Sample {
  Msg msg;
  bool in_stream;
};

std::vector<Sample> Corpus() {
  std::vector<Sample> c;
  c.push_back({Begin{kLsn, kTs, 1}, false});
  c.push_back({Commit{0, kLsn, kLsn + 1, kTs}, false});
  c.push_back({Origin{kLsn, "origin_a"}, false});
  Relation r = SampleRelation();
  c.push_back({r, false});
  r.xid = 42;
  c.push_back({r, true});
  c.push_back({Type{std::nullopt, 16390, "public", "mood"}, false});
  c.push_back({Type{43u, 16390, "", "mood"}, true});
  Tuple t = {Text("1"), Null(), Toast(), Bin(std::string("\0\1\2", 3)), Text("Grüße")};
  c.push_back({Insert{std::nullopt, 16385, t}, false});
  c.push_back({Insert{44u, 16385, t}, true});
  c.push_back({Update{std::nullopt, 16385, std::nullopt, {}, t}, false});
  c.push_back({Update{std::nullopt, 16385, 'K', {Text("1")}, t}, false});
  c.push_back({Update{45u, 16385, 'O', t, t}, true});
  c.push_back({Delete{std::nullopt, 16385, 'K', {Text("1")}}, false});
  c.push_back({Delete{46u, 16385, 'O', t}, true});
  c.push_back({Truncate{std::nullopt, 3, {1, 2, 3}}, false});
  c.push_back({Truncate{47u, 0, {16385}}, true});
  c.push_back({Message{std::nullopt, false, kLsn, "pfx", "content"}, false});
  c.push_back({Message{std::nullopt, true, kLsn, "pfx", std::string("\0\xff", 2)}, false});
  c.push_back({Message{48u, true, kLsn, "pfx", "streamed"}, true});
  c.push_back({StreamStart{49, true}, false});
  c.push_back({StreamStop{}, true});
  c.push_back({StreamCommit{49, 0, kLsn, kLsn + 2, kTs}, false});
  c.push_back({StreamAbort{49, 50}, true});
  return c;
}

TEST(PgoutputRoundTrip, EveryMessageType) {
  std::vector<Sample> corpus = Corpus();
  std::set<size_t> kinds;
  for (const Sample& s : corpus) {
    std::string bytes = Encode(s.msg);
    auto r = Decode(bytes, s.in_stream);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, s.msg) << "variant " << s.msg.index();
    kinds.insert(s.msg.index());
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<Msg>);
}

TEST(PgoutputRoundTrip, RandomTuples) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 500; ++iter) {
    Insert m;
    m.relation = rng();
    if (iter % 2) m.xid = rng();
    int ncols = static_cast<int>(rng() % 40);
    for (int i = 0; i < ncols; ++i) {
      Datum d;
      d.kind = std::array{Datum::Kind::kNull, Datum::Kind::kUnchangedToast, Datum::Kind::kText,
                          Datum::Kind::kBinary}[rng() % 4];
      if (d.kind == Datum::Kind::kText || d.kind == Datum::Kind::kBinary) {
        d.bytes.resize(rng() % 300);
        for (char& ch : d.bytes) ch = static_cast<char>(rng());
      }
      m.new_tuple.push_back(std::move(d));
    }
    auto r = Decode(Encode(m), m.xid.has_value());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(std::get<Insert>(*r), m);
  }
}

TEST(PgoutputRoundTrip, WideRelation) {
  Relation r;
  r.oid = 1;
  r.schema = "s";
  r.name = "wide";
  for (int i = 0; i < 1600; ++i) {
    Column& c = r.columns.emplace_back();
    c.flags = i == 0;
    c.name.append("c").append(std::to_string(i));
    c.type_oid = 25;
  }
  auto d = Decode(Encode(r), false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(std::get<Relation>(*d), r);
}

// ---------------------------------------------------------------------------
// Errors.

TEST(PgoutputErrors, TruncatedRelationNamesTheField) {
  std::string full = SampleRelationBytes(std::nullopt);
  // Cut inside the third column's name: type(1) oid(4) "public\0"(7) "orders\0"(7) ident(1) ncols(2) = 22;
  // column 1: 1 + 3 + 4 + 4 = 12 -> 34; column 2: 1 + 5 + 4 + 4 = 14 -> 48; column 3 flags at 48, name at 49.
  std::string cut = full.substr(0, 51);
  EXPECT_EQ(ErrorOf(cut, false), "pgoutput Relation message: truncated at byte 49 reading column 3 name");
  EXPECT_EQ(ErrorOf(full.substr(0, 48), false),
            "pgoutput Relation message: truncated at byte 48 reading column 3 flags");
  EXPECT_EQ(ErrorOf(full.substr(0, 1), false), "pgoutput Relation message: truncated at byte 1 reading relation oid");
  EXPECT_EQ(ErrorOf(full.substr(0, 8), false), "pgoutput Relation message: truncated at byte 5 reading namespace");
  EXPECT_EQ(ErrorOf(full.substr(0, full.size() - 1), false),
            "pgoutput Relation message: truncated at byte 61 reading column 3 type modifier");
}

TEST(PgoutputErrors, TruncatedTupleNamesColumnAndPart) {
  std::string b = Bytes().ch('U').u32(1).ch('K').u16(2).text("1").text("abcdef").ch('N').u16(1).text("x");
  // Old tuple column 2's value starts at 1+4+1+2 + (1+4+1) + (1+4) = 19.
  EXPECT_EQ(ErrorOf(b.substr(0, 21), false),
            "pgoutput Update message: truncated at byte 19 reading old tuple column 2 value");
  EXPECT_EQ(ErrorOf(b.substr(0, 16), false),
            "pgoutput Update message: truncated at byte 15 reading old tuple column 2 length");
  EXPECT_EQ(ErrorOf(b.substr(0, 25), false),
            "pgoutput Update message: truncated at byte 25 reading new tuple tag");
  EXPECT_EQ(ErrorOf(b.substr(0, 28), false),
            "pgoutput Update message: truncated at byte 28 reading new tuple column 1 kind");
  EXPECT_EQ(ErrorOf(Bytes().ch('I').u32(1).ch('N').u8(0), false),
            "pgoutput Insert message: truncated at byte 6 reading new tuple column count");
}

TEST(PgoutputErrors, TruncatedStreamedXid) {
  EXPECT_EQ(ErrorOf(Bytes().ch('I').u16(0), true), "pgoutput Insert message: truncated at byte 1 reading xid");
  EXPECT_EQ(ErrorOf(Bytes().ch('M').u8(0).u64(0).raw("unterminated"), false),
            "pgoutput Message message: truncated at byte 10 reading prefix");
}

TEST(PgoutputErrors, TruncatedTruncateNamesTheOid) {
  EXPECT_EQ(ErrorOf(Bytes().ch('T').u32(3).u8(0).u32(1).u16(0), false),
            "pgoutput Truncate message: truncated at byte 10 reading relation oid 2 of 3");
}

TEST(PgoutputErrors, HugeCountsFailFastWithoutAllocating) {
  EXPECT_TRUE(Decode(Bytes().ch('T').u32(0xFFFFFFFF).u8(0), false).status().IsCorruption());
  EXPECT_TRUE(Decode(Bytes().ch('I').u32(1).ch('N').u16(0xFFFF), false).status().IsCorruption());
  EXPECT_TRUE(Decode(Bytes().ch('R').u32(1).str("s").str("t").ch('d').u16(0xFFFF), false).status().IsCorruption());
  EXPECT_TRUE(Decode(Bytes().ch('I').u32(1).ch('N').u16(1).ch('t').u32(0x7FFFFFFF), false).status().IsCorruption());
  EXPECT_TRUE(Decode(Bytes().ch('M').u8(0).u64(0).str("p").u32(0x7FFFFFFF), false).status().IsCorruption());
}

TEST(PgoutputErrors, NegativeLengths) {
  EXPECT_EQ(ErrorOf(Bytes().ch('I').u32(1).ch('N').u16(1).ch('t').i32(-1), false),
            "pgoutput Insert message: negative new tuple column 1 length -1 at byte 9");
  EXPECT_EQ(ErrorOf(Bytes().ch('M').u8(0).u64(0).str("p").i32(-5), false),
            "pgoutput Message message: negative content length -5 at byte 12");
}

TEST(PgoutputErrors, BadTags) {
  EXPECT_EQ(ErrorOf(Bytes().ch('I').u32(1).ch('K').u16(0), false),
            "pgoutput Insert message: unexpected tuple tag 0x4b 'K' at byte 5 (expected 'N')");
  EXPECT_EQ(ErrorOf(Bytes().ch('U').u32(1).ch('X').u16(0), false),
            "pgoutput Update message: unexpected tuple tag 0x58 'X' at byte 5 (expected 'K', 'O' or 'N')");
  EXPECT_EQ(ErrorOf(Bytes().ch('U').u32(1).ch('K').u16(0).ch('K').u16(0), false),
            "pgoutput Update message: unexpected new tuple tag 0x4b 'K' at byte 8 (expected 'N')");
  EXPECT_EQ(ErrorOf(Bytes().ch('D').u32(1).ch('N').u16(0), false),
            "pgoutput Delete message: unexpected tuple tag 0x4e 'N' at byte 5 (expected 'K' or 'O')");
  EXPECT_EQ(ErrorOf(Bytes().ch('I').u32(1).ch('N').u16(2).ch('n').u8(0), false),
            "pgoutput Insert message: unexpected new tuple column 2 kind 0x00 at byte 9 (expected 'n', 'u', 't' or "
            "'b')");
  EXPECT_EQ(ErrorOf(Bytes().ch('R').u32(1).str("s").str("t").ch('x').u16(0), false),
            "pgoutput Relation message: unexpected replica identity 0x78 'x' at byte 9 (expected 'd', 'n', 'f' or "
            "'i')");
}

TEST(PgoutputErrors, TrailingBytesAreCorruption) {
  for (const Sample& s : Corpus()) {
    std::string b = Encode(s.msg) + "Z";
    auto r = Decode(b, s.in_stream);
    ASSERT_FALSE(r.ok()) << "variant " << s.msg.index();
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_NE(r.status().message().find("1 unexpected trailing byte at byte " + std::to_string(b.size() - 1)),
              std::string::npos)
        << r.status().message();
  }
}

TEST(PgoutputErrors, StreamedMessageDecodedOutsideStreamFails) {
  // A streamed Insert read as unstreamed takes the xid for the oid and then
  // finds no 'N' where it expects one.
  std::string b = Bytes().ch('I').u32(44).u32(16385).ch('N').u16(0);
  EXPECT_TRUE(Decode(b, false).status().IsCorruption());
}

TEST(PgoutputErrors, EmptyUnknownAndTwoPhase) {
  auto r = Decode("", false);
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_EQ(r.status().message(), "pgoutput message is empty");
  r = Decode("Z", false);
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_EQ(r.status().message(), "pgoutput message has unknown type 0x5a 'Z'");
  r = Decode(std::string("\0", 1), false);
  EXPECT_EQ(r.status().message(), "pgoutput message has unknown type 0x00");
  for (char t : {'b', 'P', 'K', 'r', 'p'}) {
    r = Decode(std::string(1, t) + std::string(30, '\0'), false);
    EXPECT_EQ(r.status().code(), Status::Code::kNotSupported) << t;
    EXPECT_NE(r.status().message().find("two_phase"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------
// Fuzzing: truncations, mutations and garbage never crash and fail cleanly.

bool IsTwoPhase(char c) { return c == 'b' || c == 'P' || c == 'K' || c == 'r' || c == 'p'; }

void ExpectCleanResult(const std::string& bytes, bool in_stream) {
  auto r = Decode(bytes, in_stream);
  if (r.ok()) {
    // A decoded message re-encodes to something that decodes to the same value.
    auto again = Decode(Encode(*r), in_stream);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    ASSERT_EQ(*again, *r);
    return;
  }
  if (!bytes.empty() && IsTwoPhase(bytes[0])) {
    ASSERT_EQ(r.status().code(), Status::Code::kNotSupported) << r.status().ToString();
  } else {
    ASSERT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  }
  ASSERT_FALSE(r.status().message().empty());
}

TEST(PgoutputFuzz, EveryStrictPrefixIsCorruption) {
  int checked = 0;
  for (const Sample& s : Corpus()) {
    std::string b = Encode(s.msg);
    for (size_t n = 0; n < b.size(); ++n) {
      for (bool in_stream : {false, true}) {
        auto r = Decode(std::string_view(b).substr(0, n), in_stream);
        if (in_stream == s.in_stream) {
          ASSERT_TRUE(r.status().IsCorruption()) << "variant " << s.msg.index() << " prefix " << n;
        } else {
          ExpectCleanResult(b.substr(0, n), in_stream);
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST(PgoutputFuzz, RandomMutations) {
  std::mt19937 rng(12345);
  std::vector<Sample> corpus = Corpus();
  int decoded_ok = 0, total = 0;
  for (int iter = 0; iter < 40000; ++iter) {
    const Sample& s = corpus[rng() % corpus.size()];
    std::string b = Encode(s.msg);
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 6) {
        case 0:  // flip a bit
          if (!b.empty()) b[rng() % b.size()] ^= static_cast<char>(1u << (rng() % 8));
          break;
        case 1:  // overwrite a byte
          if (!b.empty()) b[rng() % b.size()] = static_cast<char>(rng());
          break;
        case 2:  // insert a byte
          b.insert(b.begin() + static_cast<long>(rng() % (b.size() + 1)), static_cast<char>(rng()));
          break;
        case 3:  // delete a byte
          if (!b.empty()) b.erase(b.begin() + static_cast<long>(rng() % b.size()));
          break;
        case 4:  // truncate
          b.resize(rng() % (b.size() + 1));
          break;
        case 5:  // interesting values at a random offset
          if (b.size() >= 4) {
            size_t at = rng() % (b.size() - 3);
            uint32_t v = std::array<uint32_t, 5>{0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFF}[rng() % 5];
            for (int k = 0; k < 4; ++k) b[at + k] = static_cast<char>(v >> (24 - 8 * k));
          }
          break;
      }
    }
    bool in_stream = (rng() % 4 == 0) ? !s.in_stream : s.in_stream;
    ExpectCleanResult(b, in_stream);
    decoded_ok += Decode(b, in_stream).ok();
    ++total;
  }
  // Sanity: the mutations produce both successes and failures.
  EXPECT_GT(decoded_ok, 100);
  EXPECT_LT(decoded_ok, total);
}

TEST(PgoutputFuzz, RandomGarbage) {
  std::mt19937 rng(99);
  const std::string types = "BCORYIUDTMSEcAbPKrpZ";
  for (int iter = 0; iter < 20000; ++iter) {
    std::string b(rng() % 64, '\0');
    for (char& c : b) c = static_cast<char>(rng() % 4 == 0 ? rng() % 4 : rng());
    if (!b.empty()) b[0] = types[rng() % types.size()];
    ExpectCleanResult(b, rng() % 2);
  }
}

// ---------------------------------------------------------------------------
// LSNs and timestamps.

TEST(Lsn, Format) {
  EXPECT_EQ(FormatLsn(0), "0/0");
  EXPECT_EQ(FormatLsn(0x16B374D848), "16/B374D848");
  EXPECT_EQ(FormatLsn(0x1000000000), "10/0");
  EXPECT_EQ(FormatLsn(0x0000000001000000), "0/1000000");
  EXPECT_EQ(FormatLsn(0xFFFFFFFFFFFFFFFF), "FFFFFFFF/FFFFFFFF");
  EXPECT_EQ(FormatLsn(0xABCDEF0000000A0B), "ABCDEF00/A0B");
}

TEST(Lsn, Parse) {
  auto p = [](std::string_view s) {
    auto r = ParseLsn(s);
    EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
    return r.ok() ? *r : ~0ull;
  };
  EXPECT_EQ(p("16/B374D848"), 0x16B374D848u);
  EXPECT_EQ(p("16/b374d848"), 0x16B374D848u);
  EXPECT_EQ(p("0/0"), 0u);
  EXPECT_EQ(p("0/B374D848"), 0xB374D848u);
  EXPECT_EQ(p("aBcDeF01/2"), 0xABCDEF0100000002u);
}

TEST(Lsn, ParseAcceptsLeadingZerosUpTo8Digits) {
  auto r = ParseLsn("00000016/00000001");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0x1600000001u);
  r = ParseLsn("FFFFFFFF/FFFFFFFF");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, ~0ull);
}

TEST(Lsn, ParseRejectsGarbage) {
  for (std::string_view bad : {"", "/", "16", "16/", "/1", "123456789/0", "0/123456789", "16/B374D848 ",
                               " 16/B374D848", "g/1", "1/g", "1/2/3", "-1/0", "+1/0", "0x1/0", "1//2", "1 /2",
                               "16/B374D848\n", "１/2"}) {
    auto r = ParseLsn(bad);
    ASSERT_FALSE(r.ok()) << "'" << bad << "'";
    EXPECT_TRUE(r.status().IsInvalidArgument());
    std::string quoted;
    quoted.append(1, '\'').append(bad).append(1, '\'');
    EXPECT_NE(r.status().message().find(quoted), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(ParseLsn("nope").status().message(),
            "'nope' is not a valid LSN (expected two hex numbers like 16/B374D848)");
}

TEST(Lsn, RandomRoundTrip) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 10000; ++i) {
    Lsn v = rng() >> (rng() % 64);
    auto r = ParseLsn(FormatLsn(v));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(*r, v);
  }
}

TEST(Timestamps, PgToUnixMs) {
  EXPECT_EQ(PgTimestampToUnixMs(0), 946'684'800'000);
  EXPECT_EQ(PgTimestampToUnixMs(1'500), 946'684'800'001);
  EXPECT_EQ(PgTimestampToUnixMs(999), 946'684'800'000);
  EXPECT_EQ(PgTimestampToUnixMs(-1), 946'684'799'999);
  EXPECT_EQ(PgTimestampToUnixMs(-1'000), 946'684'799'999);
  EXPECT_EQ(PgTimestampToUnixMs(-1'001), 946'684'799'998);
  EXPECT_EQ(PgTimestampToUnixMs(-946'684'800'000'000), 0);
}

}  // namespace
}  // namespace ghostlog::capture::pgoutput
