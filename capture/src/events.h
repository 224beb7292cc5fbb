// Debezium-compatible change events built from pgoutput tuples.
//
// Value: {"before", "after", "op", "source", "transaction", "ts_ms"} exactly as
// Debezium's PostgreSQL connector emits it with JSON converters and schemas
// disabled, so Debezium consumers read it unchanged. Key: the replica-identity
// (primary key) columns as a JSON object; empty for tables without one.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ghostlog/log/types.h"
#include "pg_types.h"
#include "pgoutput.h"
#include "schema_registry.h"

namespace ghostlog::capture {

// Placeholder for an unchanged TOAST value that could not be filled in;
// Debezium's own, so that Debezium-aware consumers recognise it.
// (As JSON text.)
inline constexpr std::string_view kUnavailableJson = "\"__debezium_unavailable_value\"";

struct SourceInfo {
  std::string name;  // topic prefix (Debezium's topic.prefix / server name)
  std::string db;
  uint32_t xid = 0;
  pgoutput::Lsn lsn = 0;           // the change's own LSN
  pgoutput::Lsn commit_lsn = 0;    // its transaction's commit LSN
  int64_t ts_ms = 0;               // commit time
  const char* snapshot = "false";  // "true" / "last" / "false", as Debezium
};

struct TxnPosition {
  std::string id;  // "xid:commit_lsn"
  int64_t total_order = 0;
  int64_t data_collection_order = 0;
};

// One column's value for RowText: NULL, PostgreSQL's text of it (converted
// by the column's type), or JSON text written as it is (a value taken from an
// earlier event, or Debezium's placeholder).
struct Cell {
  enum class Kind { kNull, kPgText, kJson } kind = Kind::kNull;
  std::string_view text;
};

// The row object and the key object ("" without key columns) as JSON text,
// members in name order (`order` is t.name_order), straight from `value(i)`,
// column i's Cell. The key's json and jsonb values have the parsed form
// (AppendParsedValueJson) record keys have always had; the row's are as
// printed (AppendValueJson).
template <class Value>
Status RowText(const TableSchema& t, const std::vector<size_t>& order, Value&& value, std::string* row,
               std::string* key);
// The same for a decoded tuple. An unchanged TOAST value becomes
// `unchanged[i]` (JSON text, the column's value in an earlier image) if
// given, else kUnavailableJson.
Status TupleRowText(const TableSchema& t, const pgoutput::Tuple& tuple, std::string* row, std::string* key,
                    std::span<const std::string_view> unchanged = {});

// The members of the `after` object of a change event's JSON text, each as
// (name, value) spans of that text: the name with its quotes and escapes as
// AppendJsonString writes it, the value as written. False if `event` is not a
// JSON object with an `after` object (values are not checked: see
// IsJsonText).
bool AfterMembers(std::string_view event, std::vector<std::pair<std::string_view, std::string_view>>* members);

// `before` and `after` are JSON text ("null" for none); `after`'s buffer
// becomes the event's.
log::RecordIn ChangeEventText(const TableSchema& t, std::string key, char op, std::string_view before,
                              std::string after, const SourceInfo& src, const TxnPosition* txn, int64_t now_ms);
log::RecordIn Tombstone(const TableSchema& t, std::string key);

template <class Value>
Status RowText(const TableSchema& t, const std::vector<size_t>& order, Value&& value, std::string* row,
               std::string* key) {
  if (order.size() != t.columns.size()) {
    return Status::Corruption("table " + t.qualified() + ": a column order of " + std::to_string(order.size()) +
                              " for " + std::to_string(t.columns.size()) + " columns");
  }
  row->assign(1, '{');
  key->clear();
  for (size_t i : order) {
    const ColumnSchema& c = t.columns[i];
    if (row->size() > 1) row->push_back(',');
    const size_t member = row->size();
    AppendJsonString(row, c.name);
    row->push_back(':');
    const Cell v = value(i);
    if (v.kind == Cell::Kind::kPgText) {
      Status s = AppendValueJson(c.type_oid, v.text, row);
      if (!s.ok()) return s.WithContext("table " + t.qualified() + " column " + c.name);
    } else {
      row->append(v.kind == Cell::Kind::kJson ? v.text : "null");
    }
    if (!c.key) continue;
    key->append(key->empty() ? "{" : ",");
    if (v.kind == Cell::Kind::kPgText && (c.type_oid == oid::kJson || c.type_oid == oid::kJsonb)) {
      AppendJsonString(key, c.name);
      key->push_back(':');
      RETURN_NOT_OK(AppendParsedValueJson(c.type_oid, v.text, key));
    } else {
      key->append(*row, member);
    }
  }
  row->push_back('}');
  if (!key->empty()) key->push_back('}');
  return Status::OK();
}

}  // namespace ghostlog::capture
