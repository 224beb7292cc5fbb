// Runs the real ghostlog binary: one-shot commands (stdin from a file,
// stdout/stderr captured to files, bounded wait) and background children
// whose stdout is read line by line with a deadline.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ghostlog::cli_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct RunResult {
  int code = -1;  // exit code; 128+signal if killed
  std::string out, err;
};

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// In the child: exec ghostlog with `args`; `env` entries are "K=V" to set or
// "K" to unset. Never returns.
[[noreturn]] inline void ExecGhostlog(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  for (const auto& e : env) {
    const auto eq = e.find('=');
    if (eq == std::string::npos) {
      ::unsetenv(e.c_str());
    } else {
      ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
    }
  }
  std::vector<char*> argv{const_cast<char*>(GHOSTLOG_BIN)};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(GHOSTLOG_BIN, argv.data());
  ::_exit(127);
}

inline void Redirect(const fs::path& p, int target, int flags) {
  const int fd = ::open(p.c_str(), flags, 0644);
  if (fd < 0) ::_exit(126);
  ::dup2(fd, target);
  ::close(fd);
}

// Runs ghostlog to completion (killed after 30 s so that a hang fails the test
// instead of the whole suite). `scratch` holds the stdin/stdout/stderr files.
inline RunResult RunGhostlog(const fs::path& scratch, const std::vector<std::string>& args, const std::string& input,
                             const std::vector<std::string>& env) {
  const fs::path in = scratch / "stdin", out = scratch / "stdout", err = scratch / "stderr";
  std::ofstream(in, std::ios::binary) << input;
  const pid_t pid = ::fork();
  if (pid == 0) {
    Redirect(in, 0, O_RDONLY);
    Redirect(out, 1, O_WRONLY | O_CREAT | O_TRUNC);
    Redirect(err, 2, O_WRONLY | O_CREAT | O_TRUNC);
    ExecGhostlog(args, env);
  }
  RunResult r;
  int status = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.err = "TIMED OUT; ";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.code = ExitCode(status);
  r.out = ReadFile(out);
  r.err += ReadFile(err);
  return r;
}

// ghostlog with `changelog` ({"--data-dir", D} or {"--config", F}) before
// `args`, GHOSTLOG_DATA_DIR unset.
inline RunResult RunOn(const fs::path& scratch, const std::vector<std::string>& changelog,
                       const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> full = changelog;
  full.insert(full.end(), args.begin(), args.end());
  return RunGhostlog(scratch, full, input, {"GHOSTLOG_DATA_DIR"});
}

// The stdout of a run that must succeed quietly: exit 0, nothing on stderr.
inline std::string OkOut(const RunResult& r) {
  EXPECT_EQ(r.code, 0) << "stderr: " << r.err;
  EXPECT_EQ(r.err, "");
  return r.out;
}

// Consumed records: one JSON document per line.
inline std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// A ghostlog left running (consume --follow); stdout is a pipe.
class Child {
 public:
  Child(const fs::path& err_file, const std::vector<std::string>& args, const std::vector<std::string>& env)
      : err_file_(err_file) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      Redirect("/dev/null", 0, O_RDONLY);
      Redirect(err_file, 2, O_WRONLY | O_CREAT | O_TRUNC);
      ExecGhostlog(args, env);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
  }
  ~Child() {
    if (running()) Stop(SIGKILL);
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !stopped_; }

  // The next stdout line (without '\n'), or "" if none arrives within `timeout`.
  std::string ReadLine(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return "";
      pollfd pfd{out_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
      if (n <= 0) return "";  // the child exited
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Sends `sig` and reaps the child; returns its exit code.
  int Stop(int sig = SIGTERM) {
    if (!running()) return -1;
    ::kill(pid_, sig);
    int status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    stopped_ = true;
    return ExitCode(status);
  }

  std::string err() const { return ReadFile(err_file_); }

 private:
  fs::path err_file_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool stopped_ = false;
  std::string buf_;
};

}  // namespace ghostlog::cli_test
