// Value types of the changelog: records, topics, partitions, groups.
//
// These mirror Kafka's model on purpose, so that an operator who knows Kafka
// knows ghostlog, and so that a Kafka-backed Changelog can implement the same
// interface without translation.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ghostlog/log/status.h"

namespace ghostlog::log {

using Offset = int64_t;     // position within one partition; starts at 0
using Timestamp = int64_t;  // milliseconds since the Unix epoch
using PartitionId = int32_t;

inline constexpr Timestamp kNoTimestamp = -1;

struct Header {
  std::string key;
  std::string value;  // bytes
  bool operator==(const Header&) const = default;
};

// A record as a producer hands it to append(). An unset value is a tombstone.
struct RecordIn {
  std::string key;                   // bytes, may be empty
  std::optional<std::string> value;  // bytes; nullopt = tombstone
  std::vector<Header> headers;
  Timestamp timestamp = kNoTimestamp;  // kNoTimestamp: set to the append time
};

// The key of the filler records that keep copied offsets on Kafka
// (Changelog::AppendAt); readers never see them.
inline constexpr std::string_view kGapFillerKey{"\0ghostlog.gap", 13};

// The checkpoint in which `ghostlog log copy` lists the changelogs (their
// ClusterId) a changelog was copied from, oldest first: positions kept
// outside (the sink's, in the target) that count their offsets count this
// one's too.
inline constexpr const char* kCopiedFromCheckpoint = "ghostlog.copied_from";

// A record as read back: what was appended plus its offset and final timestamp.
struct Record {
  Offset offset = 0;
  Timestamp timestamp = 0;
  std::string key;
  std::optional<std::string> value;
  std::vector<Header> headers;

  bool is_tombstone() const { return !value.has_value(); }
  bool operator==(const Record&) const = default;
};

struct TopicPartition {
  std::string topic;
  PartitionId partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// Topic names hold letters, digits, '.', '_' and '-' (Kafka's rule, which
// both backends keep). A name with other characters (a table "données", a
// schema "Sales Data") is made legal by replacing each such character with
// '_', as Debezium does. Different names can meet in one legal name: callers
// that name topics after something else check for that.
std::string LegalTopicName(std::string_view name);

// Per-topic configuration, named as in Kafka. Unset limits are -1 (no limit).
struct TopicConfig {
  bool cleanup_delete = true;    // cleanup.policy contains "delete"
  bool cleanup_compact = false;  // cleanup.policy contains "compact"
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // Kafka's default, 7 days; -1 = forever
  int64_t retention_bytes = -1;                   // per partition; -1 = no limit
  int64_t delete_retention_ms = 24LL * 3600 * 1000;  // tombstones survive compaction this long
  int64_t min_compaction_lag_ms = 0;

  // cleanup.policy=compact, kept forever: the latest record of every key
  // stays (table topics, checkpoints, indexes).
  static TopicConfig Compacted();

  std::string cleanup_policy() const;  // "delete", "compact" or "compact,delete"
  // Applies one `key=value` setting; InvalidArgument names the key and the value.
  ::ghostlog::Status Set(const std::string& key, const std::string& value);
  // Every setting as key → text, in a stable order, for describe and storage.
  std::map<std::string, std::string> ToMap() const;
  bool operator==(const TopicConfig&) const = default;
};

struct PartitionInfo {
  PartitionId partition = 0;
  Offset log_start_offset = 0;  // first offset that may still exist
  Offset end_offset = 0;        // offset the next appended record will get
  int64_t records = 0;          // records present (end - start minus gaps)
  int64_t bytes = 0;            // stored bytes of those records
};

struct TopicInfo {
  std::string name;
  int32_t partitions = 1;
  TopicConfig config;
  std::vector<PartitionInfo> partition_info;
};

struct CommittedOffset {
  Offset offset = 0;  // the next offset the group will read (Kafka's convention)
  std::string metadata;
  Timestamp commit_timestamp = 0;
};

struct GroupPartitionLag {
  std::string topic;
  PartitionId partition = 0;
  Offset committed = 0;
  Offset end_offset = 0;
  int64_t lag = 0;  // end_offset - committed, never negative
  std::string metadata;
};

struct GroupInfo {
  std::string group;
  std::vector<GroupPartitionLag> partitions;
  int64_t total_lag() const {
    int64_t s = 0;
    for (const auto& p : partitions) s += p.lag;
    return s;
  }
};

// How durable a write must be before it returns.
enum class Durability {
  kPolicy,  // as the log's fsync policy says (always, or within the interval)
  kSync,    // fsync'd before returning, whatever the policy: for writes whose
            // acknowledgement leaves the process (capture confirming an LSN)
  kNoSync,  // never waits for fsync: scratch data that can be recomputed
};

// Records for one partition within an atomic write.
struct PartitionBatch {
  TopicPartition tp;
  std::vector<RecordIn> records;
};

// Everything one stage makes durable in one step: records for any number of
// partitions, the stage's named checkpoints (e.g. capture's source LSN), and
// a consumer group's offsets. All of it lands, or none of it does. This is
// Kafka's transactional producer with sendOffsetsToTransaction; on the
// embedded log it is one RocksDB write batch.
// What an atomic write's `finish` adds to it.
struct WriteTail {
  std::vector<PartitionBatch> batches;
  std::map<std::string, std::string> checkpoints;  // name -> value; replaces the write's own
};

struct AtomicWrite {
  std::vector<PartitionBatch> batches;
  std::map<std::string, std::string> checkpoints;  // name -> value
  std::string group;                               // with `offsets`
  std::vector<std::pair<TopicPartition, CommittedOffset>> offsets;
  Durability durability = Durability::kPolicy;
  // Optional: records and checkpoints that name the offsets `batches` get
  // (capture's transaction record lists its records' ranges). Called once,
  // with those offsets (one vector per batch), before any of the write is
  // visible; what it puts in the tail is written in the same atomic write,
  // after `batches`. A changelog may give offsets of its own to a committed
  // write (Kafka's transaction markers), so only this call knows them for
  // sure. A non-OK status abandons the whole write. Runs while the embedded
  // log holds its write lock: keep it short, and do not call the log in it.
  std::function<Status(const std::vector<std::vector<Offset>>& offsets, WriteTail* tail)> finish;
};

// What one compaction or retention pass did.
struct CleanupStats {
  int64_t records_removed = 0;
  int64_t bytes_reclaimed = 0;  // stored record bytes removed (logical, before RocksDB compaction)
  int64_t tombstones_removed = 0;
  int64_t partitions_cleaned = 0;
};

// What verify() found.
struct VerifyReport {
  int64_t records_checked = 0;
  std::vector<std::string> problems;  // one sentence each
  bool ok() const { return problems.empty(); }
};

Timestamp NowMs();

}  // namespace ghostlog::log
