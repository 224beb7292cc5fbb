#include "schema_registry.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace ghostlog::capture {

nlohmann::json TableSchema::ToJson() const {
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : columns) {
    cols.push_back({{"name", c.name}, {"type_oid", c.type_oid}, {"type_modifier", c.type_modifier}, {"key", c.key}});
  }
  return {{"schema", schema},
          {"table", table},
          {"relation_id", relid},
          {"version", version},
          {"replica_identity", std::string(1, replica_identity)},
          {"columns", cols}};
}

Result<TableSchema> TableSchema::FromJson(const nlohmann::json& j) {
  try {
    TableSchema s;
    s.schema = j.at("schema").get<std::string>();
    s.table = j.at("table").get<std::string>();
    s.relid = j.at("relation_id").get<pgoutput::Oid>();
    s.version = j.at("version").get<int64_t>();
    s.replica_identity = j.at("replica_identity").get<std::string>().at(0);
    for (const auto& c : j.at("columns")) {
      s.columns.push_back({c.at("name").get<std::string>(), c.at("type_oid").get<pgoutput::Oid>(),
                           c.at("type_modifier").get<int32_t>(), c.at("key").get<bool>()});
    }
    return s;
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("schema record: ") + e.what());
  }
}

std::vector<size_t> NameOrder(const TableSchema& t) {
  std::vector<size_t> order(t.columns.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return t.columns[a].name < t.columns[b].name; });
  return order;
}

std::string SchemaRegistry::TopicFor(const std::string& schema, const std::string& table) const {
  return prefix_ + "." + log::LegalTopicName(schema + "." + table);
}

Result<std::string> SchemaRegistry::ClaimTopic(const std::string& schema, const std::string& table) {
  std::string topic = TopicFor(schema, table);
  const std::string qualified = schema + "." + table;
  auto [it, first] = claims_.emplace(topic, qualified);
  if (it->second != qualified) {
    return Status::InvalidArgument("tables " + it->second + " and " + qualified + " would both go to topic '" + topic +
                                   "' (topic names hold only letters, digits, '.', '_' and '-'); leave one out "
                                   "with [source] exclude_tables or rename it");
  }
  if (first && topic != prefix_ + "." + qualified) {
    spdlog::warn("capture: table {} goes to topic '{}' (topic names hold only letters, digits, '.', '_' and '-')",
                 qualified, topic);
  }
  return topic;
}

void SchemaRegistry::Seed(TableSchema s) {
  s.topic = TopicFor(s.schema, s.table);
  s.name_order = NameOrder(s);
  latest_[s.qualified()] = std::move(s);
}

std::optional<log::RecordIn> SchemaRegistry::Register(TableSchema s) {
  s.topic = TopicFor(s.schema, s.table);
  s.name_order = NameOrder(s);
  auto it = latest_.find(s.qualified());
  if (it != latest_.end() && it->second.columns == s.columns && it->second.replica_identity == s.replica_identity) {
    s.version = it->second.version;
    it->second.relid = s.relid;
    by_relid_[s.relid] = std::move(s);
    return std::nullopt;
  }
  s.version = it == latest_.end() ? 1 : it->second.version + 1;
  log::RecordIn r;
  r.key = s.topic.substr(prefix_.size() + 1);
  r.value = s.ToJson().dump();
  latest_[s.qualified()] = s;
  by_relid_[s.relid] = std::move(s);
  return r;
}

const TableSchema* SchemaRegistry::Find(pgoutput::Oid relid) const {
  auto it = by_relid_.find(relid);
  return it == by_relid_.end() ? nullptr : &it->second;
}

const TableSchema* SchemaRegistry::FindByName(const std::string& qualified) const {
  auto it = latest_.find(qualified);
  return it == latest_.end() ? nullptr : &it->second;
}

}  // namespace ghostlog::capture
