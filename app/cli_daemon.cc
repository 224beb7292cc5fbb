// The daemon's commands: run, doctor, status.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "config.h"
#include "daemon.h"
#include "ghostlog/capture/doctor.h"

namespace ghostlog::cli {
namespace {

std::string Lsn(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(v >> 32), static_cast<unsigned>(v));
  return buf;
}

void PrintStatusText(nlohmann::json& st, bool alive, long pid) {
  std::cout << "daemon: " << (alive ? "running, pid " + std::to_string(pid) : std::string("not running"))
            << ", status written " << st["age_ms"].get<int64_t>() / 1000 << " s ago, RSS "
            << st.value("rss_bytes", int64_t{0}) / (1 << 20) << " MiB (peak "
            << st.value("peak_rss_bytes", int64_t{0}) / (1 << 20) << " MiB)\n";
  if (st.contains("paused")) std::cout << "paused: " << st["paused"].get<std::string>() << "\n";
  for (const auto& [name, s] : st["stages"].items()) {
    std::cout << name << ": " << s["state"].get<std::string>();
    if (!s.contains("transactions")) {
      // A paused pipeline has no stage figures: only the state and why.
    } else if (name == "capture") {
      std::cout << (s["streaming"].get<bool>() ? ", streaming" : ", not streaming") << ", " << s["transactions"]
                << " transactions, " << s["events"] << " events, snapshot " << s["snapshot_rows"] << "/"
                << s["snapshot_rows_estimated"] << " rows (" << s.value("snapshot_rows_per_second", int64_t{0})
                << " rows/s), confirmed LSN " << Lsn(s["confirmed_lsn"].get<uint64_t>()) << ", received LSN "
                << Lsn(s["received_lsn"].get<uint64_t>());
    } else if (name == "transform") {
      std::cout << ", " << s["transactions"] << " transactions, " << s["events_in"] << " events in, " << s["events_out"]
                << " out, offset " << s["committed_offset"] << " of " << s["end_offset"] << " (lag "
                << s["lag_transactions"] << " transactions), " << s["dead_lettered"] << " dead-lettered";
    } else if (name == "sink") {
      std::cout << (s["connected"].get<bool>() ? ", connected" : ", target unreachable") << ", " << s["transactions"]
                << " transactions, " << s["rows_written"] << " rows written, offset " << s["committed_offset"] << " of "
                << s["end_offset"] << " (lag " << s["lag_transactions"] << " transactions), " << s["dead_lettered"]
                << " dead-lettered";
    }
    if (!s["last_error"].get<std::string>().empty())
      std::cout << "\n  last error: " << s["last_error"].get<std::string>();
    std::cout << '\n';
  }
}

Status PrintStatus(const DaemonConfig& config, bool json) {
  const std::string path = config.data_dir + "/status.json";
  std::ifstream in(path);
  if (!in) return Status::NotFound("no status in " + config.data_dir + ": the daemon has not run with this config");
  nlohmann::json st = nlohmann::json::parse(in, nullptr, false);
  if (st.is_discarded()) return Status::Corruption(path + " is not JSON");
  const long pid = st.value("pid", 0L);
  const bool alive = pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
  st["running"] = alive;
  st["age_ms"] = log::NowMs() - st.value("ts_ms", int64_t{0});
  if (json) {
    std::cout << st.dump(2) << '\n';
    return Status::OK();
  }
  // A status file is the daemon's, but may be old or hand-edited: a field of
  // the wrong type is reported, not thrown at the operator.
  try {
    PrintStatusText(st, alive, pid);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(path + " is not a status this ghostlog understands: " + e.what());
  }
  return Status::OK();
}


}  // namespace

void AddDaemonCommands(CLI::App& app, Context& ctx) {
  static std::string config_path;
  static std::vector<std::string> stages;
  static bool resnapshot = false, json = false;

  auto* run = app.add_subcommand("run", "Run the pipeline: every configured stage in one process");
  run->add_option("--config", config_path, "Configuration file (TOML)")->required();
  run->add_option("--stage", stages, "Run only this stage (capture, transform, sink); repeatable")
      ->check(CLI::IsMember({"capture", "transform", "sink"}));
  run->add_flag("--resnapshot", resnapshot,
                "Drop the replication slot and snapshot again (after a lost slot; re-sends every row)");
  run->callback([&ctx] {
    ctx.needs_data_dir = false;
    ctx.run = [] {
      ASSIGN_OR_RAISE(DaemonConfig c, LoadConfig(config_path));
      for (const auto& s : stages) {
        if ((s == "capture" && !c.capture) || (s == "transform" && !c.transform) || (s == "sink" && !c.sink)) {
          throw UsageError("--stage " + s + " is not configured in " + config_path);
        }
      }
      if (!c.capture && !c.transform && !c.sink) {
        throw UsageError(config_path + " configures no stage to run ([source], [transform] or [sink])");
      }
      RunOptions o;
      o.stages = {stages.begin(), stages.end()};
      o.resnapshot = resnapshot;
      const int code = RunDaemon(std::move(c), o);
      if (code != 0) std::exit(code);  // the daemon already logged why
      return Status::OK();
    };
  });

  auto* check =
      app.add_subcommand("check", "Check the configuration file and the mapping files it names, start nothing");
  check->add_option("--config", config_path, "Configuration file (TOML)")->required();
  check->callback([&ctx] {
    ctx.needs_data_dir = false;
    ctx.run = []() -> Status {
      ASSIGN_OR_RAISE(DaemonConfig c, LoadConfig(config_path));
      if (!c.capture && !c.transform && !c.sink) {
        // Valid, but `run` would refuse it: say so rather than "ok".
        std::cout << config_path << ": ok, but no stage is configured ([source], [transform] or [sink]); "
                  << "`ghostlog run` needs at least one\n";
        return Status::OK();
      }
      std::cout << config_path << ": ok (stages:" << (c.capture ? " capture" : "") << (c.transform ? " transform" : "")
                << (c.sink ? " sink" : "") << ")\n";
      return Status::OK();
    };
  });

  auto* doctor = app.add_subcommand("doctor", "Check the source: connectivity, wal_level, rights, publication, slot");
  doctor->add_option("--config", config_path, "Configuration file (TOML)")->required();
  doctor->add_flag("--json", json, "Print JSON");
  doctor->callback([&ctx] {
    ctx.needs_data_dir = false;
    ctx.run = []() -> Status {
      ASSIGN_OR_RAISE(DaemonConfig c, LoadConfig(config_path));
      if (!c.capture) return Status::InvalidArgument(config_path + " has no [source] section to check");
      const capture::DoctorReport report = capture::Doctor(*c.capture);
      std::cout << (json ? capture::ReportJson(report).dump(2) + "\n" : capture::FormatReport(report));
      if (!report.ok())
        return Status::InvalidArgument("the source is not ready for capture (see the FAILED checks above)");
      return Status::OK();
    };
  });

  auto* status = app.add_subcommand("status", "Show what a running (or the last) daemon is doing");
  status->add_option("--config", config_path, "Configuration file (TOML)")->required();
  status->add_flag("--json", json, "Print JSON");
  status->callback([&ctx] {
    ctx.needs_data_dir = false;
    ctx.run = [] {
      ASSIGN_OR_RAISE(DaemonConfig c, LoadConfig(config_path));
      return PrintStatus(c, json);
    };
  });
}

}  // namespace ghostlog::cli
