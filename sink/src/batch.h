// A batch of source transactions, collapsed per target table and key.
//
// Changes to one key within a batch collapse to the last one: a delete, or an
// upsert of the last row image (with the columns it leaves out taken from the
// upsert it replaces, as applying both in turn would). A TRUNCATE ends the table's current segment,
// so that what came before it is applied (and wiped) first, and what comes
// after lands on the emptied table.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ghostlog/log/types.h"

namespace ghostlog::sink {

// One key's change, its values already in COPY text form for the target.
struct Change {
  bool is_delete = false;
  // The key's first change in this batch was an insert (or a snapshot row):
  // the target cannot have the key yet, unless this is a replay.
  bool insert_first = false;
  const std::vector<size_t>* columns = nullptr;  // target columns `line` holds, ascending (TargetTable::shapes)
  std::string line;                              // one COPY text line, without the newline
  const std::string* topic = nullptr;
  log::Offset offset = 0;
};

struct Segment {
  bool truncate_first = false;              // TRUNCATE before applying the changes below
  std::map<std::string, Change> by_key;     // event key bytes -> last change
};

struct TableBatch {
  std::vector<Segment> segments = {Segment{}};
};

// One target transaction being built from whole source transactions. Only
// the current piece (at most max_batch_events changes) is held in memory: a
// source transaction larger than that is applied piece by piece into the
// open target transaction, which commits only at a source-transaction
// boundary, so the target never shows part of a source transaction.
struct Batch {
  std::map<std::string, TableBatch> tables;  // the piece in memory, by target "schema.table"
  int64_t piece_events = 0;
  int64_t events = 0;  // in the whole target transaction
  int64_t transactions = 0;
  int64_t rows = 0;             // written into the open target transaction (counted once it commits)
  log::Offset next_offset = 0;  // transaction topic position after this batch
  int64_t last_source_ts_ms = 0;
  bool begun = false;                          // BEGIN sent: earlier pieces are applied, not committed
  bool apply_failed = false;                   // the target refused a statement (the connection is fine)
  std::map<std::string, std::string> staging;  // staging table per (table, kind, columns), reused by pieces

  // Adds `c` as the key's change, replacing the one before it in this
  // segment, if any, after `merge(before, c)` (one lookup for both).
  template <typename Merge>
  void Add(const std::string& table, Change c, const std::string& key, Merge&& merge) {
    auto [it, fresh] = tables[table].segments.back().by_key.try_emplace(key);
    if (!fresh) {
      c.insert_first = it->second.insert_first;  // what the target held before the batch counts
      merge(it->second, &c);
    }
    it->second = std::move(c);
    ++events;
    ++piece_events;
  }
  void Truncate(const std::string& table) {
    tables[table].segments.push_back(Segment{true, {}});
    ++events;
    ++piece_events;
  }
  void ClearPiece() {
    tables.clear();
    piece_events = 0;
  }
};

}  // namespace ghostlog::sink
