// What every ghostlog subcommand shares: which changelog (a data dir, or the
// one a config file names), opening it in the right mode, Kafka-style error
// messages, datetime parsing and table output.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ghostlog/log/embedded_log.h"

namespace ghostlog::cli {

using log::EmbeddedLog;
using log::Offset;
using log::PartitionId;
using log::Timestamp;

// Filled by CLI11 while parsing; the chosen subcommand stores its action in
// `run`, and main() runs it after parsing succeeded (so a usage error never
// half-runs a command).
struct Context {
  std::string data_dir;
  // --config: the daemon's config file; its changelog (data_dir, or the Kafka
  // cluster of `[log] backend = "kafka"`) instead of --data-dir.
  std::string config_path;
  std::function<Status()> run;
  bool needs_data_dir = true;  // daemon commands take it from their config file
};

// A usage error found after CLI11's parse (e.g. an option combination it
// cannot express); main() reports it like a parse error, with exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// CLI11 check for counts (--partitions, --max-records): an integer >= 1.
CLI::Validator Positive();

// Read-only commands: on a data dir a RocksDB secondary, which works while a
// writer runs.
Result<std::unique_ptr<log::Changelog>> OpenReader(const Context& ctx);
// Write commands. On a data dir they take its writer lock; `busy_hint`
// replaces the default advice after "data dir X is locked by PID n". On Kafka
// nothing is locked (the brokers serialize), and records are appended by an
// idempotent producer without a transactional.id, so a CLI write never
// fences the daemon's producer.
Result<std::unique_ptr<log::Changelog>> OpenWriter(const Context& ctx, bool create_if_missing = false,
                                                   const std::string& busy_hint = "");
// The destination of `log copy`: a data dir (created if missing, locked), or a
// Kafka cluster with a transactional producer of its own (the daemon's
// transactional.id + ".copy") for the checkpoints.
Result<std::unique_ptr<log::Changelog>> OpenCopyTarget(const Context& ctx);
// For commands only the embedded changelog has (compact, retention, verify):
// on a Kafka config, an error that says why `command` does not apply.
Result<std::unique_ptr<EmbeddedLog>> OpenEmbeddedReader(const Context& ctx, const std::string& command);
Result<std::unique_ptr<EmbeddedLog>> OpenEmbeddedWriter(const Context& ctx, const std::string& command);

// "offset 9 is out of range [0, 3] for topic orders partition 0"
Status OffsetOutOfRange(Offset offset, Offset start, Offset end, const std::string& topic, PartitionId p);

// ISO 8601 → ms since the epoch: 2026-01-02T03:04:05Z, 2026-01-02T03:04:05.123+02:00,
// 2026-01-02 (midnight UTC). A time without an offset is taken as UTC.
Result<Timestamp> ParseDatetime(const std::string& text);

// Splits "key=value" (at the first '=') and applies it to `config`.
Status ApplyConfig(log::TopicConfig& config, const std::string& setting);

// Prints rows as left-aligned columns separated by two spaces; row 0 is the header.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// Subcommand registration, one per file.
void AddTopicsCommands(CLI::App& app, Context& ctx);
void AddRecordsCommands(CLI::App& app, Context& ctx);  // produce, consume
void AddGroupsCommands(CLI::App& app, Context& ctx);   // groups, offsets
void AddMaintenanceCommands(CLI::App& app, Context& ctx);  // compact, retention, verify
void AddDaemonCommands(CLI::App& app, Context& ctx);       // run, doctor, status
void AddCopyCommands(CLI::App& app, Context& ctx);         // log copy

}  // namespace ghostlog::cli
