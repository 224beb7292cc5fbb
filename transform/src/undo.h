// Before-images of the index records (state, refs, readers) that a partly
// written input transaction changed, and of the output records whose producer
// it changed (shared target rows' ownership reads the latest one's header).
//
// An input transaction whose output outgrows a batch is written in chunks, so
// that memory stays bounded (a million-row source transaction, a change to a
// row that very many rows look up). Its output records are harmless until the
// output transaction record that lists them is written; its index records are
// not: the next mapping reads them. So every chunk also writes, for each index
// key it changes for the first time in this transaction, the key's value
// before the transaction into a compacted undo topic, in the same atomic
// write, with the group's offset at the transaction and a checkpoint saying
// that it is partly written. A failed mapping then writes the before-images
// back at once; a crash leaves that to the next start (even if the group was
// reset meanwhile), which then maps the transaction again from the state it
// first saw. Once the transaction is whole, the undo topic's keys get
// tombstones (Kafka does not delete records of a compacted topic). A before-image is the value after the
// batch's earlier transactions, which the first chunk writes too.
// Output records put back are listed by an output transaction of their own:
// they copy what the sink has (or a tombstone, which it skips), and they are
// the latest of their keys, which compaction keeps.
//
// Thread-safety: none; the transform's thread owns it.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ghostlog/log/changelog.h"

namespace ghostlog::transform {

class UndoLog {
 public:
  UndoLog(log::Changelog& log, std::string topic) : log_(log), topic_(std::move(topic)) {}

  const std::string& topic() const { return topic_; }

  // Appends to `out` a before-image for each key of `records[from..]` (or
  // each of `only`) of `topic` that has none in the undo topic yet: its
  // latest record in `records[..from)` (the batch's earlier transactions,
  // written with the chunk), else in the topic.
  Status Save(const std::string& topic, const std::vector<log::RecordIn>& records, size_t from,
              std::vector<log::RecordIn>* out, const std::set<std::string>* only = nullptr);
  // Appends to `out` the before-image "no record" for `key` of `topic`, which
  // the caller knows had none before this transaction (so none is saved yet).
  void SaveNone(const std::string& topic, const std::string& key, std::vector<log::RecordIn>* out);

  // Calls `write` with the before-images, a page at a time, by topic, as
  // records that put them back (a tombstone for a key that had no value).
  using Batches = std::map<std::string, std::vector<log::RecordIn>>;
  Status Restore(const std::function<Status(Batches, bool last)>& write);

  // Forgets every before-image: the transaction they undo is whole, or undone.
  Status Clear();

 private:
  Status Tombstones(std::vector<std::string> keys);
  void Remember(const std::string& key);

  log::Changelog& log_;
  const std::string topic_;
  // The keys Save gave images since the last Clear, so that Clear writes
  // their tombstones without reading the topic (whose tombstones add up
  // until compaction); unknown before this process's first Clear, and past
  // kMaxRemembered keys (a transaction of a million rows must not hold them).
  static constexpr size_t kMaxRemembered = 100000;
  std::set<std::string> saved_;
  bool saved_known_ = false;
};

}  // namespace ghostlog::transform
