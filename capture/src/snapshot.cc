// The snapshot: every selected table read inside the slot's exported snapshot
// (or, when resuming after a crash, a fresh one), in primary-key chunks.
//
// Each chunk is one atomic changelog write: its rows as op "r" events, a
// SNAPSHOT record in the transaction topic, and the checkpoint naming the last
// key read. A crash therefore loses at most the chunk in flight, and a restart
// continues after the last key written.
#include <spdlog/spdlog.h>

#include <thread>

#include "capture_impl.h"
#include "pg_types.h"

namespace ghostlog::capture {

Result<TableSchema> Capture::Impl::CatalogSchema(PgConn& sql, const QualifiedName& table) {
  const std::string rel = sql.Quote(sql.QuoteIdent(table.schema) + "." + sql.QuoteIdent(table.table));
  // Key columns as pgoutput flags them: the primary key (replica identity
  // default), the replica identity index, or every column (full).
  ASSIGN_OR_RAISE(
      PgResult r,
      sql.Exec("SELECT c.oid, c.relreplident, a.attname, a.atttypid, a.atttypmod, "
               "  CASE c.relreplident WHEN 'f' THEN true "
               "    WHEN 'd' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary "
               "                          AND a.attnum = ANY (i.indkey)) "
               "    WHEN 'i' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident "
               "                          AND a.attnum = ANY (i.indkey)) "
               "    ELSE false END "
               "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
               "WHERE c.oid = " +
               rel + "::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"));
  if (PQntuples(r.get()) == 0) return Status::NotFound("table " + table.schema + "." + table.table + " has no columns");
  TableSchema t;
  t.schema = table.schema;
  t.table = table.table;
  t.relid = static_cast<pgoutput::Oid>(std::stoul(PQgetvalue(r.get(), 0, 0)));
  t.replica_identity = PQgetvalue(r.get(), 0, 1)[0];
  t.topic = schemas_.TopicFor(t.schema, t.table);
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    t.columns.push_back({PQgetvalue(r.get(), i, 2), static_cast<pgoutput::Oid>(std::stoul(PQgetvalue(r.get(), i, 3))),
                         std::stoi(PQgetvalue(r.get(), i, 4)), std::string(PQgetvalue(r.get(), i, 5)) == "t"});
  }
  return t;
}

Status Capture::Impl::RunSnapshot(PgConn& sql, const std::optional<std::string>& exported, std::stop_token stop) {
  ASSIGN_OR_RAISE(PgResult pub, sql.Exec("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = " +
                                         sql.Quote(cfg_.publication) + " ORDER BY 1, 2"));
  std::vector<QualifiedName> tables;
  for (int i = 0; i < PQntuples(pub.get()); ++i)
    tables.push_back({PQgetvalue(pub.get(), i, 0), PQgetvalue(pub.get(), i, 1)});

  RETURN_NOT_OK(sql.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  if (exported) RETURN_NOT_OK(sql.Exec("SET TRANSACTION SNAPSHOT " + sql.Quote(*exported)).status());
  // Every table locked at once, as pg_dump does: a TRUNCATE or ALTER of a
  // table not read yet waits for the snapshot instead of deadlocking with it
  // (locking each table as it is read lets one wait on the other).
  if (!tables.empty())
    RETURN_NOT_OK(sql.Exec("LOCK TABLE " + QuotedList(sql, tables) + " IN ACCESS SHARE MODE").status());
  int64_t estimate = 0;
  for (const auto& t : tables) {
    ASSIGN_OR_RAISE(auto n,
                    sql.QueryValue("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = " +
                                   sql.Quote(sql.QuoteIdent(t.schema) + "." + sql.QuoteIdent(t.table)) + "::regclass"));
    estimate += n ? std::stoll(*n) : 0;
  }
  stats_.snapshot_rows_estimated = estimate;
  stats_.snapshot_rows = cp_.snapshot->rows;
  spdlog::info("capture: snapshot of {} tables, about {} rows", tables.size(), estimate);
  for (const auto& t : tables) {
    const std::string name = t.schema + "." + t.table;
    const auto& done = cp_.snapshot->tables_done;
    if (std::find(done.begin(), done.end(), name) != done.end()) continue;
    RETURN_NOT_OK(SnapshotTable(sql, t, stop));
    if (stop.stop_requested()) {
      sql.Exec("ROLLBACK").status();
      return Status::OK();
    }
  }
  RETURN_NOT_OK(sql.Exec("COMMIT").status());
  cp_.snapshot->done = true;
  cp_.snapshot->current_table.clear();
  cp_.snapshot->last_key_json.reset();
  RETURN_NOT_OK(writer_.WriteSnapshotDone(cp_, cp_.snapshot->rows));
  spdlog::info("capture: snapshot complete, {} rows", cp_.snapshot->rows);
  return Status::OK();
}

Status Capture::Impl::SnapshotTable(PgConn& sql, const QualifiedName& table, std::stop_token stop) {
  ASSIGN_OR_RAISE(TableSchema schema, CatalogSchema(sql, table));
  const std::string name = schema.qualified();
  std::vector<size_t> key_cols;
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    if (schema.columns[i].key) key_cols.push_back(i);
  }
  std::string cols, keys;
  for (const auto& c : schema.columns) cols += (cols.empty() ? "" : ", ") + sql.QuoteIdent(c.name);
  for (size_t k : key_cols) keys += (keys.empty() ? "" : ", ") + sql.QuoteIdent(schema.columns[k].name);
  const std::string from = " FROM " + sql.QuoteIdent(table.schema) + "." + sql.QuoteIdent(table.table);

  // Resume point: the last key written, as the text of each key column.
  std::vector<std::optional<std::string>> last_key;
  if (cp_.snapshot->current_table == name && cp_.snapshot->last_key_json) {
    for (const auto& v : nlohmann::json::parse(*cp_.snapshot->last_key_json)) last_key.push_back(v.get<std::string>());
  }
  if (key_cols.empty()) {
    // No key to page by: one cursor over the table; not resumable mid-table.
    RETURN_NOT_OK(sql.Exec("DECLARE ghostlog_snap NO SCROLL CURSOR FOR SELECT " + cols + from).status());
  }
  // "$1::integer, $2::text": parameters cast to the key columns' own types so
  // that the row comparison uses their ordering (and the primary-key index).
  std::string typed_params;
  for (size_t i = 0; i < key_cols.size(); ++i) {
    ASSIGN_OR_RAISE(auto type, sql.QueryValue("SELECT format_type(" +
                                              std::to_string(schema.columns[key_cols[i]].type_oid) + ", NULL)"));
    typed_params += (i ? ", $" : "$") + std::to_string(i + 1) + "::" + type.value_or("text");
  }
  const auto started = std::chrono::steady_clock::now();
  const int64_t rows_before = cp_.snapshot->rows;
  for (int64_t chunk = 0; !stop.stop_requested(); ++chunk) {
    Result<PgResult> res = Status::Aborted("no query ran");
    if (key_cols.empty()) {
      res = sql.Exec("FETCH " + std::to_string(cfg_.snapshot_chunk_rows) + " FROM ghostlog_snap");
    } else {
      std::string query = "SELECT " + cols + from;
      if (!last_key.empty()) query += " WHERE (" + keys + ") > (" + typed_params + ")";
      query += " ORDER BY " + keys + " LIMIT " + std::to_string(cfg_.snapshot_chunk_rows);
      res = sql.ExecParams(query, last_key);
    }
    if (!res.ok()) return res.status().WithContext("snapshot of " + name);
    PGresult* r = res->get();
    const int n = PQntuples(r);
    if (n == 0) break;

    writer_.Begin("snapshot:" + name + ":" + std::to_string(cp_.snapshot->rows), 0, cp_.snapshot->consistent_point,
                  log::NowMs(), "SNAPSHOT");
    RETURN_NOT_OK(EnsureTableTopic(schema));
    RETURN_NOT_OK(AddSchemaIfChanged(schema));
    const TableSchema& t = *schemas_.FindByName(name);
    SourceInfo src{cfg_.topic_prefix, db_name_, 0, cp_.snapshot->consistent_point, cp_.snapshot->consistent_point,
                   log::NowMs(),      "true"};
    std::string row, key;
    for (int i = 0; i < n; ++i) {
      // The values go from the result into the event's text, no copies between.
      RETURN_NOT_OK(RowText(
          t, t.name_order,
          [&](size_t c) -> std::optional<std::string_view> {
            if (PQgetisnull(r, i, static_cast<int>(c))) return std::nullopt;
            return std::string_view(PQgetvalue(r, i, static_cast<int>(c)), PQgetlength(r, i, static_cast<int>(c)));
          },
          &row, &key));
      RETURN_NOT_OK(
          writer_.Add(t.topic, name, ChangeEventText(t, key, 'r', "null", row, src, nullptr, log::NowMs()), cp_));
    }
    last_key.clear();
    nlohmann::json key_json = nlohmann::json::array();
    for (size_t k : key_cols) {
      last_key.emplace_back(PQgetvalue(r, n - 1, static_cast<int>(k)));
      key_json.push_back(*last_key.back());
    }
    cp_.snapshot->current_table = name;
    cp_.snapshot->last_key_json = key_json.dump();
    cp_.snapshot->rows += n;
    RETURN_NOT_OK(writer_.Commit(cp_));
    stats_.snapshot_rows = cp_.snapshot->rows;
    stats_.events += n;
    if (n < cfg_.snapshot_chunk_rows) break;
    if (cfg_.snapshot_max_rows_per_second > 0) {
      // Throttle: never run ahead of the configured rate.
      const auto due = started + std::chrono::microseconds((cp_.snapshot->rows - rows_before) * 1'000'000 /
                                                           cfg_.snapshot_max_rows_per_second);
      std::this_thread::sleep_until(due);
    }
  }
  if (key_cols.empty()) RETURN_NOT_OK(sql.Exec("CLOSE ghostlog_snap").status());
  if (stop.stop_requested()) return Status::OK();
  cp_.snapshot->tables_done.push_back(name);
  cp_.snapshot->current_table.clear();
  cp_.snapshot->last_key_json.reset();
  spdlog::info("capture: snapshot of {} done ({} rows so far)", name, cp_.snapshot->rows);
  return writer_.WriteCheckpoint(cp_);
}

}  // namespace ghostlog::capture
