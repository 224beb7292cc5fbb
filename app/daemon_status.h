// The daemon's status document (/health, /metrics, `ghostlog status` and
// DATA_DIR/status.json all come from it) and its Prometheus rendering.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
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

// The end offsets of the topics the consumer stages follow (for their lag),
// read by a thread of its own. The daemon's main loop, which answers signals
// and systemd's watchdog, waits for a fresh read at most `Refresh`'s bound
// and otherwise shows the last values: on Kafka a DescribePartition waits up
// to the request timeout while the cluster does not answer. Thread-safe.
class TopicEnds {
 public:
  // Starts reading `topics` of `log`, which must outlive Join().
  void Start(log::Changelog& log, std::vector<std::string> topics);
  // Asks for a read of every topic begun after this call and waits up to
  // `wait` for it. False if it did not finish: the values are older.
  bool Refresh(std::chrono::milliseconds wait);
  // The last end offset read; 0 until one was.
  int64_t Get(const std::string& topic) const;
  // Asks the reader to stop; Join() waits for it. Refresh then reads in the
  // caller's thread.
  void RequestStop() { thread_.request_stop(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void ReadAll();

  log::Changelog* log_ = nullptr;
  std::vector<std::string> topics_;
  std::unique_ptr<std::atomic<int64_t>[]> ends_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  uint64_t asked_ = 0;  // Refresh calls so far
  uint64_t read_ = 0;   // the Refresh calls the last finished read began after
  std::jthread thread_;
};

// One stage's thread and how it ended.
struct StageRun {
  std::string name;
  std::jthread thread;
  std::atomic<bool> done{false};
  Status result;
};

nlohmann::json StatusJson(const DaemonConfig& c, const capture::Capture* cap, const transform::Transform* tfm,
                          const sink::Sink* snk, const std::vector<std::unique_ptr<StageRun>>& runs,
                          const TopicEnds& ends);

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
