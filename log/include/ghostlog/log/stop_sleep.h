// A sleep that a stop request cuts short (no polling): the stages' retry
// backoffs and their waits for a topic to appear.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace ghostlog {

inline void SleepUntilStopped(std::stop_token stop, std::chrono::milliseconds d) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock l(mu);
  cv.wait_for(l, stop, d, [] { return false; });
}

}  // namespace ghostlog
