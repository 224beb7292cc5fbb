// KafkaLog: topics, partitions' watermarks and the admin API calls.
#include <algorithm>

#include "kafka_log_impl.h"

namespace ghostlog::log::kafka {

namespace {
int Ms(std::chrono::milliseconds d) { return static_cast<int>(d.count()); }

// Our TopicConfig as Kafka topic configs (same names, same units).
std::map<std::string, std::string> KafkaConfigs(const TopicConfig& c) {
  return {{"cleanup.policy", c.cleanup_policy()},
          {"retention.ms", std::to_string(c.retention_ms)},
          {"retention.bytes", std::to_string(c.retention_bytes)},
          {"delete.retention.ms", std::to_string(c.delete_retention_ms)},
          {"min.compaction.lag.ms", std::to_string(c.min_compaction_lag_ms)}};
}
}  // namespace

Result<Event> KafkaLogImpl::RunAdmin(const std::string& what, rd_kafka_event_type_t type,
                                     const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& call) {
  Queue q(rd_kafka_queue_new(admin_.get()));
  AdminOptions opts(rd_kafka_AdminOptions_new(admin_.get(), RD_KAFKA_ADMIN_OP_ANY));
  char err[512];
  if (rd_kafka_AdminOptions_set_request_timeout(opts.get(), Ms(options_.request_timeout), err, sizeof err)) {
    return Status::InvalidArgument(what + ": " + err);
  }
  call(opts.get(), q.get());
  // The request timeout bounds the call; the margin lets librdkafka report it.
  Event ev(rd_kafka_queue_poll(q.get(), Ms(options_.request_timeout) + 5000));
  if (!ev) return Status::TimedOut(what + ": no answer from the cluster");
  if (rd_kafka_event_type(ev.get()) != type) {
    return Status::Unavailable(what + ": unexpected event " + rd_kafka_event_name(ev.get()));
  }
  if (rd_kafka_event_error(ev.get())) {
    return ToStatus(rd_kafka_event_error(ev.get()), what + ": " + rd_kafka_event_error_string(ev.get()));
  }
  return ev;
}

// Asks for all topics' metadata: a topic handle or a single-topic request
// may create the topic on brokers with auto.create.topics.enable, and a
// lookup must never create what it looks for.
Result<int32_t> KafkaLogImpl::PartitionCount(const std::string& topic) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(admin_.get(), 1, nullptr, &md, Ms(options_.request_timeout));
  RETURN_NOT_OK(ToStatus(err, "metadata of topic '" + topic + "'"));
  Metadata m(md);
  for (int i = 0; i < m->topic_cnt; ++i) {
    const auto& t = m->topics[i];
    if (topic != t.topic) continue;
    RETURN_NOT_OK(ToStatus(t.err, "metadata of topic '" + topic + "'"));
    std::lock_guard l(topics_mu_);
    partition_counts_[topic] = t.partition_cnt;
    return t.partition_cnt;
  }
  std::lock_guard l(topics_mu_);
  partition_counts_.erase(topic);
  return Status::NotFound("topic '" + topic + "' does not exist");
}

Status KafkaLogImpl::CheckPartition(const TopicPartition& tp) {
  {
    std::lock_guard l(topics_mu_);
    auto it = partition_counts_.find(tp.topic);
    if (it != partition_counts_.end() && tp.partition >= 0 && tp.partition < it->second) return Status::OK();
  }
  ASSIGN_OR_RAISE(int32_t n, PartitionCount(tp.topic));
  if (tp.partition < 0 || tp.partition >= n) {
    return Status::NotFound("topic '" + tp.topic + "' has " + std::to_string(n) + " partition(s); partition " +
                            std::to_string(tp.partition) + " does not exist");
  }
  return Status::OK();
}

// One ListOffsets request (RD_KAFKA_OFFSET_BEGINNING or _END; the end is the
// last stable offset, admin_ reading committed) through
// rd_kafka_offsets_for_times, not rd_kafka_query_watermark_offsets: before
// librdkafka 2.3.0 that one waits forever, whatever its timeout, while the
// partition's leader is down (librdkafka #2588), and every stage would hang
// on it, deaf to SIGTERM.
Result<Offset> KafkaLogImpl::ListOffset(const TopicPartition& tp, int64_t which,
                                        std::chrono::steady_clock::time_point deadline) {
  PartitionList l;
  rd_kafka_resp_err_t err;
  do {  // in slices, so that Interrupt() is seen within one
    RETURN_NOT_OK(Interrupted("watermarks of " + Where(tp)));
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    l.reset(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(l.get(), tp.topic.c_str(), tp.partition)->offset = which;
    err = rd_kafka_offsets_for_times(admin_.get(), l.get(), std::clamp(Ms(left), 1, 500));
  } while (err == RD_KAFKA_RESP_ERR__TIMED_OUT && std::chrono::steady_clock::now() < deadline);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = l->elems[0].err;
  Status s = ToStatus(err, "watermarks of " + Where(tp));
  if (s.IsNotFound()) {
    std::lock_guard g(topics_mu_);
    partition_counts_.erase(tp.topic);  // deleted behind our back
  }
  RETURN_NOT_OK(s);
  if (l->elems[0].offset < 0) {
    return Status::IOError("watermarks of " + Where(tp) + ": the broker answered no offset");
  }
  return l->elems[0].offset;
}

Result<std::pair<Offset, Offset>> KafkaLogImpl::Watermarks(const TopicPartition& tp) {
  RETURN_NOT_OK(CheckPartition(tp));
  const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  ASSIGN_OR_RAISE(Offset lo, ListOffset(tp, RD_KAFKA_OFFSET_BEGINNING, deadline));
  ASSIGN_OR_RAISE(Offset hi, ListOffset(tp, RD_KAFKA_OFFSET_END, deadline));
  return std::make_pair(lo, hi);
}

Result<Offset> KafkaLogImpl::EndOffset(const TopicPartition& tp) {
  RETURN_NOT_OK(CheckPartition(tp));
  return ListOffset(tp, RD_KAFKA_OFFSET_END, std::chrono::steady_clock::now() + options_.request_timeout);
}

namespace {
// The per-topic results of an admin request: `expected` (the topic already
// exists, or is already gone) becomes `as`, any other error its Status.
Status TopicResults(const rd_kafka_topic_result_t** res, size_t n, const std::string& what,
                    rd_kafka_resp_err_t expected, Status as) {
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_topic_result_error(res[i]) == expected) return as;
    RETURN_NOT_OK(ToStatus(rd_kafka_topic_result_error(res[i]), what));
  }
  return Status::OK();
}
}  // namespace

Status KafkaLogImpl::CreateTopic(const std::string& topic, int32_t partitions, const TopicConfig& config) {
  if (topic.empty()) return Status::InvalidArgument("topic name is empty");
  if (partitions < 1) {
    return Status::InvalidArgument("topic '" + topic + "' needs at least 1 partition, got " + std::to_string(partitions));
  }
  // An existing topic is reported without an admin call: operators often make
  // topics themselves and give ghostlog no CreateTopics right (and the mock
  // cluster has no CreateTopics at all).
  if (PartitionCount(topic).ok()) return Status::AlreadyExists("topic '" + topic + "' already exists");
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, options_.replication_factor, err, sizeof err);
  if (nt == nullptr) return Status::InvalidArgument("topic '" + topic + "': " + err);
  for (const auto& [k, v] : KafkaConfigs(config)) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  const std::string what = "creating topic '" + topic + "'";
  auto ev = RunAdmin(what, RD_KAFKA_EVENT_CREATETOPICS_RESULT,
                     [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_CreateTopics(admin_.get(), &nt, 1, o, q); });
  rd_kafka_NewTopic_destroy(nt);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev->get()), &n);
  return TopicResults(res, n, what, RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
                      Status::AlreadyExists("topic '" + topic + "' already exists"));
}

Status KafkaLogImpl::DeleteTopic(const std::string& topic) {
  {
    std::lock_guard l(topics_mu_);
    partition_counts_.erase(topic);
  }
  rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(topic.c_str());
  const std::string what = "deleting topic '" + topic + "'";
  auto ev = RunAdmin(what, RD_KAFKA_EVENT_DELETETOPICS_RESULT,
                     [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_DeleteTopics(admin_.get(), &dt, 1, o, q); });
  rd_kafka_DeleteTopic_destroy(dt);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_topic_result_t** res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev->get()), &n);
  return TopicResults(res, n, what, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                      Status::NotFound("topic '" + topic + "' does not exist"));
}

// AlterConfigs (not incremental: librdkafka 2.0 lacks IncrementalAlterConfigs)
// replaces the topic's whole config, so settings made outside ghostlog revert
// to the broker default. Ours are all set explicitly.
Status KafkaLogImpl::AlterTopicConfig(const std::string& topic, const TopicConfig& config) {
  rd_kafka_ConfigResource_t* cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  for (const auto& [k, v] : KafkaConfigs(config)) rd_kafka_ConfigResource_set_config(cr, k.c_str(), v.c_str());
  const std::string what = "altering config of topic '" + topic + "'";
  auto ev = RunAdmin(what, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT,
                     [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_AlterConfigs(admin_.get(), &cr, 1, o, q); });
  rd_kafka_ConfigResource_destroy(cr);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_ConfigResource_t** res = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev->get()), &n);
  for (size_t i = 0; i < n; ++i) RETURN_NOT_OK(ToStatus(rd_kafka_ConfigResource_error(res[i]), what));
  return Status::OK();
}

Result<std::vector<std::string>> KafkaLogImpl::ListTopics() {
  const rd_kafka_metadata_t* md = nullptr;
  RETURN_NOT_OK(ToStatus(rd_kafka_metadata(admin_.get(), 1, nullptr, &md, Ms(options_.request_timeout)), "listing topics"));
  Metadata m(md);
  std::vector<std::string> out;
  for (int i = 0; i < m->topic_cnt; ++i) {
    std::string name = m->topics[i].topic;
    // "__" marks internal topics: Kafka's own and our checkpoint topic.
    if (name.rfind("__", 0) != 0) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<PartitionInfo> KafkaLogImpl::DescribePartition(const TopicPartition& tp) {
  ASSIGN_OR_RAISE(auto wm, Watermarks(tp));
  PartitionInfo p;
  p.partition = tp.partition;
  p.log_start_offset = wm.first;
  p.end_offset = wm.second;
  p.records = wm.second - wm.first;
  p.bytes = -1;
  return p;
}

Result<TopicInfo> KafkaLogImpl::DescribeTopic(const std::string& topic) {
  ASSIGN_OR_RAISE(int32_t n, PartitionCount(topic));
  TopicInfo info;
  info.name = topic;
  info.partitions = n;
  for (int32_t p = 0; p < n; ++p) {
    ASSIGN_OR_RAISE(PartitionInfo pi, DescribePartition({topic, p}));
    info.partition_info.push_back(pi);
  }
  rd_kafka_ConfigResource_t* cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  const std::string what = "describing config of topic '" + topic + "'";
  auto ev = RunAdmin(what, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT,
                     [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_DescribeConfigs(admin_.get(), &cr, 1, o, q); });
  rd_kafka_ConfigResource_destroy(cr);
  if (!ev.ok()) return ev.status();
  size_t rn = 0;
  const rd_kafka_ConfigResource_t** res = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev->get()), &rn);
  for (size_t i = 0; i < rn; ++i) {
    RETURN_NOT_OK(ToStatus(rd_kafka_ConfigResource_error(res[i]), what));
    size_t cn = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(res[i], &cn);
    for (size_t j = 0; j < cn; ++j) {
      const char* name = rd_kafka_ConfigEntry_name(entries[j]);
      const char* value = rd_kafka_ConfigEntry_value(entries[j]);
      if (value == nullptr || !KafkaConfigs(info.config).contains(name)) continue;
      RETURN_NOT_OK(info.config.Set(name, value).WithContext(what));
    }
  }
  return info;
}

Result<CleanupStats> KafkaLogImpl::DeleteRecordsBefore(const TopicPartition& tp, Offset offset) {
  ASSIGN_OR_RAISE(auto wm, Watermarks(tp));
  if (offset < wm.first || offset > wm.second) {
    return Status::OutOfRange("offset " + std::to_string(offset) + " is out of range [" + std::to_string(wm.first) +
                              ", " + std::to_string(wm.second) + "] for " + Where(tp));
  }
  PartitionList l(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(l.get(), tp.topic.c_str(), tp.partition)->offset = offset;
  rd_kafka_DeleteRecords_t* dr = rd_kafka_DeleteRecords_new(l.get());
  const std::string what = "deleting records of " + Where(tp) + " before " + std::to_string(offset);
  auto ev = RunAdmin(what, RD_KAFKA_EVENT_DELETERECORDS_RESULT,
                     [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_DeleteRecords(admin_.get(), &dr, 1, o, q); });
  rd_kafka_DeleteRecords_destroy(dr);
  if (!ev.ok()) return ev.status();
  const rd_kafka_topic_partition_list_t* res = rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev->get()));
  for (int i = 0; i < res->cnt; ++i) RETURN_NOT_OK(ToStatus(res->elems[i].err, what));
  CleanupStats stats;
  stats.records_removed = offset - wm.first;  // at most: compaction may already have removed some
  stats.partitions_cleaned = offset > wm.first ? 1 : 0;
  return stats;
}

Result<Offset> KafkaLogImpl::OffsetForTimestamp(const TopicPartition& tp, Timestamp ts) {
  ASSIGN_OR_RAISE(auto wm, Watermarks(tp));
  PartitionList l(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(l.get(), tp.topic.c_str(), tp.partition)->offset = ts;
  const std::string what = "offset for timestamp " + std::to_string(ts) + " in " + Where(tp);
  RETURN_NOT_OK(ToStatus(rd_kafka_offsets_for_times(admin_.get(), l.get(), Ms(options_.request_timeout)), what));
  RETURN_NOT_OK(ToStatus(l->elems[0].err, what));
  const Offset found = l->elems[0].offset;
  if (found >= 0) return found;
  // -1: no record has a timestamp >= ts, so the answer is the end. A broker
  // that ignores the timestamp (the mock cluster does) also says -1; the last
  // record contradicts it then, and a wrong offset must not pass as the end.
  if (wm.second > wm.first) {
    ASSIGN_OR_RAISE(auto last, Read(tp, wm.second - 1 >= wm.first ? wm.second - 1 : wm.first, ReadLimits{1, 1}));
    if (!last.empty() && last.back().timestamp >= ts) {
      return Status::NotSupported(what + ": the broker answered 'none' although the last record's timestamp is " +
                                  std::to_string(last.back().timestamp) + " (it does not implement ListOffsets by time)");
    }
  }
  return wm.second;
}

}  // namespace ghostlog::log::kafka
