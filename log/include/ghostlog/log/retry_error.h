// The error a stage is retrying after, for `ghostlog status` and status.json:
// a stage that cannot reach its database stays "running" (it retries with
// backoff, and the changelog buffers meanwhile), and without this the reason
// was only in the log.
//
// Thread-safety: any thread.
#pragma once

#include <mutex>
#include <string>

namespace ghostlog {

class RetryError {
 public:
  // The stage failed with `message` and will try again.
  void Set(std::string message) {
    std::lock_guard l(mu_);
    message_ = std::move(message);
  }
  // The stage works again.
  void Clear() {
    std::lock_guard l(mu_);
    message_.clear();
  }
  // Empty while the stage works.
  std::string Get() const {
    std::lock_guard l(mu_);
    return message_;
  }

 private:
  mutable std::mutex mu_;
  std::string message_;
};

}  // namespace ghostlog
