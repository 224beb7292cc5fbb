// The operator CLI on a Kafka changelog: `--config FILE` naming
// `[log] backend = "kafka"` points topics, produce, consume, groups and
// offsets at the cluster. librdkafka's mock cluster (three brokers on loopback
// ports inside this test process) stands in for it; the binary under test is a
// child process, as in cli_test.cc.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../kafka_mock.h"
#include "cli_harness.h"

namespace ghostlog::cli_test {
namespace {

using json = nlohmann::json;

class KafkaCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ghostlog-kcli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_TRUE(kafka_.ok()) << "cannot start librdkafka's mock cluster";
    ASSERT_TRUE(kafka_.CreateTopic("orders", 2));
    config_ = (root_ / "ghostlog.toml").string();
    std::ofstream(config_) << "data_dir = \"" << (root_ / "data").string() << "\"\n[log]\nbackend = \"kafka\"\n"
                           << "bootstrap_servers = \"" << kafka_.bootstraps() << "\"\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // ghostlog --config <kafka config> args..., with GHOSTLOG_DATA_DIR unset.
  RunResult Run(const std::vector<std::string>& args, const std::string& input = "") {
    return RunOn(root_, {"--config", config_}, args, input);
  }
  std::string Ok(const std::vector<std::string>& args, const std::string& input = "") {
    return OkOut(Run(args, input));
  }
  static std::vector<json> Lines(const std::string& out) { return JsonLines(out); }
  // The group's committed offset on orders[1], from `groups describe --json`.
  int64_t CommittedOnPartition1(const std::string& group) {
    const json d = json::parse(Ok({"groups", "describe", group, "--json"}));
    for (const json& p : d.at("partitions")) {
      if (p.at("topic") == "orders" && p.at("partition") == 1) return p.at("committed").get<int64_t>();
    }
    ADD_FAILURE() << "no orders[1] in " << d.dump();
    return -1;
  }

  fs::path root_;
  std::string config_;
  ghostlog::testing::MockKafka kafka_;
};

TEST_F(KafkaCliTest, TopicsRecordsGroupsAndOffsetsWorkOnTheConfigsCluster) {
  EXPECT_NE(Ok({"topics", "list"}).find("orders\n"), std::string::npos);

  const std::string records = R"({"key":"a","value":{"n":1}})"
                              "\n"
                              R"({"key":"b","value":{"n":2}})"
                              "\n"
                              R"({"key":"c","value":null})"
                              "\n";
  RunResult r = Run({"produce", "orders"}, records);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("topic orders has 2 partitions; produce (one atomic batch) needs --partition N"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Ok({"produce", "orders", "--partition", "1"}, records), "produced 3 records to orders[1] at offsets 0..2\n");

  std::vector<json> got = Lines(Ok({"consume", "orders", "--from-beginning", "--group", "g"}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]["partition"], 1);
  EXPECT_EQ(got[0]["key"], "a");
  EXPECT_EQ(got[1]["value"], json({{"n", 2}}));
  EXPECT_TRUE(got[2]["value"].is_null());  // a tombstone stays one
  EXPECT_EQ(CommittedOnPartition1("g"), 3);

  // Rewind: a dry run changes nothing, --execute commits.
  EXPECT_EQ(Ok({"offsets", "reset", "--group", "g", "--topic", "orders", "--to-earliest"}),
            "orders 0 - -> 0\norders 1 3 -> 0\n(dry run: add --execute to apply)\n");
  EXPECT_EQ(CommittedOnPartition1("g"), 3);
  Ok({"offsets", "reset", "--group", "g", "--topic", "orders", "--to-earliest", "--execute"});
  EXPECT_EQ(CommittedOnPartition1("g"), 0);
  // The group resumes where it was reset to.
  got = Lines(Ok({"consume", "orders", "--group", "g", "--partition", "1"}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]["offset"], 0);

  // What only the embedded changelog has is refused with the reason.
  for (const char* cmd : {"compact", "retention", "verify"}) {
    r = Run({cmd});
    EXPECT_EQ(r.code, 1) << cmd;
    EXPECT_EQ(r.err, std::string("ghostlog: ") + cmd + " works on the embedded changelog only; " + config_ +
                         " names a Kafka cluster ([log] backend = \"kafka\"), whose brokers compact, apply retention "
                         "and check their own logs (cleanup.policy, retention.ms)\n");
  }
  // Nothing was made in the config's data dir.
  EXPECT_FALSE(fs::exists(root_ / "data"));
}

TEST_F(KafkaCliTest, OneChangelogPerCommand) {
  RunResult r = Run({"--data-dir", (root_ / "other").string(), "topics", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "ghostlog: --data-dir and --config both name a changelog; pass one (see --help)\n");
  // --config wins over the environment's data dir.
  r = RunGhostlog(root_, {"--config", config_, "topics", "list"}, "",
                  {"GHOSTLOG_DATA_DIR=" + (root_ / "other").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("orders\n"), std::string::npos);
  // A config file with an error stops the command, naming it.
  std::ofstream(config_, std::ios::app) << "bogus = 1\n";
  r = Run({"topics", "list"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(config_), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bogus"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ghostlog::cli_test
