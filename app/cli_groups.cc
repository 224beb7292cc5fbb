// ghostlog groups list|describe and offsets reset (kafka-consumer-groups).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <optional>

#include "cli_common.h"

namespace ghostlog::cli {
namespace {

struct GroupsArgs {
  std::string group;
  std::string topic;
  bool json = false;
  // offsets reset: exactly one target
  bool to_earliest = false;
  bool to_latest = false;
  std::optional<Offset> to_offset;
  std::string to_datetime;
  std::optional<int64_t> shift_by;
  bool execute = false;
};

Status List(const Context& ctx, const GroupsArgs& a) {
  ASSIGN_OR_RAISE(auto lg, OpenReader(ctx));
  ASSIGN_OR_RAISE(auto groups, lg->ListGroups());
  if (a.json) {
    std::cout << nlohmann::json(groups).dump() << '\n';
  } else {
    for (const auto& g : groups) std::cout << g << '\n';
  }
  return Status::OK();
}

Status Describe(const Context& ctx, const GroupsArgs& a) {
  ASSIGN_OR_RAISE(auto lg, OpenReader(ctx));
  ASSIGN_OR_RAISE(log::GroupInfo info, lg->DescribeGroup(a.group));
  if (a.json) {
    nlohmann::ordered_json parts = nlohmann::ordered_json::array();
    for (const auto& p : info.partitions) {
      parts.push_back({{"topic", p.topic},
                       {"partition", p.partition},
                       {"committed", p.committed},
                       {"end_offset", p.end_offset},
                       {"lag", p.lag}});
    }
    nlohmann::ordered_json j{{"group", info.group}, {"total_lag", info.total_lag()}, {"partitions", parts}};
    std::cout << j.dump() << '\n';
    return Status::OK();
  }
  std::vector<std::vector<std::string>> rows{{"GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"}};
  for (const auto& p : info.partitions) {
    rows.push_back({info.group, p.topic, std::to_string(p.partition), std::to_string(p.committed),
                    std::to_string(p.end_offset), std::to_string(p.lag)});
  }
  PrintTable(rows);
  return Status::OK();
}

struct Plan {
  log::TopicPartition tp;
  std::optional<Offset> old_offset;  // nullopt: the group never committed here
  Offset new_offset = 0;
};

Result<Plan> PlanPartition(log::Changelog& lg, const GroupsArgs& a, const log::TopicPartition& tp,
                           std::optional<Timestamp> since) {
  ASSIGN_OR_RAISE(log::PartitionInfo pi, lg.DescribePartition(tp));
  Plan plan{tp, std::nullopt, 0};
  auto c = lg.Committed(a.group, tp);
  if (c.ok()) {
    plan.old_offset = c->offset;
  } else if (!c.status().IsNotFound()) {
    return c.status();
  }
  if (a.to_earliest) {
    plan.new_offset = pi.log_start_offset;
  } else if (a.to_latest) {
    plan.new_offset = pi.end_offset;
  } else if (a.to_offset) {
    if (*a.to_offset < pi.log_start_offset || *a.to_offset > pi.end_offset) {
      return OffsetOutOfRange(*a.to_offset, pi.log_start_offset, pi.end_offset, tp.topic, tp.partition);
    }
    plan.new_offset = *a.to_offset;
  } else if (since) {
    ASSIGN_OR_RAISE(plan.new_offset, lg.OffsetForTimestamp(tp, *since));
  } else {
    // Kafka clamps shift-by to the log; no commit yet counts as the log start.
    const Offset base = plan.old_offset.value_or(pi.log_start_offset);
    plan.new_offset = std::clamp(base + *a.shift_by, pi.log_start_offset, pi.end_offset);
  }
  return plan;
}

Status ResetOffsets(const Context& ctx, const GroupsArgs& a) {
  std::optional<Timestamp> since;
  if (!a.to_datetime.empty()) {
    ASSIGN_OR_RAISE(since, ParseDatetime(a.to_datetime));
  }
  // A dry run only reads, so it works while a ghostlog writer runs; applying
  // needs the writer lock, as Kafka needs the group to be inactive.
  ASSIGN_OR_RAISE(auto lg, a.execute ? OpenWriter(ctx, false,
                                                  "stop it first: offsets can only be reset while no ghostlog "
                                                  "writes to the data dir (without --execute this is a dry run)")
                                     : OpenReader(ctx));
  ASSIGN_OR_RAISE(const int32_t partitions, lg->PartitionCount(a.topic));
  std::vector<Plan> plans;
  for (PartitionId p = 0; p < partitions; ++p) {
    ASSIGN_OR_RAISE(Plan plan, PlanPartition(*lg, a, {a.topic, p}, since));
    plans.push_back(std::move(plan));
  }
  for (const Plan& p : plans) {
    std::cout << p.tp.topic << ' ' << p.tp.partition << ' '
              << (p.old_offset ? std::to_string(*p.old_offset) : std::string("-")) << " -> " << p.new_offset << '\n';
  }
  if (!a.execute) {
    std::cout << "(dry run: add --execute to apply)\n";
    return Status::OK();
  }
  std::vector<std::pair<log::TopicPartition, log::CommittedOffset>> commits;
  for (const Plan& p : plans) commits.push_back({p.tp, {p.new_offset, "", 0}});
  RETURN_NOT_OK(lg->CommitOffsets(a.group, commits));  // all partitions or none
  std::cout << "reset group " << a.group << " on " << plans.size() << " partition(s) of topic " << a.topic << '\n';
  return Status::OK();
}

}  // namespace

void AddGroupsCommands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<GroupsArgs>();
  auto bind = [&ctx, a](Status (*fn)(const Context&, const GroupsArgs&)) {
    return [&ctx, a, fn] { ctx.run = [&ctx, a, fn] { return fn(ctx, *a); }; };
  };

  auto* groups = app.add_subcommand("groups", "List and describe consumer groups");
  groups->require_subcommand(1);
  auto* list = groups->add_subcommand("list", "List group names");
  list->add_flag("--json", a->json, "Print one JSON array");
  list->callback(bind(List));
  auto* describe = groups->add_subcommand("describe", "Committed offset, end offset and lag per partition");
  describe->add_option("group", a->group, "Group name")->required();
  describe->add_flag("--json", a->json, "Print one JSON document");
  describe->callback(bind(Describe));

  auto* offsets = app.add_subcommand("offsets", "Manage a group's committed offsets");
  offsets->require_subcommand(1);
  auto* reset = offsets->add_subcommand(
      "reset", "Plan (default) or apply (--execute) new committed offsets for every partition of a topic");
  reset->add_option("--group", a->group, "Group name")->required();
  reset->add_option("--topic", a->topic, "Topic name")->required();
  auto* target = reset->add_option_group("target", "Where to reset to (exactly one)");
  target->add_flag("--to-earliest", a->to_earliest, "The log start");
  target->add_flag("--to-latest", a->to_latest, "The end (skip everything)");
  target->add_option("--to-offset", a->to_offset, "This offset (must be within the log)");
  target->add_option("--to-datetime", a->to_datetime, "The first record at or after this ISO 8601 time");
  target->add_option("--shift-by", a->shift_by, "Current committed offset plus N (may be negative), clamped");
  target->require_option(1);
  reset->add_flag("--execute", a->execute, "Apply the plan (needs the writer lock); otherwise only print it");
  reset->callback(bind(ResetOffsets));
}

}  // namespace ghostlog::cli
