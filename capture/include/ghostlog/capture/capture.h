// Capture: PostgreSQL logical replication (pgoutput) into the changelog.
//
// What lands in the changelog (all topic names start with `topic_prefix`):
//   PREFIX.SCHEMA.TABLE   one topic per captured table. Key: the primary-key
//                         columns as a JSON object. Value: a Debezium-style
//                         change event {"before","after","op","source","ts_ms"};
//                         a delete is followed by a tombstone (null value).
//   PREFIX.transaction    one record per committed source transaction (and
//                         per snapshot chunk), in commit order, listing the
//                         offset ranges it wrote in every table topic. A
//                         consumer that needs whole transactions follows this
//                         topic; ranges marked ABORTED were left by a crash in
//                         the middle of a very large transaction and were
//                         written again later.
//   PREFIX.schema         every table's column list, versioned (compacted).
//
// Exactly once: a transaction's records, its transaction record and the new
// source position (checkpoint "capture.SLOT") are one atomic changelog write;
// only after it returns (fsync'd) is the LSN confirmed to PostgreSQL. After a
// restart, transactions at or below the checkpoint are skipped.
//
// Thread-safety: one Capture runs on one thread (Run); stats() may be read
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "ghostlog/log/changelog.h"
#include "ghostlog/log/retry_error.h"

namespace ghostlog::capture {

enum class SnapshotMode { kInitial, kNever, kInitialOnly, kWhenNeeded };

struct CaptureConfig {
  std::string dsn;  // libpq conninfo or URI; never holds the password (see docs)
  std::string publication = "ghostlog";
  bool create_publication = true;
  std::string slot = "ghostlog";
  std::vector<std::string> tables = {"public.*"};  // schema.table patterns, '*' wildcards
  std::vector<std::string> exclude_tables;
  std::string topic_prefix = "v2";
  SnapshotMode snapshot = SnapshotMode::kInitial;
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(30)};
  int64_t snapshot_chunk_rows = 10000;
  // A chunk also stops at about this many bytes of change events: a table of
  // wide rows (long texts, images) is read fewer rows at a time, so that a
  // chunk's query result and events fit in memory (docs/capture.md).
  int64_t snapshot_chunk_bytes = 32 << 20;
  int64_t snapshot_max_rows_per_second = 0;  // 0: unthrottled
  // Connections reading tables at once during the snapshot, besides the one
  // holding it; 0 reads every table on that one (on 2 cores the changelog
  // write is the bound, and waiting chunks cost memory: docs/capture.md).
  int64_t snapshot_readers = 0;
  // A transaction whose events exceed this many bytes is written in chunks
  // (bounded memory) instead of one atomic write.
  int64_t max_transaction_buffer_bytes = 8 << 20;
  // Re-snapshot even though a slot and checkpoint exist (operator's explicit
  // way back after a lost slot).
  bool resnapshot = false;
};

struct CaptureStats {
  std::atomic<int64_t> transactions{0};
  std::atomic<int64_t> events{0};
  std::atomic<int64_t> snapshot_rows{0};
  std::atomic<int64_t> snapshot_rows_estimated{0};
  std::atomic<int64_t> snapshot_rows_per_second{0};  // since this run's snapshot began
  std::atomic<uint64_t> confirmed_lsn{0};
  std::atomic<uint64_t> received_lsn{0};
  std::atomic<int64_t> last_commit_ts_ms{0};
  std::atomic<bool> streaming{false};
  // What capture is retrying after (the source down, a rolled-back
  // snapshot); cleared once it streams or writes a snapshot chunk again.
  RetryError retrying;
};

class Capture {
 public:
  Capture(CaptureConfig config, log::Changelog& log);
  ~Capture();

  // Runs until `stop` is requested (returns OK) or a fatal error. Connection
  // loss is retried inside with backoff; a dropped or invalidated slot, a
  // changelog failure or bad configuration is returned.
  Status Run(std::stop_token stop);

  const CaptureStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses "initial" | "never" | "initial_only" | "when_needed".
Result<SnapshotMode> ParseSnapshotMode(const std::string& s);

}  // namespace ghostlog::capture
