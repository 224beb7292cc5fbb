// The embedded changelog: topics, offsets and groups in one RocksDB instance.
//
// One process per data dir writes (kWriter); it holds an exclusive lock and a
// second writer fails with Busy("data dir ... is locked by PID n"). Any number
// of processes may read concurrently (kReader): they open a RocksDB secondary
// instance, see what the writer has made durable, and catch up when they
// Refresh() or wait in WaitForData(). A reader's end offset is its last
// readable record plus one, never the writer's end as its partition state
// says (the catch-up is not atomic across column families), so an offset it
// cannot read yet is never taken for a compaction gap.
//
// Durability contract (kWriter):
//   FsyncPolicy::kAlways   - Append() returns after the batch is fsync'd.
//                            Concurrent appenders share one sync (group commit).
//   FsyncPolicy::kInterval - Append() returns after the batch is written to
//                            the OS; the WAL is fsync'd every fsync_interval, so
//                            at most that window is lost on power failure
//                            (a process crash alone loses nothing).
// A failed write or fsync is fatal: the log refuses all further writes with
// the original IOError and the process is expected to exit (as DuckDB and
// PostgreSQL do; retrying an fsync can silently lose data).
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "ghostlog/log/changelog.h"

namespace ghostlog::log {

enum class OpenMode { kWriter, kReader };
enum class FsyncPolicy { kAlways, kInterval };

struct EmbeddedLogOptions {
  std::string data_dir;
  OpenMode mode = OpenMode::kWriter;
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  std::chrono::milliseconds fsync_interval{1000};
  // Background compaction and retention; zero disables the background thread
  // (Compact()/ApplyRetention() still work on demand).
  std::chrono::milliseconds cleanup_interval{std::chrono::minutes(5)};
  // Memory bound of one group commit: concurrent writes are batched into one
  // RocksDB write until their estimated size reaches this.
  size_t max_group_bytes = 64 << 20;
  // Creates the data dir if missing (kWriter only).
  bool create_if_missing = true;
  // Time source in ms; tests replace it to exercise retention and compaction.
  std::function<Timestamp()> clock;
};

class EmbeddedLog : public Changelog {
 public:
  static Result<std::unique_ptr<EmbeddedLog>> Open(EmbeddedLogOptions options);
  ~EmbeddedLog() override;

  // Reader mode: catches up with the writer's latest durable state. A writer
  // instance is always current, so this is a no-op there.
  virtual Status Refresh() = 0;

  // Checks every record's checksum and envelope, offsets against the keys,
  // partition accounting, and the timestamp index.
  virtual Result<VerifyReport> Verify() = 0;

  // Non-OK once a write or fsync has failed; every later write returns it.
  virtual Status FatalError() const = 0;

  virtual const EmbeddedLogOptions& options() const = 0;

 protected:
  EmbeddedLog() = default;
};

// The current on-disk format. A data dir written by a newer format is refused.
inline constexpr int kDataDirFormatVersion = 1;

}  // namespace ghostlog::log
