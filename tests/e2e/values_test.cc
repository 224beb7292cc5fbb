// Values end to end: every common column type, with the values that break
// text formats (tabs, newlines, backslashes, the COPY null marker, quotes in
// arrays, NaN, infinities, the extremes of each range), through the snapshot
// and through streaming, into a target created with the source's DDL. The
// target must equal the source as text, row for row. Two things do not
// survive, as docs/types.md says: an array's lower bounds ('[0:1]={a,b}'
// arrives as '{a,b}') and a json value that is JSON null (it arrives as SQL
// NULL); neither is here.
#include "e2e/e2e_harness.h"

namespace ghostlog::e2e {
namespace {

constexpr const char* kTypesDdl =
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
    "CREATE DOMAIN posint AS int CHECK (VALUE > 0);"
    "CREATE TABLE kinds (id int PRIMARY KEY, t text, vc varchar(12), bp char(3), i2 smallint, i4 int, i8 bigint,"
    " num numeric, num2 numeric(12,4), f4 real, f8 double precision, b bool, d date, ts timestamp, tstz timestamptz,"
    " tm time, tmtz timetz, iv interval, by bytea, u uuid, js json, jb jsonb, ta text[], ia int[], fa float8[],"
    " ip inet, cidr_ cidr, mac macaddr, bits bit(4), vbits varbit, m mood, pi posint, pt point, tv tsvector,"
    " x xml, o oid, money_ money, da date[], tsa timestamptz[]);"
    "CREATE TABLE fence (id int PRIMARY KEY)";  // CatchUp's marker

// One row per line; each exercises the awkward values of several columns.
// The same rows go in once before the daemon starts (snapshot) and once,
// under ids + 100, while it streams.
const std::vector<std::string>& HostileRows() {
  static const std::vector<std::string> rows{
      // NULL in every column.
      "(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
      "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
      "NULL, NULL, NULL)",
      // Empty strings and empty arrays, zeroes, the COPY null marker as text.
      "(2, '', '', '', 0, 0, 0, 0, 0, 0, 0, false, '2000-01-01', '2000-01-01', '2000-01-01 00:00+00', '00:00', "
      "'00:00+00', '0', '', '00000000-0000-0000-0000-000000000000', '\"\"', '{}', '{}', '{}', '{}', '0.0.0.0', "
      "'0.0.0.0/0', '00:00:00:00:00:00', B'0000', B'', 'sad', 1, '(0,0)', '', '', 0, 0, '{}', '{}')",
      // Characters COPY text and JSON escape: tab, newline, CR, backslash, \N.
      "(3, E'tab\\there\\nnew line\\rcr \\\\ back \\\\N', E'\\\\N', E'a\\tb', -32768, -2147483648, "
      "-9223372036854775808, 'NaN', -99999999.9999, 'NaN', 'NaN', true, '4713-01-01 BC', '4713-01-01 00:00 BC', "
      "'4713-01-01 00:00+00 BC', '24:00', '23:59:59.999999-15:59', '-178000000 years -1 mon 3 days -00:00:01.5', "
      "'\\x005c0a0d09ff', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{\"a\" :1,  \"a\": [\"\\\\t\", null]}', "
      "'{\"k\": \"\\\\n\\\\\\\\\", \"n\": 1.50, \"u\": \"\\\\u00e9\"}', "
      "ARRAY['a,b', 'c\"d', NULL, 'NULL', '', E'e\\\\f', E'g\\th', '{x}', ' sp '], '{{1,2},{3,NULL}}', "
      "'{NaN,Infinity,-Infinity,-0}', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', B'1111', B'10101', 'happy', "
      "2147483647, '(-1.5,1e300)', 'a:1 b:2 ''c d'':3', '<a b=\"1\">x &amp; y</a>', 4294967295, -12.34, "
      "'{4713-01-01 BC,0001-12-31 BC,0044-03-15 BC,0001-01-01,NULL}', "
      "'{\"4713-01-01 00:00+00 BC\",\"0001-12-31 23:59:59.5+00 BC\",infinity}')",
      // The other extremes: infinities, big numbers, non-ASCII text.
      "(4, 'é ü ß 中文 😀 \\', 'ÅÄÖ😀', 'ab', 32767, 2147483647, 9223372036854775807, "
      "'123456789012345678901234567890.123456789012345678901234567890', 0.0001, 'Infinity', '-Infinity', true, "
      "'infinity', 'infinity', '-infinity', '23:59:59.999999', '00:00+14', '178000000 years', '\\x', "
      "'123e4567-e89b-12d3-a456-426614174000', '[1, 2.50, \"x\"]', "
      "'{\"big\": 123456789012345678901234567890.5, \"huge\": 1e400, \"p\": 1.50}', '{a,b}', '{-2147483648}', "
      "'{1e-300,0.1}', '10.0.0.1/8', '10.0.0.0/8', '08:00:2b:01:02:03', B'0101', B'1', 'ok', 42, '(1,2)', "
      "'fat:2,4 cat:3', '<!-- c -->', 1, 92233720368547758.07, '{infinity,-infinity}', '{{-infinity}}')",
      // Float values whose shortest text is not their printf text.
      "(5, 'x', 'y', 'z', 1, 1, 1, '-0.000', '1.1000', 0.1, 0.1, false, '5874897-12-31', '294276-12-31 "
      "23:59:59.999999', "
      "'294276-12-31 23:59:59.999999+00', '12:34:56.789', '12:34:56.789+05:30', '1 day 1 second', '\\xdeadbeef', "
      "gen_random_uuid(), '[null]', '[null, 0.10]', '{\"\"}', '{}', '{3.141592653589793,2.718281828459045}', "
      "'192.168.0.1/24', "
      "'192.168.0.0/24', '01:02:03:04:05:06', B'1000', B'0000000000000000000000000001', 'sad', 7, '(1.1,2.2)', 'a', "
      "'plain', 7, 0.01, '{5874897-12-31}', '{\"294276-12-31 23:59:59.999999+00\"}')",
  };
  return rows;
}

std::string Shifted(std::string row, int by) {
  // The id is the first number after "(".
  const size_t comma = row.find(',');
  return "(" + std::to_string(std::stoi(row.substr(1, comma - 1)) + by) + row.substr(comma);
}

TEST(Values, EveryCommonTypeArrivesExactlyBySnapshotAndByStreaming) {
  Bench b;
  b.BothExec(kTypesDdl);
  for (const auto& row : HostileRows()) b.source.Exec("INSERT INTO kinds VALUES " + row);
  ASSERT_TRUE(b.StartHealthy());
  for (const auto& row : HostileRows()) b.source.Exec("INSERT INTO kinds VALUES " + Shifted(row, 100));
  // An update that rewrites every column with another row's values, and one
  // that moves a row to a new key: both are upserts of the whole row.
  b.source.Exec(
      "UPDATE kinds k SET (t, vc, bp, ta, js, jb, by, f8, iv) = (s.t, s.vc, s.bp, s.ta, s.js, s.jb, s.by, s.f8, s.iv) "
      "FROM kinds s WHERE k.id = 104 AND s.id = 103");
  b.source.Exec("UPDATE kinds SET id = 200 WHERE id = 105");
  b.source.Exec("DELETE FROM kinds WHERE id = 101");
  ASSERT_TRUE(b.CatchUp());
  EXPECT_EQ(b.target.Value("SELECT count(*) FROM kinds"), "9");
  EXPECT_TRUE(TablesEqual(b.source, b.target, "kinds")) << b.daemon().LogTail(3000);
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}


// The same values into a table the sink creates from capture's schema.
TEST(Values, EveryCommonTypeArrivesExactlyInATableTheSinkCreates) {
  BenchOptions o;
  o.sink_extra = "auto_create = true\n";
  Bench b(o);
  b.source.Exec(kTypesDdl);
  b.target.Exec("CREATE TABLE fence (id int PRIMARY KEY)");
  for (const auto& row : HostileRows()) b.source.Exec("INSERT INTO kinds VALUES " + row);
  ASSERT_TRUE(b.StartHealthy());
  for (const auto& row : HostileRows()) b.source.Exec("INSERT INTO kinds VALUES " + Shifted(row, 100));
  ASSERT_TRUE(b.CatchUp());
  EXPECT_TRUE(TablesEqual(b.source, b.target, "kinds")) << b.daemon().LogTail(3000);
  // Built-in types as the source has them; the source's own types (an
  // enum, a domain), which the target need not have, as text.
  const auto type_of = [&](const std::string& column) {
    return b.target.Value("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'kinds'::regclass "
                          "AND attname = '" + column + "'");
  };
  EXPECT_EQ(type_of("num2"), "numeric(12,4)");
  EXPECT_EQ(type_of("bp"), "character(3)");
  EXPECT_EQ(type_of("ia"), "integer[]");
  EXPECT_EQ(type_of("m"), "text");
  EXPECT_EQ(type_of("pi"), "text");
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 10s), 0) << b.daemon().LogTail();
}

// Names a topic cannot hold (a space, a quote, non-ASCII letters), a dot in
// a table's name and a schema other than public. Their topics get legal
// names ('_' for each other character, as Debezium does); the target tables
// keep the source's names, which the sink reads from capture's schema
// records. Two tables whose names meet in one topic are refused by name.
TEST(Values, TableAndSchemaNamesTopicsCannotHoldArriveUnderTheirOwnNames) {
  BenchOptions o;
  // Another prefix than v2: the sink's default topics follow it.
  o.source_extra = "tables = [\"public.*\", \"Other Schema.*\"]\ntopic_prefix = \"elmis\"\n";
  Bench b(o);
  b.BothExec(
      "CREATE TABLE fence (id int PRIMARY KEY);"
      "CREATE SCHEMA \"Other Schema\";"
      "CREATE TABLE \"Other Schema\".\"Mixed Case\" (\"Id\" int PRIMARY KEY, \"Select\" text, \"a b\" int);"
      "CREATE TABLE \"with.dot\" (id int PRIMARY KEY, v text);"
      "CREATE TABLE \"quote\"\"d\" (\"col\"\"q\" int PRIMARY KEY, v text);"
      "CREATE TABLE données (clé int PRIMARY KEY, valeur text)");
  const std::vector<std::string> tables{"\"Other Schema\".\"Mixed Case\"", "\"with.dot\"", "\"quote\"\"d\"", "données"};
  for (const auto& t : tables) b.source.Exec("INSERT INTO " + t + " VALUES (1, 'a')");
  ASSERT_TRUE(b.StartHealthy());
  for (const auto& t : tables) b.source.Exec("INSERT INTO " + t + " VALUES (2, 'b')");
  b.source.Exec("UPDATE \"Other Schema\".\"Mixed Case\" SET \"Select\" = 'x', \"a b\" = 3 WHERE \"Id\" = 1");
  b.source.Exec("DELETE FROM données WHERE clé = 1");
  ASSERT_TRUE(b.CatchUp());
  for (const auto& t : tables) EXPECT_TRUE(TablesEqual(b.source, b.target, t)) << b.daemon().LogTail(3000);
  EXPECT_NE(b.daemon().CurrentLog().find("capture: table public.données goes to topic 'elmis.public.donn_es'"),
            std::string::npos)
      << b.daemon().LogTail(3000);

  // "a b" and "a_b" would share topic elmis.public.a_b: the second is refused.
  b.BothExec("CREATE TABLE \"a b\" (id int PRIMARY KEY); CREATE TABLE a_b (id int PRIMARY KEY)");
  b.source.Exec("ALTER PUBLICATION ghostlog ADD TABLE \"a b\", a_b");
  b.source.Exec("INSERT INTO \"a b\" VALUES (1); INSERT INTO a_b VALUES (1)");
  EXPECT_TRUE(WaitFor(
      [&] {
        return b.daemon().CurrentLog().find(
                   "tables public.a b and public.a_b would both go to topic 'elmis.public.a_b'") != std::string::npos;
      },
      30s, 100ms))
      << b.daemon().LogTail(3000);
}

// One value of tens of megabytes (an attachment in a bytea column): by the
// snapshot, by streaming, and left unchanged (TOAST) by an update of
// another column, which capture fills from the earlier image.
TEST(Values, AValueOfFortyMegabytesArrivesWhole) {
  Bench b;
  b.BothExec("CREATE TABLE fence (id int PRIMARY KEY); CREATE TABLE files (id int PRIMARY KEY, body bytea, n int)");
  const std::string forty_mb =
      "(SELECT string_agg(sha512(int4send(g)), ''::bytea) FROM generate_series(1, 40 * 1024 * 1024 / 64) g)";
  b.source.Exec("INSERT INTO files VALUES (1, " + forty_mb + ", 0)");
  ASSERT_TRUE(b.StartHealthy());
  b.source.Exec("INSERT INTO files VALUES (2, " + forty_mb + ", 0)");
  b.source.Exec("UPDATE files SET n = n + 1");
  ASSERT_TRUE(b.CatchUp(180s));
  const std::string sums =
      "SELECT string_agg(id || ':' || length(body) || ':' || md5(body) || ':' || n, ' ' ORDER BY id) FROM files";
  EXPECT_EQ(b.target.Value(sums), b.source.Value(sums)) << b.daemon().LogTail(3000);
  EXPECT_EQ(b.target.Value("SELECT sum(length(body)) FROM files"), std::to_string(2 * 40 * 1024 * 1024));
}

// The same values through the transform: a mapping that copies the scalar
// columns, through SQLite, must deliver them unchanged. json and jsonb copies
// arrive as the same JSON (not a JSON string holding it), as does an object
// built with json_object(); equal as jsonb, not as text: the transform reads
// numbers as doubles (docs/transform.md, Limits).
TEST(Values, ScalarValuesArriveExactlyThroughACopyingMapping) {
  TempDir maps;
  {
    std::ofstream m(maps.sub("kinds.toml"));
    m << "source = \"public.kinds\"\ntarget = \"public.kinds\"\nkey = [\"id\"]\n[columns]\n";
    for (const char* c : {"id", "t",    "vc", "bp",   "i2", "i4", "i8", "num", "num2", "f4", "f8", "b", "d",
                          "ts", "tstz", "tm", "tmtz", "iv", "by", "u",  "ip",  "m",    "pi", "x",  "o", "money_"}) {
      m << c << " = '\"" << c << "\"'\n";
    }
    m << "js = 'js'\njb = 'src.jb'\nbuilt = \"json_object('t', t, 'jb', json(jb))\"\n";
    std::ofstream(maps.sub("fence.toml"))
        << "source = \"public.fence\"\ntarget = \"public.fence\"\nkey = [\"id\"]\n[columns]\nid = \"id\"\n";
  }
  BenchOptions o;
  o.sink_extra = "[transform]\nmappings = \"" + maps.path().string() + "\"\n";
  Bench b(o);
  b.source.Exec(kTypesDdl);
  b.target.Exec(
      "CREATE TABLE fence (id int PRIMARY KEY);"
      "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE DOMAIN posint AS int CHECK (VALUE > 0);"
      "CREATE TABLE kinds (id int PRIMARY KEY, t text, vc varchar(12), bp char(3), i2 smallint, i4 int, i8 bigint,"
      " num numeric, num2 numeric(12,4), f4 real, f8 double precision, b bool, d date, ts timestamp, tstz timestamptz,"
      " tm time, tmtz timetz, iv interval, by bytea, u uuid, ip inet, m mood, pi posint, x xml, o oid,"
      " money_ money, js json, jb jsonb, built jsonb)");
  // The transform parses events into doubles: a jsonb number beyond them
  // makes it refuse the event (docs/types.md), so not here.
  std::vector<std::string> rows;
  for (std::string row : HostileRows()) {
    if (const size_t at = row.find("1e400"); at != std::string::npos) row.replace(at, 5, "1e300");
    rows.push_back(row);
  }
  for (const auto& row : rows) b.source.Exec("INSERT INTO kinds VALUES " + row);
  ASSERT_TRUE(b.StartHealthy());
  for (const auto& row : rows) b.source.Exec("INSERT INTO kinds VALUES " + Shifted(row, 100));
  ASSERT_TRUE(b.CatchUp());
  b.BothExec(
      "CREATE VIEW mapped AS SELECT id, t, vc, bp, i2, i4, i8, num, num2, f4, f8, b, d, ts, tstz, tm, tmtz, iv, "
      "by, u, ip, m::text, pi, x::text, o, money_ FROM kinds");
  EXPECT_TRUE(TablesEqual(b.source, b.target, "mapped")) << b.daemon().LogTail(3000);

  // JSON kinds (a copied "" stays a string), and the built object holds the row's t and jb.
  b.source.Exec(
      "CREATE VIEW json_kinds AS SELECT id, json_typeof(js) AS js, jsonb_typeof(jb) AS jb, "
      "'object' AS built, true AS holds FROM kinds");
  b.target.Exec(
      "CREATE VIEW json_kinds AS SELECT id, json_typeof(js) AS js, jsonb_typeof(jb) AS jb, "
      "jsonb_typeof(built) AS built, built->'jb' = coalesce(jb, 'null') AND built->>'t' IS NOT DISTINCT "
      "FROM t AS holds FROM kinds");
  EXPECT_TRUE(TablesEqual(b.source, b.target, "json_kinds"));
  int compared = 0;
  for (const std::string& row : b.source.Query("SELECT id, js::jsonb, jb FROM kinds WHERE id % 100 NOT IN (1, 4)")) {
    auto quoted = [](std::string v) {
      for (size_t at = 0; (at = v.find('\'', at)) != std::string::npos; at += 2) v.insert(at, 1, '\'');
      return "'" + v + "'::jsonb";
    };
    const size_t a = row.find('\t'), z = row.rfind('\t');
    EXPECT_EQ(b.target.Value("SELECT js::jsonb = " + quoted(row.substr(a + 1, z - a - 1)) +
                             " AND jb = " + quoted(row.substr(z + 1)) + " FROM kinds WHERE id = " + row.substr(0, a)),
              "t")
        << row;
    ++compared;
  }
  EXPECT_EQ(compared, 6);
}

}  // namespace
}  // namespace ghostlog::e2e
