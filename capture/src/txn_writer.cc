#include "txn_writer.h"

#include <nlohmann/json.hpp>

namespace ghostlog::capture {

Status TxnWriter::EnsureTopic(const std::string& topic, const log::TopicConfig& config) {
  if (known_.count(topic)) return Status::OK();
  auto info = log_.DescribePartition({topic, 0});
  if (info.status().IsNotFound()) {
    Status s = log_.CreateTopic(topic, 1, config);
    if (!s.ok() && s.code() != Status::Code::kAlreadyExists) return s;
    info = log_.DescribePartition({topic, 0});
  }
  if (!info.ok()) return info.status();
  known_.insert(topic);
  return Status::OK();
}

void TxnWriter::Begin(std::string id, uint32_t xid, pgoutput::Lsn lsn, int64_t ts_ms, std::string status) {
  Discard();
  active_ = true;
  id_ = std::move(id);
  xid_ = xid;
  lsn_ = lsn;
  ts_ms_ = ts_ms;
  status_ = std::move(status);
}

void TxnWriter::Discard() {
  active_ = false;
  events_ = 0;
  buffered_bytes_ = 0;
  order_.clear();
  buf_.clear();
  for (auto& [topic, index] : key_index_) index.buf.clear();
  ranges_.clear();
  collections_.clear();
}

Status TxnWriter::Add(const std::string& topic, const std::string& data_collection, log::RecordIn r, Checkpoint& cp) {
  auto [it, fresh] = buf_.try_emplace(topic);
  if (fresh && !ranges_.count(topic)) order_.push_back(topic);
  buffered_bytes_ += static_cast<int64_t>(r.key.size() + (r.value ? r.value->size() : 0) + 32);
  it->second.push_back(std::move(r));
  if (auto ix = key_index_.find(topic); ix != key_index_.end())
    ix->second.buf[it->second.back().key] = it->second.size() - 1;
  if (!data_collection.empty()) {
    auto& [name, count] = collections_[topic];
    name = data_collection;
    ++count;
    ++events_;
  }
  if (buffered_bytes_ >= max_bytes_) return Flush(cp, /*final=*/false);
  return Status::OK();
}

nlohmann::json TxnWriter::TxnHeader(const std::string& status) const {
  nlohmann::json collections = nlohmann::json::array();
  for (const auto& [topic, c] : collections_) {
    collections.push_back({{"data_collection", c.first}, {"event_count", c.second}});
  }
  return {{"status", status},
          {"id", id_},
          {"txId", xid_},
          {"lsn", pgoutput::FormatLsn(lsn_)},
          {"ts_ms", ts_ms_},
          {"event_count", events_},
          {"data_collections", collections}};
}

nlohmann::json TxnWriter::RangesJson(const std::vector<std::pair<std::string, Range>>& ranges) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [topic, r] : ranges) {
    out.push_back({{"topic", topic}, {"partition", 0}, {"first", r.first}, {"last", r.last}});
  }
  return out;
}

log::RecordIn TxnWriter::TxnRecord(const std::string& status) const {
  std::vector<std::pair<std::string, Range>> ranges;
  for (const auto& topic : order_) {
    auto r = ranges_.find(topic);
    if (r != ranges_.end() && r->second.first >= 0) ranges.emplace_back(topic, r->second);
  }
  nlohmann::json v = TxnHeader(status);
  v["ranges"] = RangesJson(ranges);
  return {id_, v.dump(), {}, log::kNoTimestamp};
}

Status TxnWriter::CommitDeferred(Checkpoint& cp) {
  // A transaction already partly written (it outgrew max_bytes) ends the normal way.
  if (!ranges_.empty()) {
    RETURN_NOT_OK(FlushPending());
    return Commit(cp);
  }
  const bool ours = events_ > 0 || !buf_.empty() || status_ != "END";
  PendingTxn txn;
  for (const auto& topic : order_) {
    auto it = buf_.find(topic);
    if (it == buf_.end() || it->second.empty()) continue;
    auto [pb, fresh] = pend_buf_.try_emplace(topic);
    if (fresh) pend_order_.push_back(topic);
    // This transaction's records follow the pending ones in the same batch;
    // their offsets are known only in the write (FlushPending).
    const size_t first = pb->second.size();
    txn.records.push_back({topic, {first, first + it->second.size() - 1}});
    for (auto& r : it->second) pb->second.push_back(std::move(r));
    if (auto ix = key_index_.find(topic); ix != key_index_.end()) {
      for (const auto& [key, i] : ix->second.buf) ix->second.pend[key] = first + i;
    }
  }
  if (ours) {
    txn.key = id_;
    txn.header = TxnHeader(status_);
    pend_txns_.push_back(std::move(txn));
  }
  cp.inflight.clear();
  cp.inflight_xid = 0;
  pend_checkpoint_ = cp.Encode();
  pend_lsn_ = cp.lsn;
  ++pending_txns_;
  pending_bytes_ += buffered_bytes_;
  Discard();
  return Status::OK();
}

Status TxnWriter::FlushPending() {
  if (pending_txns_ == 0) return Status::OK();
  log::AtomicWrite w;
  std::map<std::string, size_t> batch_of;  // topic -> index in w.batches
  for (const auto& topic : pend_order_) {
    batch_of[topic] = w.batches.size();
    w.batches.push_back({{topic, 0}, std::move(pend_buf_[topic])});
  }
  std::vector<PendingTxn> txns = std::move(pend_txns_);
  // Each transaction record lists the offsets its records got in this write.
  w.finish = [&](const std::vector<std::vector<log::Offset>>& offsets, log::WriteTail* tail) -> Status {
    if (txns.empty()) return Status::OK();
    std::vector<log::RecordIn>& records = tail->batches.emplace_back(log::PartitionBatch{{txn_topic_, 0}, {}}).records;
    for (PendingTxn& t : txns) {
      std::vector<std::pair<std::string, Range>> ranges;
      for (const auto& [topic, index] : t.records) {
        const std::vector<log::Offset>& o = offsets[batch_of.at(topic)];
        ranges.emplace_back(topic, Range{o[index.first], o[index.second]});
      }
      t.header["ranges"] = RangesJson(ranges);
      records.push_back({std::move(t.key), t.header.dump(), {}, log::kNoTimestamp});
    }
    return Status::OK();
  };
  w.checkpoints[checkpoint_name_] = pend_checkpoint_;
  w.durability = log::Durability::kSync;  // confirmed to the server next
  pend_order_.clear();
  pend_buf_.clear();
  for (auto& [topic, index] : key_index_) index.pend.clear();
  pend_txns_.clear();
  pending_txns_ = 0;
  pending_bytes_ = 0;
  RETURN_NOT_OK(log_.Write(std::move(w)).status());
  durable_lsn_ = pend_lsn_;
  return Status::OK();
}

Status TxnWriter::Flush(Checkpoint& cp, bool final) {
  RETURN_NOT_OK(FlushPending());
  log::AtomicWrite w;
  std::vector<std::string> topics;  // of w.batches
  for (const auto& topic : order_) {
    auto it = buf_.find(topic);
    if (it == buf_.end() || it->second.empty()) continue;
    topics.push_back(topic);
    w.batches.push_back({{topic, 0}, std::move(it->second)});
  }
  buf_.clear();
  for (auto& [topic, index] : key_index_) index.buf.clear();
  buffered_bytes_ = 0;
  // Nothing of ours in this transaction: only the checkpoint moves.
  const bool record = final && (events_ > 0 || !w.batches.empty() || status_ != "END");
  // The ranges, the transaction record and the checkpoint (whose in-flight
  // ranges a restart aborts) name the offsets this very write gives.
  w.finish = [&](const std::vector<std::vector<log::Offset>>& offsets, log::WriteTail* tail) -> Status {
    for (size_t i = 0; i < topics.size(); ++i) {
      Range& range = ranges_[topics[i]];
      if (range.first < 0) range.first = offsets[i].front();
      range.last = offsets[i].back();
    }
    cp.inflight.clear();
    cp.inflight_xid = final ? 0 : xid_;
    if (record) tail->batches.push_back({{txn_topic_, 0}, {TxnRecord(status_)}});
    if (!final) {
      for (const auto& [topic, r] : ranges_) cp.inflight.push_back({topic, r.first, r.last});
    }
    tail->checkpoints[checkpoint_name_] = cp.Encode();
    return Status::OK();
  };
  // The caller confirms this position to PostgreSQL next: it must be on disk.
  w.durability = log::Durability::kSync;
  RETURN_NOT_OK(log_.Write(std::move(w)).status());
  if (final) durable_lsn_ = cp.lsn;
  return Status::OK();
}

const log::RecordIn* TxnWriter::Buffered(const std::string& topic, const std::string& key) {
  auto [ix, fresh] = key_index_.try_emplace(topic);
  KeyIndex& index = ix->second;
  if (fresh) {  // later records overwrite earlier ones: the latest wins
    if (auto b = buf_.find(topic); b != buf_.end()) {
      for (size_t i = 0; i < b->second.size(); ++i) index.buf[b->second[i].key] = i;
    }
    if (auto p = pend_buf_.find(topic); p != pend_buf_.end()) {
      for (size_t i = 0; i < p->second.size(); ++i) index.pend[p->second[i].key] = i;
    }
  }
  if (auto k = index.buf.find(key); k != index.buf.end()) return &buf_.at(topic)[k->second];
  if (auto k = index.pend.find(key); k != index.pend.end()) return &pend_buf_.at(topic)[k->second];
  return nullptr;
}

Status TxnWriter::Commit(Checkpoint& cp) {
  Status s = Flush(cp, /*final=*/true);
  Discard();
  return s;
}

Status TxnWriter::AbortInflight(Checkpoint& cp) {
  if (cp.inflight.empty()) return Status::OK();
  RETURN_NOT_OK(FlushPending());
  nlohmann::json ranges = nlohmann::json::array();
  for (const auto& r : cp.inflight)
    ranges.push_back({{"topic", r.topic}, {"partition", 0}, {"first", r.first}, {"last", r.last}});
  log::RecordIn txn;
  txn.key = "aborted:" + std::to_string(cp.inflight_xid);
  txn.value = nlohmann::json{{"status", "ABORTED"}, {"txId", cp.inflight_xid}, {"ranges", ranges}}.dump();
  cp.inflight.clear();
  cp.inflight_xid = 0;
  return WriteMarker(std::move(txn), cp);
}

Status TxnWriter::WriteMarker(log::RecordIn txn, const Checkpoint& cp) {
  log::AtomicWrite w;
  w.batches.push_back({{txn_topic_, 0}, {std::move(txn)}});
  w.checkpoints[checkpoint_name_] = cp.Encode();
  w.durability = log::Durability::kSync;
  return log_.Write(std::move(w)).status();
}

Status TxnWriter::WriteSnapshotDone(const Checkpoint& cp, int64_t rows) {
  RETURN_NOT_OK(FlushPending());
  log::RecordIn txn;
  txn.key = "snapshot:done";
  const pgoutput::Lsn point = cp.snapshot ? cp.snapshot->consistent_point : cp.lsn;
  txn.value = nlohmann::json{{"status", "SNAPSHOT_DONE"},
                             {"id", "snapshot:done"},
                             {"lsn", pgoutput::FormatLsn(point)},
                             {"ts_ms", log::NowMs()},
                             {"event_count", 0},
                             {"snapshot_rows", rows},
                             {"ranges", nlohmann::json::array()}}
                  .dump();
  RETURN_NOT_OK(WriteMarker(std::move(txn), cp));
  durable_lsn_ = cp.lsn;
  return Status::OK();
}

Status TxnWriter::WriteCheckpoint(const Checkpoint& cp) {
  RETURN_NOT_OK(FlushPending());
  log::AtomicWrite w;
  w.checkpoints[checkpoint_name_] = cp.Encode();
  w.durability = log::Durability::kSync;
  RETURN_NOT_OK(log_.Write(std::move(w)).status());
  durable_lsn_ = cp.lsn;
  return Status::OK();
}

}  // namespace ghostlog::capture
