#include "deps.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace ghostlog::transform {

using json = nlohmann::json;

namespace {

// Ends a completed build of the readers topic (sorts before every table name).
constexpr char kBuiltKey[] = "\x01readers built from refs";
constexpr size_t kPage = 1024;

std::string ReaderKey(const std::string& table, const std::string& key, const std::string& row) {
  std::string k = table;
  k += '\0';
  k += key;
  k += '\0';
  k += row;
  return k;
}

Result<std::vector<DependencyIndex::Ref>> ParseRefs(const std::string& topic, const log::Record& r) {
  if (!r.value) return std::vector<DependencyIndex::Ref>{};
  json j = json::parse(*r.value, nullptr, false);
  if (!j.is_array()) {
    return Status::Corruption("'" + topic + "' offset " + std::to_string(r.offset) + " is not a JSON array");
  }
  return j.get<std::vector<DependencyIndex::Ref>>();
}

}  // namespace

DependencyIndex::DependencyIndex(log::Changelog& log, std::string refs_topic, std::string readers_topic)
    : log_(log), refs_topic_(std::move(refs_topic)), readers_topic_(std::move(readers_topic)) {}

Status DependencyIndex::Open(const log::TopicConfig& compacted) {
  ClearOverlay();
  for (const auto* topic : {&refs_topic_, &readers_topic_}) {
    Status created = log_.CreateTopic(*topic, 1, compacted);
    if (!created.ok() && created.code() != Status::Code::kAlreadyExists) return created;
  }
  ASSIGN_OR_RAISE(auto built, log_.ReadLatest({readers_topic_, 0}, kBuiltKey));
  if (!built || !built->value) RETURN_NOT_OK(BuildReaders());
  return LoadReadTables();
}

// One seek per table: after a table's first key, skip past all of its keys.
Status DependencyIndex::LoadReadTables() {
  read_tables_.clear();
  any_row_tables_.clear();
  std::string after;
  for (;;) {
    ASSIGN_OR_RAISE(auto page, log_.ReadLatestByPrefix({readers_topic_, 0}, "", after, 1));
    if (page.empty()) return Status::OK();
    const std::string& key = page.front().key;
    const size_t sep = key.find('\0');
    if (sep == std::string::npos) {  // the completion record
      after = key;
      continue;
    }
    const std::string table = key.substr(0, sep);
    read_tables_.insert(table);
    ASSIGN_OR_RAISE(auto whole, log_.ReadLatestByPrefix({readers_topic_, 0}, ReaderKey(table, kAnyRow, ""), "", 1));
    if (!whole.empty()) any_row_tables_.insert(table);
    after = table + '\x01';  // sorts after every "table \0 ..." key
  }
}

// Pages through the latest live refs (key order), so superseded and deleted
// ones never come up.
Status DependencyIndex::BuildReaders() {
  spdlog::info("building '{}' from '{}'", readers_topic_, refs_topic_);
  std::string after;
  for (;;) {
    ASSIGN_OR_RAISE(auto page, log_.ReadLatestByPrefix({refs_topic_, 0}, "", after, kPage));
    std::vector<log::RecordIn> out;
    for (const auto& r : page) {
      ASSIGN_OR_RAISE(auto refs, ParseRefs(refs_topic_, r));
      for (const auto& [table, key] : refs) out.push_back({ReaderKey(table, key, r.key), "", {}, log::kNoTimestamp});
    }
    if (page.size() < kPage) out.push_back({kBuiltKey, "1", {}, log::kNoTimestamp});
    RETURN_NOT_OK(log_.Append({readers_topic_, 0}, std::move(out)).status());
    if (page.size() < kPage) return Status::OK();
    after = page.back().key;
  }
}

Status DependencyIndex::Set(const std::string& row, std::vector<Ref> refs, const Seen& seen,
                            std::vector<log::RecordIn>* refs_out, std::vector<log::RecordIn>* readers_out) {
  auto seen_at = [&](const Ref& ref) {
    auto it = seen.find(ref);
    return it == seen.end() ? log::Offset{-1} : it->second;
  };
  std::sort(refs.begin(), refs.end());
  refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  std::vector<Ref> old;
  if (auto it = overlay_.find(row); it != overlay_.end()) {
    old = it->second;
  } else {
    ASSIGN_OR_RAISE(auto latest, log_.ReadLatest({refs_topic_, 0}, row));
    if (latest) {
      ASSIGN_OR_RAISE(old, ParseRefs(refs_topic_, *latest));
    }
    std::sort(old.begin(), old.end());
  }
  // Unchanged refs keep the offsets they were first read at: a later change
  // then maps the row again even if it read that change meanwhile (once too
  // often, never too few).
  if (old == refs) return Status::OK();
  refs_out->push_back(
      {row, refs.empty() ? std::nullopt : std::optional<std::string>(json(refs).dump()), {}, log::kNoTimestamp});
  std::vector<Ref> gone, added;
  std::set_difference(old.begin(), old.end(), refs.begin(), refs.end(), std::back_inserter(gone));
  std::set_difference(refs.begin(), refs.end(), old.begin(), old.end(), std::back_inserter(added));
  for (const auto& [table, key] : gone) {
    readers_out->push_back({ReaderKey(table, key, row), std::nullopt, {}, log::kNoTimestamp});
  }
  for (const auto& ref : added) {
    const log::Offset at = seen_at(ref);
    readers_out->push_back(
        {ReaderKey(ref.first, ref.second, row), at < 0 ? std::string() : std::to_string(at), {}, log::kNoTimestamp});
  }
  for (const auto& ref : refs) {
    overlay_readers_[ReaderKey(ref.first, ref.second, "")][row] = seen_at(ref);
    read_tables_.insert(ref.first);
    if (ref.second == kAnyRow) any_row_tables_.insert(ref.first);
  }
  overlay_[row] = std::move(refs);
  return Status::OK();
}

Result<std::vector<DependencyIndex::Reader>> DependencyIndex::Readers(const std::string& prefix,
                                                                      const std::string& table) {
  std::vector<Reader> rows;
  if (!read_tables_.count(table)) return rows;
  std::string after;
  for (;;) {
    ASSIGN_OR_RAISE(auto page, log_.ReadLatestByPrefix({readers_topic_, 0}, prefix, after, kPage));
    for (const auto& r : page) {
      const size_t sep = r.key.find('\0', table.size() + 1);
      if (sep == std::string::npos) continue;
      std::string row = r.key.substr(sep + 1);
      if (overlay_.count(row)) continue;  // the overlay knows better
      log::Offset seen = -1;  // unknown (written before offsets were kept): mapped again
      if (r.value && !r.value->empty()) {
        std::from_chars(r.value->data(), r.value->data() + r.value->size(), seen);
      }
      rows.emplace_back(std::move(row), seen);
    }
    if (page.size() < kPage) break;
    after = page.back().key;
  }
  for (auto it = overlay_readers_.lower_bound(prefix); it != overlay_readers_.end() && it->first.starts_with(prefix);
       ++it) {
    const std::string ref_key = it->first.substr(table.size() + 1, it->first.size() - table.size() - 2);
    for (const auto& [row, seen] : it->second) {
      const auto& now = overlay_.at(row);
      if (std::binary_search(now.begin(), now.end(), Ref{table, ref_key})) rows.emplace_back(row, seen);
    }
  }
  // One per row (a row read the key once): the first, by offset.
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end(), [](const Reader& a, const Reader& b) { return a.first == b.first; }),
             rows.end());
  return rows;
}

std::vector<std::string> DependencyIndex::Rows(std::vector<Reader> readers) {
  std::vector<std::string> rows;
  rows.reserve(readers.size());
  for (auto& [row, seen] : readers) rows.push_back(std::move(row));
  return rows;
}

Result<std::vector<DependencyIndex::Reader>> DependencyIndex::DependentsSeen(const std::string& table,
                                                                             const std::string& key) {
  if (key == kAnyRow && !any_row_tables_.count(table)) return std::vector<Reader>{};
  return Readers(ReaderKey(table, key, ""), table);
}

Result<std::vector<std::string>> DependencyIndex::Dependents(const std::string& table, const std::string& key) {
  ASSIGN_OR_RAISE(auto readers, DependentsSeen(table, key));
  return Rows(std::move(readers));
}

Result<std::vector<std::string>> DependencyIndex::AllDependents(const std::string& table) {
  ASSIGN_OR_RAISE(auto readers, Readers(table + '\0', table));
  return Rows(std::move(readers));
}

Result<bool> DependencyIndex::HasDependents(const std::string& table) {
  if (!read_tables_.count(table)) return false;
  const std::string prefix = table + '\0';
  if (auto it = overlay_readers_.lower_bound(prefix); it != overlay_readers_.end() && it->first.starts_with(prefix)) {
    return true;
  }
  ASSIGN_OR_RAISE(auto page, log_.ReadLatestByPrefix({readers_topic_, 0}, prefix, "", 1));
  return !page.empty();
}

}  // namespace ghostlog::transform
