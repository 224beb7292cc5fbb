// KafkaLog against librdkafka's in-process mock cluster (3 brokers), started
// fresh by each test. The mock implements produce, fetch, watermarks, group
// offsets and transactions, but not CreateTopics, DescribeConfigs,
// DeleteRecords, ListGroups or ListOffsets by time: the tests create topics
// with the mock's own call and check that the unsupported calls fail plainly.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "../kafka_mock.h"
#include "ghostlog/log/kafka_log.h"
#include "test_util.h"

namespace ghostlog::log {
namespace {

using namespace std::chrono_literals;
using testing::Must;
using testing::Rec;

class KafkaLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kafka_.ok()) << "cannot start librdkafka's mock cluster";
    mock_ = kafka_.get();
    CreateMockTopic("orders", 3);
    CreateMockTopic(kCheckpointTopic, 1);
    log_ = Must(KafkaLog::Open(Options()), "open");
  }
  void TearDown() override {
    log_.reset();  // before the cluster it talks to
  }

  KafkaLogOptions Options() {
    KafkaLogOptions o;
    o.bootstrap_servers = kafka_.bootstraps();
    o.request_timeout = 3000ms;
    o.delivery_timeout = 10000ms;
    o.transactional_id = "ghostlog-test";
    return o;
  }
  void CreateMockTopic(const std::string& name, int partitions) { ASSERT_TRUE(kafka_.CreateTopic(name, partitions)); }
  std::vector<Record> ReadAll(const TopicPartition& tp) {
    std::vector<Record> out;
    auto info = Must(log_->DescribePartition(tp), "describe");
    Offset from = info.log_start_offset;
    while (from < info.end_offset) {
      auto batch = Must(log_->Read(tp, from), "read");
      if (batch.empty()) break;
      from = batch.back().offset + 1;
      for (auto& r : batch) out.push_back(std::move(r));
    }
    return out;
  }
  static RecordIn WithHeaders(RecordIn r, std::vector<Header> h) {
    r.headers = std::move(h);
    return r;
  }

  ghostlog::testing::MockKafka kafka_;
  rd_kafka_mock_cluster_t* mock_ = nullptr;  // kafka_'s, for fault injection
  std::unique_ptr<KafkaLog> log_;
};

TEST_F(KafkaLogTest, OpenChecksItsInput) {
  EXPECT_FALSE(Must(log_->ClusterId(), "id").empty());
  auto second = Must(KafkaLog::Open(Options()), "second open");
  EXPECT_EQ(Must(second->ClusterId(), "id"), Must(log_->ClusterId(), "id"));

  KafkaLogOptions bad = Options();
  bad.bootstrap_servers.clear();
  EXPECT_TRUE(KafkaLog::Open(bad).status().IsInvalidArgument());
  bad = Options();
  bad.client_config["no.such.setting"] = "1";
  auto r = KafkaLog::Open(bad);
  ASSERT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("no.such.setting"), std::string::npos) << r.status().ToString();

  // Nothing listens on port 1: Open fails, it does not hang.
  bad = Options();
  bad.bootstrap_servers = "127.0.0.1:1";
  bad.request_timeout = 1000ms;
  EXPECT_TRUE(KafkaLog::Open(bad).status().IsUnavailable());
}

TEST_F(KafkaLogTest, AppendReturnsConsecutiveOffsetsAndReadsBackIdentically) {
  const TopicPartition tp{"orders", 1};
  std::vector<RecordIn> batch = {
      WithHeaders(Rec("k1", "v1", 1700000000001), {{"op", "c"}, {"lsn", std::string("\0\1", 2)}}),
      Rec("k2", std::string("bin\0ary", 7), 1700000000002),
      Rec("k1", std::nullopt, 1700000000003),  // tombstone
      Rec("", "empty key", 1700000000004),
      Rec("k3", "", 1700000000005),  // empty value, not a tombstone
  };
  auto first = Must(log_->Append(tp, batch), "append");
  EXPECT_EQ(first, (std::vector<Offset>{0, 1, 2, 3, 4}));
  auto second = Must(log_->Append(tp, {Rec("k4", "v4"), Rec("k5", "v5")}), "append");
  EXPECT_EQ(second, (std::vector<Offset>{5, 6}));

  auto all = ReadAll(tp);
  ASSERT_EQ(all.size(), 7u);
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(all[i].offset, static_cast<Offset>(i));
    EXPECT_EQ(all[i].key, batch[i].key);
    EXPECT_EQ(all[i].value, batch[i].value);
    EXPECT_EQ(all[i].headers, batch[i].headers);
    EXPECT_EQ(all[i].timestamp, batch[i].timestamp);
  }
  EXPECT_TRUE(all[2].is_tombstone());
  EXPECT_FALSE(all[4].is_tombstone());
  // Unset timestamps become the append time.
  EXPECT_GT(all[5].timestamp, 1700000000005);

  // Limits, and reading from the middle.
  auto three = Must(log_->Read(tp, 1, ReadLimits{3, 1 << 20}), "read");
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three.front().offset, 1);
  auto one = Must(log_->Read(tp, 4, ReadLimits{100, 1}), "read");
  ASSERT_EQ(one.size(), 1u);  // at least one record even past max_bytes
  EXPECT_EQ(one[0].offset, 4);
  // Jumps forward and back on a reader that has fetched ahead.
  EXPECT_EQ(Must(log_->Read(tp, 0, ReadLimits{2, 1 << 20}), "read").back().offset, 1);
  EXPECT_EQ(Must(log_->Read(tp, 5), "read").front().offset, 5);
  EXPECT_EQ(Must(log_->Read(tp, 3), "read").front().offset, 3);
  // Other partitions are untouched.
  EXPECT_EQ(Must(log_->DescribePartition({"orders", 0}), "describe").end_offset, 0);
}

// A copy keeps offsets (ghostlog log copy): the offsets a record skips are
// taken by fillers, which no reader sees, so reads show the source's gaps.
TEST_F(KafkaLogTest, AppendAtKeepsOffsetsAndReadersSeeGaps) {
  const TopicPartition tp{"orders", 2};
  auto at = [](Offset o, std::string key, std::optional<std::string> value, Timestamp ts) {
    return Record{o, ts, std::move(key), std::move(value), {{"h", "x"}}};
  };
  const std::vector<Record> copied{at(3, "a", "1", 1700000000003), at(4, "b", std::nullopt, 1700000000004),
                                   at(9, "c", "3", 1700000000009)};
  EXPECT_EQ(Must(log_->AppendAt(tp, copied, 12), "append at"), 10) << "a trailing gap is not kept on Kafka";
  EXPECT_EQ(ReadAll(tp), copied);
  EXPECT_EQ(Must(log_->Read(tp, 0), "read").front().offset, 3);
  EXPECT_EQ(Must(log_->Read(tp, 5), "read").front().offset, 9);
  EXPECT_EQ(Must(log_->Read(tp, 0, ReadLimits{2, 1 << 20}), "read").size(), 2u);
  EXPECT_EQ(Must(log_->AppendAt(tp, {at(10, "d", "4", 1700000000010)}, 11), "append at"), 11);
  EXPECT_EQ(Must(log_->Append(tp, {Rec("e", "5")}), "append"), std::vector<Offset>{11});
  EXPECT_EQ(ReadAll(tp).size(), 5u);

  auto below = log_->AppendAt(tp, {at(5, "x", "y", 1)}, 6);
  EXPECT_TRUE(below.status().IsInvalidArgument()) << below.status().ToString();
  EXPECT_TRUE(log_->AppendAt(tp, {at(20, "x", "y", 1), at(20, "x", "y", 1)}, 21).status().IsInvalidArgument());
  EXPECT_TRUE(log_->AppendAt(tp, {at(20, "x", "y", 1)}, 20).status().IsInvalidArgument());
  EXPECT_EQ(Must(log_->DescribePartition(tp), "describe").end_offset, 12) << "a refused copy appends nothing";

  // A gap longer than one produce's worth of fillers (a compacted topic's).
  const TopicPartition far{"orders", 0};
  EXPECT_EQ(Must(log_->AppendAt(far, {at(25000, "z", "9", 1700000025000)}, 25001), "append at"), 25001);
  EXPECT_EQ(ReadAll(far), std::vector<Record>{at(25000, "z", "9", 1700000025000)});
}

TEST_F(KafkaLogTest, CheckpointsListsTheLatestOfEachName) {
  EXPECT_TRUE(Must(log_->Checkpoints(), "checkpoints").empty());
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}, {"a", "3"}}) {
    AtomicWrite w;
    w.checkpoints[name] = value;
    Must(log_->Write(std::move(w)), "write");
  }
  EXPECT_EQ(Must(log_->Checkpoints(), "checkpoints"), (std::map<std::string, std::string>{{"a", "3"}, {"b", "2"}}));
}

TEST_F(KafkaLogTest, OutOfRangeAndUnknownPartitions) {
  const TopicPartition tp{"orders", 0};
  Must(log_->Append(tp, {Rec("a", "1"), Rec("b", "2")}), "append");
  EXPECT_TRUE(Must(log_->Read(tp, 2), "read at end").empty());
  EXPECT_TRUE(log_->Read(tp, 3).status().IsOutOfRange());
  EXPECT_TRUE(log_->Read(tp, -1).status().IsOutOfRange());
  EXPECT_TRUE(log_->Read({"orders", 3}, 0).status().IsNotFound());
  auto s = log_->Read({"nope", 0}, 0).status();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  s = log_->Append({"nope", 0}, {Rec("a", "1")}).status();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(log_->Append({"orders", -1}, {Rec("a", "1")}).status().IsNotFound());
  // Still nothing appended by the failed calls.
  EXPECT_EQ(Must(log_->DescribePartition(tp), "describe").end_offset, 2);
}

TEST_F(KafkaLogTest, TopicsAndPartitions) {
  auto topics = Must(log_->ListTopics(), "list");
  EXPECT_EQ(topics, std::vector<std::string>{"orders"});  // the checkpoint topic is internal

  Must(log_->Append({"orders", 2}, {Rec("a", "1"), Rec("b", "2"), Rec("c", "3")}), "append");
  auto p = Must(log_->DescribePartition({"orders", 2}), "describe");
  EXPECT_EQ(p.log_start_offset, 0);
  EXPECT_EQ(p.end_offset, 3);
  EXPECT_EQ(p.records, 3);
  EXPECT_EQ(p.bytes, -1);  // unknown on Kafka

  // The mock cluster has no controller for admin calls: they fail, never fake success.
  Status created = log_->CreateTopic("fresh", 2, TopicConfig{});
  EXPECT_FALSE(created.ok());
  EXPECT_TRUE(created.code() == Status::Code::kTimedOut || created.code() == Status::Code::kNotSupported ||
              created.code() == Status::Code::kUnavailable)
      << created.ToString();
  EXPECT_TRUE(log_->CreateTopic("fresh", 0, TopicConfig{}).IsInvalidArgument());
  // An existing topic is found without an admin call (a site may give
  // ghostlog no CreateTopics right): AlreadyExists, as from the broker.
  const Status again = log_->CreateTopic("orders", 3, TopicConfig{});
  EXPECT_EQ(again.code(), Status::Code::kAlreadyExists) << again.ToString();
  EXPECT_FALSE(log_->DescribeTopic("orders").ok());
  EXPECT_TRUE(log_->DescribeTopic("nope").status().IsNotFound());
  // Metadata alone answers how many partitions.
  EXPECT_EQ(Must(log_->PartitionCount("orders"), "partition count"), 3);
  EXPECT_TRUE(log_->PartitionCount("nope").status().IsNotFound());
}

TEST_F(KafkaLogTest, WaitForDataWakesOnAppend) {
  const TopicPartition tp{"orders", 0};
  Must(log_->Append(tp, {Rec("a", "1")}), "append");
  EXPECT_EQ(Must(log_->WaitForData(tp, 0, 5s), "wait"), 1);  // data already there

  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Must(log_->WaitForData(tp, 1, 300ms), "wait"), 1);  // times out, returns the end
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);

  std::atomic<int64_t> appended_at{0};
  std::thread writer([&] {
    std::this_thread::sleep_for(300ms);
    appended_at = std::chrono::steady_clock::now().time_since_epoch().count();
    Must(log_->Append(tp, {Rec("b", "2")}), "append");
  });
  Offset end = Must(log_->WaitForData(tp, 1, 10s), "wait");
  auto woke = std::chrono::steady_clock::now().time_since_epoch().count();
  writer.join();
  EXPECT_EQ(end, 2);
  auto latency = std::chrono::nanoseconds(woke - appended_at.load());
  std::cout << "WaitForData woke " << std::chrono::duration_cast<std::chrono::milliseconds>(latency).count()
            << " ms after the append started\n";
  EXPECT_LT(latency, 2s) << "woke " << std::chrono::duration_cast<std::chrono::milliseconds>(latency).count() << " ms after the append";
  // The record that woke the wait is still readable.
  auto r = Must(log_->Read(tp, 1), "read");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].key, "b");
}

TEST_F(KafkaLogTest, GroupOffsetsWithMetadata) {
  Must(log_->Append({"orders", 0}, {Rec("a", "1"), Rec("b", "2"), Rec("c", "3")}), "append");
  EXPECT_TRUE(log_->Committed("sink", {"orders", 0}).status().IsNotFound());
  ASSERT_OK(log_->CommitOffsets("sink", {{{"orders", 0}, {2, "lsn=0/16B3748", 0}}, {{"orders", 1}, {0, "", 0}}}));
  auto c = Must(log_->Committed("sink", {"orders", 0}), "committed");
  EXPECT_EQ(c.offset, 2);
  EXPECT_EQ(c.metadata, "lsn=0/16B3748");
  EXPECT_EQ(Must(log_->Committed("sink", {"orders", 1}), "committed").offset, 0);
  EXPECT_TRUE(log_->Committed("other", {"orders", 0}).status().IsNotFound());
  EXPECT_TRUE(log_->CommitOffsets("sink", {{{"nope", 0}, {1, "", 0}}}).IsNotFound());

  auto g = Must(log_->DescribeGroup("sink"), "describe group");
  ASSERT_EQ(g.partitions.size(), 2u);
  EXPECT_EQ(g.partitions[0].committed, 2);
  EXPECT_EQ(g.partitions[0].end_offset, 3);
  EXPECT_EQ(g.partitions[0].lag, 1);
  EXPECT_EQ(g.partitions[0].metadata, "lsn=0/16B3748");
  EXPECT_EQ(g.total_lag(), 1);
  EXPECT_TRUE(log_->DescribeGroup("never").status().IsNotFound());
  // The mock lacks ListGroups.
  EXPECT_EQ(log_->ListGroups().status().code(), Status::Code::kNotSupported);
}

TEST_F(KafkaLogTest, AtomicWriteIsOneTransaction) {
  AtomicWrite w;
  w.batches.push_back({{"orders", 0}, {Rec("a", "1"), Rec("b", "2")}});
  w.batches.push_back({{"orders", 1}, {Rec("c", "3")}});
  w.checkpoints["capture.lsn"] = "0/1000";
  w.group = "transform";
  w.offsets.push_back({{"orders", 2}, {7, "m", 0}});
  auto offsets = Must(log_->Write(w), "write");
  ASSERT_EQ(offsets.size(), 2u);
  EXPECT_EQ(offsets[0], (std::vector<Offset>{0, 1}));
  EXPECT_EQ(offsets[1], (std::vector<Offset>{0}));

  AtomicWrite w2;
  w2.batches.push_back({{"orders", 0}, {Rec("d", "4")}});
  w2.checkpoints["capture.lsn"] = "0/2000";
  auto offsets2 = Must(log_->Write(w2), "write");
  // After the first transaction's records; a real broker puts its commit
  // marker at offset 2, the mock writes no markers.
  ASSERT_EQ(offsets2[0].size(), 1u);
  EXPECT_GE(offsets2[0][0], 2);

  auto p0 = ReadAll({"orders", 0});
  ASSERT_EQ(p0.size(), 3u);
  EXPECT_EQ(p0[0].key, "a");
  EXPECT_EQ(p0[2].key, "d");
  EXPECT_EQ(p0[2].offset, offsets2[0][0]);
  EXPECT_EQ(Must(log_->ReadCheckpoint("capture.lsn"), "checkpoint"), "0/2000");
  EXPECT_TRUE(log_->ReadCheckpoint("never").status().IsNotFound());
  // The offsets went to the group coordinator in the transaction (Write
  // would have failed otherwise); the mock acknowledges TxnOffsetCommit but
  // does not store it, so Committed() cannot be checked here.

  KafkaLogOptions o = Options();
  o.transactional_id.clear();
  auto plain = Must(KafkaLog::Open(o), "open");
  EXPECT_EQ(plain->Write(w2).status().code(), Status::Code::kNotSupported);
  AtomicWrite bad;
  bad.offsets.push_back({{"orders", 0}, {1, "", 0}});
  EXPECT_TRUE(log_->Write(bad).status().IsInvalidArgument());
}

// Write's finish gets the offsets the broker gave the batches (the records
// are in the log, their transaction still open) and its tail is written in
// the same transaction. A failing finish fails the write; the next one works.
TEST_F(KafkaLogTest, AtomicWriteFinishGetsTheBrokersOffsets) {
  Must(log_->Append({"orders", 0}, {Rec("a", "0")}), "append");
  AtomicWrite w;
  w.batches = {{{"orders", 0}, {Rec("k", "1"), Rec("k", "2")}}};
  std::vector<std::vector<Offset>> seen;
  w.finish = [&](const std::vector<std::vector<Offset>>& offsets, WriteTail* tail) {
    seen = offsets;
    tail->batches.push_back(
        {{"orders", 1}, {Rec("t", std::to_string(offsets[0].front()) + ".." + std::to_string(offsets[0].back()))}});
    tail->checkpoints["pos"] = "at " + std::to_string(offsets[0].back());
    return Status::OK();
  };
  auto offsets = Must(log_->Write(w), "write");
  EXPECT_EQ(seen, (std::vector<std::vector<Offset>>{{1, 2}}));
  EXPECT_EQ(offsets, (std::vector<std::vector<Offset>>{{1, 2}, {0}}));
  auto listed = ReadAll({"orders", 1});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(*listed[0].value, "1..2");
  EXPECT_EQ(Must(log_->ReadCheckpoint("pos"), "checkpoint"), "at 2");

  w.finish = [](const std::vector<std::vector<Offset>>&, WriteTail*) { return Status::Aborted("refused by finish"); };
  const Status refused = log_->Write(w).status();
  EXPECT_EQ(refused.code(), Status::Code::kAborted) << refused.ToString();
  w.finish = nullptr;
  Must(log_->Write(w), "the next write");
}

TEST_F(KafkaLogTest, AFailedTransactionIsReportedAndTheNextOneWorks) {
  // The broker refuses to add the partition to the transaction: abortable.
  rd_kafka_mock_push_request_errors(mock_, /*AddPartitionsToTxn*/ 24, 1,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  AtomicWrite w;
  w.batches.push_back({{"orders", 0}, {Rec("a", "1")}});
  w.checkpoints["capture.lsn"] = "0/1000";
  auto failed = log_->Write(w);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("uthoriz"), std::string::npos) << failed.status().ToString();

  w.checkpoints["capture.lsn"] = "0/2000";
  Must(log_->Write(w), "write after the abort");
  EXPECT_EQ(Must(log_->ReadCheckpoint("capture.lsn"), "checkpoint"), "0/2000");
}

TEST_F(KafkaLogTest, RetriableProduceErrorsRetryWithoutDuplicates) {
  const TopicPartition tp{"orders", 0};
  // The next produce requests fail as if leadership moved, then as a dropped connection.
  rd_kafka_mock_push_request_errors(mock_, /*Produce*/ 0, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR__TRANSPORT,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  std::vector<RecordIn> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(Rec("k" + std::to_string(i), "v" + std::to_string(i)));
  auto offsets = Must(log_->Append(tp, batch), "append");
  ASSERT_EQ(offsets.size(), 50u);
  for (size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(offsets[i], static_cast<Offset>(i));
  auto all = ReadAll(tp);
  ASSERT_EQ(all.size(), 50u);  // no duplicate from a retried request
  for (int i = 0; i < 50; ++i) EXPECT_EQ(all[i].value, "v" + std::to_string(i));
}

TEST_F(KafkaLogTest, BrokersDownMeansAnErrorNotASilentLoss) {
  const TopicPartition tp{"orders", 0};
  Must(log_->Append(tp, {Rec("before", "1")}), "append");
  KafkaLogOptions o = Options();
  o.delivery_timeout = 1500ms;
  auto short_log = Must(KafkaLog::Open(o), "open");
  ASSERT_EQ(rd_kafka_mock_broker_set_down(mock_, -1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto r = short_log->Append(tp, {Rec("lost?", "2")});
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(rd_kafka_mock_broker_set_up(mock_, -1), RD_KAFKA_RESP_ERR_NO_ERROR);
  // The failed append either landed once or not at all; the log stays usable.
  auto after = Must(short_log->Append(tp, {Rec("after", "3")}), "append after");
  auto all = ReadAll(tp);
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(all.front().key, "before");
  EXPECT_EQ(all.back().key, "after");
  EXPECT_EQ(all.back().offset, after[0]);
  EXPECT_LE(all.size(), 3u);
}

// With every broker down, calls fail within their timeout as Unavailable
// (which stages retry), and Interrupt() cuts a waiting write short.
// librdkafka before 2.3.0 waited forever in rd_kafka_query_watermark_offsets
// here, whatever its timeout (librdkafka #2588).
TEST_F(KafkaLogTest, EveryBrokerDownFailsInTimeAndInterruptCutsAWaitShort) {
  const TopicPartition tp{"orders", 0};
  Must(log_->Append(tp, {Rec("before", "1")}), "append");
  AtomicWrite first;  // starts the transactional producer while the brokers answer
  first.batches.push_back({tp, {Rec("first", "1")}});
  Must(log_->Write(std::move(first)), "write");
  auto since = [](auto t0) { return std::chrono::steady_clock::now() - t0; };
  kafka_.SetDown(true);
  auto t0 = std::chrono::steady_clock::now();
  auto described = log_->DescribePartition(tp);
  EXPECT_TRUE(described.status().IsUnavailable()) << described.status().ToString();
  EXPECT_LT(since(t0), 6s);  // request_timeout is 3 s
  t0 = std::chrono::steady_clock::now();
  auto waited = log_->WaitForData(tp, 1, 1s);
  EXPECT_TRUE(waited.status().IsUnavailable()) << waited.status().ToString();
  EXPECT_LT(since(t0), 6s);

  // A write waits for its acknowledgements up to delivery_timeout (10 s
  // here); Interrupt() from another thread ends the wait at once.
  std::thread interrupter([&] {
    std::this_thread::sleep_for(500ms);
    log_->Interrupt();
  });
  t0 = std::chrono::steady_clock::now();
  AtomicWrite w;
  w.batches.push_back({tp, {Rec("cut", "2")}});
  auto written = log_->Write(std::move(w));
  const auto took = since(t0);
  interrupter.join();
  EXPECT_EQ(written.status().code(), Status::Code::kAborted) << written.status().ToString();
  EXPECT_LT(took, 3s);
  t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(log_->Append(tp, {Rec("later", "3")}).status().code() == Status::Code::kAborted);
  EXPECT_TRUE(log_->Read(tp, 0).status().code() == Status::Code::kAborted);
  EXPECT_LT(since(t0), 1s);
  kafka_.SetDown(false);
}

TEST_F(KafkaLogTest, BrokerSideCallsAndTheirLimits) {
  const TopicPartition tp{"orders", 0};
  Must(log_->Append(tp, {Rec("a", "1", 1000), Rec("b", "2", 2000), Rec("c", "3", 3000)}), "append");
  // Past every timestamp: the end offset.
  EXPECT_EQ(Must(log_->OffsetForTimestamp(tp, 4000), "offset for ts"), 3);
  // The mock ignores the timestamp; the log notices instead of returning the end.
  EXPECT_EQ(log_->OffsetForTimestamp(tp, 1500).status().code(), Status::Code::kNotSupported);

  EXPECT_TRUE(log_->DeleteRecordsBefore(tp, 4).status().IsOutOfRange());
  EXPECT_EQ(log_->DeleteRecordsBefore(tp, 1).status().code(), Status::Code::kNotSupported);
  EXPECT_EQ(log_->ReadLatest(tp, "a").status().code(), Status::Code::kNotSupported);
  auto stats = Must(log_->Compact(std::nullopt), "compact");
  EXPECT_EQ(stats.records_removed, 0);
  stats = Must(log_->ApplyRetention(std::nullopt), "retention");
  EXPECT_EQ(stats.records_removed, 0);
  EXPECT_EQ(ReadAll(tp).size(), 3u);  // nothing removed by either
}

TEST_F(KafkaLogTest, ConcurrentReadersAndAppender) {
  const TopicPartition tp{"orders", 2};
  constexpr int kRecords = 300;
  std::thread writer([&] {
    for (int i = 0; i < kRecords; i += 10) {
      std::vector<RecordIn> b;
      for (int j = i; j < i + 10; ++j) b.push_back(Rec("k", std::to_string(j)));
      Must(log_->Append(tp, std::move(b)), "append");
    }
  });
  auto follow = [&] {
    Offset next = 0;
    std::vector<std::string> seen;
    while (next < kRecords) {
      Must(log_->WaitForData(tp, next, 10s), "wait");
      auto batch = Must(log_->Read(tp, next, ReadLimits{7, 1 << 20}), "read");
      for (auto& r : batch) {
        EXPECT_EQ(r.offset, next);
        seen.push_back(*r.value);
        next = r.offset + 1;
      }
    }
    return seen;
  };
  std::vector<std::string> a, b;
  std::thread ra([&] { a = follow(); });
  std::thread rb([&] { b = follow(); });
  writer.join();
  ra.join();
  rb.join();
  ASSERT_EQ(a.size(), static_cast<size_t>(kRecords));
  EXPECT_EQ(a, b);
  for (int i = 0; i < kRecords; ++i) EXPECT_EQ(a[i], std::to_string(i));
}

// kcat (Debian's kafkacat) reads what the log wrote: the records are plain
// Kafka records, not an encoding only ghostlog understands.
TEST_F(KafkaLogTest, KcatReadsTheRecords) {
  Must(log_->Append({"orders", 1}, {Rec("k1", "hello"), Rec("k2", "world")}), "append");
  EXPECT_EQ(ghostlog::testing::Kcat(kafka_, "-t orders -p 1", "%o %k=%s\\n"), "0 k1=hello\n1 k2=world\n");
}

}  // namespace
}  // namespace ghostlog::log
