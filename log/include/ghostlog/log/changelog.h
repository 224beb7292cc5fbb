// The changelog interface every stage reads and writes.
//
// Stages (capture, transform, sink) see only this interface. The embedded
// RocksDB implementation is the default; a Kafka-backed one can implement the
// same calls, which is why the shape follows Kafka: topics with partitions,
// per-partition offsets, consumer groups with committed offsets, cleanup
// policies. Nothing here knows about PostgreSQL.
//
// Thread-safety: every method may be called concurrently from any thread.
// Durability: append() returns only once its batch is as durable as the
// instance's fsync policy promises (see EmbeddedLogOptions).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ghostlog/log/status.h"
#include "ghostlog/log/types.h"

namespace ghostlog::log {

struct ReadLimits {
  int64_t max_records = 1000;
  int64_t max_bytes = 4 << 20;  // at least one record is returned even if larger
};

class Changelog {
 public:
  virtual ~Changelog() = default;

  // --- topics -------------------------------------------------------------
  virtual Status CreateTopic(const std::string& topic, int32_t partitions,
                             const TopicConfig& config) = 0;
  virtual Status DeleteTopic(const std::string& topic) = 0;
  virtual Status AlterTopicConfig(const std::string& topic, const TopicConfig& config) = 0;
  virtual Result<std::vector<std::string>> ListTopics() = 0;
  virtual Result<TopicInfo> DescribeTopic(const std::string& topic) = 0;
  // The topic's partition count; NotFound if there is no such topic. All a
  // reader needs, and cheaper than DescribeTopic: on Kafka it is metadata
  // only, while a topic's config takes DescribeConfigs, which a read-only
  // client may not be granted.
  virtual Result<int32_t> PartitionCount(const std::string& topic) = 0;

  // --- records ------------------------------------------------------------
  // Appends the batch atomically (all records or none) and returns the offset
  // given to each, in order. Offsets are consecutive within the batch.
  virtual Result<std::vector<Offset>> Append(const TopicPartition& tp,
                                             std::vector<RecordIn> batch) = 0;

  // Applies an AtomicWrite: all batches, checkpoints and offsets, or none.
  // "None" holds for readers too, but not "all at once": on Kafka a committed
  // write becomes readable one partition after another, so a reader that
  // learns of records from another partition of the same write (a transaction
  // record's ranges) waits until that partition's end passes them.
  // Returns the offsets given to each batch's records, batch by batch (the
  // write's own batches, then those its `finish` added).
  virtual Result<std::vector<std::vector<Offset>>> Write(AtomicWrite write) = 0;

  // For copying a changelog into this one (`ghostlog log copy`): appends
  // records keeping the offsets and timestamps they have in the other
  // changelog, and leaves the partition's end at `end`. Offsets must increase,
  // start at or after this partition's end, and stay below `end`; every offset
  // skipped (before, between and after them) is a gap, as compaction leaves
  // them; the log start stays where it was. Returns the end reached, which on Kafka may fall short of `end`:
  // Kafka numbers records itself, so a skipped offset is taken by a filler
  // record that Read() skips (a tombstone keyed kGapFillerKey), and fillers
  // after the last record would leave readers at records they cannot see.
  // Atomic on the embedded log; on Kafka a failed call leaves a prefix, and a
  // copy resumes from the partition's end.
  virtual Result<Offset> AppendAt(const TopicPartition& tp, const std::vector<Record>& records, Offset end) = 0;

  // Every checkpoint written, name -> last value.
  virtual Result<std::map<std::string, std::string>> Checkpoints() = 0;

  // A stable identity of this changelog (Kafka's cluster id), made when it was
  // created and never changed. Stages that keep their position outside the
  // changelog (the sink, in the target) store it with the position, so that a
  // replaced changelog is noticed instead of read from a stale offset.
  virtual Result<std::string> ClusterId() = 0;

  // The last value written for a checkpoint name; NotFound if never written.
  virtual Result<std::string> ReadCheckpoint(const std::string& name) = 0;

  // Records with offset >= `from`, in offset order, skipping gaps left by
  // compaction and retention. `from` below the log start is OutOfRange, as is
  // `from` above the end; `from == end` returns an empty vector.
  virtual Result<std::vector<Record>> Read(const TopicPartition& tp, Offset from,
                                           ReadLimits limits = {}) = 0;

  // The latest record with this key, on a compacted topic (which keeps a key
  // index); nullopt if the key has none, or only an expired tombstone.
  // NotSupported on other topics.
  virtual Result<std::optional<Record>> ReadLatest(const TopicPartition& tp, const std::string& key) = 0;

  // On a compacted topic: the latest record of each key that starts with
  // `prefix` and sorts after `start_after` (bytewise; empty: from the first),
  // in key order, at most `max`, skipping keys whose latest record is a
  // tombstone. Pages through a key range without reading the topic, as a
  // table-table join's index needs. NotSupported on other topics.
  virtual Result<std::vector<Record>> ReadLatestByPrefix(const TopicPartition& tp, const std::string& prefix,
                                                         const std::string& start_after, size_t max) = 0;

  // Blocks until the partition's end offset is > `from` or `timeout` passes.
  // Returns the end offset seen. Wakes within milliseconds of an append.
  virtual Result<Offset> WaitForData(const TopicPartition& tp, Offset from,
                                     std::chrono::milliseconds timeout) = 0;

  // First offset whose record timestamp is >= ts; the end offset if none is.
  virtual Result<Offset> OffsetForTimestamp(const TopicPartition& tp, Timestamp ts) = 0;

  virtual Result<PartitionInfo> DescribePartition(const TopicPartition& tp) = 0;

  // Removes records below `offset` and advances the log start (Kafka's
  // DeleteRecords). OutOfRange outside [log start, end].
  virtual Result<CleanupStats> DeleteRecordsBefore(const TopicPartition& tp, Offset offset) = 0;

  // --- consumer groups ------------------------------------------------------
  // Commits all given offsets atomically.
  virtual Status CommitOffsets(const std::string& group,
                               const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) = 0;
  // NotFound if the group never committed for this partition.
  virtual Result<CommittedOffset> Committed(const std::string& group, const TopicPartition& tp) = 0;
  virtual Result<std::vector<std::string>> ListGroups() = 0;
  virtual Result<GroupInfo> DescribeGroup(const std::string& group) = 0;

  // --- cleanup ------------------------------------------------------------
  // Runs compaction on topics whose policy includes compact (all, or `topic`).
  // The embedded log also rewrites the cleaned topics' files before it
  // returns, so the disk space is free then (the background pass leaves that
  // to RocksDB's own compactions).
  virtual Result<CleanupStats> Compact(const std::optional<std::string>& topic) = 0;
  // Applies retention.ms / retention.bytes on topics whose policy includes delete.
  virtual Result<CleanupStats> ApplyRetention(const std::optional<std::string>& topic) = 0;

  // --- shutdown -------------------------------------------------------------
  // For a process that is stopping: calls waiting on a remote cluster (a
  // write's acknowledgements, a read's fetch) return Aborted within about
  // 100 ms instead of waiting out their timeouts, and so does every later
  // such call. A write cut short this way is not committed. Safe to call
  // from any thread, any number of times. The embedded log waits on nothing
  // remote: a no-op there.
  virtual void Interrupt() {}
};

// The latest record of `key` in a partition, found by reading it from the log
// start to the end: for small compacted topics on a changelog without a key
// index (Kafka), where ReadLatest is NotSupported. nullopt if the key has none.
Result<std::optional<Record>> ScanForLatest(Changelog& log, const TopicPartition& tp, const std::string& key);
// AppendAt's checks of its arguments, for every implementation: offsets
// increase, and `end` is past the last one.
Status ValidateAppendAt(const std::vector<Record>& records, Offset end);

// The changelogs `log` was copied from (kCopiedFromCheckpoint), oldest first;
// empty if it is no copy. Corruption if the checkpoint is not a JSON array of
// strings.
Result<std::vector<std::string>> CopiedFrom(Changelog& log);

// The latest record of every key in a partition (tombstones included), read
// from the log start to the end.
Result<std::map<std::string, Record>> ScanLatestByKey(Changelog& log, const TopicPartition& tp);

}  // namespace ghostlog::log
