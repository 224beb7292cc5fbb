// KeyIndexedLog: key reads answered by a local index of a remote changelog.
// The remote is an embedded log on disk for most tests (a second writer, a
// lost index write, a recreated topic are easy to make there) and
// librdkafka's mock cluster for what only Kafka does (commit markers).
#include "ghostlog/log/key_indexed_log.h"

#include <gtest/gtest.h>

#include "../kafka_mock.h"
#include "ghostlog/log/embedded_log.h"
#include "ghostlog/log/kafka_log.h"
#include "test_util.h"

namespace ghostlog::log {
namespace {

using namespace std::chrono_literals;
using testing::Must;
using testing::Rec;
using testing::TempDir;

class KeyIndexedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    remote_ = OpenRemote("remote");
    index_ = Must(KeyIndexedLog::Open(*remote_, dir_.sub("index")), "open the index");
  }

  std::unique_ptr<EmbeddedLog> OpenRemote(const std::string& name) {
    EmbeddedLogOptions o;
    o.data_dir = dir_.sub(name);
    o.cleanup_interval = 0ms;
    auto log = Must(EmbeddedLog::Open(o), "open the remote");
    for (const std::string t : {"state", "src"}) EXPECT_TRUE(log->CreateTopic(t, 1, TopicConfig::Compacted()).ok());
    TopicConfig forever;
    forever.retention_ms = -1;
    EXPECT_TRUE(log->CreateTopic("txn", 1, forever).ok());
    return log;
  }

  std::optional<std::string> Latest(const std::string& topic, const std::string& key) {
    auto r = Must(index_->ReadLatest({topic, 0}, key), "read latest");
    if (!r) return std::nullopt;
    return r->value ? *r->value : "<tombstone>";
  }

  TempDir dir_;
  std::unique_ptr<EmbeddedLog> remote_;
  std::unique_ptr<KeyIndexedLog> index_;
};

TEST_F(KeyIndexedLogTest, KeyReadsSeeOwnWritesAtOnceAndOthersAfterTheNextReadOfAnUnindexedTopic) {
  Must(index_->Append({"state", 0}, {Rec("k1", "v1")}));
  EXPECT_EQ(Latest("state", "k1"), "v1");  // first key read: built from the remote topic
  Must(index_->Append({"state", 0}, {Rec("k1", "v2")}));
  EXPECT_EQ(Latest("state", "k1"), "v2");  // its own write, indexed when it returned

  // An atomic write with a finish: the tail's records are indexed too, at
  // the offsets the remote gave them.
  AtomicWrite w;
  w.batches.push_back({{"state", 0}, {Rec("k3", "own")}});
  w.finish = [](const std::vector<std::vector<Offset>>& offsets, WriteTail* tail) {
    tail->batches.push_back({{"state", 0}, {Rec("k2", "tail of " + std::to_string(offsets[0][0]))}});
    return Status::OK();
  };
  auto offsets = Must(index_->Write(std::move(w)));
  EXPECT_EQ(Latest("state", "k3"), "own");
  EXPECT_EQ(Latest("state", "k2"), "tail of 2");
  EXPECT_EQ(Must(index_->ReadLatest({"state", 0}, "k2"))->offset, offsets.at(1).at(0));

  // Another writer's records: seen from the first key read, then again
  // after the caller reads a topic the index does not hold (its input).
  Must(remote_->Append({"src", 0}, {Rec("a", "1"), Rec("b", "1")}));
  EXPECT_EQ(Latest("src", "a"), "1");
  Must(remote_->Append({"src", 0}, {Rec("a", "2"), Rec("b", std::nullopt)}));
  EXPECT_EQ(Latest("src", "a"), "1") << "caught up only once per read of the input";
  Must(index_->Read({"txn", 0}, 0));
  EXPECT_EQ(Latest("src", "a"), "2");
  EXPECT_EQ(Latest("src", "b"), "<tombstone>");
  auto page = Must(index_->ReadLatestByPrefix({"src", 0}, "", "", 10));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].key, "a");
  EXPECT_EQ(page[0].offset, 2);

  // A caller that saw a newer end (DescribePartition) gets a key read at
  // least that new, without reading the input first.
  Must(remote_->Append({"src", 0}, {Rec("a", "3")}));
  EXPECT_EQ(Latest("src", "a"), "2");
  EXPECT_EQ(Must(index_->DescribePartition({"src", 0})).end_offset, 5);
  EXPECT_EQ(Latest("src", "a"), "3");

  // A topic neither side has is NotFound, as on the embedded log, and not
  // made in the index.
  EXPECT_TRUE(index_->ReadLatest({"nope", 0}, "x").status().IsNotFound());
}

// A crash between the remote write and the index's leaves the index short:
// the next start catches it up before it indexes a write of its own.
TEST_F(KeyIndexedLogTest, RecordsTheIndexMissedAreCaughtUpBeforeItsNextWrite) {
  Must(index_->Append({"state", 0}, {Rec("k1", "v1")}));
  EXPECT_EQ(Latest("state", "k1"), "v1");
  index_.reset();
  Must(remote_->Append({"state", 0}, {Rec("k1", "lost"), Rec("k9", "lost")}));
  index_ = Must(KeyIndexedLog::Open(*remote_, dir_.sub("index")), "reopen");
  Must(index_->Append({"state", 0}, {Rec("k2", "new")}));
  EXPECT_EQ(Latest("state", "k1"), "lost");
  EXPECT_EQ(Latest("state", "k9"), "lost");
  EXPECT_EQ(Latest("state", "k2"), "new");
  EXPECT_EQ(Must(index_->ReadLatest({"state", 0}, "k2"))->offset, 3);
}

TEST_F(KeyIndexedLogTest, AnIndexThatNoLongerMatchesTheRemoteIsBuiltAgain) {
  Must(remote_->Append({"src", 0}, {Rec("a", "old"), Rec("b", "old"), Rec("c", "old")}));
  EXPECT_EQ(Latest("src", "b"), "old");
  index_.reset();
  // The topic deleted and made again, shorter.
  ASSERT_TRUE(remote_->DeleteTopic("src").ok());
  ASSERT_TRUE(remote_->CreateTopic("src", 1, TopicConfig::Compacted()).ok());
  Must(remote_->Append({"src", 0}, {Rec("a", "new")}));
  index_ = Must(KeyIndexedLog::Open(*remote_, dir_.sub("index")), "reopen");
  EXPECT_EQ(Latest("src", "a"), "new");
  EXPECT_EQ(Latest("src", "b"), std::nullopt);

  // The index dir opened against another changelog.
  index_.reset();
  auto other = OpenRemote("other");
  Must(other->Append({"src", 0}, {Rec("z", "other")}));
  index_ = Must(KeyIndexedLog::Open(*other, dir_.sub("index")), "open against another changelog");
  EXPECT_EQ(Latest("src", "z"), "other");
  EXPECT_EQ(Latest("src", "a"), std::nullopt);
  index_.reset();
}

// On Kafka through transactions: the index keeps the records' own offsets,
// and one built from the topic later (a lost index) equals the one its
// writes built.
TEST(KeyIndexedLogKafkaTest, ARebuiltIndexEqualsTheOneItsWritesBuilt) {
  ghostlog::testing::MockKafka kafka;
  ASSERT_TRUE(kafka.ok()) << "cannot start librdkafka's mock cluster";
  ASSERT_TRUE(kafka.CreateTopic("state"));
  ASSERT_TRUE(kafka.CreateTopic(kCheckpointTopic));
  KafkaLogOptions o;
  o.bootstrap_servers = kafka.bootstraps();
  o.request_timeout = 3000ms;
  o.delivery_timeout = 10000ms;
  o.transactional_id = "ghostlog-test";
  auto remote = Must(KafkaLog::Open(o), "open kafka");
  TempDir dir;
  std::vector<Offset> got;
  {
    auto index = Must(KeyIndexedLog::Open(*remote, dir.sub("index")), "open the index");
    EXPECT_EQ(Must(index->ReadLatest({"state", 0}, "k1")), std::nullopt);
    for (int i = 0; i < 3; ++i) {
      AtomicWrite w;
      w.batches.push_back({{"state", 0}, {Rec("k1", "v" + std::to_string(i)), Rec("k" + std::to_string(i + 2), "x")}});
      auto offsets = Must(index->Write(std::move(w)), "write");
      got.insert(got.end(), offsets[0].begin(), offsets[0].end());
    }
    // (The mock cluster writes no commit markers, so its offsets have no
    // gaps; TransformTest.OutputRangesNameTheOffsetsTheRecordsGot makes one.)
    ASSERT_EQ(got.size(), 6u);
    auto k1 = Must(index->ReadLatest({"state", 0}, "k1"));
    ASSERT_TRUE(k1 && k1->value);
    EXPECT_EQ(*k1->value, "v2");
    EXPECT_EQ(k1->offset, got[4]);
  }
  std::filesystem::remove_all(dir.sub("index"));
  auto rebuilt = Must(KeyIndexedLog::Open(*remote, dir.sub("index")), "open a new index");
  auto page = Must(rebuilt->ReadLatestByPrefix({"state", 0}, "k", "", 10));
  ASSERT_EQ(page.size(), 4u);
  EXPECT_EQ(page[0].key, "k1");
  EXPECT_EQ(page[0].offset, got[4]);
  EXPECT_EQ(page[3].key, "k4");
  EXPECT_EQ(page[3].offset, got[5]);
}

}  // namespace
}  // namespace ghostlog::log
