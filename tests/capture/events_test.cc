// Change events are written as JSON text directly; they must be exactly what
// building them with nlohmann (sorted members) gives, which Debezium-shaped
// consumers and earlier changelogs have.
#include <gtest/gtest.h>

#include "events.h"
#include "json_text.h"
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

// Rows written straight to text must be byte for byte what building a json
// row and dump() give (what earlier changelogs hold), and refuse what it
// refuses with the same message; json and jsonb values apart (kept as
// printed, see JsonValuesAreKeptAsPrinted...), whose cases here are already
// in dump()'s form.
Result<nlohmann::json> RowToJson(const TableSchema& t, const pgoutput::Tuple& tuple) {
  if (tuple.size() != t.columns.size()) {
    return Status::Corruption("table " + t.qualified() + ": row has " + std::to_string(tuple.size()) +
                              " columns, its schema " + std::to_string(t.columns.size()));
  }
  nlohmann::json row = nlohmann::json::object();
  for (size_t i = 0; i < tuple.size(); ++i) {
    const ColumnSchema& c = t.columns[i];
    if (tuple[i].kind == pgoutput::Datum::Kind::kNull) {
      row[c.name] = nullptr;
    } else if (tuple[i].kind == pgoutput::Datum::Kind::kUnchangedToast) {
      row[c.name] = "__debezium_unavailable_value";
    } else {
      auto v = TextToJson(c.type_oid, tuple[i].bytes);
      if (!v.ok()) return v.status().WithContext("table " + t.qualified() + " column " + c.name);
      row[c.name] = std::move(v).value();
    }
  }
  return row;
}

std::string KeyFromRow(const TableSchema& t, const nlohmann::json& row) {
  nlohmann::json key = nlohmann::json::object();
  for (const auto& c : t.columns) {
    if (c.key) key[c.name] = row.at(c.name);
  }
  return key.empty() ? std::string() : key.dump();
}
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
      {"doc", oid::kJsonb, false, {"{\"a\":null,\"b\":[1,2]}"}, {"{bad"}},
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

// jsonb keeps numbers exactly (numeric) and json keeps its text; a parse and
// dump would change both. Record keys keep the parsed form they always had.
TEST(RowText, JsonValuesAreKeptAsPrintedAndKeysAsBefore) {
  TableSchema t;
  t.schema = "public";
  t.table = "docs";
  t.columns = {{"k", oid::kJsonb, -1, true}, {"j", oid::kJson, -1, false}, {"b", oid::kJsonb, -1, false}};
  const std::string k = R"({"a": 12345678901234567890123.5, "b": 1.50})", j = R"( {"x" :1,  "x": [2.0]} )",
                    b = R"([0.1000000000000000055511151231257827, 1e400])";
  std::string row, key;
  ASSERT_TRUE(
      TupleRowText(
          t, {{pgoutput::Datum::Kind::kText, k}, {pgoutput::Datum::Kind::kText, j}, {pgoutput::Datum::Kind::kText, b}},
          &row, &key)
          .ok());
  EXPECT_EQ(row, R"({"b":)" + b + R"(,"j":)" + j + R"(,"k":)" + k + "}");
  EXPECT_EQ(key, R"({"k":)" + nlohmann::json::parse(k).dump() + "}");
  ASSERT_TRUE(IsJsonText(row));
  // Still checked: not JSON is refused with the column named.
  Status s = TupleRowText(
      t,
      {{pgoutput::Datum::Kind::kText, "{}"}, {pgoutput::Datum::Kind::kText, "{x"}, {pgoutput::Datum::Kind::kNull, {}}},
      &row, &key);
  EXPECT_EQ(s.message(), "table public.docs column j: value '{x' is not a valid json");
}

TEST(JsonText, AcceptsJsonOfAnySizeAndRefusesTheRest) {
  for (const char* ok : {"0", "-0", "1.50", "-12.5e-7", "1E+400", "123456789012345678901234567890.123", "true", "null",
                         R"("")", R"("a\"\\\/\b\f\n\r\t\u00e9")", "[]", "{}", " [ 1 , [ [] ] , {} ] ",
                         R"({"a":{"b":[1,{"c":null}]},"a":2})", "\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""}) {
    EXPECT_TRUE(IsJsonText(ok)) << ok;
  }
  for (const char* bad : {"",
                          " ",
                          "01",
                          "1.",
                          ".5",
                          "-",
                          "1e",
                          "+1",
                          "NaN",
                          "Infinity",
                          "tru",
                          "nul",
                          "[1,]",
                          "[,1]",
                          "{,}",
                          "{\"a\"}",
                          "{\"a\":}",
                          "{a:1}",
                          "{\"a\":1,}",
                          "[1 2]",
                          "1 2",
                          "[",
                          "]",
                          "{\"a\":1",
                          "[]]",
                          "{}}",
                          R"("\x")",
                          R"("\u12")",
                          "\"a\nb\"",
                          "\"unterminated",
                          "'a'",
                          "\"\xc3\"",
                          "\"\xc0\xaf\"",
                          "\"\xed\xa0\x80\"",
                          "\"\xf4\x90\x80\x80\"",
                          "\"\xff\""}) {
    EXPECT_FALSE(IsJsonText(bad)) << bad;
  }
  std::string deep(100000, '[');
  deep.append(100000, ']');
  EXPECT_TRUE(IsJsonText(deep));  // no recursion to run out of stack
  deep.pop_back();
  EXPECT_FALSE(IsJsonText(deep));
}

TEST(AfterMembers, FindsTheAfterImagesMembersAsWritten) {
  std::vector<std::pair<std::string_view, std::string_view>> m;
  const std::string event =
      R"({"before":{"after":1},"after": {"a\"b":"}{\"]" , "n":1.50,"o":{"p":[1,{"q":"}"}]},"z":null},"op":"u"})";
  ASSERT_TRUE(AfterMembers(event, &m));
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].first, R"("a\"b")");
  EXPECT_EQ(m[0].second, R"("}{\"]")");
  EXPECT_EQ(m[1].second, "1.50");
  EXPECT_EQ(m[2].second, R"({"p":[1,{"q":"}"}]})");
  EXPECT_EQ(m[3].first, R"("z")");
  EXPECT_EQ(m[3].second, "null");
  m.clear();
  EXPECT_TRUE(AfterMembers(R"({"after":{}})", &m));
  EXPECT_TRUE(m.empty());
  for (const char* not_one : {"", "null", "[]", R"({"after":null})", R"({"before":{"a":1}})", R"({"after":{"a":1)",
                              R"({"after":{"a" 1}})", R"({"after":{a:1}})", R"({"after":{"a":"1}})"}) {
    m.clear();
    EXPECT_FALSE(AfterMembers(not_one, &m)) << not_one;
  }
}

}  // namespace
}  // namespace ghostlog::capture
