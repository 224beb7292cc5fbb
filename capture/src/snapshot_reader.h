// Reading tables for the snapshot: one table on one connection (ReadTable),
// and a pool of reader threads that read several tables at once, each on its
// own connection inside the same exported snapshot (SnapshotReaders).
//
// Readers only read and encode: they turn rows into change events and hand
// finished chunks to the capture thread, which alone writes the changelog,
// the schema registry and the checkpoint. So a chunk's write stays one atomic
// changelog write, exactly as when one connection read everything.
//
// Locks: the capture thread's own transaction holds ACCESS SHARE on every
// table. A reader locks its table again with NOWAIT: if a TRUNCATE or ALTER
// is already queued behind the capture thread's lock, a waiting reader would
// wait for it, and it for the capture thread, which waits for the reader - a
// deadlock PostgreSQL cannot see. Such a table is handed back (kDeferred) and
// read on the capture thread's connection, which holds the lock already; so
// are the tables no reader is left to take (readers that could not connect).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "events.h"
#include "pg_conn.h"
#include "schema_registry.h"

namespace ghostlog::capture {

using KeyText = std::vector<std::optional<std::string>>;  // text of each key column

struct SnapshotJob {
  TableSchema schema;    // as registered: version and name_order set
  KeyText resume_after;  // empty: from the table's first row
};

struct SnapshotChunk {
  size_t job = 0;  // index into the jobs
  std::vector<log::RecordIn> events;
  KeyText last_key;  // of the chunk's last row; empty for a table without a key
};

struct ReadOptions {
  int64_t chunk_rows = 10000;
  int64_t chunk_bytes = 32 << 20;  // of events, about: rows per chunk follow the width seen
  std::string topic_prefix;
  std::string db;
  pgoutput::Lsn consistent_point = 0;
};

using EmitChunk = std::function<Status(SnapshotChunk)>;

// The first chunk of a table reads at most this many rows: what they weigh
// sets how many the next chunks read (opt.chunk_bytes).
inline constexpr int64_t kFirstChunkRows = 100;

// Reads jobs[job] in key order on `sql` (already inside the snapshot's
// transaction, the table locked), calling `emit` with every non-empty chunk.
Status ReadTable(PgConn& sql, const std::vector<SnapshotJob>& jobs, size_t job, const ReadOptions& opt,
                 const EmitChunk& emit, std::stop_token stop);

// Thread-safety: Next() and the destructor are for the capture thread only.
class SnapshotReaders {
 public:
  struct Item {
    enum Kind { kChunk, kTableDone, kDeferred, kFinished } kind = kFinished;
    SnapshotChunk chunk;  // kChunk
    size_t job = 0;       // kTableDone, kDeferred
  };

  // Starts `threads` readers, each connecting with `dsn` and importing
  // `snapshot_id`; they take the jobs in order. At most `threads + 1` items
  // wait at a time, so a slow writer holds the readers back.
  SnapshotReaders(std::string dsn, std::string snapshot_id, const std::vector<SnapshotJob>& jobs, ReadOptions opt,
                  int threads);
  // Stops the readers and waits for them (each finishes its current query).
  ~SnapshotReaders();
  SnapshotReaders(const SnapshotReaders&) = delete;
  SnapshotReaders& operator=(const SnapshotReaders&) = delete;

  // The next item, waiting for one; kFinished once every reader is done and
  // everything was taken. The first reader error, if any, instead.
  Result<Item> Next(std::stop_token stop);

 private:
  void Work(std::stop_token stop);
  Status ReadJobs(PgConn& sql, std::stop_token stop);
  bool Push(Item item, std::stop_token stop);  // false: stopping

  const std::string dsn_, snapshot_id_;
  const std::vector<SnapshotJob>& jobs_;
  const ReadOptions opt_;
  const size_t capacity_;

  std::mutex mu_;
  std::condition_variable_any changed_;
  std::deque<Item> items_;
  size_t next_job_ = 0;
  int running_ = 0;
  Status error_;
  std::vector<std::jthread> threads_;  // last: started once the rest is set
};

}  // namespace ghostlog::capture
