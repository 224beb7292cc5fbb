// KafkaLog's implementation: RAII wrappers over librdkafka's C handles and
// the class the kafka_log*.cc files share.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ghostlog/log/kafka_log.h"

namespace ghostlog::log::kafka {

struct HandleDeleter {
  // Our consumers never subscribe, so there is no group membership to leave.
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE); }
};
struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using Queue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using AdminOptions = std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter>;
using Error = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// Maps a librdkafka error to a Status code; `what` says what was being done.
Status ToStatus(rd_kafka_resp_err_t err, const std::string& what);
Status ToStatus(const rd_kafka_error_t* err, const std::string& what);
std::string Where(const TopicPartition& tp);

// A consumer used for assign+fetch, never subscribe; remembers where its
// assignment will continue so that sequential reads do not re-seek.
struct PooledConsumer {
  Handle rk;
  std::optional<TopicPartition> tp;
  Offset next = -1;
  std::set<std::string> known_topics;  // whose metadata this client has
};

// One Append()/Write() call waiting for its delivery reports.
struct DeliveryWait {
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = 0;
  std::vector<Offset> offsets;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};
// Per-record opaque: which call and which slot of its offsets.
struct DeliverySlot {
  DeliveryWait* wait;
  size_t index;
};

class KafkaLogImpl final : public KafkaLog {
 public:
  explicit KafkaLogImpl(KafkaLogOptions o) : options_(std::move(o)) {}
  ~KafkaLogImpl() override;
  Status Init();

  Status CreateTopic(const std::string& topic, int32_t partitions, const TopicConfig& config) override;
  Status DeleteTopic(const std::string& topic) override;
  Status AlterTopicConfig(const std::string& topic, const TopicConfig& config) override;
  Result<std::vector<std::string>> ListTopics() override;
  Result<TopicInfo> DescribeTopic(const std::string& topic) override;
  // From fresh metadata (and remembered for CheckPartition).
  Result<int32_t> PartitionCount(const std::string& topic) override;
  Result<std::vector<Offset>> Append(const TopicPartition& tp, std::vector<RecordIn> batch) override;
  Result<std::vector<std::vector<Offset>>> Write(AtomicWrite write) override;
  Result<std::string> ClusterId() override;
  Result<std::string> ReadCheckpoint(const std::string& name) override;
  Result<Offset> AppendAt(const TopicPartition& tp, const std::vector<Record>& records, Offset end) override;
  Result<std::map<std::string, std::string>> Checkpoints() override;
  Result<std::vector<Record>> Read(const TopicPartition& tp, Offset from, ReadLimits limits) override;
  Result<std::optional<Record>> ReadLatest(const TopicPartition& tp, const std::string& key) override;
  Result<std::vector<Record>> ReadLatestByPrefix(const TopicPartition& tp, const std::string& prefix,
                                                 const std::string& start_after, size_t max) override;
  Result<Offset> WaitForData(const TopicPartition& tp, Offset from, std::chrono::milliseconds timeout) override;
  Result<Offset> OffsetForTimestamp(const TopicPartition& tp, Timestamp ts) override;
  Result<PartitionInfo> DescribePartition(const TopicPartition& tp) override;
  Result<CleanupStats> DeleteRecordsBefore(const TopicPartition& tp, Offset offset) override;
  Status CommitOffsets(const std::string& group,
                       const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) override;
  Result<CommittedOffset> Committed(const std::string& group, const TopicPartition& tp) override;
  Result<std::vector<std::string>> ListGroups() override;
  Result<GroupInfo> DescribeGroup(const std::string& group) override;
  Result<CleanupStats> Compact(const std::optional<std::string>& topic) override;
  Result<CleanupStats> ApplyRetention(const std::optional<std::string>& topic) override;
  const KafkaLogOptions& options() const override { return options_; }
  void Interrupt() override { interrupted_ = true; }

 private:
  // Builds a client configuration with the user's pass-through settings.
  Result<rd_kafka_conf_t*> NewConf(const std::map<std::string, std::string>& extra);
  Result<Handle> NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& extra);
  Status CheckPartition(const TopicPartition& tp);
  // [low, high) watermarks from the partition leader (two requests).
  Result<std::pair<Offset, Offset>> Watermarks(const TopicPartition& tp);
  // The high watermark alone (one request).
  Result<Offset> EndOffset(const TopicPartition& tp);
  Result<Offset> ListOffset(const TopicPartition& tp, int64_t which, std::chrono::steady_clock::time_point deadline);
  // Runs one admin call and returns its result event.
  Result<Event> RunAdmin(const std::string& what, rd_kafka_event_type_t type,
                         const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& call);
  Result<std::vector<Record>> ReadWith(PooledConsumer& c, const TopicPartition& tp, Offset from, Offset end,
                                       const ReadLimits& limits);
  // Produces `records` to `tp` on `producer` without waiting; slots index into wait.
  Status Produce(rd_kafka_t* producer, const TopicPartition& tp, std::vector<RecordIn>& records,
                 DeliveryWait& wait, std::vector<DeliverySlot>& slots, size_t first_slot);
  Status AwaitDeliveries(rd_kafka_t* producer, DeliveryWait& wait, const std::string& what);
  Status ProduceInTransaction(rd_kafka_t* p, std::vector<PartitionBatch>& batches,
                              std::vector<std::vector<Offset>>* out, Status* delivered);
  PooledConsumer AcquireConsumer(const TopicPartition& tp, Offset from, Status* st);
  void ReleaseConsumer(PooledConsumer c);
  Result<rd_kafka_t*> GroupClient(const std::string& group);
  Status EnsureCheckpointTopic();

  // The Aborted status of a call cut short by Interrupt(); OK until then.
  Status Interrupted(const std::string& what) const;

  KafkaLogOptions options_;
  std::atomic<bool> interrupted_{false};
  Handle producer_;       // idempotent, acks=all: Append()
  Handle admin_;          // metadata, watermarks, admin calls
  std::mutex append_mu_;  // one Append at a time keeps a batch's offsets consecutive
  std::mutex txn_mu_;
  Handle txn_producer_;  // transactional: Write(); made on first use
  Status txn_fatal_;     // set once the transactional producer failed fatally
  bool checkpoint_topic_ok_ = false;
  std::mutex pool_mu_;
  std::vector<PooledConsumer> pool_;
  std::mutex groups_mu_;
  std::map<std::string, Handle> groups_;  // group.id -> consumer used to commit and fetch offsets
  std::string cluster_id_;
  // Partition counts seen in metadata. Kafka never shrinks a topic, so a
  // cached count is a safe lower bound; a partition beyond it, or a topic not
  // in the cache, asks the cluster again.
  std::mutex topics_mu_;
  std::map<std::string, int32_t> partition_counts_;
};

}  // namespace ghostlog::log::kafka
