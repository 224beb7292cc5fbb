// The transform stage's implementation, split by concern across
// transform.cc (the loop: start, batches, failure), transform_map.cc
// (mapping source events into target rows, live lookups, shared rows) and
// transform_write.cc (the atomic write, chunks and their undo).
//
// Thread-safety: none; the stage's thread owns an Impl.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "deps.h"
#include "ghostlog/transform/mapping.h"
#include "ghostlog/transform/transform.h"
#include "lookup.h"
#include "sql.h"
#include "undo.h"

namespace ghostlog::transform {

// What a record held in a batch costs beyond its key and value: its headers,
// the maps of what the batch wrote (state, producers), the allocator's share.
// Without it a batch of small rows held 13 times its counted bytes (the
// transform's peak RSS in tests/capture/capture_big_txn_test.cc).
inline constexpr size_t kRecordOverhead = 256;

// What one atomic write will carry: whole input transactions, or (a chunk)
// the ones before a large input transaction and the start of its output.
struct Pending {
  std::vector<std::string> order;                         // output topics, first use first
  std::map<std::string, std::vector<log::RecordIn>> out;  // by output topic
  std::vector<log::RecordIn> state, refs, readers, dead;
  // Output transaction records, written when their ranges' offsets are known
  // (Write's `finish`): a changelog may put offsets of its own between writes.
  std::vector<nlohmann::json> txns;
  std::map<std::string, std::vector<std::string>> state_now;  // state written in this batch, by state key
  std::map<std::string, std::string> producer_now;            // topic '\0' target key -> source key ("" deleted)
  // Output keys whose producer the input transaction being mapped changed
  // (topic, key) -> whether the topic had no record of the key before it:
  // a chunk saves their latest records, so that an undo puts them back.
  std::map<std::pair<std::string, std::string>, bool> producer_changed;
  log::Offset next_in = 0;
  int64_t transactions = 0, events_in = 0, events_out = 0;
  size_t bytes = 0;  // of `out`, and of the other records up to `counted` (with kRecordOverhead)
  size_t counted[3] = {0, 0, 0};
  int64_t last_source_ts_ms = 0;

  // The input transaction being mapped: its offset, where its output begins
  // in each topic (absolute offsets: chunks may be written already), and how
  // many state, refs, readers and dead-letter records came before it.
  log::Offset txn_offset = -1;
  std::vector<std::string> txn_order;
  std::map<std::string, log::Offset> txn_first;
  size_t txn_marks[4] = {0, 0, 0, 0};
  int64_t chunks = 0;  // of it, written

  void BeginTxn(log::Offset offset) {
    ++transactions;
    txn_offset = offset;
    txn_order.clear();
    txn_first.clear();
    txn_marks[0] = state.size();
    txn_marks[1] = refs.size();
    txn_marks[2] = readers.size();
    txn_marks[3] = dead.size();
    producer_changed.clear();
  }

  // Bytes of the records the batch will write (what its atomic write holds again).
  size_t Bytes() {
    std::vector<log::RecordIn>* lists[3] = {&state, &refs, &readers};
    for (int i = 0; i < 3; ++i) {
      for (; counted[i] < lists[i]->size(); ++counted[i]) {
        const auto& r = (*lists[i])[counted[i]];
        bytes += kRecordOverhead + r.key.size() + (r.value ? r.value->size() : 0);
      }
    }
    return bytes;
  }

  // A chunk of the transaction was written: what remains is its own.
  void ChunkWritten(std::vector<log::RecordIn> its_dead) {
    order.clear();
    out.clear();
    state.clear();
    refs.clear();
    readers.clear();
    txns.clear();
    dead = std::move(its_dead);
    state_now.clear();  // the changelog has them now
    producer_now.clear();
    producer_changed.clear();
    transactions = 1;
    events_in = events_out = 0;
    bytes = 0;
    std::fill(std::begin(counted), std::end(counted), 0);
    std::fill(std::begin(txn_marks), std::end(txn_marks), 0);
    ++chunks;
  }
};

class Transform::Impl {
 public:
  using json = nlohmann::json;

  Impl(TransformConfig c, log::Changelog& log)
      : cfg_(std::move(c)),
        log_(log),
        lookup_(log, cfg_.input_prefix),
        in_txn_(cfg_.input_prefix + ".transaction"),
        out_txn_(cfg_.output_prefix + ".transaction"),
        state_topic_("__ghostlog.transform." + cfg_.group + ".state"),
        refs_topic_("__ghostlog.transform." + cfg_.group + ".refs"),
        readers_topic_("__ghostlog.transform." + cfg_.group + ".readers"),
        chunked_checkpoint_("transform." + cfg_.group + ".chunked"),
        deps_(log, refs_topic_, readers_topic_),
        undo_(log, "__ghostlog.transform." + cfg_.group + ".undo") {}

  const TransformStats& stats() const { return stats_; }

  Status Run(std::stop_token stop);

 private:
  static log::TopicConfig Compacted() { return log::TopicConfig::Compacted(); }

  Status Load();

  Status WaitForInput(std::stop_token stop);

  // Creates `topic` if needed and learns its end offset: the transform is the
  // only writer of its output topics, so it knows the offsets it will get.
  Status EnsureTopic(const std::string& topic, const log::TopicConfig& config);

  // --- mapping ----------------------------------------------------------------
  Status MapTransaction(const log::Record& t, Pending* p);

  // Snapshot chunks are mapped only once capture has written its whole
  // snapshot: a mapping may look up a table the snapshot reaches later, and
  // mapping before it is there would emit rows with NULLs that the target may
  // refuse (NOT NULL) or show. Capture ends a snapshot with SNAPSHOT_DONE; an
  // END after the chunks (streaming began) says the same, and covers data
  // dirs written before that record existed.
  Status AwaitSnapshotDone(log::Offset snapshot_at);

  // Capture writes a table's new schema in the transaction that first has
  // rows of that shape: lookups must not go on with the old key columns.
  Status ReadSchemaChanges(const std::string& topic, log::Offset first, log::Offset last);

  Status MapRange(const std::string& topic, log::Offset first, log::Offset last,
                  const std::vector<const Mapping*>& mappings, Pending* p);

  Status MapEvent(const std::string& topic, const log::Record& r, const std::vector<const Mapping*>& mappings,
                  Pending* p);

  // Maps one source row image (nullptr: the row is gone) with one mapping and
  // records which rows its lookups read.
  Status MapRow(const std::string& topic, const log::Record& r, const Mapping& m, const std::string& op, const json& v,
                const json* after, Pending* p);

  // Upserts the rows the source row yields now, deletes the target rows it
  // yielded before and no longer does, and records the new set in the state.
  //
  // A target row may have several owners (v3 keeps one adjustment reason per
  // requisition, made from each line item's adjustments): the state also
  // lists, per target key, the source rows producing it, and the row is
  // deleted only when the last one stops; otherwise a remaining owner is
  // mapped again so the row shows a live owner's values.
  Status EmitRows(const std::string& topic, const log::Record& r, const Mapping& m, const std::string& op,
                  const json& v, std::vector<json> rows, Pending* p);

  // Maps a source row again from its latest captured image (live lookups,
  // ownership hand-over). A row deleted since is left to its own delete event.
  Status Remap(const Mapping& m, const std::string& source_key, Pending* p);

  // Whether the change `r` (an upsert of `table` with image `after`) leaves
  // every column a reader of mapping `m` can read of it as the record the
  // reader read (at `seen`) had it: then mapping the reader again would
  // change nothing. No when unsure: the reader is mapped again. `images`
  // keeps the records read at each offset for this change's readers.
  Result<bool> ReadColumnsUnchanged(const Mapping& m, const std::string& table, const std::string& topic,
                                    const log::Record& r, const json& after, log::Offset seen,
                                    std::map<log::Offset, std::optional<json>>* images);

  // State entries are lists of strings: per source row its target keys, sorted
  // (name kRowState source-key); per target row with several owners, its
  // owners (name kOwners target-key).
  static constexpr char kRowState = '\0', kOwners = '\1';
  // State key kLastChange table '\0' record-key: the offset of the last change
  // to a looked-up row that the stage mapped (its readers show it).
  static constexpr char kLastChange[] = "\x02";

  // The source row that produced the live target row `key` ("" if there is none).
  static constexpr const char* kProducerHeader = "ghostlog.source_key";
  // `unwritten`: whether the topic has no record of the key.
  Result<std::string> Producer(const std::string& topic, const std::string& key, const Pending& p,
                               bool* unwritten = nullptr);

  Result<std::vector<std::string>> State(const std::string& key, const Pending& p);

  void SetState(const std::string& key, std::vector<std::string> list, Pending* p);

  json Source(const std::string& topic, const log::Record& r, const Mapping& m, const json& v) const;

  // A record that fails its mapping stops the stage, or goes to the dead-letter
  // topic in the same atomic write as the rest of its transaction.
  Status Failed(const std::string& topic, const log::Record& r, const Mapping* m, const std::string& why, Pending* p);

  // --- the atomic write -------------------------------------------------------
  void Emit(Pending* p, const std::string& topic, log::RecordIn r);

  Status Commit(Pending* p);

  // Writes the batch so far, in the middle of input transaction
  // p->txn_offset, with the before-images of the index records it changed,
  // commits the group at that transaction and marks it as chunked (undo.h).
  Status WriteChunkIfFull(Pending* p);

  // Part of input transaction `at` was written before the stage stopped: its
  // index records go back to what they were, and it is mapped again from
  // there. (Its output records are listed by no output transaction, so the
  // sink never applies them; the latest records of keys whose producer it
  // changed are put back, in output transactions of their own, and the new
  // mapping's records supersede the rest.) The group stays at `from`.
  Status Undo(const std::string& txn_offset, log::Offset from);
  // Appends records first .. first+n-1 of output `topic` to an output
  // transaction's ranges and data collections; returns n.
  log::Offset AddRange(const std::string& topic, log::Offset first, log::Offset n, json* ranges,
                       json* collections) const;
  // Adds to p->txns an output transaction listing p's output records: those
  // an undo of input transaction `undone` puts back.
  void ListPutBack(Pending* p, log::Offset undone);

  // One atomic write of the batch, committing the group at `next_in`; with
  // `chunked`, setting the chunked-transaction checkpoint to it ("": none).
  // Offsets of output records are predicted from where the last write ended
  // (end_); the write moves those in p's ranges and txn_first to the offsets
  // they got, which differ where the changelog took offsets of its own
  // between writes (a Kafka transaction's commit marker).
  Status Write(Pending* p, log::Offset next_in, std::optional<std::string> chunked, std::vector<log::RecordIn> undo,
               log::Durability durability = log::Durability::kPolicy);

  TransformConfig cfg_;
  log::Changelog& log_;
  ChangelogLookup lookup_;
  const std::string in_txn_, out_txn_, state_topic_, refs_topic_, readers_topic_, chunked_checkpoint_;
  std::vector<Mapping> mappings_;
  std::map<std::string, std::vector<const Mapping*>> by_source_;
  std::map<std::string, const Mapping*> by_name_;
  std::map<std::string, LookedUpColumns> read_columns_;          // mapping name -> what it reads of looked-up tables
  std::map<std::string, std::vector<std::string>> sorted_keys_;  // mapping name -> key columns, sorted
  DependencyIndex deps_;
  UndoLog undo_;
  std::stop_token stop_;
  log::Offset snapshot_done_at_ = -1;  // where the snapshot being mapped ends
  log::Offset snapshot_scan_ = 0;      // how far AwaitSnapshotDone has looked
  std::unique_ptr<SqlEngine> engine_;
  std::map<std::string, log::Offset> end_;
  TransformStats stats_;
};

}  // namespace ghostlog::transform
