// The snapshot against a source whose tables are truncated while it runs: no
// deadlock kills capture or the source's transaction, and a transaction the
// server rolls back is retried. And its reader connections: they read tables
// at once, all inside the one snapshot, and never wait behind a queued lock.
#include <thread>

#include "capture_harness.h"
#include "ghostlog/log/fault.h"

namespace ghostlog::capture::testing {
namespace {

class SnapshotLocksTest : public CaptureTest {
 protected:
  // Two tables; the snapshot reads `a` first and takes about a second per table.
  void SetUp() override {
    CaptureTest::SetUp();
    pg_.Exec("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
    pg_.Exec("INSERT INTO a SELECT generate_series(1, 500); INSERT INTO b SELECT generate_series(1, 500)");
  }
  void TearDown() override {
    log::fault::DisarmAll();                 // a paused point would hold the capture thread
    if (source_.joinable()) source_.join();  // a failed ASSERT returns before the test joins it
    CaptureTest::TearDown();
  }
  CaptureConfig Slow() {
    CaptureConfig c = Config();
    c.snapshot_max_rows_per_second = 500;
    return c;
  }
  // Runs `sql` on its own connection in the background; its error, if any,
  // is in `source_error_` once `source_` is joined.
  void RunOnSource(std::string sql) {
    source_ = std::thread([this, sql] {
      try {
        pg_.Exec(sql);
      } catch (const std::exception& e) {
        source_error_ = e.what();
      }
    });
  }
  // The source's statement ended without error, a and b hold `rows` rows
  // each, and capture streams.
  void ExpectBothAndStreaming(size_t rows) {
    source_.join();
    EXPECT_EQ(source_error_, "");
    ExpectConverges("a", rows);
    ExpectConverges("b", rows);
    EXPECT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }))
        << (done_ ? result_.ToString() : std::string("running"));
    EXPECT_FALSE(done_) << result_.ToString();
  }

  // Sessions holding a lock on table a or b (the snapshot's and its readers').
  std::string LockHolders() {
    return pg_.Value(
        "SELECT count(DISTINCT pid) FROM pg_locks WHERE relation IN ('a'::regclass, 'b'::regclass) AND granted");
  }
  // The snapshot's events of `table` ("r"), as id -> after.v.
  std::map<int, std::string> SnapshotRows(const std::string& table) {
    std::map<int, std::string> rows;
    for (const auto& r : ReadTopic(*log_, "v2.public." + table)) {
      if (!r.value) continue;
      json v = json::parse(*r.value);
      if (v["op"] == "r") rows[v["after"]["id"].get<int>()] = v["after"].value("v", "");
    }
    return rows;
  }

  std::thread source_;
  std::string source_error_;
};

// Table by table, the snapshot would hold `a` and wait for `b` while the
// source's transaction holds `b` and waits for `a`. Locked up front, the
// source's TRUNCATE waits for the snapshot instead.
TEST_F(SnapshotLocksTest, ATruncateDuringTheSnapshotWaitsForIt) {
  StartCapture(Slow());
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().snapshot_rows.load() >= 100; }));
  RunOnSource("BEGIN; TRUNCATE b; TRUNCATE a; COMMIT");
  ExpectBothAndStreaming(0);
  EXPECT_EQ(capture_->stats().snapshot_rows.load(), 1000);  // all of it, read before the truncate
  ASSERT_OK(StopCapture());
}

// A deadlock the server breaks by rolling the snapshot back: capture starts
// the snapshot again from its last chunk instead of stopping.
TEST_F(SnapshotLocksTest, ASnapshotRolledBackByADeadlockIsRetried) {
  StartCapture(Slow());
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().snapshot_rows.load() >= 100; }));
  ASSERT_OK(StopCapture());  // mid-snapshot: the next start resumes it
  // The source holds `b`, then (a second later) asks for `a`, which the
  // resumed snapshot's LOCK holds while waiting for `b`. The snapshot waits
  // first and detects the deadlock first (the source's own check is put off),
  // so it is the transaction PostgreSQL rolls back.
  RunOnSource("SET deadlock_timeout = '20s'; BEGIN; TRUNCATE b; SELECT pg_sleep(1); TRUNCATE a; COMMIT");
  ASSERT_TRUE(
      WaitFor([&] { return pg_.Value("SELECT count(*) FROM pg_locks WHERE relation = 'b'::regclass") != "0"; }));
  StartCapture(Slow());
  ExpectBothAndStreaming(0);
  ASSERT_OK(StopCapture());
}

// Two readers take a table each: a, b are locked by three sessions at once
// (the snapshot's own and two readers), not read one after the other.
TEST_F(SnapshotLocksTest, TwoReadersReadTwoTablesAtOnce) {
  CaptureConfig c = Slow();
  c.snapshot_readers = 2;
  StartCapture(c);
  EXPECT_TRUE(WaitFor([&] { return LockHolders() == "3"; })) << LockHolders();
  ExpectConverges("a", 500);
  ExpectConverges("b", 500);
  EXPECT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }));
  EXPECT_EQ(capture_->stats().snapshot_rows.load(), 1000);
  // Throttled to 500 rows/s: the rate it reports is about that.
  EXPECT_GT(capture_->stats().snapshot_rows_per_second.load(), 250);
  EXPECT_LE(capture_->stats().snapshot_rows_per_second.load(), 600);
  ASSERT_OK(StopCapture());
}

// The readers start (paused here) after c changed; they still read c as it
// was at the slot's consistent point, and the later changes arrive as stream
// events.
TEST_F(SnapshotLocksTest, EveryReaderReadsTheSameSnapshot) {
  pg_.Exec("CREATE TABLE c (id int PRIMARY KEY, v text); INSERT INTO c SELECT g, 'old' FROM generate_series(1, 500) g");
  log::fault::Pause("capture.snapshot_readers_start");
  CaptureConfig c = Config();
  c.snapshot_readers = 2;
  StartCapture(c);
  ASSERT_TRUE(WaitFor([&] { return log::fault::Waiting("capture.snapshot_readers_start") == 1; }));
  pg_.Exec("INSERT INTO c VALUES (501, 'new'); UPDATE c SET v = 'new' WHERE id = 1");
  log::fault::Resume("capture.snapshot_readers_start");
  ExpectConverges("c", 501);
  EXPECT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }));
  EXPECT_EQ(capture_->stats().snapshot_rows.load(), 1500);
  const auto snapshot = SnapshotRows("c");
  EXPECT_EQ(snapshot.size(), 500u);
  EXPECT_EQ(snapshot.count(501), 0u);
  EXPECT_EQ(snapshot.at(1), "old");
  ASSERT_OK(StopCapture());
}

// c's TRUNCATE queues behind the snapshot's lock before the reader gets to c.
// A reader that waited for its lock would wait for the TRUNCATE, which waits
// for the snapshot, which waits for the reader; instead c is read on the
// snapshot's own connection, and the TRUNCATE follows the snapshot.
TEST_F(SnapshotLocksTest, ATableWithAQueuedLockIsReadOnTheSnapshotsConnection) {
  pg_.Exec("CREATE TABLE c (id int PRIMARY KEY, v text); INSERT INTO c SELECT g, 'old' FROM generate_series(1, 500) g");
  CaptureConfig cfg = Slow();
  cfg.snapshot_readers = 1;
  StartCapture(cfg);
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().snapshot_rows.load() >= 100; }));
  RunOnSource("TRUNCATE c");
  ASSERT_TRUE(WaitFor([&] {
    return pg_.Value("SELECT count(*) FROM pg_locks WHERE relation = 'c'::regclass AND NOT granted") != "0";
  }));
  EXPECT_TRUE(WaitFor([&] { return capture_->stats().snapshot_rows.load() == 1500; }))
      << capture_->stats().snapshot_rows.load();
  source_.join();
  EXPECT_EQ(source_error_, "");
  ExpectConverges("c", 0);
  ExpectConverges("a", 500);
  EXPECT_FALSE(done_) << result_.ToString();
  EXPECT_EQ(SnapshotRows("c").size(), 500u);
  ASSERT_OK(StopCapture());
}

// capture's role may open two connections: the snapshot's and the
// replication connection (walsenders count too). No reader gets one; the
// tables are read on the snapshot's own connection instead.
TEST_F(SnapshotLocksTest, ReadersRefusedByTheConnectionLimitLeaveTheirTablesToTheSnapshot) {
  pg_.Exec("CREATE ROLE limited LOGIN REPLICATION CONNECTION LIMIT 2; GRANT SELECT ON a, b TO limited");
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b");
  CaptureConfig c = Config();
  c.dsn = pg_.dsn() + " user=limited";
  c.snapshot_readers = 2;
  StartCapture(c);
  ExpectConverges("a", 500);
  ExpectConverges("b", 500);
  EXPECT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }))
      << (done_ ? result_.ToString() : std::string("running"));
  EXPECT_EQ(capture_->stats().snapshot_rows.load(), 1000);
  pg_.Exec("DELETE FROM b WHERE id > 100");
  ExpectConverges("b", 100);
  ASSERT_OK(StopCapture());
}

// A source whose role has timeouts against runaway sessions, as production
// servers often do. The snapshot's LOCK waits longer than lock_timeout for a
// table someone holds, and its connection then idles in its transaction
// (here while the readers are held back) longer than
// idle_in_transaction_session_timeout: neither may cut the snapshot short.
TEST_F(SnapshotLocksTest, TheRolesTimeoutsDoNotCutTheSnapshot) {
  pg_.Exec("CREATE ROLE timed LOGIN REPLICATION; GRANT SELECT ON a, b TO timed");
  for (const char* setting : {"lock_timeout", "idle_in_transaction_session_timeout", "statement_timeout"})
    pg_.Exec(std::string("ALTER ROLE timed SET ") + setting + " = '200ms'");
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b");
  RunOnSource("BEGIN; LOCK TABLE b IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(1); COMMIT");
  ASSERT_TRUE(WaitFor([&] {
    return pg_.Value(
               "SELECT count(*) FROM pg_locks WHERE relation = 'b'::regclass AND mode = 'AccessExclusiveLock' "
               "AND granted") == "1";
  }));
  log::fault::Pause("capture.snapshot_readers_start");
  CaptureConfig c = Config();
  c.dsn = pg_.dsn() + " user=timed";
  c.snapshot_readers = 1;
  StartCapture(c);
  ASSERT_TRUE(WaitFor([&] { return log::fault::Waiting("capture.snapshot_readers_start") == 1; }))
      << (done_ ? result_.ToString() : std::string("running"));
  const std::string idle_sessions =
      "SELECT count(*) FROM pg_stat_activity WHERE usename = 'timed' AND state = 'idle in transaction'";
  const std::string idle = pg_.Value(idle_sessions);  // the snapshot's, and the slot's exporting walsender
  EXPECT_NE(idle, "0");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(pg_.Value(idle_sessions), idle);
  log::fault::Resume("capture.snapshot_readers_start");
  ExpectBothAndStreaming(500);
  EXPECT_EQ(capture_->stats().snapshot_rows.load(), 1000);
  ASSERT_OK(StopCapture());
}

// An operator cancels capture's statement (pg_cancel_backend on its
// walsender): capture retries, and its status names the cancel rather than a
// lost connection.
TEST_F(SnapshotLocksTest, AStatementTheSourceCancelsIsRetriedAndNamedAsSuch) {
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b");
  StartCapture(Config());
  ExpectConverges("a", 500);
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }));
  const std::string walsender = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walsender'";
  ASSERT_EQ(pg_.Value("SELECT count(*) FROM (" + walsender + ") w"), "1");
  pg_.Exec("SELECT pg_cancel_backend(pid) FROM (" + walsender + ") w");
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().retrying.Get() != ""; }))
      << (done_ ? result_.ToString() : std::string("running"));
  EXPECT_NE(capture_->stats().retrying.Get().find("PostgreSQL cancelled the statement"), std::string::npos)
      << capture_->stats().retrying.Get();
  pg_.Exec("INSERT INTO a SELECT g FROM generate_series(1001, 1010) g");
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().streaming.load() && capture_->stats().retrying.Get() == ""; }));
  ASSERT_OK(StopCapture());
}

// The same for a snapshot chunk's SELECT: the cancel is named, and the
// snapshot, done again, has every row. (A row-level security policy that
// sleeps 5 ms per row keeps the chunk running long enough to cancel it.)
TEST_F(SnapshotLocksTest, ASnapshotChunkTheSourceCancelsIsRetriedAndNamedAsSuch) {
  pg_.Exec("CREATE ROLE slow LOGIN REPLICATION; GRANT SELECT ON a, b TO slow");
  pg_.Exec(
      "ALTER TABLE b ENABLE ROW LEVEL SECURITY; CREATE POLICY sleepy ON b USING ((SELECT true FROM pg_sleep(0.005 + 0 "
      "* id)))");
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b");
  CaptureConfig c = Config();
  c.dsn = pg_.dsn() + " user=slow";
  StartCapture(c);
  const std::string reading =
      "SELECT pid FROM pg_stat_activity WHERE usename = 'slow' AND backend_type = 'client backend' "
      "AND state = 'active' AND wait_event = 'PgSleep'";
  ASSERT_TRUE(WaitFor([&] { return pg_.Value("SELECT count(*) FROM (" + reading + ") r") == "1"; }))
      << (done_ ? result_.ToString() : std::string("running"));
  pg_.Exec("SELECT pg_cancel_backend(pid) FROM (" + reading + ") r");
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().retrying.Get() != ""; }))
      << (done_ ? result_.ToString() : std::string("running"));
  EXPECT_NE(capture_->stats().retrying.Get().find("PostgreSQL cancelled the statement"), std::string::npos)
      << capture_->stats().retrying.Get();
  ExpectConverges("a", 500);
  ExpectConverges("b", 500);
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }));
  ASSERT_OK(StopCapture());
}

// A table read empty by the snapshot gets its schema record with the stream's
// first change of it: every record's schema version is in the schema topic.
TEST_F(SnapshotLocksTest, ATableReadEmptyHasItsSchemaBeforeItsFirstRecord) {
  pg_.Exec("CREATE TABLE e (id int PRIMARY KEY, v text)");
  StartCapture(Config());
  ExpectConverges("a", 500);
  ASSERT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }));
  pg_.Exec("INSERT INTO e VALUES (1, 'x')");
  ExpectConverges("e", 1);
  const auto records = ReadTopic(*log_, "v2.public.e");
  ASSERT_EQ(records.size(), 1u);
  std::string version;
  for (const auto& h : records[0].headers) {
    if (h.key == "ghostlog.schema_version") version = h.value;
  }
  std::vector<std::string> versions;
  for (const auto& r : ReadTopic(*log_, "v2.schema")) {
    json j = json::parse(r.value.value_or("{}"));
    if (j.value("table", "") == "e") versions.push_back(std::to_string(j["version"].get<int64_t>()));
  }
  EXPECT_NE(version, "");
  EXPECT_EQ(versions, std::vector<std::string>{version});
  ASSERT_OK(StopCapture());
}

}  // namespace
}  // namespace ghostlog::capture::testing
