// Runs Capture in a thread against a real PostgreSQL and a real changelog,
// and folds table topics back into rows for comparison with the source.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <thread>

#include "../log/test_util.h"
#include "../pg/pg_cluster.h"
#include "ghostlog/capture/capture.h"
#include "ghostlog/log/embedded_log.h"

namespace ghostlog::capture::testing {

using ghostlog::testing::PgCluster;
using nlohmann::json;

// All records of partition 0 of `topic`, in offset order.
inline std::vector<log::Record> ReadTopic(log::Changelog& log, const std::string& topic) {
  std::vector<log::Record> out;
  auto info = log.DescribePartition({topic, 0});
  if (!info.ok()) return out;
  for (log::Offset at = info->log_start_offset; at < info->end_offset;) {
    auto rs = log.Read({topic, 0}, at, {10000, 64 << 20});
    if (!rs.ok() || rs->empty()) break;
    at = rs->back().offset + 1;
    for (auto& r : *rs) out.push_back(std::move(r));
  }
  return out;
}

// The table as the changelog describes it: key -> latest "after".
inline std::map<std::string, json> FoldTable(log::Changelog& log, const std::string& topic) {
  std::map<std::string, json> rows;
  for (const auto& r : ReadTopic(log, topic)) {
    if (!r.value) {
      rows.erase(r.key);
      continue;
    }
    json v = json::parse(*r.value);
    const std::string op = v["op"];
    if (op == "t") {
      rows.clear();
    } else if (op == "d") {
      rows.erase(r.key);
    } else {
      rows[r.key] = v["after"];
    }
  }
  return rows;
}

using log::testing::WaitFor;

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::EmbeddedLogOptions o;
    o.data_dir = dir_.sub("data");
    o.cleanup_interval = std::chrono::milliseconds(0);
    log_ = log::testing::Must(log::EmbeddedLog::Open(o));
  }
  void TearDown() override { StopCapture(); }

  CaptureConfig Config() {
    CaptureConfig c;
    c.dsn = pg_.dsn();
    c.heartbeat_interval = std::chrono::milliseconds(200);
    c.snapshot_chunk_rows = 100;
    return c;
  }
  void StartCapture(CaptureConfig c) {
    StopCapture();
    capture_ = std::make_unique<Capture>(std::move(c), capture_log_ != nullptr ? *capture_log_ : *log_);
    done_ = false;
    thread_ = std::jthread([this](std::stop_token stop) {
      result_ = capture_->Run(stop);
      done_ = true;
    });
  }
  Status StopCapture() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
    capture_.reset();
    return result_;
  }
  // Waits until the topic folds to exactly what the source table holds.
  void ExpectConverges(const std::string& table, size_t rows) {
    const std::string topic = "v2.public." + table;
    EXPECT_TRUE(WaitFor([&] { return FoldTable(*log_, topic).size() == rows; }))
        << "topic " << topic << " has " << FoldTable(*log_, topic).size() << " rows, want " << rows
        << "; capture: " << (done_ ? result_.ToString() : std::string("running"));
  }

  PgCluster pg_;
  log::testing::TempDir dir_;
  std::unique_ptr<log::EmbeddedLog> log_;
  std::unique_ptr<Capture> capture_;
  log::Changelog* capture_log_ = nullptr;  // what capture writes through, if not log_ itself
  std::jthread thread_;
  Status result_;
  std::atomic<bool> done_{false};
};

}  // namespace ghostlog::capture::testing
