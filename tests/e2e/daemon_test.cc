// The daemon as an operator meets it: /health and /metrics, robustness of the
// HTTP endpoint, a fatal stage error, `ghostlog status`, and every bad-config
// message.
#include "e2e/e2e_harness.h"

namespace ghostlog::e2e {
namespace {

// 6a. /health, /metrics, and an endpoint that survives garbage.
TEST(Daemon, HealthMetricsAndHttpGarbage) {
  BenchOptions o;
  o.sink_max_batch_events = 20000;  // the default: no transaction here is applied in pieces
  Bench b(o);
  CreateSchema(b);
  SeedSource(b.source, 500);
  ASSERT_TRUE(b.StartHealthy());
  const auto h = HttpGet(b.port(), "/health");
  EXPECT_EQ(h.status, 200) << h.raw;
  EXPECT_EQ(h.body, "ok\n");
  EXPECT_EQ(HttpGet(b.port(), "/nope").status, 404);

  // The counters: the snapshot, then the streamed workload's transactions of
  // >= 5 row changes each, and the fence.
  ASSERT_TRUE(b.WaitStreaming());
  Workload w(b.source.dsn(), 6, 500);
  w.Start();
  ASSERT_TRUE(w.WaitCommitted(100));
  w.Stop();
  ASSERT_TRUE(b.CatchUp());
  const int64_t min_events = 5 * w.committed() + 1;
  std::map<std::string, double> m;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = HttpGet(b.port(), "/metrics");
        m = ParseMetrics(r.body);
        return r.status == 200 && m["ghostlog_capture_events_total"] >= min_events &&
               m["ghostlog_capture_transactions_total"] > w.committed() &&
               m["ghostlog_sink_transactions_total"] > w.committed() && m["ghostlog_sink_lag_transactions"] == 0;
      },
      10s, 200ms))
      << HttpGet(b.port(), "/metrics").raw;
  EXPECT_GE(m["ghostlog_capture_events_total"], min_events);
  EXPECT_GT(m["ghostlog_capture_transactions_total"], w.committed());
  EXPECT_EQ(m["ghostlog_capture_streaming"], 1);
  EXPECT_GT(m["ghostlog_sink_rows_written_total"], 0);
  EXPECT_GT(m["ghostlog_sink_transactions_total"], w.committed());
  EXPECT_EQ(m["ghostlog_sink_dead_lettered_total"], 0);
  ASSERT_TRUE(m.count("ghostlog_sink_early_pieces_total"));
  EXPECT_EQ(m["ghostlog_sink_early_pieces_total"], 0);  // small transactions: no piece before its commit
  ASSERT_TRUE(m.count("ghostlog_sink_overlapped_batches_total"));
  EXPECT_GT(m["ghostlog_rss_bytes"], 1 << 20);
  EXPECT_LT(m["ghostlog_rss_bytes"], 1 << 30);
  EXPECT_GE(m["ghostlog_peak_rss_bytes"], m["ghostlog_rss_bytes"]);
  EXPECT_GE(m["ghostlog_capture_confirmed_lsn"], 1);
  const std::string body = HttpGet(b.port(), "/metrics").body;
  EXPECT_NE(body.find("# TYPE ghostlog_capture_events_total counter\n"), std::string::npos) << body;
  EXPECT_NE(body.find("# TYPE ghostlog_sink_lag_transactions gauge\n"), std::string::npos) << body;

  // Garbage: raw junk, a POST, a 100 KB header, a silent connection.
  const auto junk = HttpRaw(b.port(), "GARBAGE\r\n\r\n");
  EXPECT_NE(junk.status, 200) << junk.raw;
  const auto post = HttpRaw(b.port(), "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.status, 405) << post.raw;
  // A POST that carries a body (as every real POST does) must get the same
  // 405, not a connection closed without an answer.
  const auto post_body = HttpRaw(b.port(), "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(post_body.status, 405) << "POST with a body got no HTTP answer: '" << post_body.raw << "'";
  const auto big = HttpRaw(b.port(), "GET /health HTTP/1.1\r\nX-Big: " + std::string(100 * 1024, 'a') + "\r\n\r\n");
  EXPECT_NE(big.status, 200) << "a 100 KB header was served";
  {
    const int silent = ConnectLocal(b.port());
    ASSERT_GE(silent, 0);
    // While it hangs, others are still served.
    EXPECT_EQ(HttpGet(b.port(), "/health").status, 200);
    ::close(silent);
  }
  const int silent2 = ConnectLocal(b.port());
  ::close(silent2);
  ASSERT_TRUE(b.daemon().running()) << b.daemon().LogTail();
  const auto again = HttpGet(b.port(), "/health");
  EXPECT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body, "ok\n");
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// 6b. A fatal sink error (a target table lacks a column the source has): the
// daemon exits non-zero naming topic, offset, table and column; /health
// answered 503 naming the stage if we caught it before the exit.
TEST(Daemon, FatalSinkErrorExitsNonZeroWithMessage) {
  Bench b;
  b.source.Exec("CREATE TABLE accounts (id int PRIMARY KEY, balance bigint, note text)");
  b.target.Exec("CREATE TABLE accounts (id int PRIMARY KEY, balance bigint)");
  b.source.Exec("INSERT INTO accounts SELECT g, g, 'n' || g FROM generate_series(1, 20) g");
  b.daemon().Start();
  std::string seen_503;
  bool saw_200 = false;
  const auto code = [&]() -> std::optional<int> {
    const auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline) {
      if (!b.daemon().running()) return b.daemon().exit_code();
      const auto h = HttpGet(b.port(), "/health", 500ms);
      if (h.status == 200) saw_200 = true;
      if (h.status == 503 && seen_503.empty()) seen_503 = h.body;
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }();
  ASSERT_TRUE(code.has_value()) << "the daemon kept running after a fatal sink error" << b.daemon().LogTail();
  EXPECT_EQ(*code, 1) << b.daemon().LogTail();
  const std::string log = b.daemon().Log();
  EXPECT_NE(log.find("sink stopped"), std::string::npos) << b.daemon().LogTail();
  EXPECT_NE(log.find("topic 'v2.public.accounts' offset "), std::string::npos) << b.daemon().LogTail();
  EXPECT_NE(log.find("column 'note' does not exist in target table public.accounts"), std::string::npos)
      << b.daemon().LogTail();
  RecordProperty("health_503_body", seen_503);
  if (!seen_503.empty()) {
    EXPECT_NE(seen_503.find("sink is failed"), std::string::npos) << seen_503;
  }
  // Nothing half-applied.
  EXPECT_EQ(b.target.Value("SELECT count(*) FROM accounts"), "0");
  // The status left behind names the failure.
  auto st = b.Status();
  ASSERT_TRUE(st);
  EXPECT_FALSE((*st)["running"].get<bool>());
  EXPECT_EQ((*st)["stages"]["sink"]["state"], "failed");
  EXPECT_NE((*st)["stages"]["sink"]["last_error"].get<std::string>().find("column 'note'"), std::string::npos);
  (void)saw_200;
}

// 7. `ghostlog status` while running and after the stop.
// status.json cannot be written (here its temp file's name is taken by a
// directory): the daemon says so once, keeps running, and says nothing more
// until the failure changes.
TEST(Daemon, AStatusFileThatCannotBeWrittenIsLoggedOnce) {
  Bench b;
  CreateSchema(b);
  fs::create_directories(b.dir().sub("data") + "/status.json.tmp");
  ASSERT_TRUE(b.StartHealthy());
  std::this_thread::sleep_for(3s);  // three turns of the main loop
  ASSERT_TRUE(b.daemon().running()) << b.daemon().LogTail();
  const std::string log = b.daemon().CurrentLog();
  const std::string line = "cannot write " + b.dir().sub("data") + "/status.json.tmp";
  const size_t first = log.find(line);
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find(line, first + 1), std::string::npos) << "logged more than once:\n" << log;
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

TEST(Daemon, StatusWhileRunningAndAfterStop) {
  Bench b;
  CreateSchema(b);
  SeedSource(b.source, 100);
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(b.WaitStreaming());
  b.source.Exec("UPDATE accounts SET balance = balance + 1 WHERE id <= 10");
  ASSERT_TRUE(b.CatchUp());
  const pid_t pid = b.daemon().pid();

  std::optional<json> st;
  ASSERT_TRUE(WaitFor(
      [&] {
        // status.json is refreshed every second: wait for one taken after the fence.
        st = b.CurrentStatus();
        return st && (*st)["stages"]["sink"]["lag_transactions"] == 0 &&
               std::to_string((*st)["stages"]["sink"]["committed_offset"].get<int64_t>()) ==
                   b.target.Value("SELECT next_offset FROM ghostlog.sink_offsets");
      },
      10s, 100ms));
  EXPECT_TRUE((*st)["running"].get<bool>());
  EXPECT_EQ((*st)["pid"], pid);
  EXPECT_LT((*st)["age_ms"].get<int64_t>(), 5000);
  const auto& cap = (*st)["stages"]["capture"];
  const auto& snk = (*st)["stages"]["sink"];
  EXPECT_EQ(cap["state"], "running");
  EXPECT_TRUE(cap["streaming"].get<bool>());
  EXPECT_EQ(cap["last_error"], "");
  EXPECT_EQ(snk["state"], "running");
  EXPECT_TRUE(snk["connected"].get<bool>());
  EXPECT_EQ(snk["committed_offset"], snk["end_offset"]);
  const int64_t offset = snk["committed_offset"].get<int64_t>();
  EXPECT_EQ(std::to_string(offset), b.target.Value("SELECT next_offset FROM ghostlog.sink_offsets"));

  auto human = RunGhostlog(b.dir().path(), {"status", "--config", b.config_path()});
  EXPECT_EQ(human.code, 0) << human.err;
  EXPECT_EQ(human.err, "");
  EXPECT_NE(human.out.find("daemon: running, pid " + std::to_string(pid)), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("capture: running, streaming"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("sink: running, connected"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("offset " + std::to_string(offset) + " of " + std::to_string(offset) + " (lag 0 transactions)"),
            std::string::npos)
      << human.out;

  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
  auto after = RunGhostlog(b.dir().path(), {"status", "--config", b.config_path()});
  EXPECT_EQ(after.code, 0) << after.err;
  EXPECT_NE(after.out.find("daemon: not running"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("capture: stopped"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("sink: stopped"), std::string::npos) << after.out;
  auto j = b.Status();
  ASSERT_TRUE(j);
  EXPECT_FALSE((*j)["running"].get<bool>());
  EXPECT_EQ((*j)["stages"]["sink"]["committed_offset"].get<int64_t>(), offset);

  // After a SIGKILL too.
  ASSERT_TRUE(b.StartHealthy());
  b.daemon().Kill();
  auto killed = RunGhostlog(b.dir().path(), {"status", "--config", b.config_path(), "--json"});
  EXPECT_EQ(killed.code, 0) << killed.err;
  auto kj = json::parse(killed.out, nullptr, false);
  ASSERT_FALSE(kj.is_discarded()) << killed.out;
  EXPECT_FALSE(kj["running"].get<bool>()) << killed.out;
}

// 8. Bad configurations: one line on stderr, "ghostlog: ...", non-zero exit,
// nothing started.
class BadConfig : public ::testing::Test {
 protected:
  // Writes `text` as the config and runs `ghostlog run --config F`.
  RunResult Run(const std::string& text, std::vector<std::string> extra = {}) {
    std::ofstream(path(), std::ios::trunc) << text;
    std::vector<std::string> args{"run", "--config", path()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunGhostlog(dir_.path(), args, 10s);
  }
  std::string path() const { return dir_.sub("bad.toml"); }
  std::string head() const { return "data_dir = \"" + dir_.sub("data") + "\"\n"; }
  // The dsn points at nothing: a config error must stop before any connection.
  static std::string Source(const std::string& more = "") {
    return "[source]\ndsn = \"host=/nonexistent dbname=x\"\n" + more;
  }
  static void ExpectOneLine(const RunResult& r, int code, const std::string& needle) {
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_TRUE(r.err.starts_with("ghostlog: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "want '" << needle << "' in: " << r.err;
    EXPECT_EQ(r.out, "");
  }
  TempDir dir_;
};

TEST_F(BadConfig, MissingFile) {
  auto r = RunGhostlog(dir_.path(), {"run", "--config", dir_.sub("nope.toml")}, 10s);
  ExpectOneLine(r, 1, "cannot read config file " + dir_.sub("nope.toml"));
  auto s = RunGhostlog(dir_.path(), {"status", "--config", dir_.sub("nope.toml")}, 10s);
  ExpectOneLine(s, 1, "cannot read config file");
}

TEST_F(BadConfig, TomlSyntaxErrorNamesTheLine) {
  auto r = Run(head() + "[source]\ndsn = \"host=/x\"\nslot = \"unterminated\n");
  ExpectOneLine(r, 1, path() + ":4:");
}

TEST_F(BadConfig, UnknownKeyNamesFileLineAndKey) {
  auto r = Run(head() + Source("slott = \"x\"\n"));
  ExpectOneLine(r, 1, path() + ":4: unknown key 'source.slott'");
}

TEST_F(BadConfig, WrongType) {
  auto r = Run(head() + Source("heartbeat_interval = 5\n"));
  ExpectOneLine(r, 1, path() + ":4: source.heartbeat_interval must be a string");
}

TEST_F(BadConfig, BadDuration) {
  auto r = Run(head() + Source("heartbeat_interval = \"5 parsecs\"\n"));
  ExpectOneLine(r, 1, path() + ":4: source.heartbeat_interval '5 parsecs' is not a duration");
  auto neg = Run(head() + Source("heartbeat_interval = \"-1s\"\n"));
  ExpectOneLine(neg, 1, "source.heartbeat_interval '-1s' is not a duration");
}

TEST_F(BadConfig, BadSnapshotMode) {
  auto r = Run(head() + Source("snapshot = \"sometimes\"\n"));
  ExpectOneLine(r, 1, path() + ":4: source.snapshot must be initial, never, initial_only or when_needed");
}

TEST_F(BadConfig, SnapshotReadersOutOfRange) {
  auto many = Run(head() + Source("snapshot_readers = 65\n"));
  ExpectOneLine(many, 1, path() + ":4: source.snapshot_readers must be <= 64");
  auto negative = Run(head() + Source("snapshot_readers = -1\n"));
  ExpectOneLine(negative, 1, path() + ":4: source.snapshot_readers must be >= 0");
}

TEST_F(BadConfig, SnapshotChunkBytesTooSmall) {
  auto r = Run(head() + Source("snapshot_chunk_bytes = 1000\n"));
  ExpectOneLine(r, 1, path() + ":4: source.snapshot_chunk_bytes must be >= 65536");
}

TEST_F(BadConfig, PasswordInDsnIsRefusedAndNotPrinted) {
  auto r = Run(head() + "[source]\ndsn = \"host=/x dbname=x password=secret\"\n");
  ExpectOneLine(r, 1, path() + ":3: source.dsn must not contain a password");
  EXPECT_EQ(r.err.find("secret"), std::string::npos) << r.err;
  auto uri = Run(head() + "[sink]\ndsn = \"postgresql://u:secret@localhost/db\"\n");
  ExpectOneLine(uri, 1, "sink.dsn must not contain a password");
  EXPECT_EQ(uri.err.find("secret"), std::string::npos) << uri.err;
}

TEST_F(BadConfig, SinkWithoutDsn) {
  auto r = Run(head() + Source() + "[sink]\ntable = \"{table}\"\n");
  ExpectOneLine(r, 1, path() + ": sink.dsn is required");
}

TEST_F(BadConfig, SinkKeyColumnsOfTheWrongShape) {
  const std::string sink = "[sink]\ndsn = \"host=/x\"\n";
  auto list = Run(head() + Source() + sink + "key_columns = [\"country\"]\n");
  ExpectOneLine(list, 1, path() + ":6: sink.key_columns must be a table of string arrays");
  auto number = Run(head() + Source() + sink + "key_columns = { \"public.t\" = [1] }\n");
  ExpectOneLine(number, 1, path() + ":6: sink.key_columns must be a table of string arrays");
  auto empty = Run(head() + Source() + sink + "key_columns = { \"public.t\" = [] }\n");
  ExpectOneLine(empty, 1,
                "sink.key_columns needs \"schema.table\" = [column, ...] with at least one column; "
                "'public.t' has none");
  auto bare = Run(head() + Source() + sink + "key_columns = { t = [\"a\"] }\n");
  ExpectOneLine(bare, 1, "'t' has no schema");
}

TEST_F(BadConfig, FsyncNever) {
  auto r = Run(head() + "[log]\nfsync = \"never\"\n" + Source());
  ExpectOneLine(r, 1, path() + ":3: log.fsync must be always or interval");
}

// [log] backend = "kafka": what it needs, what it refuses, and librdkafka's
// own properties checked (named with file and line) before anything starts.
TEST_F(BadConfig, KafkaBackend) {
  const std::string kafka = "[log]\nbackend = \"kafka\"\n";
  const std::string servers = "bootstrap_servers = \"127.0.0.1:1\"\n";
  ExpectOneLine(Run(head() + "[log]\nbackend = \"kafak\"\n" + Source()), 1,
                path() + ":3: log.backend must be embedded or kafka");
  ExpectOneLine(Run(head() + kafka + Source()), 1,
                path() + ": log.bootstrap_servers is required with backend = \"kafka\"");
  ExpectOneLine(Run(head() + kafka + servers + "fsync = \"interval\"\n" + Source()), 1,
                path() + ":5: log.fsync applies to the embedded changelog only");
  ExpectOneLine(
      Run(head() + kafka + servers + "security.protocol = \"bogus\"\n" + Source()), 1,
      path() + ":5: log.security.protocol is refused: kafka client property security.protocol: Invalid value");
  ExpectOneLine(Run(head() + kafka + servers + "\"no.such.property\" = 1\n" + Source()), 1,
                path() + ":5: log.no.such.property is refused");
  ExpectOneLine(Run(head() + kafka + servers + "bootstrap.servers = \"x:1\"\n" + Source()), 1,
                path() + ":5: log.bootstrap.servers is set by ghostlog: write bootstrap_servers instead");
  auto secret = Run(head() + kafka + servers + "ssl.key.password = 12\nssl.keystore.password = [1]\n" + Source());
  ExpectOneLine(secret, 1, path() + ":6: log.ssl.keystore.password (a librdkafka property) must be a string");
  EXPECT_FALSE(fs::exists(dir_.sub("data"))) << "a bad config still created the data dir";
}

TEST_F(BadConfig, UnknownStageIsAUsageError) {
  auto r = Run(head() + Source(), {"--stage", "bogus"});
  ExpectOneLine(r, 2, "bogus");
  EXPECT_FALSE(fs::exists(dir_.sub("data")));
}

TEST_F(BadConfig, NothingStartsOnAnyConfigError) {
  for (const std::string& text : {head() + Source("slott = \"x\"\n"), head() + "[log]\nfsync = \"never\"\n"}) {
    auto r = Run(text);
    EXPECT_NE(r.code, 0);
  }
  EXPECT_FALSE(fs::exists(dir_.sub("data"))) << "a bad config still created the data dir";
}

// A stage asked for on the command line that the config does not configure,
// and a config with no stage at all: usage errors, reported like every other
// error ("ghostlog: ..." on one line, exit 2; see app/main.cc's contract).
TEST_F(BadConfig, StageNotConfiguredIsAUsageErrorOnOneLine) {
  auto r = Run(head() + Source(), {"--stage", "sink"});
  ExpectOneLine(r, 2, "--stage sink is not configured");
  auto none = Run(head());
  ExpectOneLine(none, 2, "configures no stage");
}

}  // namespace
}  // namespace ghostlog::e2e
