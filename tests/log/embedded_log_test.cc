// Unit tests of every changelog operation, against a real RocksDB on disk.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "crc32c.h"
#include "ghostlog/log/fault.h"
#include "test_util.h"

namespace ghostlog::log {
namespace {

using namespace std::chrono_literals;
using testing::Must;
using testing::Rec;
using testing::TempDir;

class EmbeddedLogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override { fault::DisarmAll(); }

  EmbeddedLogOptions Options() {
    EmbeddedLogOptions o;
    o.data_dir = dir_.sub("data");
    o.cleanup_interval = 0ms;
    o.clock = [this] { return now_.load(); };
    return o;
  }
  void Reopen() {
    log_.reset();
    log_ = Must(EmbeddedLog::Open(Options()), "open");
  }
  std::vector<Offset> Append(const std::string& topic, std::vector<RecordIn> batch, PartitionId p = 0) {
    return Must(log_->Append({topic, p}, std::move(batch)), "append");
  }
  std::vector<Record> ReadAll(const std::string& topic, PartitionId p = 0) {
    auto info = Must(log_->DescribePartition({topic, p}));
    return Must(log_->Read({topic, p}, info.log_start_offset, {1 << 30, 1LL << 40}));
  }
  static std::vector<Offset> Offsets(const std::vector<Record>& rs) {
    std::vector<Offset> o;
    for (const auto& r : rs) o.push_back(r.offset);
    return o;
  }
  TopicConfig Compacted(int64_t delete_retention_ms = 1000, int64_t lag_ms = 0) {
    TopicConfig c;
    c.cleanup_compact = true;
    c.cleanup_delete = false;
    c.delete_retention_ms = delete_retention_ms;
    c.min_compaction_lag_ms = lag_ms;
    return c;
  }

  TempDir dir_;
  std::atomic<Timestamp> now_{1'700'000'000'000};
  std::unique_ptr<EmbeddedLog> log_;
};

TEST_F(EmbeddedLogTest, TopicLifecycle) {
  ASSERT_OK(log_->CreateTopic("orders", 3, {}));
  ASSERT_OK(log_->CreateTopic("facilities", 1, Compacted()));
  EXPECT_EQ(log_->CreateTopic("orders", 1, {}).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(Must(log_->ListTopics()), (std::vector<std::string>{"facilities", "orders"}));

  auto info = Must(log_->DescribeTopic("orders"));
  EXPECT_EQ(info.partitions, 3);
  ASSERT_EQ(info.partition_info.size(), 3u);
  EXPECT_EQ(info.config.cleanup_policy(), "delete");
  EXPECT_EQ(Must(log_->PartitionCount("orders")), 3);

  TopicConfig altered = info.config;
  ASSERT_OK(altered.Set("retention.ms", "60000"));
  ASSERT_OK(log_->AlterTopicConfig("orders", altered));
  Reopen();
  EXPECT_EQ(Must(log_->DescribeTopic("orders")).config.retention_ms, 60000);
  EXPECT_EQ(Must(log_->DescribeTopic("facilities")).config.cleanup_policy(), "compact");

  ASSERT_OK(log_->DeleteTopic("orders"));
  EXPECT_TRUE(log_->DescribeTopic("orders").status().IsNotFound());
  EXPECT_TRUE(log_->PartitionCount("orders").status().IsNotFound());
  EXPECT_TRUE(log_->DeleteTopic("orders").IsNotFound());
  EXPECT_EQ(Must(log_->ListTopics()), (std::vector<std::string>{"facilities"}));
}

TEST_F(EmbeddedLogTest, RejectsBadNamesAndConfig) {
  EXPECT_TRUE(log_->CreateTopic("", 1, {}).IsInvalidArgument());
  EXPECT_TRUE(log_->CreateTopic("a/b", 1, {}).IsInvalidArgument());
  EXPECT_TRUE(log_->CreateTopic("..", 1, {}).IsInvalidArgument());
  EXPECT_TRUE(log_->CreateTopic("ok", 0, {}).IsInvalidArgument());
  TopicConfig c;
  Status s = c.Set("retention.ms", "soon");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("retention.ms"), std::string::npos) << s.message();
  s = c.Set("no.such.key", "1");
  EXPECT_NE(s.message().find("no.such.key"), std::string::npos) << s.message();
  EXPECT_TRUE(c.Set("cleanup.policy", "forever").IsInvalidArgument());
  EXPECT_TRUE(c.Set("delete.retention.ms", "-5").IsInvalidArgument());
}

TEST_F(EmbeddedLogTest, AppendAndReadRoundTrip) {
  ASSERT_OK(log_->CreateTopic("t", 2, {}));
  RecordIn with_headers = Rec("k2", std::string("v2\0binary", 9), 42);
  with_headers.headers = {{"op", "c"}, {"empty", ""}};
  EXPECT_EQ(Append("t", {Rec("k1", "v1"), with_headers, Rec("k3", std::nullopt), Rec("", "")}),
            (std::vector<Offset>{0, 1, 2, 3}));
  EXPECT_EQ(Append("t", {Rec("x", "y")}), (std::vector<Offset>{4}));
  EXPECT_EQ(Append("t", {Rec("x", "y")}, 1), (std::vector<Offset>{0}));  // partitions count separately

  auto rs = ReadAll("t");
  ASSERT_EQ(rs.size(), 5u);
  EXPECT_EQ(rs[0].key, "k1");
  EXPECT_EQ(rs[0].value, "v1");
  EXPECT_EQ(rs[0].timestamp, now_.load());  // set at append
  EXPECT_EQ(rs[1].value, std::string("v2\0binary", 9));
  EXPECT_EQ(rs[1].timestamp, 42);
  EXPECT_EQ(rs[1].headers, with_headers.headers);
  EXPECT_TRUE(rs[2].is_tombstone());
  EXPECT_FALSE(rs[3].is_tombstone());  // empty, not null
  EXPECT_EQ(rs[3].value, "");

  // Bounded reads, reads from the middle, and the range checks.
  EXPECT_EQ(Offsets(Must(log_->Read({"t", 0}, 1, {2, 1 << 20}))), (std::vector<Offset>{1, 2}));
  EXPECT_EQ(Must(log_->Read({"t", 0}, 0, {100, 1})).size(), 1u);  // at least one record
  EXPECT_TRUE(Must(log_->Read({"t", 0}, 5)).empty());
  Status s = log_->Read({"t", 0}, 6).status();
  EXPECT_TRUE(s.IsOutOfRange());
  EXPECT_NE(s.message().find("offset 6 is out of range [0, 5]"), std::string::npos) << s.message();
  EXPECT_TRUE(log_->Read({"t", 2}, 0).status().IsNotFound());
  EXPECT_TRUE(log_->Read({"nope", 0}, 0).status().IsNotFound());
}

// A copy keeps offsets (ghostlog log copy): gaps between and after the
// records stay gaps, the end is where the source's was, and it all survives
// a reopen and passes verify.
TEST_F(EmbeddedLogTest, AppendAtKeepsOffsetsTimestampsAndGaps) {
  ASSERT_TRUE(log_->CreateTopic("t", 1, Compacted()).ok());
  auto at = [](Offset o, std::string key, std::optional<std::string> value, Timestamp ts) {
    return Record{o, ts, std::move(key), std::move(value), {{"h", "x"}}};
  };
  const std::vector<Record> copied{at(3, "a", "1", 1600000000003), at(4, "b", std::nullopt, 1600000000004),
                                   at(9, "a", "3", 1600000000009)};
  EXPECT_EQ(Must(log_->AppendAt({"t", 0}, copied, 12)), 12);
  Reopen();
  EXPECT_EQ(ReadAll("t"), copied);
  auto info = Must(log_->DescribePartition({"t", 0}));
  EXPECT_EQ(info.log_start_offset, 0);
  EXPECT_EQ(info.end_offset, 12);
  EXPECT_EQ(info.records, 3);
  EXPECT_EQ(Must(log_->Read({"t", 0}, 5)).front().offset, 9);
  EXPECT_EQ(Must(log_->ReadLatest({"t", 0}, "a"))->offset, 9);  // the key index follows
  EXPECT_EQ(Must(log_->OffsetForTimestamp({"t", 0}, 1600000000005)), 9);
  EXPECT_EQ(Append("t", {Rec("c", "4")}), std::vector<Offset>{12});
  // An empty copy only moves the end.
  EXPECT_EQ(Must(log_->AppendAt({"t", 0}, {}, 20)), 20);
  EXPECT_EQ(Append("t", {Rec("d", "5")}), std::vector<Offset>{20});

  auto below = log_->AppendAt({"t", 0}, {at(15, "x", "y", 1)}, 16);
  ASSERT_TRUE(below.status().IsInvalidArgument());
  EXPECT_NE(below.status().message().find("below the end 21"), std::string::npos) << below.status().ToString();
  EXPECT_TRUE(log_->AppendAt({"t", 0}, {at(30, "x", "y", 1), at(30, "x", "y", 1)}, 31).status().IsInvalidArgument());
  EXPECT_TRUE(log_->AppendAt({"t", 0}, {at(30, "x", "y", 1)}, 30).status().IsInvalidArgument());
  EXPECT_TRUE(log_->AppendAt({"nope", 0}, {}, 1).status().IsNotFound());
  EXPECT_EQ(Must(log_->DescribePartition({"t", 0})).end_offset, 21) << "a refused copy appends nothing";
  auto report = Must(log_->Verify());
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems[0]);
}

TEST_F(EmbeddedLogTest, CheckpointsListsEveryName) {
  EXPECT_TRUE(Must(log_->Checkpoints()).empty());
  AtomicWrite w;
  w.checkpoints = {{"a", "1"}, {"b", "2"}};
  Must(log_->Write(std::move(w)));
  AtomicWrite w2;
  w2.checkpoints = {{"a", "3"}};
  Must(log_->Write(std::move(w2)));
  EXPECT_EQ(Must(log_->Checkpoints()), (std::map<std::string, std::string>{{"a", "3"}, {"b", "2"}}));
}

TEST_F(EmbeddedLogTest, FailedAppendAppendsNothing) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  EXPECT_TRUE(log_->Append({"t", 1}, {Rec("a", "b")}).status().IsNotFound());
  EXPECT_TRUE(log_->Append({"missing", 0}, {Rec("a", "b")}).status().IsNotFound());
  EXPECT_TRUE(log_->Append({"t", 0}, {Rec("a", "b"), Rec("c", "d", -7)}).status().IsInvalidArgument());
  auto info = Must(log_->DescribePartition({"t", 0}));
  EXPECT_EQ(info.end_offset, 0);
  EXPECT_EQ(info.records, 0);
}

TEST_F(EmbeddedLogTest, AtomicWriteAcrossPartitionsWithCheckpointAndOffsets) {
  ASSERT_OK(log_->CreateTopic("a", 1, {}));
  ASSERT_OK(log_->CreateTopic("b", 2, {}));
  Append("a", {Rec("x", "0")});
  AtomicWrite w;
  w.batches = {{{"a", 0}, {Rec("k", "1"), Rec("k", "2")}}, {{"b", 1}, {Rec("j", "3")}}};
  w.checkpoints["capture.lsn"] = "0/16B3748";
  w.group = "transform";
  w.offsets = {{{"a", 0}, {1, "", 0}}};
  auto offsets = Must(log_->Write(w));
  EXPECT_EQ(offsets, (std::vector<std::vector<Offset>>{{1, 2}, {0}}));
  Reopen();
  EXPECT_EQ(Must(log_->ReadCheckpoint("capture.lsn")), "0/16B3748");
  EXPECT_EQ(Must(log_->Committed("transform", {"a", 0})).offset, 1);
  EXPECT_TRUE(log_->ReadCheckpoint("other").status().IsNotFound());

  // One bad partition: nothing of the write lands, not even the checkpoint.
  w.batches.push_back({{"b", 5}, {Rec("z", "9")}});
  w.checkpoints["capture.lsn"] = "0/FFFFFFF";
  EXPECT_TRUE(log_->Write(w).status().IsNotFound());
  EXPECT_EQ(Must(log_->ReadCheckpoint("capture.lsn")), "0/16B3748");
  EXPECT_EQ(Must(log_->DescribePartition({"a", 0})).end_offset, 3);
  EXPECT_EQ(Must(log_->DescribePartition({"b", 1})).end_offset, 1);
}

// An atomic write's `finish` gets the offsets its batches get (two batches
// of one partition follow each other) and adds records and a checkpoint that
// name them, in the same write. A finish that fails, or adds to a partition
// that does not exist, leaves nothing written.
TEST_F(EmbeddedLogTest, AtomicWriteFinishNamesTheOffsetsOfItsOwnBatches) {
  ASSERT_OK(log_->CreateTopic("a", 1, {}));
  ASSERT_OK(log_->CreateTopic("txn", 1, {}));
  Append("a", {Rec("x", "0")});
  AtomicWrite w;
  w.batches = {{{"a", 0}, {Rec("k", "1"), Rec("k", "2")}}, {{"a", 0}, {Rec("j", "3")}}};
  w.checkpoints["pos"] = "replaced by finish";
  std::vector<std::vector<Offset>> seen;
  w.finish = [&](const std::vector<std::vector<Offset>>& offsets, WriteTail* tail) {
    seen = offsets;
    tail->batches.push_back(
        {{"txn", 0}, {Rec("t", std::to_string(offsets[0].front()) + ".." + std::to_string(offsets[1].back()))}});
    tail->checkpoints["pos"] = "at " + std::to_string(offsets[1].back());
    return Status::OK();
  };
  auto offsets = Must(log_->Write(w));
  EXPECT_EQ(seen, (std::vector<std::vector<Offset>>{{1, 2}, {3}}));
  EXPECT_EQ(offsets, (std::vector<std::vector<Offset>>{{1, 2}, {3}, {0}}));
  EXPECT_EQ(*Must(log_->Read({"txn", 0}, 0)).at(0).value, "1..3");
  EXPECT_EQ(Must(log_->ReadCheckpoint("pos")), "at 3");

  w.finish = [](const std::vector<std::vector<Offset>>&, WriteTail*) { return Status::Aborted("no"); };
  EXPECT_EQ(log_->Write(w).status().code(), Status::Code::kAborted);
  w.finish = [](const std::vector<std::vector<Offset>>&, WriteTail* tail) {
    tail->batches.push_back({{"txn", 7}, {Rec("t", "x")}});
    return Status::OK();
  };
  EXPECT_TRUE(log_->Write(w).status().IsNotFound());
  EXPECT_EQ(Must(log_->DescribePartition({"a", 0})).end_offset, 4);
  EXPECT_EQ(Must(log_->DescribePartition({"txn", 0})).end_offset, 1);
  EXPECT_EQ(Must(log_->ReadCheckpoint("pos")), "at 3");
}

// Concurrent writers share group commits: each finish still sees exactly the
// offsets its own records get.
TEST_F(EmbeddedLogTest, AtomicWriteFinishUnderGroupCommit) {
  ASSERT_OK(log_->CreateTopic("a", 1, {}));
  ASSERT_OK(log_->CreateTopic("txn", 1, {}));
  constexpr int kThreads = 4, kWrites = 50;
  std::vector<std::jthread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        AtomicWrite w;
        const std::string who = std::to_string(t) + "/" + std::to_string(i);
        w.batches = {{{"a", 0}, {Rec(who, "1"), Rec(who, "2"), Rec(who, "3")}}};
        w.finish = [&](const std::vector<std::vector<Offset>>& offsets, WriteTail* tail) {
          tail->batches.push_back(
              {{"txn", 0}, {Rec(who, std::to_string(offsets[0].front()) + " " + std::to_string(offsets[0].back()))}});
          return Status::OK();
        };
        if (!log_->Write(std::move(w)).ok()) ++failures;
      }
    });
  }
  threads.clear();
  ASSERT_EQ(failures.load(), 0);
  auto records = Must(log_->Read({"a", 0}, 0, {100000, 64 << 20}));
  auto listed = Must(log_->Read({"txn", 0}, 0, {100000, 64 << 20}));
  ASSERT_EQ(listed.size(), size_t{kThreads * kWrites});
  for (const Record& t : listed) {
    Offset first = 0, last = 0;
    std::istringstream(*t.value) >> first >> last;
    ASSERT_EQ(last - first, 2) << *t.value;
    for (Offset o = first; o <= last; ++o) EXPECT_EQ(records.at(static_cast<size_t>(o)).key, t.key) << o;
  }
}

TEST_F(EmbeddedLogTest, StateSurvivesReopen) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  Append("t", {Rec("a", "1"), Rec("b", "2")});
  Reopen();
  EXPECT_EQ(Append("t", {Rec("c", "3")}), (std::vector<Offset>{2}));
  auto info = Must(log_->DescribePartition({"t", 0}));
  EXPECT_EQ(info.records, 3);
  EXPECT_GT(info.bytes, 0);
  EXPECT_EQ(ReadAll("t").size(), 3u);
}

TEST_F(EmbeddedLogTest, SecondWriterIsRefusedWithPid) {
  auto second = EmbeddedLog::Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsBusy());
  EXPECT_NE(second.status().message().find("locked by PID " + std::to_string(::getpid())), std::string::npos)
      << second.status().message();
}

TEST_F(EmbeddedLogTest, ConcurrentAppendersGetDistinctContiguousOffsets) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  constexpr int kThreads = 8, kBatches = 50;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<Offset> seen;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int b = 0; b < kBatches; ++b) {
        auto offsets = log_->Append({"t", 0}, {Rec(std::to_string(i), "x"), Rec(std::to_string(i), "y")});
        ASSERT_TRUE(offsets.ok());
        ASSERT_EQ((*offsets)[1], (*offsets)[0] + 1);  // a batch stays together
        std::lock_guard l(mu);
        seen.insert(offsets->begin(), offsets->end());
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kThreads * kBatches * 2));
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), kThreads * kBatches * 2 - 1);
  EXPECT_TRUE(Must(log_->Verify()).ok());
}

TEST_F(EmbeddedLogTest, FollowerWakesOnAppend) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  std::atomic<Offset> seen{-1};
  std::thread follower([&] { seen = Must(log_->WaitForData({"t", 0}, 0, 10s)); });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(seen.load(), -1);  // still waiting
  const auto t0 = std::chrono::steady_clock::now();
  Append("t", {Rec("a", "b")});
  follower.join();
  EXPECT_EQ(seen.load(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);  // woken, not timed out
  // A timeout with nothing new returns the unchanged end.
  EXPECT_EQ(Must(log_->WaitForData({"t", 0}, 1, 20ms)), 1);
}

TEST_F(EmbeddedLogTest, ReaderInstanceFollowsTheWriter) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  Append("t", {Rec("a", "1")});
  EmbeddedLogOptions ro = Options();
  ro.mode = OpenMode::kReader;
  auto reader = Must(EmbeddedLog::Open(ro), "open reader");
  EXPECT_EQ(Must(reader->Read({"t", 0}, 0)).size(), 1u);
  EXPECT_FALSE(reader->CreateTopic("u", 1, {}).ok());  // readers do not write

  std::atomic<Offset> end{-1};
  std::thread follower([&] { end = Must(reader->WaitForData({"t", 0}, 1, 10s)); });
  std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  Append("t", {Rec("b", "2")});
  follower.join();
  EXPECT_EQ(end.load(), 2);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  auto rs = Must(reader->Read({"t", 0}, 1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].value, "2");
  // New topics show up after a refresh.
  ASSERT_OK(log_->CreateTopic("later", 1, {}));
  ASSERT_OK(reader->Refresh());
  EXPECT_EQ(Must(reader->ListTopics()).size(), 2u);
}

TEST_F(EmbeddedLogTest, ReaderOfEmptyDirIsNotFound) {
  EmbeddedLogOptions ro = Options();
  ro.mode = OpenMode::kReader;
  ro.data_dir = dir_.sub("never-written");
  EXPECT_TRUE(EmbeddedLog::Open(ro).status().IsNotFound());
}

TEST_F(EmbeddedLogTest, ConsumerGroups) {
  ASSERT_OK(log_->CreateTopic("t", 2, {}));
  Append("t", {Rec("a", "1"), Rec("b", "2"), Rec("c", "3")});
  Append("t", {Rec("d", "4")}, 1);
  EXPECT_TRUE(log_->Committed("sink", {"t", 0}).status().IsNotFound());
  ASSERT_OK(log_->CommitOffsets("sink", {{{"t", 0}, {2, "lsn=0/16B3748", 0}}, {{"t", 1}, {1, "", 0}}}));
  ASSERT_OK(log_->CommitOffsets("transform", {{{"t", 0}, {0, "", 0}}}));
  Reopen();
  auto c = Must(log_->Committed("sink", {"t", 0}));
  EXPECT_EQ(c.offset, 2);
  EXPECT_EQ(c.metadata, "lsn=0/16B3748");
  EXPECT_EQ(c.commit_timestamp, now_.load());
  EXPECT_EQ(Must(log_->ListGroups()), (std::vector<std::string>{"sink", "transform"}));

  auto g = Must(log_->DescribeGroup("sink"));
  ASSERT_EQ(g.partitions.size(), 2u);
  EXPECT_EQ(g.partitions[0].lag, 1);
  EXPECT_EQ(g.partitions[0].end_offset, 3);
  EXPECT_EQ(g.partitions[1].lag, 0);
  EXPECT_EQ(g.total_lag(), 1);
  EXPECT_TRUE(log_->DescribeGroup("nobody").status().IsNotFound());

  // All or nothing: one bad partition commits none.
  EXPECT_FALSE(log_->CommitOffsets("sink", {{{"t", 0}, {3, "", 0}}, {{"t", 9}, {0, "", 0}}}).ok());
  EXPECT_EQ(Must(log_->Committed("sink", {"t", 0})).offset, 2);

  // Deleting the topic deletes its committed offsets, as in Kafka.
  ASSERT_OK(log_->DeleteTopic("t"));
  EXPECT_TRUE(Must(log_->ListGroups()).empty());
}

TEST_F(EmbeddedLogTest, OffsetForTimestamp) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  Append("t", {Rec("a", "", 100), Rec("b", "", 100), Rec("c", "", 200)});
  Append("t", {Rec("d", "", 150)});  // out of order: 200 stays the running maximum
  Append("t", {Rec("e", "", 300)});
  EXPECT_EQ(Must(log_->OffsetForTimestamp({"t", 0}, 0)), 0);
  EXPECT_EQ(Must(log_->OffsetForTimestamp({"t", 0}, 100)), 0);
  EXPECT_EQ(Must(log_->OffsetForTimestamp({"t", 0}, 101)), 2);
  EXPECT_EQ(Must(log_->OffsetForTimestamp({"t", 0}, 200)), 2);
  EXPECT_EQ(Must(log_->OffsetForTimestamp({"t", 0}, 201)), 4);
  EXPECT_EQ(Must(log_->OffsetForTimestamp({"t", 0}, 301)), 5);  // none: the end
  // After retention removes a prefix the answer never falls below the log start.
  Must(log_->DeleteRecordsBefore({"t", 0}, 3));
  EXPECT_EQ(Must(log_->OffsetForTimestamp({"t", 0}, 0)), 3);
  EXPECT_EQ(Must(log_->OffsetForTimestamp({"t", 0}, 250)), 4);
}

TEST_F(EmbeddedLogTest, CompactionKeepsLatestPerKeyAndLeavesGaps) {
  ASSERT_OK(log_->CreateTopic("c", 1, Compacted()));
  Append("c", {Rec("a", "a1"), Rec("b", "b1"), Rec("a", "a2"), Rec("c", "c1")});
  Append("c", {Rec("b", "b2"), Rec("a", "a3")});
  auto stats = Must(log_->Compact("c"));
  EXPECT_EQ(stats.records_removed, 3);  // a1, b1, a2
  EXPECT_GT(stats.bytes_reclaimed, 0);
  auto rs = ReadAll("c");
  EXPECT_EQ(Offsets(rs), (std::vector<Offset>{3, 4, 5}));  // offsets unchanged; gaps skipped
  EXPECT_EQ(rs[2].value, "a3");
  // Reading from inside a gap starts at the next surviving record.
  EXPECT_EQ(Must(log_->Read({"c", 0}, 1)).front().offset, 3);
  auto info = Must(log_->DescribePartition({"c", 0}));
  EXPECT_EQ(info.records, 3);
  EXPECT_EQ(info.log_start_offset, 0);
  EXPECT_EQ(info.end_offset, 6);
  // Compacting again finds nothing to do.
  EXPECT_EQ(Must(log_->Compact("c")).records_removed, 0);
  // Delete-policy topics are not compacted.
  ASSERT_OK(log_->CreateTopic("d", 1, {}));
  Append("d", {Rec("a", "1"), Rec("a", "2")});
  Must(log_->Compact(std::nullopt));
  EXPECT_EQ(ReadAll("d").size(), 2u);
  EXPECT_TRUE(Must(log_->Verify()).ok());
}

// Compaction on demand gives the disk space back before it returns, not only
// offsets: the files holding the removed records are rewritten.
TEST_F(EmbeddedLogTest, CompactionOnDemandGivesTheDiskSpaceBack) {
  ASSERT_OK(log_->CreateTopic("c", 1, Compacted()));
  std::mt19937 rng(7);
  auto random_value = [&] {
    std::string v(1000, '\0');
    for (char& c : v) c = static_cast<char>(rng());
    return v;  // incompressible: the files' size follows the records kept
  };
  for (int round = 0; round < 20; ++round) {
    std::vector<RecordIn> batch;
    for (int k = 0; k < 100; ++k) batch.push_back(Rec("k" + std::to_string(k), random_value()));
    Append("c", std::move(batch));
  }
  auto table_bytes = [&] {
    uintmax_t n = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir_.sub("data"))) {
      if (f.path().extension() == ".sst") n += f.file_size();
    }
    return n;
  };
  Reopen();  // a clean close flushes: every record is in a table file
  const uintmax_t before = table_bytes();
  EXPECT_GT(before, 2'000'000u);
  EXPECT_EQ(Must(log_->Compact("c")).records_removed, 1900);
  const uintmax_t after = table_bytes();
  EXPECT_LT(after, before / 5) << before << " -> " << after << " bytes of table files";
  EXPECT_EQ(ReadAll("c").size(), 100u);
  Reopen();
  EXPECT_EQ(ReadAll("c").size(), 100u);
  EXPECT_TRUE(Must(log_->Verify()).ok());
}

TEST_F(EmbeddedLogTest, TombstonesExpireAfterDeleteRetention) {
  ASSERT_OK(log_->CreateTopic("c", 1, Compacted(/*delete_retention_ms=*/1000)));
  Append("c", {Rec("a", "1"), Rec("b", "1"), Rec("a", std::nullopt)});
  auto stats = Must(log_->Compact("c"));
  EXPECT_EQ(stats.records_removed, 1);  // a=1 superseded; the tombstone is still young
  EXPECT_EQ(stats.tombstones_removed, 0);
  now_ += 1000;
  stats = Must(log_->Compact("c"));
  EXPECT_EQ(stats.tombstones_removed, 1);
  EXPECT_EQ(Offsets(ReadAll("c")), (std::vector<Offset>{1}));
  // The tombstone was the last record; its offset is still never reused.
  Reopen();
  EXPECT_EQ(Append("c", {Rec("z", "1")}), (std::vector<Offset>{3}));
}

TEST_F(EmbeddedLogTest, ReadLatestByKeyOnCompactedTopics) {
  ASSERT_OK(log_->CreateTopic("c", 1, Compacted(/*delete_retention_ms=*/1000)));
  Append("c", {Rec("a", "1"), Rec("b", "1"), Rec("a", "2")});
  EXPECT_EQ(Must(log_->ReadLatest({"c", 0}, "a"))->value, "2");
  EXPECT_EQ(Must(log_->ReadLatest({"c", 0}, "b"))->offset, 1);
  EXPECT_FALSE(Must(log_->ReadLatest({"c", 0}, "zz")).has_value());
  Append("c", {Rec("b", std::nullopt)});
  EXPECT_TRUE(Must(log_->ReadLatest({"c", 0}, "b"))->is_tombstone());
  now_ += 2000;
  Must(log_->Compact("c"));
  EXPECT_FALSE(Must(log_->ReadLatest({"c", 0}, "b")).has_value());  // expired tombstone is gone
  EXPECT_EQ(Must(log_->ReadLatest({"c", 0}, "a"))->value, "2");
  Reopen();
  EXPECT_EQ(Must(log_->ReadLatest({"c", 0}, "a"))->offset, 2);
  ASSERT_OK(log_->CreateTopic("d", 1, {}));
  EXPECT_EQ(log_->ReadLatest({"d", 0}, "a").status().code(), Status::Code::kNotSupported);
}

TEST_F(EmbeddedLogTest, ReadLatestByPrefixPagesThroughAKeyRange) {
  ASSERT_OK(log_->CreateTopic("c", 1, Compacted(/*delete_retention_ms=*/1000)));
  ASSERT_OK(log_->CreateTopic("c2", 1, Compacted(/*delete_retention_ms=*/1000)));
  Append("c2", {Rec("t|1", "other topic")});
  Append("c", {Rec("t|3", "1"), Rec("t|1", "1"), Rec("u|1", "1"), Rec("t", "1"), Rec("t|2", "1"), Rec("t|1", "2"),
               Rec("t|2", std::nullopt), Rec("s|9", "1")});
  auto keys = [](const std::vector<Record>& rs) {
    std::string out;
    for (const auto& r : rs) out += r.key + "=" + *r.value + " ";
    return out;
  };
  // Latest per key, key order, tombstoned keys skipped, only this topic.
  EXPECT_EQ(keys(Must(log_->ReadLatestByPrefix({"c", 0}, "t|", "", 100))), "t|1=2 t|3=1 ");
  EXPECT_EQ(keys(Must(log_->ReadLatestByPrefix({"c", 0}, "t", "", 100))), "t=1 t|1=2 t|3=1 ");
  // Paging: at most `max`, then after the last key seen.
  EXPECT_EQ(keys(Must(log_->ReadLatestByPrefix({"c", 0}, "t|", "", 1))), "t|1=2 ");
  EXPECT_EQ(keys(Must(log_->ReadLatestByPrefix({"c", 0}, "t|", "t|1", 1))), "t|3=1 ");
  EXPECT_EQ(keys(Must(log_->ReadLatestByPrefix({"c", 0}, "t|", "t|3", 1))), "");
  EXPECT_EQ(keys(Must(log_->ReadLatestByPrefix({"c", 0}, "x", "", 100))), "");
  EXPECT_EQ(keys(Must(log_->ReadLatestByPrefix({"c", 0}, "", "", 100))), "s|9=1 t=1 t|1=2 t|3=1 u|1=1 ");
  now_ += 2000;
  Must(log_->Compact("c"));
  Reopen();
  EXPECT_EQ(keys(Must(log_->ReadLatestByPrefix({"c", 0}, "t|", "", 100))), "t|1=2 t|3=1 ");
  ASSERT_OK(log_->CreateTopic("d", 1, {}));
  EXPECT_EQ(log_->ReadLatestByPrefix({"d", 0}, "", "", 1).status().code(), Status::Code::kNotSupported);
}

// The scan is bounded by the first key after the prefix: keys of 0xff bytes
// (where that bound cannot just add one to the last byte) are all found.
TEST_F(EmbeddedLogTest, ReadLatestByPrefixFindsKeysOfHighBytes) {
  ASSERT_OK(log_->CreateTopic("c", 2, Compacted(/*delete_retention_ms=*/1000)));
  Append("c", {Rec("a\xff\xffz", "3"), Rec("a\xfe", "0"), Rec("a\xff", "1"), Rec("b", "4"), Rec("a\xff\xff", "2"),
               Rec("\xff\xff", "5")});
  ASSERT_OK(log_->Append({"c", 1}, {Rec("a\xff", "other partition")}).status());
  auto values = [](const std::vector<Record>& rs) {
    std::string out;
    for (const auto& r : rs) out += *r.value + " ";
    return out;
  };
  EXPECT_EQ(values(Must(log_->ReadLatestByPrefix({"c", 0}, "a\xff", "", 100))), "1 2 3 ");
  EXPECT_EQ(values(Must(log_->ReadLatestByPrefix({"c", 0}, "a\xff\xff", "", 100))), "2 3 ");
  EXPECT_EQ(values(Must(log_->ReadLatestByPrefix({"c", 0}, "\xff", "", 100))), "5 ");
  EXPECT_EQ(values(Must(log_->ReadLatestByPrefix({"c", 0}, "", "", 100))), "0 1 2 3 4 5 ");
  EXPECT_EQ(values(Must(log_->ReadLatestByPrefix({"c", 1}, "", "", 100))), "other partition ");
}

TEST_F(EmbeddedLogTest, MinCompactionLagProtectsYoungRecords) {
  ASSERT_OK(log_->CreateTopic("c", 1, Compacted(1000, /*lag_ms=*/5000)));
  Append("c", {Rec("a", "old")});
  now_ += 10000;
  Append("c", {Rec("a", "young1"), Rec("a", "young2")});
  EXPECT_EQ(Must(log_->Compact("c")).records_removed, 0);  // only "old" is cleanable, and it is latest there
  now_ += 10000;
  EXPECT_EQ(Must(log_->Compact("c")).records_removed, 2);
  EXPECT_EQ(Offsets(ReadAll("c")), (std::vector<Offset>{2}));
}

TEST_F(EmbeddedLogTest, RetentionByAge) {
  TopicConfig c;
  c.retention_ms = 60'000;
  ASSERT_OK(log_->CreateTopic("t", 1, c));
  Append("t", {Rec("a", "1"), Rec("b", "2")});
  now_ += 30'000;
  Append("t", {Rec("c", "3")});
  now_ += 40'000;  // the first batch is 70 s old, the second 40 s
  auto stats = Must(log_->ApplyRetention("t"));
  EXPECT_EQ(stats.records_removed, 2);
  auto info = Must(log_->DescribePartition({"t", 0}));
  EXPECT_EQ(info.log_start_offset, 2);
  EXPECT_EQ(info.records, 1);
  EXPECT_TRUE(log_->Read({"t", 0}, 1).status().IsOutOfRange());
  EXPECT_EQ(Offsets(ReadAll("t")), (std::vector<Offset>{2}));
  now_ += 60'000;
  Must(log_->ApplyRetention(std::nullopt));
  info = Must(log_->DescribePartition({"t", 0}));
  EXPECT_EQ(info.log_start_offset, 3);
  EXPECT_EQ(info.end_offset, 3);
  EXPECT_EQ(Append("t", {Rec("d", "4")}), (std::vector<Offset>{3}));
  EXPECT_TRUE(Must(log_->Verify()).ok());
}

TEST_F(EmbeddedLogTest, RetentionBySize) {
  TopicConfig c;
  c.retention_ms = -1;
  ASSERT_OK(log_->CreateTopic("t", 1, c));
  for (int i = 0; i < 10; ++i) Append("t", {Rec("k", std::string(1000, 'x'))});
  const int64_t per_record = Must(log_->DescribePartition({"t", 0})).bytes / 10;
  c.retention_bytes = per_record * 4 + 100;  // records differ by a few bytes (FlatBuffers omits defaults)
  ASSERT_OK(log_->AlterTopicConfig("t", c));
  Must(log_->ApplyRetention("t"));
  auto info = Must(log_->DescribePartition({"t", 0}));
  EXPECT_EQ(info.log_start_offset, 6);
  EXPECT_EQ(info.records, 4);
  EXPECT_LE(info.bytes, c.retention_bytes);
  EXPECT_EQ(ReadAll("t").front().offset, 6);
}

TEST_F(EmbeddedLogTest, DeleteAndRecreateTopicStartsEmpty) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  Append("t", {Rec("a", "1"), Rec("b", "2")});
  ASSERT_OK(log_->DeleteTopic("t"));
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  EXPECT_TRUE(ReadAll("t").empty());
  EXPECT_EQ(Append("t", {Rec("c", "3")}), (std::vector<Offset>{0}));
  Reopen();
  EXPECT_EQ(ReadAll("t").size(), 1u);
  EXPECT_TRUE(Must(log_->Verify()).ok());
}

TEST_F(EmbeddedLogTest, WriteFailureIsFatal) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  fault::Arm("log.write", Status::IOError("injected fsync failure"), 1);
  auto r = log_->Append({"t", 0}, {Rec("a", "1")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("injected fsync failure"), std::string::npos);
  // The fault fired once, yet every later write is refused: no retry after a failed sync.
  EXPECT_FALSE(log_->Append({"t", 0}, {Rec("b", "2")}).ok());
  EXPECT_FALSE(log_->FatalError().ok());
  Reopen();  // a new process starts clean from what is durable
  EXPECT_EQ(Must(log_->DescribePartition({"t", 0})).end_offset, 0);
}

// A full disk is fatal for this opening too, but keeps its own code, so the
// daemon can tell it apart (it pauses, then reopens); the reopened log has
// everything acknowledged before.
TEST_F(EmbeddedLogTest, AFullDiskIsNoSpaceAndAReopenRecovers) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  Append("t", {Rec("a", "1")});
  fault::Arm("log.write", Status::NoSpace("injected: No space left on device"), 1);
  auto r = log_->Append({"t", 0}, {Rec("b", "2")});
  ASSERT_TRUE(r.status().IsNoSpace()) << r.status().ToString();
  EXPECT_TRUE(log_->Append({"t", 0}, {Rec("c", "3")}).status().IsNoSpace());
  EXPECT_TRUE(log_->FatalError().IsNoSpace());
  Reopen();
  EXPECT_TRUE(log_->FatalError().ok());
  EXPECT_EQ(Append("t", {Rec("d", "4")}), (std::vector<Offset>{1}));
  auto recs = ReadAll("t");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(*recs[1].value, "4");
}

// Corrupts one stored record behind the log's back.
void CorruptRecord(const std::string& dir, const std::function<void(std::string*)>& mutate) {
  rocksdb::Options o;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"records", {}}, {"timeindex", {}}, {"keyindex", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, dir, cfs, &handles, &db).ok());
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[1]));
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  std::string key = it->key().ToString(), value = it->value().ToString();
  it.reset();
  mutate(&value);
  ASSERT_TRUE(db->Put({}, handles[1], key, value).ok());
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

TEST_F(EmbeddedLogTest, VerifyAndReadDetectCorruption) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  Append("t", {Rec("a", "hello"), Rec("b", "world")});
  EXPECT_TRUE(Must(log_->Verify()).ok());
  log_.reset();
  CorruptRecord(Options().data_dir, [](std::string* v) { v->back() ^= 0x55; });
  Reopen();
  auto report = Must(log_->Verify());
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("topic 't' partition 0 offset 0: record fails its checksum"), std::string::npos)
      << report.problems[0];
  auto r = log_->Read({"t", 0}, 0);
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("offset 0"), std::string::npos) << r.status().message();
}

// Format 1 envelopes (zlib CRC-32) written by earlier versions stay readable
// next to format 2 (CRC-32C), and a wrong checksum is caught in both.
TEST_F(EmbeddedLogTest, FormatOneRecordsStayReadable) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  Append("t", {Rec("a", "hello"), Rec("b", "world")});
  log_.reset();
  auto as_format_one = [](std::string* v) {
    const std::string_view body = std::string_view(*v).substr(5);
    const auto crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(body.data()), body.size()));
    (*v)[0] = 1;
    for (int i = 0; i < 4; ++i) (*v)[1 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  };
  CorruptRecord(Options().data_dir, as_format_one);  // offset 0 only
  Reopen();
  auto recs = Must(log_->Read({"t", 0}, 0));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(*recs[0].value, "hello");
  EXPECT_EQ(*recs[1].value, "world");
  EXPECT_TRUE(Must(log_->Verify()).ok());
  log_.reset();
  CorruptRecord(Options().data_dir, [](std::string* v) { v->back() ^= 0x55; });
  Reopen();
  EXPECT_TRUE(log_->Read({"t", 0}, 0).status().IsCorruption());
}

TEST(Crc32c, KnownValuesAndHardwareMatchesSoftware) {
  // RFC 3720 B.4 and the common check value.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62a8ab43u);
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32cSoftware("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  std::mt19937 rng(7);
  for (size_t n : {1, 7, 8, 9, 63, 64, 65, 1000, 4099}) {
    std::string data(n, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    EXPECT_EQ(Crc32c(data), Crc32cSoftware(data)) << n;
    // Continuing from a prefix gives the whole buffer's value.
    EXPECT_EQ(Crc32c(std::string_view(data).substr(n / 2), Crc32c(std::string_view(data).substr(0, n / 2))),
              Crc32c(data));
  }
  RecordProperty("hardware", Crc32cIsHardware() ? "yes" : "no");
}

TEST_F(EmbeddedLogTest, NewerFormatsAreRefused) {
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  Append("t", {Rec("a", "hello")});
  log_.reset();
  CorruptRecord(Options().data_dir, [](std::string* v) { (*v)[0] = 9; });
  Reopen();
  auto r = log_->Read({"t", 0}, 0);
  EXPECT_EQ(r.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(r.status().message().find("newer"), std::string::npos) << r.status().message();
  log_.reset();

  // A data dir stamped by a newer ghostlog is refused at open.
  {
    rocksdb::Options o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"records", {}}, {"timeindex", {}}, {"keyindex", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, Options().data_dir, cfs, &handles, &db).ok());
    ASSERT_TRUE(db->Put({}, handles[0], "F", "99").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto opened = EmbeddedLog::Open(Options());
  EXPECT_EQ(opened.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(opened.status().message().find("newer ghostlog (format 99"), std::string::npos)
      << opened.status().message();
}

TEST_F(EmbeddedLogTest, IntervalFsyncPolicyAppendsAndSyncsOnClose) {
  log_.reset();
  EmbeddedLogOptions o = Options();
  o.fsync = FsyncPolicy::kInterval;
  o.fsync_interval = 10ms;
  log_ = Must(EmbeddedLog::Open(o));
  ASSERT_OK(log_->CreateTopic("t", 1, {}));
  for (int i = 0; i < 20; ++i) Append("t", {Rec("k", "v")});
  std::this_thread::sleep_for(30ms);
  Reopen();
  EXPECT_EQ(ReadAll("t").size(), 20u);
}

}  // namespace
}  // namespace ghostlog::log

namespace ghostlog::log {
namespace {

TEST(ClusterId, MadeOnceKeptAcrossReopensSeenByReadersDifferentPerDir) {
  testing::TempDir dir;
  EmbeddedLogOptions o;
  o.data_dir = dir.sub("a");
  std::string id;
  {
    auto log = testing::Must(EmbeddedLog::Open(o));
    id = testing::Must(log->ClusterId());
    EXPECT_EQ(id.size(), 36u) << id;
  }
  auto writer = testing::Must(EmbeddedLog::Open(o));
  EXPECT_EQ(testing::Must(writer->ClusterId()), id);
  EmbeddedLogOptions ro = o;
  ro.mode = OpenMode::kReader;
  auto reader = testing::Must(EmbeddedLog::Open(ro));
  EXPECT_EQ(testing::Must(reader->ClusterId()), id);
  o.data_dir = dir.sub("b");
  EXPECT_NE(testing::Must(testing::Must(EmbeddedLog::Open(o))->ClusterId()), id);
}

}  // namespace
}  // namespace ghostlog::log

namespace ghostlog::log {
namespace {

// More than one group's memory bound queued at once: every append must be
// written and get its own offsets (a leader whose write fell into a later
// group used to return without writing it). The bound is one byte here, so
// every group is a single write and most leaders are not at the queue's front.
TEST(GroupCommit, AppendsBeyondOneGroupsBoundAreAllWritten) {
  testing::TempDir dir;
  EmbeddedLogOptions o;
  o.data_dir = dir.sub("d");
  o.cleanup_interval = std::chrono::milliseconds(0);
  o.max_group_bytes = 1;
  auto log = testing::Must(EmbeddedLog::Open(o));
  ASSERT_TRUE(log->CreateTopic("t", 1, {}).ok());
  constexpr int kThreads = 16, kRecords = 4;
  const std::string value(64 << 10, 'x');
  std::vector<std::vector<Offset>> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::vector<RecordIn> batch;
      for (int j = 0; j < kRecords; ++j) batch.push_back(testing::Rec(std::to_string(i), value));
      got[i] = testing::Must(log->Append({"t", 0}, std::move(batch)));
    });
  }
  for (auto& t : threads) t.join();
  std::set<Offset> all;
  for (const auto& offs : got) {
    ASSERT_EQ(offs.size(), static_cast<size_t>(kRecords));
    all.insert(offs.begin(), offs.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kRecords));
  auto info = testing::Must(log->DescribePartition({"t", 0}));
  EXPECT_EQ(info.end_offset, kThreads * kRecords);
  EXPECT_EQ(info.records, kThreads * kRecords);
}

}  // namespace
}  // namespace ghostlog::log
