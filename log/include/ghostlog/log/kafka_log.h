// The Kafka-backed changelog: the Changelog interface on a Kafka cluster,
// through librdkafka.
//
// Stages see no difference from the embedded log except where Kafka itself
// differs; each such difference is stated below and in docs/kafka.md:
//   - Compaction and retention are the broker's: Compact() and ApplyRetention()
//     return OK with zero stats and do nothing.
//   - ReadLatest() and ReadLatestByPrefix() are NotSupported: Kafka keeps no key index.
//   - Append() is atomic per produce request, not per batch: a failed Append
//     may leave a prefix of its batch on the broker (never a duplicate, never a
//     gap: the producer is idempotent). Write() is atomic (a transaction).
//   - Offsets are consecutive within one Append only while this instance is the
//     partition's only producer (concurrent Appends here are serialized).
//   - Committed offsets carry no commit timestamp (Kafka does not return it):
//     CommittedOffset::commit_timestamp is 0.
//   - DescribePartition() counts records as end - start (an upper bound:
//     compaction gaps and transaction markers are not subtracted) and reports
//     bytes as -1 (unknown without DescribeLogDirs).
//   - Calls the broker does not implement (the mock cluster lacks CreateTopics,
//     DescribeConfigs, DeleteRecords and ListGroups) fail with NotSupported or,
//     where librdkafka only times out waiting for a controller, TimedOut or
//     Unavailable.
//   - A cluster that does not answer in time (a broker down, a partition
//     without a leader) gives Unavailable, which callers may retry.
//
// Durability: Append() and Write() return only after every record was
// acknowledged by all in-sync replicas (acks=all, idempotent producer);
// Durability::kNoSync is not cheaper here.
//
// Thread-safety: all methods are safe to call concurrently. Appends share one
// producer and are serialized; reads and waits each take a consumer from a
// pool, so they run in parallel.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "ghostlog/log/changelog.h"

namespace ghostlog::log {

struct KafkaLogOptions {
  std::string bootstrap_servers;
  // Passed to every librdkafka client as is: security.protocol, sasl.*, ssl.*
  // and any other client property. Invalid names or values fail Open().
  std::map<std::string, std::string> client_config;
  // Enables Write(): the transactional producer's transactional.id. Two live
  // instances with the same id fence each other (the older one fails).
  std::string transactional_id;
  // Replication factor of topics made by CreateTopic(); -1 = broker default.
  int16_t replication_factor = -1;
  // Bound on each broker round trip (metadata, admin calls, watermarks).
  std::chrono::milliseconds request_timeout{10000};
  // How long the producer retries a record before Append() fails
  // (librdkafka's delivery.timeout.ms).
  std::chrono::milliseconds delivery_timeout{30000};
};

// Whether librdkafka accepts these client properties (names and values),
// without connecting: InvalidArgument naming the first one it refuses. Lets a
// configuration be checked before anything starts.
Status CheckKafkaClientConfig(const std::map<std::string, std::string>& client_config);

// Where Write() keeps checkpoints: a compacted single-partition topic, keyed
// by checkpoint name, written in the same transaction as the records.
inline constexpr const char* kCheckpointTopic = "__ghostlog.checkpoints";

class KafkaLog : public Changelog {
 public:
  // Connects and fetches the cluster id, so that an unreachable cluster fails
  // here (Unavailable) rather than on the first call.
  static Result<std::unique_ptr<KafkaLog>> Open(KafkaLogOptions options);
  ~KafkaLog() override = default;

  virtual const KafkaLogOptions& options() const = 0;

 protected:
  KafkaLog() = default;
};

}  // namespace ghostlog::log
