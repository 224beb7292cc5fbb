// Change events are written as JSON text directly; they must be exactly what
// building them with nlohmann (sorted members) gives, which Debezium-shaped
// consumers and earlier changelogs have.
#include <gtest/gtest.h>

#include "events.h"

namespace ghostlog::capture {
namespace {

std::string Reference(const TableSchema& t, char op, const nlohmann::json& before, const nlohmann::json& after,
                      const SourceInfo& src, const TxnPosition* txn, int64_t now_ms) {
  nlohmann::json source{
      {"version", "ghostlog-" GHOSTLOG_VERSION}, {"connector", "postgresql"}, {"name", src.name},
      {"ts_ms", src.ts_ms},  {"snapshot", src.snapshot}, {"db", src.db}, {"schema", t.schema}, {"table", t.table},
      {"txId", src.xid},     {"lsn", src.lsn},          {"commit_lsn", pgoutput::FormatLsn(src.commit_lsn)},
      {"sequence", nlohmann::json::array({std::to_string(src.commit_lsn), std::to_string(src.lsn)}).dump()}};
  nlohmann::json v{{"before", before}, {"after", after}, {"op", std::string(1, op)}, {"source", source},
                   {"ts_ms", now_ms}};
  v["transaction"] = txn == nullptr ? nlohmann::json(nullptr)
                                    : nlohmann::json{{"id", txn->id},
                                                     {"total_order", txn->total_order},
                                                     {"data_collection_order", txn->data_collection_order}};
  return v.dump();
}

TEST(ChangeEvent, TextEqualsTheJsonObjectBuild) {
  TableSchema t;
  t.schema = "public";
  t.table = "facilities \"main\"";  // a name that needs escaping
  t.version = 3;
  SourceInfo src{"v2", "élmis", 4711, 0x16B3748, 0x16B3800, 1732500000123, "false"};
  TxnPosition pos{"4711:23803904", 7, 2};
  const nlohmann::json after{{"id", 1}, {"name", "Dodoma\nRegion"}, {"active", true}, {"price", "12.50"}};
  const nlohmann::json before{{"id", 1}};
  for (char op : {'c', 'u', 'd', 'r'}) {
    for (const TxnPosition* txn : std::vector<const TxnPosition*>{nullptr, &pos}) {
      const auto b = op == 'c' || op == 'r' ? nlohmann::json(nullptr) : before;
      const auto a = op == 'd' ? nlohmann::json(nullptr) : after;
      log::RecordIn r = ChangeEvent(t, R"({"id":1})", op, b, a, src, txn, 1732500000999);
      ASSERT_TRUE(r.value.has_value());
      EXPECT_EQ(*r.value, Reference(t, op, b, a, src, txn, 1732500000999)) << op;
      EXPECT_EQ(r.key, R"({"id":1})");
      ASSERT_EQ(r.headers.size(), 1u);
      EXPECT_EQ(r.headers[0].value, "3");
    }
  }
}

}  // namespace
}  // namespace ghostlog::capture
