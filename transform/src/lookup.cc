#include "lookup.h"

#include <spdlog/spdlog.h>

namespace ghostlog::transform {

using json = nlohmann::json;

Result<const ChangelogLookup::TableInfo*> ChangelogLookup::Info(const std::string& table) {
  if (auto it = tables_.find(table); it != tables_.end()) return &it->second;
  const std::string schema_topic = prefix_ + ".schema";
  auto rec = log_.ReadLatest({schema_topic, 0}, table);
  if (rec.status().IsNotFound()) return Status::NotFound("no schema topic '" + schema_topic + "' yet");
  RETURN_NOT_OK(rec.status());
  if (!*rec || !(*rec)->value) return Status::NotFound("capture has recorded no schema for " + table);
  json j = json::parse(*(*rec)->value, nullptr, false);
  if (j.is_discarded() || !j.contains("columns")) {
    return Status::Corruption("the schema of " + table + " in '" + schema_topic + "' is not a schema record");
  }
  TableInfo info;
  for (const auto& c : j["columns"]) {
    info.columns.push_back(c.at("name").get<std::string>());
    if (c.value("key", false)) info.key.push_back(info.columns.back());
  }
  return &(tables_[table] = std::move(info));
}

Result<const ChangelogLookup::TableInfo*> ChangelogLookup::Captured(const std::string& table) {
  auto found = Info(table);
  if (!found.status().IsNotFound()) return found;
  // Not an error: during the first snapshot the looked-up table may simply
  // come later. Its first event re-maps this row through the reference.
  if (warned_.insert(table).second) {
    spdlog::warn(
        "transform: lookup of '{}': {}; reading it as no row until capture records the table "
        "(a misspelt table name stays NULL)",
        table, found.status().message());
  }
  if (refs_ != nullptr) refs_->emplace_back(table, kAnyRow);
  return nullptr;
}

Result<std::vector<std::string>> ChangelogLookup::Columns(const std::string& table) {
  auto info = Info(table);
  if (info.status().IsNotFound()) return std::vector<std::string>{};
  RETURN_NOT_OK(info.status());
  return (*info)->columns;
}

// A TRUNCATE (capture's "t" event, keyed "") removes every row before it;
// compaction keeps their latest records, so they are not deleted for us.
// Cached per table until the stage maps a TRUNCATE of it (Truncated()).
Result<log::Offset> ChangelogLookup::TruncatedAt(const std::string& table, const std::string& topic) {
  if (auto it = truncated_at_.find(table); it != truncated_at_.end()) return it->second;
  ASSIGN_OR_RAISE(auto latest, log_.ReadLatest({topic, 0}, ""));
  return truncated_at_[table] = latest ? latest->offset : log::Offset{-1};
}

Result<std::optional<json>> ChangelogLookup::Lookup(const std::string& table, const json& key) {
  ASSIGN_OR_RAISE(const TableInfo* info, Captured(table));
  if (info == nullptr) return std::optional<json>{};
  if (info->key.empty()) return Status::InvalidArgument(table + " has no primary key to look up by");
  // The record key capture wrote: a JSON object of the key columns.
  json k = json::object();
  if (info->key.size() == 1) {
    k[info->key[0]] = key;
  } else {
    const json parts = key.is_string() ? json::parse(key.get<std::string>(), nullptr, false) : key;
    if (!parts.is_array() || parts.size() != info->key.size()) {
      std::string names;
      for (const auto& c : info->key) names += (names.empty() ? "" : ", ") + c;
      return Status::InvalidArgument("the key of " + table + " is (" + names + "): pass json_array(" + names + ")");
    }
    for (size_t i = 0; i < parts.size(); ++i) k[info->key[i]] = parts[i];
  }
  const std::string record_key = k.dump();
  if (refs_ != nullptr) refs_->emplace_back(table, record_key);
  return LatestRow(table, record_key);
}

Result<std::optional<json>> ChangelogLookup::LatestRow(const std::string& table, const std::string& record_key) {
  if (seen_ == nullptr) return ReadRow(table, record_key);
  if (auto it = read_.find({table, record_key}); it != read_.end()) return it->second;
  ASSIGN_OR_RAISE(auto row, ReadRow(table, record_key));
  read_.emplace(std::make_pair(table, record_key), row);
  return row;
}

Result<std::optional<json>> ChangelogLookup::ReadRow(const std::string& table, const std::string& record_key) {
  const std::string topic = prefix_ + "." + table;
  auto bounds = log_.DescribePartition({topic, 0});
  if (!bounds.ok() && !bounds.status().IsNotFound()) return bounds.status();
  std::string recent_key;
  if (bounds.ok()) {
    recent_key = table;
    recent_key += '\0';
    recent_key += record_key;
    if (auto it = recent_.find(recent_key); it != recent_.end()) {
      const Recent& r = it->second;
      if (r.start == bounds->log_start_offset && r.end == bounds->end_offset && r.records == bounds->records) {
        Saw(table, record_key, r.saw);
        return r.row;
      }
    }
  }
  ASSIGN_OR_RAISE(auto row, ReadLatestRow(table, topic, record_key));
  if (bounds.ok()) {
    if (recent_.size() >= kRecentRows) recent_.clear();
    recent_[recent_key] = Recent{bounds->log_start_offset, bounds->end_offset, bounds->records, row.second, row.first};
  }
  Saw(table, record_key, row.second);
  return std::move(row.first);
}

Result<std::pair<std::optional<json>, log::Offset>> ChangelogLookup::ReadLatestRow(const std::string& table,
                                                                                   const std::string& topic,
                                                                                   const std::string& record_key) {
  using Found = std::pair<std::optional<json>, log::Offset>;
  auto rec = log_.ReadLatest({topic, 0}, record_key);
  if (rec.status().IsNotFound()) return Found{std::nullopt, -1};  // no row of that table captured yet
  RETURN_NOT_OK(rec.status());
  if (!*rec) return Found{std::nullopt, -1};
  ASSIGN_OR_RAISE(log::Offset truncated_at, TruncatedAt(table, topic));
  // What the reader saw: this record, or the TRUNCATE after it.
  const log::Offset saw = std::max(truncated_at, (*rec)->offset);
  if (!(*rec)->value || truncated_at > (*rec)->offset) return Found{std::nullopt, saw};
  json v = json::parse(*(*rec)->value, nullptr, false);
  if (v.is_discarded()) return Status::Corruption(table + " key " + record_key + ": the latest event is not JSON");
  if (v.value("op", "") == "d") return Found{std::nullopt, saw};
  auto after = v.find("after");
  if (after == v.end() || !after->is_object()) return Found{std::nullopt, saw};
  return Found{std::move(*after), saw};
}

// LatestRow reads a key once per evaluation, so this runs once per key.
void ChangelogLookup::Saw(const std::string& table, const std::string& record_key, log::Offset at) {
  if (seen_ != nullptr) seen_->emplace(std::make_pair(table, record_key), at);
}

}  // namespace ghostlog::transform
