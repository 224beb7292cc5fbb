// Compaction and retention.
//
// Retention removes a prefix of a partition: one DeleteRange over the records
// and the time index, and the log start moves up. Readers seek straight to
// the log start, so they never walk over what was removed (the classic
// queue-on-RocksDB trap is a reader iterating across point tombstones).
//
// Compaction keeps at least the latest record of every key. It only looks at
// records older than min.compaction.lag.ms (the "cleanable" prefix), removes
// records superseded by a later record of the same key in that prefix, and
// removes tombstones older than delete.retention.ms. Offsets never change; the
// removed ones become gaps that readers skip.
#include <rocksdb/convenience.h>
#include <spdlog/spdlog.h>

#include <unordered_map>

#include "embedded_log_impl.h"
#include "keys.h"
#include "record_codec.h"

namespace ghostlog::log {

namespace {
constexpr size_t kDeletesPerBatch = 10000;

void Add(CleanupStats* total, const CleanupStats& s) {
  total->records_removed += s.records_removed;
  total->bytes_reclaimed += s.bytes_reclaimed;
  total->tombstones_removed += s.tombstones_removed;
  total->partitions_cleaned += s.partitions_cleaned;
}
}  // namespace

Result<CleanupStats> EmbeddedLogImpl::DeleteRecordsBefore(const TopicPartition& tp, Offset offset) {
  RETURN_NOT_OK(RequireWriter("deleting records"));
  std::lock_guard cleanup(cleanup_mu_);
  ASSIGN_OR_RAISE(PartView v, View(tp));
  if (offset < v.state.log_start || offset > v.state.next_offset) {
    return Status::OutOfRange("offset " + std::to_string(offset) + " is out of range [" +
                              std::to_string(v.state.log_start) + ", " + std::to_string(v.state.next_offset) +
                              "] for topic '" + tp.topic + "' partition " + std::to_string(tp.partition));
  }
  return RemovePrefix(tp, v.tid, offset);
}

// Caller holds cleanup_mu_, so the prefix below new_start cannot change under
// us: appends only add offsets at the end.
Result<CleanupStats> EmbeddedLogImpl::RemovePrefix(const TopicPartition& tp, uint32_t tid, Offset new_start) {
  ASSIGN_OR_RAISE(PartView v, View(tp));
  CleanupStats stats;
  if (v.tid != tid || new_start <= v.state.log_start) return stats;
  const std::string begin = keys::RecordKey(tid, tp.partition, v.state.log_start);
  const std::string end = keys::RecordKey(tid, tp.partition, new_start);
  {
    // Count what goes, for the partition's accounting.
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_cf()));
    for (it->Seek(begin); it->Valid(); it->Next()) {
      ++stats.records_removed;
      stats.bytes_reclaimed += static_cast<int64_t>(it->value().size());
    }
    RETURN_NOT_OK(ToStatus(it->status(), "scanning records to remove"));
  }
  // Time index entries that only describe removed records. The last entry
  // below new_start stays: it carries the running maximum for the records
  // from new_start up to the next entry.
  std::string time_begin = keys::PartitionPrefix(tid, tp.partition), time_end = time_begin;
  {
    const std::string upper_key = keys::PartitionPrefix(tid, tp.partition + 1);
    rocksdb::Slice upper(upper_key);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, time_cf()));
    for (it->Seek(time_begin); it->Valid(); it->Next()) {
      if (keys::DecodeOffset(it->value().ToStringView()) >= new_start) break;
      time_end = it->key().ToString();
    }
    RETURN_NOT_OK(ToStatus(it->status(), "scanning the time index"));
  }
  stats.partitions_cleaned = 1;
  RETURN_NOT_OK(Submit(
      [&](WriteContext& ctx) -> Status {
        const TopicState* t = ctx.Topic(tp.topic);
        if (t == nullptr || t->id != tid) return Status::NotFound("topic '" + tp.topic + "' was deleted");
        PartitionState& ps = ctx.Part(tid, tp.partition);
        ctx.batch.DeleteRange(records_cf(), begin, end);
        if (time_end != time_begin) ctx.batch.DeleteRange(time_cf(), time_begin, time_end);
        ps.log_start = new_start;
        ps.records -= stats.records_removed;
        ps.bytes -= stats.bytes_reclaimed;
        return Status::OK();
      },
      Durability::kPolicy));
  // Whole SST files inside the removed range can go at once, without waiting
  // for RocksDB's compaction to reach them.
  rocksdb::Slice b(begin), e(end);
  rocksdb::DeleteFilesInRange(db_.get(), records_cf(), &b, &e, /*include_end=*/false).PermitUncheckedError();
  return stats;
}

Result<CleanupStats> EmbeddedLogImpl::CompactPartition(const PartView& v, PartitionId p) {
  const Timestamp now = Now();
  const Timestamp tombstone_horizon = now - v.config.delete_retention_ms;
  // Records with timestamp > now - lag are too young to touch; they and
  // everything after them stay.
  ASSIGN_OR_RAISE(Offset cleanable_end, TimeIndexLookup(v, now - v.config.min_compaction_lag_ms + 1));

  struct Latest {
    Offset offset;
    int64_t size;
    bool tombstone;
    Timestamp ts;
  };
  std::unordered_map<std::string, Latest> latest;
  std::vector<std::pair<Offset, int64_t>> doomed;  // superseded records
  const std::string upper_key = keys::RecordKey(v.tid, p, cleanable_end);
  rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_cf()));
  for (it->Seek(keys::RecordKey(v.tid, p, v.state.log_start)); it->Valid(); it->Next()) {
    const Offset offset = keys::RecordKeyOffset(it->key().ToStringView());
    std::string_view key;
    bool tombstone = false;
    Timestamp ts = 0;
    RETURN_NOT_OK(PeekKey(it->value().ToStringView(), &key, &tombstone, &ts)
                      .WithContext("compacting partition " + std::to_string(p) + " offset " + std::to_string(offset)));
    Latest now_latest{offset, static_cast<int64_t>(it->value().size()), tombstone, ts};
    auto [slot, inserted] = latest.try_emplace(std::string(key), now_latest);
    if (!inserted) {
      doomed.emplace_back(slot->second.offset, slot->second.size);
      slot->second = now_latest;
    }
  }
  RETURN_NOT_OK(ToStatus(it->status(), "compacting"));
  int64_t tombstones = 0;
  std::vector<std::pair<std::string, Offset>> expired;  // key index entries to drop with them
  for (const auto& [key, l] : latest) {
    if (l.tombstone && l.ts <= tombstone_horizon) {
      doomed.emplace_back(l.offset, l.size);
      expired.emplace_back(key, l.offset);
      ++tombstones;
    }
  }
  CleanupStats stats;
  if (doomed.empty()) return stats;
  std::sort(doomed.begin(), doomed.end());
  stats.partitions_cleaned = 1;
  stats.tombstones_removed = tombstones;
  for (size_t i = 0; i < doomed.size(); i += kDeletesPerBatch) {
    const size_t n = std::min(kDeletesPerBatch, doomed.size() - i);
    int64_t bytes = 0;
    for (size_t j = i; j < i + n; ++j) bytes += doomed[j].second;
    RETURN_NOT_OK(Submit(
        [&](WriteContext& ctx) -> Status {
          if (ctx.log->LivePart(v.tid, p) == nullptr) return Status::NotFound("topic was deleted");
          PartitionState& ps = ctx.Part(v.tid, p);
          for (size_t j = i; j < i + n; ++j) {
            ctx.batch.Delete(records_cf(), keys::RecordKey(v.tid, p, doomed[j].first));
          }
          // An expired tombstone was its key's latest record, so its key index
          // entry goes too, unless it has moved on to a newer record. Appends
          // staged earlier in this same group are not visible to Get, so with
          // any in the group the entries are left (ReadLatest copes with them).
          const bool appends_in_group = ps.next_offset != ctx.log->LivePart(v.tid, p)->next_offset;
          ps.records -= static_cast<int64_t>(n);
          ps.bytes -= bytes;
          if (i == 0 && !appends_in_group) {
            for (const auto& [key, offset] : expired) {
              std::string cur;
              const std::string ik = keys::KeyIndexKey(v.tid, p, key);
              if (db_->Get(rocksdb::ReadOptions(), keyindex_cf(), ik, &cur).ok() && keys::DecodeOffset(cur) == offset) {
                ctx.batch.Delete(keyindex_cf(), ik);
              }
            }
          }
          return Status::OK();
        },
        Durability::kPolicy));
    stats.records_removed += static_cast<int64_t>(n);
    stats.bytes_reclaimed += bytes;
  }
  return stats;
}

// First offset to keep so that the partition holds at most retention.bytes.
Result<Offset> EmbeddedLogImpl::SizeRetentionStart(const PartView& v, int64_t retention_bytes) {
  int64_t excess = v.state.bytes - retention_bytes;
  if (excess <= 0) return v.state.log_start;
  const std::string upper_key = keys::RecordKey(v.tid, v.partition, v.state.next_offset);
  rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_cf()));
  for (it->Seek(keys::RecordKey(v.tid, v.partition, v.state.log_start)); it->Valid(); it->Next()) {
    excess -= static_cast<int64_t>(it->value().size());
    if (excess <= 0) return keys::RecordKeyOffset(it->key().ToStringView()) + 1;
  }
  RETURN_NOT_OK(ToStatus(it->status(), "retention scan"));
  return v.state.next_offset;
}

Result<CleanupStats> EmbeddedLogImpl::ForEachPartition(const std::optional<std::string>& topic, bool compact,
                                                       std::vector<uint32_t>* cleaned) {
  RETURN_NOT_OK(RequireWriter(compact ? "compaction" : "retention"));
  std::vector<std::string> names;
  if (topic) {
    ASSIGN_OR_RAISE(TopicInfo info, DescribeTopic(*topic));  // NotFound names the topic
    names.push_back(*topic);
  } else {
    ASSIGN_OR_RAISE(names, ListTopics());
  }
  std::lock_guard cleanup(cleanup_mu_);
  CleanupStats total;
  for (const std::string& name : names) {
    auto info = DescribeTopic(name);
    if (!info.ok()) continue;  // deleted meanwhile
    const TopicConfig& c = info->config;
    if (compact ? !c.cleanup_compact : !c.cleanup_delete) continue;
    for (PartitionId p = 0; p < info->partitions; ++p) {
      const TopicPartition tp{name, p};
      auto v = View(tp);
      if (!v.ok()) break;
      CleanupStats s;
      if (compact) {
        ASSIGN_OR_RAISE(s, CompactPartition(*v, p));
      } else {
        Offset new_start = v->state.log_start;
        if (c.retention_ms >= 0) {
          ASSIGN_OR_RAISE(new_start, TimeIndexLookup(*v, Now() - c.retention_ms));
        }
        if (c.retention_bytes >= 0) {
          ASSIGN_OR_RAISE(Offset by_size, SizeRetentionStart(*v, c.retention_bytes));
          new_start = std::max(new_start, by_size);
        }
        ASSIGN_OR_RAISE(s, RemovePrefix(tp, v->tid, new_start));
      }
      Add(&total, s);
      if (cleaned && s.records_removed > 0 && (cleaned->empty() || cleaned->back() != v->tid)) {
        cleaned->push_back(v->tid);
      }
    }
  }
  return total;
}

// On demand, the space comes back before the call returns: the files holding
// the removed records are rewritten now. (In the background, RocksDB's own
// compactions reach them; sooner for files full of deletions, see
// RecordsOptions.)
Result<CleanupStats> EmbeddedLogImpl::Compact(const std::optional<std::string>& topic) {
  std::vector<uint32_t> cleaned;
  ASSIGN_OR_RAISE(CleanupStats total, ForEachPartition(topic, /*compact=*/true, &cleaned));
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (uint32_t tid : cleaned) {
    const std::string begin = keys::TopicBegin(tid), end = keys::TopicBegin(tid + 1);
    rocksdb::Slice b(begin), e(end);
    for (auto* cf : {records_cf(), keyindex_cf()}) {
      RETURN_NOT_OK(ToStatus(db_->CompactRange(o, cf, &b, &e), "rewriting the compacted topic's files"));
    }
  }
  return total;
}

Result<CleanupStats> EmbeddedLogImpl::ApplyRetention(const std::optional<std::string>& topic) {
  return ForEachPartition(topic, /*compact=*/false);
}

void EmbeddedLogImpl::BackgroundLoop() {
  std::unique_lock l(mu_);
  while (!stopping_) {
    threads_cv_.wait_for(l, opts_.cleanup_interval, [this] { return stopping_; });
    if (stopping_ || !fatal_.ok()) break;
    l.unlock();
    for (bool compact : {false, true}) {
      auto s = ForEachPartition(std::nullopt, compact);
      if (!s.ok()) {
        spdlog::warn("background {} failed: {}", compact ? "compaction" : "retention", s.status().ToString());
      } else if (s->records_removed > 0) {
        spdlog::info("background {} removed {} records ({} bytes)", compact ? "compaction" : "retention",
                     s->records_removed, s->bytes_reclaimed);
      }
    }
    l.lock();
  }
}

}  // namespace ghostlog::log
