// KafkaLog: opening, clients, error mapping, cluster id, and the calls that
// are the broker's business (compaction, retention, ReadLatest).
#include <spdlog/spdlog.h>

#include <cstring>

#include "kafka_log_impl.h"

namespace ghostlog::log {

Result<std::unique_ptr<KafkaLog>> KafkaLog::Open(KafkaLogOptions options) {
  if (options.bootstrap_servers.empty()) {
    return Status::InvalidArgument("kafka bootstrap_servers is empty");
  }
  auto log = std::make_unique<kafka::KafkaLogImpl>(std::move(options));
  RETURN_NOT_OK(log->Init());
  return std::unique_ptr<KafkaLog>(std::move(log));
}

namespace kafka {

std::string Where(const TopicPartition& tp) {
  return "topic '" + tp.topic + "' partition " + std::to_string(tp.partition);
}

namespace {
// The Status code for a librdkafka error, with `m` as its message.
Status FromCode(rd_kafka_resp_err_t err, std::string m) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
      return Status::NotFound(m);
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return Status::AlreadyExists(m);
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
      return Status::NotSupported(m);
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      return Status::OutOfRange(m);
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return Status::InvalidArgument(m);
    default:
      // Timeouts too: the cluster (or the partition's leader) did not answer,
      // which the stages retry, as they retry an unreachable database.
      return Status::Unavailable(m);
  }
}
}  // namespace

Status ToStatus(rd_kafka_resp_err_t err, const std::string& what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  return FromCode(err, what + ": " + rd_kafka_err2str(err));
}

Status ToStatus(const rd_kafka_error_t* err, const std::string& what) {
  if (err == nullptr) return Status::OK();
  // The error object's string is more specific than err2str (it names the cause).
  return FromCode(rd_kafka_error_code(err), what + ": " + rd_kafka_error_string(err));
}

KafkaLogImpl::~KafkaLogImpl() {
  // Handles close in member order; consumers first so they leave cleanly.
  std::lock_guard l(pool_mu_);
  pool_.clear();
}

namespace {
// Sets one client property; the message names it, and shows its value unless
// it may be a secret (librdkafka's own message may quote the value too).
Status SetProperty(rd_kafka_conf_t* conf, const std::string& k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK) return Status::OK();
  const bool secret = k.find("password") != std::string::npos || k.find("secret") != std::string::npos ||
                      k.find(".key") != std::string::npos;
  if (secret) return Status::InvalidArgument("kafka client property " + k + ": its value is refused (not shown)");
  return Status::InvalidArgument("kafka client property " + k + ": " + err);
}

// librdkafka's own log lines (a broker down, a connection refused) go to the
// process's log with its other lines, not to stderr in librdkafka's format.
void LogLine(const rd_kafka_t*, int level, const char* facility, const char* line) {
  // syslog levels: 0-3 errors, 4 warnings, 5-6 notices and info, 7 debug
  const auto to = level <= 3   ? spdlog::level::err
                  : level == 4 ? spdlog::level::warn
                  : level <= 6 ? spdlog::level::info
                               : spdlog::level::debug;
  spdlog::log(to, "kafka: {}: {}", facility, line);
}
}  // namespace

Result<rd_kafka_conf_t*> KafkaLogImpl::NewConf(const std::map<std::string, std::string>& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, LogLine);
  auto set = [&](const std::string& k, const std::string& v) { return SetProperty(conf, k, v); };
  std::map<std::string, std::string> all = {
      {"bootstrap.servers", options_.bootstrap_servers},
      {"socket.timeout.ms", std::to_string(options_.request_timeout.count())},
      // Topics are made by CreateTopic with their cleanup policy, never by a typo.
      {"allow.auto.create.topics", "false"},
      {"log_level", "3"},
  };
  for (const auto& [k, v] : options_.client_config) all[k] = v;
  for (const auto& [k, v] : extra) all[k] = v;
  for (const auto& [k, v] : all) {
    Status s = set(k, v);
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
  }
  return conf;
}

Result<Handle> KafkaLogImpl::NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& extra) {
  ASSIGN_OR_RAISE(rd_kafka_conf_t * conf, NewConf(extra));
  if (type == RD_KAFKA_PRODUCER) {
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
      auto* slot = static_cast<DeliverySlot*>(m->_private);
      if (slot == nullptr) return;
      DeliveryWait& w = *slot->wait;
      std::lock_guard l(w.mu);
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && w.err == RD_KAFKA_RESP_ERR_NO_ERROR) w.err = m->err;
      w.offsets[slot->index] = m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? m->offset : -1;
      --w.pending;
      w.cv.notify_all();
    });
  }
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("kafka client: ") + err);
  }
  if (type == RD_KAFKA_CONSUMER) rd_kafka_poll_set_consumer(rk);
  return Handle(rk);
}

Status KafkaLogImpl::Init() {
  ASSIGN_OR_RAISE(producer_, NewClient(RD_KAFKA_PRODUCER,
                                       {{"enable.idempotence", "true"},
                                        {"acks", "all"},
                                        {"linger.ms", "1"},
                                        {"delivery.timeout.ms", std::to_string(options_.delivery_timeout.count())}}));
  // A consumer handle: librdkafka lets producers' metadata requests create
  // topics; consumers honour allow.auto.create.topics=false.
  ASSIGN_OR_RAISE(admin_, NewClient(RD_KAFKA_CONSUMER, {{"group.id", "__ghostlog.admin"}}));
  char* id = rd_kafka_clusterid(admin_.get(), static_cast<int>(options_.request_timeout.count()));
  if (id == nullptr) {
    return Status::Unavailable("kafka cluster at '" + options_.bootstrap_servers + "' did not answer within " +
                               std::to_string(options_.request_timeout.count()) + " ms");
  }
  cluster_id_ = id;
  rd_kafka_mem_free(admin_.get(), id);
  return Status::OK();
}

Result<std::string> KafkaLogImpl::ClusterId() { return cluster_id_; }

Result<std::optional<Record>> KafkaLogImpl::ReadLatest(const TopicPartition& tp, const std::string&) {
  return Status::NotSupported("ReadLatest on " + Where(tp) +
                              ": Kafka keeps no key index, so the latest record of a key needs a full scan");
}

Result<std::vector<Record>> KafkaLogImpl::ReadLatestByPrefix(const TopicPartition& tp, const std::string&,
                                                             const std::string&, size_t) {
  return Status::NotSupported("ReadLatestByPrefix on " + Where(tp) +
                              ": Kafka keeps no key index, so a key range needs a full scan");
}

Result<CleanupStats> KafkaLogImpl::Compact(const std::optional<std::string>&) {
  return CleanupStats{};  // the broker's log cleaner compacts; nothing to do here
}

Result<CleanupStats> KafkaLogImpl::ApplyRetention(const std::optional<std::string>&) {
  return CleanupStats{};  // the broker applies retention.ms/bytes itself
}

}  // namespace kafka

Status CheckKafkaClientConfig(const std::map<std::string, std::string>& client_config) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Status s;
  for (const auto& [k, v] : client_config) {
    s = kafka::SetProperty(conf, k, v);
    if (!s.ok()) break;
  }
  rd_kafka_conf_destroy(conf);
  return s;
}

}  // namespace ghostlog::log
