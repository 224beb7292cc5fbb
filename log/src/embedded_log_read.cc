// The read path: records by offset, follow, timestamp lookup, describe, groups.
#include <nlohmann/json.hpp>

#include "embedded_log_impl.h"
#include "keys.h"
#include "record_codec.h"

namespace ghostlog::log {

namespace {
std::string Where(const TopicPartition& tp) {
  return "topic '" + tp.topic + "' partition " + std::to_string(tp.partition);
}
}  // namespace

Result<EmbeddedLogImpl::PartView> EmbeddedLogImpl::View(const TopicPartition& tp) const {
  std::lock_guard l(mu_);
  auto t = topics_.find(tp.topic);
  if (t == topics_.end()) return Status::NotFound("topic '" + tp.topic + "' does not exist");
  if (tp.partition < 0 || tp.partition >= t->second.partitions) {
    return Status::NotFound("topic '" + tp.topic + "' has " + std::to_string(t->second.partitions) +
                            " partition(s); partition " + std::to_string(tp.partition) + " does not exist");
  }
  auto p = parts_.find({t->second.id, tp.partition});
  if (p == parts_.end()) return Status::Corruption(Where(tp) + " has no state");
  return PartView{t->second.id, tp.partition, t->second.config, p->second};
}

Result<std::vector<Record>> EmbeddedLogImpl::Read(const TopicPartition& tp, Offset from, ReadLimits limits) {
  ASSIGN_OR_RAISE(PartView v, View(tp));
  const Offset start = v.state.log_start, end = v.state.next_offset;
  if (from < start || from > end) {
    return Status::OutOfRange("offset " + std::to_string(from) + " is out of range [" + std::to_string(start) +
                              ", " + std::to_string(end) + "] for " + Where(tp));
  }
  std::vector<Record> out;
  if (from == end) return out;
  // The upper bound stops the iterator at the published end: records of a
  // batch still being written are never seen, and RocksDB need not look past it.
  const std::string upper = keys::RecordKey(v.tid, tp.partition, end);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_cf()));
  int64_t bytes = 0;
  for (it->Seek(keys::RecordKey(v.tid, tp.partition, from)); it->Valid(); it->Next()) {
    const Offset key_offset = keys::RecordKeyOffset(it->key().ToStringView());
    auto r = DecodeRecord(it->value().ToStringView());
    if (!r.ok()) return r.status().WithContext(Where(tp) + " offset " + std::to_string(key_offset));
    if (r->offset != key_offset) {
      return Status::Corruption(Where(tp) + " offset " + std::to_string(key_offset) + " holds the record of offset " +
                                std::to_string(r->offset));
    }
    bytes += static_cast<int64_t>(it->value().size());
    out.push_back(std::move(r).value());
    if (static_cast<int64_t>(out.size()) >= limits.max_records || bytes >= limits.max_bytes) break;
  }
  RETURN_NOT_OK(ToStatus(it->status(), "reading " + Where(tp)));
  return out;
}

Result<Offset> EmbeddedLogImpl::WaitForData(const TopicPartition& tp, Offset from, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!writer()) {
    // Another process writes: catch up, then sleep on inotify until the WAL changes.
    for (;;) {
      RETURN_NOT_OK(Refresh());
      ASSIGN_OR_RAISE(PartView v, View(tp));
      const auto now = std::chrono::steady_clock::now();
      if (v.state.next_offset > from || now >= deadline) return v.state.next_offset;
      // The cap guards against a missed event (e.g. a WAL switch); it is not the wake-up path.
      auto wait = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                           std::chrono::milliseconds(500));
      RETURN_NOT_OK(WaitForChange(wait));
    }
  }
  std::unique_lock l(mu_);
  Result<Offset> result = Status::Aborted("changelog is closing");
  data_cv_.wait_until(l, deadline, [&] {
    if (stopping_) return true;
    if (!fatal_.ok()) {
      result = fatal_;
      return true;
    }
    auto t = topics_.find(tp.topic);
    if (t == topics_.end() || tp.partition < 0 || tp.partition >= t->second.partitions) {
      result = Status::NotFound("topic '" + tp.topic + "' partition " + std::to_string(tp.partition) +
                                " does not exist");
      return true;
    }
    const Offset end = parts_.at({t->second.id, tp.partition}).next_offset;
    result = end;
    return end > from;
  });
  return result;
}

Result<std::optional<Record>> EmbeddedLogImpl::ReadLatest(const TopicPartition& tp, const std::string& key) {
  ASSIGN_OR_RAISE(PartView v, View(tp));
  if (!v.config.cleanup_compact) {
    return Status::NotSupported("topic '" + tp.topic + "' is not compacted; only compacted topics index keys");
  }
  std::string offset;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), keyindex_cf(), keys::KeyIndexKey(v.tid, tp.partition, key), &offset);
  if (s.IsNotFound()) return std::optional<Record>();
  RETURN_NOT_OK(ToStatus(s, "reading the key index of " + Where(tp)));
  const Offset at = keys::DecodeOffset(offset);
  if (at < v.state.log_start || at >= v.state.next_offset) return std::optional<Record>();  // removed by retention
  std::string value;
  s = db_->Get(rocksdb::ReadOptions(), records_cf(), keys::RecordKey(v.tid, tp.partition, at), &value);
  if (s.IsNotFound()) return std::optional<Record>();  // an expired tombstone compacted away
  RETURN_NOT_OK(ToStatus(s, "reading " + Where(tp)));
  auto r = DecodeRecord(value);
  if (!r.ok()) return r.status().WithContext(Where(tp) + " offset " + std::to_string(at));
  return std::optional<Record>(std::move(r).value());
}

Result<std::vector<Record>> EmbeddedLogImpl::ReadLatestByPrefix(const TopicPartition& tp, const std::string& prefix,
                                                                const std::string& start_after, size_t max) {
  ASSIGN_OR_RAISE(PartView v, View(tp));
  if (!v.config.cleanup_compact) {
    return Status::NotSupported("topic '" + tp.topic + "' is not compacted; only compacted topics index keys");
  }
  const std::string base = keys::KeyIndexKey(v.tid, tp.partition, prefix);
  std::string seek = base;
  if (!start_after.empty() && start_after > prefix) {
    seek = keys::KeyIndexKey(v.tid, tp.partition, start_after);
    seek.push_back('\0');  // the first key after start_after
  }
  std::vector<Record> out;
  // Bounded to the prefix: table files and blocks past it are not read (most
  // scans find nothing: a row nobody looks up).
  const std::string end = keys::PrefixEnd(base);
  const rocksdb::Slice end_slice(end);
  rocksdb::ReadOptions ro;
  if (!end.empty()) ro.iterate_upper_bound = &end_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, keyindex_cf()));
  for (it->Seek(seek); it->Valid() && out.size() < max; it->Next()) {
    const rocksdb::Slice k = it->key();
    if (!k.starts_with(base)) break;
    const Offset at = keys::DecodeOffset(it->value().ToStringView());
    if (at < v.state.log_start || at >= v.state.next_offset) continue;  // removed by retention, or not yet visible
    std::string value;
    rocksdb::Status s = db_->Get(ro, records_cf(), keys::RecordKey(v.tid, tp.partition, at), &value);
    if (s.IsNotFound()) continue;  // an expired tombstone compacted away
    RETURN_NOT_OK(ToStatus(s, "reading " + Where(tp)));
    auto r = DecodeRecord(value);
    if (!r.ok()) return r.status().WithContext(Where(tp) + " offset " + std::to_string(at));
    if (!r->value) continue;  // the key's latest record is a tombstone
    out.push_back(std::move(r).value());
  }
  RETURN_NOT_OK(ToStatus(it->status(), "reading the key index of " + Where(tp)));
  return out;
}

Result<Offset> EmbeddedLogImpl::TimeIndexLookup(const PartView& v, Timestamp ts) {
  // Entries exist where the running maximum timestamp grows, so every record
  // before the first entry with max >= ts is older than ts. From there (or
  // the log start) the first surviving record with timestamp >= ts is the
  // answer: usually the entry's own record, but it may have been removed, and
  // out-of-order timestamps may put older records after it.
  const std::string upper = keys::PartitionPrefix(v.tid, v.partition + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  Offset from = v.state.next_offset;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, time_cf()));
    it->Seek(keys::TimeKey(v.tid, v.partition, std::max<Timestamp>(ts, 0)));
    if (it->Valid()) from = keys::DecodeOffset(it->value().ToStringView());
    RETURN_NOT_OK(ToStatus(it->status(), "reading the time index"));
  }
  from = std::max(from, v.state.log_start);
  if (from >= v.state.next_offset) return v.state.next_offset;
  const std::string end_key = keys::RecordKey(v.tid, v.partition, v.state.next_offset);
  rocksdb::Slice end_slice(end_key);
  rocksdb::ReadOptions rr;
  rr.iterate_upper_bound = &end_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rr, records_cf()));
  for (it->Seek(keys::RecordKey(v.tid, v.partition, from)); it->Valid(); it->Next()) {
    std::string_view key;
    bool tombstone = false;
    Timestamp record_ts = 0;
    RETURN_NOT_OK(PeekKey(it->value().ToStringView(), &key, &tombstone, &record_ts));
    if (record_ts >= ts) return keys::RecordKeyOffset(it->key().ToStringView());
  }
  RETURN_NOT_OK(ToStatus(it->status(), "reading records by timestamp"));
  return v.state.next_offset;
}

Result<Offset> EmbeddedLogImpl::OffsetForTimestamp(const TopicPartition& tp, Timestamp ts) {
  ASSIGN_OR_RAISE(PartView v, View(tp));
  return TimeIndexLookup(v, ts);
}

Result<PartitionInfo> EmbeddedLogImpl::DescribePartition(const TopicPartition& tp) {
  ASSIGN_OR_RAISE(PartView v, View(tp));
  return PartitionInfo{tp.partition, v.state.log_start, v.state.next_offset, v.state.records, v.state.bytes};
}

Result<std::vector<std::string>> EmbeddedLogImpl::ListTopics() {
  std::lock_guard l(mu_);
  std::vector<std::string> names;
  for (const auto& [name, t] : topics_) names.push_back(name);
  return names;
}

Result<TopicInfo> EmbeddedLogImpl::DescribeTopic(const std::string& topic) {
  std::lock_guard l(mu_);
  auto t = topics_.find(topic);
  if (t == topics_.end()) return Status::NotFound("topic '" + topic + "' does not exist");
  TopicInfo info{topic, t->second.partitions, t->second.config, {}};
  for (PartitionId p = 0; p < t->second.partitions; ++p) {
    const PartitionState& s = parts_.at({t->second.id, p});
    info.partition_info.push_back({p, s.log_start, s.next_offset, s.records, s.bytes});
  }
  return info;
}

Result<int32_t> EmbeddedLogImpl::PartitionCount(const std::string& topic) {
  std::lock_guard l(mu_);
  auto t = topics_.find(topic);
  if (t == topics_.end()) return Status::NotFound("topic '" + topic + "' does not exist");
  return t->second.partitions;
}

// --- consumer groups --------------------------------------------------------

namespace {
Result<CommittedOffset> ParseCommitted(std::string_view v) {
  auto j = nlohmann::json::parse(v, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("committed offset is not JSON");
  try {
    return CommittedOffset{j.at("offset").get<Offset>(), j.value("metadata", ""), j.value("ts", Timestamp{0})};
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("committed offset: ") + e.what());
  }
}
}  // namespace

Result<CommittedOffset> EmbeddedLogImpl::Committed(const std::string& group, const TopicPartition& tp) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf(), keys::GroupKey(group, tp.topic, tp.partition), &v);
  if (s.IsNotFound()) {
    return Status::NotFound("group '" + group + "' has no committed offset for " + Where(tp));
  }
  RETURN_NOT_OK(ToStatus(s, "reading group '" + group + "'"));
  return ParseCommitted(v);
}

Result<std::vector<std::string>> EmbeddedLogImpl::ListGroups() {
  std::vector<std::string> groups;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf()));
  for (it->Seek("G"); it->Valid() && it->key().starts_with("G"); it->Next()) {
    std::string g, t;
    PartitionId p;
    if (!keys::ParseGroupKey(it->key().ToStringView(), &g, &t, &p)) continue;
    if (groups.empty() || groups.back() != g) groups.push_back(g);
  }
  RETURN_NOT_OK(ToStatus(it->status(), "listing groups"));
  return groups;
}

Result<GroupInfo> EmbeddedLogImpl::DescribeGroup(const std::string& group) {
  GroupInfo info{group, {}};
  const std::string prefix = keys::GroupPrefix(group);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string g, t;
    PartitionId p;
    if (!keys::ParseGroupKey(it->key().ToStringView(), &g, &t, &p)) continue;
    ASSIGN_OR_RAISE(CommittedOffset c, ParseCommitted(it->value().ToStringView()));
    GroupPartitionLag lag{t, p, c.offset, 0, 0, c.metadata};
    if (auto part = DescribePartition({t, p}); part.ok()) {
      lag.end_offset = part->end_offset;
      lag.lag = std::max<int64_t>(0, lag.end_offset - c.offset);
    }
    info.partitions.push_back(std::move(lag));
  }
  RETURN_NOT_OK(ToStatus(it->status(), "reading group '" + group + "'"));
  if (info.partitions.empty()) return Status::NotFound("group '" + group + "' does not exist");
  return info;
}

}  // namespace ghostlog::log
