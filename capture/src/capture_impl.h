// Capture::Impl, split by concern:
//   capture.cc   lifecycle: checkpoint, slot and publication, retries
//   snapshot.cc  the initial (and resumed) snapshot
//   stream.cc    the replication stream: decoding, transactions, spill, status
#pragma once

#include <map>
#include <set>
#include <stop_token>

#include "checkpoint.h"
#include "events.h"
#include "ghostlog/capture/capture.h"
#include "pg_conn.h"
#include "pgoutput.h"
#include "schema_registry.h"
#include "snapshot_reader.h"
#include "txn_writer.h"

namespace ghostlog::capture {

struct SlotInfo {
  bool exists = false;
  pgoutput::Lsn confirmed_flush = 0;
  std::string wal_status;  // reserved | extended | unreserved | lost
  std::string plugin;
  bool active = false;
};

class Capture::Impl {
 public:
  Impl(CaptureConfig config, log::Changelog& log);

  Status Run(std::stop_token stop);
  const CaptureStats& stats() const { return stats_; }

 private:
  // capture.cc
  Status RunOnce(std::stop_token stop);
  Status LoadState();
  Status EnsurePublication(PgConn& sql);
  Result<std::vector<QualifiedName>> SelectedTables(PgConn& sql);
  Result<SlotInfo> QuerySlot(PgConn& sql);
  log::TopicConfig TableTopicConfig() const;
  Status EnsureTableTopic(const TableSchema& t);
  Status AddSchemaIfChanged(TableSchema t);

  // snapshot.cc
  Status RunSnapshot(PgConn& sql, const std::optional<std::string>& exported_snapshot, std::stop_token stop);
  Result<std::vector<SnapshotJob>> SnapshotJobs(PgConn& sql, const std::vector<QualifiedName>& tables);
  Status WriteSnapshotChunk(const TableSchema& t, SnapshotChunk chunk);
  Status SnapshotTableDone(const TableSchema& t);
  Result<TableSchema> CatalogSchema(PgConn& sql, const QualifiedName& table);
  // REPLICA IDENTITY FULL flags every column as the identity; a table that has
  // a primary key is still keyed by it (as Debezium's message key is), so an
  // update is an update of one key and lookups by the key find the row.
  // Asks the catalog through `sql` for the primary key and sets t's key flags.
  // The snapshot and the stream's Relation messages both go through here.
  Status KeyColumnsOfFull(PgConn& sql, TableSchema* t);

  // stream.cc
  Status Stream(PgConn& repl, pgoutput::Lsn start, std::stop_token stop);
  Status StreamLoop(PgConn& repl, std::stop_token stop);
  // `payload` lies in `message`, which is freed once decoded (its values
  // are copied out: a message may hold a row of big values).
  Status HandleXLogData(std::string_view payload, std::optional<CopyData>& message, pgoutput::Lsn wal_start,
                        pgoutput::Lsn wal_end);
  Status Apply(pgoutput::Msg m, pgoutput::Lsn change_lsn);
  // Empties the change's tuples once their text is made: a row of big values
  // is not held twice while it is written.
  Status OnChange(pgoutput::Msg& m, pgoutput::Lsn change_lsn);
  // Rewrites `after` (the new row's JSON text) with the values an update
  // left out (unchanged TOAST) taken from the row's latest image. `key`: the
  // row's record key before this change (the old one if it changes the key).
  Status FillUnchangedToast(const TableSchema& t, const pgoutput::Tuple& tuple, const std::string& key,
                            std::string* after);
  Status SendStatus(PgConn& repl, bool reply_requested);
  Status SpillStreamed(uint32_t xid, std::string_view payload);
  Status FlushSpill();
  Status ReplaySpill(uint32_t xid, const pgoutput::StreamCommit& c);
  Status Heartbeat();

  CaptureConfig cfg_;
  log::Changelog& log_;
  PgConn* catalog_ = nullptr;  // RunOnce's SQL connection while it runs
  CaptureStats stats_;
  SchemaRegistry schemas_;
  TxnWriter writer_;
  Checkpoint cp_;
  std::string db_name_;
  // Schema records the snapshot registered and did not write yet: written
  // before the table's first record (AddSchemaIfChanged).
  std::map<std::string, log::RecordIn> pending_schemas_;
  // Tables whose unchanged TOAST values were sent as the placeholder because
  // the changelog has no key index (Kafka): warned about once each.
  std::set<std::string> toast_placeholder_warned_;

  // Current transaction (streaming).
  bool in_txn_ = false;
  bool skip_txn_ = false;  // at or below the checkpoint: already in the changelog
  pgoutput::Begin begin_;
  SourceInfo source_;
  int64_t txn_order_ = 0;
  std::map<std::string, int64_t> collection_order_;

  // Streamed (in-progress) transactions spilled to the spill topic.
  struct Spilled {
    std::vector<std::pair<log::Offset, log::Offset>> runs;  // offset ranges in the spill topic
    std::set<uint32_t> aborted_subxids;
  };
  std::string spill_topic_;
  std::map<uint32_t, Spilled> spilled_;
  std::vector<log::RecordIn> spill_buf_;
  uint32_t spill_buf_xid_ = 0;
  size_t spill_buf_bytes_ = 0;  // payload bytes in spill_buf_
  bool in_stream_ = false;
  uint32_t stream_xid_ = 0;

  // Replication position bookkeeping.
  pgoutput::Lsn received_ = 0;  // highest WAL end seen
  pgoutput::Lsn server_wal_end_ = 0;
  std::chrono::steady_clock::time_point last_status_{};
  std::chrono::steady_clock::time_point last_commit_{};
};

}  // namespace ghostlog::capture
