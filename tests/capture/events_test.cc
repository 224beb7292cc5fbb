// Change events are written as JSON text directly; they must be exactly what
// building them with nlohmann (sorted members) gives, which Debezium-shaped
// consumers and earlier changelogs have.
#include <gtest/gtest.h>

#include "events.h"
#include "pg_types.h"

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
      log::RecordIn r = ChangeEventText(t, R"({"id":1})", op, b.dump(), a.dump(), src, txn, 1732500000999);
      ASSERT_TRUE(r.value.has_value());
      EXPECT_EQ(*r.value, Reference(t, op, b, a, src, txn, 1732500000999)) << op;
      EXPECT_EQ(r.key, R"({"id":1})");
      ASSERT_EQ(r.headers.size(), 1u);
      EXPECT_EQ(r.headers[0].value, "3");
    }
  }
}

// Rows written straight to text must be byte for byte what RowToJson and
// dump() give (what earlier changelogs hold), and refuse what it refuses
// with the same message.
struct Column {
  std::string name;
  Oid type;
  bool key;
  std::vector<std::string> good, bad;
};

const std::vector<Column>& MixedColumns() {  // declared out of name order
  static const std::vector<Column> cols = {
      {"zeta",
       oid::kText,
       false,
       {"plain", "", "quote \" and \\ back", "tab\tnewline\n", "\x01ctl", "Dodoma é ü 日本", "\x7f"},
       {}},
      {"id", oid::kInt4, true, {"0", "-2147483648", "2147483647", "-0", "007"}, {"2147483648", "12x", "", "+5"}},
      {"Upper", oid::kBool, true, {"t", "f"}, {"true", "x"}},
      {"big", oid::kInt8, false, {"-9223372036854775808", "9223372036854775807"}, {"9223372036854775808"}},
      {"small", oid::kInt2, false, {"32767", "-32768"}, {"40000"}},
      {"oid", oid::kOid, false, {"4294967295", "0"}, {"-1", "4294967296"}},
      {"price", oid::kNumeric, false, {"12.50", "-0.001", "NaN", "Infinity"}, {"abc"}},
      {"uuid", oid::kUuid, false, {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}, {"nope"}},
      {"v", oid::kVarchar, false, {"v\"q"}, {}},
      {"bp", oid::kBpchar, false, {"pad  "}, {}},
      {"money", oid::kMoney, false, {"$1,000.00"}, {}},
      {"day", oid::kDate, false, {"2024-02-29", "infinity"}, {"bad"}},
      {"at", oid::kTimestampTz, false, {"2024-01-02 03:04:05.123456+00"}, {"bad"}},
      {"f", oid::kFloat8, false, {"1.5", "NaN", "-Infinity"}, {}},
      {"raw", oid::kBytea, false, {"\\xdeadbeef"}, {"xyz"}},
      {"doc", oid::kJsonb, false, {"{\"b\": [1, 2], \"a\": null}"}, {"{bad"}},
      {"arr", 1007, false, {"{1,2,NULL}", "{{1,2},{3,4}}"}, {"{x}"}},  // int4[]
      {"enum", 99999, false, {"an enum label"}, {}},                   // a type capture does not know
  };
  return cols;
}

void ExpectSameAsJsonPath(const TableSchema& t, const pgoutput::Tuple& tuple, const std::string& what) {
  auto json_row = RowToJson(t, tuple);
  std::string row, key;
  Status s = TupleRowText(t, tuple, &row, &key);
  if (!json_row.ok()) {
    EXPECT_EQ(s.ToString(), json_row.status().ToString()) << what;
    return;
  }
  ASSERT_TRUE(s.ok()) << what << ": " << s.ToString();
  EXPECT_EQ(row, json_row->dump()) << what;
  EXPECT_EQ(key, KeyFromRow(t, *json_row)) << what;
}

TEST(RowText, EqualsTheJsonPathForEveryTypeAndValue) {
  TableSchema t;
  t.schema = "public";
  t.table = "mixed";
  for (const auto& c : MixedColumns()) t.columns.push_back({c.name, c.type, -1, c.key});
  auto good = [&](size_t round) {
    pgoutput::Tuple tuple;
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const auto& vals = MixedColumns()[c].good;
      if ((round + c) % 5 == 4) {
        tuple.push_back({pgoutput::Datum::Kind::kNull, {}});
      } else {
        tuple.push_back({pgoutput::Datum::Kind::kText, vals[(round + c) % vals.size()]});
      }
    }
    return tuple;
  };
  for (size_t round = 0; round < 10; ++round) ExpectSameAsJsonPath(t, good(round), "round " + std::to_string(round));
  // Every bad value alone in a good row: the same refusal and message.
  for (size_t c = 0; c < t.columns.size(); ++c) {
    for (const auto& bad : MixedColumns()[c].bad) {
      pgoutput::Tuple tuple = good(0);
      tuple[c] = {pgoutput::Datum::Kind::kText, bad};
      ExpectSameAsJsonPath(t, tuple, t.columns[c].name + " = '" + bad + "'");
    }
  }
  // An unchanged TOAST value (json path, placeholder) and a short row (refused).
  pgoutput::Tuple toast = good(1);
  toast[0] = {pgoutput::Datum::Kind::kUnchangedToast, {}};
  ExpectSameAsJsonPath(t, toast, "unchanged toast");
  ExpectSameAsJsonPath(t, {{pgoutput::Datum::Kind::kText, "a"}}, "short row");
  // No key columns: an empty key.
  TableSchema two;
  two.schema = "public";
  two.table = "two";
  two.columns = {{"b", oid::kText, -1, false}, {"a", oid::kInt4, -1, false}};
  std::string row, key = "stale";
  ASSERT_TRUE(
      TupleRowText(two, {{pgoutput::Datum::Kind::kText, "x"}, {pgoutput::Datum::Kind::kText, "1"}}, &row, &key).ok());
  EXPECT_EQ(row, R"({"a":1,"b":"x"})");
  EXPECT_EQ(key, "");
}

}  // namespace
}  // namespace ghostlog::capture
