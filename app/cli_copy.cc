// ghostlog log copy: copies a whole changelog into another one (a data dir
// into a Kafka cluster, back, or into a new data dir), keeping every record's
// offset, key, value, headers and timestamp, the topics' configs, the
// checkpoints and the groups' committed offsets. Because offsets are kept,
// everything that names an offset stays true in the copy: capture's
// checkpoint, the transform's group, and the sink's position stored in the
// target, which accepts the copy by the checkpoint "ghostlog.copied_from". A
// site moves to Kafka (or back) without a new snapshot of the source.
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_common.h"

namespace ghostlog::cli {
namespace {

struct CopyArgs {
  std::string to_data_dir;
  std::string to_config;
  std::vector<std::string> groups;
};

struct Copied {
  int64_t records = 0;
  std::vector<std::string> notes;  // what the copy could not keep, per partition
};

Status CopyPartition(log::Changelog& src, log::Changelog& dst, const log::TopicPartition& tp, Copied* copied) {
  ASSIGN_OR_RAISE(log::PartitionInfo from, src.DescribePartition(tp));
  ASSIGN_OR_RAISE(log::PartitionInfo to, dst.DescribePartition(tp));
  const std::string where = "topic " + tp.topic + " partition " + std::to_string(tp.partition);
  if (to.end_offset > from.end_offset) {
    return Status::InvalidArgument("the destination's " + where + " ends at " + std::to_string(to.end_offset) +
                                   ", past the source's end " + std::to_string(from.end_offset) +
                                   ": it holds records that are not the source's");
  }
  if (to.end_offset > 0 && to.end_offset < from.end_offset) {
    std::cout << "resuming " << where << " at offset " << to.end_offset << '\n';
  }
  for (log::Offset at = std::max(from.log_start_offset, to.end_offset); at < from.end_offset;) {
    ASSIGN_OR_RAISE(auto records, src.Read(tp, at, log::ReadLimits{1000, 4 << 20}));
    if (records.empty()) break;  // only a trailing gap is left
    at = records.back().offset + 1;
    ASSIGN_OR_RAISE(log::Offset end, dst.AppendAt(tp, records, at));
    if (end != at) return Status::Aborted("copying " + where + ": the destination ends at " + std::to_string(end));
    copied->records += static_cast<int64_t>(records.size());
  }
  ASSIGN_OR_RAISE(log::Offset end, dst.AppendAt(tp, {}, from.end_offset));
  if (end < from.end_offset) {
    copied->notes.push_back(where + " ends at " + std::to_string(end) + " in the destination, " +
                            std::to_string(from.end_offset) + " in the source (offsets after the last record, "
                            "which Kafka cannot keep empty); committed offsets past it are set to it");
  }
  return Status::OK();
}

Status CopyGroups(log::Changelog& src, log::Changelog& dst, std::vector<std::string> groups) {
  if (groups.empty()) {
    ASSIGN_OR_RAISE(groups, src.ListGroups());
  }
  for (const std::string& g : groups) {
    ASSIGN_OR_RAISE(log::GroupInfo info, src.DescribeGroup(g));
    std::vector<std::pair<log::TopicPartition, log::CommittedOffset>> offsets;
    for (const auto& p : info.partitions) {
      const log::TopicPartition tp{p.topic, p.partition};
      auto end = dst.DescribePartition(tp);
      if (end.status().IsNotFound()) continue;  // a topic deleted since the group read it
      RETURN_NOT_OK(end.status());
      offsets.push_back({tp, log::CommittedOffset{std::min(p.committed, end->end_offset), p.metadata, 0}});
    }
    if (offsets.empty()) continue;
    RETURN_NOT_OK(dst.CommitOffsets(g, offsets));
    std::cout << "group " << g << ": " << offsets.size() << " committed offset(s)\n";
  }
  return Status::OK();
}

Status Copy(const Context& ctx, const CopyArgs& a) {
  if (a.to_data_dir.empty() == a.to_config.empty()) {
    throw UsageError("log copy needs exactly one of --to-data-dir DIR and --to-config FILE");
  }
  std::error_code ec;  // a destination that does not exist yet is not the source
  if (!a.to_data_dir.empty() && !ctx.data_dir.empty() && std::filesystem::equivalent(ctx.data_dir, a.to_data_dir, ec)) {
    throw UsageError("log copy: --to-data-dir names the data dir it copies from");
  }
  ASSIGN_OR_RAISE(auto src, OpenWriter(ctx, false, "stop it first: a copy must not miss what it appends meanwhile"));
  Context to;
  to.data_dir = a.to_data_dir;
  to.config_path = a.to_config;
  ASSIGN_OR_RAISE(auto dst, OpenCopyTarget(to));
  ASSIGN_OR_RAISE(std::string src_id, src->ClusterId());
  ASSIGN_OR_RAISE(std::string dst_id, dst->ClusterId());
  if (src_id == dst_id) return Status::InvalidArgument("the source and the destination are one changelog (" + src_id + ")");

  Copied copied;
  ASSIGN_OR_RAISE(auto topics, src->ListTopics());
  for (const std::string& topic : topics) {
    // Internal working state (capture's spill of a transaction in progress,
    // which it clears at start) stays behind, as Kafka's own __ topics do.
    if (topic.starts_with("__")) continue;
    // A topic the destination has keeps its config there; a new one gets the
    // source's (on Kafka that takes DescribeConfigs).
    ASSIGN_OR_RAISE(int32_t partitions, src->PartitionCount(topic));
    auto have = dst->PartitionCount(topic);
    if (have.status().IsNotFound()) {
      bool empty = true;
      for (int32_t p = 0; p < partitions && empty; ++p) {
        ASSIGN_OR_RAISE(log::PartitionInfo info, src->DescribePartition({topic, p}));
        empty = info.end_offset == 0;
      }
      if (empty) {  // nothing to copy: whoever writes it first creates it
        copied.notes.push_back("topic " + topic + " is empty and was not created in the destination");
        continue;
      }
      ASSIGN_OR_RAISE(log::TopicInfo info, src->DescribeTopic(topic));
      RETURN_NOT_OK(dst->CreateTopic(topic, partitions, info.config));
    } else {
      RETURN_NOT_OK(have.status());
      if (*have != partitions) {
        return Status::InvalidArgument("topic " + topic + " has " + std::to_string(*have) +
                                       " partition(s) in the destination, " + std::to_string(partitions) +
                                       " in the source");
      }
    }
    for (int32_t p = 0; p < partitions; ++p) RETURN_NOT_OK(CopyPartition(*src, *dst, {topic, p}, &copied));
  }

  // Checkpoints, and the chain of changelogs this one was copied from, so
  // that positions stored elsewhere (the sink's, in the target) are known to
  // count the same offsets.
  ASSIGN_OR_RAISE(auto checkpoints, src->Checkpoints());
  ASSIGN_OR_RAISE(std::vector<std::string> chain, log::CopiedFrom(*src));
  chain.push_back(src_id);
  checkpoints[log::kCopiedFromCheckpoint] = nlohmann::json(chain).dump();
  log::AtomicWrite w;
  w.checkpoints = std::move(checkpoints);
  const size_t n_checkpoints = w.checkpoints.size();
  RETURN_NOT_OK(dst->Write(std::move(w)).status());
  RETURN_NOT_OK(CopyGroups(*src, *dst, a.groups));

  std::cout << "copied " << copied.records << " records of " << topics.size() << " topic(s) and " << n_checkpoints
            << " checkpoint(s) from changelog " << src_id << " to changelog " << dst_id << ", offsets kept\n";
  for (const auto& note : copied.notes) std::cout << "note: " << note << '\n';
  return Status::OK();
}

}  // namespace

void AddCopyCommands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<CopyArgs>();
  auto* lg = app.add_subcommand("log", "Work on the changelog as a whole");
  lg->require_subcommand(1);
  auto* copy = lg->add_subcommand(
      "copy", "Copy every topic, checkpoint and group offset into another changelog, keeping offsets (stop the daemon)");
  copy->add_option("--to-data-dir", a->to_data_dir, "Copy into this data dir (created if missing)");
  copy->add_option("--to-config", a->to_config, "Copy into the changelog this config file names (e.g. a Kafka cluster)");
  copy->add_option("--group", a->groups, "Copy this group's offsets (repeatable; default: every group)");
  copy->callback([&ctx, a] { ctx.run = [&ctx, a] { return Copy(ctx, *a); }; });
}

}  // namespace ghostlog::cli
