// ghostlog: the operator CLI, shaped after Kafka's kafka-topics,
// kafka-console-producer/consumer and kafka-consumer-groups.
//
// Exit codes: 0 success, 1 the command failed, 2 usage error. Errors are one
// line on stderr, "ghostlog: <message>"; nothing escapes main() as an abort.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>

#include "cli_common.h"

// jemalloc (linked into this binary) returns what a burst freed to the system
// from its own thread, on a 10 s decay, even while the daemon is idle: without
// it the RSS after a large batch would stay at the peak.
extern "C" {
// NOLINTNEXTLINE: jemalloc reads its options from this global.
const char* malloc_conf = "background_thread:true";
}

namespace {

int Fail(const std::string& message, int code) {
  std::cerr << "ghostlog: " << message << '\n';
  return code;
}

int Run(int argc, char** argv) {
  using namespace ghostlog::cli;
  CLI::App app{"ghostlog: change data capture from PostgreSQL to PostgreSQL (capture, transform, sink) over an embedded changelog", "ghostlog"};
  app.set_version_flag("--version", "ghostlog " GHOSTLOG_VERSION);
  app.fallthrough();  // --data-dir may also come after the subcommand, as in Kafka's tools
  app.require_subcommand(1);
  Context ctx;
  auto* data_dir = app.add_option("--data-dir", ctx.data_dir, "Data directory of the changelog (or GHOSTLOG_DATA_DIR)");
  app.add_option("--config", ctx.config_path,
                 "The daemon's config file: work on the changelog it names (its data_dir, or its Kafka cluster)");

  AddTopicsCommands(app, ctx);
  AddRecordsCommands(app, ctx);
  AddGroupsCommands(app, ctx);
  AddMaintenanceCommands(app, ctx);
  AddDaemonCommands(app, ctx);
  AddCopyCommands(app, ctx);

  try {
    app.parse(argc, argv);
    if (!ctx.run) throw UsageError("no command given");
    if (ctx.needs_data_dir) {
      if (!ctx.config_path.empty() && data_dir->count() > 0) {
        throw UsageError("--data-dir and --config both name a changelog; pass one");
      }
      // The variable is read here, not by CLI11, so that --config overrides it.
      const char* env = std::getenv("GHOSTLOG_DATA_DIR");
      if (ctx.config_path.empty() && ctx.data_dir.empty() && env != nullptr) ctx.data_dir = env;
      if (ctx.config_path.empty() && ctx.data_dir.empty()) {
        throw UsageError("no changelog: pass --data-dir DIR or --config FILE, or set GHOSTLOG_DATA_DIR");
      }
    }
    const ghostlog::Status st = ctx.run();
    return st.ok() ? 0 : Fail(st.message(), 1);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string message = e.what();
    // CLI11 reports a missing subcommand before the word it could not place
    // ("ghostlog bogus": "A subcommand is required"); name that word instead.
    const auto rest = app.remaining(true);
    if (!rest.empty() && std::string(e.get_name()) == "RequiredError") {
      message = (rest[0].starts_with("-") ? "unknown option '" : "unknown command '") + rest[0] + "'";
    }
    return Fail(message + " (see --help)", 2);
  } catch (const UsageError& e) {
    return Fail(std::string(e.what()) + " (see --help)", 2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Last line of defence: a library exception becomes one line, never an abort.
  try {
    return Run(argc, argv);
  } catch (const nlohmann::json::exception& e) {
    return Fail(std::string("JSON error: ") + e.what(), 1);
  } catch (const std::exception& e) {
    return Fail(std::string("internal error: ") + e.what(), 1);
  } catch (...) {
    return Fail("internal error: unknown exception", 1);
  }
}
