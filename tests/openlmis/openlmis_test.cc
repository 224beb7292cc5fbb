// eLMIS (OpenLMIS v2) to the OpenLMIS v3 reporting views, end to end: the
// generated v2 source (scripts/demo-data), `ghostlog run` with the shipped
// mapping pack (mappings/openlmis-v2-v3) and a v3 reporting target
// (tests/fixtures/openlmis/v3_reporting.sql). The three reporting
// materialized views, refreshed, must equal row for row their oracles: the same
// reports written directly over the v2 tables (tests/fixtures/openlmis/oracle.sql,
// compared on the v3 side by compare.sql over dblink). Checked after the
// snapshot and a live workload, after a kill -9 in the middle of the workload
// and a restart, and after a rewind of the transform to the beginning of the
// changelog and a replay.
#include <future>

#include "e2e/e2e_harness.h"
#include "kafka_mock.h"

namespace ghostlog::e2e {
namespace {

constexpr int kFacilities = 8;
// On the mock Kafka cluster, which drops a partition's oldest records past
// about 5 MB (as retention would, also on compacted topics): 8 facilities'
// line items and the workloads' changes to them pass that, so the test
// there runs with fewer facilities and shorter workloads.
constexpr int kKafkaFacilities = 2;
constexpr int kKafkaWorkloadDivisor = 4;
constexpr const char* kViews[] = {"reporting_rate_and_timeliness", "adjustments", "stock_status_and_consumption"};

std::string Src(const std::string& rel) { return std::string(GHOSTLOG_SOURCE_DIR) + "/" + rel; }

// psql -f FILE against a cluster (the generator needs psql's variables).
void Psql(const PgCluster& pg, const std::string& file, const std::string& vars = "") {
  ghostlog::testing::RunCommand("psql -X -q -v ON_ERROR_STOP=1 " + vars + " -f '" + file + "' '" + pg.dsn() + "' 2>&1");
}

class OpenLmis : public ::testing::Test {
 protected:
  void SetUp() override {
    BenchOptions o;
    o.sink_extra = "key_columns = { \"public.reporting_dates\" = [\"country\"] }\n[transform]\nmappings = \"" +
                   Src("mappings/openlmis-v2-v3") + "\"\n";
    Prepare(&o);
    bench_ = std::make_unique<Bench>(o);
    Bench& b = *bench_;
    Psql(b.source, Src("scripts/demo-data/elmis_v2_schema.sql"));
    Psql(b.source, Src("scripts/demo-data/elmis_v2_data.sql"),
         "-v facilities=" + std::to_string(facilities_) + " -v seed=7");
    Psql(b.source, Src("tests/fixtures/openlmis/oracle.sql"));
    Psql(b.target, Src("tests/fixtures/openlmis/v3_reporting.sql"));
    Psql(b.target, Src("tests/fixtures/openlmis/compare.sql"));
  }

  virtual void Prepare(BenchOptions*) {}
  // Restarts the daemon mid-workload.
  virtual void Interrupt() { bench_->daemon().Kill(); }
  virtual std::vector<std::string> ChangelogArgs() { return {"--data-dir", bench_->dir().sub("data")}; }

  // The live workload (scripts/demo-data/live_workload.pgbench) for `seconds`,
  // in the background; the future holds pgbench's report (it throws if pgbench
  // failed or a client aborted).
  std::future<std::string> Workload(int seconds) {
    seconds = std::max(1, seconds / workload_divisor_);
    const std::string cmd = "/usr/lib/postgresql/15/bin/pgbench -n -c 2 -T " + std::to_string(seconds) +
                            " --max-tries=5 -D facilities=" + std::to_string(facilities_) + " -f '" +
                            Src("scripts/demo-data/live_workload.pgbench") + "' '" + bench_->source.dsn() + "' 2>&1";
    return std::async(std::launch::async, [cmd] { return ghostlog::testing::RunCommand(cmd); });
  }
  static int64_t Processed(const std::string& report) {
    const std::string tag = "number of transactions actually processed: ";
    const auto at = report.find(tag);
    return at == std::string::npos ? -1 : std::stoll(report.substr(at + tag.size()));
  }

  // Caught up: in two successive status records of the running daemon,
  // capture has confirmed the source's WAL position taken now, and transform
  // and sink have nothing left (lag 0).
  ::testing::AssertionResult CaughtUp(std::chrono::seconds timeout = 90s) {
    Bench& b = *bench_;
    const uint64_t want = ParseLsn(b.source.Value("SELECT pg_current_wal_lsn()"));
    int64_t seen_ts = -1;
    int good = 0;
    std::optional<json> st;
    const bool ok = WaitFor(
        [&] {
          st = b.CurrentStatus();
          if (!st) return false;
          const json& s = (*st)["stages"];
          if (!s.contains("transform")) return false;
          const int64_t ts = st->value("ts_ms", int64_t{0});
          if (ts == seen_ts) return false;
          seen_ts = ts;
          const bool done = s["capture"].value("confirmed_lsn", uint64_t{0}) >= want &&
                            s["transform"].value("lag_transactions", int64_t{-1}) == 0 &&
                            s["sink"].value("lag_transactions", int64_t{-1}) == 0 &&
                            s["sink"].value("committed_offset", int64_t{0}) > 0;
          good = done ? good + 1 : 0;
          return good >= 2;
        },
        timeout, 200ms);
    if (ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "not caught up within " << timeout.count()
                                         << " s; status: " << (st ? st->dump() : "none") << b.daemon().LogTail();
  }

  // Refreshes the three views and compares each with its oracle.
  void ExpectViewsEqualOracles(const std::string& when) {
    Bench& b = *bench_;
    for (const char* v : kViews) b.target.Exec(std::string("REFRESH MATERIALIZED VIEW ") + v);
    for (const char* v : kViews) {
      const std::string view = v;
      const auto r = b.target.Query("SELECT * FROM oracle.compare('" + view + "', '" + b.source.dsn() + "')");
      ASSERT_EQ(r.size(), 1u);
      std::istringstream in(r[0]);
      int64_t rows = 0, oracle_rows = 0, only_view = 0, only_oracle = 0;
      in >> rows >> oracle_rows >> only_view >> only_oracle;
      EXPECT_GT(oracle_rows, 0) << view << " " << when;
      if (only_view == 0 && only_oracle == 0 && rows == oracle_rows) {
        std::cout << "[ openlmis ] " << when << ": " << view << " = oracle, " << rows << " rows\n";
        continue;
      }
      std::string sample;
      for (const auto& row : b.target.Query("SELECT t::text FROM (SELECT * FROM public." + view +
                                            " EXCEPT ALL SELECT * FROM oracle." + view + ") t ORDER BY 1 LIMIT 3")) {
        sample += "\n  view:   " + row;
      }
      for (const auto& row : b.target.Query("SELECT t::text FROM (SELECT * FROM oracle." + view +
                                            " EXCEPT ALL SELECT * FROM public." + view + ") t ORDER BY 1 LIMIT 3")) {
        sample += "\n  oracle: " + row;
      }
      ADD_FAILURE() << when << ": " << view << " has " << rows << " rows, its oracle " << oracle_rows << "; "
                    << only_view << " only in the view, " << only_oracle << " only in the oracle:" << sample;
    }
  }

  void SnapshotStreamingRestartAndReplay();

  int facilities_ = kFacilities;
  int workload_divisor_ = 1;
  std::unique_ptr<Bench> bench_;
};

void OpenLmis::SnapshotStreamingRestartAndReplay() {
  Bench& b = *bench_;
  const auto started = Clock::now();
  ASSERT_GT(std::stoi(b.source.Value("SELECT count(*) FROM requisition_status_changes")), 100);

  // Snapshot, then streaming under the live workload.
  ASSERT_TRUE(b.StartHealthy());
  auto load = Workload(8);
  const std::string report = load.get();
  EXPECT_GT(Processed(report), 50) << report;
  ASSERT_TRUE(CaughtUp());
  ExpectViewsEqualOracles("after snapshot and streaming");
  // extradata (jsonb) holds the objects the pack builds with json_object(),
  // not strings holding their text.
  EXPECT_EQ(b.target.Value("SELECT count(*) FROM kafka_facilities WHERE jsonb_typeof(extradata) = 'object' "
                           "AND jsonb_typeof(extradata->'virtualFacility') = 'boolean'"),
            b.source.Value("SELECT count(*) FROM facilities"));
  const std::string code =
      b.source.Value("SELECT code FROM facilities WHERE latitude IS NOT NULL ORDER BY code LIMIT 1");
  EXPECT_EQ(b.target.Value("SELECT extradata->>'latitude' FROM kafka_facilities WHERE code = '" + code + "'"),
            b.source.Value("SELECT latitude FROM facilities WHERE code = '" + code + "'"));
  // Columns v2 has no value for but v3 gives one (mappings' README, 31 and 60).
  EXPECT_EQ(b.target.Value("SELECT count(*) FILTER (WHERE reportonly IS NOT false) || '/' || count(*) "
                           "FROM kafka_requisitions"),
            "0/" + b.source.Value("SELECT count(*) FROM requisitions"));
  EXPECT_EQ(b.target.Value("SELECT string_agg(DISTINCT coalesce(numberofperiodstoaverage::text, 'NULL'), ',') "
                           "FROM kafka_requisition_templates"),
            "3");
  // The workload moved requisitions along: it wrote status changes of its own.
  EXPECT_GT(std::stoi(b.source.Value("SELECT count(*) FROM requisition_status_changes WHERE createddate > now() - interval '1 hour'")), 10);

  // On purpose, the two things the workload only does by chance:
  // - a looked-up row changes: the adjustments view shows the reason name the
  //   pack looks up (64-...-stock_adjustment_reasons.toml), so renaming a loss
  //   type must re-map every reason row that read it (live lookups);
  // - a shared target row loses one of its owners: two line items of one
  //   requisition with the same adjustment type make one reason row; deleting
  //   one adjustment must keep the row for the other;
  // - a row found by non-key columns changes: the requisitions whose supply
  //   line (by node and program, lookup_by) now names another facility.
  b.source.Exec("UPDATE losses_adjustments_types SET description = 'Expired (past use-by date)' WHERE name = 'EXPIRED'");
  const std::string ils_supplied =
      "SELECT count(*) FROM kafka_requisitions r JOIN kafka_programs p ON p.id = "
      "r.programid JOIN kafka_facilities f ON f.id = r.supplyingfacilityid "
      "WHERE p.code = 'ILS' AND f.code ";
  const std::string new_supplier = b.source.Value(
      "UPDATE supply_lines s SET supplyingfacilityid = f.id FROM facilities f WHERE s.programid = 1 "
      "AND f.id = (SELECT min(id) FROM facilities WHERE id <> s.supplyingfacilityid) RETURNING f.code");
  EXPECT_NE(b.target.Value(ils_supplied + "<> '" + new_supplier + "'"), "0") << "no ILS requisition is supplied";
  const auto shared = b.source.Query(R"sql(
    WITH pair AS (
      SELECT a.requisitionlineitemid, a.type
      FROM requisition_line_item_losses_adjustments a
           JOIN requisition_line_items l ON l.id = a.requisitionlineitemid
           JOIN requisitions r ON r.id = l.rnrid
      WHERE r.status IN ('AUTHORIZED', 'IN_APPROVAL', 'APPROVED', 'RELEASED', 'RELEASED_NO_ORDER')
        AND EXISTS (SELECT 1 FROM requisition_line_item_losses_adjustments b
                         JOIN requisition_line_items l2 ON l2.id = b.requisitionlineitemid
                    WHERE l2.rnrid = l.rnrid AND b.type = a.type AND b.requisitionlineitemid <> a.requisitionlineitemid)
      ORDER BY a.requisitionlineitemid, a.type LIMIT 1)
    DELETE FROM requisition_line_item_losses_adjustments d USING pair
    WHERE d.requisitionlineitemid = pair.requisitionlineitemid AND d.type = pair.type
    RETURNING d.requisitionlineitemid, d.type)sql");
  ASSERT_EQ(shared.size(), 1u) << "the generated data has no requisition with two lines sharing an adjustment type";
  ASSERT_TRUE(CaughtUp());
  std::string pair = shared[0];
  std::replace(pair.begin(), pair.end(), '\t', ' ');
  ExpectViewsEqualOracles("after a loss type renamed and one owner of a shared reason row deleted (line item, type: " +
                          pair + ")");
  EXPECT_NE(b.target.Value("SELECT count(*) FROM adjustments WHERE stock_adjustment_reason = 'Expired (past use-by date)'"),
            "0");
  EXPECT_EQ(b.target.Value(ils_supplied + "<> '" + new_supplier + "'"), "0")
      << "the supply line's change did not follow";
  EXPECT_NE(b.target.Value(ils_supplied + "= '" + new_supplier + "'"), "0");

  // kill -9 in the middle of the workload; the restart resumes exactly once.
  auto load2 = Workload(8);
  std::this_thread::sleep_for(3s);
  Interrupt();
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(b.StartHealthy());
  EXPECT_GT(Processed(load2.get()), 50);
  ASSERT_TRUE(CaughtUp());
  ExpectViewsEqualOracles("after kill -9 and restart");

  // Rewind the transform to the beginning of the changelog (daemon stopped)
  // and replay it, with the workload running again.
  ASSERT_EQ(b.daemon().Signal(SIGTERM, 20s), 0) << b.daemon().LogTail();
  std::vector<std::string> args = ChangelogArgs();
  for (const char* a : {"offsets", "reset", "--group", "ghostlog-transform", "--topic", "v2.transaction",
                        "--to-earliest", "--execute"}) {
    args.push_back(a);
  }
  auto reset = RunGhostlog(b.dir().path(), args);
  ASSERT_EQ(reset.code, 0) << reset.out << reset.err;
  ASSERT_TRUE(b.StartHealthy());
  auto load3 = Workload(4);
  EXPECT_GT(Processed(load3.get()), 20);
  ASSERT_TRUE(CaughtUp());
  ExpectViewsEqualOracles("after offsets reset --to-earliest and replay");

  std::cout << "[ openlmis ] " << Seconds(started) << " s from the first start\n";
}

TEST_F(OpenLmis, ReportingViewsEqualTheirOraclesThroughSnapshotStreamingKillAndReplay) {
  SnapshotStreamingRestartAndReplay();
}

// The same on Kafka (librdkafka's mock cluster in this process): capture,
// the transform (its lookups from its local key index) and the sink. The
// restart is a SIGTERM: the mock does not hide an aborted transaction's
// records from readers, so SIGKILL needs a real broker (docs/kafka.md).
class OpenLmisOnKafka : public OpenLmis {
 protected:
  void Prepare(BenchOptions* o) override {
    ASSERT_TRUE(kafka_.ok()) << "cannot start librdkafka's mock cluster";
    // Reads switch topics at every range: shorter fetch waits (docs/kafka.md).
    o->log = "backend = \"kafka\"\nbootstrap_servers = \"" + kafka_.bootstraps() + "\"\nfetch.wait.max.ms = 10\n";
    facilities_ = kKafkaFacilities;
    workload_divisor_ = kKafkaWorkloadDivisor;
  }
  void Interrupt() override { ASSERT_EQ(bench_->daemon().Signal(SIGTERM, 20s), 0) << bench_->daemon().LogTail(); }
  std::vector<std::string> ChangelogArgs() override { return {"--config", bench_->config_path()}; }

  // The mock has no CreateTopics: every topic the daemon writes is made here,
  // as a site that keeps topic creation to its Kafka operators would.
  ::testing::AssertionResult CreateTopics() {
    std::vector<std::string> topics{"v2.transaction",
                                    "v2.schema",
                                    "v2.message",
                                    "__ghostlog.capture.ghostlog.spill",
                                    "__ghostlog.checkpoints",
                                    "v3.transaction",
                                    "__ghostlog.transform.ghostlog-transform.state",
                                    "__ghostlog.transform.ghostlog-transform.refs",
                                    "__ghostlog.transform.ghostlog-transform.readers",
                                    "__ghostlog.transform.ghostlog-transform.undo"};
    for (const auto& t : bench_->source.Query(
             "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
             "'information_schema')")) {
      topics.push_back("v2." + t);
    }
    for (const auto& f : fs::directory_iterator(Src("mappings/openlmis-v2-v3"))) {
      if (f.path().extension() != ".toml") continue;
      std::ifstream in(f.path());
      for (std::string line; std::getline(in, line);) {
        if (line.starts_with("target = \"")) topics.push_back("v3." + line.substr(10, line.rfind('"') - 10));
      }
    }
    std::sort(topics.begin(), topics.end());
    topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
    for (const auto& t : topics) {
      if (auto r = kafka_.CreateTopic(t); !r) return r;
    }
    return ::testing::AssertionSuccess();
  }

  ghostlog::testing::MockKafka kafka_;
};

TEST_F(OpenLmisOnKafka, ReportingViewsEqualTheirOraclesThroughSnapshotStreamingRestartAndReplay) {
  ASSERT_TRUE(CreateTopics());
  SnapshotStreamingRestartAndReplay();
}

}  // namespace
}  // namespace ghostlog::e2e
