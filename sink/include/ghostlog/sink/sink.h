// Sink: applies change events from the changelog to a PostgreSQL target,
// exactly once and whole source transactions at a time.
//
// The sink follows a transaction topic (capture's PREFIX.transaction, or a
// transform's), which lists, in commit order, the offset ranges each source
// transaction wrote to its table topics. It reads those ranges from the
// topics it is configured for, collapses repeated changes to one key, and
// applies many source transactions in one target transaction: COPY into
// staging tables, then set-based INSERT ... ON CONFLICT DO UPDATE and DELETE.
// Memory is bounded by max_batch_events, not by the source: a source
// transaction larger than that is applied in pieces into the one open target
// transaction, which commits only once the whole source transaction is in.
// The position in the transaction topic is stored in the target
// (ghostlog.sink_offsets) in the same transaction as the data, so a restart,
// whatever moment it came at, resumes exactly after what the target holds.
// A sink that is behind (its batches fill up) leaves each batch's last
// statement running in the target and reads the next batch meanwhile; the
// batch commits before the next one begins, and one the target refuses at
// that point is rolled back and applied again the waiting way. This holds
// the COPY text of one batch more in memory.
//
// Thread-safety: one Sink runs on one thread (Run); stats() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "ghostlog/log/changelog.h"
#include "ghostlog/log/retry_error.h"

namespace ghostlog::sink {

enum class OnError { kStop, kDeadLetter };

struct SinkConfig {
  std::string dsn;
  std::string name = "sink";                       // offsets row key in the target; also the changelog group
  std::string transaction_topic = "v2.transaction";
  std::vector<std::string> topics = {"v2.public.*"};  // table topics to apply, '*' wildcards
  // Target table from the topic's parts: a topic PREFIX.SCHEMA.TABLE gives
  // {prefix}, {schema}, {table}.
  std::string table = "{schema}.{table}";
  bool auto_create = false;
  // The columns that identify a row, by target "schema.table", for target
  // tables without a primary key (the v3 reporting database's
  // reporting_dates, for one). Their changes update the rows whose key
  // columns are equal (NULL equal to NULL) and insert the rest, since there
  // is no constraint for ON CONFLICT; tables with a primary key use it.
  std::map<std::string, std::vector<std::string>> key_columns;
  OnError on_error = OnError::kStop;
  std::string dead_letter_topic = "ghostlog.sink.dead_letter";
  // Changes held in memory at once. A target transaction ends at the first
  // source-transaction boundary past this many events; a larger source
  // transaction is applied in pieces of this size before its commit.
  int64_t max_batch_events = 20000;
  std::chrono::milliseconds max_batch_delay{50};
};

struct SinkStats {
  std::atomic<int64_t> transactions{0};      // source transactions applied
  std::atomic<int64_t> events{0};
  std::atomic<int64_t> rows_written{0};  // rows the committed target transactions upserted or deleted
  std::atomic<int64_t> batches{0};
  std::atomic<int64_t> dead_lettered{0};
  std::atomic<int64_t> early_pieces{0};  // pieces of large source transactions applied before their commit
  // Direct COPYs of inserted rows undone because the target already had a
  // key (a replay); those rows were upserted instead.
  std::atomic<int64_t> direct_copy_conflicts{0};
  // Batches committed after the next batch was read: the sink was behind, so
  // each batch's last statement ran in the target while it read the next.
  std::atomic<int64_t> overlapped_batches{0};
  std::atomic<int64_t> last_batch_ms{0};
  std::atomic<int64_t> last_batch_events{0};
  std::atomic<int64_t> committed_offset{0};  // next offset in the transaction topic
  std::atomic<int64_t> last_source_ts_ms{0};
  std::atomic<bool> connected{false};
  // What the sink is retrying after (the target down, a lost session);
  // cleared once it applies a batch (or finds none to apply) again.
  RetryError retrying;
};

class Sink {
 public:
  Sink(SinkConfig config, log::Changelog& log);
  ~Sink();
  // Runs until stopped (OK) or a fatal error. A target that is down is
  // retried with backoff while the changelog keeps buffering.
  Status Run(std::stop_token stop);
  const SinkStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

Result<OnError> ParseOnError(const std::string& s);

}  // namespace ghostlog::sink
