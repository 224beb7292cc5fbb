// The daemon's status document (/health, /metrics, `ghostlog status` and
// DATA_DIR/status.json all come from it) and its Prometheus rendering.
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "config.h"
#include "ghostlog/capture/capture.h"
#include "ghostlog/log/changelog.h"
#include "ghostlog/sink/sink.h"
#include "ghostlog/transform/transform.h"

namespace ghostlog::cli {

// One stage's thread and how it ended.
struct StageRun {
  std::string name;
  std::jthread thread;
  std::atomic<bool> done{false};
  Status result;
};

nlohmann::json StatusJson(const DaemonConfig& c, const capture::Capture* cap, const transform::Transform* tfm,
                          const sink::Sink* snk, const std::vector<std::unique_ptr<StageRun>>& runs,
                          log::Changelog& log);

// The status while the pipeline is paused (no changelog open): every
// configured stage is "paused" with `why`.
nlohmann::json PausedStatusJson(const DaemonConfig& c, const std::string& why);

std::string Metrics(const nlohmann::json& status);

// Written atomically (rename) so a reader never sees half a file. A failure
// is returned for the daemon to log; it goes on either way (a full disk is
// why the daemon may be paused).
Status WriteStatusFile(const std::string& dir, const nlohmann::json& j);

int64_t RssBytes();

}  // namespace ghostlog::cli
