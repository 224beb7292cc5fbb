// ghostlog topics create|list|describe|alter|delete (kafka-topics).
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli_common.h"

namespace ghostlog::cli {
namespace {

struct TopicsArgs {
  std::string topic;
  int32_t partitions = 1;
  std::vector<std::string> configs;
  bool json = false;
};

Status Create(const Context& ctx, const TopicsArgs& a) {
  log::TopicConfig config;
  for (const auto& c : a.configs) RETURN_NOT_OK(ApplyConfig(config, c));
  ASSIGN_OR_RAISE(auto lg, OpenWriter(ctx, /*create_if_missing=*/true));
  RETURN_NOT_OK(lg->CreateTopic(a.topic, a.partitions, config));
  std::cout << "created topic " << a.topic << " with " << a.partitions << " partition(s)\n";
  return Status::OK();
}

Status List(const Context& ctx, const TopicsArgs& a) {
  ASSIGN_OR_RAISE(auto lg, OpenReader(ctx));
  ASSIGN_OR_RAISE(auto names, lg->ListTopics());
  if (a.json) {
    std::cout << nlohmann::json(names).dump() << '\n';
  } else {
    for (const auto& n : names) std::cout << n << '\n';
  }
  return Status::OK();
}

Status Describe(const Context& ctx, const TopicsArgs& a) {
  ASSIGN_OR_RAISE(auto lg, OpenReader(ctx));
  ASSIGN_OR_RAISE(log::TopicInfo info, lg->DescribeTopic(a.topic));
  const auto config = info.config.ToMap();
  if (a.json) {
    nlohmann::ordered_json parts = nlohmann::ordered_json::array();
    for (const auto& p : info.partition_info) {
      parts.push_back({{"partition", p.partition},
                       {"log_start_offset", p.log_start_offset},
                       {"end_offset", p.end_offset},
                       {"records", p.records},
                       {"bytes", p.bytes}});
    }
    nlohmann::ordered_json j{
        {"topic", info.name}, {"partitions", info.partitions}, {"config", config}, {"partition_info", parts}};
    std::cout << j.dump() << '\n';
    return Status::OK();
  }
  std::cout << "Topic: " << info.name << "  Partitions: " << info.partitions << "\nConfig:";
  for (const auto& [k, v] : config) std::cout << ' ' << k << '=' << v;
  std::cout << "\n\n";
  std::vector<std::vector<std::string>> rows{{"PARTITION", "START", "END", "RECORDS", "BYTES"}};
  for (const auto& p : info.partition_info) {
    rows.push_back({std::to_string(p.partition), std::to_string(p.log_start_offset), std::to_string(p.end_offset),
                    std::to_string(p.records), std::to_string(p.bytes)});
  }
  PrintTable(rows);
  return Status::OK();
}

Status Alter(const Context& ctx, const TopicsArgs& a) {
  ASSIGN_OR_RAISE(auto lg, OpenWriter(ctx));
  ASSIGN_OR_RAISE(log::TopicInfo info, lg->DescribeTopic(a.topic));
  log::TopicConfig config = info.config;  // unnamed settings keep their current values
  for (const auto& c : a.configs) RETURN_NOT_OK(ApplyConfig(config, c));
  RETURN_NOT_OK(lg->AlterTopicConfig(a.topic, config));
  std::cout << "altered topic " << a.topic << ':';
  for (const auto& c : a.configs) std::cout << ' ' << c;
  std::cout << '\n';
  return Status::OK();
}

Status Delete(const Context& ctx, const TopicsArgs& a) {
  ASSIGN_OR_RAISE(auto lg, OpenWriter(ctx));
  RETURN_NOT_OK(lg->DeleteTopic(a.topic));
  std::cout << "deleted topic " << a.topic << '\n';
  return Status::OK();
}

}  // namespace

void AddTopicsCommands(CLI::App& app, Context& ctx) {
  auto* topics = app.add_subcommand("topics", "Create, list, describe, alter and delete topics");
  topics->require_subcommand(1);
  auto a = std::make_shared<TopicsArgs>();
  auto bind = [&ctx, a](Status (*fn)(const Context&, const TopicsArgs&)) {
    return [&ctx, a, fn] { ctx.run = [&ctx, a, fn] { return fn(ctx, *a); }; };
  };
  const std::string config_help = "Topic config key=value (repeatable): cleanup.policy, retention.ms, "
                                  "retention.bytes, delete.retention.ms, min.compaction.lag.ms";

  auto* create = topics->add_subcommand("create", "Create a topic");
  create->add_option("topic", a->topic, "Topic name")->required();
  create->add_option("--partitions", a->partitions, "Number of partitions")->check(Positive());
  create->add_option("--config", a->configs, config_help)->allow_extra_args(false);
  create->callback(bind(Create));

  auto* list = topics->add_subcommand("list", "List topic names");
  list->add_flag("--json", a->json, "Print one JSON array");
  list->callback(bind(List));

  auto* describe = topics->add_subcommand("describe", "Show a topic's partitions and config");
  describe->add_option("topic", a->topic, "Topic name")->required();
  describe->add_flag("--json", a->json, "Print one JSON document");
  describe->callback(bind(Describe));

  auto* alter = topics->add_subcommand("alter", "Change settings of a topic's config (others keep their values)");
  alter->add_option("topic", a->topic, "Topic name")->required();
  alter->add_option("--config", a->configs, config_help)->required()->allow_extra_args(false);
  alter->callback(bind(Alter));

  auto* del = topics->add_subcommand("delete", "Delete a topic and its records");
  del->add_option("topic", a->topic, "Topic name")->required();
  del->callback(bind(Delete));
}

}  // namespace ghostlog::cli
