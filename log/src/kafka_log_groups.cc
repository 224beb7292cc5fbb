// KafkaLog: consumer groups' committed offsets. A group here is a Kafka
// consumer group that never subscribes: offsets are committed for explicit
// partitions, as stages assign themselves their partitions.
#include <cstdlib>
#include <cstring>

#include <algorithm>

#include "kafka_log_impl.h"

namespace ghostlog::log::kafka {

Result<rd_kafka_t*> KafkaLogImpl::GroupClient(const std::string& group) {
  if (group.empty()) return Status::InvalidArgument("consumer group name is empty");
  std::lock_guard l(groups_mu_);
  auto it = groups_.find(group);
  if (it != groups_.end()) return it->second.get();
  ASSIGN_OR_RAISE(Handle h, NewClient(RD_KAFKA_CONSUMER, {{"group.id", group}, {"enable.auto.commit", "false"}}));
  rd_kafka_t* rk = h.get();
  groups_.emplace(group, std::move(h));
  return rk;
}

Status KafkaLogImpl::CommitOffsets(const std::string& group,
                                   const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) {
  ASSIGN_OR_RAISE(rd_kafka_t * rk, GroupClient(group));
  if (offsets.empty()) return Status::OK();
  PartitionList l(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, c] : offsets) {
    RETURN_NOT_OK(CheckPartition(tp).WithContext("committing offsets of group '" + group + "'"));
    if (c.offset < 0) {
      return Status::InvalidArgument("group '" + group + "': offset " + std::to_string(c.offset) + " for " + Where(tp) +
                                     " is negative");
    }
    rd_kafka_topic_partition_t* e = rd_kafka_topic_partition_list_add(l.get(), tp.topic.c_str(), tp.partition);
    e->offset = c.offset;
    if (!c.metadata.empty()) {
      // The list owns and frees its elements' metadata.
      e->metadata = std::malloc(c.metadata.size());
      std::memcpy(e->metadata, c.metadata.data(), c.metadata.size());
      e->metadata_size = c.metadata.size();
    }
  }
  // One OffsetCommit request to the group coordinator: all or none.
  const std::string what = "committing offsets of group '" + group + "'";
  RETURN_NOT_OK(ToStatus(rd_kafka_commit(rk, l.get(), 0), what));
  for (int i = 0; i < l->cnt; ++i) RETURN_NOT_OK(ToStatus(l->elems[i].err, what));
  return Status::OK();
}

Result<CommittedOffset> KafkaLogImpl::Committed(const std::string& group, const TopicPartition& tp) {
  ASSIGN_OR_RAISE(rd_kafka_t * rk, GroupClient(group));
  PartitionList l(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(l.get(), tp.topic.c_str(), tp.partition);
  const std::string what = "committed offset of group '" + group + "' for " + Where(tp);
  RETURN_NOT_OK(ToStatus(rd_kafka_committed(rk, l.get(), static_cast<int>(options_.request_timeout.count())), what));
  const auto& e = l->elems[0];
  RETURN_NOT_OK(ToStatus(e.err, what));
  if (e.offset < 0) return Status::NotFound("group '" + group + "' has no committed offset for " + Where(tp));
  CommittedOffset c;
  c.offset = e.offset;
  if (e.metadata != nullptr) c.metadata.assign(static_cast<const char*>(e.metadata), e.metadata_size);
  return c;
}

Result<std::vector<std::string>> KafkaLogImpl::ListGroups() {
  auto ev = RunAdmin("listing consumer groups", RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT,
                     [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_ListConsumerGroups(admin_.get(), o, q); });
  if (!ev.ok()) return ev.status();
  const auto* res = rd_kafka_event_ListConsumerGroups_result(ev->get());
  size_t ne = 0;
  const rd_kafka_error_t** errors = rd_kafka_ListConsumerGroups_result_errors(res, &ne);
  // Any broker failing means the list is incomplete; an incomplete list is not returned as the list.
  if (ne > 0) return ToStatus(errors[0], "listing consumer groups");
  size_t n = 0;
  const rd_kafka_ConsumerGroupListing_t** groups = rd_kafka_ListConsumerGroups_result_valid(res, &n);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.emplace_back(rd_kafka_ConsumerGroupListing_group_id(groups[i]));
  std::sort(out.begin(), out.end());
  return out;
}

// Asks for the group's offsets on every partition of every topic: OffsetFetch
// for "all partitions" is not implemented by every broker (the mock cluster
// answers it with nothing), an explicit list is.
Result<GroupInfo> KafkaLogImpl::DescribeGroup(const std::string& group) {
  ASSIGN_OR_RAISE(rd_kafka_t * rk, GroupClient(group));
  const std::string what = "describing group '" + group + "'";
  const rd_kafka_metadata_t* md = nullptr;
  RETURN_NOT_OK(ToStatus(rd_kafka_metadata(admin_.get(), 1, nullptr, &md, static_cast<int>(options_.request_timeout.count())), what));
  Metadata m(md);
  PartitionList l(rd_kafka_topic_partition_list_new(1));
  for (int i = 0; i < m->topic_cnt; ++i) {
    if (std::string(m->topics[i].topic).rfind("__", 0) == 0) continue;
    for (int p = 0; p < m->topics[i].partition_cnt; ++p) rd_kafka_topic_partition_list_add(l.get(), m->topics[i].topic, p);
  }
  RETURN_NOT_OK(ToStatus(rd_kafka_committed(rk, l.get(), static_cast<int>(options_.request_timeout.count())), what));
  GroupInfo info;
  info.group = group;
  for (int j = 0; j < l->cnt; ++j) {
    const auto& e = l->elems[j];
    RETURN_NOT_OK(ToStatus(e.err, what));
    if (e.offset < 0) continue;
    GroupPartitionLag g;
    g.topic = e.topic;
    g.partition = e.partition;
    g.committed = e.offset;
    if (e.metadata != nullptr) g.metadata.assign(static_cast<const char*>(e.metadata), e.metadata_size);
    ASSIGN_OR_RAISE(auto wm, Watermarks({g.topic, g.partition}));
    g.end_offset = wm.second;
    g.lag = std::max<int64_t>(0, g.end_offset - g.committed);
    info.partitions.push_back(std::move(g));
  }
  if (info.partitions.empty()) return Status::NotFound("group '" + group + "' does not exist");
  std::sort(info.partitions.begin(), info.partitions.end(),
            [](const auto& a, const auto& b) { return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition); });
  return info;
}

}  // namespace ghostlog::log::kafka
