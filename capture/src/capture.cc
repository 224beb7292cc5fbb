// Capture lifecycle: state from the changelog, publication and slot, retries.
#include <spdlog/spdlog.h>

#include <thread>

#include "capture_impl.h"
#include "ghostlog/log/glob.h"
#include "ghostlog/log/stop_sleep.h"

namespace ghostlog::capture {

Result<SnapshotMode> ParseSnapshotMode(const std::string& s) {
  if (s == "initial") return SnapshotMode::kInitial;
  if (s == "never") return SnapshotMode::kNever;
  if (s == "initial_only") return SnapshotMode::kInitialOnly;
  if (s == "when_needed") return SnapshotMode::kWhenNeeded;
  return Status::InvalidArgument("snapshot = '" + s + "' must be initial, never, initial_only or when_needed");
}

Capture::Capture(CaptureConfig config, log::Changelog& log) : impl_(std::make_unique<Impl>(std::move(config), log)) {}
Capture::~Capture() = default;
Status Capture::Run(std::stop_token stop) { return impl_->Run(std::move(stop)); }
const CaptureStats& Capture::stats() const { return impl_->stats(); }

Capture::Impl::Impl(CaptureConfig config, log::Changelog& log)
    : cfg_(std::move(config)),
      log_(log),
      schemas_(cfg_.topic_prefix),
      writer_(log, cfg_.topic_prefix + ".transaction", CheckpointName(cfg_.slot), cfg_.max_transaction_buffer_bytes),
      spill_topic_("__ghostlog.capture." + cfg_.slot + ".spill") {}

log::TopicConfig Capture::Impl::TableTopicConfig() const {
  // Table topics keep the latest row of every key forever (compaction), so a
  // rewound consumer can always rebuild the whole table without the source.
  return log::TopicConfig::Compacted();
}

Status Capture::Impl::EnsureTableTopic(const TableSchema& t) {
  return writer_.EnsureTopic(t.topic, TableTopicConfig());
}

Status Capture::Impl::LoadState() {
  log::TopicConfig forever;
  forever.retention_ms = -1;
  RETURN_NOT_OK(writer_.EnsureTopic(cfg_.topic_prefix + ".transaction", forever));
  RETURN_NOT_OK(writer_.EnsureTopic(schemas_.schema_topic(), TableTopicConfig()));
  log::TopicConfig spill;
  spill.retention_ms = -1;
  RETURN_NOT_OK(writer_.EnsureTopic(spill_topic_, spill));

  auto cp = log_.ReadCheckpoint(CheckpointName(cfg_.slot));
  if (cp.ok()) {
    ASSIGN_OR_RAISE(cp_, Checkpoint::Decode(*cp));
  } else if (!cp.status().IsNotFound()) {
    return cp.status();
  }
  writer_.SetDurableLsn(cp_.lsn);  // read back from the changelog: on stable storage
  // Seed schema versions from the schema topic (latest record per table).
  ASSIGN_OR_RAISE(auto info, log_.DescribePartition({schemas_.schema_topic(), 0}));
  for (log::Offset at = info.log_start_offset; at < info.end_offset;) {
    ASSIGN_OR_RAISE(auto records, log_.Read({schemas_.schema_topic(), 0}, at));
    if (records.empty()) break;
    for (const auto& r : records) {
      if (!r.value) continue;
      auto j = nlohmann::json::parse(*r.value, nullptr, false);
      ASSIGN_OR_RAISE(TableSchema t, TableSchema::FromJson(j));
      schemas_.Seed(std::move(t));
    }
    at = records.back().offset + 1;
  }
  // Spilled records of transactions that never committed are useless now.
  ASSIGN_OR_RAISE(auto spill_info, log_.DescribePartition({spill_topic_, 0}));
  if (spill_info.end_offset > spill_info.log_start_offset) {
    RETURN_NOT_OK(log_.DeleteRecordsBefore({spill_topic_, 0}, spill_info.end_offset).status());
  }
  return Status::OK();
}

Status Capture::Impl::AddSchemaIfChanged(TableSchema t) {
  const std::string name = t.qualified();
  auto record = schemas_.Register(std::move(t));
  auto pending = pending_schemas_.find(name);
  if (pending != pending_schemas_.end()) {
    // Registered by the snapshot, not written yet (the table had no rows then).
    if (!record) record = std::move(pending->second);
    pending_schemas_.erase(pending);
  }
  if (!record) return Status::OK();
  return writer_.Add(schemas_.schema_topic(), "", std::move(*record), cp_);
}

Result<std::vector<QualifiedName>> Capture::Impl::SelectedTables(PgConn& sql) {
  ASSIGN_OR_RAISE(
      PgResult r,
      sql.Exec("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
               "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
               "ORDER BY 1, 2"));
  std::vector<QualifiedName> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    QualifiedName t{PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1)};
    const std::string name = t.schema + "." + t.table;
    if (GlobMatchAny(cfg_.tables, name) && !GlobMatchAny(cfg_.exclude_tables, name)) out.push_back(std::move(t));
  }
  return out;
}

Status Capture::Impl::EnsurePublication(PgConn& sql) {
  ASSIGN_OR_RAISE(auto exists,
                  sql.QueryValue("SELECT 1 FROM pg_publication WHERE pubname = " + sql.Quote(cfg_.publication)));
  if (exists) return Status::OK();
  if (!cfg_.create_publication) {
    return Status::NotFound("publication '" + cfg_.publication +
                            "' does not exist and create_publication is off: create it on the source with "
                            "CREATE PUBLICATION " +
                            cfg_.publication + " FOR TABLE ...");
  }
  ASSIGN_OR_RAISE(auto tables, SelectedTables(sql));
  if (tables.empty()) return Status::InvalidArgument("no source table matches the configured tables patterns");
  // A partitioned table's changes are published as its own (not its
  // partitions'), so that its snapshot and its stream share one topic.
  const std::string with = sql.server_version() >= 130000 ? " WITH (publish_via_partition_root = true)" : "";
  auto r = sql.Exec("CREATE PUBLICATION " + sql.QuoteIdent(cfg_.publication) + " FOR TABLE " + QuotedList(sql, tables) +
                    with);
  if (!r.ok()) return r.status().WithContext("creating publication '" + cfg_.publication + "'");
  spdlog::info("capture: created publication {} for {} tables", cfg_.publication, tables.size());
  return Status::OK();
}

Result<SlotInfo> Capture::Impl::QuerySlot(PgConn& sql) {
  ASSIGN_OR_RAISE(PgResult r, sql.Exec("SELECT confirmed_flush_lsn, wal_status, plugin, active "
                                       "FROM pg_replication_slots WHERE slot_name = " +
                                       sql.Quote(cfg_.slot)));
  SlotInfo s;
  if (PQntuples(r.get()) == 0) return s;
  s.exists = true;
  if (!PQgetisnull(r.get(), 0, 0)) {
    ASSIGN_OR_RAISE(s.confirmed_flush, pgoutput::ParseLsn(PQgetvalue(r.get(), 0, 0)));
  }
  s.wal_status = PQgetvalue(r.get(), 0, 1);
  s.plugin = PQgetvalue(r.get(), 0, 2);
  s.active = std::string(PQgetvalue(r.get(), 0, 3)) == "t";
  return s;
}

Status Capture::Impl::RunOnce(std::stop_token stop) {
  ASSIGN_OR_RAISE(PgConn sql, PgConn::Connect(cfg_.dsn));
  catalog_ = &sql;
  struct ResetCatalog {
    PgConn*& conn;
    ~ResetCatalog() { conn = nullptr; }
  } reset_catalog{catalog_};
  ASSIGN_OR_RAISE(auto db, sql.QueryValue("SELECT current_database()"));
  db_name_ = db.value_or("");
  RETURN_NOT_OK(EnsurePublication(sql));
  ASSIGN_OR_RAISE(SlotInfo slot, QuerySlot(sql));
  ASSIGN_OR_RAISE(PgConn repl, PgConn::Connect(cfg_.dsn, /*replication=*/true));

  if (slot.exists && slot.wal_status == "lost") {
    return Status::NotSupported("replication slot '" + cfg_.slot +
                                "' was invalidated (wal_status = lost): the source removed WAL that capture had not "
                                "read, so changes were lost. Run `ghostlog run --resnapshot` to start over");
  }
  if (slot.exists && slot.plugin != "pgoutput") {
    return Status::InvalidArgument("replication slot '" + cfg_.slot + "' uses plugin " + slot.plugin +
                                   ", not pgoutput; choose another slot name");
  }
  const bool have_history = cp_.lsn != 0 || cp_.snapshot.has_value();
  if (cfg_.resnapshot && slot.exists) {
    RETURN_NOT_OK(sql.Exec("SELECT pg_drop_replication_slot(" + sql.Quote(cfg_.slot) + ")").status());
    slot.exists = false;
  }
  if (!slot.exists && have_history && !cfg_.resnapshot) {
    return Status::NotFound("replication slot '" + cfg_.slot + "' is gone but the changelog has captured up to " +
                            pgoutput::FormatLsn(cp_.lsn) +
                            ": changes since then are lost. Run `ghostlog run --resnapshot` to start over from a "
                            "new snapshot (capture never re-creates a slot silently)");
  }
  RETURN_NOT_OK(writer_.AbortInflight(cp_));
  bool snapshotted = false;

  if (!slot.exists) {
    // A new slot exports the snapshot its consistent point belongs to; the
    // snapshot stays usable while `repl` stays idle, so we read it now.
    ASSIGN_OR_RAISE(PgResult r, repl.Exec("CREATE_REPLICATION_SLOT " + repl.QuoteIdent(cfg_.slot) +
                                          " LOGICAL pgoutput (SNAPSHOT 'export')"));
    ASSIGN_OR_RAISE(pgoutput::Lsn point, pgoutput::ParseLsn(PQgetvalue(r.get(), 0, 1)));
    const std::string exported = PQgetvalue(r.get(), 0, 2);
    spdlog::info("capture: created slot {} at {}", cfg_.slot, pgoutput::FormatLsn(point));
    cp_ = Checkpoint{};
    cp_.lsn = point;
    cfg_.resnapshot = false;
    if (cfg_.snapshot != SnapshotMode::kNever) {
      cp_.snapshot = SnapshotProgress{};
      cp_.snapshot->consistent_point = point;
      RETURN_NOT_OK(writer_.WriteCheckpoint(cp_));
      RETURN_NOT_OK(RunSnapshot(sql, exported, stop));
      snapshotted = true;
    } else {
      RETURN_NOT_OK(writer_.WriteCheckpoint(cp_));
    }
  } else if (cp_.snapshot && !cp_.snapshot->done) {
    // Crashed mid-snapshot: the exported snapshot died with the old process.
    // The remaining chunks are read from a fresh snapshot while the stream
    // still starts at the slot's consistent point (see docs/capture.md).
    spdlog::warn("capture: resuming the interrupted snapshot after {} rows", cp_.snapshot->rows);
    RETURN_NOT_OK(RunSnapshot(sql, std::nullopt, stop));
    snapshotted = true;
  }
  if (stop.stop_requested()) return Status::OK();
  if (snapshotted) {
    // libpq keeps a connection's input buffer at the size of the largest
    // result it read (a chunk of big rows: hundreds of MB); the catalog
    // queries of streaming need a small one.
    ASSIGN_OR_RAISE(sql, PgConn::Connect(cfg_.dsn));
  }
  if (cfg_.snapshot == SnapshotMode::kInitialOnly) {
    spdlog::info("capture: snapshot complete and snapshot = initial_only; not streaming");
    SleepUntilStopped(stop, std::chrono::hours(24 * 365));
    return Status::OK();
  }
  const pgoutput::Lsn start = std::max(cp_.lsn, slot.confirmed_flush);
  return Stream(repl, start, stop);
}

Status Capture::Impl::Run(std::stop_token stop) {
  RETURN_NOT_OK(LoadState());
  auto backoff = std::chrono::milliseconds(500);
  while (!stop.stop_requested()) {
    Status s = RunOnce(stop);
    // A connection that got as far as streaming earns a fresh backoff.
    if (stats_.streaming.exchange(false)) backoff = std::chrono::milliseconds(500);
    if (stop.stop_requested()) return Status::OK();
    if (s.ok()) continue;
    if (!s.IsUnavailable()) return s;
    spdlog::warn("capture: {}; retrying in {} ms", s.message(), backoff.count());
    stats_.retrying.Set(s.message());
    // Whatever was half-received belongs to a transaction the server sends again.
    writer_.Discard();
    in_txn_ = false;
    spilled_.clear();
    spill_buf_.clear();
    spill_buf_bytes_ = 0;
    in_stream_ = false;
    SleepUntilStopped(stop, backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
  }
  return Status::OK();
}

}  // namespace ghostlog::capture
