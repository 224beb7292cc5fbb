#include "daemon.h"

#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "ghostlog/capture/doctor.h"
#include "http_server.h"

namespace ghostlog::cli {
namespace {

struct StageRun {
  std::string name;
  std::jthread thread;
  std::atomic<bool> done{false};
  Status result;
};

int64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, rss = 0;
  in >> pages >> rss;
  return rss * sysconf(_SC_PAGESIZE);
}

// The status document: /health, /metrics and `ghostlog status` all read it.
nlohmann::json StatusJson(const DaemonConfig& c, const capture::Capture* cap, const transform::Transform* tfm,
                          const sink::Sink* snk, const std::vector<std::unique_ptr<StageRun>>& runs,
                          log::Changelog& log) {
  nlohmann::json j{
      {"pid", ::getpid()}, {"ts_ms", log::NowMs()}, {"rss_bytes", RssBytes()}, {"stages", nlohmann::json::object()}};
  auto state = [&](const std::string& name) -> std::pair<std::string, std::string> {
    for (const auto& r : runs) {
      if (r->name != name) continue;
      if (!r->done) return {"running", ""};
      return {r->result.ok() ? "stopped" : "failed", r->result.ok() ? "" : r->result.ToString()};
    }
    return {"not configured", ""};
  };
  if (cap != nullptr) {
    const auto& s = cap->stats();
    auto [st, err] = state("capture");
    j["stages"]["capture"] = {{"state", st},
                              {"last_error", err},
                              {"streaming", s.streaming.load()},
                              {"transactions", s.transactions.load()},
                              {"events", s.events.load()},
                              {"snapshot_rows", s.snapshot_rows.load()},
                              {"snapshot_rows_estimated", s.snapshot_rows_estimated.load()},
                              {"confirmed_lsn", s.confirmed_lsn.load()},
                              {"received_lsn", s.received_lsn.load()},
                              {"last_commit_ts_ms", s.last_commit_ts_ms.load()}};
  }
  if (tfm != nullptr) {
    const auto& s = tfm->stats();
    auto [st, err] = state("transform");
    int64_t end = 0;
    if (auto p = log.DescribePartition({c.transform->input_prefix + ".transaction", 0}); p.ok()) end = p->end_offset;
    j["stages"]["transform"] = {{"state", st},
                                {"last_error", err},
                                {"transactions", s.transactions.load()},
                                {"events_in", s.events_in.load()},
                                {"events_out", s.events_out.load()},
                                {"dead_lettered", s.dead_lettered.load()},
                                {"committed_offset", s.committed_offset.load()},
                                {"end_offset", end},
                                {"lag_transactions", std::max<int64_t>(0, end - s.committed_offset.load())},
                                {"last_source_ts_ms", s.last_source_ts_ms.load()}};
  }
  if (snk != nullptr) {
    const auto& s = snk->stats();
    auto [st, err] = state("sink");
    int64_t end = 0;
    if (auto p = log.DescribePartition({c.sink->transaction_topic, 0}); p.ok()) end = p->end_offset;
    j["stages"]["sink"] = {{"state", st},
                           {"last_error", err},
                           {"connected", s.connected.load()},
                           {"transactions", s.transactions.load()},
                           {"events", s.events.load()},
                           {"rows_written", s.rows_written.load()},
                           {"batches", s.batches.load()},
                           {"dead_lettered", s.dead_lettered.load()},
                           {"last_batch_ms", s.last_batch_ms.load()},
                           {"last_batch_events", s.last_batch_events.load()},
                           {"committed_offset", s.committed_offset.load()},
                           {"end_offset", end},
                           {"lag_transactions", std::max<int64_t>(0, end - s.committed_offset.load())},
                           {"last_source_ts_ms", s.last_source_ts_ms.load()}};
  }
  return j;
}

std::string Metrics(const nlohmann::json& st) {
  std::string out;
  auto gauge = [&](const std::string& name, const std::string& help, double v, const std::string& labels = "") {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + labels + " " +
           std::to_string(static_cast<int64_t>(v)) + "\n";
  };
  gauge("ghostlog_rss_bytes", "Resident memory of the daemon.", st["rss_bytes"].get<double>());
  if (st["stages"].contains("capture")) {
    const auto& c = st["stages"]["capture"];
    gauge("ghostlog_capture_transactions_total", "Source transactions captured.", c["transactions"].get<double>());
    gauge("ghostlog_capture_events_total", "Change events captured (snapshot rows included).",
          c["events"].get<double>());
    gauge("ghostlog_capture_snapshot_rows", "Rows read by the snapshot.", c["snapshot_rows"].get<double>());
    gauge("ghostlog_capture_snapshot_rows_estimated", "Estimated rows to snapshot.",
          c["snapshot_rows_estimated"].get<double>());
    gauge("ghostlog_capture_confirmed_lsn", "LSN confirmed to the source (durable in the changelog).",
          c["confirmed_lsn"].get<double>());
    gauge("ghostlog_capture_received_lsn", "Highest LSN received from the source.", c["received_lsn"].get<double>());
    gauge("ghostlog_capture_streaming", "1 while streaming from the slot.", c["streaming"].get<bool>() ? 1 : 0);
  }
  if (st["stages"].contains("transform")) {
    const auto& t = st["stages"]["transform"];
    gauge("ghostlog_transform_transactions_total", "Source transactions mapped.", t["transactions"].get<double>());
    gauge("ghostlog_transform_events_in_total", "Change events read by the transform.", t["events_in"].get<double>());
    gauge("ghostlog_transform_events_out_total", "Change events the mappings produced.", t["events_out"].get<double>());
    gauge("ghostlog_transform_dead_lettered_total", "Events sent to the transform's dead-letter topic.",
          t["dead_lettered"].get<double>());
    gauge("ghostlog_transform_lag_transactions", "Transactions captured but not yet mapped.",
          t["lag_transactions"].get<double>());
  }
  if (st["stages"].contains("sink")) {
    const auto& s = st["stages"]["sink"];
    gauge("ghostlog_sink_transactions_total", "Source transactions applied to the target.",
          s["transactions"].get<double>());
    gauge("ghostlog_sink_events_total", "Change events applied.", s["events"].get<double>());
    gauge("ghostlog_sink_rows_written_total", "Rows upserted or deleted in the target.",
          s["rows_written"].get<double>());
    gauge("ghostlog_sink_dead_lettered_total", "Events sent to the dead-letter topic.",
          s["dead_lettered"].get<double>());
    gauge("ghostlog_sink_lag_transactions", "Transactions in the changelog not yet applied.",
          s["lag_transactions"].get<double>());
    gauge("ghostlog_sink_last_batch_ms", "Duration of the last target transaction.", s["last_batch_ms"].get<double>());
    gauge("ghostlog_sink_last_batch_events", "Events in the last target transaction.",
          s["last_batch_events"].get<double>());
    const int64_t src = s["last_source_ts_ms"].get<int64_t>();
    gauge("ghostlog_sink_lag_seconds", "Age of the last applied source commit.",
          src > 0 ? static_cast<double>(log::NowMs() - src) / 1000.0 : 0);
  }
  return out;
}

// Written atomically (rename) so a reader never sees half a file.
void WriteStatusFile(const std::string& dir, const nlohmann::json& j) {
  const std::string tmp = dir + "/status.json.tmp", path = dir + "/status.json";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << '\n';
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
}

}  // namespace

int RunDaemon(DaemonConfig config, const RunOptions& options) {
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

  auto want = [&](const std::string& stage) { return options.stages.empty() || options.stages.count(stage); };
  for (const auto& s : options.stages) {
    if ((s == "capture" && !config.capture) || (s == "transform" && !config.transform) ||
        (s == "sink" && !config.sink)) {
      spdlog::error("--stage {} is not configured in {}", s, config.path);
      return 2;
    }
  }
  log::EmbeddedLogOptions lo;
  lo.data_dir = config.data_dir;
  lo.fsync = config.fsync;
  lo.fsync_interval = config.fsync_interval;
  auto opened = log::EmbeddedLog::Open(lo);
  if (!opened.ok()) {
    spdlog::error("cannot open the changelog: {}", opened.status().message());
    return 1;
  }
  std::unique_ptr<log::EmbeddedLog> log = std::move(opened).value();

  std::unique_ptr<capture::Capture> cap;
  std::unique_ptr<transform::Transform> tfm;
  std::unique_ptr<sink::Sink> snk;
  std::vector<std::unique_ptr<StageRun>> runs;
  auto start = [&](const std::string& name, std::function<Status(std::stop_token)> fn) {
    auto r = std::make_unique<StageRun>();
    r->name = name;
    StageRun* raw = r.get();
    r->thread = std::jthread([raw, fn = std::move(fn)](std::stop_token stop) {
      raw->result = fn(stop);
      if (!raw->result.ok()) spdlog::error("{} stopped: {}", raw->name, raw->result.ToString());
      raw->done = true;
    });
    runs.push_back(std::move(r));
  };
  if (config.capture && want("capture")) {
    config.capture->resnapshot = options.resnapshot;
    cap = std::make_unique<capture::Capture>(*config.capture, *log);
    start("capture", [&](std::stop_token s) -> Status {
      // The preflight at start: warnings are logged; a failed check other than
      // reachability (which capture retries) stops the stage with its advice.
      const capture::DoctorReport report = capture::Doctor(*config.capture);
      const capture::DoctorCheck* conn = report.Find("connection");
      for (const auto& c : report.checks) {
        if (c.result == capture::DoctorCheck::Result::kWarning) spdlog::warn("doctor: {}: {}", c.name, c.message);
        if (c.result == capture::DoctorCheck::Result::kFailed) spdlog::error("doctor: {}: {}", c.name, c.message);
      }
      const bool reachable = conn == nullptr || conn->result != capture::DoctorCheck::Result::kFailed;
      if (!report.ok() && reachable) {
        return Status::InvalidArgument("the source failed its preflight checks (run `ghostlog doctor --config " +
                                       config.path + "`)");
      }
      return cap->Run(s);
    });
  }
  if (config.transform && want("transform")) {
    tfm = std::make_unique<transform::Transform>(*config.transform, *log);
    start("transform", [&](std::stop_token s) { return tfm->Run(s); });
  }
  if (config.sink && want("sink")) {
    snk = std::make_unique<sink::Sink>(*config.sink, *log);
    start("sink", [&](std::stop_token s) { return snk->Run(s); });
  }
  if (runs.empty()) {
    spdlog::error("{} configures no stage to run ([source], [transform] or [sink])", config.path);
    return 2;
  }

  std::mutex status_mu;
  nlohmann::json status = StatusJson(config, cap.get(), tfm.get(), snk.get(), runs, *log);
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
        if (why.empty()) return {200, "text/plain; charset=utf-8", "ok\n"};
        return {503, "text/plain; charset=utf-8", why + "\n"};
      }
      return {404, "text/plain; charset=utf-8", "not found: only /health and /metrics\n"};
    });
    if (!server.ok()) {
      spdlog::error("{}", server.status().message());
      for (auto& r : runs) r->thread.request_stop();
      return 1;
    }
    http = std::move(server).value();
    spdlog::info("http: serving /health and /metrics on {}", config.http_listen);
  }
  spdlog::info("ghostlog {} running (pid {}, data dir {})", GHOSTLOG_VERSION, ::getpid(), config.data_dir);
  // systemd (Type=notify): ready once every stage runs and /health answers;
  // then a watchdog ping each turn of this loop while nothing has failed, so a
  // wedged main loop gets the service restarted. Without NOTIFY_SOCKET these
  // calls do nothing.
  sd_notifyf(0, "READY=1\nSTATUS=running: %zu stage(s)\nMAINPID=%lu", runs.size(),
             static_cast<unsigned long>(::getpid()));
  uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  const long tick_ns =
      watchdog ? std::min<long>(1'000'000'000L, static_cast<long>(watchdog_usec) * 1000 / 2) : 1'000'000'000L;
  if (watchdog) spdlog::info("systemd watchdog: pinging every {} ms", tick_ns / 1'000'000);

  int exit_code = 0;
  for (;;) {
    timespec wait{tick_ns / 1'000'000'000L, tick_ns % 1'000'000'000L};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: logs go to stderr (journald); nothing to reopen");
    } else if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    bool failed = false, all_done = true;
    for (const auto& r : runs) {
      failed |= r->done && !r->result.ok();
      all_done &= r->done.load();
    }
    {
      std::lock_guard l(status_mu);
      status = StatusJson(config, cap.get(), tfm.get(), snk.get(), runs, *log);
    }
    WriteStatusFile(config.data_dir, status);
    if (!failed && log->FatalError().ok()) {
      std::string line;
      for (const auto& [name, st] : status["stages"].items()) {
        line += (line.empty() ? "" : ", ") + name + " " + st.value("state", "?");
        if (st.contains("lag_transactions"))
          line += " (lag " + std::to_string(st["lag_transactions"].get<int64_t>()) + ")";
      }
      sd_notifyf(0, "%sSTATUS=%s", watchdog ? "WATCHDOG=1\n" : "", line.c_str());
    }
    if (failed) {
      exit_code = 1;
      break;
    }
    if (all_done) break;
    if (Status f = log->FatalError(); !f.ok()) {
      spdlog::critical("changelog failed: {}", f.message());
      exit_code = 1;
      break;
    }
  }
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  for (auto& r : runs) r->thread.request_stop();
  for (auto& r : runs) r->thread.join();
  for (const auto& r : runs) {
    if (!r->result.ok()) exit_code = 1;
  }
  WriteStatusFile(config.data_dir, StatusJson(config, cap.get(), tfm.get(), snk.get(), runs, *log));
  http.reset();
  spdlog::info("stopped");
  return exit_code;
}

}  // namespace ghostlog::cli
