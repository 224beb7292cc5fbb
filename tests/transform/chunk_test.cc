// An input transaction whose output outgrows a batch is written in chunks;
// a stop between them undoes what the chunks changed in the stage's index and
// maps the transaction again (transform/src/undo.h).
#include "ghostlog/log/fault.h"
#include "transform/transform_fixture.h"

namespace ghostlog::transform::testing {
namespace {

class ChunkTest : public TransformTest {
 protected:
  static constexpr int kRows = 300;  // about 100 KB of output: dozens of 4 KiB chunks

  TransformConfig SmallBatches() {
    TransformConfig c = Config();
    c.max_batch_bytes = 4096;
    return c;
  }

  // One source transaction of kRows facilities (`code` + id, active or not).
  void BigTxn(const std::string& op, const std::string& code, bool active = true) {
    std::vector<Change> changes;
    for (int id = 1; id <= kRows; ++id) {
      changes.push_back({"public.facilities", op, Facility(id, code + std::to_string(id), 1, active)});
    }
    capture_->Txn(changes);
  }

  // Runs the stage until it fails after `skip` + 1 chunks, as a crash would
  // (the failure cannot undo them either). What an earlier stop left partly
  // written is undone first, at the start, as after a crash.
  Status RunAndStopAfterChunk(int skip, TransformConfig c) {
    auto partly = log_->ReadCheckpoint("transform.ghostlog-transform.chunked");
    const int undos_at_start = partly.ok() && !partly->empty() ? 1 : 0;
    log::fault::Arm("transform.chunk_written", Status::IOError("injected stop"), 1, skip);
    log::fault::Arm("transform.undo", Status::IOError("injected crash"), -1, undos_at_start);
    Status s = RunToEnd(std::move(c));
    log::fault::DisarmAll();
    return s;
  }

  log::CommittedOffset Committed() { return Must(log_->Committed("ghostlog-transform", {"v2.transaction", 0})); }
  // The input transaction partly written ("" if none).
  std::string PartlyWritten() { return Must(log_->ReadCheckpoint("transform.ghostlog-transform.chunked")); }
  // Output transactions of mapped input transactions, or (`put_back`) those
  // listing what an undo put back.
  size_t OutputTransactions(bool put_back = false) {
    size_t n = 0;
    for (const auto& t : Must(log_->Read({"v3.transaction", 0}, 0, {100000, 1 << 30}))) {
      n += json::parse(*t.value)["id"].get<std::string>().starts_with("undo of ") == put_back ? 1 : 0;
    }
    return n;
  }
  // No before-image left: every key's latest record is a tombstone.
  bool UndoIsEmpty() {
    return Must(log_->ReadLatestByPrefix({"__ghostlog.transform.ghostlog-transform.undo", 0}, "", "", 1)).empty();
  }
};

TEST_F(ChunkTest, ALargeTransactionIsWrittenInChunksAndListedAsOne) {
  SnapshotTwoZones();
  capture_->SnapshotDone();
  BigTxn("c", "F");
  Running run(SmallBatches(), StageLog());
  ASSERT_TRUE(run.CaughtUp().ok());
  EXPECT_GT(run.t.stats().chunks, 10);
  EXPECT_EQ(run.t.stats().events_in, kRows) << "zones: nobody looks them up yet";
  EXPECT_EQ(run.t.stats().events_out, kRows);

  auto txns = Must(log_->Read({"v3.transaction", 0}, 0));
  ASSERT_EQ(txns.size(), 1u) << "one output transaction for the source transaction";
  const json t = json::parse(*txns[0].value);
  EXPECT_EQ(t["event_count"], kRows);
  EXPECT_EQ(t["ranges"][0]["first"], 0);
  EXPECT_EQ(t["ranges"][0]["last"], kRows - 1);
  const auto target = Target("public.kafka_facilities");
  ASSERT_EQ(target.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(target.at(FacilityKey(kRows))["zonename"], "Pwani");
  EXPECT_EQ(PartlyWritten(), "");
  // Emptied right after the transaction's last write, which CaughtUp sees.
  EXPECT_TRUE(log::testing::WaitFor([&] { return UndoIsEmpty(); }));
}

// Each facility stops mapping (where = active): its target row must be
// deleted, which the stage knows from the state saying what the row produced.
// A chunk has already written "produces nothing" for its rows; without the
// undo, mapping the transaction again would delete none of them.
TEST_F(ChunkTest, AStopBetweenChunksIsUndoneAndTheTransactionMappedAgain) {
  BigTxn("c", "F");
  ASSERT_TRUE(RunToEnd(Config()).ok());
  ASSERT_EQ(Target("public.kafka_facilities").size(), static_cast<size_t>(kRows));
  BigTxn("u", "G", /*active=*/false);

  for (int skip : {0, 5}) {
    Status s = RunAndStopAfterChunk(skip, SmallBatches());
    // Both errors: the failure that stopped the stage, then the undo's.
    ASSERT_EQ(s.message(), "injected stop; then undoing the chunks already written failed: injected crash")
        << s.ToString();
    EXPECT_EQ(Committed().offset, 1) << "at the transaction";
    EXPECT_EQ(PartlyWritten(), "1") << s.ToString();
    EXPECT_FALSE(UndoIsEmpty());
    EXPECT_EQ(Target("public.kafka_facilities").size(), static_cast<size_t>(kRows)) << "no chunk is applied";
  }
  ASSERT_TRUE(RunToEnd(SmallBatches()).ok());
  EXPECT_TRUE(Target("public.kafka_facilities").empty());
  EXPECT_EQ(OutputTransactions(), 2u);
  EXPECT_EQ(OutputTransactions(/*put_back=*/true), 2u) << "the rows the chunks deleted, put back by each undo";
  EXPECT_EQ(Committed().offset, 2);
  EXPECT_EQ(PartlyWritten(), "");
  EXPECT_TRUE(UndoIsEmpty());

  // The index is what a run without chunks leaves: a new version of every
  // row maps again (nothing is left thinking it still produces a row).
  BigTxn("u", "H");
  ASSERT_TRUE(RunToEnd(Config()).ok());
  const auto target = Target("public.kafka_facilities");
  ASSERT_EQ(target.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(target.at(FacilityKey(7))["code"], "H7");
}

TEST_F(ChunkTest, AChangeToARowManyRowsLookUpIsWrittenInChunks) {
  SnapshotTwoZones();
  capture_->SnapshotDone();
  BigTxn("c", "F");
  ASSERT_TRUE(RunToEnd(Config()).ok());
  capture_->Txn({{"public.zones", "u", {{"id", 1}, {"name", "Pwani Region"}}}});

  ASSERT_EQ(RunAndStopAfterChunk(2, SmallBatches()).code(), Status::Code::kIOError);
  EXPECT_EQ(ZoneOf(kRows), "Pwani");
  Running run(SmallBatches(), StageLog());
  ASSERT_TRUE(run.CaughtUp().ok());
  EXPECT_GT(run.t.stats().chunks, 10);
  for (int id = 1; id <= kRows; ++id) ASSERT_EQ(ZoneOf(id), "Pwani Region") << id;
  EXPECT_EQ(OutputTransactions(), 2u);
}

TEST_F(ChunkTest, ADeadLetterOfAChunkedTransactionIsWrittenOnce) {
  WriteStrictMapping();
  constexpr int kBad = 200;  // in the 28th of 42 chunks
  std::vector<Change> changes;
  for (int id = 1; id <= kRows; ++id) {
    const std::string code = id == kBad ? "not json" : "{\"x\": " + std::to_string(id) + "}";
    changes.push_back({"public.facilities", "c", Facility(id, code, 1)});
  }
  capture_->Txn(changes);

  // Stopping at it undoes what the chunks before it wrote.
  Status s = RunToEnd(SmallBatches());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("malformed JSON"), std::string::npos) << s.message();
  EXPECT_EQ(Committed().offset, 0);
  EXPECT_EQ(PartlyWritten(), "");
  EXPECT_TRUE(UndoIsEmpty());

  TransformConfig c = SmallBatches();
  c.on_error = OnError::kDeadLetter;
  ASSERT_EQ(RunAndStopAfterChunk(35, c).code(), Status::Code::kIOError);  // after the dead letter
  Running run(c, StageLog());
  ASSERT_TRUE(run.CaughtUp().ok());
  EXPECT_EQ(run.t.stats().dead_lettered, 1);
  EXPECT_GT(run.t.stats().chunks, 35);
  EXPECT_EQ(Must(log_->Read({"ghostlog.transform.dead_letter", 0}, 0)).size(), 1u);
  EXPECT_EQ(Target("public.strict").size(), static_cast<size_t>(kRows - 1));
}

// A source row that joins a shared target row in a chunk that is undone
// joins it again when the transaction is mapped again. (The undone chunk's
// output record stays in the topic with this row's producer header.)
TEST_F(ChunkTest, AnOwnerJoiningASharedRowInAnUndoneChunkJoinsItAgain) {
  WriteZonesSeenMapping();
  capture_->Txn({{"public.facilities", "c", Facility(1000, "X", 9)}});
  ASSERT_OK(RunToEnd(SmallBatches()));
  std::vector<Change> changes{{"public.facilities", "c", Facility(2, "B", 9)}};  // joins zone 9, first chunk
  for (int id = 3; id <= kRows; ++id) changes.push_back({"public.facilities", "c", Facility(id, "F", 100 + id)});
  capture_->Txn(changes);
  ASSERT_EQ(RunAndStopAfterChunk(0, SmallBatches()).code(), Status::Code::kIOError);
  capture_->Txn({{"public.facilities", "d", {{"id", 1000}}}});
  ASSERT_OK(RunToEnd(SmallBatches()));
  const auto seen = Target("public.zones_seen");
  ASSERT_TRUE(seen.count(json{{"zoneid", 9}}.dump())) << "facility 2 still produces zone 9";
  EXPECT_EQ(seen.at(json{{"zoneid", 9}}.dump())["code"], "B");
}

// The records an undo puts back are the latest of their keys: compaction
// drops the listed records they copy, so a sink rewound to the beginning
// must find them listed. Here the transaction mapped again (after a mapping
// fix) no longer writes the shared row the undone chunk had taken over.
TEST_F(ChunkTest, WhatAnUndoPutsBackIsListedForTheSink) {
  WriteZonesSeenMapping();
  capture_->Txn({{"public.facilities", "c", Facility(1000, "X", 9)}});
  ASSERT_OK(RunToEnd(SmallBatches()));
  std::vector<Change> changes{{"public.facilities", "c", Facility(2, "B", 9)}};  // takes zone 9 over, first chunk
  for (int id = 3; id <= kRows; ++id) changes.push_back({"public.facilities", "c", Facility(id, "F", 100 + id)});
  capture_->Txn(changes);
  ASSERT_EQ(RunAndStopAfterChunk(0, SmallBatches()).code(), Status::Code::kIOError);
  WriteMapping("20-zones-seen.toml", R"toml(source = "public.facilities"
target = "public.zones_seen"
key = ["zoneid"]
where = "id <> 2"
[columns]
zoneid = "zoneid"
code = "code"
)toml");
  ASSERT_OK(RunToEnd(SmallBatches()));
  ASSERT_OK(log_->Compact("v3.public.zones_seen").status());
  const auto seen = Target("public.zones_seen");
  ASSERT_TRUE(seen.count(json{{"zoneid", 9}}.dump())) << "facility 1000 still produces zone 9";
  EXPECT_EQ(seen.at(json{{"zoneid", 9}}.dump())["code"], "X");
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRows - 1));
}

// A chunk also writes the batch's transactions before the chunked one; the
// undo puts back what they left, not what the changelog held before them.
TEST_F(ChunkTest, AnUndoPutsBackWhatTheBatchsEarlierTransactionsLeft) {
  WriteZonesSeenMapping();
  capture_->Txn({{"public.facilities", "c", Facility(1000, "X", 1)}});
  ASSERT_OK(RunToEnd(SmallBatches()));
  capture_->Txn({{"public.facilities", "u", Facility(1000, "X", 2)}});  // same batch as the next one
  std::vector<Change> changes{{"public.facilities", "d", {{"id", 1000}}}};
  for (int id = 1; id <= kRows; ++id) changes.push_back({"public.facilities", "c", Facility(id, "F", 100 + id)});
  capture_->Txn(changes);
  ASSERT_EQ(RunAndStopAfterChunk(0, SmallBatches()).code(), Status::Code::kIOError);
  ASSERT_OK(RunToEnd(SmallBatches()));
  const auto seen = Target("public.zones_seen");
  EXPECT_FALSE(seen.count(json{{"zoneid", 2}}.dump())) << "facility 1000, in zone 2 when deleted, produced it";
  EXPECT_FALSE(seen.count(json{{"zoneid", 1}}.dump()));
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRows));
}

}  // namespace
}  // namespace ghostlog::transform::testing
