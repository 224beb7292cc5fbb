// Debezium-compatible change events built from pgoutput tuples.
//
// Value: {"before", "after", "op", "source", "transaction", "ts_ms"} exactly as
// Debezium's PostgreSQL connector emits it with JSON converters and schemas
// disabled, so Debezium consumers read it unchanged. Key: the replica-identity
// (primary key) columns as a JSON object; empty for tables without one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ghostlog/log/types.h"
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

log::RecordIn ChangeEvent(const TableSchema& t, std::string key, char op, nlohmann::json before, nlohmann::json after,
                          const SourceInfo& src, const TxnPosition* txn, int64_t now_ms);
log::RecordIn Tombstone(const TableSchema& t, std::string key);

}  // namespace ghostlog::capture
