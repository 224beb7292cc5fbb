// Mapping: a source transaction's events into target rows (transform_impl.h).
#include "transform_impl.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace ghostlog::transform {

using json = nlohmann::json;

Status Transform::Impl::MapTransaction(const log::Record& t, Pending* p) {
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
    count += AddRange(topic, first, end - first, &ranges, &collections);
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
  p->txns.push_back(std::move(out));
  return Status::OK();
}

log::Offset Transform::Impl::AddRange(const std::string& topic, log::Offset first, log::Offset n, json* ranges,
                                      json* collections) const {
  ranges->push_back({{"topic", topic}, {"partition", 0}, {"first", first}, {"last", first + n - 1}});
  collections->push_back({{"data_collection", topic.substr(cfg_.output_prefix.size() + 1)}, {"event_count", n}});
  return n;
}

Status Transform::Impl::AwaitSnapshotDone(log::Offset snapshot_at) {
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
      spdlog::info(
          "transform {}: waiting for capture to finish its snapshot before mapping it (from offset {} of '{}')",
          cfg_.group, snapshot_at, in_txn_);
      logged = true;
    }
    RETURN_NOT_OK(log_.WaitForData({in_txn_, 0}, scan, std::chrono::milliseconds(200)).status());
  }
  return Status::Aborted("transform " + cfg_.group + ": stopped while waiting for the snapshot");
}

Status Transform::Impl::ReadSchemaChanges(const std::string& topic, log::Offset first, log::Offset last) {
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

Status Transform::Impl::MapRange(const std::string& topic, log::Offset first, log::Offset last,
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

Status Transform::Impl::MapEvent(const std::string& topic, const log::Record& r,
                                 const std::vector<const Mapping*>& mappings, Pending* p) {
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
  std::vector<std::string> dependents;
  if (op == "t") {
    ASSIGN_OR_RAISE(dependents, deps_.AllDependents(table));
  } else {
    ASSIGN_OR_RAISE(auto readers, deps_.DependentsSeen(table, r.key));
    // Readers that read this change, or a later one, already are done.
    std::erase_if(readers, [&](const DependencyIndex::Reader& reader) { return reader.second >= r.offset; });
    if (!readers.empty()) {
      // Column-level: a reader none of whose looked-up columns changed is not
      // mapped again (a line item's totals change; its adjustments read its
      // rnrid). Changed since what the reader shows: the key's last change the
      // stage mapped with readers to compare (noted in the state), or, if the
      // reader read the key after that, the record it read. (A change every
      // reader has read needs no note: each compares with its own record.)
      const std::string last_key = kLastChange + table + '\0' + r.key;
      ASSIGN_OR_RAISE(auto last, State(last_key, *p));
      log::Offset last_at = -1;
      if (!last.empty()) std::from_chars(last[0].data(), last[0].data() + last[0].size(), last_at);
      // Noted after this change (a rewound group), or a delete: unsure.
      const bool comparable = last_at < r.offset && op != "d" && v["after"].is_object();
      std::map<log::Offset, std::optional<json>> images;
      for (auto& [row, seen] : readers) {
        auto m = comparable ? by_name_.find(row.substr(0, row.find(kRowState))) : by_name_.end();
        if (m != by_name_.end()) {
          const log::Offset base = std::max(last_at, seen);
          ASSIGN_OR_RAISE(bool unchanged, ReadColumnsUnchanged(*m->second, table, topic, r, v["after"], base, &images));
          if (unchanged) {
            ++stats_.remaps_skipped;
            continue;
          }
        }
        dependents.push_back(std::move(row));
      }
      SetState(last_key, {std::to_string(r.offset)}, p);
    }
  }
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

Status Transform::Impl::MapRow(const std::string& topic, const log::Record& r, const Mapping& m, const std::string& op,
                               const json& v, const json* after, Pending* p) {
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

Status Transform::Impl::EmitRows(const std::string& topic, const log::Record& r, const Mapping& m,
                                 const std::string& op, const json& v, std::vector<json> rows, Pending* p) {
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

Status Transform::Impl::Remap(const Mapping& m, const std::string& source_key, Pending* p) {
  const std::string source_topic = cfg_.input_prefix + "." + m.source;
  ASSIGN_OR_RAISE(auto latest, log_.ReadLatest({source_topic, 0}, source_key));
  if (!latest || !latest->value) return Status::OK();
  json v = json::parse(*latest->value, nullptr, false);
  if (v.is_discarded() || v.value("op", "") == "d" || !v["after"].is_object()) return Status::OK();
  return MapRow(source_topic, *latest, m, "u", v, &v["after"], p);
}

Result<std::string> Transform::Impl::Producer(const std::string& topic, const std::string& key, const Pending& p,
                                              bool* unwritten) {
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

Result<std::vector<std::string>> Transform::Impl::State(const std::string& key, const Pending& p) {
  if (auto it = p.state_now.find(key); it != p.state_now.end()) return it->second;
  ASSIGN_OR_RAISE(auto rec, log_.ReadLatest({state_topic_, 0}, key));
  if (!rec || !rec->value) return std::vector<std::string>{};
  json j = json::parse(*rec->value, nullptr, false);
  if (!j.is_array()) return Status::Corruption("'" + state_topic_ + "': a state entry is not a JSON array");
  return j.get<std::vector<std::string>>();
}

void Transform::Impl::SetState(const std::string& key, std::vector<std::string> list, Pending* p) {
  log::RecordIn st{key, std::nullopt, {}, log::kNoTimestamp};
  if (!list.empty()) st.value = json(list).dump();
  p->state.push_back(std::move(st));
  p->state_now[key] = std::move(list);
}

Result<bool> Transform::Impl::ReadColumnsUnchanged(const Mapping& m, const std::string& table, const std::string& topic,
                                                   const log::Record& r, const json& after, log::Offset seen,
                                                   std::map<log::Offset, std::optional<json>>* images) {
  const std::set<std::string>* columns = read_columns_.at(m.name).Of(table);
  if (columns == nullptr || seen < 0) return false;
  auto [it, fresh] = images->try_emplace(seen);
  if (fresh) {
    // The record the reader read; gone (compacted, retention) or not this
    // key's upsert (a TRUNCATE's offset): unsure.
    ASSIGN_OR_RAISE(auto recs, log_.Read({topic, 0}, seen, {1, 64 << 20}));
    if (!recs.empty() && recs[0].offset == seen && recs[0].key == r.key && recs[0].value) {
      json old = json::parse(*recs[0].value, nullptr, false);
      if (old.is_object() && old.value("op", "") != "d" && old.contains("after") && old["after"].is_object()) {
        it->second = std::move(old["after"]);
      }
    }
  }
  if (!it->second) return false;
  const json& before = *it->second;
  for (const auto& c : *columns) {
    auto a = before.find(c), b = after.find(c);
    if ((a == before.end()) != (b == after.end())) return false;
    if (a != before.end() && *a != *b) return false;
  }
  return true;
}

json Transform::Impl::Source(const std::string& topic, const log::Record& r, const Mapping& m, const json& v) const {
  json s{{"mapping", m.name}, {"topic", topic}, {"offset", r.offset}};
  if (auto src = v.find("source"); src != v.end() && src->is_object()) {
    for (const char* k : {"ts_ms", "txId", "lsn", "snapshot"}) {
      if (auto f = src->find(k); f != src->end()) s[k] = *f;
    }
  }
  return s;
}

Status Transform::Impl::Failed(const std::string& topic, const log::Record& r, const Mapping* m, const std::string& why,
                               Pending* p) {
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

}  // namespace ghostlog::transform
