#include "events.h"

#include "pg_types.h"

namespace ghostlog::capture {

Result<nlohmann::json> RowToJson(const TableSchema& t, const pgoutput::Tuple& tuple) {
  if (tuple.size() != t.columns.size()) {
    return Status::Corruption("table " + t.qualified() + ": row has " + std::to_string(tuple.size()) +
                              " columns, its schema " + std::to_string(t.columns.size()));
  }
  nlohmann::json row = nlohmann::json::object();
  for (size_t i = 0; i < tuple.size(); ++i) {
    const ColumnSchema& c = t.columns[i];
    const pgoutput::Datum& d = tuple[i];
    switch (d.kind) {
      case pgoutput::Datum::Kind::kNull:
        row[c.name] = nullptr;
        break;
      case pgoutput::Datum::Kind::kUnchangedToast:
        row[c.name] = kUnavailableValue;
        break;
      case pgoutput::Datum::Kind::kText: {
        auto v = TextToJson(c.type_oid, d.bytes);
        if (!v.ok()) return v.status().WithContext("table " + t.qualified() + " column " + c.name);
        row[c.name] = std::move(v).value();
        break;
      }
      case pgoutput::Datum::Kind::kBinary:
        return Status::NotSupported("table " + t.qualified() + " column " + c.name +
                                    ": binary-format values are not requested and not supported");
    }
  }
  return row;
}

std::string KeyFromRow(const TableSchema& t, const nlohmann::json& row) {
  nlohmann::json key = nlohmann::json::object();
  bool any = false;
  for (const auto& c : t.columns) {
    if (!c.key) continue;
    any = true;
    auto it = row.find(c.name);
    key[c.name] = it == row.end() ? nlohmann::json(nullptr) : *it;
  }
  return any ? key.dump() : std::string();
}

log::RecordIn ChangeEvent(const TableSchema& t, std::string key, char op, nlohmann::json before, nlohmann::json after,
                          const SourceInfo& src, const TxnPosition* txn, int64_t now_ms) {
  nlohmann::json source{
      {"version", "ghostlog-" GHOSTLOG_VERSION},
      {"connector", "postgresql"},
      {"name", src.name},
      {"ts_ms", src.ts_ms},
      {"snapshot", src.snapshot},
      {"db", src.db},
      {"schema", t.schema},
      {"table", t.table},
      {"txId", src.xid},
      {"lsn", src.lsn},
      {"commit_lsn", pgoutput::FormatLsn(src.commit_lsn)},
      {"sequence", nlohmann::json::array({std::to_string(src.commit_lsn), std::to_string(src.lsn)}).dump()}};
  nlohmann::json v{{"before", std::move(before)},
                   {"after", std::move(after)},
                   {"op", std::string(1, op)},
                   {"source", std::move(source)},
                   {"ts_ms", now_ms}};
  if (txn != nullptr) {
    v["transaction"] = {
        {"id", txn->id}, {"total_order", txn->total_order}, {"data_collection_order", txn->data_collection_order}};
  } else {
    v["transaction"] = nullptr;
  }
  log::RecordIn r;
  r.key = std::move(key);
  r.value = v.dump();
  r.headers.push_back({"ghostlog.schema_version", std::to_string(t.version)});
  return r;
}

log::RecordIn Tombstone(const TableSchema& t, std::string key) {
  log::RecordIn r;
  r.key = std::move(key);
  r.headers.push_back({"ghostlog.schema_version", std::to_string(t.version)});
  return r;
}

}  // namespace ghostlog::capture
