// Capture's durable position, stored as changelog checkpoint "capture.SLOT"
// and written in the same atomic write as the records it covers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ghostlog/log/status.h"
#include "ghostlog/log/types.h"
#include "pgoutput.h"

namespace ghostlog::capture {

struct SnapshotProgress {
  bool done = false;
  pgoutput::Lsn consistent_point = 0;
  std::vector<std::string> tables_done;  // "schema.table"
  // Tables partly read: "schema.table" -> JSON array of the text of the last
  // key written. Several at once when tables are read in parallel.
  std::map<std::string, std::string> in_progress;
  int64_t rows = 0;
};

// Ranges written to table topics for a transaction that is being written in
// chunks. If capture dies before the transaction's END record, a restart
// marks these ranges ABORTED (the transaction is then received again).
struct InflightRange {
  std::string topic;
  log::Offset first = 0, last = 0;
};

struct Checkpoint {
  pgoutput::Lsn lsn = 0;  // everything committed at or below is in the changelog
  std::optional<SnapshotProgress> snapshot;
  std::vector<InflightRange> inflight;
  uint32_t inflight_xid = 0;

  std::string Encode() const;
  static Result<Checkpoint> Decode(const std::string& s);
};

inline std::string CheckpointName(const std::string& slot) { return "capture." + slot; }

}  // namespace ghostlog::capture
