// Live lookups: which mapped source rows read which other rows through
// lookup(), so that a change to a looked-up row (a zone renamed, a period's
// length corrected) re-maps every row that used it: a foreign-key join kept
// current, as Kafka Streams' table-table joins do.
//
// The index lives in the changelog, not in memory, so a national dataset
// does not grow the process: two compacted topics, written in the same
// atomic write as the output they explain.
//   refs    (forward) key: row            value: JSON [[table, key], ...] it read
//   readers (reverse) key: table \0 key \0 row   value: "" (tombstone: no longer)
// Reads of the batch being built see its own changes through an overlay that
// lives until the batch is written (Committed) or dropped (Discard).
//
// A readers record's value is the offset of the looked-up row's record that
// the reader read ("" if unknown). A change at or below it is one the reader
// has already seen, so it is not mapped again for it: a catch-up maps a row
// after the rows it looks up are all in the changelog, and their snapshot
// events, mapped later, would otherwise map every reader a second time.
//
// Thread-safety: none; the transform's thread owns it.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ghostlog/log/changelog.h"

namespace ghostlog::transform {

// The record key of a reference to a whole table: recorded by a lookup() into
// a table capture has not recorded yet, so that its first event re-maps the row.
inline constexpr char kAnyRow[] = "*";

class DependencyIndex {
 public:
  using Ref = std::pair<std::string, std::string>;  // source table, record key
  using Seen = std::map<Ref, log::Offset>;          // offset of the record read, per ref

  DependencyIndex(log::Changelog& log, std::string refs_topic, std::string readers_topic);

  // Creates both topics if needed and, for a data dir written before the
  // reverse topic existed, builds it from the forward one (idempotently: an
  // interrupted build is redone, ended by a completion record).
  Status Open(const log::TopicConfig& compacted);

  // Sets the rows `row` (mapping name '\0' source record key) read, and the
  // offsets it read them at, appending the records that persist the change
  // (nothing if the refs did not change).
  Status Set(const std::string& row, std::vector<Ref> refs, const Seen& seen, std::vector<log::RecordIn>* refs_out,
             std::vector<log::RecordIn>* readers_out);

  // The rows that read (table, key); empty if none.
  Result<std::vector<std::string>> Dependents(const std::string& table, const std::string& key);
  // The same, each with the offset of the record it read (-1: unknown, or
  // none), in row order: a change at or below it is one the reader has seen.
  using Reader = std::pair<std::string, log::Offset>;
  Result<std::vector<Reader>> DependentsSeen(const std::string& table, const std::string& key);
  // The rows that read any row of `table` (a TRUNCATE changes them all).
  Result<std::vector<std::string>> AllDependents(const std::string& table);
  // Whether any row reads `table` (may say yes for a row the batch just
  // stopped reading it: a harmless extra look).
  Result<bool> HasDependents(const std::string& table);

  // The batch was written, or dropped: its overlay is forgotten.
  void ClearOverlay() {
    overlay_.clear();
    overlay_readers_.clear();
  }

 private:
  // Rows of the readers records under `prefix` (table \0 [key \0]), read from
  // the changelog, minus rows the overlay changed, plus the overlay's own.
  Result<std::vector<Reader>> Readers(const std::string& prefix, const std::string& table);
  static std::vector<std::string> Rows(std::vector<Reader> readers);
  Status BuildReaders();
  Status LoadReadTables();

  log::Changelog& log_;
  const std::string refs_topic_, readers_topic_;
  std::map<std::string, std::vector<Ref>> overlay_;               // row -> refs set in this batch
  std::map<std::string, std::map<std::string, log::Offset>> overlay_readers_;  // table \0 key \0 -> row -> seen
  // Tables any row has ever looked up (a few names): most events are of tables
  // nobody looks up, and this spares them a read of the readers topic.
  std::set<std::string> read_tables_;
  // Tables some row may have read as a whole (kAnyRow: read before capture
  // recorded the table, during a first snapshot): every event asks, and this
  // spares the others a second read of the readers topic. A superset: a
  // table stays in it until the next start.
  std::set<std::string> any_row_tables_;
};

}  // namespace ghostlog::transform
