// Table schemas as capture knows them: from pgoutput Relation messages while
// streaming, from the catalog while snapshotting. Every distinct column list
// of a table gets a version, written to the PREFIX.schema topic before the
// first record that uses it, so every record can be decoded with the schema
// it was written under (record header "ghostlog.schema_version").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ghostlog/log/types.h"
#include "pgoutput.h"

namespace ghostlog::capture {

struct ColumnSchema {
  std::string name;
  pgoutput::Oid type_oid = 0;
  int32_t type_modifier = -1;
  bool key = false;
  bool operator==(const ColumnSchema&) const = default;
};

struct TableSchema {
  pgoutput::Oid relid = 0;
  std::string schema;
  std::string table;
  std::string topic;
  char replica_identity = 'd';
  std::vector<ColumnSchema> columns;
  int64_t version = 0;
  // Column indexes in name order: the member order of row objects in events
  // (sorted, as nlohmann's objects gave them; it is kept). The registry sets
  // it when it stores a schema, so the hot path does not sort per event.
  std::vector<size_t> name_order;

  std::string qualified() const { return schema + "." + table; }
  bool has_key() const {
    for (const auto& c : columns) {
      if (c.key) return true;
    }
    return false;
  }
  nlohmann::json ToJson() const;
  static Result<TableSchema> FromJson(const nlohmann::json& j);
};

// Computes TableSchema::name_order's value for `t`.
std::vector<size_t> NameOrder(const TableSchema& t);

class SchemaRegistry {
 public:
  explicit SchemaRegistry(std::string topic_prefix) : prefix_(std::move(topic_prefix)) {}

  // A table's topic: PREFIX.SCHEMA.TABLE, made legal (log::LegalTopicName:
  // "public.données" goes to PREFIX.public.donn_es). Its schema records are
  // keyed by the same SCHEMA.TABLE, which is how the transform and the sink,
  // knowing only the topic, find them.
  std::string TopicFor(const std::string& schema, const std::string& table) const;
  // The same for a table being captured, refusing one whose name meets
  // another's in one topic (their changes would mix); logs a name changed.
  Result<std::string> ClaimTopic(const std::string& schema, const std::string& table);
  std::string schema_topic() const { return prefix_ + ".schema"; }

  // Seeds versions from what the schema topic already holds.
  void Seed(TableSchema s);

  // Registers the columns of a relation (by relid, and by name for
  // versioning). If they differ from the latest version of that table,
  // returns the schema record to append before the table's next record.
  std::optional<log::RecordIn> Register(TableSchema s);

  const TableSchema* Find(pgoutput::Oid relid) const;
  const TableSchema* FindByName(const std::string& qualified) const;

 private:
  std::string prefix_;
  std::map<pgoutput::Oid, TableSchema> by_relid_;
  std::map<std::string, TableSchema> latest_;  // by "schema.table"
  std::map<std::string, std::string> claims_;  // topic -> "schema.table" captured into it
};

}  // namespace ghostlog::capture
