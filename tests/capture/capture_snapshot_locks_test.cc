// The snapshot against a source whose tables are truncated while it runs: no
// deadlock kills capture or the source's transaction, and a transaction the
// server rolls back is retried.
#include <thread>

#include "capture_harness.h"

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
  void ExpectBothEmptyAndStreaming() {
    source_.join();
    EXPECT_EQ(source_error_, "");
    ExpectConverges("a", 0);
    ExpectConverges("b", 0);
    EXPECT_TRUE(WaitFor([&] { return capture_->stats().streaming.load(); }))
        << (done_ ? result_.ToString() : std::string("running"));
    EXPECT_FALSE(done_) << result_.ToString();
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
  ExpectBothEmptyAndStreaming();
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
  ExpectBothEmptyAndStreaming();
  ASSERT_OK(StopCapture());
}

}  // namespace
}  // namespace ghostlog::capture::testing
