// The transform loop: follow INPUT.transaction, map whole source transactions,
// write outputs + state + offset in one atomic write.
#include "ghostlog/transform/transform.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "deps.h"
#include "ghostlog/log/fault.h"
#include "ghostlog/log/stop_sleep.h"
#include "ghostlog/transform/mapping.h"
#include "lookup.h"
#include "sql.h"
#include "undo.h"

namespace ghostlog::transform {

using json = nlohmann::json;

Result<OnError> ParseOnError(const std::string& s) {
  if (s == "stop") return OnError::kStop;
  if (s == "dead_letter") return OnError::kDeadLetter;
  return Status::InvalidArgument("on_error = '" + s + "' must be stop or dead_letter");
}

Status CheckMappings(const std::string& path) {
  ASSIGN_OR_RAISE(auto mappings, LoadMappings(path));
  ASSIGN_OR_RAISE(auto engine, SqlEngine::Open(nullptr));
  for (const auto& m : mappings) RETURN_NOT_OK(engine->Check(m, {}));
  return Status::OK();
}

namespace {

// What a record held in a batch costs beyond its key and value: its headers,
// the maps of what the batch wrote (state, producers), the allocator's share.
// Without it a batch of small rows held 13 times its counted bytes (the
// transform's peak RSS in tests/capture/capture_big_txn_test.cc).
constexpr size_t kRecordOverhead = 256;

// What one atomic write will carry: whole input transactions, or (a chunk)
// the ones before a large input transaction and the start of its output.
struct Pending {
  std::vector<std::string> order;                         // output topics, first use first
  std::map<std::string, std::vector<log::RecordIn>> out;  // by output topic
  std::vector<log::RecordIn> state, refs, readers, txns, dead;
  std::map<std::string, std::vector<std::string>> state_now;  // state written in this batch, by state key
  std::map<std::string, std::string> producer_now;            // topic '\0' target key -> source key ("" deleted)
  // Output keys whose producer the input transaction being mapped changed
  // (topic, key) -> whether the topic had no record of the key before it:
  // a chunk saves their latest records, so that an undo puts them back.
  std::map<std::pair<std::string, std::string>, bool> producer_changed;
  log::Offset next_in = 0;
  int64_t transactions = 0, events_in = 0, events_out = 0;
  size_t bytes = 0;  // of `out`, and of the other records up to `counted` (with kRecordOverhead)
  size_t counted[3] = {0, 0, 0};
  int64_t last_source_ts_ms = 0;

  // The input transaction being mapped: its offset, where its output begins
  // in each topic (absolute offsets: chunks may be written already), and how
  // many state, refs, readers and dead-letter records came before it.
  log::Offset txn_offset = -1;
  std::vector<std::string> txn_order;
  std::map<std::string, log::Offset> txn_first;
  size_t txn_marks[4] = {0, 0, 0, 0};
  int64_t chunks = 0;  // of it, written

  void BeginTxn(log::Offset offset) {
    ++transactions;
    txn_offset = offset;
    txn_order.clear();
    txn_first.clear();
    txn_marks[0] = state.size();
    txn_marks[1] = refs.size();
    txn_marks[2] = readers.size();
    txn_marks[3] = dead.size();
    producer_changed.clear();
  }

  // Bytes of the records the batch will write (what its atomic write holds again).
  size_t Bytes() {
    std::vector<log::RecordIn>* lists[3] = {&state, &refs, &readers};
    for (int i = 0; i < 3; ++i) {
      for (; counted[i] < lists[i]->size(); ++counted[i]) {
        const auto& r = (*lists[i])[counted[i]];
        bytes += kRecordOverhead + r.key.size() + (r.value ? r.value->size() : 0);
      }
    }
    return bytes;
  }

  // A chunk of the transaction was written: what remains is its own.
  void ChunkWritten(std::vector<log::RecordIn> its_dead) {
    order.clear();
    out.clear();
    state.clear();
    refs.clear();
    readers.clear();
    txns.clear();
    dead = std::move(its_dead);
    state_now.clear();  // the changelog has them now
    producer_now.clear();
    producer_changed.clear();
    transactions = 1;
    events_in = events_out = 0;
    bytes = 0;
    std::fill(std::begin(counted), std::end(counted), 0);
    std::fill(std::begin(txn_marks), std::end(txn_marks), 0);
    ++chunks;
  }
};

}  // namespace

class Transform::Impl {
 public:
  Impl(TransformConfig c, log::Changelog& log)
      : cfg_(std::move(c)),
        log_(log),
        lookup_(log, cfg_.input_prefix),
        in_txn_(cfg_.input_prefix + ".transaction"),
        out_txn_(cfg_.output_prefix + ".transaction"),
        state_topic_("__ghostlog.transform." + cfg_.group + ".state"),
        refs_topic_("__ghostlog.transform." + cfg_.group + ".refs"),
        readers_topic_("__ghostlog.transform." + cfg_.group + ".readers"),
        chunked_checkpoint_("transform." + cfg_.group + ".chunked"),
        deps_(log, refs_topic_, readers_topic_),
        undo_(log, "__ghostlog.transform." + cfg_.group + ".undo") {}

  const TransformStats& stats() const { return stats_; }

  Status Run(std::stop_token stop) {
    stop_ = stop;
    RETURN_NOT_OK(Load());
    RETURN_NOT_OK(WaitForInput(stop));
    if (stop.stop_requested()) return Status::OK();
    log::TopicConfig forever;
    forever.retention_ms = -1;
    RETURN_NOT_OK(EnsureTopic(out_txn_, forever));
    RETURN_NOT_OK(EnsureTopic(state_topic_, Compacted()));
    RETURN_NOT_OK(deps_.Open(Compacted()));  // before EnsureTopic learns the end offsets: it may write
    RETURN_NOT_OK(EnsureTopic(refs_topic_, Compacted()));
    RETURN_NOT_OK(EnsureTopic(readers_topic_, Compacted()));
    RETURN_NOT_OK(EnsureTopic(undo_.topic(), Compacted()));
    log::Offset from = 0;
    auto committed = log_.Committed(cfg_.group, {in_txn_, 0});
    if (committed.ok()) {
      from = committed->offset;
    } else if (committed.status().IsNotFound()) {
      ASSIGN_OR_RAISE(auto info, log_.DescribePartition({in_txn_, 0}));
      from = info.log_start_offset;
    } else {
      return committed.status();
    }
    // An input transaction partly written when the stage stopped (even if
    // the group was reset since) is undone; otherwise the undo topic holds a
    // whole transaction's before-images, if a stop came before it was cleared.
    auto chunked = log_.ReadCheckpoint(chunked_checkpoint_);
    if (!chunked.ok() && !chunked.status().IsNotFound()) return chunked.status();
    if (chunked.ok() && !chunked->empty()) RETURN_NOT_OK(Undo(*chunked, from));
    RETURN_NOT_OK(undo_.Clear());
    stats_.committed_offset = from;
    spdlog::info("transform {}: {} mappings, reading '{}' from offset {}", cfg_.group, mappings_.size(), in_txn_, from);
    while (!stop.stop_requested()) {
      auto txns = log_.Read({in_txn_, 0}, from, {256, 8 << 20});
      if (txns.status().IsOutOfRange()) {
        return Status::OutOfRange(
            "transform group '" + cfg_.group + "' is at offset " + std::to_string(from) + " of '" + in_txn_ +
            "', outside the topic (reset it with `ghostlog offsets reset`): " + txns.status().message());
      }
      RETURN_NOT_OK(txns.status());
      if (txns->empty()) {
        RETURN_NOT_OK(log_.WaitForData({in_txn_, 0}, from, std::chrono::milliseconds(200)).status());
        continue;
      }
      Pending p;
      p.next_in = from;
      Status failed;
      for (const auto& t : *txns) {
        failed = MapTransaction(t, &p);
        if (!failed.ok()) break;
        p.next_in = t.offset + 1;
        // A chunked transaction ends its batch: a failure after it must
        // not map again what its chunks wrote.
        if (p.chunks > 0 || p.events_in >= cfg_.max_batch_events ||
            p.Bytes() >= static_cast<size_t>(cfg_.max_batch_bytes)) {
          break;
        }
      }
      if (!failed.ok()) {
        // Commit the transactions before the one that failed, so the stage
        // stops exactly at it; then stop. The failed attempt's changes to
        // the dependency index were never written: forget them first. If
        // chunks of it were, those wrote the transactions before it.
        deps_.ClearOverlay();
        if (p.chunks > 0) {
          // The mapping's error is the one to fix; a failed undo is done again at the next start.
          RETURN_NOT_OK(Undo(std::to_string(p.txn_offset), p.txn_offset)
                            .WithContext(failed.message() + "; then undoing the chunks already written failed"));
        } else {
          Pending done;
          done.next_in = from;
          for (const auto& t : *txns) {
            if (t.offset >= p.next_in) break;
            RETURN_NOT_OK(MapTransaction(t, &done));
            done.next_in = t.offset + 1;
          }
          RETURN_NOT_OK(Commit(&done));
        }
        if (failed.code() == Status::Code::kAborted && stop.stop_requested()) return Status::OK();  // stopped while waiting
        return failed;
      }
      RETURN_NOT_OK(Commit(&p));
      from = p.next_in;
    }
    return Status::OK();
  }

 private:
  static log::TopicConfig Compacted() {
    log::TopicConfig c;
    c.cleanup_compact = true;
    c.cleanup_delete = false;
    c.retention_ms = -1;
    return c;
  }

  Status Load() {
    if (cfg_.mappings.empty()) return Status::InvalidArgument("transform: mappings is not set");
    ASSIGN_OR_RAISE(mappings_, LoadMappings(cfg_.mappings));
    ASSIGN_OR_RAISE(engine_, SqlEngine::Open(&lookup_));
    for (const auto& m : mappings_) {
      ASSIGN_OR_RAISE(auto columns, lookup_.Columns(m.source));
      RETURN_NOT_OK(engine_->Check(m, columns));
      for (auto& [table, columns] : LiteralLookupBys(m)) lookup_.Expect(table, std::move(columns));
      by_source_[m.source].push_back(&m);
      by_name_[m.name] = &m;
      std::vector<std::string> sorted = m.key;
      std::sort(sorted.begin(), sorted.end());
      sorted_keys_[m.name] = std::move(sorted);
    }
    return Status::OK();
  }

  Status WaitForInput(std::stop_token stop) {
    bool logged = false;
    while (!stop.stop_requested()) {
      auto info = log_.DescribePartition({in_txn_, 0});
      if (!info.status().IsNotFound()) return info.status();
      if (!logged) spdlog::info("transform {}: waiting for topic '{}' to be created", cfg_.group, in_txn_);
      logged = true;
      SleepUntilStopped(stop, std::chrono::milliseconds(200));
    }
    return Status::OK();
  }

  // Creates `topic` if needed and learns its end offset: the transform is the
  // only writer of its output topics, so it knows the offsets it will get.
  Status EnsureTopic(const std::string& topic, const log::TopicConfig& config) {
    if (end_.count(topic)) return Status::OK();
    Status created = log_.CreateTopic(topic, 1, config);
    if (!created.ok() && created.code() != Status::Code::kAlreadyExists) return created;
    ASSIGN_OR_RAISE(auto info, log_.DescribePartition({topic, 0}));
    end_[topic] = info.end_offset;
    return Status::OK();
  }

  // --- mapping ----------------------------------------------------------------
  Status MapTransaction(const log::Record& t, Pending* p) {
    p->BeginTxn(t.offset);
    if (!t.value) return Status::OK();
    json j = json::parse(*t.value, nullptr, false);
    if (j.is_discarded()) {
      return Status::Corruption("'" + in_txn_ + "' offset " + std::to_string(t.offset) + " is not JSON");
    }
    const std::string status = j.value("status", "");
    if (status != "END" && status != "SNAPSHOT") return Status::OK();  // ABORTED ranges are garbage
    if (status == "SNAPSHOT" && t.offset > snapshot_done_at_) RETURN_NOT_OK(AwaitSnapshotDone(t.offset));
    const std::string prefix = cfg_.input_prefix + ".";
    for (const auto& range : j.value("ranges", json::array())) {
      const std::string topic = range.at("topic").get<std::string>();
      if (!topic.starts_with(prefix)) continue;
      const std::string table = topic.substr(prefix.size());
      if (table == "schema") {
        RETURN_NOT_OK(
            ReadSchemaChanges(topic, range.at("first").get<log::Offset>(), range.at("last").get<log::Offset>()));
        continue;
      }
      auto ms = by_source_.find(table);
      if (ms == by_source_.end() && !lookup_.Indexed(table)) {
        ASSIGN_OR_RAISE(bool read, deps_.HasDependents(table));
        if (!read) continue;
      }
      static const std::vector<const Mapping*> kNone;
      RETURN_NOT_OK(MapRange(topic, range.at("first").get<log::Offset>(), range.at("last").get<log::Offset>(),
                             ms == by_source_.end() ? kNone : ms->second, p));
    }
    p->last_source_ts_ms = j.value("ts_ms", int64_t{0});
    // The output transaction: ranges of what this input transaction produced.
    json ranges = json::array(), collections = json::array();
    int64_t count = 0;
    for (const auto& topic : p->txn_order) {
      const log::Offset first = p->txn_first.at(topic);
      const log::Offset end = end_.at(topic) + static_cast<log::Offset>(p->out[topic].size());
      ranges.push_back({{"topic", topic}, {"partition", 0}, {"first", first}, {"last", end - 1}});
      collections.push_back(
          {{"data_collection", topic.substr(cfg_.output_prefix.size() + 1)}, {"event_count", end - first}});
      count += end - first;
    }
    if (count == 0) return Status::OK();
    json out{{"status", status},
             {"id", j.value("id", "")},
             {"txId", j.value("txId", json(nullptr))},
             {"lsn", j.value("lsn", json(nullptr))},
             {"ts_ms", j.value("ts_ms", json(nullptr))},
             {"event_count", count},
             {"data_collections", collections},
             {"ranges", ranges},
             {"source", {{"topic", in_txn_}, {"offset", t.offset}}}};
    p->txns.push_back(log::RecordIn{"", out.dump(), {}, log::kNoTimestamp});
    return Status::OK();
  }

  // Snapshot chunks are mapped only once capture has written its whole
  // snapshot: a mapping may look up a table the snapshot reaches later, and
  // mapping before it is there would emit rows with NULLs that the target may
  // refuse (NOT NULL) or show. Capture ends a snapshot with SNAPSHOT_DONE; an
  // END after the chunks (streaming began) says the same, and covers data
  // dirs written before that record existed.
  Status AwaitSnapshotDone(log::Offset snapshot_at) {
    log::Offset scan = std::max(snapshot_at + 1, snapshot_scan_);
    bool logged = false;
    while (!stop_.stop_requested()) {
      ASSIGN_OR_RAISE(auto recs, log_.Read({in_txn_, 0}, scan, {1000, 8 << 20}));
      for (const auto& r : recs) {
        scan = r.offset + 1;
        if (!r.value) continue;
        const json j = json::parse(*r.value, nullptr, false);
        const std::string status = j.is_object() ? j.value("status", "") : "";
        if (status == "SNAPSHOT_DONE" || status == "END") {
          snapshot_done_at_ = r.offset;
          snapshot_scan_ = scan;
          if (logged) spdlog::info("transform {}: the snapshot is complete; mapping it", cfg_.group);
          return Status::OK();
        }
      }
      snapshot_scan_ = scan;
      if (!recs.empty()) continue;
      if (!logged) {
        spdlog::info("transform {}: waiting for capture to finish its snapshot before mapping it (from offset {} of '{}')",
                     cfg_.group, snapshot_at, in_txn_);
        logged = true;
      }
      RETURN_NOT_OK(log_.WaitForData({in_txn_, 0}, scan, std::chrono::milliseconds(200)).status());
    }
    return Status::Aborted("transform " + cfg_.group + ": stopped while waiting for the snapshot");
  }

  // Capture writes a table's new schema in the transaction that first has
  // rows of that shape: lookups must not go on with the old key columns.
  Status ReadSchemaChanges(const std::string& topic, log::Offset first, log::Offset last) {
    auto recs = log_.Read({topic, 0}, first, {last - first + 1, 64 << 20});
    if (recs.status().IsOutOfRange()) {
      lookup_.SchemaChanged(std::nullopt);  // removed since: which tables, nobody knows now
      return Status::OK();
    }
    RETURN_NOT_OK(recs.status());
    for (const auto& r : *recs) {
      if (r.offset <= last) lookup_.SchemaChanged(r.key);
    }
    return Status::OK();
  }

  Status MapRange(const std::string& topic, log::Offset first, log::Offset last,
                  const std::vector<const Mapping*>& mappings, Pending* p) {
    for (log::Offset at = first; at <= last;) {
      auto recs = log_.Read({topic, 0}, at, {std::min<int64_t>(last - at + 1, 10000), 32 << 20});
      if (recs.status().IsOutOfRange()) {
        ASSIGN_OR_RAISE(auto info, log_.DescribePartition({topic, 0}));
        if (info.log_start_offset > at) {  // retention removed the start: map the rest
          at = info.log_start_offset;
          continue;
        }
      }
      RETURN_NOT_OK(recs.status());
      if (recs->empty()) break;
      for (const auto& r : *recs) {
        if (r.offset > last) break;
        ++p->events_in;
        RETURN_NOT_OK(MapEvent(topic, r, mappings, p));
        RETURN_NOT_OK(WriteChunkIfFull(p));
      }
      at = recs->back().offset + 1;
    }
    return Status::OK();
  }

  Status MapEvent(const std::string& topic, const log::Record& r, const std::vector<const Mapping*>& mappings,
                  Pending* p) {
    if (!r.value) return Status::OK();  // tombstones only matter to compaction
    json v = json::parse(*r.value, nullptr, false);
    if (v.is_discarded() || !v.is_object()) return Failed(topic, r, nullptr, "the value is not a JSON object", p);
    const std::string op = v.value("op", "");
    if (op == "m") return Status::OK();
    for (const Mapping* m : mappings) {
      if (op == "t") {
        const std::string out_topic = cfg_.output_prefix + "." + m->target;
        RETURN_NOT_OK(EnsureTopic(out_topic, Compacted()));
        Emit(p, out_topic,
             log::RecordIn{"", json{{"op", "t"}, {"source", Source(topic, r, *m, v)}}.dump(), {}, log::kNoTimestamp});
        continue;
      }
      if (op != "c" && op != "u" && op != "r" && op != "d") return Failed(topic, r, m, "unknown op '" + op + "'", p);
      if (op != "d" && !v["after"].is_object()) {
        return Failed(topic, r, m, "op '" + op + "' without an 'after' object", p);
      }
      RETURN_NOT_OK(MapRow(topic, r, *m, op, v, op == "d" ? nullptr : &v["after"], p));
    }
    // Live lookups: rows that read this one, or read the table before capture
    // had recorded it, are mapped again.
    const std::string table = topic.substr(cfg_.input_prefix.size() + 1);
    if (op == "t") lookup_.Truncated(table);
    ASSIGN_OR_RAISE(std::vector<std::string> dependents,
                    op == "t" ? deps_.AllDependents(table) : deps_.Dependents(table, r.key, r.offset));
    ASSIGN_OR_RAISE(auto any_row, deps_.Dependents(table, kAnyRow));
    for (auto& row : any_row) dependents.push_back(std::move(row));
    // ...and rows that found this one by other columns (lookup_by), under
    // the values it held and the values it holds now.
    ASSIGN_OR_RAISE(auto by_keys, lookup_.Changed(table, r.key, op == "t"));
    for (const auto& key : by_keys) {
      ASSIGN_OR_RAISE(auto readers, deps_.Dependents(table, key));
      for (auto& row : readers) dependents.push_back(std::move(row));
    }
    std::sort(dependents.begin(), dependents.end());
    dependents.erase(std::unique(dependents.begin(), dependents.end()), dependents.end());
    for (const auto& row : dependents) {
      const size_t sep = row.find(kRowState);
      auto m = by_name_.find(row.substr(0, sep));
      if (m == by_name_.end()) continue;  // a mapping that was removed
      RETURN_NOT_OK(Remap(*m->second, row.substr(sep + 1), p));
      RETURN_NOT_OK(WriteChunkIfFull(p));
    }
    return Status::OK();
  }

  // Maps one source row image (nullptr: the row is gone) with one mapping and
  // records which rows its lookups read.
  Status MapRow(const std::string& topic, const log::Record& r, const Mapping& m, const std::string& op, const json& v,
                const json* after, Pending* p) {
    RETURN_NOT_OK(EnsureTopic(cfg_.output_prefix + "." + m.target, Compacted()));
    std::vector<json> rows;
    std::vector<DependencyIndex::Ref> refs;
    DependencyIndex::Seen seen;
    if (after != nullptr) {
      lookup_.Collect(&refs, &seen);
      auto mapped = engine_->Evaluate(m, *after);
      lookup_.Collect(nullptr, nullptr);
      if (!mapped.ok()) return Failed(topic, r, &m, mapped.status().message(), p);
      rows = std::move(mapped).value();
    }
    Status s = EmitRows(topic, r, m, op, v, std::move(rows), p);
    if (!s.ok()) return Failed(topic, r, &m, s.message(), p);
    RETURN_NOT_OK(deps_.Set(m.name + kRowState + r.key, std::move(refs), seen, &p->refs, &p->readers));
    return Status::OK();
  }

  // Upserts the rows the source row yields now, deletes the target rows it
  // yielded before and no longer does, and records the new set in the state.
  //
  // A target row may have several owners (v3 keeps one adjustment reason per
  // requisition, made from each line item's adjustments): the state also
  // lists, per target key, the source rows producing it, and the row is
  // deleted only when the last one stops; otherwise a remaining owner is
  // mapped again so the row shows a live owner's values.
  Status EmitRows(const std::string& topic, const log::Record& r, const Mapping& m, const std::string& op,
                  const json& v, std::vector<json> rows, Pending* p) {
    std::vector<std::pair<std::string, json>> keyed;  // target key text, row
    std::set<std::string> keys;
    for (auto& row : rows) {
      // The key's JSON text, as json(object).dump() writes it (keys sorted),
      // without building the object: this runs for every output row.
      std::string text = "{";
      for (const auto& k : sorted_keys_.at(m.name)) {
        const json& value = row[k];
        if (value.is_null()) {
          return Status::InvalidArgument(m.Where("columns." + k) + ": key column " + k + " is NULL");
        }
        if (text.size() > 1) text += ',';
        text += json(k).dump();
        text += ':';
        text += value.dump();
      }
      text += '}';
      if (keys.insert(text).second) keyed.emplace_back(std::move(text), std::move(row));
    }
    const std::string state_key = m.name + kRowState + r.key;
    ASSIGN_OR_RAISE(std::vector<std::string> previous, State(state_key, *p));
    if (keyed.empty() && previous.empty()) return Status::OK();  // still produces nothing
    const std::string out_topic = cfg_.output_prefix + "." + m.target;
    const std::string source = Source(topic, r, m, v).dump();
    for (auto& [key, row] : keyed) {
      if (!std::binary_search(previous.begin(), previous.end(), key)) {
        // Shared only if the target row is live: owners are written then,
        // and never for the common one-owner row. Once a row has an owners
        // list, the list is the truth, not the producer header: that header
        // still names an owner that gave the row up when the hand-over's
        // re-map was skipped (the next owner deleted since), and may name
        // this very row.
        bool unwritten = false;
        ASSIGN_OR_RAISE(std::string producer, Producer(out_topic, key, *p, &unwritten));
        p->producer_changed.try_emplace({out_topic, key}, unwritten);
        if (!producer.empty()) {
          ASSIGN_OR_RAISE(auto owners, State(m.name + kOwners + key, *p));
          if (owners.empty() && producer != r.key) owners.push_back(producer);
          if (!owners.empty() && std::find(owners.begin(), owners.end(), r.key) == owners.end()) {
            owners.push_back(r.key);
            SetState(m.name + kOwners + key, std::move(owners), p);
          }
        }
      }
      p->producer_now[out_topic + '\0' + key] = r.key;
      // {"after":...,"op":...,"source":...}: the bytes json(...).dump() would write.
      std::string value = "{\"after\":" + row.dump() + ",\"op\":\"" + op + "\",\"source\":" + source + "}";
      Emit(p, out_topic, log::RecordIn{key, std::move(value), {{kProducerHeader, r.key}}, log::kNoTimestamp});
    }
    std::vector<std::string> remap;  // remaining owners of rows this one gave up
    for (const auto& key : previous) {
      if (keys.count(key)) continue;
      ASSIGN_OR_RAISE(auto owners, State(m.name + kOwners + key, *p));
      const bool shared = !owners.empty();
      std::erase(owners, r.key);
      if (owners.empty()) {
        p->producer_changed.try_emplace({out_topic, key}, false);
        p->producer_now[out_topic + '\0' + key] = "";
        std::string value = "{\"before\":" + key + ",\"op\":\"d\",\"source\":" + source + "}";
        Emit(p, out_topic, log::RecordIn{key, std::move(value), {{kProducerHeader, ""}}, log::kNoTimestamp});
      } else {
        remap.push_back(owners.front());
      }
      if (shared) SetState(m.name + kOwners + key, std::move(owners), p);
    }
    std::vector<std::string> now(keys.begin(), keys.end());
    if (now != previous) SetState(state_key, std::move(now), p);
    for (const auto& owner : remap) RETURN_NOT_OK(Remap(m, owner, p));
    return Status::OK();
  }

  // Maps a source row again from its latest captured image (live lookups,
  // ownership hand-over). A row deleted since is left to its own delete event.
  Status Remap(const Mapping& m, const std::string& source_key, Pending* p) {
    const std::string source_topic = cfg_.input_prefix + "." + m.source;
    ASSIGN_OR_RAISE(auto latest, log_.ReadLatest({source_topic, 0}, source_key));
    if (!latest || !latest->value) return Status::OK();
    json v = json::parse(*latest->value, nullptr, false);
    if (v.is_discarded() || v.value("op", "") == "d" || !v["after"].is_object()) return Status::OK();
    return MapRow(source_topic, *latest, m, "u", v, &v["after"], p);
  }

  // State entries are lists of strings: per source row its target keys, sorted
  // (name kRowState source-key); per target row with several owners, its
  // owners (name kOwners target-key).
  static constexpr char kRowState = '\0', kOwners = '\1';

  // The source row that produced the live target row `key` ("" if there is none).
  static constexpr const char* kProducerHeader = "ghostlog.source_key";
  // `unwritten`: whether the topic has no record of the key.
  Result<std::string> Producer(const std::string& topic, const std::string& key, const Pending& p,
                               bool* unwritten = nullptr) {
    if (unwritten != nullptr) *unwritten = false;
    if (auto it = p.producer_now.find(topic + '\0' + key); it != p.producer_now.end()) return it->second;
    ASSIGN_OR_RAISE(auto rec, log_.ReadLatest({topic, 0}, key));
    if (!rec && unwritten != nullptr) *unwritten = true;
    if (!rec || !rec->value) return std::string();
    for (const auto& h : rec->headers) {
      if (h.key == kProducerHeader) return h.value;
    }
    return std::string();
  }

  Result<std::vector<std::string>> State(const std::string& key, const Pending& p) {
    if (auto it = p.state_now.find(key); it != p.state_now.end()) return it->second;
    ASSIGN_OR_RAISE(auto rec, log_.ReadLatest({state_topic_, 0}, key));
    if (!rec || !rec->value) return std::vector<std::string>{};
    json j = json::parse(*rec->value, nullptr, false);
    if (!j.is_array()) return Status::Corruption("'" + state_topic_ + "': a state entry is not a JSON array");
    return j.get<std::vector<std::string>>();
  }

  void SetState(const std::string& key, std::vector<std::string> list, Pending* p) {
    log::RecordIn st{key, std::nullopt, {}, log::kNoTimestamp};
    if (!list.empty()) st.value = json(list).dump();
    p->state.push_back(std::move(st));
    p->state_now[key] = std::move(list);
  }

  json Source(const std::string& topic, const log::Record& r, const Mapping& m, const json& v) const {
    json s{{"mapping", m.name}, {"topic", topic}, {"offset", r.offset}};
    if (auto src = v.find("source"); src != v.end() && src->is_object()) {
      for (const char* k : {"ts_ms", "txId", "lsn", "snapshot"}) {
        if (auto f = src->find(k); f != src->end()) s[k] = *f;
      }
    }
    return s;
  }

  // A record that fails its mapping stops the stage, or goes to the dead-letter
  // topic in the same atomic write as the rest of its transaction.
  Status Failed(const std::string& topic, const log::Record& r, const Mapping* m, const std::string& why, Pending* p) {
    std::string msg = "topic '" + topic + "' offset " + std::to_string(r.offset);
    if (m != nullptr) msg += ", mapping " + m->name;
    msg += ": " + why;
    if (cfg_.on_error == OnError::kStop) {
      const std::string value = r.value ? r.value->substr(0, 500) : "null";
      return Status::InvalidArgument(msg + "; the record: " + value);
    }
    log::TopicConfig forever;
    forever.retention_ms = -1;
    RETURN_NOT_OK(EnsureTopic(cfg_.dead_letter_topic, forever));
    log::RecordIn dl{r.key, r.value, r.headers, log::kNoTimestamp};
    dl.headers.push_back({"ghostlog.error", msg});
    dl.headers.push_back({"ghostlog.topic", topic});
    dl.headers.push_back({"ghostlog.offset", std::to_string(r.offset)});
    if (m != nullptr) dl.headers.push_back({"ghostlog.mapping", m->file});
    p->dead.push_back(std::move(dl));
    spdlog::warn("transform {}: dead-lettered {}", cfg_.group, msg);
    return Status::OK();
  }

  // --- the atomic write -------------------------------------------------------
  void Emit(Pending* p, const std::string& topic, log::RecordIn r) {
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

  Status Commit(Pending* p) {
    RETURN_NOT_OK(Write(p, p->next_in, p->chunks > 0 ? std::optional<std::string>("") : std::nullopt, {}));
    return p->chunks > 0 ? undo_.Clear() : Status::OK();
  }

  // Writes the batch so far, in the middle of input transaction
  // p->txn_offset, with the before-images of the index records it changed,
  // commits the group at that transaction and marks it as chunked (undo.h).
  Status WriteChunkIfFull(Pending* p) {
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
      RETURN_NOT_OK(
          undo_.Save(topic, p->out[topic], static_cast<size_t>(std::max<log::Offset>(first, 0)), &undo, &keys));
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

  // Part of input transaction `at` was written before the stage stopped: its
  // index records go back to what they were, and it is mapped again from
  // there. (Its output records are listed by no output transaction, so the
  // sink never applies them; the new mapping's records supersede them.)
  // The group stays at `from`.
  Status Undo(const std::string& txn_offset, log::Offset from) {
    GHOSTLOG_FAULT("transform.undo");
    spdlog::warn("transform {}: input transaction at offset {} of '{}' was partly written; undoing that part",
                 cfg_.group, txn_offset, in_txn_);
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
      return Write(&p, from, last ? std::optional<std::string>("") : std::nullopt, {});
    }));
    return undo_.Clear();
  }

  // One atomic write of the batch, committing the group at `next_in`; with
  // `chunked`, setting the chunked-transaction checkpoint to it ("": none).
  Status Write(Pending* p, log::Offset next_in, std::optional<std::string> chunked, std::vector<log::RecordIn> undo,
               log::Durability durability = log::Durability::kPolicy) {
    log::AtomicWrite w;
    w.durability = durability;
    std::vector<std::pair<std::string, size_t>> expect;  // topic, records
    const auto dead = static_cast<int64_t>(p->dead.size());
    auto add = [&](const std::string& topic, std::vector<log::RecordIn>& recs) {
      if (recs.empty()) return;
      expect.emplace_back(topic, recs.size());
      w.batches.push_back({{topic, 0}, std::move(recs)});
    };
    for (const auto& topic : p->order) add(topic, p->out[topic]);
    add(state_topic_, p->state);
    add(refs_topic_, p->refs);
    add(readers_topic_, p->readers);
    add(out_txn_, p->txns);
    add(cfg_.dead_letter_topic, p->dead);
    add(undo_.topic(), undo);
    w.group = cfg_.group;
    w.offsets.push_back({{in_txn_, 0}, log::CommittedOffset{next_in, "", 0}});
    if (chunked) w.checkpoints[chunked_checkpoint_] = std::move(*chunked);
    ASSIGN_OR_RAISE(auto offsets, log_.Write(std::move(w)));
    deps_.ClearOverlay();  // the index's changes are in the changelog now
    for (size_t i = 0; i < expect.size(); ++i) {
      const auto& [topic, n] = expect[i];
      if (offsets[i].empty() || offsets[i].front() != end_[topic]) {
        return Status::Corruption("topic '" + topic + "' got offset " +
                                  (offsets[i].empty() ? std::string("none") : std::to_string(offsets[i].front())) +
                                  ", expected " + std::to_string(end_[topic]) +
                                  ": something else writes to the transform's topics");
      }
      end_[topic] += static_cast<log::Offset>(n);
    }
    stats_.transactions += p->transactions;
    stats_.events_in += p->events_in;
    stats_.events_out += p->events_out;
    stats_.dead_lettered += dead;
    stats_.committed_offset = next_in;
    if (p->last_source_ts_ms > 0) stats_.last_source_ts_ms = p->last_source_ts_ms;
    return Status::OK();
  }

  TransformConfig cfg_;
  log::Changelog& log_;
  ChangelogLookup lookup_;
  const std::string in_txn_, out_txn_, state_topic_, refs_topic_, readers_topic_, chunked_checkpoint_;
  std::vector<Mapping> mappings_;
  std::map<std::string, std::vector<const Mapping*>> by_source_;
  std::map<std::string, const Mapping*> by_name_;
  std::map<std::string, std::vector<std::string>> sorted_keys_;  // mapping name -> key columns, sorted
  DependencyIndex deps_;
  UndoLog undo_;
  std::stop_token stop_;
  log::Offset snapshot_done_at_ = -1;  // where the snapshot being mapped ends
  log::Offset snapshot_scan_ = 0;      // how far AwaitSnapshotDone has looked
  std::unique_ptr<SqlEngine> engine_;
  std::map<std::string, log::Offset> end_;
  TransformStats stats_;
};

Transform::Transform(TransformConfig config, log::Changelog& log)
    : impl_(std::make_unique<Impl>(std::move(config), log)) {}
Transform::~Transform() = default;
Status Transform::Run(std::stop_token stop) {
  // A record of an unexpected shape (a corrupt or foreign changelog) must stop
  // the stage with a message, never take the process down.
  try {
    return impl_->Run(stop);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("transform: a record of an unexpected shape: ") + e.what());
  }
}
const TransformStats& Transform::stats() const { return impl_->stats(); }

}  // namespace ghostlog::transform
