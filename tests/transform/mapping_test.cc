// The mapping-file loader: shapes it accepts, and one clear message per mistake.
#include <gtest/gtest.h>

#include <fstream>

#include "ghostlog/transform/mapping.h"
#include "ghostlog/transform/transform.h"
#include "log/test_util.h"

namespace ghostlog::transform {
namespace {

using log::testing::TempDir;

constexpr const char* kGood = R"toml(source = "public.facilities"
target = "public.kafka_facilities"
key = ["id"]
where = "active"

[columns]
id = "uuid5('facilities', id)"
name = "name"
code = "upper(code)"
)toml";

TEST(Mapping, ParsesAGoodFileKeepingColumnOrder) {
  auto m = ParseMapping("maps/30-facilities.toml", kGood);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "30-facilities");
  EXPECT_EQ(m->source, "public.facilities");
  EXPECT_EQ(m->target, "public.kafka_facilities");
  EXPECT_EQ(m->key, std::vector<std::string>{"id"});
  EXPECT_EQ(m->where, "active");
  ASSERT_EQ(m->columns.size(), 3u);
  EXPECT_EQ(m->columns[0].first, "id");  // file order, not alphabetical
  EXPECT_EQ(m->columns[1].first, "name");
  EXPECT_EQ(m->columns[2].first, "code");
  EXPECT_EQ(m->Where("columns.code"), "maps/30-facilities.toml:9");
}

std::string Error(const std::string& text) {
  auto m = ParseMapping("f.toml", text);
  if (m.ok()) return "(accepted)";
  if (m.status().code() != Status::Code::kInvalidArgument) return "(wrong code) " + m.status().ToString();
  return m.status().message();
}

TEST(Mapping, EachMistakeNamesFileLineAndWhat) {
  EXPECT_EQ(Error("source = \"public.a\"\ntarget = \"public.b\"\n[columns]\nid = \"id\"\n"),
            "f.toml: 'key' is missing (the target's key columns)");
  EXPECT_EQ(Error("target = \"public.b\"\nkey = [\"id\"]\n[columns]\nid = \"id\"\n"), "f.toml: 'source' is missing");
  EXPECT_EQ(Error("source = \"a\"\ntarget = \"public.b\"\nkey = [\"id\"]\n[columns]\nid = \"id\"\n"),
            "f.toml:1: source = 'a' must be SCHEMA.TABLE");
  EXPECT_EQ(Error("source = \"public.a\"\ntarget = \"public.b\"\nkey = [\"nope\"]\n[columns]\nid = \"id\"\n"),
            "f.toml:3: key column 'nope' is not in [columns]");
  EXPECT_EQ(Error("source = \"public.a\"\ntarget = \"public.b\"\nkey = []\n[columns]\nid = \"id\"\n"),
            "f.toml:3: key must be a non-empty array of column names");
  EXPECT_EQ(Error("source = \"public.a\"\ntarget = \"public.b\"\nkey = [\"id\"]\n"), "f.toml: [columns] is missing");
  EXPECT_EQ(Error("source = \"public.a\"\ntarget = \"public.b\"\nkey = [\"id\"]\n[columns]\nid = 5\n"),
            "f.toml:5: columns.id must be a non-empty string (an SQL expression)");
  EXPECT_EQ(
      Error("source = \"public.a\"\ntarget = \"public.b\"\nkey = [\"id\"]\nfilter = \"x\"\n[columns]\nid = \"id\"\n"),
      "f.toml:4: unknown key 'filter' (a mapping has source, target, key, where, each and [columns])");
  EXPECT_EQ(Error("source = \"public.a\"\ntarget = = \"x\"\n").substr(0, 9), "f.toml:2:");  // TOML syntax
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(Mapping, LoadsADirectoryInNameOrderAndChecksExpressions) {
  TempDir dir;
  Write(dir.sub("20-b.toml"), kGood);
  Write(dir.sub("10-a.toml"), kGood);
  Write(dir.sub("README.md"), "not a mapping");
  auto ms = LoadMappings(dir.path());
  ASSERT_TRUE(ms.ok()) << ms.status().ToString();
  ASSERT_EQ(ms->size(), 2u);
  EXPECT_EQ((*ms)[0].name, "10-a");
  EXPECT_EQ((*ms)[1].name, "20-b");
  EXPECT_TRUE(CheckMappings(dir.path()).ok());

  // An expression SQLite cannot parse is refused at load, naming the line.
  Write(dir.sub("30-c.toml"), std::string(kGood) + "bad = \"upper(code\"\n");
  Status s = CheckMappings(dir.path());
  EXPECT_EQ(s.message(), dir.sub("30-c.toml") + ":10: columns.bad: near \"AS\": syntax error");
  Write(dir.sub("30-c.toml"), std::string(kGood) + "bad = \"nosuchfn(code)\"\n");
  EXPECT_EQ(CheckMappings(dir.path()).message(), dir.sub("30-c.toml") + ":10: columns.bad: no such function: nosuchfn");
  Write(dir.sub("30-c.toml"), std::string(kGood) + "bad = \"1), (2\"\n");
  EXPECT_EQ(CheckMappings(dir.path()).message(),
            dir.sub("30-c.toml") + ":10: columns.bad: an expression must be one SQL expression");

  TempDir empty;
  EXPECT_EQ(LoadMappings(empty.path()).status().message(),
            "mapping directory " + empty.path() + " holds no *.toml file");
  EXPECT_TRUE(LoadMappings(empty.sub("missing")).status().IsNotFound());
}

}  // namespace
}  // namespace ghostlog::transform
