// lookup_by(): rows found by the values of non-key columns, through indexes
// the stage keeps in memory (see lookup.h for why and for what size).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "lookup.h"

namespace ghostlog::transform {

using json = nlohmann::json;

namespace {

// The values of `columns` in a row image, as a JSON array's text; nullopt if
// one of them is NULL or missing (such a row matches no lookup, as with =).
std::optional<std::string> ValuesOf(const json& row, const std::vector<std::string>& columns) {
  json values = json::array();
  for (const auto& c : columns) {
    auto it = row.find(c);
    if (it == row.end() || it->is_null()) return std::nullopt;
    values.push_back(*it);
  }
  return values.dump();
}

std::string Joined(const std::vector<std::string>& columns) {
  std::string out;
  for (const auto& c : columns) out += (out.empty() ? "" : ",") + c;
  return out;
}

}  // namespace

std::string ChangelogLookup::ByKey(const ColumnIndex& index, const std::string& values) {
  // Never a record key (capture's keys are JSON objects), so both kinds of
  // reference share the dependency index without meeting.
  return "by:" + Joined(index.columns) + "=" + values;
}

Result<ChangelogLookup::ColumnIndex*> ChangelogLookup::Index(const std::string& table,
                                                             const std::vector<std::string>& columns) {
  auto& by_table = indexes_[table];
  const std::string name = Joined(columns);
  if (auto it = by_table.find(name); it != by_table.end()) return &it->second;
  ColumnIndex index;
  index.columns = columns;
  const std::string topic = prefix_ + "." + table;
  ASSIGN_OR_RAISE(log::Offset truncated_at, TruncatedAt(table, topic));
  std::string after_key;
  int64_t rows = 0;
  for (;;) {
    auto page = log_.ReadLatestByPrefix({topic, 0}, "", after_key, 1000);
    if (page.status().IsNotFound()) break;  // no row of the table captured yet
    RETURN_NOT_OK(page.status());
    if (page->empty()) break;
    for (const auto& rec : *page) {
      after_key = rec.key;
      if (rec.key.empty() || !rec.value || rec.offset < truncated_at) continue;  // the TRUNCATE marker, gone rows
      const json v = json::parse(*rec.value, nullptr, false);
      if (v.is_discarded()) return Status::Corruption(table + " key " + rec.key + ": the latest event is not JSON");
      auto after = v.find("after");
      if (v.value("op", "") == "d" || after == v.end() || !after->is_object()) continue;
      if (auto values = ValuesOf(*after, columns)) {
        index.keys[*values].insert(rec.key);
        index.values[rec.key] = std::move(*values);
        ++rows;
      }
    }
  }
  spdlog::info("transform: lookup_by('{}', '{}'): indexed {} rows", table, name, rows);
  return &(by_table[name] = std::move(index));
}

Result<std::optional<json>> ChangelogLookup::LookupBy(const std::string& table, const std::vector<std::string>& columns,
                                                      const std::vector<json>& values) {
  ASSIGN_OR_RAISE(const TableInfo* info, Captured(table));
  if (info == nullptr) return std::optional<json>{};
  for (const auto& c : columns) {
    if (std::find(info->columns.begin(), info->columns.end(), c) == info->columns.end()) {
      return Status::InvalidArgument(table + " has no column '" + c + "'");
    }
  }
  if (values.size() != columns.size()) {
    return Status::InvalidArgument(std::to_string(columns.size()) + " columns and " + std::to_string(values.size()) +
                                   " values");
  }
  ASSIGN_OR_RAISE(ColumnIndex * index, Index(table, columns));
  const std::string wanted = json(values).dump();
  // Recorded whether or not a row matches: the first row to match maps this one again.
  if (refs_ != nullptr) refs_->emplace_back(table, ByKey(*index, wanted));
  auto it = index->keys.find(wanted);
  if (it == index->keys.end() || it->second.empty()) return std::optional<json>{};
  // ...and the row found: when it changes or stops matching, this one is mapped again.
  if (refs_ != nullptr) refs_->emplace_back(table, *it->second.begin());
  return LatestRow(table, *it->second.begin());
}

Result<std::vector<std::string>> ChangelogLookup::Changed(const std::string& table, const std::string& record_key,
                                                          bool truncated) {
  if (!Indexed(table)) return std::vector<std::string>{};
  if (truncated) {
    // Every reader of the table is mapped again anyway (AllDependents);
    // the indexes are rebuilt from what follows the TRUNCATE.
    indexes_.erase(table);
    return std::vector<std::string>{};
  }
  // An index built now reads the latest rows, this change included; one
  // built before learns it here.
  std::set<std::vector<std::string>> column_lists = expected_[table];
  for (const auto& [name, index] : indexes_[table]) column_lists.insert(index.columns);
  // The latest image, not the event's: the stage may lag capture, and an
  // index is only ever as new as the rows lookup() reads.
  ASSIGN_OR_RAISE(auto row, LatestRow(table, record_key));
  std::vector<std::string> moved;
  for (const auto& columns : column_lists) {
    ASSIGN_OR_RAISE(ColumnIndex * index, Index(table, columns));
    if (auto it = index->values.find(record_key); it != index->values.end()) {
      auto& keys = index->keys[it->second];
      keys.erase(record_key);
      if (keys.empty()) index->keys.erase(it->second);
      index->values.erase(it);
    }
    std::optional<std::string> now = row ? ValuesOf(*row, columns) : std::nullopt;
    if (!now) continue;
    index->keys[*now].insert(record_key);
    index->values[record_key] = *now;
    moved.push_back(ByKey(*index, *now));
  }
  return moved;
}

}  // namespace ghostlog::transform
