#include "events.h"

#include <algorithm>

#include "json_text.h"
#include "pg_types.h"

namespace ghostlog::capture {

Status TupleRowText(const TableSchema& t, const pgoutput::Tuple& tuple, std::string* row, std::string* key,
                    std::span<const std::string_view> unchanged) {
  if (tuple.size() != t.columns.size()) {
    return Status::Corruption("table " + t.qualified() + ": row has " + std::to_string(tuple.size()) +
                              " columns, its schema " + std::to_string(t.columns.size()));
  }
  for (size_t i = 0; i < tuple.size(); ++i) {
    if (tuple[i].kind == pgoutput::Datum::Kind::kBinary) {
      return Status::NotSupported("table " + t.qualified() + " column " + t.columns[i].name +
                                  ": binary-format values are not requested and not supported");
    }
  }
  // A schema from the registry carries its order; any other is sorted here.
  std::vector<size_t> sorted;
  const std::vector<size_t>& order = t.name_order.size() == t.columns.size() ? t.name_order : (sorted = NameOrder(t));
  return RowText(
      t, order,
      [&](size_t i) -> Cell {
        switch (tuple[i].kind) {
          case pgoutput::Datum::Kind::kText:
            return {Cell::Kind::kPgText, tuple[i].bytes};
          case pgoutput::Datum::Kind::kUnchangedToast:
            return {Cell::Kind::kJson, i < unchanged.size() && !unchanged[i].empty() ? unchanged[i] : kUnavailableJson};
          default:
            return {};
        }
      },
      row, key);
}

bool AfterMembers(std::string_view event, std::vector<std::pair<std::string_view, std::string_view>>* members) {
  std::vector<std::pair<std::string_view, std::string_view>> top;
  if (!JsonObjectMembers(event, &top)) return false;
  for (const auto& [name, value] : top) {
    if (name == "\"after\"") return value.starts_with('{') && JsonObjectMembers(value, members);
  }
  return false;
}

// The event's JSON text is written directly, in the member order nlohmann's
// sorted objects gave it before (events_test checks the two agree): building
// a json object per event and per `source` block was most of capture's CPU.
// Members follow in a fixed order, so each one's separator and name is one
// literal.
log::RecordIn ChangeEventText(const TableSchema& t, std::string key, char op, std::string_view before,
                              std::string after, const SourceInfo& src, const TxnPosition* txn, int64_t now_ms) {
  using namespace std::string_view_literals;
  // The after image becomes the event, not a copy of it: a row of big
  // values (a 40 MB bytea is 53 MB of base64) would be held twice.
  std::string v = std::move(after);
  v.reserve(512 + v.size() + before.size());
  v.insert(0, R"({"after":)"sv);
  v.append(R"(,"before":)"sv).append(before);
  v.append(R"(,"op":")"sv).push_back(op);
  v.append(R"(","source":{"commit_lsn":)"sv);
  AppendJsonString(&v, pgoutput::FormatLsn(src.commit_lsn));
  v.append(R"(,"connector":"postgresql","db":)"sv);
  AppendJsonString(&v, src.db);
  v.append(R"(,"lsn":)"sv).append(std::to_string(src.lsn));
  v.append(R"(,"name":)"sv);
  AppendJsonString(&v, src.name);
  v.append(R"(,"schema":)"sv);
  AppendJsonString(&v, t.schema);
  // A JSON array of two strings, itself as a string (Debezium's form), its
  // quotes escaped here: through AppendJsonString they took its slow path
  // (nlohmann) for every event, 7 % of capture's thread.
  v.append(R"(,"sequence":"[\")"sv).append(std::to_string(src.commit_lsn)).append(R"(\",\")"sv);
  v.append(std::to_string(src.lsn)).append(R"(\"]","snapshot":)"sv);
  AppendJsonString(&v, src.snapshot);
  v.append(R"(,"table":)"sv);
  AppendJsonString(&v, t.table);
  v.append(R"(,"ts_ms":)"sv).append(std::to_string(src.ts_ms));
  v.append(R"(,"txId":)"sv).append(std::to_string(src.xid));
  v.append(R"(,"version":"ghostlog-)" GHOSTLOG_VERSION R"("},"transaction":)"sv);
  if (txn != nullptr) {
    v.append(R"({"data_collection_order":)"sv).append(std::to_string(txn->data_collection_order));
    v.append(R"(,"id":)"sv);
    AppendJsonString(&v, txn->id);
    v.append(R"(,"total_order":)"sv).append(std::to_string(txn->total_order)).push_back('}');
  } else {
    v.append("null"sv);
  }
  v.append(R"(,"ts_ms":)"sv).append(std::to_string(now_ms)).push_back('}');
  log::RecordIn r;
  r.key = std::move(key);
  r.value = std::move(v);
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
