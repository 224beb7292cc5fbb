// Capture against a real PostgreSQL 15: snapshot, streaming, exactly-once restart.
#include "capture_harness.h"
#include "marked_log.h"

#include <map>

namespace ghostlog::capture::testing {
namespace {

// A table of wide rows is read fewer rows at a time: after a first chunk of
// at most 100 rows, each chunk's events stay within snapshot_chunk_bytes,
// although snapshot_chunk_rows would allow the whole table in one.
TEST_F(CaptureTest, ASnapshotOfWideRowsIsReadInChunksOfBoundedBytes) {
  pg_.Exec("CREATE TABLE images (id int PRIMARY KEY, data text)");
  pg_.Exec("INSERT INTO images SELECT g, repeat(md5(g::text), 640) FROM generate_series(1, 400) g");  // 20 KiB each
  CaptureConfig c = Config();
  c.snapshot_chunk_rows = 10000;
  c.snapshot_chunk_bytes = 256 << 10;
  StartCapture(c);
  ExpectConverges("images", 400);
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }));

  std::map<log::Offset, size_t> size;  // of each event, key and value
  for (const auto& r : ReadTopic(*log_, "v2.public.images")) size[r.offset] = r.key.size() + r.value->size();
  std::vector<std::pair<int64_t, size_t>> chunks;  // rows, bytes
  for (const auto& t : ReadTopic(*log_, "v2.transaction")) {
    const json j = json::parse(*t.value);
    if (j["status"] != "SNAPSHOT") continue;
    for (const auto& range : j["ranges"]) {
      if (range["topic"] != "v2.public.images") continue;
      auto& [rows, bytes] = chunks.emplace_back(0, 0);
      for (log::Offset o = range["first"]; o <= range["last"].get<log::Offset>(); ++o, ++rows) bytes += size.at(o);
    }
  }
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].first, 100);
  int64_t rows = chunks[0].first;
  for (size_t i = 1; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i].second, size_t{256} << 10) << "chunk " << i << " of " << chunks[i].first << " rows";
    rows += chunks[i].first;
  }
  EXPECT_EQ(rows, 400);
  EXPECT_GE(chunks.size(), 1 + 300 * 20480 / (256 << 10));
}

TEST_F(CaptureTest, SnapshotThenStreamProducesDebeziumEvents) {
  pg_.Exec("CREATE TABLE facilities (id int PRIMARY KEY, code text NOT NULL, name text, active bool)");
  pg_.Exec("INSERT INTO facilities SELECT g, 'F' || g, 'Facility ' || g, g % 2 = 0 FROM generate_series(1, 250) g");
  StartCapture(Config());
  ExpectConverges("facilities", 250);

  auto records = ReadTopic(*log_, "v2.public.facilities");
  ASSERT_EQ(records.size(), 250u);
  json first = json::parse(*records[0].value);
  EXPECT_EQ(records[0].key, R"({"id":1})");
  EXPECT_EQ(first["op"], "r");
  EXPECT_EQ(first["after"], json::parse(R"({"id":1,"code":"F1","name":"Facility 1","active":false})"));
  EXPECT_EQ(first["source"]["snapshot"], "true");
  EXPECT_EQ(first["source"]["table"], "facilities");
  // The snapshot's chunks, then one record saying it is complete.
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }));
  auto snapshot_txns = ReadTopic(*log_, "v2.transaction");
  ASSERT_GE(snapshot_txns.size(), 2u);
  for (size_t i = 0; i + 1 < snapshot_txns.size(); ++i) {
    EXPECT_EQ(json::parse(*snapshot_txns[i].value)["status"], "SNAPSHOT");
  }
  json done = json::parse(*snapshot_txns.back().value);
  EXPECT_EQ(done["status"], "SNAPSHOT_DONE");
  EXPECT_EQ(done["snapshot_rows"], 250);
  EXPECT_TRUE(done["ranges"].empty());

  pg_.Exec("BEGIN; INSERT INTO facilities VALUES (1000, 'NEW', 'New one', true); "
           "UPDATE facilities SET name = 'Renamed' WHERE id = 2; DELETE FROM facilities WHERE id = 3; COMMIT");
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(*log_, "v2.public.facilities").size() >= 254; }));
  records = ReadTopic(*log_, "v2.public.facilities");
  ASSERT_EQ(records.size(), 254u);  // c, u, d, tombstone
  json c = json::parse(*records[250].value), u = json::parse(*records[251].value),
       d = json::parse(*records[252].value);
  EXPECT_EQ(c["op"], "c");
  EXPECT_EQ(c["after"]["code"], "NEW");
  EXPECT_EQ(u["op"], "u");
  EXPECT_EQ(u["after"]["name"], "Renamed");
  EXPECT_EQ(d["op"], "d");
  EXPECT_EQ(d["before"]["id"], 3);
  EXPECT_EQ(records[252].key, R"({"id":3})");
  EXPECT_FALSE(records[253].value.has_value());  // tombstone
  EXPECT_EQ(c["source"]["txId"], u["source"]["txId"]);  // one source transaction
  EXPECT_EQ(c["transaction"]["total_order"], 1);
  EXPECT_EQ(d["transaction"]["total_order"], 3);

  // The transaction topic lists the ranges of the last transaction.
  auto txns = ReadTopic(*log_, "v2.transaction");
  ASSERT_FALSE(txns.empty());
  json end = json::parse(*txns.back().value);
  EXPECT_EQ(end["status"], "END");
  EXPECT_EQ(end["event_count"], 3);
  ASSERT_EQ(end["ranges"].size(), 1u);
  EXPECT_EQ(end["ranges"][0]["first"], 250);
  EXPECT_EQ(end["ranges"][0]["last"], 253);
  ASSERT_OK(StopCapture());
}

// On a changelog whose committed writes take offsets of their own (Kafka's
// transaction markers; MarkedLog adds one to every partition a write
// touched), each transaction record still lists exactly its own records:
// capture takes the offsets from the write instead of predicting them from
// the end of the last one. Covers snapshot chunks, single transactions and
// a backlog written many transactions per write.
TEST_F(CaptureTest, TransactionRangesHoldWhenWritesTakeOffsetsOfTheirOwn) {
  MarkedLog marked(*log_);
  capture_log_ = &marked;
  const std::string topic = "v2.public.t";
  auto events = [&] {
    size_t n = 0;
    for (const auto& r : ReadTopic(*log_, topic)) n += r.key != "__marker";
    return n;
  };
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY, v int)");
  pg_.Exec("INSERT INTO t SELECT g, 0 FROM generate_series(1, 250) g");  // three snapshot chunks
  StartCapture(Config());
  ExpectConverges("t", 250);
  for (int i = 1; i <= 10; ++i) pg_.Exec("UPDATE t SET v = " + std::to_string(i) + " WHERE id <= 3");
  ASSERT_TRUE(WaitFor([&] { return events() == 280; })) << events() << "; capture: " << result_.ToString();
  ASSERT_OK(StopCapture());
  for (int i = 1; i <= 30; ++i) pg_.Exec("UPDATE t SET v = -" + std::to_string(i) + " WHERE id = " + std::to_string(i));
  StartCapture(Config());
  ASSERT_TRUE(WaitFor([&] { return events() == 310; })) << events() << "; capture: " << result_.ToString();
  ASSERT_OK(StopCapture());
  EXPECT_GT(marked.marked_writes(), 5);

  std::map<log::Offset, log::Record> records;  // of the table's topic, markers included
  for (auto& r : ReadTopic(*log_, topic)) records.emplace(r.offset, std::move(r));
  size_t listed = 0, txns = 0;
  for (const auto& t : ReadTopic(*log_, "v2.transaction")) {
    if (!t.value || t.key == "__marker") continue;
    const json txn = json::parse(*t.value);
    const std::string status = txn.value("status", "");
    if (status != "END" && status != "SNAPSHOT") continue;
    ++txns;
    for (const auto& range : txn["ranges"]) {
      if (range["topic"] != topic) continue;
      for (log::Offset o = range["first"]; o <= range["last"].get<log::Offset>(); ++o) {
        ASSERT_TRUE(records.count(o)) << "offset " << o << " listed by " << *t.value;
        const log::Record& r = records.at(o);
        ASSERT_NE(r.key, "__marker") << "offset " << o << " listed by " << *t.value;
        EXPECT_EQ(json::parse(*r.value)["source"]["txId"], txn["txId"]) << "offset " << o << " listed by " << *t.value;
        ++listed;
      }
    }
  }
  EXPECT_EQ(listed, 310u) << "every event listed once";
  EXPECT_GE(txns, 3u + 10u + 1u);
}

TEST_F(CaptureTest, RestartResumesWithoutLossOrDuplicate) {
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY, v int)");
  pg_.Exec("INSERT INTO t SELECT g, 0 FROM generate_series(1, 50) g");
  StartCapture(Config());
  ExpectConverges("t", 50);
  pg_.Exec("UPDATE t SET v = 1 WHERE id <= 10");
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(*log_, "v2.public.t").size() == 60; }));
  ASSERT_OK(StopCapture());
  // Changes while capture is down arrive once after it restarts.
  pg_.Exec("UPDATE t SET v = 2 WHERE id <= 5");
  pg_.Exec("INSERT INTO t VALUES (51, 51)");
  StartCapture(Config());
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(*log_, "v2.public.t").size() == 66; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(ReadTopic(*log_, "v2.public.t").size(), 66u);
  auto rows = FoldTable(*log_, "v2.public.t");
  EXPECT_EQ(rows.size(), 51u);
  EXPECT_EQ(rows[R"({"id":1})"]["v"], 2);
  EXPECT_EQ(rows[R"({"id":7})"]["v"], 1);
  ASSERT_OK(StopCapture());
}

TEST_F(CaptureTest, TruncateAndAddColumnMidStream) {
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY, v text)");
  pg_.Exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  StartCapture(Config());
  ExpectConverges("t", 2);
  pg_.Exec("ALTER TABLE t ADD COLUMN extra numeric(10,2) DEFAULT 1.50");
  pg_.Exec("INSERT INTO t VALUES (3, 'c', 2.25)");
  ASSERT_TRUE(WaitFor([&] { return FoldTable(*log_, "v2.public.t").size() == 3; }));
  auto rows = FoldTable(*log_, "v2.public.t");
  EXPECT_EQ(rows[R"({"id":3})"]["extra"], "2.25");  // numerics are exact strings
  auto schemas = ReadTopic(*log_, "v2.schema");
  ASSERT_EQ(schemas.size(), 2u);
  EXPECT_EQ(json::parse(*schemas[1].value)["version"], 2);
  EXPECT_EQ(json::parse(*schemas[1].value)["columns"].size(), 3u);
  pg_.Exec("TRUNCATE t");
  ASSERT_TRUE(WaitFor([&] { return FoldTable(*log_, "v2.public.t").empty(); }));
  EXPECT_EQ(json::parse(*ReadTopic(*log_, "v2.public.t").back().value)["op"], "t");
  ASSERT_OK(StopCapture());
}

TEST_F(CaptureTest, DroppedSlotStopsWithAClearError) {
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY)");
  StartCapture(Config());
  ASSERT_TRUE(WaitFor([&] { return pg_.Value("SELECT active FROM pg_replication_slots WHERE slot_name = 'ghostlog'") == "t"; }));
  ASSERT_OK(StopCapture());
  pg_.Exec("SELECT pg_drop_replication_slot('ghostlog')");
  StartCapture(Config());
  ASSERT_TRUE(WaitFor([&] { return !result_.ok(); }, std::chrono::seconds(10)));
  thread_.join();
  EXPECT_TRUE(result_.IsNotFound()) << result_.ToString();
  EXPECT_NE(result_.message().find("--resnapshot"), std::string::npos) << result_.message();
  // No slot was re-created behind the operator's back.
  EXPECT_EQ(pg_.Value("SELECT count(*) FROM pg_replication_slots"), "0");
}

}  // namespace
}  // namespace ghostlog::capture::testing
