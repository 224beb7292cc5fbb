// Writes one source transaction (or one snapshot chunk) to the changelog.
//
// Small transactions become one atomic changelog write: table records, the
// transaction record and the new checkpoint. A transaction larger than
// max_bytes is written in chunks so memory stays bounded; every chunk's write
// also records the ranges written so far in the checkpoint ("inflight"), so
// that after a crash the restart can mark them ABORTED before the source
// sends the transaction again.
//
// The transaction record lists the offsets of the records written with it, in
// the same atomic write: it is made by the write's `finish`, which knows the
// offsets the changelog gives (on Kafka, only the broker does).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkpoint.h"
#include "ghostlog/log/changelog.h"

namespace ghostlog::capture {

class TxnWriter {
 public:
  TxnWriter(log::Changelog& log, std::string txn_topic, std::string checkpoint_name, int64_t max_bytes)
      : log_(log),
        txn_topic_(std::move(txn_topic)),
        checkpoint_name_(std::move(checkpoint_name)),
        max_bytes_(max_bytes) {}

  // Ensures a topic exists (creating it with `config` if not).
  Status EnsureTopic(const std::string& topic, const log::TopicConfig& config);

  void Begin(std::string id, uint32_t xid, pgoutput::Lsn lsn, int64_t ts_ms, std::string status);
  Status Add(const std::string& topic, const std::string& data_collection, log::RecordIn r, Checkpoint& cp);
  // Writes what is buffered, the transaction record and `cp` (already updated
  // by the caller to the new position) in one atomic write.
  Status Commit(Checkpoint& cp);

  // Group commit across source transactions: seals the transaction into the
  // pending write instead of writing it (one fsync for many small source
  // transactions when the server sends a backlog). Nothing pending is durable
  // or confirmed until FlushPending(); every other write flushes it first, so
  // the changelog's order is the commit order.
  Status CommitDeferred(Checkpoint& cp);
  Status FlushPending();
  bool has_pending() const { return pending_txns_ > 0; }
  int64_t pending_txns() const { return pending_txns_; }
  int64_t pending_bytes() const { return pending_bytes_; }

  // The LSN of the last checkpoint on stable storage: all that may be
  // confirmed to the server.
  pgoutput::Lsn durable_lsn() const { return durable_lsn_; }
  void SetDurableLsn(pgoutput::Lsn lsn) { durable_lsn_ = lsn; }
  void Discard();
  bool active() const { return active_; }
  int64_t event_count() const { return events_; }

  // The latest record with `key` in `topic` that is buffered here and not in
  // the changelog yet (this transaction's, else a sealed pending one's), or
  // nullptr. Valid until the next call of any other method. Unchanged TOAST
  // values are filled from it first: the changelog's image is older.
  const log::RecordIn* Buffered(const std::string& topic, const std::string& key);

  // Writes an ABORTED transaction record for ranges a crash left behind.
  Status AbortInflight(Checkpoint& cp);

  // Writes the end-of-snapshot record (status SNAPSHOT_DONE, no ranges) and
  // `cp`, which says the snapshot is done, in one atomic write: consumers
  // that must see every table before mapping any (lookups) wait for it.
  Status WriteSnapshotDone(const Checkpoint& cp, int64_t rows);

  // Writes only the checkpoint (heartbeats, snapshot bookkeeping).
  Status WriteCheckpoint(const Checkpoint& cp);

 private:
  struct Range {
    log::Offset first = -1, last = -1;
  };
  Status Flush(Checkpoint& cp, bool final);
  // One record of the transaction topic with no ranges (ABORTED,
  // SNAPSHOT_DONE) and `cp`, in one synced write.
  Status WriteMarker(log::RecordIn txn, const Checkpoint& cp);
  // The transaction record: the current transaction's header and ranges.
  log::RecordIn TxnRecord(const std::string& status) const;
  nlohmann::json TxnHeader(const std::string& status) const;  // all but "ranges"
  static nlohmann::json RangesJson(const std::vector<std::pair<std::string, Range>>& ranges);

  log::Changelog& log_;
  std::string txn_topic_;
  std::string checkpoint_name_;
  int64_t max_bytes_;
  std::set<std::string> known_;  // topics EnsureTopic found or made

  bool active_ = false;
  std::string id_, status_;
  uint32_t xid_ = 0;
  pgoutput::Lsn lsn_ = 0;
  int64_t ts_ms_ = 0;
  int64_t events_ = 0;
  int64_t buffered_bytes_ = 0;
  std::vector<std::string> order_;                                      // topics in first-use order
  std::map<std::string, std::vector<log::RecordIn>> buf_;               // by topic
  std::map<std::string, Range> ranges_;                                 // written so far, by topic
  std::map<std::string, std::pair<std::string, int64_t>> collections_;  // topic -> (schema.table, count)

  // Sealed transactions not written yet (CommitDeferred): their records by
  // topic, and per transaction the indexes of its records in those batches.
  struct PendingTxn {
    std::string key;
    nlohmann::json header;
    std::vector<std::pair<std::string, std::pair<size_t, size_t>>> records;  // topic -> [first, last] index
  };
  // For each topic Buffered() was asked about: key -> index of its latest
  // record in buf_ and in pend_buf_. Made on the first ask, then kept by Add
  // and CommitDeferred, so a transaction that updates many TOASTed rows asks
  // in constant time each; cleared with the buffers.
  struct KeyIndex {
    std::unordered_map<std::string, size_t> buf, pend;
  };
  std::map<std::string, KeyIndex> key_index_;

  std::vector<std::string> pend_order_;
  std::map<std::string, std::vector<log::RecordIn>> pend_buf_;
  std::vector<PendingTxn> pend_txns_;
  std::string pend_checkpoint_;
  pgoutput::Lsn pend_lsn_ = 0;
  int64_t pending_txns_ = 0, pending_bytes_ = 0;
  pgoutput::Lsn durable_lsn_ = 0;
};

}  // namespace ghostlog::capture
