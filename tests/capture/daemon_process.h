// `ghostlog run --config F [--stage S]` as a child process, for tests that
// kill it, restart it or measure it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "capture_harness.h"

namespace ghostlog::capture::testing {

class Daemon {
 public:
  // stage: the one stage to run; empty runs every configured stage.
  Daemon(std::string config, std::string log_path, std::string stage = "capture")
      : config_(std::move(config)), log_(std::move(log_path)), stage_(std::move(stage)) {}
  ~Daemon() { Kill(); }
  void Start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      if (stage_.empty()) {
        ::execl(GHOSTLOG_BIN, GHOSTLOG_BIN, "run", "--config", config_.c_str(), nullptr);
      } else {
        ::execl(GHOSTLOG_BIN, GHOSTLOG_BIN, "run", "--config", config_.c_str(), "--stage", stage_.c_str(), nullptr);
      }
      ::_exit(127);
    }
  }
  pid_t pid() const { return pid_; }
  void Kill() { Signal(SIGKILL); }
  int Term() { return Signal(SIGTERM); }
  // Waits until the log holds `n` lines containing `what` (it accumulates across restarts).
  int CountLog(const std::string& what) const {
    std::ifstream in(log_);
    std::string line;
    int seen = 0;
    while (std::getline(in, line)) seen += line.find(what) != std::string::npos;
    return seen;
  }
  bool WaitForLog(const std::string& what, int n) const {
    return WaitFor([&] { return CountLog(what) >= n; });
  }
  std::string Tail() const {
    std::ifstream in(log_);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    return all.size() > 6000 ? all.substr(all.size() - 6000) : all;
  }

 private:
  int Signal(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string config_, log_, stage_;
  pid_t pid_ = -1;
};

}  // namespace ghostlog::capture::testing
