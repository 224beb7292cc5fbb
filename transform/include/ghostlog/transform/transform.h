// Transform: maps change events of source tables to change events of target
// tables, one source transaction at a time, exactly once inside the changelog.
//
// Input: the transaction topic INPUT.transaction (capture's), whose records
// list the offset ranges each source transaction wrote to INPUT.SCHEMA.TABLE
// topics. Output: change events on OUTPUT.SCHEMA.TABLE topics, one
// OUTPUT.transaction record per source transaction (so the sink applies a
// requisition with its line items together), the stage's state (which target
// keys each source row produced) and its consumer-group offset, all in one
// atomic changelog write. A crash at any moment resumes exactly after the last
// write; `offsets reset` on the group replays, and the target converges.
//
// Thread-safety: one Transform runs on one thread (Run); stats() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <stop_token>
#include <string>

#include "ghostlog/log/changelog.h"

namespace ghostlog::transform {

enum class OnError { kStop, kDeadLetter };
Result<OnError> ParseOnError(const std::string& s);

struct TransformConfig {
  std::string mappings;              // a mapping file or a directory of them (*.toml)
  std::string input_prefix = "v2";   // capture's topic_prefix
  std::string output_prefix = "v3";  // the sink follows OUTPUT.transaction
  std::string group = "ghostlog-transform";
  OnError on_error = OnError::kStop;
  std::string dead_letter_topic = "ghostlog.transform.dead_letter";
  int64_t max_batch_events = 20000;  // input events per atomic write (whole transactions)
  // Bytes of records per atomic write (counting what each costs in memory).
  // A batch ends at a transaction boundary once it holds this many; one
  // input transaction whose output alone is larger is written in chunks of
  // about this size (see undo.h). The process holds a few times this much.
  int64_t max_batch_bytes = 4 << 20;
};

struct TransformStats {
  std::atomic<int64_t> transactions{0};  // input transactions done
  std::atomic<int64_t> events_in{0};
  std::atomic<int64_t> events_out{0};
  std::atomic<int64_t> dead_lettered{0};
  std::atomic<int64_t> chunks{0};            // pieces of input transactions written before their end
  std::atomic<int64_t> remaps_skipped{0};    // readers of a changed row not mapped again: no column they read changed
  std::atomic<int64_t> committed_offset{0};  // next offset in INPUT.transaction
  std::atomic<int64_t> last_source_ts_ms{0};
};

// Loads the mappings at `path` and checks that every expression compiles
// (columns are checked against the source schema later, when it is known):
// the config check at start, so that a broken mapping stops nothing running.
Status CheckMappings(const std::string& path);

class Transform {
 public:
  Transform(TransformConfig config, log::Changelog& log);
  ~Transform();
  // Loads and checks the mappings, then runs until stopped (OK) or a fatal
  // error (a broken mapping file; a record that fails with on_error = stop).
  Status Run(std::stop_token stop);
  const TransformStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ghostlog::transform
