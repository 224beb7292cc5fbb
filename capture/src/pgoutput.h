// Decoder of PostgreSQL's pgoutput logical replication messages.
//
// Input: the payload of one XLogData ('w') message's WAL data, i.e. one
// pgoutput message starting with its type byte ('B', 'C', 'R', 'Y', 'I', 'U',
// 'D', 'T', 'M', 'O', 'S', 'E', 'c', 'A'). Protocol versions 1 and 2 are
// supported; with streaming on (version 2), messages inside a streamed
// transaction carry a leading xid, which the caller signals with
// `in_stream`. Reference: PostgreSQL docs, "Logical Replication Message
// Formats" (protocol-logicalrep-message-formats).
//
// The decoder is pure: bytes in, structs out, no I/O and no state beyond the
// call. Malformed input is a Corruption status naming the message type and
// what was short or wrong; it never reads out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ghostlog/log/status.h"

namespace ghostlog::capture::pgoutput {

using Lsn = uint64_t;
using Xid = uint32_t;
using Oid = uint32_t;

// One column value in a tuple.
struct Datum {
  enum class Kind : char { kNull = 'n', kUnchangedToast = 'u', kText = 't', kBinary = 'b' };
  Kind kind = Kind::kNull;
  std::string bytes;  // for kText / kBinary
  bool operator==(const Datum&) const = default;
};
using Tuple = std::vector<Datum>;

struct Begin {
  Lsn final_lsn = 0;
  int64_t commit_ts_us = 0;  // microseconds since 2000-01-01 (PostgreSQL epoch)
  Xid xid = 0;
  bool operator==(const Begin&) const = default;
};
struct Commit {
  uint8_t flags = 0;
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;
  int64_t commit_ts_us = 0;
  bool operator==(const Commit&) const = default;
};
struct Origin {
  Lsn commit_lsn = 0;
  std::string name;
  bool operator==(const Origin&) const = default;
};
struct Column {
  uint8_t flags = 0;  // 1 = part of the key (replica identity)
  std::string name;
  Oid type_oid = 0;
  int32_t type_modifier = -1;
  bool is_key() const { return flags & 1; }
  bool operator==(const Column&) const = default;
};
struct Relation {
  std::optional<Xid> xid;  // set inside a streamed transaction
  Oid oid = 0;
  std::string schema;  // "" means pg_catalog per the protocol; caller maps it
  std::string name;
  char replica_identity = 'd';  // d default, n nothing, f full, i index
  std::vector<Column> columns;
  bool operator==(const Relation&) const = default;
};
struct Type {
  std::optional<Xid> xid;
  Oid oid = 0;
  std::string schema;
  std::string name;
  bool operator==(const Type&) const = default;
};
struct Insert {
  std::optional<Xid> xid;
  Oid relation = 0;
  Tuple new_tuple;
  bool operator==(const Insert&) const = default;
};
struct Update {
  std::optional<Xid> xid;
  Oid relation = 0;
  // 'K': old tuple holds only the key columns (key changed, REPLICA IDENTITY
  // default/index); 'O': old tuple is the whole row (REPLICA IDENTITY FULL);
  // absent: key unchanged and no old image was sent.
  std::optional<char> old_kind;
  Tuple old_tuple;
  Tuple new_tuple;
  bool operator==(const Update&) const = default;
};
struct Delete {
  std::optional<Xid> xid;
  Oid relation = 0;
  char old_kind = 'K';  // 'K' key columns only, 'O' whole old row
  Tuple old_tuple;
  bool operator==(const Delete&) const = default;
};
struct Truncate {
  std::optional<Xid> xid;
  uint8_t options = 0;  // 1 = CASCADE, 2 = RESTART IDENTITY
  std::vector<Oid> relations;
  bool operator==(const Truncate&) const = default;
};
struct Message {
  std::optional<Xid> xid;
  bool transactional = false;
  Lsn lsn = 0;
  std::string prefix;
  std::string content;
  bool operator==(const Message&) const = default;
};
struct StreamStart {
  Xid xid = 0;
  bool first_segment = false;
  bool operator==(const StreamStart&) const = default;
};
struct StreamStop {
  bool operator==(const StreamStop&) const = default;
};
struct StreamCommit {
  Xid xid = 0;
  uint8_t flags = 0;
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;
  int64_t commit_ts_us = 0;
  bool operator==(const StreamCommit&) const = default;
};
struct StreamAbort {
  Xid xid = 0;
  Xid subxid = 0;
  bool operator==(const StreamAbort&) const = default;
};

using Msg = std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate, Message, StreamStart,
                         StreamStop, StreamCommit, StreamAbort>;

// Decodes one message. `in_stream` is true between StreamStart and StreamStop,
// where Relation/Type/Insert/Update/Delete/Truncate/Message carry an xid.
// Errors: Corruption for truncated, malformed or unknown input and for bytes
// left over after the message (except the abort LSN and time that PostgreSQL
// 16+ appends to Stream Abort, which are accepted and ignored); NotSupported
// for the two-phase messages ('b', 'P', 'K', 'r', 'p'), which capture never
// enables.
Result<Msg> Decode(std::string_view data, bool in_stream);

// Encoders for tests and benchmarks: build the exact bytes PostgreSQL sends.
std::string Encode(const Msg& m);

// "16/B374D848" <-> 0x16B374D848
std::string FormatLsn(Lsn lsn);
Result<Lsn> ParseLsn(std::string_view s);

// PostgreSQL timestamps (µs since 2000-01-01) to Unix milliseconds, rounding
// toward minus infinity (so -1 µs is -1 ms, not 0).
inline int64_t PgTimestampToUnixMs(int64_t pg_us) {
  int64_t ms = pg_us / 1000;
  if (pg_us % 1000 < 0) --ms;
  return ms + 946'684'800'000LL;
}

}  // namespace ghostlog::capture::pgoutput
