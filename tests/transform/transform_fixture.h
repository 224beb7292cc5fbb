// The transform tests' fixture: a real changelog on disk and a small "capture"
// that writes what capture writes (table topics, the transaction topic and
// the schema topic), so these tests need no PostgreSQL; the end-to-end tests
// run the same stage behind real capture and sink.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "ghostlog/log/embedded_log.h"
#include "ghostlog/log/key_indexed_log.h"
#include "ghostlog/transform/transform.h"
#include "log/test_util.h"
#include "uuid5.h"

namespace ghostlog::transform::testing {

using json = nlohmann::json;
using log::testing::Must;
using log::testing::TempDir;

struct Change {
  std::string table;  // schema.table
  std::string op;     // r, c, u, d, t
  json row;           // after (or before, for d)
};

// Writes source transactions as capture does.
class FakeCapture {
 public:
  explicit FakeCapture(log::Changelog& log) : log_(log) {
    const log::TopicConfig compact = log::TopicConfig::Compacted();
    Create("v2.schema", compact);
    log::TopicConfig forever;
    forever.retention_ms = -1;
    Create("v2.transaction", forever);
  }

  void Table(const std::string& table, const std::vector<std::string>& columns, const std::vector<std::string>& key) {
    json cols = json::array();
    for (const auto& c : columns) {
      cols.push_back({{"name", c}, {"key", std::find(key.begin(), key.end(), c) != key.end()}, {"type_oid", 25}});
    }
    Must(log_.Append({"v2.schema", 0}, {log::RecordIn{table, json{{"columns", cols}}.dump(), {}, log::kNoTimestamp}}));
    const log::TopicConfig compact = log::TopicConfig::Compacted();
    Create("v2." + table, compact);
    keys_[table] = key;
  }

  // A new schema of a table capture already records, written as capture
  // does: in a transaction of its own range of the schema topic.
  void NewSchema(const std::string& table, const std::vector<std::string>& columns,
                 const std::vector<std::string>& key) {
    json cols = json::array();
    for (const auto& c : columns) {
      cols.push_back({{"name", c}, {"key", std::find(key.begin(), key.end(), c) != key.end()}, {"type_oid", 25}});
    }
    const auto at = Must(
        log_.Append({"v2.schema", 0}, {log::RecordIn{table, json{{"columns", cols}}.dump(), {}, log::kNoTimestamp}}));
    keys_[table] = key;
    json t{{"status", "END"},
           {"id", std::to_string(++xid_)},
           {"ranges", {{{"topic", "v2.schema"}, {"partition", 0}, {"first", at[0]}, {"last", at[0]}}}}};
    Must(log_.Append({"v2.transaction", 0}, {log::RecordIn{"", t.dump(), {}, log::kNoTimestamp}}));
  }

  // What capture writes when its snapshot is complete.
  void SnapshotDone() {
    Must(log_.Append({"v2.transaction", 0},
                     {log::RecordIn{"snapshot:done",
                                    json{{"status", "SNAPSHOT_DONE"}, {"ranges", json::array()}}.dump(),
                                    {},
                                    log::kNoTimestamp}}));
  }

  void Txn(const std::vector<Change>& changes, const std::string& status = "END") {
    json ranges = json::array();
    for (const auto& c : changes) {
      const std::string topic = "v2." + c.table;
      json key = json::object();
      for (const auto& k : keys_.at(c.table)) key[k] = c.row.value(k, json(nullptr));
      json v{{"op", c.op},
             {"before", c.op == "d" ? c.row : json(nullptr)},
             {"after", c.op == "d" ? json(nullptr) : c.row},
             {"source", {{"ts_ms", 1000}, {"txId", ++xid_}}}};
      auto offs = Must(
          log_.Append({topic, 0}, {log::RecordIn{c.op == "t" ? "" : key.dump(), v.dump(), {}, log::kNoTimestamp}}));
      ranges.push_back({{"topic", topic}, {"partition", 0}, {"first", offs[0]}, {"last", offs[0]}});
    }
    json t{{"status", status}, {"id", std::to_string(xid_)}, {"ts_ms", 1000}, {"ranges", ranges}};
    Must(log_.Append({"v2.transaction", 0}, {log::RecordIn{"", t.dump(), {}, log::kNoTimestamp}}));
  }

 private:
  void Create(const std::string& topic, const log::TopicConfig& c) {
    Status s = log_.CreateTopic(topic, 1, c);
    ASSERT_TRUE(s.ok() || s.code() == Status::Code::kAlreadyExists) << s.ToString();
  }
  log::Changelog& log_;
  std::map<std::string, std::vector<std::string>> keys_;
  int64_t xid_ = 0;
};

class TransformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::EmbeddedLogOptions o;
    o.data_dir = dir_.sub("data");
    o.fsync = fsync_;
    log_ = Must(log::EmbeddedLog::Open(o));
    capture_ = std::make_unique<FakeCapture>(*log_);
    capture_->Table("public.facilities", {"id", "code", "name", "zoneid", "active"}, {"id"});
    capture_->Table("public.zones", {"id", "name"}, {"id"});
    WriteMapping("10-facilities.toml", R"toml(source = "public.facilities"
target = "public.kafka_facilities"
key = ["id"]
where = "active"
[columns]
id = "uuid5('facilities', id)"
code = "code"
name = "name"
zonename = "lookup('public.zones', zoneid, 'name')"
)toml");
  }

  // Facilities by zone: one target row per zone, with as many owners as
  // the zone has facilities (shared target rows).
  void WriteZonesSeenMapping() {
    WriteMapping("20-zones-seen.toml", R"toml(source = "public.facilities"
target = "public.zones_seen"
key = ["zoneid"]
[columns]
zoneid = "zoneid"
code = "code"
)toml");
  }

  // Districts that look up their region's name; no region captured yet.
  void DistrictsLookingUpRegions() {
    WriteMapping("20-districts.toml", R"toml(source = "public.districts"
target = "public.kafka_districts"
key = ["id"]
[columns]
id = "id"
regionname = "lookup('public.regions', regionid, 'name')"
)toml");
    capture_->Table("public.districts", {"id", "regionid"}, {"id"});
  }

  void WriteMapping(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(dir_.sub("maps"));
    std::ofstream(dir_.sub("maps/" + name)) << text;
  }

  // A second mapping whose key comes from JSON in `code`: a code that is
  // not JSON fails it, one without "x" gives a NULL key.
  void WriteStrictMapping() {
    WriteMapping("20-strict.toml", R"toml(source = "public.facilities"
target = "public.strict"
key = ["id"]
[columns]
id = "json_extract(code, '$.x')"
)toml");
  }

  TransformConfig Config() {
    TransformConfig c;
    c.mappings = dir_.sub("maps");
    return c;
  }

  // The stage on a thread of its own, until destroyed.
  struct Running {
    Running(TransformConfig c, log::Changelog& log)
        : log_(log), t(std::move(c), log), th([this](std::stop_token stop) {
            result = t.Run(stop);
            done = true;
          }) {}
    // Waits (up to 20 s) until the stage has mapped the whole input
    // transaction topic, or stopped.
    Status CaughtUp() {
      const log::Offset end = Must(log_.DescribePartition({"v2.transaction", 0})).end_offset;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!done && t.stats().committed_offset < end && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (done) return result;
      return t.stats().committed_offset < end ? Status::TimedOut("transform did not catch up") : Status::OK();
    }
    log::Changelog& log_;
    Transform t;
    Status result;
    std::atomic<bool> done{false};
    std::jthread th;  // last: stopped and joined before the rest goes
  };

  // Runs the stage until it has consumed the whole input transaction topic.
  Status RunToEnd(TransformConfig c) { return Running(std::move(c), StageLog()).CaughtUp(); }

  // The changelog a start of the stage runs on: the log itself, or, with
  // GHOSTLOG_TEST_KEY_INDEX set (ctest runs the suite both ways), a
  // KeyIndexedLog over it, opened again for each start as the daemon does on
  // Kafka: key reads from the local index, caught up with what FakeCapture
  // writes. (So at most one stage may run on it at a time.)
  log::Changelog& StageLog() {
    if (std::getenv("GHOSTLOG_TEST_KEY_INDEX") == nullptr) return *log_;
    key_index_.reset();
    key_index_ = Must(log::KeyIndexedLog::Open(*log_, dir_.sub("key-index")), "key index");
    return *key_index_;
  }

  // The target table the output topics describe, folded as the sink applies
  // them, following v3.transaction: key text -> row.
  std::map<std::string, json> Target(const std::string& table) {
    std::map<std::string, json> rows;
    auto txns = Must(log_->Read({"v3.transaction", 0}, 0, {100000, 1 << 30}));
    for (const auto& t : txns) {
      const json txn = json::parse(*t.value);
      for (const auto& range : txn["ranges"]) {
        if (range["topic"] != "v3." + table) continue;
        for (const auto& r : Must(log_->Read({range["topic"], 0}, range["first"], {100000, 1 << 30}))) {
          if (r.offset > range["last"].get<log::Offset>()) break;
          if (!r.value) continue;  // a tombstone: the sink skips it too
          json v = json::parse(*r.value);
          if (v["op"] == "d") {
            rows.erase(r.key);
          } else if (v["op"] == "t") {
            rows.clear();
          } else {
            rows[r.key] = v["after"];
          }
        }
      }
    }
    return rows;
  }

  static std::string FacilityKey(int id) { return json{{"id", Uuid5("facilities", std::to_string(id))}}.dump(); }
  // The zone name the target facility shows (live lookups' subject).
  json ZoneOf(int id) { return Target("public.kafka_facilities").at(FacilityKey(id))["zonename"]; }
  // Zones 1 (Pwani) and 2 (Mara), as a snapshot chunk.
  void SnapshotTwoZones() {
    capture_->Txn(
        {{"public.zones", "r", {{"id", 1}, {"name", "Pwani"}}}, {"public.zones", "r", {{"id", 2}, {"name", "Mara"}}}},
        "SNAPSHOT");
  }

  log::FsyncPolicy fsync_ = log::FsyncPolicy::kAlways;  // set before SetUp
  TempDir dir_;
  std::unique_ptr<log::EmbeddedLog> log_;
  std::unique_ptr<FakeCapture> capture_;
  std::unique_ptr<log::KeyIndexedLog> key_index_;  // StageLog()'s; declared after log_, closed before it
};

inline json Facility(int id, const std::string& code, int zone, bool active = true) {
  return {{"id", id}, {"code", code}, {"name", "Facility " + code}, {"zoneid", zone}, {"active", active}};
}

}  // namespace ghostlog::transform::testing
