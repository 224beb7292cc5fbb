// A batch of source transactions, collapsed per target table and key.
//
// Changes to one key within a batch collapse to the last one: a delete, or an
// upsert of the last row image. A TRUNCATE ends the table's current segment,
// so that what came before it is applied (and wiped) first, and what comes
// after lands on the emptied table.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ghostlog/log/types.h"

namespace ghostlog::sink {

struct Change {
  bool is_delete = false;
  nlohmann::json row;  // "after" for upserts, "before" (at least the key) for deletes
  std::string topic;
  log::Offset offset = 0;
};

struct Segment {
  bool truncate_first = false;              // TRUNCATE before applying the changes below
  std::map<std::string, Change> by_key;     // event key bytes -> last change
};

struct TableBatch {
  std::string topic;
  std::vector<Segment> segments = {Segment{}};
};

struct Batch {
  std::map<std::string, TableBatch> tables;  // by target "schema.table"
  int64_t events = 0;
  int64_t transactions = 0;
  log::Offset next_offset = 0;  // transaction topic position after this batch
  int64_t last_source_ts_ms = 0;

  void Add(const std::string& table, Change c, const std::string& key) {
    TableBatch& t = tables[table];
    t.topic = c.topic;
    t.segments.back().by_key[key] = std::move(c);
    ++events;
  }
  void Truncate(const std::string& table, const std::string& topic) {
    TableBatch& t = tables[table];
    t.topic = topic;
    t.segments.push_back(Segment{true, {}});
    ++events;
  }
};

}  // namespace ghostlog::sink
