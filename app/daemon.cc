#include "daemon.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon_status.h"
#include "ghostlog/capture/doctor.h"
#include "ghostlog/log/embedded_log.h"
#include "ghostlog/log/kafka_log.h"
#include "ghostlog/log/key_indexed_log.h"
#include "http_server.h"

namespace ghostlog::cli {
namespace {

// Free space the data dir must have before a paused pipeline starts again: a
// full memtable budget (64 MiB, flushed at open) with room to spare, so the
// restart does not fill the disk again at once.
constexpr uint64_t kResumeFreeBytes = 256ull << 20;

// One opening of the changelog with the stages running on it. A full data
// dir ends a session: the log refuses writes after a failed one, so the
// daemon stops the stages, closes the log, waits for space and starts a new
// session, whose open recovers the WAL up to the failed write as after a crash.
struct Session {
  std::unique_ptr<log::Changelog> log;
  log::EmbeddedLog* embedded = nullptr;  // `log`, when it is the embedded changelog
  // On Kafka, the transform's view of `log`: key reads from a local index
  // (log/include/ghostlog/log/key_indexed_log.h).
  std::unique_ptr<log::KeyIndexedLog> key_index;
  std::unique_ptr<capture::Capture> cap;
  std::unique_ptr<transform::Transform> tfm;
  std::unique_ptr<sink::Sink> snk;
  std::vector<std::unique_ptr<StageRun>> runs;
  TopicEnds ends;  // of the topics the transform and the sink follow

  ~Session() { Stop(); }
  // Asks every stage to stop. A stage still waiting on a Kafka cluster after
  // a grace period (a write's acknowledgements while the brokers are down)
  // has its changelog calls interrupted: the write is not committed and the
  // next start repeats it, and the daemon stops inside systemd's
  // TimeoutStopSec instead of waiting out librdkafka's timeouts.
  void Stop() {
    for (auto& r : runs) r->thread.request_stop();
    ends.RequestStop();
    const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
    auto all_done = [&] { return std::all_of(runs.begin(), runs.end(), [](const auto& r) { return r->done.load(); }); };
    while (!all_done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!all_done() && log) {
      spdlog::warn("a stage is still waiting on the changelog {} s after the stop: interrupting it",
                   kStopGrace.count());
      log->Interrupt();
    }
    for (auto& r : runs) {
      if (r->thread.joinable()) r->thread.join();
    }
    ends.Join();
  }
  static constexpr std::chrono::seconds kStopGrace{3};
  nlohmann::json Status(const DaemonConfig& c) {
    ends.Refresh(std::chrono::milliseconds(200));
    return StatusJson(c, cap.get(), tfm.get(), snk.get(), runs, ends);
  }
  // Why the session cannot go on: a stage's error, or the log's.
  ghostlog::Status Failure() const {
    for (const auto& r : runs) {
      if (r->done && !r->result.ok()) return r->result;
    }
    return LogFailure();
  }
  // The embedded log's failed write or fsync (a Kafka producer's fatal error
  // reaches the stages as their own).
  ghostlog::Status LogFailure() const { return embedded != nullptr ? embedded->FatalError() : ghostlog::Status::OK(); }
  bool AllDone() const {
    for (const auto& r : runs) {
      if (!r->done) return false;
    }
    return true;
  }
};

void StartStage(Session& session, const std::string& name, std::function<Status(std::stop_token)> fn) {
  auto r = std::make_unique<StageRun>();
  r->name = name;
  StageRun* raw = r.get();
  r->thread = std::jthread([raw, fn = std::move(fn)](std::stop_token stop) {
    // "gl-sink" etc. in top -H, ps -L and /proc/PID/task/*/comm: which
    // stage uses the CPU. Linux allows 15 characters; a failure only loses the name.
    pthread_setname_np(pthread_self(), ("gl-" + raw->name).substr(0, 15).c_str());
    raw->result = fn(stop);
    if (!raw->result.ok()) spdlog::error("{} stopped: {}", raw->name, raw->result.ToString());
    raw->done = true;
  });
  session.runs.push_back(std::move(r));
}

// Opens the changelog and starts the selected stages on it.
Result<std::unique_ptr<Session>> StartSession(DaemonConfig& config, const RunOptions& options) {
  auto want = [&](const std::string& stage) { return options.stages.empty() || options.stages.count(stage); };
  auto session = std::make_unique<Session>();
  if (config.kafka) {
    // The data dir keeps only status.json then; the embedded log would make it.
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) return Status::IOError("cannot create the data dir " + config.data_dir + ": " + ec.message());
    auto opened = log::KafkaLog::Open(*config.kafka);
    if (!opened.ok()) return opened.status().WithContext("cannot open the changelog on Kafka");
    session->log = std::move(opened).value();
  } else {
    log::EmbeddedLogOptions lo;
    lo.data_dir = config.data_dir;
    lo.fsync = config.fsync;
    lo.fsync_interval = config.fsync_interval;
    auto opened = log::EmbeddedLog::Open(lo);
    if (!opened.ok()) return opened.status().WithContext("cannot open the changelog");
    session->embedded = opened->get();
    session->log = std::move(opened).value();
  }
  log::Changelog& log = *session->log;
  if (config.capture && want("capture")) {
    config.capture->resnapshot = options.resnapshot;
    session->cap = std::make_unique<capture::Capture>(*config.capture, log);
    capture::Capture* cap = session->cap.get();
    const capture::CaptureConfig* cc = &*config.capture;
    const std::string path = config.path;
    StartStage(*session, "capture", [cap, cc, path](std::stop_token s) -> Status {
      // The preflight at start: warnings are logged; a failed check other than
      // reachability (which capture retries) stops the stage with its advice.
      const capture::DoctorReport report = capture::Doctor(*cc);
      const capture::DoctorCheck* conn = report.Find("connection");
      for (const auto& c : report.checks) {
        if (c.result == capture::DoctorCheck::Result::kWarning) spdlog::warn("doctor: {}: {}", c.name, c.message);
        if (c.result == capture::DoctorCheck::Result::kFailed) spdlog::error("doctor: {}: {}", c.name, c.message);
      }
      const bool reachable = conn == nullptr || conn->result != capture::DoctorCheck::Result::kFailed;
      if (!report.ok() && reachable) {
        return Status::InvalidArgument("the source failed its preflight checks (run `ghostlog doctor --config " +
                                       path + "`)");
      }
      return cap->Run(s);
    });
  }
  if (config.transform && want("transform")) {
    log::Changelog* tlog = &log;
    if (config.kafka) {
      auto index = log::KeyIndexedLog::Open(log, (std::filesystem::path(config.data_dir) / "transform-index").string());
      if (!index.ok()) return index.status().WithContext("cannot open the transform's key index");
      session->key_index = std::move(index).value();
      tlog = session->key_index.get();
    }
    session->tfm = std::make_unique<transform::Transform>(*config.transform, *tlog);
    transform::Transform* tfm = session->tfm.get();
    StartStage(*session, "transform", [tfm](std::stop_token s) { return tfm->Run(s); });
  }
  if (config.sink && want("sink")) {
    session->snk = std::make_unique<sink::Sink>(*config.sink, log);
    sink::Sink* snk = session->snk.get();
    StartStage(*session, "sink", [snk](std::stop_token s) { return snk->Run(s); });
  }
  std::vector<std::string> followed;
  if (session->tfm) followed.push_back(config.transform->input_prefix + ".transaction");
  if (session->snk) followed.push_back(config.sink->transaction_topic);
  session->ends.Start(log, std::move(followed));
  return session;
}

// Free bytes on the data dir's file system. A failed statvfs counts as none
// free (the pipeline stays paused) and is reported, once per errno.
uint64_t FreeBytes(const std::string& dir) {
  static int reported_errno = 0;
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) {
    if (errno != reported_errno) {
      reported_errno = errno;
      spdlog::error("cannot read the free space of the data dir {}: {}; staying paused", dir, std::strerror(errno));
    }
    return 0;
  }
  reported_errno = 0;
  return static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
}

}  // namespace

int RunDaemon(DaemonConfig config, const RunOptions& run_options) {
  RunOptions options = run_options;
  auto logger = spdlog::stderr_logger_mt("ghostlog");
  // journald adds its own timestamps; one line per event, no colours.
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  // Signals are taken synchronously by the main thread only.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  for (const auto& s : options.stages) {
    if ((s == "capture" && !config.capture) || (s == "transform" && !config.transform) ||
        (s == "sink" && !config.sink)) {
      spdlog::error("--stage {} is not configured in {}", s, config.path);
      return 2;
    }
  }
  if (!config.capture && !config.transform && !config.sink) {
    spdlog::error("{} configures no stage to run ([source], [transform] or [sink])", config.path);
    return 2;
  }
  auto started = StartSession(config, options);
  if (!started.ok()) {
    spdlog::error("{}", started.status().message());
    return 1;
  }
  std::unique_ptr<Session> session = std::move(started).value();
  options.resnapshot = false;  // a session started again after a pause resumes, it does not start over

  std::mutex status_mu;
  nlohmann::json status = session->Status(config);
  std::unique_ptr<HttpServer> http;
  if (!config.http_listen.empty()) {
    auto server = HttpServer::Start(config.http_listen, [&](const std::string& target) -> HttpResponse {
      std::lock_guard l(status_mu);
      if (target == "/metrics") return {200, "text/plain; version=0.0.4", Metrics(status)};
      if (target == "/health") {
        std::string why;
        for (const auto& [name, st] : status["stages"].items()) {
          if (st["state"] != "running") why += name + " is " + st["state"].get<std::string>() + "; ";
        }
        if (status.contains("paused")) why += "paused: " + status["paused"].get<std::string>();
        if (why.empty()) return {200, "text/plain; charset=utf-8", "ok\n"};
        return {503, "text/plain; charset=utf-8", why + "\n"};
      }
      return {404, "text/plain; charset=utf-8", "not found: only /health and /metrics\n"};
    });
    if (!server.ok()) {
      spdlog::error("{}", server.status().message());
      return 1;
    }
    http = std::move(server).value();
    spdlog::info("http: serving /health and /metrics on {}", config.http_listen);
  }
  spdlog::info("ghostlog {} running (pid {}, data dir {}, changelog {})", GHOSTLOG_VERSION, ::getpid(), config.data_dir,
               config.kafka ? "on Kafka at " + config.kafka->bootstrap_servers : "embedded");
  // systemd (Type=notify): ready once every stage runs and /health answers;
  // then a watchdog ping each turn of this loop while nothing has failed, so a
  // wedged main loop gets the service restarted. Without NOTIFY_SOCKET these
  // calls do nothing.
  sd_notifyf(0, "READY=1\nSTATUS=running: %zu stage(s)\nMAINPID=%lu", session->runs.size(),
             static_cast<unsigned long>(::getpid()));
  uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  const long tick_ns =
      watchdog ? std::min<long>(1'000'000'000L, static_cast<long>(watchdog_usec) * 1000 / 2) : 1'000'000'000L;
  if (watchdog) spdlog::info("systemd watchdog: pinging every {} ms", tick_ns / 1'000'000);

  std::string status_file_error;  // the last failure to write status.json, if any
  auto publish = [&](nlohmann::json j) {
    // `ghostlog status` reads this file: a failure to write it is logged
    // (once until it changes), since the status would otherwise go stale unseen.
    if (Status w = WriteStatusFile(config.data_dir, j); w.message() != status_file_error) {
      status_file_error = w.message();
      if (!w.ok()) spdlog::error("{}; `ghostlog status` shows an older status until it works again", w.message());
    }
    std::lock_guard l(status_mu);
    status = std::move(j);
  };
  int exit_code = 0;
  std::string paused;  // why the pipeline is paused (no session); empty while it runs
  for (;;) {
    timespec wait{tick_ns / 1'000'000'000L, tick_ns % 1'000'000'000L};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: logs go to stderr (journald); nothing to reopen");
    } else if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (!paused.empty()) {
      // Paused on a full data dir: the process stays up (systemd keeps it,
      // /health says why) and starts a new session once there is room.
      publish(PausedStatusJson(config, paused));
      sd_notifyf(0, "%sSTATUS=paused: %s", watchdog ? "WATCHDOG=1\n" : "", paused.c_str());
      const uint64_t free_bytes = FreeBytes(config.data_dir);
      if (free_bytes < kResumeFreeBytes) continue;
      auto again = StartSession(config, options);
      if (!again.ok() && again.status().IsNoSpace()) continue;
      if (!again.ok()) {
        spdlog::critical("{}", again.status().message());
        exit_code = 1;
        break;
      }
      session = std::move(again).value();
      spdlog::warn("the data dir has {} MiB free again: the pipeline resumes", free_bytes >> 20);
      paused.clear();
      continue;
    }
    const Status failure = session->Failure();
    const bool all_done = session->AllDone();
    publish(session->Status(config));
    if (failure.IsNoSpace()) {
      paused = "the data dir " + config.data_dir + " is full";
      spdlog::critical("{}: {}. Every stage stops and nothing more is confirmed to the source; the pipeline "
                       "resumes by itself once {} MiB are free",
                       paused, failure.message(), kResumeFreeBytes >> 20);
      session.reset();  // stops and joins the stages, then closes the changelog
      publish(PausedStatusJson(config, paused));
      continue;
    }
    if (failure.ok()) {
      std::string line;
      for (const auto& [name, st] : status["stages"].items()) {
        line += (line.empty() ? "" : ", ") + name + " " + st.value("state", "?");
        if (st.contains("lag_transactions"))
          line += " (lag " + std::to_string(st["lag_transactions"].get<int64_t>()) + ")";
      }
      sd_notifyf(0, "%sSTATUS=%s", watchdog ? "WATCHDOG=1\n" : "", line.c_str());
    } else {
      if (Status f = session->LogFailure(); !f.ok()) spdlog::critical("changelog failed: {}", f.message());
      exit_code = 1;
      break;
    }
    if (all_done) break;
  }
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  if (session) {
    session->Stop();
    for (const auto& r : session->runs) {
      if (!r->result.ok() && !r->result.IsNoSpace()) exit_code = 1;
    }
    if (Status w = WriteStatusFile(config.data_dir, session->Status(config)); !w.ok()) spdlog::error("{}", w.message());
    session.reset();
  }
  http.reset();
  spdlog::info("stopped");
  return exit_code;
}

}  // namespace ghostlog::cli
