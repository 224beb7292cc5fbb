// Debezium-compatible change events built from pgoutput tuples.
//
// Value: {"before", "after", "op", "source", "transaction", "ts_ms"} exactly as
// Debezium's PostgreSQL connector emits it with JSON converters and schemas
// disabled, so Debezium consumers read it unchanged. Key: the replica-identity
// (primary key) columns as a JSON object; empty for tables without one.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
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
inline constexpr const char* kUnavailableValue = "__debezium_unavailable_value";

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

// Column name -> typed JSON value. Unchanged TOAST values get kUnavailableValue.
Result<nlohmann::json> RowToJson(const TableSchema& t, const pgoutput::Tuple& tuple);
// Compact JSON of the key columns, taken from a row object; "" if the table has none.
std::string KeyFromRow(const TableSchema& t, const nlohmann::json& row);

// The row object and the key object (KeyFromRow's text; "" without key
// columns) as JSON text, straight from text-format values: `value(i)` gives
// column i's text, or nullopt for NULL. The same text as RowToJson + dump,
// without building json values; `order` is t.name_order.
template <class Value>
Status RowText(const TableSchema& t, const std::vector<size_t>& order, Value&& value, std::string* row,
               std::string* key);
// The same for a decoded tuple. Unchanged TOAST values take the json path.
Status TupleRowText(const TableSchema& t, const pgoutput::Tuple& tuple, std::string* row, std::string* key);

// `before` and `after` are JSON text ("null" for none).
log::RecordIn ChangeEventText(const TableSchema& t, std::string key, char op, std::string_view before,
                              std::string_view after, const SourceInfo& src, const TxnPosition* txn, int64_t now_ms);
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
    if (std::optional<std::string_view> v = value(i)) {
      Status s = AppendValueJson(c.type_oid, *v, row);
      if (!s.ok()) return s.WithContext("table " + t.qualified() + " column " + c.name);
    } else {
      row->append("null");
    }
    if (c.key) key->append(key->empty() ? "{" : ",").append(*row, member);
  }
  row->push_back('}');
  if (!key->empty()) key->push_back('}');
  return Status::OK();
}

}  // namespace ghostlog::capture
