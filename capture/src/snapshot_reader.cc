#include "snapshot_reader.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ghostlog::capture {

Status ReadTable(PgConn& sql, const std::vector<SnapshotJob>& jobs, size_t job, const ReadOptions& opt,
                 const EmitChunk& emit, std::stop_token stop) {
  const TableSchema& t = jobs[job].schema;
  std::vector<size_t> key_cols;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].key) key_cols.push_back(i);
  }
  std::string cols, keys;
  for (const auto& c : t.columns) cols += (cols.empty() ? "" : ", ") + sql.QuoteIdent(c.name);
  for (size_t k : key_cols) keys += (keys.empty() ? "" : ", ") + sql.QuoteIdent(t.columns[k].name);
  const std::string from = " FROM " + sql.QuoteIdent(t.schema) + "." + sql.QuoteIdent(t.table);
  if (key_cols.empty()) {
    // No key to page by: one cursor over the table; not resumable mid-table.
    RETURN_NOT_OK(sql.Exec("DECLARE ghostlog_snap NO SCROLL CURSOR FOR SELECT " + cols + from).status());
  }
  // "$1::integer, $2::text": parameters cast to the key columns' own types so
  // that the row comparison uses their ordering (and the primary-key index).
  std::string typed_params;
  for (size_t i = 0; i < key_cols.size(); ++i) {
    ASSIGN_OR_RAISE(
        auto type, sql.QueryValue("SELECT format_type(" + std::to_string(t.columns[key_cols[i]].type_oid) + ", NULL)"));
    typed_params += (i ? ", $" : "$") + std::to_string(i + 1) + "::" + type.value_or("text");
  }
  KeyText last_key = jobs[job].resume_after;
  int64_t rows = std::min(opt.chunk_rows, kFirstChunkRows);
  while (!stop.stop_requested()) {
    Result<PgResult> res = Status::Aborted("no query ran");
    if (key_cols.empty()) {
      res = sql.Exec("FETCH " + std::to_string(rows) + " FROM ghostlog_snap");
    } else {
      std::string query = "SELECT " + cols + from;
      if (!last_key.empty()) query += " WHERE (" + keys + ") > (" + typed_params + ")";
      query += " ORDER BY " + keys + " LIMIT " + std::to_string(rows);
      res = sql.ExecParams(query, last_key);
    }
    if (!res.ok()) return res.status().WithContext("snapshot of " + t.qualified());
    PGresult* r = res->get();
    const int n = PQntuples(r);
    if (n == 0) break;

    SnapshotChunk chunk;
    chunk.job = job;
    chunk.events.reserve(n);
    const SourceInfo src{opt.topic_prefix, opt.db, 0, opt.consistent_point, opt.consistent_point, log::NowMs(), "true"};
    std::string row, key;
    int64_t bytes = 0;
    size_t event_size = 0;  // the last event's: each row's text becomes its event
    for (int i = 0; i < n; ++i) {
      // The values go from the result into the event's text, no copies
      // between; one allocation per row, the size of the last event.
      row.reserve(event_size + 512);
      RETURN_NOT_OK(RowText(
          t, t.name_order,
          [&](size_t c) -> Cell {
            if (PQgetisnull(r, i, static_cast<int>(c))) return {};
            return {Cell::Kind::kPgText,
                    std::string_view(PQgetvalue(r, i, static_cast<int>(c)), PQgetlength(r, i, static_cast<int>(c)))};
          },
          &row, &key));
      chunk.events.push_back(ChangeEventText(t, key, 'r', "null", std::move(row), src, nullptr, log::NowMs()));
      event_size = chunk.events.back().value->size();
      bytes += static_cast<int64_t>(chunk.events.back().key.size() + event_size);
    }
    last_key.clear();
    for (size_t k : key_cols) last_key.emplace_back(PQgetvalue(r, n - 1, static_cast<int>(k)));
    chunk.last_key = last_key;
    // The chunk holds the events now: what they were made from is freed
    // before they are written, which a chunk of big values feels.
    res = Status::Aborted("freed");
    RETURN_NOT_OK(emit(std::move(chunk)));
    if (n < rows) break;
    const int64_t per_row = std::max<int64_t>(1, bytes / n);
    rows = std::clamp<int64_t>(opt.chunk_bytes / per_row, 1, opt.chunk_rows);
  }
  if (key_cols.empty()) RETURN_NOT_OK(sql.Exec("CLOSE ghostlog_snap").status());
  return Status::OK();
}

SnapshotReaders::SnapshotReaders(std::string dsn, std::string snapshot_id, const std::vector<SnapshotJob>& jobs,
                                 ReadOptions opt, int threads)
    : dsn_(std::move(dsn)),
      snapshot_id_(std::move(snapshot_id)),
      jobs_(jobs),
      opt_(std::move(opt)),
      capacity_(static_cast<size_t>(threads) + 1),
      running_(threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this](std::stop_token stop) { Work(stop); });
}

SnapshotReaders::~SnapshotReaders() {
  for (auto& t : threads_) t.request_stop();
  threads_.clear();  // joins
}

void SnapshotReaders::Work(std::stop_token stop) {
  Status s = [&]() -> Status {
    auto sql = PgConn::Connect(dsn_);
    if (sql.ok()) {
      RETURN_NOT_OK(sql->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
      RETURN_NOT_OK(sql->Exec("SET TRANSACTION SNAPSHOT " + sql->Quote(snapshot_id_)).status());
      return ReadJobs(*sql, stop);
    }
    // A source at its connection limit (max_connections, the role's
    // CONNECTION LIMIT) still gets its snapshot: the other readers, or the
    // snapshot's own connection, take this reader's tables.
    spdlog::warn("capture: a snapshot reader could not connect, its tables go to the others: {}",
                 sql.status().message());
    return Status::OK();
  }();
  std::lock_guard lock(mu_);
  if (!s.ok() && !stop.stop_requested() && error_.ok()) error_ = s.WithContext("snapshot reader");
  --running_;
  changed_.notify_all();
}

Status SnapshotReaders::ReadJobs(PgConn& sql, std::stop_token stop) {
  for (;;) {
    size_t job;
    {
      std::lock_guard lock(mu_);
      if (next_job_ == jobs_.size() || !error_.ok()) return Status::OK();
      job = next_job_++;
    }
    const TableSchema& t = jobs_[job].schema;
    RETURN_NOT_OK(sql.Exec("SAVEPOINT ghostlog_lock").status());
    auto locked = sql.Exec("LOCK TABLE " + sql.QuoteIdent(t.schema) + "." + sql.QuoteIdent(t.table) +
                           " IN ACCESS SHARE MODE NOWAIT");
    if (locked.status().IsBusy()) {
      spdlog::info("capture: {} has a lock request queued; it is read on the snapshot's own connection", t.qualified());
      RETURN_NOT_OK(sql.Exec("ROLLBACK TO SAVEPOINT ghostlog_lock").status());
      if (!Push({Item::kDeferred, {}, job}, stop)) return Status::OK();
      continue;
    }
    RETURN_NOT_OK(locked.status());
    RETURN_NOT_OK(sql.Exec("RELEASE SAVEPOINT ghostlog_lock").status());
    RETURN_NOT_OK(ReadTable(
        sql, jobs_, job, opt_,
        [&](SnapshotChunk c) {
          return Push({Item::kChunk, std::move(c), job}, stop) ? Status::OK() : Status::Aborted("stopping");
        },
        stop));
    if (stop.stop_requested() || !Push({Item::kTableDone, {}, job}, stop)) return Status::OK();
  }
}

bool SnapshotReaders::Push(Item item, std::stop_token stop) {
  std::unique_lock lock(mu_);
  if (!changed_.wait(lock, stop, [&] { return items_.size() < capacity_ || !error_.ok(); })) return false;
  if (!error_.ok()) return false;
  items_.push_back(std::move(item));
  changed_.notify_all();
  return true;
}

Result<SnapshotReaders::Item> SnapshotReaders::Next(std::stop_token stop) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, stop, [&] { return !items_.empty() || running_ == 0 || !error_.ok(); });
  if (!error_.ok()) return error_;
  if (items_.empty() && running_ == 0 && next_job_ < jobs_.size()) {
    return Item{Item::kDeferred, {}, next_job_++};  // no reader left to take it
  }
  if (items_.empty()) return Item{};  // kFinished, or stopping
  Item item = std::move(items_.front());
  items_.pop_front();
  changed_.notify_all();
  return item;
}

}  // namespace ghostlog::capture
