// EmbeddedLogImpl: the RocksDB-backed Changelog. Split by concern:
//   embedded_log_open.cc     open, metadata load, reader catch-up, close
//   embedded_log_write.cc    group commit, append, topics, groups
//   embedded_log_read.cc     read, follow, timestamp lookup, describe
//   embedded_log_cleanup.cc  compaction, retention, background thread
//   embedded_log_verify.cc   verify
//
// Concurrency model. Every mutation (append, topic change, offset commit,
// cleanup deletes) is a WriteOp handed to one write queue. The first waiting
// writer becomes the leader: it takes every queued op, lets each stage its
// changes into one WriteBatch and a staged copy of the in-memory state, writes
// the batch (one fsync for the whole group), and only then publishes the
// staged state under mu_. Only the leader mutates state, so it may read the
// live state without mu_; everyone else reads it under mu_. Readers never
// see a record before its batch is durable, because end offsets are
// published after the write.
#pragma once

#include <rocksdb/db.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "dir_lock.h"
#include "ghostlog/log/embedded_log.h"

namespace ghostlog::log {

struct PartitionState {
  Offset next_offset = 0;
  Offset log_start = 0;
  int64_t records = 0;
  int64_t bytes = 0;
  Timestamp max_timestamp = -1;  // running maximum; drives the time index

  std::string Encode() const;
  static Result<PartitionState> Decode(std::string_view s);
};

struct TopicState {
  uint32_t id = 0;
  std::string name;
  int32_t partitions = 1;
  TopicConfig config;

  std::string Encode() const;
  static Result<TopicState> Decode(std::string_view s);
};

using PartKey = std::pair<uint32_t, PartitionId>;

// A RocksDB status as ours, with context naming what was being done.
Status ToStatus(const rocksdb::Status& s, const std::string& context);

// Topic names as Kafka allows them: [a-zA-Z0-9._-], 1..249 chars, not "." or "..".
Status ValidateTopicName(const std::string& name);

class EmbeddedLogImpl;

// What a write op sees while the leader builds a group.
struct WriteContext {
  EmbeddedLogImpl* log = nullptr;
  rocksdb::WriteBatch batch;
  Timestamp now = 0;
  std::map<std::string, std::optional<TopicState>> topics;  // nullopt = deleted
  std::map<PartKey, PartitionState> parts;
  std::set<uint32_t> deleted_topic_ids;
  std::optional<uint32_t> next_topic_id;
  bool appended = false;  // wake followers after publishing

  // Staged or live topic; nullptr if it does not exist.
  const TopicState* Topic(const std::string& name) const;
  // Staged copy of a partition's state, created from the live one on first use.
  PartitionState& Part(uint32_t tid, PartitionId p);
};

using WriteOp = std::function<Status(WriteContext&)>;

// Staging helpers shared by Append, Write and CommitOffsets.
// `at`, if given, holds each record's offset (AppendAt); else they follow the end.
Status StageAppend(WriteContext& ctx, const TopicPartition& tp, const std::vector<RecordIn>& records,
                   std::vector<Offset>* offsets, const std::vector<Offset>* at = nullptr);
Status ValidateOffsets(const WriteContext& ctx, const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets);
void StageOffsets(WriteContext& ctx, const std::string& group,
                  const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets);

class EmbeddedLogImpl final : public EmbeddedLog {
 public:
  explicit EmbeddedLogImpl(EmbeddedLogOptions options);
  ~EmbeddedLogImpl() override;

  Status OpenImpl();

  // Changelog
  Status CreateTopic(const std::string& topic, int32_t partitions, const TopicConfig& config) override;
  Status DeleteTopic(const std::string& topic) override;
  Status AlterTopicConfig(const std::string& topic, const TopicConfig& config) override;
  Result<std::vector<std::string>> ListTopics() override;
  Result<TopicInfo> DescribeTopic(const std::string& topic) override;
  Result<int32_t> PartitionCount(const std::string& topic) override;
  Result<std::vector<Offset>> Append(const TopicPartition& tp, std::vector<RecordIn> batch) override;
  Result<std::vector<std::vector<Offset>>> Write(AtomicWrite write) override;
  Result<std::string> ReadCheckpoint(const std::string& name) override;
  Result<Offset> AppendAt(const TopicPartition& tp, const std::vector<Record>& records, Offset end) override;
  Result<std::map<std::string, std::string>> Checkpoints() override;
  Result<std::string> ClusterId() override;
  Status LoadClusterId();
  Result<std::optional<Record>> ReadLatest(const TopicPartition& tp, const std::string& key) override;
  Result<std::vector<Record>> ReadLatestByPrefix(const TopicPartition& tp, const std::string& prefix,
                                                 const std::string& start_after, size_t max) override;
  Result<std::vector<Record>> Read(const TopicPartition& tp, Offset from, ReadLimits limits) override;
  Result<Offset> WaitForData(const TopicPartition& tp, Offset from, std::chrono::milliseconds timeout) override;
  Result<Offset> OffsetForTimestamp(const TopicPartition& tp, Timestamp ts) override;
  Result<PartitionInfo> DescribePartition(const TopicPartition& tp) override;
  Status CommitOffsets(const std::string& group,
                       const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) override;
  Result<CommittedOffset> Committed(const std::string& group, const TopicPartition& tp) override;
  Result<std::vector<std::string>> ListGroups() override;
  Result<GroupInfo> DescribeGroup(const std::string& group) override;
  Result<CleanupStats> Compact(const std::optional<std::string>& topic) override;
  Result<CleanupStats> ApplyRetention(const std::optional<std::string>& topic) override;

  // EmbeddedLog
  Status Refresh() override;
  Result<VerifyReport> Verify() override;
  Status FatalError() const override;
  Result<CleanupStats> DeleteRecordsBefore(const TopicPartition& tp, Offset offset) override;
  const EmbeddedLogOptions& options() const override { return opts_; }

  // For WriteContext: live state, read by the leader without mu_.
  const TopicState* LiveTopic(const std::string& name) const;
  const PartitionState* LivePart(uint32_t tid, PartitionId p) const;
  uint32_t live_next_topic_id() const { return next_topic_id_; }

  rocksdb::ColumnFamilyHandle* meta_cf() const { return cfs_[0]; }
  rocksdb::ColumnFamilyHandle* records_cf() const { return cfs_[1]; }
  rocksdb::ColumnFamilyHandle* time_cf() const { return cfs_[2]; }
  rocksdb::ColumnFamilyHandle* keyindex_cf() const { return cfs_[3]; }

 private:
  struct Writer;
  // A consistent copy of what a reader needs about one partition.
  struct PartView {
    uint32_t tid = 0;
    PartitionId partition = 0;
    TopicConfig config;
    PartitionState state;
  };

  bool writer() const { return opts_.mode == OpenMode::kWriter; }
  Timestamp Now() const { return opts_.clock ? opts_.clock() : NowMs(); }
  Status RequireWriter(const char* what) const;

  // open
  Status OpenDb();
  Status InitOrCheckFormat();
  Status LoadMetadata();  // replaces topics_/parts_ from the meta CF
  Status CapToReadableRecords(std::map<PartKey, PartitionState>* parts);  // reader mode
  void StartThreads();
  void StopThreads();

  // write
  Status Submit(WriteOp op, Durability durability, size_t bytes = 0);
  void RunGroup(std::vector<Writer*>& group);
  void Publish(WriteContext& ctx);

  // read
  Result<PartView> View(const TopicPartition& tp) const;
  Result<Offset> TimeIndexLookup(const PartView& v, Timestamp ts);

  // cleanup
  Result<CleanupStats> CompactPartition(const PartView& v, PartitionId p);
  Result<Offset> SizeRetentionStart(const PartView& v, int64_t retention_bytes);
  Result<CleanupStats> RemovePrefix(const TopicPartition& tp, uint32_t tid, Offset new_start);
  // `cleaned`, if given, receives the ids of topics where records were removed.
  Result<CleanupStats> ForEachPartition(const std::optional<std::string>& topic, bool compact,
                                        std::vector<uint32_t>* cleaned = nullptr);
  void BackgroundLoop();

  // reader follow
  Status WaitForChange(std::chrono::milliseconds timeout);

  EmbeddedLogOptions opts_;
  std::optional<DirLock> lock_;
  std::string secondary_dir_;  // reader mode: RocksDB secondary's own files
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  int inotify_fd_ = -1;
  std::string cluster_id_;  // set at open; empty in a reader of a dir written before ids existed

  mutable std::mutex mu_;  // guards everything below up to the write queue
  std::condition_variable data_cv_;     // followers: new data, a deleted topic, a fatal error
  std::condition_variable threads_cv_;  // the syncer and cleanup threads: stopping
  std::map<std::string, TopicState> topics_;
  std::map<PartKey, PartitionState> parts_;
  uint32_t next_topic_id_ = 1;
  Status fatal_;
  bool stopping_ = false;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Writer*> queue_;
  bool leader_active_ = false;
  // The last group's write batch, cleared, for the next leader (one leader at
  // a time: leader_active_): a fresh buffer of a few MiB is page-faulted in
  // at every write. Kept only up to kKeptBatchBytes of capacity.
  rocksdb::WriteBatch kept_batch_;
  static constexpr size_t kKeptBatchBytes = 16 << 20;

  std::mutex cleanup_mu_;  // one compaction or retention pass at a time
  std::thread background_;
  std::thread syncer_;
};

}  // namespace ghostlog::log
