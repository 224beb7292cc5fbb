// Capture edge cases: large streamed transactions, TOAST, server restarts,
// snapshots under concurrent writes, and the type mapping end to end.
#include <atomic>

#include "capture_harness.h"

namespace ghostlog::capture::testing {
namespace {

// Makes the server stream transactions past 64 kB of changes.
void ForceStreaming(PgCluster& pg) {
  pg.Exec("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'");
  pg.Exec("SELECT pg_reload_conf()");
}

TEST_F(CaptureTest, StreamedTransactionsCommitAbortAndSubtransactionRollback) {
  ForceStreaming(pg_);
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY, v text)");
  StartCapture(Config());
  ASSERT_TRUE(WaitFor([&] { return pg_.Value("SELECT active FROM pg_replication_slots") == "t"; }));
  pg_.Exec("BEGIN; INSERT INTO t SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g; ROLLBACK");
  pg_.Exec("BEGIN; INSERT INTO t SELECT g, 'kept' FROM generate_series(1, 10000) g; SAVEPOINT s; "
           "INSERT INTO t SELECT g, 'undone' FROM generate_series(10001, 20000) g; ROLLBACK TO SAVEPOINT s; "
           "INSERT INTO t VALUES (-1, 'after'); COMMIT");
  ExpectConverges("t", 10001);
  auto rows = FoldTable(*log_, "v2.public.t");
  EXPECT_EQ(rows.count(R"({"id":15000})"), 0u);
  EXPECT_EQ(rows[R"({"id":-1})"]["v"], "after");
  // Exactly the committed changes, once each; the streamed transaction was spilled.
  EXPECT_EQ(ReadTopic(*log_, "v2.public.t").size(), 10001u);
  auto txns = ReadTopic(*log_, "v2.transaction");
  json end = json::parse(*txns.back().value);
  EXPECT_EQ(end["event_count"], 10001);
  auto spill = log_->DescribePartition({"__ghostlog.capture.ghostlog.spill", 0});
  ASSERT_TRUE(spill.ok());
  EXPECT_GT(spill->end_offset, 0);        // it was used
  EXPECT_EQ(spill->records, 0);           // and emptied after the commit
  ASSERT_OK(StopCapture());
}

TEST_F(CaptureTest, UnchangedToastValuesAreFilledFromTheChangelog) {
  pg_.Exec("CREATE TABLE docs (id int PRIMARY KEY, body text, n int)");
  // Incompressible, so it is stored out of line (TOAST).
  pg_.Exec("INSERT INTO docs SELECT 1, string_agg(md5(g::text), ''), 0 FROM generate_series(1, 400) g");
  const std::string body = pg_.Value("SELECT body FROM docs");
  StartCapture(Config());
  ExpectConverges("docs", 1);
  pg_.Exec("UPDATE docs SET n = 1 WHERE id = 1");
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(*log_, "v2.public.docs").size() == 2; }));
  json u = json::parse(*ReadTopic(*log_, "v2.public.docs").back().value);
  EXPECT_EQ(u["op"], "u");
  EXPECT_EQ(u["after"]["n"], 1);
  EXPECT_EQ(u["after"]["body"], body);  // not null, not the placeholder
  ASSERT_OK(StopCapture());
}

// A jsonb value keeps its numbers as PostgreSQL printed them (numeric), in
// the snapshot's image, in an update's new image and when an update leaves
// it unchanged (TOASTed) and it is taken from the earlier image.
TEST_F(CaptureTest, JsonbNumbersKeepEveryDigitThroughUpdatesAndTheToastFill) {
  pg_.Exec("CREATE TABLE docs (id int PRIMARY KEY, doc jsonb, small jsonb, n int)");
  // Incompressible text makes `doc` TOASTed.
  pg_.Exec(
      "INSERT INTO docs SELECT 1, jsonb_build_object('p', 1.50, 'big', 123456789012345678901234567890.5, 'pad', "
      "string_agg(md5(g::text), '')), '[0.10, 12345678901234567890123456789]', 0 FROM generate_series(1, 400) g");
  const std::string doc = pg_.Value("SELECT doc FROM docs"), small = pg_.Value("SELECT small FROM docs");
  ASSERT_NE(doc.find("\"p\": 1.50"), std::string::npos) << "PostgreSQL keeps the digits: " << doc.substr(0, 80);
  StartCapture(Config());
  ExpectConverges("docs", 1);
  pg_.Exec("UPDATE docs SET n = 1");
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(*log_, "v2.public.docs").size() == 2; }));
  for (const auto& r : ReadTopic(*log_, "v2.public.docs")) {
    EXPECT_NE(r.value->find("\"doc\":" + doc + ","), std::string::npos) << r.value->substr(0, 200);
    EXPECT_NE(r.value->find("\"small\":" + small + "}"), std::string::npos) << r.value->substr(0, 200);
  }
  ASSERT_OK(StopCapture());
}

// A TOAST value changed earlier in the same transaction is not in the
// changelog yet: the later change's unchanged value is that new one, never
// the older image the changelog holds.
TEST_F(CaptureTest, UnchangedToastValuesChangedEarlierInTheSameTransactionAreTheNewOnes) {
  pg_.Exec("CREATE TABLE docs (id int PRIMARY KEY, body text, n int)");
  pg_.Exec("INSERT INTO docs SELECT 1, string_agg(md5(g::text), ''), 0 FROM generate_series(1, 400) g");
  StartCapture(Config());
  ExpectConverges("docs", 1);
  pg_.Exec(
      "BEGIN; UPDATE docs SET body = (SELECT string_agg(md5((g + 7)::text), '') FROM generate_series(1, 400) g); "
      "UPDATE docs SET n = 1; COMMIT");
  const std::string body = pg_.Value("SELECT body FROM docs");
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(*log_, "v2.public.docs").size() == 3; }));
  const auto recs = ReadTopic(*log_, "v2.public.docs");
  json first = json::parse(*recs[1].value), second = json::parse(*recs[2].value);
  EXPECT_EQ(first["after"]["body"], body);
  EXPECT_EQ(second["after"]["n"], 1);
  EXPECT_EQ(second["after"]["body"], body);
  ASSERT_OK(StopCapture());
}

// The same across transactions that a backlog writes together (one group,
// one fsync): the earlier one is not in the changelog when the later one is
// filled either.
TEST_F(CaptureTest, UnchangedToastValuesChangedByAnEarlierTransactionOfTheSameWriteAreTheNewOnes) {
  pg_.Exec("CREATE TABLE docs (id int PRIMARY KEY, body text, n int)");
  pg_.Exec("INSERT INTO docs SELECT 1, string_agg(md5(g::text), ''), 0 FROM generate_series(1, 400) g");
  StartCapture(Config());
  ExpectConverges("docs", 1);
  ASSERT_OK(StopCapture());
  // A backlog: both arrive at once when capture starts again.
  pg_.Exec("UPDATE docs SET body = (SELECT string_agg(md5((g + 7)::text), '') FROM generate_series(1, 400) g)");
  for (int n = 1; n <= 20; ++n) pg_.Exec("UPDATE docs SET n = " + std::to_string(n));
  const std::string body = pg_.Value("SELECT body FROM docs");
  StartCapture(Config());
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(*log_, "v2.public.docs").size() == 22; }));
  const auto recs = ReadTopic(*log_, "v2.public.docs");
  for (size_t i = 1; i < recs.size(); ++i) {
    EXPECT_EQ(json::parse(*recs[i].value)["after"]["body"], body) << "record " << i;
  }
  EXPECT_EQ(json::parse(*recs.back().value)["after"]["n"], 20);
  ASSERT_OK(StopCapture());
}

// An update that changes the primary key moves the row to a new record key:
// the values it leaves unchanged are those of the old key's image.
TEST_F(CaptureTest, UnchangedToastValuesOfARowWhoseKeyChangesComeFromTheOldKey) {
  pg_.Exec("CREATE TABLE docs (id int PRIMARY KEY, body text, n int)");
  pg_.Exec("INSERT INTO docs SELECT 1, string_agg(md5(g::text), ''), 0 FROM generate_series(1, 400) g");
  const std::string body = pg_.Value("SELECT body FROM docs");
  StartCapture(Config());
  ExpectConverges("docs", 1);
  pg_.Exec("UPDATE docs SET id = 2");
  // The old key's delete and tombstone, then the new key's create.
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(*log_, "v2.public.docs").size() == 4; }));
  const auto rows = FoldTable(*log_, "v2.public.docs");
  ASSERT_EQ(rows.count(R"({"id":2})"), 1u);
  EXPECT_EQ(rows.at(R"({"id":2})")["body"], body);
  ASSERT_OK(StopCapture());
}

// REPLICA IDENTITY FULL logs the whole old row, which pgoutput flags as the
// replica identity; the record key stays the primary key, as Debezium's
// message key does: an update of another column is an update, not a delete
// and a create, and lookups by the key find the row.
TEST_F(CaptureTest, AFullReplicaIdentityTableIsKeyedByItsPrimaryKey) {
  pg_.Exec("CREATE TABLE docs (id int PRIMARY KEY, body text, n int)");
  pg_.Exec("ALTER TABLE docs REPLICA IDENTITY FULL");
  pg_.Exec("INSERT INTO docs VALUES (1, 'a', 0)");
  StartCapture(Config());
  ExpectConverges("docs", 1);
  pg_.Exec("UPDATE docs SET n = 1");
  pg_.Exec("INSERT INTO docs VALUES (2, 'b', 0)");
  ASSERT_TRUE(WaitFor([&] { return FoldTable(*log_, "v2.public.docs").size() == 2; }));
  const auto recs = ReadTopic(*log_, "v2.public.docs");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].key, R"({"id":1})");
  EXPECT_EQ(recs[1].key, R"({"id":1})");
  const json u = json::parse(*recs[1].value);
  EXPECT_EQ(u["op"], "u");
  EXPECT_EQ(u["before"]["n"], 0);  // the whole old row, as FULL logs it
  EXPECT_EQ(u["after"]["n"], 1);
  EXPECT_EQ(recs[2].key, R"({"id":2})");
  ASSERT_OK(StopCapture());
}

TEST_F(CaptureTest, SurvivesPostgresRestartMidStream) {
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY, v int)");
  StartCapture(Config());
  // Streaming, not merely holding the slot: a restart during the snapshot
  // resumes it from a fresh one, which by design re-sends rows (docs/capture.md).
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }, std::chrono::seconds(60)));
  pg_.Exec("INSERT INTO t SELECT g, 0 FROM generate_series(1, 100) g");
  pg_.Restart();
  pg_.Exec("INSERT INTO t SELECT g, 1 FROM generate_series(101, 200) g");
  pg_.Kill();  // a crash, not a clean shutdown
  // While the source is down, what capture retries after is there for status.
  ASSERT_TRUE(WaitFor([&] { return !capture_->stats().retrying.Get().empty(); }, std::chrono::seconds(30)));
  EXPECT_NE(capture_->stats().retrying.Get().find("PostgreSQL"), std::string::npos) << capture_->stats().retrying.Get();
  pg_.Start();
  pg_.Exec("UPDATE t SET v = 2 WHERE id % 10 = 0");
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(*log_, "v2.public.t").size() == 220; }, std::chrono::seconds(60)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(ReadTopic(*log_, "v2.public.t").size(), 220u);  // nothing twice
  auto rows = FoldTable(*log_, "v2.public.t");
  EXPECT_EQ(rows.size(), 200u);
  EXPECT_EQ(rows[R"({"id":150})"]["v"], 2);
  EXPECT_TRUE(WaitFor([&] { return capture_->stats().streaming.load() && capture_->stats().retrying.Get().empty(); }))
      << capture_->stats().retrying.Get();
  ASSERT_OK(StopCapture());
}

TEST_F(CaptureTest, SnapshotUnderConcurrentWritesHasNoGapOrOverlap) {
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY, v int)");
  pg_.Exec("INSERT INTO t SELECT g, 0 FROM generate_series(1, 5000) g");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      pg_.Exec("BEGIN; UPDATE t SET v = v + 1 WHERE id = " + std::to_string(1 + (i * 37) % 5000) +
               "; INSERT INTO t VALUES (" + std::to_string(10000 + i) + ", 0); DELETE FROM t WHERE id = " +
               std::to_string(1 + (i * 53) % 5000) + "; COMMIT");
    }
  });
  CaptureConfig c = Config();
  c.snapshot_chunk_rows = 200;
  StartCapture(c);
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }, std::chrono::seconds(60)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();
  const auto source = pg_.Query("SELECT id, v FROM t ORDER BY id");
  ASSERT_TRUE(WaitFor([&] { return FoldTable(*log_, "v2.public.t").size() == source.size(); }));
  auto rows = FoldTable(*log_, "v2.public.t");
  for (const auto& line : source) {
    const auto tab = line.find('\t');
    const std::string key = R"({"id":)" + line.substr(0, tab) + "}";
    ASSERT_TRUE(rows.count(key)) << key;
    EXPECT_EQ(rows[key]["v"].get<int>(), std::stoi(line.substr(tab + 1))) << key;
  }
  ASSERT_OK(StopCapture());
}

TEST_F(CaptureTest, TypesRoundTrip) {
  pg_.Exec("CREATE TYPE mood AS ENUM ('sad', 'happy')");
  pg_.Exec(R"(CREATE TABLE ty (id int PRIMARY KEY, b bool, i2 int2, i8 int8, f4 float4, f8 float8,
      n numeric(12,4), m money, t text, vc varchar(10), c char(3), u uuid, d date, tm time, ts timestamp,
      tz timestamptz, iv interval, by bytea, j json, jb jsonb, ia int[], ta text[], e mood))");
  const std::string values = R"((1, true, -7, 9223372036854775807, 1.5, 'NaN', 12345678.1234, 12.50, 'héllo', 'v', 'ab',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29', '13:14:15.5', '2024-01-02 03:04:05.678',
      '2024-01-02 03:04:05+02', '1 day 2 hours', '\x00ff10', '{"a": [1, 2]}', '{"b": null}', '{1,NULL,3}',
      '{"x y","q\"z"}', 'happy'))";
  pg_.Exec("INSERT INTO ty VALUES " + values);
  StartCapture(Config());
  ExpectConverges("ty", 1);
  pg_.Exec("INSERT INTO ty SELECT 2, b, i2, i8, f4, f8, n, m, t, vc, c, u, d, tm, ts, tz, iv, by, j, jb, ia, ta, e "
           "FROM ty WHERE id = 1");
  ExpectConverges("ty", 2);
  auto rows = FoldTable(*log_, "v2.public.ty");
  const json expected = json::parse(R"({"b":true,"i2":-7,"i8":9223372036854775807,"f4":1.5,"f8":"NaN",
      "n":"12345678.1234","m":"$12.50","t":"héllo","vc":"v","c":"ab ","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "d":"2024-02-29","tm":"13:14:15.5","ts":"2024-01-02T03:04:05.678","tz":"2024-01-02T01:04:05Z",
      "iv":"P1DT2H","by":"AP8Q","j":{"a":[1,2]},"jb":{"b":null},"ia":[1,null,3],"ta":["x y","q\"z"],"e":"happy"})");
  for (const std::string key : {R"({"id":1})", R"({"id":2})"}) {  // snapshot and stream agree
    json row = rows[key];
    row.erase("id");
    for (const auto& [k, v] : expected.items()) EXPECT_EQ(row[k], v) << key << " column " << k;
  }
  ASSERT_OK(StopCapture());
}

}  // namespace
}  // namespace ghostlog::capture::testing
