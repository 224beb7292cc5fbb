// The atomic write of a batch, chunks of a large transaction and their undo
// (transform_impl.h).
#include "transform_impl.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "ghostlog/log/fault.h"

namespace ghostlog::transform {

using json = nlohmann::json;

void Transform::Impl::Emit(Pending* p, const std::string& topic, log::RecordIn r) {
  auto [it, fresh] = p->out.try_emplace(topic);
  if (fresh) p->order.push_back(topic);
  if (auto [first, added] = p->txn_first.try_emplace(topic, 0); added) {
    first->second = end_.at(topic) + static_cast<log::Offset>(it->second.size());
    p->txn_order.push_back(topic);
  }
  p->bytes += kRecordOverhead + r.key.size() + (r.value ? r.value->size() : 0);
  it->second.push_back(std::move(r));
  ++p->events_out;
}

Status Transform::Impl::Commit(Pending* p) {
  RETURN_NOT_OK(Write(p, p->next_in, p->chunks > 0 ? std::optional<std::string>("") : std::nullopt, {}));
  return p->chunks > 0 ? undo_.Clear() : Status::OK();
}

Status Transform::Impl::WriteChunkIfFull(Pending* p) {
  if (p->Bytes() < static_cast<size_t>(cfg_.max_batch_bytes)) return Status::OK();
  std::vector<log::RecordIn> undo;
  RETURN_NOT_OK(undo_.Save(state_topic_, p->state, p->txn_marks[0], &undo));
  RETURN_NOT_OK(undo_.Save(refs_topic_, p->refs, p->txn_marks[1], &undo));
  RETURN_NOT_OK(undo_.Save(readers_topic_, p->readers, p->txn_marks[2], &undo));
  // And the latest output records of the keys whose producer it changed:
  // its output records stay in the topics, never listed, and the
  // ownership of shared rows reads the producer from the latest (Producer).
  // A key the topic had no record of needs no read to know its image.
  std::map<std::string, std::set<std::string>> outputs;
  for (const auto& [tk, unwritten] : p->producer_changed) {
    if (unwritten) {
      undo_.SaveNone(tk.first, tk.second, &undo);
    } else {
      outputs[tk.first].insert(tk.second);
    }
  }
  for (const auto& [topic, keys] : outputs) {
    const log::Offset first = p->txn_first.count(topic) ? p->txn_first.at(topic) - end_.at(topic) : 0;
    RETURN_NOT_OK(undo_.Save(topic, p->out[topic], static_cast<size_t>(std::max<log::Offset>(first, 0)), &undo, &keys));
  }
  // Its dead letters wait for its end: an undone chunk must not leave any.
  std::vector<log::RecordIn> its_dead(p->dead.begin() + static_cast<std::ptrdiff_t>(p->txn_marks[3]), p->dead.end());
  p->dead.resize(p->txn_marks[3]);
  --p->transactions;  // not done yet
  // Without output transaction records nothing in it reaches the sink, and
  // a crash that loses it loses its undo with it: no fsync for such a chunk
  // (the transaction's last write is synced, and the log's prefix with it).
  const auto durability = p->txns.empty() ? log::Durability::kNoSync : log::Durability::kPolicy;
  RETURN_NOT_OK(Write(p, p->txn_offset, std::to_string(p->txn_offset), std::move(undo), durability));
  ++stats_.chunks;
  if (p->chunks == 0) {
    spdlog::info(
        "transform {}: the batch outgrows max_batch_bytes during input transaction {} of '{}'; writing that "
        "transaction in chunks",
        cfg_.group, p->txn_offset, in_txn_);
  }
  p->ChunkWritten(std::move(its_dead));
  GHOSTLOG_FAULT("transform.chunk_written");
  return Status::OK();
}

Status Transform::Impl::Undo(const std::string& txn_offset, log::Offset from) {
  GHOSTLOG_FAULT("transform.undo");
  spdlog::warn("transform {}: input transaction at offset {} of '{}' was partly written; undoing that part", cfg_.group,
               txn_offset, in_txn_);
  RETURN_NOT_OK(undo_.Restore([&](UndoLog::Batches batches, bool last) -> Status {
    Pending p;
    for (auto& [topic, recs] : batches) {
      auto* list = topic == state_topic_     ? &p.state
                   : topic == refs_topic_    ? &p.refs
                   : topic == readers_topic_ ? &p.readers
                                             : nullptr;
      if (list == nullptr && topic.starts_with(cfg_.output_prefix + ".")) {  // an output topic's latest records
        RETURN_NOT_OK(EnsureTopic(topic, Compacted()));
        p.order.push_back(topic);
        list = &p.out[topic];
      }
      if (list == nullptr) return Status::Corruption("'" + undo_.topic() + "' names topic '" + topic + "'");
      *list = std::move(recs);
    }
    // Output records put back are the latest of their keys, so compaction
    // drops the listed records they copy: list them too, or a sink rewound
    // to the beginning would miss the key (applying them again is harmless).
    ListPutBack(&p, from);
    return Write(&p, from, last ? std::optional<std::string>("") : std::nullopt, {});
  }));
  return undo_.Clear();
}

void Transform::Impl::ListPutBack(Pending* p, log::Offset undone) {
  json ranges = json::array(), collections = json::array();
  int64_t count = 0;
  for (const auto& topic : p->order) {
    const auto n = static_cast<log::Offset>(p->out[topic].size());
    if (n > 0) count += AddRange(topic, end_.at(topic), n, &ranges, &collections);
  }
  if (count == 0) return;
  json out{{"status", "END"},      {"id", "undo of " + std::to_string(undone)},
           {"event_count", count}, {"data_collections", collections},
           {"ranges", ranges},     {"source", {{"topic", in_txn_}, {"offset", undone}}}};
  p->txns.push_back(std::move(out));
}

namespace {
// Batches of one write, with the offset each output batch was predicted to
// start at (-1: not an output topic).
struct Expected {
  std::string topic;
  size_t records;
  log::Offset predicted;
};

// How far each output topic's batch moved from its prediction; Corruption if
// a batch's offsets are not consecutive (another writer in the transform's topics).
Result<std::map<std::string, log::Offset>> Moves(const std::vector<Expected>& expect,
                                                 const std::vector<std::vector<log::Offset>>& offsets) {
  std::map<std::string, log::Offset> moves;
  for (size_t i = 0; i < expect.size(); ++i) {
    const auto& e = expect[i];
    const auto& got = i < offsets.size() ? offsets[i] : std::vector<log::Offset>{};
    if (got.size() != e.records || got.back() - got.front() + 1 != static_cast<log::Offset>(e.records)) {
      return Status::Corruption(
          "topic '" + e.topic + "' got " + std::to_string(got.size()) + " offsets" +
          (got.empty() ? std::string() : " from " + std::to_string(got.front()) + " to " + std::to_string(got.back())) +
          " for " + std::to_string(e.records) + " records: something else writes to the transform's topics");
    }
    if (e.predicted >= 0 && got.front() != e.predicted) moves[e.topic] = got.front() - e.predicted;
  }
  return moves;
}
}  // namespace

Status Transform::Impl::Write(Pending* p, log::Offset next_in, std::optional<std::string> chunked,
                              std::vector<log::RecordIn> undo, log::Durability durability) {
  log::AtomicWrite w;
  w.durability = durability;
  std::vector<Expected> expect;
  const auto dead = static_cast<int64_t>(p->dead.size());
  auto add = [&](const std::string& topic, std::vector<log::RecordIn>& recs, log::Offset predicted = -1) {
    if (recs.empty()) return;
    expect.push_back({topic, recs.size(), predicted});
    w.batches.push_back({{topic, 0}, std::move(recs)});
  };
  for (const auto& topic : p->order) add(topic, p->out[topic], end_.at(topic));
  add(state_topic_, p->state);
  add(refs_topic_, p->refs);
  add(readers_topic_, p->readers);
  add(cfg_.dead_letter_topic, p->dead);
  add(undo_.topic(), undo);
  w.group = cfg_.group;
  w.offsets.push_back({{in_txn_, 0}, log::CommittedOffset{next_in, "", 0}});
  if (chunked) w.checkpoints[chunked_checkpoint_] = std::move(*chunked);
  // The output transaction records name their records' offsets: written
  // last, with the offsets the batches got. A range begun by an earlier chunk
  // keeps its first offset, so it spans what the changelog took between the
  // writes (a commit marker, which readers skip).
  std::map<std::string, log::Offset> moves;
  if (!p->txns.empty()) {
    w.finish = [&](const std::vector<std::vector<log::Offset>>& offsets, log::WriteTail* tail) -> Status {
      ASSIGN_OR_RAISE(moves, Moves(expect, offsets));
      std::vector<log::RecordIn> records;
      for (auto& t : p->txns) {
        for (auto& range : t["ranges"]) {
          auto moved = moves.find(range.at("topic").get<std::string>());
          if (moved == moves.end()) continue;
          const log::Offset from = end_.at(moved->first);  // where this write's records of the topic begin
          for (const char* bound : {"first", "last"}) {
            if (range[bound].get<log::Offset>() >= from) range[bound] = range[bound].get<log::Offset>() + moved->second;
          }
        }
        records.push_back(log::RecordIn{"", t.dump(), {}, log::kNoTimestamp});
      }
      tail->batches.push_back({{out_txn_, 0}, std::move(records)});
      return Status::OK();
    };
  }
  ASSIGN_OR_RAISE(auto offsets, log_.Write(std::move(w)));
  deps_.ClearOverlay();  // the index's changes are in the changelog now
  if (p->txns.empty()) {
    ASSIGN_OR_RAISE(moves, Moves(expect, offsets));
  }
  for (auto& [topic, first] : p->txn_first) {
    if (auto moved = moves.find(topic); moved != moves.end() && first >= end_.at(topic)) first += moved->second;
  }
  if (!p->txns.empty()) expect.push_back({out_txn_, p->txns.size(), -1});
  for (size_t i = 0; i < expect.size(); ++i) end_[expect[i].topic] = offsets.at(i).back() + 1;
  stats_.transactions += p->transactions;
  stats_.events_in += p->events_in;
  stats_.events_out += p->events_out;
  stats_.dead_lettered += dead;
  stats_.committed_offset = next_in;
  if (p->last_source_ts_ms > 0) stats_.last_source_ts_ms = p->last_source_ts_ms;
  return Status::OK();
}

}  // namespace ghostlog::transform
