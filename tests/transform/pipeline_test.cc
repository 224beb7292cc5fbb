// The transform inside the daemon, end to end: real source and target
// PostgreSQL, `ghostlog run` as a child process running capture, transform
// and sink. The oracle is SQL on the source, using PostgreSQL's own
// uuid_generate_v5 (uuid-ossp), so ids are checked against an implementation
// nobody here wrote.
#include "e2e/e2e_harness.h"
#include "kafka_mock.h"

namespace ghostlog::e2e {
namespace {

constexpr const char* kGhostlogNamespace = "9c4a7f8e-2f7b-5b7c-9a51-6d3b1f0e8c21";

std::string Mapping(const std::string& name_expr) {
  return std::string(R"toml(source = "public.facilities"
target = "public.kafka_facilities"
key = ["id"]
where = "active"
[columns]
id = "uuid5('facilities', id)"
code = "code"
name = ")toml") +
         name_expr + R"toml("
zoneid = "uuid5('zones', zone_id)"
zonename = "lookup('public.zones', zone_id, 'name')"
active = "active"
)toml";
}

class TransformPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(maps_);
    WriteMapping("name");
    BenchOptions o;
    o.sink_extra = "\n[transform]\nmappings = \"" + maps_ + "\"\n" + TransformExtra();
    Prepare(&o);
    bench_ = std::make_unique<Bench>(o);
    Bench& b = *bench_;
    b.source.Exec(
        "CREATE TABLE zones (id int PRIMARY KEY, name text NOT NULL);"
        "CREATE TABLE facilities (id int PRIMARY KEY, code text NOT NULL, name text, zone_id int, active boolean);"
        "INSERT INTO zones SELECT g, 'zone ' || g FROM generate_series(1, 5) g;"
        "INSERT INTO facilities SELECT g, 'F' || g, 'Facility ' || g, 1 + g % 5, g % 7 <> 0"
        "  FROM generate_series(1, 300) g");
    b.target.Exec(
        "CREATE TABLE kafka_facilities (id uuid PRIMARY KEY, code text, name text, zoneid uuid, zonename text,"
        "  active boolean)");
    b.source.Exec("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"");
  }

  virtual std::string TransformExtra() const { return ""; }
  virtual void Prepare(BenchOptions*) {}

  void WriteMapping(const std::string& name_expr) {
    std::ofstream(maps_ + "/10-facilities.toml") << Mapping(name_expr);
  }

  // What the target must hold, computed on the source.
  std::vector<std::string> Oracle(const std::string& name_expr = "f.name") {
    const std::string ns = std::string("uuid_generate_v5('") + kGhostlogNamespace + "'::uuid, ";
    return bench_->source.Query("SELECT uuid_generate_v5(" + ns + "'facilities'), f.id::text), f.code, " + name_expr +
                                ", uuid_generate_v5(" + ns +
                                "'zones'), f.zone_id::text), z.name, f.active"
                                " FROM facilities f LEFT JOIN zones z ON z.id = f.zone_id WHERE f.active ORDER BY 1");
  }
  std::vector<std::string> Target() {
    return bench_->target.Query("SELECT id, code, name, zoneid, zonename, active FROM kafka_facilities ORDER BY 1");
  }
  ::testing::AssertionResult Converges(const std::string& name_expr = "f.name", std::chrono::seconds t = 60s) {
    std::vector<std::string> want, got;
    if (WaitFor(
            [&] {
              want = Oracle(name_expr);
              got = Target();
              return want == got;
            },
            t, 200ms)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "target has " << got.size() << " rows, oracle " << want.size()
                                         << (got.empty() || want.empty()
                                                 ? ""
                                                 : "; first target row: " + got[0] + "; first oracle row: " + want[0])
                                         << bench_->daemon().LogTail();
  }

  // Starts the daemon; the snapshot, then streaming: inserts, updates (one
  // deactivates a row: its target row goes), a delete with the default
  // replica identity (key only), each converging to the oracle.
  void SnapshotThenStreaming() {
    Bench& b = *bench_;
    ASSERT_TRUE(b.StartHealthy());
    ASSERT_TRUE(Converges()) << "after the snapshot";
    b.source.Exec("INSERT INTO facilities VALUES (1001, 'N1', 'New one', 2, true)");
    b.source.Exec(
        "UPDATE facilities SET name = 'Renamed' WHERE id = 1; UPDATE facilities SET active = false WHERE id = 2");
    b.source.Exec("DELETE FROM facilities WHERE id = 3");
    ASSERT_TRUE(Converges()) << "after streaming";
  }

  // A wrong mapping goes live (it maps the changes that follow); then the
  // fix, and a rewind of the transform group (on the changelog `changelog`
  // names, the daemon stopped): the target heals without reading the source
  // again. Expects facility 5's code to be 'F5k'.
  void WrongMappingThenFixAndRewind(std::vector<std::string> changelog) {
    Bench& b = *bench_;
    ASSERT_EQ(b.daemon().Signal(SIGTERM, 20s), 0) << b.daemon().LogTail();
    WriteMapping("upper(name)");
    ASSERT_TRUE(b.StartHealthy());
    b.source.Exec("UPDATE facilities SET name = 'Changed' WHERE id = 5");
    ASSERT_TRUE(
        WaitFor([&] { return b.target.Value("SELECT name FROM kafka_facilities WHERE code = 'F5k'") == "CHANGED"; },
                30s, 100ms))
        << b.daemon().LogTail();
    ASSERT_EQ(b.daemon().Signal(SIGTERM, 20s), 0) << b.daemon().LogTail();
    WriteMapping("name");
    for (const char* a : {"offsets", "reset", "--group", "ghostlog-transform", "--topic", "v2.transaction",
                          "--to-earliest", "--execute"}) {
      changelog.push_back(a);
    }
    auto reset = RunGhostlog(b.dir().path(), changelog);
    ASSERT_EQ(reset.code, 0) << reset.err;
    ASSERT_TRUE(b.StartHealthy());
    ASSERT_TRUE(Converges()) << "after the fix and rewind";
  }

  TempDir maps_dir_;
  const std::string maps_ = maps_dir_.sub("maps");
  std::unique_ptr<Bench> bench_;
};

TEST_F(TransformPipeline, SnapshotStreamingKillAndRewindWithAFixedMapping) {
  Bench& b = *bench_;
  SnapshotThenStreaming();
  if (HasFatalFailure()) return;

  // The operator sees the stage: `ghostlog status` and /metrics.
  std::optional<json> st;
  ASSERT_TRUE(WaitFor(
      [&] {
        st = b.Status();  // status.json is rewritten every second
        return st && st->value("pid", 0) == b.daemon().pid() && (*st)["stages"].contains("transform") &&
               (*st)["stages"]["transform"].value("events_in", 0) >= 300;
      },
      10s, 100ms))
      << (st ? st->dump() : "no status");
  EXPECT_EQ((*st)["stages"]["transform"]["state"], "running") << st->dump();
  auto text = RunGhostlog(b.dir().path(), {"status", "--config", b.config_path()});
  EXPECT_NE(text.out.find("transform: running, "), std::string::npos) << text.out;
  auto metrics = ParseMetrics(HttpGet(b.port(), "/metrics").body);
  EXPECT_GE(metrics["ghostlog_transform_events_out_total"], 1);
  EXPECT_EQ(metrics["ghostlog_transform_dead_lettered_total"], 0);

  // Live lookups: a zone renamed in v2 renames it in every dependent row.
  b.source.Exec("UPDATE zones SET name = 'Pwani' WHERE id = 2");
  ASSERT_TRUE(Converges()) << "after a zone rename";

  // kill -9 in the middle of a stream of changes; the restart converges.
  for (int i = 0; i < 20; ++i) {
    b.source.Exec("UPDATE facilities SET name = name || '.' WHERE id % 20 = " + std::to_string(i));
  }
  b.daemon().Kill();
  b.source.Exec("UPDATE facilities SET code = code || 'k' WHERE id < 50");
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(Converges()) << "after kill -9 and restart";

  WrongMappingThenFixAndRewind({"--data-dir", b.dir().sub("data")});
}

// Batches of 64 KiB: a source transaction of 60,000 rows is written in
// hundreds of chunks, and the daemon is kill -9'd between two of them. The
// restart undoes them and maps the transaction again; the target gets all of
// it, through one target transaction.
class TransformPipelineSmallBatches : public TransformPipeline {
 protected:
  std::string TransformExtra() const override { return "max_batch_bytes = 65536\n"; }
};

TEST_F(TransformPipelineSmallBatches, ATransactionKilledBetweenItsChunksIsMappedAgainWhole) {
  Bench& b = *bench_;
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(Converges()) << "after the snapshot";
  const std::string chunked = "writing that transaction in chunks";
  const size_t before = b.daemon().CurrentLog().rfind(chunked);
  b.source.Exec(
      "INSERT INTO facilities SELECT g, 'F' || g, 'Facility ' || g, 1 + g % 5, true"
      "  FROM generate_series(1001, 61000) g");
  ASSERT_TRUE(WaitFor(
      [&] {
        const size_t at = b.daemon().CurrentLog().rfind(chunked);
        return at != std::string::npos && (before == std::string::npos || at > before);
      },
      120s, 10ms))
      << b.daemon().LogTail();
  b.daemon().Kill();
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(Converges("f.name", 180s)) << "after kill -9 between chunks";
  EXPECT_NE(b.daemon().CurrentLog().find("was partly written; undoing that part"), std::string::npos)
      << "the kill came after the last chunk" << b.daemon().LogTail();
}

// The same pipeline with the changelog on Kafka (librdkafka's mock cluster,
// three brokers in this process): the transform's lookups and state are read
// from its local key index (log/include/ghostlog/log/key_indexed_log.h).
// Restarts by SIGTERM: the mock does not hide an aborted transaction's
// records from readers, so SIGKILL needs a real broker (docs/kafka.md).
class TransformPipelineOnKafka : public TransformPipeline {
 protected:
  void Prepare(BenchOptions* o) override {
    ASSERT_TRUE(kafka_.ok()) << "cannot start librdkafka's mock cluster";
    // The mock has no CreateTopics: every topic the daemon writes is made here.
    for (const std::string t :
         {"v2.transaction", "v2.schema", "v2.message", "v2.public.zones", "v2.public.facilities",
          "__ghostlog.capture.ghostlog.spill", "__ghostlog.checkpoints", "v3.transaction", "v3.public.kafka_facilities",
          "__ghostlog.transform.ghostlog-transform.state", "__ghostlog.transform.ghostlog-transform.refs",
          "__ghostlog.transform.ghostlog-transform.readers", "__ghostlog.transform.ghostlog-transform.undo"}) {
      ASSERT_TRUE(kafka_.CreateTopic(t));
    }
    o->log = "backend = \"kafka\"\nbootstrap_servers = \"" + kafka_.bootstraps() + "\"\nfetch.wait.max.ms = 10\n";
  }
  ghostlog::testing::MockKafka kafka_;
};

TEST_F(TransformPipelineOnKafka, SnapshotStreamingRestartsLostIndexAndRewindEqualTheOracle) {
  Bench& b = *bench_;
  SnapshotThenStreaming();
  if (HasFatalFailure()) return;
  // A live lookup: read from the index, caught up with capture's zones topic.
  b.source.Exec("UPDATE zones SET name = 'Pwani' WHERE id = 2");
  ASSERT_TRUE(Converges()) << "after a zone rename";

  // Stopped, changes meanwhile, started again.
  ASSERT_EQ(b.daemon().Signal(SIGTERM, 20s), 0) << b.daemon().LogTail();
  b.source.Exec("UPDATE facilities SET code = code || 'k' WHERE id < 50");
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(Converges()) << "after a restart";

  // The index lost (a new disk): built again from the Kafka topics; the
  // stage goes on with the state it had (a zone rename reaches its readers).
  ASSERT_EQ(b.daemon().Signal(SIGTERM, 20s), 0) << b.daemon().LogTail();
  fs::remove_all(b.dir().sub("data/transform-index"));
  b.source.Exec("UPDATE zones SET name = 'Dodoma' WHERE id = 3; DELETE FROM facilities WHERE id = 4");
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(Converges()) << "after the index was lost";

  WrongMappingThenFixAndRewind({"--config", b.config_path()});
}

TEST_F(TransformPipeline, ABrokenMappingStopsNothingButIsNamed) {
  Bench& b = *bench_;
  std::ofstream(maps_ + "/20-bad.toml") << "source = \"public.facilities\"\ntarget = \"public.x\"\nkey = [\"id\"]\n"
                                           "[columns]\nid = \"id\"\nname = \"upper(name\"\n";
  auto r = RunGhostlog(b.dir().path(), {"run", "--config", b.config_path()});
  EXPECT_EQ(r.code, 1) << r.err;  // a config error: nothing starts
  EXPECT_NE(r.err.find("20-bad.toml:6: columns.name: "), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace ghostlog::e2e
