// The identity pipeline (capture -> changelog -> sink) with the changelog on
// Kafka (`[log] backend = "kafka"`): librdkafka's mock cluster, three brokers
// on loopback ports inside this test process, stands in for the cluster, and
// `ghostlog run` is a child process as in pipeline_test.cc. The target must
// equal the source through a workload and restarts, as on the embedded log.
#include "e2e/e2e_harness.h"
#include "kafka_mock.h"

namespace ghostlog::e2e {
namespace {

using ghostlog::testing::Kcat;
using ghostlog::testing::MockKafka;

// Every topic capture writes for CreateSchema's tables (prefix v2, slot ghostlog).
::testing::AssertionResult CreateCaptureTopics(MockKafka& k) {
  std::vector<std::string> topics{
      "v2.transaction",         "v2.schema",       "v2.message",        "__ghostlog.capture.ghostlog.spill",
      "__ghostlog.checkpoints", "v2.public.fence", "v2.public.gadgets", "v2.public.pages"};
  for (const auto& t : WorkloadTables()) topics.push_back("v2.public." + t);
  for (const auto& t : topics) {
    if (auto r = k.CreateTopic(t); !r) return r;
  }
  return ::testing::AssertionSuccess();
}

// The [log] section for the mock cluster, with `extra` lines.
std::string KafkaLogSection(const MockKafka& k, const std::string& extra = "") {
  return "backend = \"kafka\"\nbootstrap_servers = \"" + k.bootstraps() + "\"\n" + extra;
}

TEST(KafkaPipeline, IdentityUnderWorkloadAndRestartsEqualsTheSource) {
  MockKafka kafka;
  ASSERT_TRUE(kafka.ok()) << "cannot start librdkafka's mock cluster";
  ASSERT_TRUE(CreateCaptureTopics(kafka));
  BenchOptions o;
  o.log = KafkaLogSection(kafka);
  o.sink_extra = "auto_create = true\n";
  Bench b(o);
  CreateSchema(b);
  SeedSource(b.source, 300);
  // A table only the source has: the sink makes it from capture's schema
  // topic, read through (Kafka has no key index to look the table up by).
  b.source.Exec("CREATE TABLE gadgets (id int PRIMARY KEY, label varchar(20)); INSERT INTO gadgets VALUES (1, 'a')");
  // TOASTed values (incompressible, so stored out of line), which an update
  // of another column leaves out of the WAL.
  b.source.Exec(
      "CREATE TABLE pages (id int PRIMARY KEY, body text, n int); INSERT INTO pages "
      "SELECT i, string_agg(md5((g * i)::text), ''), 0 FROM generate_series(1, 2) i, "
      "generate_series(1, 400) g GROUP BY i");
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(b.WaitStreaming());

  // Paced so that no partition outgrows what the mock keeps (it drops a
  // partition's oldest records past about 5 MB, as retention would).
  Workload w(b.source.dsn(), 1);
  w.Pace(40ms);
  w.Start();
  ASSERT_TRUE(w.WaitCommitted(60)) << w.last_error();
  // Stopped and started again mid-stream, twice: capture resumes from the
  // checkpoint it wrote in the same Kafka transaction as its records, the
  // sink from the offset it keeps in the target. (SIGKILL, which leaves a
  // Kafka transaction open, needs a real broker: the mock cluster does not
  // hide aborted transactions from readers. See docs/kafka.md.)
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(w.WaitCommitted(w.committed() + 40)) << w.last_error();
    ASSERT_TRUE(b.daemon().running()) << "the daemon exited by itself" << b.daemon().LogTail();
    ASSERT_EQ(b.daemon().Signal(SIGTERM, 20s), 0) << b.daemon().LogTail();
    ASSERT_TRUE(b.StartHealthy());
  }
  ASSERT_TRUE(w.WaitCommitted(w.committed() + 40)) << w.last_error();
  w.Stop();
  EXPECT_EQ(w.failed(), 0) << w.last_error();
  b.source.Exec("INSERT INTO gadgets VALUES (2, 'b')");
  // Kafka has no key index to fill an unchanged TOAST value from: the
  // placeholder goes through and the sink keeps the target's value. One
  // changed earlier in the same transaction is filled from capture's buffer.
  b.source.Exec("UPDATE pages SET n = 1 WHERE id = 1");
  b.source.Exec(
      "BEGIN; UPDATE pages SET body = (SELECT string_agg(md5((g + 7)::text), '') FROM generate_series(1, 400) "
      "g) WHERE id = 2; UPDATE pages SET n = 2 WHERE id = 2; COMMIT");
  ASSERT_TRUE(b.CatchUp());
  ExpectAllTablesEqual(b);
  EXPECT_TRUE(TablesEqual(b.source, b.target, "gadgets"));
  EXPECT_TRUE(TablesEqual(b.source, b.target, "pages"));
  const std::string log = b.daemon().Log();
  EXPECT_NE(log.find("public.pages: an update left TOASTed values unchanged"), std::string::npos)
      << b.daemon().LogTail();

  // The records went through Kafka, not an embedded log (the data dir holds
  // only status.json), and Kafka's own tools read them: Debezium-shaped JSON.
  EXPECT_FALSE(fs::exists(b.dir().sub("data") + "/CURRENT")) << "an embedded changelog was opened";
  const std::string keys = Kcat(kafka, "-t v2.public.marker_a", "%k\\n");
  EXPECT_EQ(std::count(keys.begin(), keys.end(), '\n'), w.committed()) << keys.substr(0, 500);
  const std::string first = Kcat(kafka, "-t v2.public.accounts", "%s\\n");
  const json event = json::parse(first.substr(0, first.find('\n')), nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << first.substr(0, 500);
  EXPECT_EQ(event.value("op", ""), "r") << event.dump();
  EXPECT_TRUE(event["after"].contains("balance")) << event.dump();
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// Every broker goes away while the source keeps writing. The daemon must
// still stop on SIGTERM within systemd's TimeoutStopSec (before, its readers
// waited forever for a partition leader's watermarks, librdkafka #2588, and
// a write for its acknowledgements), and, started again once the brokers are
// back, lose nothing.
TEST(KafkaPipeline, TheClusterDownLosesNothingAndSigtermStillStops) {
  MockKafka kafka;
  ASSERT_TRUE(kafka.ok()) << "cannot start librdkafka's mock cluster";
  ASSERT_TRUE(CreateCaptureTopics(kafka));
  BenchOptions o;
  // fetch.wait.max.ms: the sink's reads move across table topics (docs/kafka.md).
  o.log = KafkaLogSection(kafka, "fetch.wait.max.ms = \"10\"\n");
  Bench b(o);
  CreateSchema(b);
  SeedSource(b.source, 100);
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(b.WaitStreaming());
  Workload w(b.source.dsn(), 1);
  w.Pace(40ms);
  w.Start();
  ASSERT_TRUE(w.WaitCommitted(40)) << w.last_error();
  // Down between writes: the mock cluster writes no transaction markers and
  // shows an aborted transaction's records to every reader, so a write cut in
  // two by the brokers going down one after another would leave records (a
  // checkpoint) that a real broker hides. Here every write after this point
  // fails whole.
  w.Pause();
  ASSERT_TRUE(b.CatchUp());
  kafka.SetDown(true);
  w.Resume();
  // The source keeps committing (its slot keeps the WAL) while capture and
  // the sink fail against the cluster and retry.
  ASSERT_TRUE(w.WaitCommitted(60)) << w.last_error();
  ASSERT_TRUE(b.daemon().running()) << "the daemon exited by itself" << b.daemon().LogTail();
  const auto t0 = std::chrono::steady_clock::now();
  // (systemd's TimeoutStopSec is 30 s; the stop takes the 3 s grace, then
  // interrupts the writes and reads still waiting.)
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << "no clean stop within 10 s of SIGTERM" << b.daemon().LogTail();
  const auto took = std::chrono::steady_clock::now() - t0;
  kafka.SetDown(false);
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(w.WaitCommitted(40)) << w.last_error();
  w.Stop();
  EXPECT_EQ(w.failed(), 0) << w.last_error();
  ASSERT_TRUE(b.CatchUp());
  ExpectAllTablesEqual(b);
  // Every committed marker row is on its topic, once.
  const std::string keys = Kcat(kafka, "-t v2.public.marker_a", "%k\\n");
  EXPECT_EQ(std::count(keys.begin(), keys.end(), '\n'), w.committed()) << keys.substr(0, 500);
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
  std::cout << "stopped " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms after SIGTERM with every broker down\n";
}

// A site moves its changelog to Kafka and back with `ghostlog log copy`,
// while the source keeps changing: offsets are kept, so capture resumes from
// its copied checkpoint (no new snapshot, no new slot), the sink from the
// position it keeps in the target (which the copy's ghostlog.copied_from
// checkpoint vouches for), and a consumer group from its committed offset.
TEST(KafkaPipeline, ASiteMovesToKafkaAndBackByLogCopyWithoutANewSnapshot) {
  MockKafka kafka;
  ASSERT_TRUE(kafka.ok()) << "cannot start librdkafka's mock cluster";
  ASSERT_TRUE(CreateCaptureTopics(kafka));
  Bench b;
  CreateSchema(b);
  SeedSource(b.source, 300);
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(b.WaitStreaming());
  Workload w(b.source.dsn(), 1);
  w.Pace(40ms);
  w.Start();
  const std::string data = b.dir().sub("data");
  // An operator's group reads a few more transaction records (the first time
  // from the beginning); returns its committed offset.
  auto audit = [&](const std::vector<std::string>& on, const std::string& records, bool first = false) -> std::string {
    std::vector<std::string> args = on;
    if (!records.empty()) {
      for (const char* a : {"consume", "v2.transaction", "--group", "audit", "--max-records"}) args.push_back(a);
      args.push_back(records);
      if (first) args.push_back("--from-beginning");
      EXPECT_EQ(RunGhostlog(b.dir().path(), args).code, 0);
      args = on;
    }
    for (const char* a : {"groups", "describe", "audit", "--json"}) args.push_back(a);
    auto r = RunGhostlog(b.dir().path(), args);
    auto j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? r.out + r.err : j["partitions"][0]["committed"].dump();
  };
  auto stop = [&] {
    ASSERT_TRUE(w.WaitCommitted(40)) << w.last_error();
    ASSERT_EQ(b.daemon().Signal(SIGTERM, 20s), 0) << b.daemon().LogTail();
  };
  auto copy = [&](const std::vector<std::string>& args) {
    auto copied = RunGhostlog(b.dir().path(), args);
    EXPECT_EQ(copied.code, 0) << copied.err;
    EXPECT_NE(copied.out.find("offsets kept"), std::string::npos) << copied.out;
    EXPECT_NE(copied.out.find("group audit: 1 committed offset(s)"), std::string::npos) << copied.out;
  };
  auto start_and_check = [&] {
    ASSERT_TRUE(b.StartHealthy());
    ASSERT_TRUE(w.WaitCommitted(40)) << w.last_error();
    ASSERT_TRUE(b.daemon().running()) << b.daemon().LogTail();
    // The sink applies on this changelog (so its next start sees this id).
    ASSERT_TRUE(b.CatchUp());
    const std::string log = b.daemon().CurrentLog();
    EXPECT_EQ(log.find("capture: snapshot of"), std::string::npos) << log;
    EXPECT_EQ(log.find("created slot"), std::string::npos) << log;
    EXPECT_NE(log.find("is a copy of"), std::string::npos) << log;
  };
  const std::vector<std::string> on_data_dir{"--data-dir", data};
  const std::vector<std::string> on_kafka{"--config", b.config_path()};

  // To Kafka: the config now names the cluster; the data dir is copied from.
  ASSERT_TRUE(b.CatchUp());  // (its fence table's topic then exists here too)
  stop();
  EXPECT_EQ(audit(on_data_dir, "3", true), "3");
  b.SetLog(KafkaLogSection(kafka));
  copy({"--data-dir", data, "log", "copy", "--to-config", b.config_path()});
  start_and_check();
  EXPECT_EQ(audit(on_kafka, "2"), "5");

  // And back into the data dir it came from, which takes what was written on
  // Kafka since. (Into an empty data dir the copy needs the topics' configs,
  // DescribeConfigs, and without --group ListGroups, neither of which the
  // mock cluster answers.)
  stop();
  copy({"--config", b.config_path(), "log", "copy", "--to-data-dir", data, "--group", "audit"});
  b.SetLog("fsync = \"always\"\n");
  start_and_check();
  EXPECT_EQ(audit(on_data_dir, ""), "5");
  w.Stop();
  EXPECT_EQ(w.failed(), 0) << w.last_error();
  ASSERT_TRUE(b.CatchUp());
  ExpectAllTablesEqual(b);
}

}  // namespace
}  // namespace ghostlog::e2e
