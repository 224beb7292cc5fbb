// The snapshot: every selected table read inside the slot's exported snapshot
// (or, when resuming after a crash, a fresh one), in primary-key chunks, by
// reader connections that share it (snapshot_reader.h).
//
// Each chunk is one atomic changelog write: its rows as op "r" events, a
// SNAPSHOT record in the transaction topic, and the checkpoint naming the last
// key read. A crash therefore loses at most the chunk in flight, and a restart
// continues after the last key written.
#include <spdlog/spdlog.h>

#include "capture_impl.h"
#include "ghostlog/log/fault.h"
#include "ghostlog/log/stop_sleep.h"
#include "snapshot_reader.h"

namespace ghostlog::capture {

Result<TableSchema> Capture::Impl::CatalogSchema(PgConn& sql, const QualifiedName& table) {
  const std::string rel = sql.Quote(sql.QuoteIdent(table.schema) + "." + sql.QuoteIdent(table.table));
  // Key columns as pgoutput flags them: the primary key (replica identity
  // default), the replica identity index, or every column (full; narrowed to
  // the primary key below, as for the stream's Relation messages).
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
  ASSIGN_OR_RAISE(t.topic, schemas_.ClaimTopic(t.schema, t.table));
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    t.columns.push_back({PQgetvalue(r.get(), i, 2), static_cast<pgoutput::Oid>(std::stoul(PQgetvalue(r.get(), i, 3))),
                         std::stoi(PQgetvalue(r.get(), i, 4)), std::string(PQgetvalue(r.get(), i, 5)) == "t"});
  }
  if (t.replica_identity == 'f') RETURN_NOT_OK(KeyColumnsOfFull(sql, &t));
  return t;
}

Status Capture::Impl::KeyColumnsOfFull(PgConn& sql, TableSchema* t) {
  ASSIGN_OR_RAISE(PgResult r, sql.Exec("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                                       "i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indisprimary AND "
                                       "i.indrelid = " +
                                       std::to_string(t->relid)));
  std::set<std::string> primary;
  for (int i = 0; i < PQntuples(r.get()); ++i) primary.insert(PQgetvalue(r.get(), i, 0));
  if (primary.empty()) return Status::OK();  // every column, as pgoutput flags them
  for (auto& c : t->columns) c.key = primary.count(c.name) > 0;
  return Status::OK();
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
  ASSIGN_OR_RAISE(std::vector<SnapshotJob> jobs, SnapshotJobs(sql, tables));
  const int readers = static_cast<int>(std::min<size_t>(cfg_.snapshot_readers, jobs.size()));
  spdlog::info("capture: snapshot of {} tables ({} left), about {} rows, {} reader connections", tables.size(),
               jobs.size(), estimate, readers);
  const ReadOptions opt{cfg_.snapshot_chunk_rows, cfg_.snapshot_chunk_bytes, cfg_.topic_prefix, db_name_,
                        cp_.snapshot->consistent_point};
  const auto started = std::chrono::steady_clock::now();
  const int64_t rows_before = cp_.snapshot->rows;
  auto last_progress = started;
  auto write = [&](SnapshotChunk c) -> Status {
    RETURN_NOT_OK(WriteSnapshotChunk(jobs[c.job].schema, std::move(c)));
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - started).count();
    const int64_t rate = seconds > 0 ? static_cast<int64_t>((cp_.snapshot->rows - rows_before) / seconds) : 0;
    stats_.snapshot_rows_per_second = rate;
    if (now - last_progress >= std::chrono::seconds(10)) {
      last_progress = now;
      const int64_t left = std::max<int64_t>(estimate - cp_.snapshot->rows, 0);
      spdlog::info("capture: snapshot at {} of about {} rows, {} rows/s, about {} s left", cp_.snapshot->rows, estimate,
                   rate, rate > 0 ? left / rate : 0);
    }
    if (cfg_.snapshot_max_rows_per_second > 0) {
      // Throttle: never run ahead of the configured rate (the readers wait
      // for the writer, so this holds them back too).
      const auto due = started + std::chrono::microseconds((cp_.snapshot->rows - rows_before) * 1'000'000 /
                                                           cfg_.snapshot_max_rows_per_second);
      SleepUntilStopped(stop,
                        std::chrono::duration_cast<std::chrono::milliseconds>(due - std::chrono::steady_clock::now()));
    }
    return Status::OK();
  };
  // Tables the readers handed back, and all of them without readers, are
  // read here, on the connection that holds their locks.
  std::vector<size_t> here;
  if (readers == 0) {
    for (size_t j = 0; j < jobs.size(); ++j) here.push_back(j);
  } else {
    ASSIGN_OR_RAISE(auto id, sql.QueryValue("SELECT pg_export_snapshot()"));
    GHOSTLOG_FAULT("capture.snapshot_readers_start");
    SnapshotReaders pool(cfg_.dsn, id.value_or(""), jobs, opt, readers);
    while (!stop.stop_requested()) {
      ASSIGN_OR_RAISE(SnapshotReaders::Item item, pool.Next(stop));
      if (item.kind == SnapshotReaders::Item::kFinished) break;
      if (item.kind == SnapshotReaders::Item::kChunk) RETURN_NOT_OK(write(std::move(item.chunk)));
      if (item.kind == SnapshotReaders::Item::kTableDone) RETURN_NOT_OK(SnapshotTableDone(jobs[item.job].schema));
      if (item.kind == SnapshotReaders::Item::kDeferred) here.push_back(item.job);
    }
  }
  for (size_t j : here) {
    if (stop.stop_requested()) break;
    RETURN_NOT_OK(ReadTable(sql, jobs, j, opt, write, stop));
    if (!stop.stop_requested()) RETURN_NOT_OK(SnapshotTableDone(jobs[j].schema));
  }
  if (stop.stop_requested()) {
    sql.Exec("ROLLBACK").status();
    return Status::OK();
  }
  RETURN_NOT_OK(sql.Exec("COMMIT").status());
  cp_.snapshot->done = true;
  cp_.snapshot->in_progress.clear();
  RETURN_NOT_OK(writer_.WriteSnapshotDone(cp_, cp_.snapshot->rows));
  spdlog::info("capture: snapshot complete, {} rows", cp_.snapshot->rows);
  return Status::OK();
}

Result<std::vector<SnapshotJob>> Capture::Impl::SnapshotJobs(PgConn& sql, const std::vector<QualifiedName>& tables) {
  std::vector<SnapshotJob> jobs;
  for (const auto& table : tables) {
    const std::string name = table.schema + "." + table.table;
    const auto& done = cp_.snapshot->tables_done;
    if (std::find(done.begin(), done.end(), name) != done.end()) continue;
    // Registered here, on the capture thread, so the readers encode events
    // with the version the schema topic gets before the table's first record
    // (its first chunk, or the stream's first change of a table read empty).
    ASSIGN_OR_RAISE(TableSchema schema, CatalogSchema(sql, table));
    if (auto record = schemas_.Register(std::move(schema))) pending_schemas_[name] = std::move(*record);
    SnapshotJob job{*schemas_.FindByName(name), {}};
    if (auto it = cp_.snapshot->in_progress.find(name); it != cp_.snapshot->in_progress.end()) {
      // Resume point: the last key written, as the text of each key column.
      for (const auto& v : nlohmann::json::parse(it->second)) job.resume_after.push_back(v.get<std::string>());
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Status Capture::Impl::WriteSnapshotChunk(const TableSchema& t, SnapshotChunk chunk) {
  const std::string name = t.qualified();
  const auto n = static_cast<int64_t>(chunk.events.size());
  writer_.Begin("snapshot:" + name + ":" + std::to_string(cp_.snapshot->rows), 0, cp_.snapshot->consistent_point,
                log::NowMs(), "SNAPSHOT");
  RETURN_NOT_OK(EnsureTableTopic(t));
  RETURN_NOT_OK(AddSchemaIfChanged(t));  // the table's first chunk writes its schema
  for (auto& e : chunk.events) RETURN_NOT_OK(writer_.Add(t.topic, name, std::move(e), cp_));
  if (!chunk.last_key.empty()) {
    nlohmann::json key_json = nlohmann::json::array();
    for (const auto& k : chunk.last_key) key_json.push_back(*k);
    cp_.snapshot->in_progress[name] = key_json.dump();
  }
  cp_.snapshot->rows += n;
  RETURN_NOT_OK(writer_.Commit(cp_));
  stats_.snapshot_rows = cp_.snapshot->rows;
  stats_.events += n;
  stats_.retrying.Clear();
  return Status::OK();
}

Status Capture::Impl::SnapshotTableDone(const TableSchema& t) {
  const std::string name = t.qualified();
  cp_.snapshot->tables_done.push_back(name);
  cp_.snapshot->in_progress.erase(name);
  spdlog::info("capture: snapshot of {} done ({} rows so far)", name, cp_.snapshot->rows);
  return writer_.WriteCheckpoint(cp_);
}

}  // namespace ghostlog::capture
