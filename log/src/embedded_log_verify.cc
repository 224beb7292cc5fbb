// verify(): reads everything back and checks it against the metadata.
#include "embedded_log_impl.h"
#include "keys.h"
#include "record_codec.h"

namespace ghostlog::log {

Result<VerifyReport> EmbeddedLogImpl::Verify() {
  VerifyReport report;
  std::map<std::string, TopicState> topics;
  std::map<PartKey, PartitionState> parts;
  {
    std::lock_guard l(mu_);
    topics = topics_;
    parts = parts_;
  }
  // One snapshot, so that concurrent appends cannot make the counts disagree.
  const rocksdb::Snapshot* snap = writer() ? db_->GetSnapshot() : nullptr;
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  ro.fill_cache = false;
  ro.verify_checksums = true;
  auto problem = [&](std::string s) { report.problems.push_back(std::move(s)); };
  std::map<uint32_t, std::string> by_id;
  for (const auto& [name, t] : topics) by_id[t.id] = name;

  // Records: each belongs to a known partition, sits inside its offset range,
  // passes its checksum, and holds its own offset.
  std::map<PartKey, std::pair<int64_t, int64_t>> seen;  // records, bytes
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_cf()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view k = it->key().ToStringView();
    if (k.size() != keys::kRecordKeySize) {
      problem("records: a key of " + std::to_string(k.size()) + " bytes is malformed");
      continue;
    }
    const PartKey pk{keys::KeyTopicId(k), keys::KeyPartition(k)};
    const Offset offset = keys::RecordKeyOffset(k);
    ++report.records_checked;
    auto t = by_id.find(pk.first);
    const std::string where = (t == by_id.end() ? "unknown topic id " + std::to_string(pk.first)
                                                : "topic '" + t->second + "'") +
                              " partition " + std::to_string(pk.second) + " offset " + std::to_string(offset);
    auto ps = parts.find(pk);
    if (t == by_id.end() || ps == parts.end()) {
      problem(where + ": record of no existing partition");
      continue;
    }
    if (offset < ps->second.log_start || offset >= ps->second.next_offset) {
      problem(where + ": outside the partition's range [" + std::to_string(ps->second.log_start) + ", " +
              std::to_string(ps->second.next_offset) + ")");
    }
    Offset stored = -1;
    if (Status s = CheckEnvelope(it->value().ToStringView(), &stored); !s.ok()) {
      problem(where + ": " + s.message());
    } else if (stored != offset) {
      problem(where + ": holds the record of offset " + std::to_string(stored));
    }
    auto& [n, bytes] = seen[pk];
    ++n;
    bytes += static_cast<int64_t>(it->value().size());
  }
  if (!it->status().ok()) problem("records: " + it->status().ToString());
  it.reset();

  for (const auto& [pk, ps] : parts) {
    auto t = by_id.find(pk.first);
    if (t == by_id.end()) {
      problem("partition state for unknown topic id " + std::to_string(pk.first));
      continue;
    }
    const std::string where = "topic '" + t->second + "' partition " + std::to_string(pk.second);
    const auto [n, bytes] = seen[pk];
    if (n != ps.records || bytes != ps.bytes) {
      problem(where + ": holds " + std::to_string(n) + " records / " + std::to_string(bytes) + " bytes, state says " +
              std::to_string(ps.records) + " / " + std::to_string(ps.bytes));
    }
    if (ps.log_start > ps.next_offset) problem(where + ": log start is past the end");
  }

  // Time index: keys and offsets both increase within a partition.
  std::unique_ptr<rocksdb::Iterator> ti(db_->NewIterator(ro, time_cf()));
  PartKey prev_pk{UINT32_MAX, -1};
  Offset prev_offset = -1;
  for (ti->SeekToFirst(); ti->Valid(); ti->Next()) {
    const std::string_view k = ti->key().ToStringView();
    if (k.size() != keys::kRecordKeySize || ti->value().size() != 8) {
      problem("time index: malformed entry");
      continue;
    }
    const PartKey pk{keys::KeyTopicId(k), keys::KeyPartition(k)};
    const Offset o = keys::DecodeOffset(ti->value().ToStringView());
    auto ps = parts.find(pk);
    if (ps == parts.end()) {
      problem("time index: entry for unknown partition (topic id " + std::to_string(pk.first) + ")");
    } else if (o >= ps->second.next_offset) {
      problem("time index: entry points past the end of topic id " + std::to_string(pk.first));
    }
    if (pk == prev_pk && o <= prev_offset) problem("time index: offsets decrease");
    prev_pk = pk;
    prev_offset = o;
  }
  if (!ti->status().ok()) problem("time index: " + ti->status().ToString());
  ti.reset();
  if (snap != nullptr) db_->ReleaseSnapshot(snap);
  return report;
}

}  // namespace ghostlog::log
