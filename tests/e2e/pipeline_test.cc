// The pipeline end to end: source -> `ghostlog run` (a real child process) ->
// target, under a pgbench-like workload, through daemon crashes, clean stops,
// a target outage and source restarts. The target must equal the source
// exactly (rows as text both ways, counts, md5 per table).
#include <set>

#include "e2e/e2e_harness.h"

namespace ghostlog::e2e {
namespace {

// The plain first start an operator does: fresh data dir, [source] and
// [sink] configured, `ghostlog run`. Both stages must come up and stay up.
TEST(Pipeline, FreshDataDirFirstStartRunsBothStages) {
  Bench b;
  CreateSchema(b);
  SeedSource(b.source, 200);
  ASSERT_TRUE(b.StartHealthy());
  // Give the stages time to fail if they are going to (status is refreshed every second).
  const bool exited = WaitFor([&] { return !b.daemon().running(); }, 3s, 20ms);
  ASSERT_FALSE(exited) << "the daemon exited with " << b.daemon().exit_code().value_or(-1)
                       << " on its first start" << b.daemon().LogTail();
  const auto h = HttpGet(b.port(), "/health");
  EXPECT_EQ(h.status, 200) << h.raw;
  // Each stage's thread carries its name (top -H, ps -L show which one is busy).
  std::set<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(b.daemon().pid()) + "/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  EXPECT_TRUE(names.count("gl-capture") && names.count("gl-sink")) << "threads: " << ::testing::PrintToString(names);
  ASSERT_TRUE(b.CatchUp(30s));
  ExpectAllTablesEqual(b);
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// 1. Identity pipeline: snapshot, then a live workload with a TRUNCATE in it.
TEST(Pipeline, IdentityUnderWorkloadWithTruncate) {
  Bench b;
  CreateSchema(b);
  SeedSource(b.source);
  ASSERT_TRUE(b.StartHealthy());
  Workload w(b.source.dsn(), 1);
  w.Start();
  ASSERT_TRUE(w.WaitCommitted(300)) << w.last_error();
  w.TruncateSoon();
  ASSERT_TRUE(w.WaitCommitted(300)) << w.last_error();
  w.Stop();
  EXPECT_EQ(w.truncates(), 1);
  EXPECT_EQ(w.failed(), 0) << w.last_error();
  ASSERT_TRUE(b.CatchUp());
  // The truncate really happened on the source (the row written before it is gone).
  EXPECT_EQ(b.source.Value("SELECT count(*) FROM stock WHERE label = 'before truncate'"), "0");
  EXPECT_EQ(b.source.Value("SELECT count(*) FROM stock WHERE branch_id = 99"), "1");
  EXPECT_GT(std::stoi(b.source.Value("SELECT count(*) FROM history")), 500);
  ExpectAllTablesEqual(b);
  // Caught up as the daemon reports it, too.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto st = b.CurrentStatus();
        if (!st) return false;
        const auto& s = (*st)["stages"]["sink"];
        return s["lag_transactions"] == 0 && s["committed_offset"] == s["end_offset"];
      },
      10s, 100ms))
      << (b.Status() ? b.Status()->dump(2) : "no status");
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// The target's identity column as the source has it (GENERATED ALWAYS): a
// target created from the source's own DDL must be writable by the sink.
TEST(Pipeline, TargetWithGeneratedAlwaysIdentityFromSourceDdl) {
  Bench b;
  CreateSchema(b, /*with_history_always=*/true);
  SeedSource(b.source, 100);
  b.source.Exec("INSERT INTO history (aid, delta, note) SELECT g, g, 'seed' FROM generate_series(1, 20) g");
  ASSERT_TRUE(b.StartHealthy());
  b.source.Exec("INSERT INTO history (aid, delta, note) VALUES (1, 1, 'streamed')");
  const auto caught = b.CatchUp(15s);
  EXPECT_TRUE(caught);
  if (!caught) {
    EXPECT_TRUE(b.daemon().running()) << "the daemon exited: " << b.daemon().LogTail();
  }
  EXPECT_TRUE(TablesEqual(b.source, b.target, "history")) << b.daemon().LogTail();
}

// 2. SIGKILL the whole daemon 22 times at random moments while the workload
// writes; a checker on the target asserts that no source transaction is ever
// half-visible; the sink's stored offset never goes backwards.
TEST(Pipeline, SigkillTwentyTwoTimesUnderWorkload) {
  Bench b;
  CreateSchema(b);
  SeedSource(b.source);
  ASSERT_TRUE(b.StartHealthy());
  // Markers must arrive by the stream, not by the (per-table) snapshot.
  ASSERT_TRUE(b.WaitStreaming());

  std::atomic<int64_t> checks{0}, mismatches{0}, nonzero_checks{0};
  std::string first_mismatch;
  std::jthread checker([&](std::stop_token stop) {
    Conn c(b.target.dsn());
    while (!stop.stop_requested()) {
      auto r = c.Exec("SELECT (SELECT count(*) FROM marker_a), (SELECT count(*) FROM marker_b)");
      if (!r) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      ++checks;
      const auto& row = (*r)[0];
      if (row[0] != "0") ++nonzero_checks;
      if (row[0] != row[1] && mismatches++ == 0) first_mismatch = "marker_a " + row[0] + " vs marker_b " + row[1];
    }
  });

  Workload w(b.source.dsn(), 2);
  w.Pace(3ms);
  w.Start();
  ASSERT_TRUE(w.WaitCommitted(50));

  auto sink_offset = [&]() -> int64_t {
    try {
      const auto v = b.target.Value(
          "SELECT coalesce(max(next_offset), -1) FROM ghostlog.sink_offsets WHERE topic = 'v2.transaction'");
      return std::stoll(v);
    } catch (const std::exception&) {
      return -1;  // not created yet
    }
  };
  std::mt19937 rng(20240607);
  std::vector<int64_t> offsets{sink_offset()};
  const int kKills = 22;
  for (int i = 0; i < kKills; ++i) {
    if (i > 0) b.daemon().Start();
    // Random moments: during startup, mid-batch, while idle-waiting.
    const int ms = std::uniform_int_distribution<int>(i % 4 == 0 ? 50 : 250, 1500)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    ASSERT_TRUE(b.daemon().running()) << "the daemon exited by itself at kill " << i << b.daemon().LogTail();
    b.daemon().Kill();
    const int64_t o = sink_offset();
    EXPECT_GE(o, offsets.back()) << "sink offset went backwards after kill " << i;
    offsets.push_back(o);
  }
  w.Stop();
  ASSERT_TRUE(b.StartHealthy());
  const int64_t after_restart = sink_offset();
  EXPECT_GE(after_restart, offsets.back());
  const auto caught = b.CatchUp();
  ASSERT_TRUE(caught);
  RecordProperty("catch_up", caught.message());
  checker.request_stop();
  checker.join();

  EXPECT_EQ(mismatches.load(), 0) << "a source transaction was half-visible in the target: " << first_mismatch;
  EXPECT_GT(checks.load(), 100);
  EXPECT_GT(nonzero_checks.load(), 10);
  EXPECT_GE(offsets.back(), offsets.front());
  EXPECT_GT(offsets.back(), 0) << "the sink never committed between kills";
  std::string progress;
  for (auto o : offsets) progress += std::to_string(o) + " ";
  RecordProperty("sink_offsets", progress);
  EXPECT_GT(w.committed(), 200);
  EXPECT_EQ(b.source.Value("SELECT count(*) FROM marker_a"), std::to_string(w.committed()));
  ExpectAllTablesEqual(b);
  EXPECT_EQ(b.daemon().starts(), kKills + 1);  // 22 killed, the last
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// 3. SIGTERM with the workload paused: exit 0 within 10 s; a restart then
// neither duplicates nor loses anything.
TEST(Pipeline, SigtermDrainsAndRestartResumesExactly) {
  Bench b;
  CreateSchema(b);
  SeedSource(b.source, 300);
  ASSERT_TRUE(b.StartHealthy());
  Workload w(b.source.dsn(), 3, 300);
  w.Start();
  ASSERT_TRUE(w.WaitCommitted(200));
  w.Pause();
  const int64_t committed_at_stop = w.committed();
  // Everything committed is in the changelog (the sink may still be behind:
  // SIGTERM must let its in-flight batch finish or roll back).
  ASSERT_TRUE(b.WaitCaptured());
  const auto t0 = Clock::now();
  const auto code = b.daemon().Signal(SIGTERM, 10s);
  ASSERT_TRUE(code.has_value()) << "still running 10 s after SIGTERM" << b.daemon().LogTail();
  EXPECT_EQ(*code, 0) << b.daemon().LogTail();
  EXPECT_LT(Seconds(t0), 10.0);
  EXPECT_NE(b.daemon().CurrentLog().find("SIGTERM: stopping"), std::string::npos) << b.daemon().LogTail();
  const int64_t offset_at_stop = std::stoll(b.target.Value("SELECT max(next_offset) FROM ghostlog.sink_offsets"));
  // The status the daemon left behind: stages stopped, the changelog's end.
  auto last = b.Status();
  ASSERT_TRUE(last);
  EXPECT_FALSE((*last)["running"].get<bool>());
  EXPECT_EQ((*last)["stages"]["sink"]["state"], "stopped");
  EXPECT_EQ((*last)["stages"]["sink"]["committed_offset"].get<int64_t>(), offset_at_stop);
  const int64_t end_at_stop = (*last)["stages"]["sink"]["end_offset"].get<int64_t>();

  // Written while the daemon is down: must arrive after the restart.
  w.Resume();
  ASSERT_TRUE(w.WaitCommitted(100));
  w.Pause();
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(b.CatchUp());
  const int64_t offset_after = std::stoll(b.target.Value("SELECT max(next_offset) FROM ghostlog.sink_offsets"));
  EXPECT_GT(offset_after, offset_at_stop);
  ExpectAllTablesEqual(b);
  // Exactly once, as the daemon counts it: the restarted capture took exactly
  // the transactions committed while it was down plus the fence, and the
  // restarted sink applied exactly what lay after its stored offset.
  const int64_t expected = w.committed() - committed_at_stop + 1;
  std::optional<json> st;
  WaitFor([&] {
    st = b.CurrentStatus();
    return st && (*st)["stages"]["sink"]["committed_offset"] == (*st)["stages"]["sink"]["end_offset"] &&
           (*st)["stages"]["sink"]["end_offset"].get<int64_t>() >= offset_after;
  }, 5s, 100ms);
  ASSERT_TRUE(st);
  const auto& cap = (*st)["stages"]["capture"];
  const auto& snk = (*st)["stages"]["sink"];
  EXPECT_EQ(snk["end_offset"].get<int64_t>() - end_at_stop, expected) << st->dump(2);
  EXPECT_EQ(cap["transactions"].get<int64_t>(), expected) << st->dump(2);
  EXPECT_EQ(snk["transactions"].get<int64_t>(), snk["end_offset"].get<int64_t>() - offset_at_stop) << st->dump(2);
  EXPECT_EQ(snk["committed_offset"].get<int64_t>(), offset_after);
  w.Stop();
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// 4. Target down for 30 s while the source keeps changing: /health stays 200,
// status shows the sink disconnected and its lag growing; then it catches up.
TEST(Pipeline, TargetDownThirtySecondsThenCatchesUp) {
  Bench b;
  CreateSchema(b);
  SeedSource(b.source, 300);
  ASSERT_TRUE(b.StartHealthy());
  Workload w(b.source.dsn(), 4, 300);
  w.Pace(3ms);
  w.Start();
  ASSERT_TRUE(w.WaitCommitted(100));
  ASSERT_TRUE(b.CatchUp());

  StopCluster(b.target);
  const auto down_at = Clock::now();
  bool saw_disconnected = false;
  std::string retry_error;  // what status last said the sink retries after
  std::vector<int64_t> lags;
  int health_checks = 0;
  std::string last_status;
  while (Seconds(down_at) < 30.0) {
    const auto h = HttpGet(b.port(), "/health");
    ASSERT_EQ(h.status, 200) << "at " << Seconds(down_at) << " s: " << h.raw << b.daemon().LogTail();
    ++health_checks;
    if (auto st = b.CurrentStatus()) {
      const auto& s = (*st)["stages"]["sink"];
      last_status = s.dump();
      EXPECT_EQ(s["state"], "running");
      if (!s["connected"].get<bool>()) {
        saw_disconnected = true;
        lags.push_back(s["lag_transactions"].get<int64_t>());
        if (s["last_error"] != "") retry_error = s["last_error"].get<std::string>();  // the latest
      }
    }
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(saw_disconnected) << "status never showed the sink disconnected: " << last_status;
  // The reason is in the status, not only in the log.
  EXPECT_NE(retry_error.find("retrying after: cannot connect to the target"), std::string::npos) << last_status;
  const std::string metrics = HttpGet(b.port(), "/metrics").body;
  EXPECT_NE(metrics.find("\nghostlog_sink_retrying 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nghostlog_sink_connected 0\n"), std::string::npos) << metrics;
  auto human = RunGhostlog(b.dir().path(), {"status", "--config", b.config_path()});
  EXPECT_NE(human.out.find("last error: retrying after: cannot connect to the target"), std::string::npos) << human.out;
  ASSERT_GE(lags.size(), 2u);
  EXPECT_GT(lags.back(), lags.front()) << "lag did not grow while the target was down";
  EXPECT_TRUE(std::is_sorted(lags.begin(), lags.end()));
  EXPECT_GT(health_checks, 20);

  b.target.Start();
  const auto up_at = Clock::now();
  w.Stop();
  ASSERT_TRUE(b.CatchUp(60s));
  RecordProperty("catch_up_after_target_start_s", std::to_string(Seconds(up_at)));
  ExpectAllTablesEqual(b);
  std::optional<json> st;
  ASSERT_TRUE(WaitFor(
      [&] {
        st = b.CurrentStatus();
        return st && (*st)["stages"]["sink"]["connected"].get<bool>() && (*st)["stages"]["sink"]["last_error"] == "";
      },
      5s, 100ms))
      << (st ? st->dump() : "no status");
  // The 30 s backlog came in full batches: the target applied each while the sink read the next.
  EXPECT_GT((*st)["stages"]["sink"]["overlapped_batches"].get<int64_t>(), 0) << st->dump();
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// The target ends the sink's session (pg_terminate_backend, as a fast
// shutdown or a failover does) while batches are in flight: a retryable
// condition, never a fatal one.
TEST(Pipeline, TargetTerminatesSinkSessionMidBatch) {
  Bench b;
  CreateSchema(b);
  SeedSource(b.source, 300);
  ASSERT_TRUE(b.StartHealthy());
  Workload w(b.source.dsn(), 7, 300);
  w.Start();
  ASSERT_TRUE(w.WaitCommitted(100));
  int terminated = 0;
  std::mt19937 rng(7);
  const auto until = Clock::now() + 15s;
  while (Clock::now() < until && b.daemon().running()) {
    terminated += std::stoi(b.target.Value(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'ghostlog-sink' AND state = 'active') t"));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 300)(rng)));
  }
  w.Stop();
  RecordProperty("terminated_sessions", terminated);
  ASSERT_TRUE(b.daemon().running()) << "the daemon died after the target ended its session" << b.daemon().LogTail();
  EXPECT_GT(terminated, 0);
  ASSERT_TRUE(b.CatchUp(60s));
  ExpectAllTablesEqual(b);
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// 5. The source restarted (fast) and crashed (SIGKILL + start) mid-stream.
TEST(Pipeline, SourceRestartAndCrashMidStream) {
  Bench b;
  CreateSchema(b);
  SeedSource(b.source, 300);
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(b.WaitStreaming());
  Workload w(b.source.dsn(), 5, 300);
  w.Start();
  ASSERT_TRUE(w.WaitCommitted(100));

  b.source.Restart();
  ASSERT_TRUE(w.WaitCommitted(100)) << w.last_error();
  ASSERT_TRUE(b.WaitStreaming(60s));
  ASSERT_TRUE(b.CatchUp(60s));

  b.source.Kill();
  b.source.Start();
  ASSERT_TRUE(w.WaitCommitted(100)) << w.last_error();
  w.Stop();
  ASSERT_TRUE(b.daemon().running()) << b.daemon().LogTail();
  ASSERT_TRUE(b.CatchUp(90s));
  ExpectAllTablesEqual(b);
  EXPECT_EQ(b.source.Value("SELECT count(*) FROM marker_a"), b.target.Value("SELECT count(*) FROM marker_a"));
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// A replica identity index other than the primary key: capture keys the
// table by the index (as pgoutput's old-key tuples do), the target by its
// primary key; updates of either, and deletes, must still land.
TEST(Pipeline, ReplicaIdentityUsingAnIndexOtherThanThePrimaryKey) {
  Bench b;
  b.BothExec(
      "CREATE TABLE fence (id int PRIMARY KEY); CREATE TABLE ri (id int PRIMARY KEY, code text NOT NULL, v int);"
      "CREATE UNIQUE INDEX ri_code ON ri (code)");
  b.source.Exec("ALTER TABLE ri REPLICA IDENTITY USING INDEX ri_code");
  b.source.Exec("INSERT INTO ri SELECT g, 'c' || g, g FROM generate_series(1, 10) g");
  ASSERT_TRUE(b.StartHealthy());
  b.source.Exec("INSERT INTO ri SELECT g, 'c' || g, g FROM generate_series(11, 20) g");
  b.source.Exec("UPDATE ri SET v = v + 100 WHERE id % 3 = 0");
  b.source.Exec("UPDATE ri SET code = code || 'x' WHERE id % 4 = 0");
  b.source.Exec("UPDATE ri SET id = id + 1000 WHERE id % 5 = 0");
  b.source.Exec("DELETE FROM ri WHERE id % 7 = 0");
  ASSERT_TRUE(b.CatchUp());
  EXPECT_EQ(b.source.Value("SELECT count(*) FROM ri"), "17");
  EXPECT_TRUE(TablesEqual(b.source, b.target, "ri")) << b.daemon().LogTail(3000);
}

// A column added mid-stream, the way an operator migrates: the target
// first, then the source. Rows before and after it, and updates that set
// it, all arrive; no restart.
TEST(Pipeline, AColumnAddedToTheTargetThenTheSourceMidStream) {
  Bench b;
  b.BothExec("CREATE TABLE fence (id int PRIMARY KEY); CREATE TABLE items (id int PRIMARY KEY, name text)");
  b.source.Exec("INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 50) g");
  ASSERT_TRUE(b.StartHealthy());
  b.source.Exec("INSERT INTO items SELECT g, 'n' || g FROM generate_series(51, 100) g");
  ASSERT_TRUE(b.CatchUp());
  b.target.Exec("ALTER TABLE items ADD COLUMN qty numeric(10,2) DEFAULT 1.50");
  b.source.Exec("ALTER TABLE items ADD COLUMN qty numeric(10,2) DEFAULT 1.50");
  b.source.Exec("INSERT INTO items SELECT g, 'n' || g, g FROM generate_series(101, 150) g");
  b.source.Exec("UPDATE items SET qty = id * 2 WHERE id % 10 = 0");
  ASSERT_TRUE(b.CatchUp());
  EXPECT_TRUE(TablesEqual(b.source, b.target, "items")) << b.daemon().LogTail(3000);
  // And a column dropped from the source: the target keeps it; new rows leave it at its default.
  b.source.Exec("ALTER TABLE items DROP COLUMN name");
  b.source.Exec("INSERT INTO items VALUES (151, 3)");
  b.source.Exec("UPDATE items SET qty = 7 WHERE id = 1");
  ASSERT_TRUE(b.CatchUp());
  EXPECT_EQ(b.target.Value("SELECT name IS NULL, qty FROM items WHERE id = 151"), "t\t3.00");
  EXPECT_EQ(b.target.Value("SELECT name, qty FROM items WHERE id = 1"), "n1\t7.00");
  EXPECT_TRUE(b.daemon().running()) << b.daemon().LogTail(3000);
}

// With auto_create the sink also gives a table it manages the columns the
// source gains (capture records the new schema before the first row).
TEST(Pipeline, AutoCreateAddsTheColumnsTheSourceGains) {
  BenchOptions o;
  o.sink_extra = "auto_create = true\n";
  Bench b(o);
  b.BothExec("CREATE TABLE fence (id int PRIMARY KEY)");
  b.source.Exec("CREATE TABLE items (id int PRIMARY KEY, name text)");
  b.source.Exec("INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 50) g");
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(b.CatchUp());
  b.source.Exec("ALTER TABLE items ADD COLUMN qty numeric(10,2), ADD COLUMN \"Due Date\" date");
  b.source.Exec("INSERT INTO items SELECT g, 'n' || g, g, '2026-12-07' FROM generate_series(51, 100) g");
  b.source.Exec("UPDATE items SET qty = id * 2 WHERE id % 10 = 0");
  ASSERT_TRUE(b.CatchUp());
  EXPECT_TRUE(TablesEqual(b.source, b.target, "items")) << b.daemon().LogTail(3000);
  EXPECT_EQ(b.target.Value("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                           "WHERE attrelid = 'items'::regclass AND attname = 'qty'"),
            "numeric(10,2)");
}

// A partitioned table is captured and applied as the one table it is: its
// partitions' changes are published as the root's.
TEST(Pipeline, APartitionedTableArrivesAsOneTable) {
  Bench b;
  b.BothExec(
      "CREATE TABLE fence (id int PRIMARY KEY);"
      "CREATE TABLE sales (id int, region text, qty int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);"
      "CREATE TABLE sales_north PARTITION OF sales FOR VALUES IN ('north');"
      "CREATE TABLE sales_south PARTITION OF sales FOR VALUES IN ('south')");
  b.source.Exec(
      "INSERT INTO sales SELECT g, CASE WHEN g % 2 = 0 THEN 'north' ELSE 'south' END, g FROM "
      "generate_series(1, 100) g");
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(b.WaitStreaming());
  b.source.Exec(
      "INSERT INTO sales SELECT g, CASE WHEN g % 2 = 0 THEN 'north' ELSE 'south' END, g FROM "
      "generate_series(101, 200) g");
  b.source.Exec("UPDATE sales SET qty = qty + 1000 WHERE id % 3 = 0");
  b.source.Exec("UPDATE sales SET region = 'north' WHERE id = 7");  // moves the row to the other partition
  b.source.Exec("DELETE FROM sales WHERE id % 5 = 0");
  ASSERT_TRUE(b.CatchUp());
  EXPECT_TRUE(TablesEqual(b.source, b.target, "sales")) << b.daemon().LogTail(3000);
  EXPECT_EQ(b.target.Value("SELECT count(*) FROM sales"), "160");
  // One topic: the partitions' changes are the table's, so a mapping of
  // public.sales sees them all. (PostgreSQL still describes the partitions
  // to capture, which makes their topics; they stay empty.)
  ASSERT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
  const auto records = [&](const std::string& topic) {
    const auto r =
        RunGhostlog(b.dir().path(), {"--data-dir", b.dir().sub("data"), "consume", topic, "--from-beginning"});
    return std::count(r.out.begin(), r.out.end(), '\n');
  };
  EXPECT_GT(records("v2.public.sales"), 300);
  EXPECT_EQ(records("v2.public.sales_north"), 0);
  EXPECT_EQ(records("v2.public.sales_south"), 0);
}

}  // namespace
}  // namespace ghostlog::e2e
