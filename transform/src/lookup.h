// lookup() over the changelog: the latest captured row of a source table by
// primary key, read from its compacted topic through the key index.
//
// lookup_by() finds a row by other columns (a supply line by supervisory node
// and program). The changelog indexes keys only, so the stage keeps, per
// (table, columns) that a mapping looks up, an index in memory: built from
// the table's compacted topic at the first lookup_by, kept current by
// Changed() for every event of the table the stage maps. It holds the
// record key and the looked-up values of each row: meant for reference
// tables (hundreds to tens of thousands of rows), not for the big ones.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "deps.h"
#include "ghostlog/log/changelog.h"
#include "sql.h"

namespace ghostlog::transform {

class ChangelogLookup : public LookupSource {
 public:
  ChangelogLookup(log::Changelog& log, std::string input_prefix) : log_(log), prefix_(std::move(input_prefix)) {}

  Result<std::optional<nlohmann::json>> Lookup(const std::string& table, const nlohmann::json& key) override;
  Result<std::optional<nlohmann::json>> LookupBy(const std::string& table, const std::vector<std::string>& columns,
                                                 const std::vector<nlohmann::json>& values) override;

  // The row `record_key` of `table` changed (or, `truncated`, every row did):
  // updates the lookup_by() indexes of the table and returns the reference
  // keys whose readers must be mapped again: those of the values the row
  // holds now (it may be what they find now). Readers that found the row
  // before also recorded its record key, so they are mapped again as
  // lookup()'s readers are. Empty if no index covers the table.
  Result<std::vector<std::string>> Changed(const std::string& table, const std::string& record_key, bool truncated);
  // Whether lookup_by() keeps an index of `table` (its events must then be
  // read even when no mapped row depends on them at the moment).
  bool Indexed(const std::string& table) const { return expected_.count(table) > 0 || indexes_.count(table) > 0; }
  // A lookup_by(table, columns) the mappings make: its index is kept from
  // the table's next event on, or built at the first lookup.
  void Expect(const std::string& table, std::vector<std::string> columns) {
    expected_[table].insert(std::move(columns));
  }

  // While set, every lookup() is recorded as (table, record key): the rows a
  // mapped row depends on, so that a change to them re-emits it. A table
  // without a recorded schema yet (capture's snapshot reaches it later) reads
  // as "no row" and is recorded as (table, kAnyRow).
  // `seen` (with `refs`) gets the offset of the record each lookup read (-1
  // if it found no record).
  // While set, a key is also read once: further lookups of it (one per
  // column it fills, and the `where`) get the same row image, so the mapped
  // row never mixes two versions of a looked-up row that capture changed
  // meanwhile. Setting or clearing it forgets those images.
  void Collect(std::vector<std::pair<std::string, std::string>>* refs,
               std::map<std::pair<std::string, std::string>, log::Offset>* seen) {
    refs_ = refs;
    seen_ = seen;
    read_.clear();
  }

  // The stage maps a TRUNCATE of `table`: forget where its last one was.
  void Truncated(const std::string& table) {
    truncated_at_.erase(table);
    recent_.clear();  // they saw the TRUNCATE where it was
  }

  // Capture recorded a new schema for `table` (nullopt: for some tables) (a
  // column added, another primary key): what was learnt of the old one is
  // read again when needed.
  void SchemaChanged(const std::optional<std::string>& table) {
    recent_.clear();
    if (!table) {
      tables_.clear();
      indexes_.clear();
      return;
    }
    tables_.erase(*table);
    warned_.erase(*table);
    indexes_.erase(*table);
  }

  // The columns of `table` ("schema.table") as capture last recorded them in
  // INPUT.schema; empty if capture has not seen the table yet.
  Result<std::vector<std::string>> Columns(const std::string& table);

 private:
  struct TableInfo {
    std::vector<std::string> columns, key;
  };
  // One lookup_by() index: the rows of a table by the values of some columns.
  struct ColumnIndex {
    std::vector<std::string> columns;
    std::map<std::string, std::set<std::string>> keys;  // values (JSON array text) -> record keys
    std::map<std::string, std::string> values;          // record key -> values
  };
  Result<const TableInfo*> Info(const std::string& table);
  // Info, or nullptr (recorded as a reference to the whole table, and warned
  // about once) for a table capture has not recorded yet.
  Result<const TableInfo*> Captured(const std::string& table);
  Result<log::Offset> TruncatedAt(const std::string& table, const std::string& topic);
  // Records in `seen_` that the reader read `record_key` of `table` at `at`.
  void Saw(const std::string& table, const std::string& record_key, log::Offset at);
  // The latest live row image of a record key of `table`, or nullopt (while
  // collecting: the image this evaluation read first).
  Result<std::optional<nlohmann::json>> LatestRow(const std::string& table, const std::string& record_key);
  Result<std::optional<nlohmann::json>> ReadRow(const std::string& table, const std::string& record_key);
  // The changelog's latest row image of the key, and the offset a reader of it saw (-1: none).
  Result<std::pair<std::optional<nlohmann::json>, log::Offset>> ReadLatestRow(const std::string& table,
                                                                              const std::string& topic,
                                                                              const std::string& record_key);
  Result<ColumnIndex*> Index(const std::string& table, const std::vector<std::string>& columns);
  // The reference key readers of (columns = values) are recorded under.
  static std::string ByKey(const ColumnIndex& index, const std::string& values);

  log::Changelog& log_;
  std::string prefix_;
  std::map<std::string, TableInfo> tables_;
  std::set<std::string> warned_;                  // tables reported as not captured yet
  std::map<std::string, log::Offset> truncated_at_;  // table -> offset of its latest TRUNCATE, -1: none
  std::map<std::string, std::map<std::string, ColumnIndex>> indexes_;   // table -> column list -> index
  std::map<std::string, std::set<std::vector<std::string>>> expected_;  // table -> column lists (Expect)
  std::vector<std::pair<std::string, std::string>>* refs_ = nullptr;
  std::map<std::pair<std::string, std::string>, log::Offset>* seen_ = nullptr;
  // The rows this evaluation read, by (table, record key): while Collect is set.
  std::map<std::pair<std::string, std::string>, std::optional<nlohmann::json>> read_;
  // Rows read lately, by table '\0' record key, each with its table topic's
  // bounds when read: while they are the same, nothing was appended to the
  // topic or removed from it, so the key's latest record is the one read.
  // Reference rows (a facility, a product, a period) are looked up by many
  // rows in a row; this spares each of them the record's read and parse.
  // Emptied when it holds kRecentRows (a few MiB), at a TRUNCATE and at a
  // schema change.
  struct Recent {
    log::Offset start, end, records;  // the topic's, when read
    log::Offset saw;                  // what Saw() recorded
    std::optional<nlohmann::json> row;
  };
  static constexpr size_t kRecentRows = 1024;
  std::unordered_map<std::string, Recent> recent_;
};

}  // namespace ghostlog::transform
