// The ghostlog CLI, end to end: every test runs the real binary in a fresh
// data dir and checks exact output, exit codes and what ended up in the log.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "cli_harness.h"

namespace ghostlog::cli_test {
namespace {

using json = nlohmann::json;

constexpr int64_t kJan1 = 1767225600000;  // 2026-01-01T00:00:00Z in ms
constexpr int64_t kHour = 3600 * 1000;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ghostlog-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    data_ = (root_ / "data").string();
  }
  void TearDown() override {
    children_.clear();  // kills any still running
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // ghostlog --data-dir <data> args..., with GHOSTLOG_DATA_DIR unset.
  RunResult Run(const std::vector<std::string>& args, const std::string& input = "") {
    return RunOn(root_, {"--data-dir", data_}, args, input);
  }
  // Runs and expects success; returns stdout.
  std::string Ok(const std::vector<std::string>& args, const std::string& input = "") {
    return OkOut(Run(args, input));
  }
  json OkJson(const std::vector<std::string>& args) { return json::parse(Ok(args)); }

  Child& Start(const std::vector<std::string>& args) {
    std::vector<std::string> full{"--data-dir", data_};
    full.insert(full.end(), args.begin(), args.end());
    const fs::path err = root_ / ("child" + std::to_string(children_.size()) + ".err");
    children_.push_back(std::make_unique<Child>(err, full, std::vector<std::string>{"GHOSTLOG_DATA_DIR"}));
    return *children_.back();
  }

  // The offsets of consumed JSON lines.
  static std::vector<int64_t> Offsets(const std::string& out) {
    std::vector<int64_t> offsets;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) offsets.push_back(json::parse(line).at("offset").get<int64_t>());
    return offsets;
  }
  static std::vector<json> Lines(const std::string& out) { return JsonLines(out); }
  json Partition0() { return OkJson({"topics", "describe", "t", "--json"})["partition_info"][0]; }
  json Group(const std::string& g) { return OkJson({"groups", "describe", g, "--json"}); }

  // Topic "t" with `n` records at kJan1, kJan1+1h, ... (keys k0.., values 0..).
  void TopicWithRecords(int n, const std::vector<std::string>& create_args = {}) {
    std::vector<std::string> args{"topics", "create", "t"};
    args.insert(args.end(), create_args.begin(), create_args.end());
    Ok(args);
    std::string input;
    for (int i = 0; i < n; ++i) {
      input += json{{"key", "k" + std::to_string(i)}, {"value", i}, {"timestamp", kJan1 + i * kHour}}.dump() + "\n";
    }
    if (n > 0) Ok({"produce", "t"}, input);
  }

  fs::path root_;
  std::string data_;
  std::vector<std::unique_ptr<Child>> children_;
};

// --- topics --------------------------------------------------------------

TEST_F(CliTest, TopicsCreateListDescribeAlterDelete) {
  EXPECT_EQ(Ok({"topics", "create", "orders", "--partitions", "2", "--config", "cleanup.policy=compact"}),
            "created topic orders with 2 partition(s)\n");
  EXPECT_EQ(Ok({"topics", "create", "audit"}), "created topic audit with 1 partition(s)\n");
  EXPECT_EQ(Ok({"topics", "list"}), "audit\norders\n");
  EXPECT_EQ(OkJson({"topics", "list", "--json"}), json({"audit", "orders"}));

  EXPECT_EQ(Ok({"topics", "describe", "orders"}),
            "Topic: orders  Partitions: 2\n"
            "Config: cleanup.policy=compact delete.retention.ms=86400000 min.compaction.lag.ms=0 "
            "retention.bytes=-1 retention.ms=604800000\n\n"
            "PARTITION  START  END  RECORDS  BYTES\n"
            "0          0      0    0        0\n"
            "1          0      0    0        0\n");

  EXPECT_EQ(Ok({"topics", "alter", "orders", "--config", "retention.ms=5000", "--config", "retention.bytes=100"}),
            "altered topic orders: retention.ms=5000 retention.bytes=100\n");
  json d = OkJson({"topics", "describe", "orders", "--json"});
  EXPECT_EQ(d["topic"], "orders");
  EXPECT_EQ(d["partitions"], 2);
  EXPECT_EQ(d["config"]["cleanup.policy"], "compact");  // kept: alter starts from the current config
  EXPECT_EQ(d["config"]["retention.ms"], "5000");
  EXPECT_EQ(d["config"]["retention.bytes"], "100");
  EXPECT_EQ(d["partition_info"].size(), 2u);

  EXPECT_EQ(Ok({"topics", "delete", "orders"}), "deleted topic orders\n");
  EXPECT_EQ(Ok({"topics", "list"}), "audit\n");
  RunResult r = Run({"topics", "describe", "orders"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: topic 'orders' does not exist\n");
}

TEST_F(CliTest, BadConfigNamesTheKey) {
  RunResult r = Run({"topics", "create", "t", "--config", "retention.mss=5"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("ghostlog: unknown topic config 'retention.mss'", 0), 0u) << r.err;
  r = Run({"topics", "create", "t", "--config", "retention.ms=soon"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: config retention.ms='soon' is not an integer\n");
  r = Run({"topics", "create", "t", "--config", "retention.ms"});
  EXPECT_EQ(r.err, "ghostlog: --config 'retention.ms' must be key=value\n");
  Ok({"topics", "create", "t"});
  r = Run({"topics", "alter", "t", "--config", "cleanup.policy=sometimes"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cleanup.policy"), std::string::npos) << r.err;
}

// --- produce / consume ------------------------------------------------------

TEST_F(CliTest, ProduceConsumeJsonWithHeadersTombstonesAndTimestamps) {
  Ok({"topics", "create", "t"});
  const std::string input =
      R"({"key":{"id":1},"value":{"name":"a","n":[1,2]},"headers":{"trace":"abc","bin":{"base64":"/w=="}},"timestamp":1000})"
      "\n\n"  // blank lines are skipped
      R"({"key":"k2","value":null,"timestamp":2000})"
      "\n"
      R"({"value":42,"timestamp":3000})"
      "\n";
  EXPECT_EQ(Ok({"produce", "t"}, input), "produced 3 records to t[0] at offsets 0..2\n");
  EXPECT_EQ(
      Ok({"consume", "t", "--from-beginning"}),
      R"({"topic":"t","partition":0,"offset":0,"timestamp":1000,"key":{"id":1},"value":{"name":"a","n":[1,2]},"headers":{"trace":"abc","bin":{"base64":"/w=="}}})"
      "\n"
      R"({"topic":"t","partition":0,"offset":1,"timestamp":2000,"key":"k2","value":null,"headers":{}})"
      "\n"
      R"({"topic":"t","partition":0,"offset":2,"timestamp":3000,"key":"","value":42,"headers":{}})"
      "\n");
  // The json format stores compact JSON text: seen as a string, it is that text.
  EXPECT_EQ(
      Lines(Ok({"consume", "t", "--from-beginning", "--max-records", "1", "--value-format", "string"}))[0]["value"],
      R"({"name":"a","n":[1,2]})");
}

// A batch larger than the data dir's free space: the write fails with a
// clear error and exit 1. RocksDB's LOG file in the data dir failed too, and
// Debian's RocksDB (assertions on) aborted on its next line, the error
// handler's: exit 134. Needs root to mount the small tmpfs (CI has it).
TEST_F(CliTest, AFullDataDirIsAnErrorNotAnAbort) {
  const fs::path small = root_ / "small";
  fs::create_directories(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=3m,mode=0700") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << "); needs root";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{small.string()};
  const std::string dir = (small / "data").string();
  std::string input;
  for (int i = 0; i < 4000; ++i)
    input += R"({"key":")" + std::to_string(i) + R"(","value":")" + std::string(1000, 'x') + "\"}\n";
  RunResult r = RunGhostlog(root_, {"--data-dir", dir, "topics", "create", "t"}, "", {"GHOSTLOG_DATA_DIR"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = RunGhostlog(root_, {"--data-dir", dir, "produce", "t", "--value-format", "string"}, input, {"GHOSTLOG_DATA_DIR"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("ghostlog: changelog write failed, the data dir is full"), std::string::npos) << r.err;
}

TEST_F(CliTest, ProduceConsumeStringFormat) {
  Ok({"topics", "create", "t"});
  Ok({"produce", "t", "--key-format", "string", "--value-format", "string"},
     R"({"key":"user-1","value":"héllo \"world\""})"
     "\n");
  json rec = Lines(Ok({"consume", "t", "--from-beginning", "--key-format", "string", "--value-format", "string"}))[0];
  EXPECT_EQ(rec["key"], "user-1");
  EXPECT_EQ(rec["value"], "héllo \"world\"");
  // Not JSON text, so the json format falls back to a string.
  EXPECT_EQ(Lines(Ok({"consume", "t", "--from-beginning"}))[0]["value"], "héllo \"world\"");

  RunResult r = Run({"produce", "t", "--value-format", "string"}, R"({"value":5})"
                                                                  "\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: stdin line 1: value must be a JSON string with --value-format string\n");
}

TEST_F(CliTest, ProduceConsumeBase64Format) {
  Ok({"topics", "create", "t"});
  Ok({"produce", "t", "--key-format", "base64", "--value-format", "base64"}, R"({"key":"AAEC","value":"/wBh"})"
                                                                             "\n");
  json rec = Lines(Ok({"consume", "t", "--from-beginning", "--key-format", "base64", "--value-format", "base64"}))[0];
  EXPECT_EQ(rec["key"], "AAEC");
  EXPECT_EQ(rec["value"], "/wBh");
  // Bytes that are not UTF-8 cannot be a JSON string: the string format says base64.
  EXPECT_EQ(Lines(Ok({"consume", "t", "--from-beginning", "--value-format", "string"}))[0]["value"],
            json({{"base64", "/wBh"}}));

  RunResult r = Run({"produce", "t", "--value-format", "base64"}, R"({"value":"not base64!"})"
                                                                  "\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: stdin line 1: value is not valid base64\n");
}

TEST_F(CliTest, BadLineAppendsNothing) {
  Ok({"topics", "create", "t"});
  RunResult r = Run({"produce", "t"}, "{\"value\":1}\n{\"value\":2}\n{\"value\":3,}\n{\"value\":4}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("ghostlog: stdin line 3: invalid JSON", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);  // one line
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Partition0()["records"], 0);
  EXPECT_EQ(Partition0()["end_offset"], 0);

  const std::pair<std::string, std::string> bad[] = {
      {"[1,2]\n", "stdin line 1: expected a JSON object, got array"},
      {"{\"value\":1,\"vlue\":2}\n", "stdin line 1: unknown field 'vlue' (expected key, value, headers, timestamp)"},
      {"{\"key\":\"k\"}\n", "stdin line 1: field 'value' is missing (null makes a tombstone)"},
      {"{\"value\":1,\"timestamp\":\"now\"}\n",
       "stdin line 1: timestamp must be a non-negative integer (ms since the epoch)"},
      {"{\"value\":1,\"headers\":{\"h\":7}}\n",
       "stdin line 1: header 'h' must be a JSON string or {\"base64\": \"...\"}"},
  };
  for (const auto& [input, message] : bad) {
    r = Run({"produce", "t"}, input);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "ghostlog: " + message + "\n");
  }
  EXPECT_EQ(Partition0()["end_offset"], 0);
}

TEST_F(CliTest, UnknownTopicAndBadPartition) {
  RunResult r = Run({"topics", "create", "t", "--partitions", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Run({"produce", "nope"}, "{\"value\":1}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: topic 'nope' does not exist\n");
  r = Run({"consume", "nope", "--from-beginning"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: topic 'nope' does not exist\n");
  r = Run({"produce", "t", "--partition", "5"}, "{\"value\":1}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: topic 't' has 2 partition(s); partition 5 does not exist\n");
  r = Run({"consume", "t", "--partition", "5", "--from-beginning"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: topic 't' has 2 partition(s); partition 5 does not exist\n");
  // One atomic batch goes to one partition, so a multi-partition topic needs --partition.
  r = Run({"produce", "t"}, "{\"value\":1}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: topic t has 2 partitions; produce (one atomic batch) needs --partition N\n");
}

TEST_F(CliTest, ConsumeAllPartitions) {
  Ok({"topics", "create", "t", "--partitions", "2"});
  EXPECT_EQ(Ok({"produce", "t", "--partition", "1"},
               "{\"value\":\"b\",\"timestamp\":10}\n{\"value\":\"c\",\"timestamp\":11}\n"),
            "produced 2 records to t[1] at offsets 0..1\n");
  EXPECT_EQ(Ok({"produce", "t", "--partition", "0"}, "{\"value\":\"a\"}\n"),
            "produced 1 record to t[0] at offsets 0..0\n");
  std::vector<std::pair<int, std::string>> seen;
  for (const json& j : Lines(Ok({"consume", "t", "--from-beginning"}))) seen.push_back({j["partition"], j["value"]});
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::string>>{{0, "a"}, {1, "b"}, {1, "c"}}));
  EXPECT_EQ(Ok({"consume", "t", "--partition", "1", "--offset", "1"}),
            R"({"topic":"t","partition":1,"offset":1,"timestamp":11,"key":"","value":"c","headers":{}})"
            "\n");
  RunResult r = Run({"consume", "t", "--offset", "0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: --offset needs --partition: topic t has 2 partitions\n");
}

TEST_F(CliTest, ConsumeStartPositions) {
  TopicWithRecords(4);
  EXPECT_EQ(Ok({"consume", "t"}), "");  // default: the end, only new records
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--offset", "2"})), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--offset", "4"})), (std::vector<int64_t>{}));
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--from-beginning", "--max-records", "3"})), (std::vector<int64_t>{0, 1, 2}));

  RunResult r = Run({"consume", "t", "--offset", "5"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: offset 5 is out of range [0, 4] for topic t partition 0\n");
  r = Run({"consume", "t", "--from-beginning", "--offset", "1"});
  EXPECT_EQ(r.code, 2);  // the start options exclude each other
}

TEST_F(CliTest, ConsumeFromDatetime) {
  TopicWithRecords(4);  // timestamps 00:00, 01:00, 02:00, 03:00 on 2026-01-01 UTC
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--from-datetime", "2026-01-01T01:00:00Z"})), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--from-datetime", "2026-01-01T01:00:00.001Z"})), (std::vector<int64_t>{2, 3}));
  // 03:30+02:00 is 01:30Z.
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--from-datetime", "2026-01-01T03:30:00.123+02:00"})),
            (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--from-datetime", "2026-01-01"})), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--from-datetime", "2026-01-02"})), (std::vector<int64_t>{}));

  for (const std::string bad : {"xyz", "2026-13-01", "2026-01-01T25:00:00Z", "2026-01-01T01:00:00+2"}) {
    RunResult r = Run({"consume", "t", "--from-datetime", bad});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "ghostlog: bad datetime '" + bad + "': expected ISO 8601 such as 2026-01-31T12:00:00Z\n");
  }
}

// --- groups -----------------------------------------------------------------

TEST_F(CliTest, GroupConsumeCommitsAndContinues) {
  TopicWithRecords(5);
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--group", "g", "--from-beginning", "--max-records", "2"})),
            (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--group", "g"})), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(Ok({"consume", "t", "--group", "g"}), "");

  Ok({"produce", "t"}, "{\"value\":5}\n{\"value\":6}\n");
  EXPECT_EQ(Ok({"groups", "list"}), "g\n");
  EXPECT_EQ(OkJson({"groups", "list", "--json"}), json({"g"}));
  EXPECT_EQ(Ok({"groups", "describe", "g"}),
            "GROUP  TOPIC  PARTITION  COMMITTED  END  LAG\n"
            "g      t      0          5          7    2\n");
  EXPECT_EQ(Group("g"), json::parse(R"({"group":"g","total_lag":2,"partitions":[
      {"topic":"t","partition":0,"committed":5,"end_offset":7,"lag":2}]})"));
  RunResult r = Run({"groups", "describe", "nobody"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: group 'nobody' does not exist\n");
}

TEST_F(CliTest, OffsetsResetDryRunAndExecute) {
  TopicWithRecords(5);  // timestamps kJan1 + i hours
  Ok({"consume", "t", "--group", "g", "--from-beginning", "--max-records", "3"});
  auto committed = [&] { return Group("g")["partitions"][0]["committed"].get<int64_t>(); };
  ASSERT_EQ(committed(), 3);

  struct Case {
    std::vector<std::string> target;
    int64_t before, after;
  };
  const Case cases[] = {
      {{"--to-earliest"}, 3, 0},     {{"--to-latest"}, 0, 5},
      {{"--to-offset", "2"}, 5, 2},  {{"--to-datetime", "2026-01-01T03:00:00Z"}, 2, 3},
      {{"--shift-by", "1"}, 3, 4},   {{"--shift-by", "5"}, 4, 5},  // clamped to the end
      {{"--shift-by", "-10"}, 5, 0},                               // clamped to the log start
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target[0]);
    std::vector<std::string> args{"offsets", "reset", "--group", "g", "--topic", "t"};
    args.insert(args.end(), c.target.begin(), c.target.end());
    const std::string plan = "t 0 " + std::to_string(c.before) + " -> " + std::to_string(c.after) + "\n";
    EXPECT_EQ(Ok(args), plan + "(dry run: add --execute to apply)\n");
    EXPECT_EQ(committed(), c.before);
    args.push_back("--execute");
    EXPECT_EQ(Ok(args), plan + "reset group g on 1 partition(s) of topic t\n");
    EXPECT_EQ(committed(), c.after);
  }

  RunResult r = Run({"offsets", "reset", "--group", "g", "--topic", "t", "--to-offset", "9", "--execute"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: offset 9 is out of range [0, 5] for topic t partition 0\n");
  EXPECT_EQ(committed(), 0);
  r = Run({"offsets", "reset", "--group", "g", "--topic", "t"});
  EXPECT_EQ(r.code, 2);  // a target is required
  r = Run({"offsets", "reset", "--group", "g", "--topic", "t", "--to-earliest", "--to-latest"});
  EXPECT_EQ(r.code, 2);
  // A group that never committed shifts from the log start.
  EXPECT_EQ(Ok({"offsets", "reset", "--group", "new", "--topic", "t", "--shift-by", "2"}),
            "t 0 - -> 2\n(dry run: add --execute to apply)\n");
}

TEST_F(CliTest, OffsetsResetCommitsAllPartitionsTogether) {
  Ok({"topics", "create", "t", "--partitions", "3"});
  Ok({"produce", "t", "--partition", "1"}, "{\"value\":1}\n{\"value\":2}\n");
  EXPECT_EQ(Ok({"offsets", "reset", "--group", "g", "--topic", "t", "--to-latest", "--execute"}),
            "t 0 - -> 0\nt 1 - -> 2\nt 2 - -> 0\nreset group g on 3 partition(s) of topic t\n");
  json g = Group("g");
  ASSERT_EQ(g["partitions"].size(), 3u);
  EXPECT_EQ(g["partitions"][1]["committed"], 2);
}

// --- cleanup and verify -------------------------------------------------------

TEST_F(CliTest, CompactRemovesSupersededKeys) {
  Ok({"topics", "create", "t", "--config", "cleanup.policy=compact"});
  Ok({"produce", "t"}, R"({"key":"a","value":1}
{"key":"b","value":2}
{"key":"a","value":3}
{"key":"b","value":4}
{"key":"c","value":5}
)");
  const int64_t bytes_before = Partition0()["bytes"];
  const std::string out = Ok({"compact", "t"});
  const int64_t bytes_after = Partition0()["bytes"];
  EXPECT_EQ(out, "removed 2 records (" + std::to_string(bytes_before - bytes_after) +
                     " bytes reclaimed, 0 tombstones) from 1 partition(s)\n");
  EXPECT_GT(bytes_before, bytes_after);
  EXPECT_EQ(Partition0()["records"], 3);
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--from-beginning"})), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(Ok({"compact"}), "removed 0 records (0 bytes reclaimed, 0 tombstones) from 0 partition(s)\n");
}

TEST_F(CliTest, RetentionRemovesOldRecords) {
  TopicWithRecords(3, {"--config", "retention.ms=1000"});  // timestamps in the past
  const int64_t bytes = Partition0()["bytes"];
  EXPECT_EQ(Ok({"retention"}),
            "removed 3 records (" + std::to_string(bytes) + " bytes reclaimed, 0 tombstones) from 1 partition(s)\n");
  json p = Partition0();
  EXPECT_EQ(p["log_start_offset"], 3);
  EXPECT_EQ(p["records"], 0);
}

TEST_F(CliTest, VerifyGoodDir) {
  TopicWithRecords(3);
  EXPECT_EQ(Ok({"verify"}), "checked 3 records, 0 problem(s)\n");
}

// --- concurrency: a running writer ---------------------------------------------

TEST_F(CliTest, SecondWriterIsBusyWhileReadersWork) {
  TopicWithRecords(1);
  // consume --group opens the writer; its first line proves it holds the dir.
  Child& daemon = Start({"consume", "t", "--group", "g", "--from-beginning", "--follow"});
  ASSERT_EQ(json::parse(daemon.ReadLine())["offset"], 0) << daemon.err();

  const std::string busy =
      "ghostlog: data dir " + data_ + " is locked by PID " + std::to_string(daemon.pid()) + " (a running ghostlog); ";
  RunResult r = Run({"produce", "t"}, "{\"value\":1}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, busy + "stop it first, or use a read-only command\n");
  r = Run({"consume", "t", "--group", "other"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, busy + "stop it first, or consume without --group\n");
  r = Run({"offsets", "reset", "--group", "g", "--topic", "t", "--to-earliest", "--execute"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, busy +
                       "stop it first: offsets can only be reset while no ghostlog writes to the data dir "
                       "(without --execute this is a dry run)\n");

  // Read-only commands open a secondary and work meanwhile.
  EXPECT_EQ(Partition0()["records"], 1);
  EXPECT_EQ(Offsets(Ok({"consume", "t", "--from-beginning"})), (std::vector<int64_t>{0}));
  EXPECT_EQ(Ok({"offsets", "reset", "--group", "g", "--topic", "t", "--to-earliest"}),
            "t 0 1 -> 0\n(dry run: add --execute to apply)\n");

  EXPECT_EQ(daemon.Stop(SIGTERM), 0) << daemon.err();  // a clean exit on SIGTERM
  EXPECT_EQ(Ok({"produce", "t"}, "{\"value\":1}\n"), "produced 1 record to t[0] at offsets 1..1\n");
}

TEST_F(CliTest, FollowSeesNewRecords) {
  TopicWithRecords(1);
  Child& follower = Start({"consume", "t", "--from-beginning", "--follow"});  // a reader
  ASSERT_EQ(json::parse(follower.ReadLine())["offset"], 0) << follower.err();
  Ok({"produce", "t"}, "{\"key\":\"late\",\"value\":7}\n");
  const std::string line = follower.ReadLine();
  ASSERT_NE(line, "") << "no record within 5 s; stderr: " << follower.err();
  json rec = json::parse(line);
  EXPECT_EQ(rec["offset"], 1);
  EXPECT_EQ(rec["key"], "late");
  EXPECT_EQ(follower.Stop(SIGINT), 0) << follower.err();
}

TEST_F(CliTest, FollowStopsAtMaxRecords) {
  Ok({"topics", "create", "t"});
  Child& follower = Start({"consume", "t", "--from-beginning", "--follow", "--max-records", "2"});
  Ok({"produce", "t"}, "{\"value\":1}\n{\"value\":2}\n{\"value\":3}\n");
  for (int64_t want : {0, 1}) {
    const std::string line = follower.ReadLine();
    ASSERT_NE(line, "") << "no record " << want << " within 5 s; stderr: " << follower.err();
    EXPECT_EQ(json::parse(line)["offset"], want);
  }
  EXPECT_EQ(follower.ReadLine(std::chrono::seconds(5)), "");  // it exits: EOF, no third line
  EXPECT_EQ(follower.Stop(SIGKILL), 0) << "exited by itself with 0";
}

// --- usage ----------------------------------------------------------------------

TEST_F(CliTest, Usage) {
  RunResult r = RunGhostlog(root_, {"--version"}, "", {});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "ghostlog 0.1.0\n");

  r = RunGhostlog(root_, {"topics", "list"}, "", {"GHOSTLOG_DATA_DIR"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "ghostlog: no changelog: pass --data-dir DIR or --config FILE, or set GHOSTLOG_DATA_DIR (see --help)\n");
  Ok({"topics", "create", "t"});
  r = RunGhostlog(root_, {"topics", "list"}, "", {"GHOSTLOG_DATA_DIR=" + data_});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "t\n");

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"bogus"}, {"topics", "bogus"}, {"topics"}, {"consume"}, {"produce", "t", "--partition", "x"}}) {
    r = Run(args);
    EXPECT_EQ(r.code, 2) << args[0];
    EXPECT_EQ(r.err.rfind("ghostlog: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  r = Run({"bogus"});
  EXPECT_EQ(r.err, "ghostlog: unknown command 'bogus' (see --help)\n");
  r = Run({"topics", "create", "x", "--partitions", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "ghostlog: --partitions: must be an integer >= 1, got 0 (see --help)\n");
  r = Run({"consume", "t", "--value-format", "xml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "ghostlog: --value-format 'xml' must be json, string or base64 (see --help)\n");
  // A read command on a dir that does not exist fails cleanly.
  r = RunGhostlog(root_, {"--data-dir", (root_ / "missing").string(), "topics", "list"}, "", {});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: data dir " + (root_ / "missing").string() + " does not exist\n");
}

TEST_F(CliTest, CheckValidatesConfigAndMappings) {
  const std::string dir = root_.string();
  fs::create_directories(dir + "/maps");
  std::ofstream(dir + "/maps/10-a.toml") << "source = \"public.a\"\ntarget = \"public.b\"\nkey = [\"id\"]\n"
                                            "[columns]\nid = \"uuid5('a', id)\"\n";
  std::ofstream(dir + "/g.toml") << "data_dir = \"" << data_ << "\"\n[transform]\nmappings = \"maps\"\n";
  RunResult r = RunGhostlog(root_, {"check", "--config", dir + "/g.toml"}, "", {});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, dir + "/g.toml: ok (stages: transform)\n");

  std::ofstream(dir + "/maps/20-b.toml") << "source = \"public.a\"\ntarget = \"public.c\"\nkey = [\"id\"]\n"
                                            "[columns]\nid = \"id\"\nx = \"coalesce(\"\n";
  r = RunGhostlog(root_, {"check", "--config", dir + "/g.toml"}, "", {});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ghostlog: " + dir + "/g.toml:3: transform.mappings '" + dir + "/maps': " + dir +
                       "/maps/20-b.toml:6: columns.x: near \"AS\": syntax error\n");
}

// `ghostlog run` speaks systemd's notify protocol (Type=notify): READY=1,
// STATUS=, WATCHDOG=1 pings when WATCHDOG_USEC is set, STOPPING=1 on SIGTERM.
// The test is the service manager: it owns the datagram socket.
TEST_F(CliTest, RunNotifiesSystemdReadyWatchdogAndStopping) {
  const std::string sock_path = (root_ / "notify").string();
  const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{0, 200'000};
  ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  // A transform-only daemon needs no PostgreSQL: it waits for its input topic.
  fs::create_directories(root_ / "maps");
  std::ofstream(root_ / "maps" / "10-a.toml") << "source = \"public.a\"\ntarget = \"public.b\"\nkey = [\"id\"]\n"
                                                 "[columns]\nid = \"id\"\n";
  std::ofstream(root_ / "d.toml") << "data_dir = \"" << data_
                                  << "\"\n[http]\nlisten = \"\"\n[transform]\nmappings = \"maps\"\n";
  Child daemon(root_ / "daemon.err", {"run", "--config", (root_ / "d.toml").string()},
               {"NOTIFY_SOCKET=" + sock_path, "WATCHDOG_USEC=1000000", "GHOSTLOG_DATA_DIR"});
  std::vector<std::string> got;
  auto wait_for = [&](const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      const ssize_t n = ::recv(sock, buf, sizeof buf, 0);
      if (n <= 0) continue;
      got.emplace_back(buf, static_cast<size_t>(n));
      if (got.back().find(what) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(wait_for("READY=1")) << daemon.err();
  EXPECT_TRUE(wait_for("WATCHDOG=1")) << daemon.err();
  EXPECT_NE(got.back().find("STATUS=transform running"), std::string::npos) << got.back();
  ::kill(daemon.pid(), SIGTERM);
  EXPECT_TRUE(wait_for("STOPPING=1")) << daemon.err();
  EXPECT_EQ(daemon.Stop(SIGTERM), 0) << daemon.err();
  ::close(sock);
}

TEST_F(CliTest, HelpOnEveryCommand) {
  const std::vector<std::vector<std::string>> commands = {
      {},
      {"topics"},
      {"topics", "create"},
      {"topics", "list"},
      {"topics", "describe"},
      {"topics", "alter"},
      {"topics", "delete"},
      {"produce"},
      {"consume"},
      {"groups"},
      {"groups", "list"},
      {"groups", "describe"},
      {"offsets"},
      {"offsets", "reset"},
      {"compact"},
      {"retention"},
      {"verify"},
      {"run"},
      {"check"},
      {"doctor"},
      {"status"},
  };
  for (auto args : commands) {
    args.push_back("--help");
    RunResult r = RunGhostlog(root_, args, "", {"GHOSTLOG_DATA_DIR"});  // no data dir needed for help
    EXPECT_EQ(r.code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage: "), std::string::npos) << args[0];
    EXPECT_EQ(r.err, "");
  }
}

}  // namespace
// --- log copy ----------------------------------------------------------------

// A copy keeps offsets (the compaction's gaps too), timestamps, headers,
// configs and group offsets; run again, it copies only what is new.
TEST_F(CliTest, LogCopyKeepsOffsetsConfigsAndGroupsAndResumes) {
  Ok({"topics", "create", "t", "--partitions", "2", "--config", "cleanup.policy=compact"});
  std::string input;
  for (int i = 0; i < 20; ++i) {
    input +=
        json{{"key", "k" + std::to_string(i % 4)}, {"value", i}, {"headers", {{"h", "x"}}}, {"timestamp", kJan1 + i}}
            .dump() +
        "\n";
  }
  Ok({"produce", "t", "--partition", "1"}, input);
  Ok({"compact", "t"});
  Ok({"consume", "t", "--group", "g", "--from-beginning", "--max-records", "2"});
  const std::string copy = (root_ / "copy").string();
  auto on_copy = [&](const std::vector<std::string>& args, const std::string& in = "") {
    return RunOn(root_, {"--data-dir", copy}, args, in);
  };
  std::string out = Ok({"log", "copy", "--to-data-dir", copy});
  EXPECT_NE(out.find("copied 4 records of 1 topic(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("group g: 1 committed offset(s)"), std::string::npos) << out;
  auto same = [&] {
    EXPECT_EQ(OkOut(on_copy({"consume", "t", "--from-beginning"})), Ok({"consume", "t", "--from-beginning"}));
    const json a = OkJson({"topics", "describe", "t", "--json"});
    const json b = json::parse(OkOut(on_copy({"topics", "describe", "t", "--json"})));
    EXPECT_EQ(a["config"], b["config"]);
    EXPECT_EQ(a["partition_info"], b["partition_info"]);
    EXPECT_EQ(Group("g"), json::parse(OkOut(on_copy({"groups", "describe", "g", "--json"}))));
  };
  same();
  EXPECT_EQ(Offsets(OkOut(on_copy({"consume", "t", "--partition", "1", "--from-beginning"}))),
            (std::vector<int64_t>{16, 17, 18, 19}));

  Ok({"produce", "t", "--partition", "0"}, R"({"key":"n","value":1})"
                                           "\n");
  out = Ok({"log", "copy", "--to-data-dir", copy});
  EXPECT_NE(out.find("copied 1 records of 1 topic(s)"), std::string::npos) << out;
  same();
  EXPECT_EQ(OkOut(on_copy({"verify"})), "checked 5 records, 0 problem(s)\n");

  // The destination holds records the source has not: refused, nothing copied.
  OkOut(on_copy({"produce", "t", "--partition", "0"}, R"({"key":"x","value":2})"
                                                      "\n"));
  RunResult r = Run({"log", "copy", "--to-data-dir", copy});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("the destination's topic t partition 0 ends at 2, past the source's end 1"), std::string::npos)
      << r.err;
  // Usage errors.
  r = Run({"log", "copy"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("exactly one of --to-data-dir DIR and --to-config FILE"), std::string::npos) << r.err;
  r = Run({"log", "copy", "--to-data-dir", data_});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("names the data dir it copies from"), std::string::npos) << r.err;
}

}  // namespace ghostlog::cli_test
