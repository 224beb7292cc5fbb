// `ghostlog doctor`'s checks against real PostgreSQL 15 clusters: a healthy
// setup, the least-privilege role, and one test per thing that can be wrong.
#include "ghostlog/capture/doctor.h"

#include <gtest/gtest.h>

#include "../pg/pg_cluster.h"

namespace ghostlog::capture {
namespace {

using ghostlog::testing::PgCluster;
using R = DoctorCheck::Result;

// Asserts check `name` has `result` and its message contains every fragment.
void ExpectCheck(const DoctorReport& report, const std::string& name, R result,
                 const std::vector<std::string>& fragments = {}) {
  const DoctorCheck* c = report.Find(name);
  ASSERT_NE(c, nullptr) << "no check '" << name << "' in\n" << FormatReport(report);
  EXPECT_EQ(DoctorResultName(c->result), std::string(DoctorResultName(result)))
      << "check '" << name << "' in\n" << FormatReport(report);
  for (const auto& f : fragments) {
    EXPECT_NE(c->message.find(f), std::string::npos)
        << "check '" << name << "' message lacks \"" << f << "\": " << c->message;
  }
}

void ExpectAllOk(const DoctorReport& report) {
  EXPECT_TRUE(report.ok()) << FormatReport(report);
  EXPECT_EQ(report.checks.size(), std::size(kDoctorChecks)) << FormatReport(report);
  for (const auto& c : report.checks) {
    EXPECT_EQ(c.result, R::kOk) << c.name << ": " << c.message;
  }
}

class DoctorTest : public ::testing::Test {
 protected:
  // Config connecting as `role` (trust auth on the cluster's socket).
  CaptureConfig Config(const std::string& role = "postgres") const {
    CaptureConfig c;
    c.dsn = pg_.dsn();
    const std::string from = "user=postgres";
    c.dsn.replace(c.dsn.find(from), from.size(), "user=" + role);
    return c;
  }
  void CreateTables() {
    pg_.Exec("CREATE TABLE a (id int PRIMARY KEY, v text)");
    pg_.Exec("CREATE TABLE b (id int PRIMARY KEY, v text)");
  }
  // The documented least-privilege role (docs/doctor.md).
  void CreateLeastPrivilegeRole(const std::string& role, bool replication = true) {
    pg_.Exec("CREATE ROLE " + role + " LOGIN" + (replication ? " REPLICATION" : ""));
    pg_.Exec("GRANT SELECT ON a, b TO " + role);
  }

  PgCluster pg_;
};

TEST_F(DoctorTest, HealthySetupPassesEveryCheck) {
  CreateTables();
  // A partitioned table: selected by its root; the publication lists its leaves.
  pg_.Exec("CREATE TABLE parts (id int PRIMARY KEY) PARTITION BY RANGE (id)");
  pg_.Exec("CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (100)");
  DoctorReport r = Doctor(Config());
  ExpectAllOk(r);
  ExpectCheck(r, "connection", R::kOk, {"as role 'postgres'", "database 'postgres'"});
  ExpectCheck(r, "server version", R::kOk, {"PostgreSQL 15"});
  ExpectCheck(r, "wal_level", R::kOk, {"logical"});
  ExpectCheck(r, "replication role", R::kOk, {"superuser"});
  ExpectCheck(r, "tables", R::kOk, {"3 table(s)", "public.a, public.b, public.parts"});
  ExpectCheck(r, "publication", R::kOk, {"does not exist", "will create it"});
  ExpectCheck(r, "slot", R::kOk, {"will create it"});
  EXPECT_EQ(FormatReport(r).find("FAILED"), std::string::npos);
  EXPECT_EQ(FormatReport(r).substr(0, 20), "ok      connection: ");

  // After a first start: publication and pgoutput slot exist.
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b, parts");
  pg_.Exec("SELECT pg_create_logical_replication_slot('ghostlog', 'pgoutput')");
  // Made without publish_via_partition_root, as capture does not: the
  // partitioned table would be captured as its partitions.
  r = Doctor(Config());
  ExpectCheck(r, "publication", R::kWarning,
              {"publishes public.parts as their partitions", "a topic of its own",
               "ALTER PUBLICATION ghostlog SET (publish_via_partition_root = true)"});
  pg_.Exec("ALTER PUBLICATION ghostlog SET (publish_via_partition_root = true)");
  r = Doctor(Config());
  ExpectAllOk(r);
  ExpectCheck(r, "publication", R::kOk, {"exists with 3 table(s)", "public.a, public.b, public.parts"});
  ExpectCheck(r, "slot", R::kOk, {"(pgoutput) exists", "behind"});
  ExpectCheck(r, "replication slots", R::kOk, {"including slot 'ghostlog'"});

  const nlohmann::json j = ReportJson(r);
  EXPECT_EQ(j["ok"], true);
  ASSERT_EQ(j["checks"].size(), std::size(kDoctorChecks));
  EXPECT_EQ(j["checks"][0]["name"], "connection");
  EXPECT_EQ(j["checks"][0]["result"], "ok");
}

TEST_F(DoctorTest, LeastPrivilegeRolePasses) {
  CreateTables();
  CreateLeastPrivilegeRole("ghostlog");
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b");  // by the superuser, beforehand
  CaptureConfig c = Config("ghostlog");
  c.create_publication = false;
  DoctorReport r = Doctor(c);
  ExpectAllOk(r);
  ExpectCheck(r, "connection", R::kOk, {"as role 'ghostlog'"});
  ExpectCheck(r, "replication role", R::kOk, {"has REPLICATION"});
  ExpectCheck(r, "table privileges", R::kOk, {"can SELECT all 2"});

  // The same role can also use (and, as capture will, create) its own slot.
  pg_.Exec("SET ROLE ghostlog; SELECT pg_create_logical_replication_slot('ghostlog', 'pgoutput')");
  r = Doctor(c);
  ExpectAllOk(r);
  ExpectCheck(r, "slot", R::kOk, {"exists"});
}

TEST_F(DoctorTest, RoleWithoutReplicationFails) {
  CreateTables();
  CreateLeastPrivilegeRole("norepl", /*replication=*/false);
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b");
  DoctorReport r = Doctor(Config("norepl"));
  EXPECT_FALSE(r.ok());
  ExpectCheck(r, "replication connection", R::kFailed,
              {"refused a replication connection (FATAL: must be superuser or replication role",
               "ALTER ROLE norepl REPLICATION"});
  ExpectCheck(r, "replication role", R::kFailed, {"neither REPLICATION nor superuser", "ALTER ROLE norepl REPLICATION"});
  // The rest is still checked.
  ExpectCheck(r, "connection", R::kOk);
  ExpectCheck(r, "table privileges", R::kOk);
  ExpectCheck(r, "publication", R::kOk);
}

TEST_F(DoctorTest, MissingSelectNamesTheTableAndTheGrant) {
  CreateTables();
  pg_.Exec("CREATE TABLE \"Mixed Case\" (id int PRIMARY KEY)");
  pg_.Exec("CREATE ROLE ghostlog LOGIN REPLICATION");
  pg_.Exec("GRANT SELECT ON a TO ghostlog");
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b, \"Mixed Case\"");
  DoctorReport r = Doctor(Config("ghostlog"));
  EXPECT_FALSE(r.ok());
  ExpectCheck(r, "table privileges", R::kFailed,
              {"lacks SELECT", "public.\"Mixed Case\", public.b;",
               "GRANT SELECT ON public.\"Mixed Case\", public.b TO ghostlog"});
  EXPECT_EQ(r.Find("table privileges")->message.find("public.a"), std::string::npos);
  // Only that check fails.
  for (const auto& c : r.checks) {
    if (c.name != "table privileges") {
      EXPECT_NE(c.result, R::kFailed) << c.name << ": " << c.message;
    }
  }

  // SELECT without USAGE on the table's schema is not enough.
  pg_.Exec("GRANT SELECT ON b, \"Mixed Case\" TO ghostlog");
  pg_.Exec("CREATE SCHEMA sales; CREATE TABLE sales.t (id int PRIMARY KEY); GRANT SELECT ON sales.t TO ghostlog");
  pg_.Exec("ALTER PUBLICATION ghostlog ADD TABLE sales.t");
  CaptureConfig c = Config("ghostlog");
  c.tables = {"public.*", "sales.*"};
  r = Doctor(c);
  ExpectCheck(r, "table privileges", R::kFailed, {"lacks USAGE on schema sales", "GRANT USAGE ON SCHEMA sales TO ghostlog"});
  EXPECT_THROW(pg_.Exec("SET ROLE ghostlog; SELECT * FROM sales.t"), std::runtime_error);
  pg_.Exec("GRANT USAGE ON SCHEMA sales TO ghostlog");
  ExpectCheck(Doctor(c), "table privileges", R::kOk, {"all 4 table(s)"});
}

// A policy hides rows from the snapshot's SELECT (the stream has them all):
// warned, naming the tables and the fix, for a role it applies to only.
TEST_F(DoctorTest, RowLevelSecurityThatAppliesToTheRoleIsWarnedWithTheFix) {
  CreateTables();
  CreateLeastPrivilegeRole("ghostlog");
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b");
  pg_.Exec("INSERT INTO b VALUES (1, 'x')");
  pg_.Exec("ALTER TABLE b ENABLE ROW LEVEL SECURITY; CREATE POLICY mine ON b USING (false)");
  CaptureConfig c = Config("ghostlog");
  c.create_publication = false;
  DoctorReport r = Doctor(c);
  EXPECT_TRUE(r.ok()) << FormatReport(r);
  ExpectCheck(r, "row-level security", R::kWarning,
              {"applies to role 'ghostlog' on public.b:", "ALTER ROLE ghostlog BYPASSRLS"});
  EXPECT_EQ(r.Find("row-level security")->message.find("public.a"), std::string::npos);
  // The snapshot would indeed miss b's rows.
  EXPECT_EQ(pg_.Value("SET ROLE ghostlog; SELECT count(*) FROM b"), "0");
  pg_.Exec("ALTER ROLE ghostlog BYPASSRLS");
  ExpectAllOk(Doctor(c));
  // The superuser and the owner (without FORCE) are not subject to it.
  ExpectCheck(Doctor(Config()), "row-level security", R::kOk);
}

TEST_F(DoctorTest, WalLevelReplicaFailsWithTheFix) {
  CreateTables();
  pg_.Exec("ALTER SYSTEM SET wal_level = replica");
  pg_.Restart();
  DoctorReport r = Doctor(Config());
  EXPECT_FALSE(r.ok());
  ExpectCheck(r, "wal_level", R::kFailed, {"wal_level is 'replica'", "set wal_level = logical", "restart PostgreSQL"});
}

TEST_F(DoctorTest, TableWithoutPrimaryKeyIsWarnedWithTheFix) {
  CreateTables();
  pg_.Exec("CREATE TABLE nopk (x int)");
  pg_.Exec("INSERT INTO nopk VALUES (1)");
  DoctorReport r = Doctor(Config());
  EXPECT_TRUE(r.ok()) << FormatReport(r);  // a warning, not a failure
  ExpectCheck(r, "replica identity", R::kWarning,
              {"1 table(s)", "public.nopk", "rejects UPDATE and DELETE", "ALTER TABLE public.nopk ADD PRIMARY KEY",
               "ALTER TABLE public.nopk REPLICA IDENTITY FULL"});
  EXPECT_NE(FormatReport(r).find("warning replica identity: "), std::string::npos);

  // What the warning is about: once published, PostgreSQL refuses the update.
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, b, nopk");
  EXPECT_THROW(pg_.Exec("UPDATE nopk SET x = 2"), std::runtime_error);

  pg_.Exec("ALTER TABLE nopk REPLICA IDENTITY FULL");
  pg_.Exec("UPDATE nopk SET x = 2");
  ExpectCheck(Doctor(Config()), "replica identity", R::kOk, {"all 3 table(s)"});

  // A replica identity index that was dropped leaves none.
  pg_.Exec("CREATE TABLE idx (x int NOT NULL)");
  pg_.Exec("CREATE UNIQUE INDEX idx_x ON idx (x)");
  pg_.Exec("ALTER TABLE idx REPLICA IDENTITY USING INDEX idx_x");
  ExpectCheck(Doctor(Config()), "replica identity", R::kOk);
  pg_.Exec("DROP INDEX idx_x");
  ExpectCheck(Doctor(Config()), "replica identity", R::kWarning, {"public.idx"});
}

TEST_F(DoctorTest, MissingPublicationWithoutCreateFailsWithTheStatement) {
  CreateTables();
  pg_.Exec("CREATE TABLE \"Mixed\" (id int PRIMARY KEY)");
  pg_.Exec("CREATE TABLE skipped (id int PRIMARY KEY)");
  CaptureConfig c = Config();
  c.create_publication = false;
  c.exclude_tables = {"public.skip*"};
  DoctorReport r = Doctor(c);
  EXPECT_FALSE(r.ok());
  ExpectCheck(r, "publication", R::kFailed,
              {"publication 'ghostlog' does not exist", "create_publication is off",
               "CREATE PUBLICATION ghostlog FOR TABLE public.\"Mixed\", public.a, public.b"});
  EXPECT_EQ(r.Find("publication")->message.find("skipped"), std::string::npos);
  ExpectCheck(r, "tables", R::kOk, {"3 table(s)", "exclude_tables = ['public.skip*']"});
}

TEST_F(DoctorTest, NonOwnerCannotCreateThePublication) {
  CreateTables();
  CreateLeastPrivilegeRole("ghostlog");
  DoctorReport r = Doctor(Config("ghostlog"));  // create_publication = true
  EXPECT_FALSE(r.ok());
  ExpectCheck(r, "publication", R::kFailed,
              {"cannot create it", "lacks CREATE on database 'postgres'", "does not own public.a, public.b",
               "CREATE PUBLICATION ghostlog FOR TABLE public.a, public.b"});
}

TEST_F(DoctorTest, PublicationMismatchIsWarned) {
  CreateTables();
  pg_.Exec("CREATE TABLE other (id int PRIMARY KEY)");
  pg_.Exec("CREATE PUBLICATION ghostlog FOR TABLE a, other WITH (publish = 'insert, update, delete')");
  CaptureConfig c = Config();
  c.exclude_tables = {"public.other"};
  DoctorReport r = Doctor(c);
  EXPECT_TRUE(r.ok()) << FormatReport(r);
  ExpectCheck(r, "publication", R::kWarning,
              {"exists with 2 table(s)", "ALTER PUBLICATION ghostlog ADD TABLE public.b",
               "not selected but will be captured anyway", "public.other", "does not publish truncate"});
}

TEST_F(DoctorTest, SlotWithAnotherPluginFails) {
  CreateTables();
  pg_.Exec("SELECT pg_create_logical_replication_slot('ghostlog', 'test_decoding')");
  DoctorReport r = Doctor(Config());
  EXPECT_FALSE(r.ok());
  ExpectCheck(r, "slot", R::kFailed,
              {"slot 'ghostlog' uses plugin test_decoding, not pgoutput", "pg_drop_replication_slot('ghostlog')"});
}

TEST_F(DoctorTest, NoTableMatchingFails) {
  CreateTables();
  CaptureConfig c = Config();
  c.tables = {"sales.*", "public.nosuch"};
  DoctorReport r = Doctor(c);
  EXPECT_FALSE(r.ok());
  ExpectCheck(r, "tables", R::kFailed, {"no table in database 'postgres' matches", "['sales.*', 'public.nosuch']"});
  ExpectCheck(r, "table privileges", R::kSkipped);
  ExpectCheck(r, "publication", R::kSkipped);
}

TEST(DoctorUnreachable, FailsReachabilityAndNeverShowsThePassword) {
  for (const std::string dsn :
       {"host=/nonexistent/ghostlog-doctor port=5432 user=postgres password=secret dbname=postgres",
        "postgresql://postgres:secret@/postgres?host=/nonexistent/ghostlog-doctor"}) {
    SCOPED_TRACE(dsn);
    CaptureConfig c;
    c.dsn = dsn;
    DoctorReport r = Doctor(c);
    EXPECT_FALSE(r.ok());
    ExpectCheck(r, "connection", R::kFailed, {"cannot connect to PostgreSQL", "/nonexistent/ghostlog-doctor", "***",
                                              "No such file or directory", "check the dsn"});
    for (const auto& check : r.checks) {
      if (check.name != "connection") {
        EXPECT_EQ(check.result, R::kSkipped) << check.name;
      }
    }
    EXPECT_EQ(r.checks.size(), std::size(kDoctorChecks));
    EXPECT_EQ(FormatReport(r).find("secret"), std::string::npos) << FormatReport(r);
    EXPECT_EQ(ReportJson(r).dump().find("secret"), std::string::npos);
    EXPECT_NE(FormatReport(r).find("FAILED  connection: "), std::string::npos);
    EXPECT_NE(FormatReport(r).find("skipped wal_level: "), std::string::npos);
    EXPECT_EQ(ReportJson(r)["ok"], false);
  }
}

}  // namespace
}  // namespace ghostlog::capture
