// ghostlog compact / retention / verify: on-demand cleanup and checking.
#include <iostream>

#include "cli_common.h"

namespace ghostlog::cli {
namespace {

struct MaintenanceArgs {
  std::string topic;  // empty: every topic
};

void PrintStats(const log::CleanupStats& s) {
  std::cout << "removed " << s.records_removed << " records (" << s.bytes_reclaimed << " bytes reclaimed, "
            << s.tombstones_removed << " tombstones) from " << s.partitions_cleaned << " partition(s)\n";
}

std::optional<std::string> TopicOrAll(const MaintenanceArgs& a) {
  return a.topic.empty() ? std::nullopt : std::optional<std::string>(a.topic);
}

Status Compact(const Context& ctx, const MaintenanceArgs& a) {
  ASSIGN_OR_RAISE(auto lg, OpenEmbeddedWriter(ctx, "compact"));
  ASSIGN_OR_RAISE(log::CleanupStats s, lg->Compact(TopicOrAll(a)));
  PrintStats(s);
  return Status::OK();
}

Status Retention(const Context& ctx, const MaintenanceArgs& a) {
  ASSIGN_OR_RAISE(auto lg, OpenEmbeddedWriter(ctx, "retention"));
  ASSIGN_OR_RAISE(log::CleanupStats s, lg->ApplyRetention(TopicOrAll(a)));
  PrintStats(s);
  return Status::OK();
}

Status Verify(const Context& ctx, const MaintenanceArgs&) {
  ASSIGN_OR_RAISE(auto lg, OpenEmbeddedReader(ctx, "verify"));
  ASSIGN_OR_RAISE(log::VerifyReport report, lg->Verify());
  for (const auto& p : report.problems) std::cout << "problem: " << p << '\n';
  std::cout << "checked " << report.records_checked << " records, " << report.problems.size() << " problem(s)\n";
  if (!report.ok()) return Status::Corruption("verify found " + std::to_string(report.problems.size()) + " problem(s)");
  return Status::OK();
}

}  // namespace

void AddMaintenanceCommands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<MaintenanceArgs>();
  auto bind = [&ctx, a](Status (*fn)(const Context&, const MaintenanceArgs&)) {
    return [&ctx, a, fn] { ctx.run = [&ctx, a, fn] { return fn(ctx, *a); }; };
  };
  auto* compact = app.add_subcommand("compact", "Compact topics whose cleanup.policy includes compact, now");
  compact->add_option("topic", a->topic, "Only this topic (default: all)");
  compact->callback(bind(Compact));
  auto* retention = app.add_subcommand("retention", "Apply retention.ms/retention.bytes to delete-policy topics, now");
  retention->add_option("topic", a->topic, "Only this topic (default: all)");
  retention->callback(bind(Retention));
  auto* verify = app.add_subcommand("verify", "Check every record and index; exit 1 on any problem");
  verify->callback(bind(Verify));
}

}  // namespace ghostlog::cli
