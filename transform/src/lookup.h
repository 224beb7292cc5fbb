// lookup() over the changelog: the latest captured row of a source table by
// primary key, read from its compacted topic through the key index.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ghostlog/log/changelog.h"
#include "sql.h"

namespace ghostlog::transform {

// The record key of a reference to a whole table: recorded by a lookup() into
// a table capture has not recorded yet, so that its first event re-maps the row.
inline constexpr char kAnyRow[] = "*";

class ChangelogLookup : public LookupSource {
 public:
  ChangelogLookup(log::Changelog& log, std::string input_prefix) : log_(log), prefix_(std::move(input_prefix)) {}

  Result<std::optional<nlohmann::json>> Lookup(const std::string& table, const nlohmann::json& key) override;

  // While set, every lookup() is recorded as (table, record key): the rows a
  // mapped row depends on, so that a change to them re-emits it. A table
  // without a recorded schema yet (capture's snapshot reaches it later) reads
  // as "no row" and is recorded as (table, kAnyRow).
  void Collect(std::vector<std::pair<std::string, std::string>>* refs) { refs_ = refs; }

  // The stage maps a TRUNCATE of `table`: forget where its last one was.
  void Truncated(const std::string& table) { truncated_at_.erase(table); }

  // The columns of `table` ("schema.table") as capture last recorded them in
  // INPUT.schema; empty if capture has not seen the table yet.
  Result<std::vector<std::string>> Columns(const std::string& table);

 private:
  struct TableInfo {
    std::vector<std::string> columns, key;
  };
  Result<const TableInfo*> Info(const std::string& table);
  Result<log::Offset> TruncatedAt(const std::string& table, const std::string& topic);

  log::Changelog& log_;
  std::string prefix_;
  std::map<std::string, TableInfo> tables_;
  std::set<std::string> warned_;                  // tables reported as not captured yet
  std::map<std::string, log::Offset> truncated_at_;  // table -> offset of its latest TRUNCATE, -1: none
  std::vector<std::pair<std::string, std::string>>* refs_ = nullptr;
};

}  // namespace ghostlog::transform
