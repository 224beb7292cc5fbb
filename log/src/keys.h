// Key layout of the embedded changelog in RocksDB.
//
//   records CF:   [topic id u32][partition u32][offset u64]  -> record envelope
//   timeindex CF: [topic id u32][partition u32][max ts u64]  -> offset u64
//   keyindex CF:  [topic id u32][partition u32] key bytes    -> offset of the key's latest record
//                 (compacted topics only)
//   meta CF:      "F"                                        -> data dir format version
//                 "N"                                        -> next topic id
//                 "T" topic name                             -> topic metadata (JSON)
//                 "S" [topic id][partition]                  -> PartitionState
//                 "C" name                                   -> checkpoint value
//                 "G" group \0 topic \0 [partition u32]      -> committed offset (JSON)
//
// Integers are big-endian so that bytewise order is numeric order: a
// partition's records are one contiguous, offset-ordered key range, and a
// topic id (never reused) keeps a deleted topic's leftovers apart from a new
// topic of the same name. The time index holds an entry only where the
// partition's running maximum timestamp grows, so both its keys and its
// offsets increase and "first offset with timestamp >= T" is one Seek.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ghostlog/log/types.h"

namespace ghostlog::log::keys {

inline void PutBE(std::string* s, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
// Writes v big-endian into p[0, bytes), for keys built in place.
inline void StoreBE(char* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xff);
}
inline uint64_t GetBE(std::string_view s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

inline std::string PartitionPrefix(uint32_t tid, PartitionId p) {
  std::string k;
  k.reserve(16);
  PutBE(&k, tid, 4);
  PutBE(&k, static_cast<uint32_t>(p), 4);
  return k;
}
// The first key after every key of `tid` (any partition).
inline std::string TopicEnd(uint32_t tid) {
  std::string k;
  PutBE(&k, static_cast<uint64_t>(tid) + 1, 4);  // tid < 2^32-1 is enforced at creation
  return k;
}
inline std::string TopicBegin(uint32_t tid) {
  std::string k;
  PutBE(&k, tid, 4);
  return k;
}

inline std::string RecordKey(uint32_t tid, PartitionId p, Offset o) {
  std::string k = PartitionPrefix(tid, p);
  PutBE(&k, static_cast<uint64_t>(o), 8);
  return k;
}
inline constexpr size_t kRecordKeySize = 16;
inline Offset RecordKeyOffset(std::string_view k) { return static_cast<Offset>(GetBE(k, 8, 8)); }
inline uint32_t KeyTopicId(std::string_view k) { return static_cast<uint32_t>(GetBE(k, 0, 4)); }
inline PartitionId KeyPartition(std::string_view k) { return static_cast<PartitionId>(GetBE(k, 4, 4)); }

inline std::string TimeKey(uint32_t tid, PartitionId p, Timestamp ts) { return RecordKey(tid, p, ts); }
inline Timestamp TimeKeyTimestamp(std::string_view k) { return RecordKeyOffset(k); }

inline std::string KeyIndexKey(uint32_t tid, PartitionId p, std::string_view key) {
  std::string k = PartitionPrefix(tid, p);
  k.append(key);
  return k;
}

// The first key after every key that starts with `prefix` ("" if there is
// none: the prefix is all 0xff bytes).
inline std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

inline std::string EncodeOffset(Offset o) {
  std::string s;
  PutBE(&s, static_cast<uint64_t>(o), 8);
  return s;
}
inline Offset DecodeOffset(std::string_view s) { return static_cast<Offset>(GetBE(s, 0, 8)); }

inline const std::string kFormat = "F";
inline const std::string kNextTopicId = "N";
inline const std::string kClusterId = "I";
inline std::string TopicKey(const std::string& name) { return "T" + name; }
inline std::string StateKey(uint32_t tid, PartitionId p) { return "S" + PartitionPrefix(tid, p); }

inline std::string CheckpointKey(const std::string& name) { return "C" + name; }

inline std::string GroupPrefix(const std::string& group) { return "G" + group + std::string(1, '\0'); }
inline std::string GroupKey(const std::string& group, const std::string& topic, PartitionId p) {
  std::string k = GroupPrefix(group) + topic + std::string(1, '\0');
  PutBE(&k, static_cast<uint32_t>(p), 4);
  return k;
}
// Splits a "G" key; false if it is malformed.
inline bool ParseGroupKey(std::string_view k, std::string* group, std::string* topic, PartitionId* p) {
  if (k.size() < 1 + 1 + 1 + 4 || k[0] != 'G') return false;
  const size_t a = k.find('\0', 1);
  if (a == std::string_view::npos) return false;
  const size_t b = k.find('\0', a + 1);
  if (b == std::string_view::npos || b + 5 != k.size()) return false;
  *group = std::string(k.substr(1, a - 1));
  *topic = std::string(k.substr(a + 1, b - a - 1));
  *p = static_cast<PartitionId>(GetBE(k, b + 1, 4));
  return true;
}

}  // namespace ghostlog::log::keys
