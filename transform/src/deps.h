// Live lookups: which mapped source rows read which other rows through
// lookup(), so that a change to a looked-up row (a zone renamed, a period's
// length corrected) re-maps every row that used it: a foreign-key join kept
// current, as Kafka Streams' table-table joins do.
//
// The index lives in memory (forward: row -> refs; reverse: table -> key ->
// rows) and is persisted as a compacted topic, one record per mapped row that
// used lookups, written in the same atomic write as the output it explains;
// it is rebuilt from that topic at start.
//
// Thread-safety: none; the transform's thread owns it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ghostlog/log/changelog.h"

namespace ghostlog::transform {

class DependencyIndex {
 public:
  using Ref = std::pair<std::string, std::string>;  // source table, record key

  // Replaces the in-memory index with what `topic` holds.
  Status Load(log::Changelog& log, const std::string& topic);

  // Sets the rows `row` (mapping name '\0' source record key) read; returns
  // the record that persists the change, or nullopt if nothing changed.
  std::optional<log::RecordIn> Set(const std::string& row, std::vector<Ref> refs);

  // The rows that read (table, key); empty if none.
  std::vector<std::string> Dependents(const std::string& table, const std::string& key) const;
  // The rows that read any row of `table` (a TRUNCATE changes them all).
  std::vector<std::string> AllDependents(const std::string& table) const;
  bool HasDependents(const std::string& table) const { return reverse_.count(table) > 0; }
  size_t rows() const { return forward_.size(); }

 private:
  void Apply(const std::string& row, std::vector<Ref> refs);

  std::map<std::string, std::vector<Ref>> forward_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> reverse_;
};

}  // namespace ghostlog::transform
