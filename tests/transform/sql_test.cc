// The expression engine: values in and out, where, each, uuid5, and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "ghostlog/transform/mapping.h"
#include "sql.h"
#include "uuid5.h"

namespace ghostlog::transform {
namespace {

using json = nlohmann::json;

Mapping Make(std::vector<std::pair<std::string, std::string>> columns, std::string where = "", std::string each = "") {
  Mapping m;
  m.file = "m.toml";
  m.name = "m";
  m.source = "public.s";
  m.target = "public.t";
  m.key = {columns.front().first};
  m.columns = std::move(columns);
  m.where = std::move(where);
  m.each = std::move(each);
  return m;
}

TEST(Uuid5, MatchesRfc4122VectorsAndIsStable) {
  // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
  EXPECT_EQ(Uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_EQ(Uuid5("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  // A name namespace is uuid5(ghostlog namespace, name): fixed forever.
  EXPECT_EQ(Uuid5("facilities", "7"), Uuid5(Uuid5(kGhostlogNamespace, "facilities"), "7"));
  EXPECT_NE(Uuid5("facilities", "7"), Uuid5("programs", "7"));
  EXPECT_FALSE(ParseUuid("not-a-uuid").has_value());
}

TEST(SqlEngine, MapsValuesOfEveryType) {
  auto e = SqlEngine::Open(nullptr);
  ASSERT_TRUE(e.ok());
  Mapping m = Make({{"id", "uuid5('facilities', id)"},
                    {"name", "upper(name)"},
                    {"active", "active"},
                    {"ratio", "ratio * 2"},
                    {"missing", "note"},
                    {"tags", "json_extract(tags, '$[1]')"},
                    {"label", "code || '-' || id"}});
  json row{{"id", 7},       {"name", "Kibaha"}, {"active", true},
           {"ratio", 1.25}, {"note", nullptr},  {"tags", json::array({"a", "b"})},
           {"code", "KB"}};
  auto out = (*e)->Evaluate(m, row);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  const json& r = (*out)[0];
  EXPECT_EQ(r["id"], Uuid5("facilities", "7"));
  EXPECT_EQ(r["name"], "KIBAHA");
  EXPECT_EQ(r["active"], 1);
  EXPECT_EQ(r["ratio"], 2.5);
  EXPECT_TRUE(r["missing"].is_null());
  EXPECT_EQ(r["tags"], "b");
  EXPECT_EQ(r["label"], "KB-7");
  // NULL in, NULL out: a missing foreign key stays missing.
  row["id"] = nullptr;
  EXPECT_TRUE((*(*e)->Evaluate(m, row))[0]["id"].is_null());
}

// Rows of one table may come with other columns (a schema change): each set
// of columns has its own statement, also when the sets alternate.
TEST(SqlEngine, RowsWithOtherColumnsAreBoundByName) {
  auto e = SqlEngine::Open(nullptr);
  ASSERT_TRUE(e.ok());
  Mapping m = Make({{"x", "b"}});
  auto x = [&](const json& row) -> std::string {
    auto out = (*e)->Evaluate(m, row);
    return out.ok() ? (*out)[0]["x"].dump() : out.status().message();
  };
  EXPECT_EQ(x({{"a", 1}, {"b", 2}}), "2");
  EXPECT_NE(x({{"a", 3}, {"c", 4}}).find("no such column: b"), std::string::npos);
  EXPECT_EQ(x({{"a", 5}, {"b", 6}}), "6");
  EXPECT_EQ(x({{"b", 7}, {"c", 8}}), "7");
  EXPECT_EQ(x({{"a", 9}, {"b", 10}}), "10");
}

TEST(SqlEngine, WhereFiltersAndEachFansOut) {
  auto e = SqlEngine::Open(nullptr);
  ASSERT_TRUE(e.ok());
  Mapping filtered = Make({{"id", "id"}}, "active AND id > 1");
  EXPECT_EQ((*e)->Evaluate(filtered, {{"id", 2}, {"active", true}})->size(), 1u);
  EXPECT_EQ((*e)->Evaluate(filtered, {{"id", 2}, {"active", false}})->size(), 0u);
  EXPECT_EQ((*e)->Evaluate(filtered, {{"id", 1}, {"active", true}})->size(), 0u);

  Mapping fan = Make({{"id", "src.id || '/' || r.value"}, {"reason", "r.value"}}, "r.value <> 'skip'",
                     "json_each(src.reasons) AS r");
  auto out = (*e)->Evaluate(fan, {{"id", 9}, {"reasons", json::array({"lost", "skip", "expired"})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0]["id"], "9/lost");
  EXPECT_EQ((*out)[1]["reason"], "expired");
  EXPECT_EQ((*e)->Evaluate(fan, {{"id", 9}, {"reasons", json::array()}})->size(), 0u);
}

// A json/jsonb target column must get JSON, not a string holding JSON text.
// What SQLite's JSON functions return, a lookup's row or object column, and a
// plain copy of an object or array column are JSON values in the output; text
// stays text, even text that looks like JSON.
class OneRow : public LookupSource {
 public:
  Result<std::optional<json>> Lookup(const std::string&, const json&) override {
    return std::optional<json>(json{{"name", "Kibaha"}, {"geo", {{"lat", -6.77}}}});
  }
  Result<std::optional<json>> LookupBy(const std::string&, const std::vector<std::string>&,
                                       const std::vector<json>&) override {
    return std::optional<json>();
  }
};

TEST(SqlEngine, JsonResultsAreJsonValuesAndTextStaysText) {
  OneRow lookups;
  auto e = SqlEngine::Open(&lookups);
  ASSERT_TRUE(e.ok());
  Mapping m = Make({{"id", "id"},
                    {"built", "json_object('lat', lat, 'tags', json(tags), 'ok', json('true'))"},
                    {"copy", "extradata"},
                    {"copy_quoted", " \"Extra\" "},
                    {"copy_other_case", "src.EXTRADATA"},
                    {"copy_array", "tags"},
                    {"inner", "json_extract(extradata, '$.b')"},
                    {"inner_text", "json_extract(extradata, '$.s')"},
                    {"row", "lookup('public.f', id)"},
                    {"row_object", "lookup('public.f', id, 'geo')"},
                    {"text", "name"},
                    {"text_of_json", "json_object('a', 1) || ''"},
                    {"agg", "(SELECT json_group_array(value) FROM json_each(src.tags))"}});
  const json extradata = {{"b", {{"c", 1.5}}}, {"s", "x"}};
  json row{{"id", 1},
           {"lat", -10.5},
           {"tags", json::array({"a", 1})},
           {"extradata", extradata},
           {"Extra", json::array({1, json::array({2})})},
           {"name", R"({"looks": "like json"})"}};
  auto out = (*e)->Evaluate(m, row);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const json& r = (*out)[0];
  EXPECT_EQ(r["built"], json::parse(R"({"lat": -10.5, "tags": ["a", 1], "ok": true})"));
  EXPECT_EQ(r["copy"], extradata);
  EXPECT_EQ(r["copy_quoted"], row["Extra"]);
  EXPECT_EQ(r["copy_other_case"], extradata);
  EXPECT_EQ(r["copy_array"], row["tags"]);
  EXPECT_EQ(r["inner"], json::parse(R"({"c": 1.5})"));
  EXPECT_EQ(r["inner_text"], "x");
  EXPECT_EQ(r["row"], json::parse(R"({"name": "Kibaha", "geo": {"lat": -6.77}})"));
  EXPECT_EQ(r["row_object"], json::parse(R"({"lat": -6.77})"));
  EXPECT_EQ(r["text"], R"({"looks": "like json"})");
  EXPECT_EQ(r["text_of_json"], R"({"a":1})");
  EXPECT_EQ(r["agg"], json::parse(R"(["a", 1])"));
  EXPECT_EQ(r["id"], 1);
}

// What a mapping reads of the tables it looks up decides which changes to a
// looked-up row map its readers again; whatever cannot be read for sure
// counts as everything.
TEST(ReadColumns, NamesTheLiteralColumnsAndOtherwiseTheWholeTable) {
  using Set = std::set<std::string>;
  auto read = ReadColumns(Make({{"a", "lookup('public.p', pid, 'name')"},
                                {"b", "LOOKUP ( 'public.p', json_array(x, y), 'code' ) || 'it''s'"},
                                {"c", "lookup_by('public.s', 'node, program', json_array(n, p), 'facility')"},
                                {"lookup_count", "lookup_count + 1"}},
                               "lookup('public.q', qid, 'active')"));
  EXPECT_FALSE(read.any_table);
  ASSERT_NE(read.Of("public.p"), nullptr);
  EXPECT_EQ(*read.Of("public.p"), (Set{"code", "name"}));
  ASSERT_NE(read.Of("public.s"), nullptr);
  EXPECT_EQ(*read.Of("public.s"), (Set{"facility", "node", "program"}));
  EXPECT_EQ(*read.Of("public.q"), (Set{"active"}));
  EXPECT_EQ(read.Of("public.unlisted"), nullptr) << "a table it reads some other way: all of it";

  EXPECT_EQ(
      ReadColumns(Make({{"a", "lookup('public.p', pid)"}, {"b", "lookup('public.p', pid, 'name')"}})).Of("public.p"),
      nullptr)
      << "the whole row";
  EXPECT_EQ(ReadColumns(Make({{"a", "lookup('public.p', pid, col)"}})).Of("public.p"), nullptr);
  EXPECT_EQ(ReadColumns(Make({{"a", "lookup_by('public.s', 'node', n)"}})).Of("public.s"), nullptr);
  EXPECT_TRUE(ReadColumns(Make({{"a", "lookup(tbl, pid, 'name')"}})).any_table);
  EXPECT_TRUE(ReadColumns(Make({{"a", "lookup('public.p', pid, 'name'"}})).any_table) << "not closed";
  EXPECT_TRUE(ReadColumns(Make({{"a", "'lookup'"}})).any_table) << "unsure what that is: everything";
}

TEST(SqlEngine, ErrorsNameTheColumn) {
  auto e = SqlEngine::Open(nullptr);
  ASSERT_TRUE(e.ok());
  Mapping m = Make({{"id", "id"}, {"n", "json_extract(doc, '$.a')"}});
  m.lines["columns.n"] = 12;
  auto out = (*e)->Evaluate(m, {{"id", 1}, {"doc", "{not json"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "m.toml:12: columns.n: malformed JSON");
  // A column the source row does not have.
  Mapping unknown = Make({{"id", "id"}, {"x", "nope"}});
  EXPECT_EQ((*e)->Evaluate(unknown, {{"id", 1}}).status().message(), "m.toml: no such column: nope");
  EXPECT_EQ((*e)->Check(unknown, {"id"}).message(), "m.toml: columns.x: no such column: nope");
  EXPECT_TRUE((*e)->Check(unknown, {}).ok()) << "unknown columns pass while the schema is not known";
  EXPECT_EQ((*e)->Check(Make({{"id", "id"}, {"x", "nofn(a, b)"}}), {}).message(),
            "m.toml: columns.x: no such function: nofn");
  // lookup() without a changelog is an error, not a NULL.
  Mapping lookup = Make({{"id", "lookup('public.t', id, 'x')"}});
  EXPECT_EQ((*e)->Evaluate(lookup, {{"id", 1}}).status().message(),
            "m.toml: columns.id: lookup() has no changelog to read here");
}

TEST(SqlEngine, ExpressionsCannotTouchFilesOrSettings) {
  auto e = SqlEngine::Open(nullptr);
  ASSERT_TRUE(e.ok());
  Mapping m = Make({{"id", "id) AS id FROM (SELECT 1 AS id); ATTACH 'f.db' AS f; SELECT (1"}});
  EXPECT_EQ((*e)->Check(m, {"id"}).message(),
            "m.toml: columns.id: an expression must be one SQL expression, not several statements");
  Mapping attach = Make({{"id", "id"}}, "", "(SELECT 1) AS x; ATTACH 'f.db' AS f");
  EXPECT_EQ((*e)->Check(attach, {"id"}).message(),
            "m.toml: each: an expression must be one SQL expression, not several statements");
  EXPECT_FALSE(std::filesystem::exists("f.db"));
}

}  // namespace
}  // namespace ghostlog::transform
