#include "deps.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ghostlog::transform {

using json = nlohmann::json;

void DependencyIndex::Apply(const std::string& row, std::vector<Ref> refs) {
  if (auto old = forward_.find(row); old != forward_.end()) {
    for (const auto& [table, key] : old->second) {
      auto t = reverse_.find(table);
      auto k = t->second.find(key);
      k->second.erase(row);
      if (k->second.empty()) t->second.erase(k);
      if (t->second.empty()) reverse_.erase(t);
    }
    forward_.erase(old);
  }
  if (refs.empty()) return;
  for (const auto& [table, key] : refs) reverse_[table][key].insert(row);
  forward_[row] = std::move(refs);
}

std::optional<log::RecordIn> DependencyIndex::Set(const std::string& row, std::vector<Ref> refs) {
  std::sort(refs.begin(), refs.end());
  refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  auto old = forward_.find(row);
  if ((old == forward_.end() && refs.empty()) || (old != forward_.end() && old->second == refs)) return std::nullopt;
  log::RecordIn r{row, std::nullopt, {}, log::kNoTimestamp};
  if (!refs.empty()) r.value = json(refs).dump();
  Apply(row, std::move(refs));
  return r;
}

std::vector<std::string> DependencyIndex::Dependents(const std::string& table, const std::string& key) const {
  auto t = reverse_.find(table);
  if (t == reverse_.end()) return {};
  auto k = t->second.find(key);
  if (k == t->second.end()) return {};
  return {k->second.begin(), k->second.end()};
}

std::vector<std::string> DependencyIndex::AllDependents(const std::string& table) const {
  auto t = reverse_.find(table);
  if (t == reverse_.end()) return {};
  std::set<std::string> rows;
  for (const auto& [key, readers] : t->second) rows.insert(readers.begin(), readers.end());
  return {rows.begin(), rows.end()};
}

Status DependencyIndex::Load(log::Changelog& log, const std::string& topic) {
  forward_.clear();
  reverse_.clear();
  ASSIGN_OR_RAISE(auto info, log.DescribePartition({topic, 0}));
  for (log::Offset at = info.log_start_offset; at < info.end_offset;) {
    ASSIGN_OR_RAISE(auto recs, log.Read({topic, 0}, at, {10000, 16 << 20}));
    if (recs.empty()) break;
    for (const auto& r : recs) {
      std::vector<Ref> refs;
      if (r.value) {
        json j = json::parse(*r.value, nullptr, false);
        if (!j.is_array())
          return Status::Corruption("'" + topic + "' offset " + std::to_string(r.offset) + " is not a JSON array");
        refs = j.get<std::vector<Ref>>();
      }
      Apply(r.key, std::move(refs));
    }
    at = recs.back().offset + 1;
  }
  return Status::OK();
}

}  // namespace ghostlog::transform
