// PostgreSQL text output -> JSON, per the mapping in pg_types.h / docs/types.md.
#include "pg_types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace ghostlog::capture {
namespace {

using json = nlohmann::json;

json Ok(Oid type, std::string_view text) {
  auto r = TextToJson(type, text);
  EXPECT_TRUE(r.ok()) << "type " << type << " '" << text << "': " << r.status().ToString();
  return r.ok() ? *r : json("<error>");
}

std::string Str(Oid type, std::string_view text) {
  json j = Ok(type, text);
  EXPECT_TRUE(j.is_string()) << j.dump();
  return j.is_string() ? j.get<std::string>() : "<not a string>";
}

void ExpectInvalid(Oid type, std::string_view text) {
  auto r = TextToJson(type, text);
  ASSERT_FALSE(r.ok()) << "type " << type << " '" << text << "' gave " << r->dump();
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
}

std::string ErrorOf(Oid type, std::string_view text) {
  auto r = TextToJson(type, text);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

// Reference base64 (RFC 4648, standard alphabet, padded), deliberately naive.
std::string RefBase64(const std::string& in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8 | uint8_t(in[i + 2]);
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += a[v & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    uint32_t v = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8;
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string Hex(const std::string& bytes, bool upper = false) {
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string s = "\\x";
  for (unsigned char c : bytes) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

// ---------------------------------------------------------------------------
// OIDs

TEST(PgTypes, ArrayElementTypesMatchPgTypeDat) {
  const std::vector<std::pair<Oid, Oid>> arrays = {
      {1000, 16},   {1001, 17},   {1002, 18},   {1003, 19},   {1005, 21},   {1007, 23},   {1009, 25},
      {1015, 1043}, {1014, 1042}, {1016, 20},   {1021, 700},  {1022, 701},  {1028, 26},   {1115, 1114},
      {1182, 1082}, {1183, 1083}, {1185, 1184}, {1187, 1186}, {1231, 1700}, {1270, 1266}, {2951, 2950},
      {199, 114},   {3807, 3802}, {791, 790},   {143, 142},   {1020, 603},  {1017, 600},  {651, 650},
      {1041, 869},  {1040, 829},  {1561, 1560}, {1563, 1562}, {3643, 3614}};
  for (auto [array, element] : arrays) EXPECT_EQ(ArrayElementType(array), element) << array;
  for (Oid scalar : {16u, 17u, 20u, 23u, 25u, 114u, 1184u, 3802u, 0u, 12345u, 2287u}) {
    EXPECT_EQ(ArrayElementType(scalar), 0u) << scalar;
  }
}

TEST(PgTypes, OidConstantsMatchPgTypeDat) {
  EXPECT_EQ(oid::kBool, 16u);
  EXPECT_EQ(oid::kBytea, 17u);
  EXPECT_EQ(oid::kChar, 18u);
  EXPECT_EQ(oid::kName, 19u);
  EXPECT_EQ(oid::kInt8, 20u);
  EXPECT_EQ(oid::kInt2, 21u);
  EXPECT_EQ(oid::kInt4, 23u);
  EXPECT_EQ(oid::kText, 25u);
  EXPECT_EQ(oid::kOid, 26u);
  EXPECT_EQ(oid::kJson, 114u);
  EXPECT_EQ(oid::kXml, 142u);
  EXPECT_EQ(oid::kFloat4, 700u);
  EXPECT_EQ(oid::kFloat8, 701u);
  EXPECT_EQ(oid::kMoney, 790u);
  EXPECT_EQ(oid::kBpchar, 1042u);
  EXPECT_EQ(oid::kVarchar, 1043u);
  EXPECT_EQ(oid::kDate, 1082u);
  EXPECT_EQ(oid::kTime, 1083u);
  EXPECT_EQ(oid::kTimestamp, 1114u);
  EXPECT_EQ(oid::kTimestampTz, 1184u);
  EXPECT_EQ(oid::kInterval, 1186u);
  EXPECT_EQ(oid::kTimeTz, 1266u);
  EXPECT_EQ(oid::kNumeric, 1700u);
  EXPECT_EQ(oid::kUuid, 2950u);
  EXPECT_EQ(oid::kJsonb, 3802u);
}

// ---------------------------------------------------------------------------
// Scalars

TEST(PgTypes, Bool) {
  EXPECT_EQ(Ok(oid::kBool, "t"), json(true));
  EXPECT_EQ(Ok(oid::kBool, "f"), json(false));
  for (auto bad : {"", "true", "false", "T", "F", "1", "0", "yes", "t ", " t", "tt"}) ExpectInvalid(oid::kBool, bad);
  EXPECT_EQ(ErrorOf(oid::kBool, "yes"), "value 'yes' is not a valid bool");
}

TEST(PgTypes, Int2) {
  EXPECT_EQ(Ok(oid::kInt2, "0"), json(0));
  EXPECT_EQ(Ok(oid::kInt2, "-32768"), json(-32768));
  EXPECT_EQ(Ok(oid::kInt2, "32767"), json(32767));
  EXPECT_TRUE(Ok(oid::kInt2, "7").is_number_integer());
  for (auto bad : {"32768", "-32769", "", "abc", "1.0", " 1", "1 ", "+1", "0x10", "1e3", "-"}) {
    ExpectInvalid(oid::kInt2, bad);
  }
  EXPECT_EQ(ErrorOf(oid::kInt2, "40000"), "value '40000' is not a valid int2: out of range");
}

TEST(PgTypes, Int4) {
  EXPECT_EQ(Ok(oid::kInt4, "-2147483648"), json(-2147483648LL));
  EXPECT_EQ(Ok(oid::kInt4, "2147483647"), json(2147483647));
  EXPECT_EQ(Ok(oid::kInt4, "-0"), json(0));
  for (auto bad : {"2147483648", "-2147483649", "", "abc", "12a", "1,000", "١"}) ExpectInvalid(oid::kInt4, bad);
  EXPECT_EQ(ErrorOf(oid::kInt4, "abc"), "value 'abc' is not a valid int4");
}

TEST(PgTypes, Int8StaysExact) {
  json lo = Ok(oid::kInt8, "-9223372036854775808");
  json hi = Ok(oid::kInt8, "9223372036854775807");
  ASSERT_TRUE(lo.is_number_integer());
  ASSERT_TRUE(hi.is_number_integer());
  EXPECT_EQ(lo.get<int64_t>(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(hi.get<int64_t>(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(hi.dump(), "9223372036854775807");
  EXPECT_EQ(Ok(oid::kInt8, "9007199254740993").dump(), "9007199254740993");  // 2^53 + 1
  for (auto bad : {"9223372036854775808", "-9223372036854775809", "", "1.5", "99999999999999999999"}) {
    ExpectInvalid(oid::kInt8, bad);
  }
}

TEST(PgTypes, Oid) {
  json max = Ok(oid::kOid, "4294967295");
  EXPECT_TRUE(max.is_number_unsigned());
  EXPECT_EQ(max.get<uint64_t>(), 4294967295u);
  EXPECT_EQ(Ok(oid::kOid, "0"), json(0));
  for (auto bad : {"4294967296", "-1", "", "x"}) ExpectInvalid(oid::kOid, bad);
}

TEST(PgTypes, Floats) {
  for (Oid t : {oid::kFloat4, oid::kFloat8}) {
    EXPECT_EQ(Ok(t, "1.5"), json(1.5));
    EXPECT_TRUE(Ok(t, "1.5").is_number_float());
    EXPECT_EQ(Ok(t, "-2.25e-5"), json(-2.25e-5));
    EXPECT_EQ(Ok(t, "0"), json(0.0));
    json neg_zero = Ok(t, "-0");
    EXPECT_TRUE(std::signbit(neg_zero.get<double>()));
    EXPECT_EQ(neg_zero.dump(), "-0.0");
    EXPECT_EQ(Str(t, "NaN"), "NaN");
    EXPECT_EQ(Str(t, "Infinity"), "Infinity");
    EXPECT_EQ(Str(t, "-Infinity"), "-Infinity");
    for (auto bad : {"", "nan", "inf", "-inf", "infinity", "Inf", "1e309", "-1e309", "abc", "1.5x", " 1", "1,5",
                     "+1", "0x1p3"}) {
      ExpectInvalid(t, bad);
    }
  }
  EXPECT_EQ(Ok(oid::kFloat8, "1e+308").get<double>(), 1e308);
  EXPECT_EQ(Ok(oid::kFloat8, "1e308").get<double>(), 1e308);
  EXPECT_EQ(Ok(oid::kFloat8, "-1.7976931348623157e+308").get<double>(), -std::numeric_limits<double>::max());
  EXPECT_EQ(Ok(oid::kFloat8, "5e-324").get<double>(), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(Ok(oid::kFloat8, "0.1").dump(), "0.1");
  // float4 text parsed as double prints back the digits PostgreSQL printed.
  EXPECT_EQ(Ok(oid::kFloat4, "3.4028235e+38").dump(), "3.4028235e+38");
  EXPECT_EQ(Ok(oid::kFloat4, "0.1").dump(), "0.1");
}

TEST(PgTypes, NumericAndMoneyStayStrings) {
  for (auto v : {"12.50", "0", "-0.001", "NaN", "Infinity", "-Infinity", "123456789012345678901234567890.000000001"}) {
    EXPECT_EQ(Str(oid::kNumeric, v), v);
  }
  for (auto bad : {"", "1e5", "abc", "1.", ".5", "--1", "+1", "1 ", "nan"}) ExpectInvalid(oid::kNumeric, bad);
  for (auto v : {"$1,234.56", "-$0.01", "1.234,56 €", "$0.00"}) EXPECT_EQ(Str(oid::kMoney, v), v);
}

TEST(PgTypes, TextLikeAndUnknownTypesAreStrings) {
  for (Oid t : {oid::kText, oid::kVarchar, oid::kBpchar, oid::kName, oid::kChar, oid::kXml, 869u /*inet*/,
                650u /*cidr*/, 829u /*macaddr*/, 1560u /*bit*/, 1562u /*varbit*/, 3614u /*tsvector*/,
                603u /*box*/, 99999u /*enum or citext*/, 0u}) {
    EXPECT_EQ(Str(t, "hello wörld"), "hello wörld") << t;
    EXPECT_EQ(Str(t, ""), "") << t;
    EXPECT_EQ(Str(t, "{1,2}"), "{1,2}") << t;
  }
  EXPECT_EQ(Str(oid::kBpchar, "ab   "), "ab   ");
  EXPECT_EQ(Str(oid::kXml, "<a b=\"1\"/>"), "<a b=\"1\"/>");
}

TEST(PgTypes, Uuid) {
  EXPECT_EQ(Str(oid::kUuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  for (auto bad : {"", "a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
                   "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                   "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "a0eebc99_9c0b-4ef8-bb6d-6bb9bd380a11"}) {
    ExpectInvalid(oid::kUuid, bad);
  }
}

// ---------------------------------------------------------------------------
// Dates and times

TEST(PgTypes, Date) {
  EXPECT_EQ(Str(oid::kDate, "2024-01-31"), "2024-01-31");
  EXPECT_EQ(Str(oid::kDate, "2024-02-29"), "2024-02-29");
  EXPECT_EQ(Str(oid::kDate, "2000-02-29"), "2000-02-29");
  EXPECT_EQ(Str(oid::kDate, "0001-01-01"), "0001-01-01");
  EXPECT_EQ(Str(oid::kDate, "5874897-12-31"), "5874897-12-31");
  EXPECT_EQ(Str(oid::kDate, "infinity"), "infinity");
  EXPECT_EQ(Str(oid::kDate, "-infinity"), "-infinity");
  // BC: astronomical years (1 BC is year 0).
  EXPECT_EQ(Str(oid::kDate, "0001-01-01 BC"), "0000-01-01");
  EXPECT_EQ(Str(oid::kDate, "0044-03-15 BC"), "-0043-03-15");
  EXPECT_EQ(Str(oid::kDate, "4714-11-24 BC"), "-4713-11-24");
  EXPECT_EQ(Str(oid::kDate, "0001-02-29 BC"), "0000-02-29");  // year 0 is leap
  EXPECT_EQ(Str(oid::kDate, "0005-02-29 BC"), "-0004-02-29");
  for (auto bad : {"", "2023-02-29", "1900-02-29", "0002-02-29 BC", "2024-13-01", "2024-00-10", "2024-01-00",
                   "2024-01-32", "2024-04-31", "2024-1-01", "24-01-01", "0000-01-01", "2024-01-31 AD",
                   "2024-01-31 bc", "2024-01-31BC", "2024/01/31", "2024-01-31 ", "Infinity", "01/31/2024"}) {
    ExpectInvalid(oid::kDate, bad);
  }
}

TEST(PgTypes, Time) {
  for (auto v : {"12:34:56", "12:34:56.789", "00:00:00", "23:59:59.999999", "24:00:00", "01:02:03.1"}) {
    EXPECT_EQ(Str(oid::kTime, v), v);
  }
  for (auto bad : {"", "24:00:01", "24:00:00.5", "25:00:00", "12:60:00", "12:00:60", "12:34", "12:34:56.1234567",
                   "12:34:56.", "1:02:03", "12:34:56+00", "12-34-56", "12:34:56 "}) {
    ExpectInvalid(oid::kTime, bad);
  }
}

TEST(PgTypes, TimeTzOffsetsBecomePlusHhMm) {
  EXPECT_EQ(Str(oid::kTimeTz, "12:34:56+00"), "12:34:56+00:00");
  EXPECT_EQ(Str(oid::kTimeTz, "12:34:56.5-08"), "12:34:56.5-08:00");
  EXPECT_EQ(Str(oid::kTimeTz, "12:34:56+05:30"), "12:34:56+05:30");
  EXPECT_EQ(Str(oid::kTimeTz, "12:34:56-03:30"), "12:34:56-03:30");
  EXPECT_EQ(Str(oid::kTimeTz, "00:00:00+05:30:15"), "00:00:00+05:30:15");
  EXPECT_EQ(Str(oid::kTimeTz, "24:00:00-15:59"), "24:00:00-15:59");
  for (auto bad : {"", "12:34:56", "12:34:56+5", "12:34:56+05:3", "12:34:56+0530", "12:34:56 +05", "12:34:56Z",
                   "12:34:56+05:60", "12:34:56+05:30:", "12:34+05"}) {
    ExpectInvalid(oid::kTimeTz, bad);
  }
}

TEST(PgTypes, Timestamp) {
  EXPECT_EQ(Str(oid::kTimestamp, "2024-01-31 12:34:56"), "2024-01-31T12:34:56");
  EXPECT_EQ(Str(oid::kTimestamp, "2024-01-31 12:34:56.789"), "2024-01-31T12:34:56.789");
  EXPECT_EQ(Str(oid::kTimestamp, "2024-01-31 12:34:56.000001"), "2024-01-31T12:34:56.000001");
  EXPECT_EQ(Str(oid::kTimestamp, "0044-03-15 12:00:00 BC"), "-0043-03-15T12:00:00");
  EXPECT_EQ(Str(oid::kTimestamp, "0001-12-31 23:59:59.5 BC"), "0000-12-31T23:59:59.5");
  EXPECT_EQ(Str(oid::kTimestamp, "294276-12-31 23:59:59.999999"), "294276-12-31T23:59:59.999999");
  EXPECT_EQ(Str(oid::kTimestamp, "infinity"), "infinity");
  EXPECT_EQ(Str(oid::kTimestamp, "-infinity"), "-infinity");
  for (auto bad : {"", "2024-01-31", "2024-01-31T12:34:56", "2024-01-31 12:34:56+00", "2024-01-31 24:00:00",
                   "2024-01-31 12:34:56 ", "2024-01-31  12:34:56", "2024-02-30 00:00:00",
                   "2024-01-31 12:34:56.1234567", "2024-01-31 12:34"}) {
    ExpectInvalid(oid::kTimestamp, bad);
  }
  EXPECT_EQ(ErrorOf(oid::kTimestamp, "2024-01-31"), "value '2024-01-31' is not a valid timestamp");
}

TEST(PgTypes, TimestampTzNormalizesToUtc) {
  auto tz = [](std::string_view v) { return Str(oid::kTimestampTz, v); };
  EXPECT_EQ(tz("2024-01-31 12:34:56+00"), "2024-01-31T12:34:56Z");
  EXPECT_EQ(tz("2024-01-31 12:34:56.789+00"), "2024-01-31T12:34:56.789Z");
  EXPECT_EQ(tz("2024-01-31 12:34:56.000001+00"), "2024-01-31T12:34:56.000001Z");
  EXPECT_EQ(tz("2024-01-31 12:34:56.100000+00"), "2024-01-31T12:34:56.100000Z");  // digits kept as given
  EXPECT_EQ(tz("2024-01-31 12:34:56.789+05:30"), "2024-01-31T07:04:56.789Z");
  EXPECT_EQ(tz("2024-01-31 12:34:56-08"), "2024-01-31T20:34:56Z");
  EXPECT_EQ(tz("2024-01-31 20:00:00-08"), "2024-02-01T04:00:00Z");
  EXPECT_EQ(tz("2024-01-31 12:00:00-03:30"), "2024-01-31T15:30:00Z");
  EXPECT_EQ(tz("2023-12-31 23:30:00-01"), "2024-01-01T00:30:00Z");
  EXPECT_EQ(tz("2024-01-01 00:15:00.5+01"), "2023-12-31T23:15:00.5Z");
  EXPECT_EQ(tz("2024-03-01 01:00:00+02"), "2024-02-29T23:00:00Z");
  EXPECT_EQ(tz("2023-03-01 01:00:00+02"), "2023-02-28T23:00:00Z");
  EXPECT_EQ(tz("2000-03-01 00:00:00+00:00:01"), "2000-02-29T23:59:59Z");
  EXPECT_EQ(tz("1900-01-01 00:00:00+00:19:32"), "1899-12-31T23:40:28Z");  // LMT offsets have seconds
  EXPECT_EQ(tz("1969-12-31 23:59:59-00:00:01"), "1970-01-01T00:00:00Z");
  EXPECT_EQ(tz("2024-01-31 12:34:56+14"), "2024-01-30T22:34:56Z");
  // BC and era crossings (astronomical years).
  EXPECT_EQ(tz("0044-03-15 12:00:00+00 BC"), "-0043-03-15T12:00:00Z");
  EXPECT_EQ(tz("0044-03-15 12:00:00+01 BC"), "-0043-03-15T11:00:00Z");
  EXPECT_EQ(tz("0001-01-01 00:30:00+01 BC"), "-0001-12-31T23:30:00Z");
  EXPECT_EQ(tz("0001-01-01 00:30:00+01"), "0000-12-31T23:30:00Z");
  EXPECT_EQ(tz("0001-12-31 23:30:00-01 BC"), "0001-01-01T00:30:00Z");
  EXPECT_EQ(tz("4714-11-24 00:00:00+00 BC"), "-4713-11-24T00:00:00Z");
  EXPECT_EQ(tz("294276-12-31 23:59:59.999999+00"), "294276-12-31T23:59:59.999999Z");
  EXPECT_EQ(tz("9999-12-31 23:00:00-01"), "10000-01-01T00:00:00Z");
  EXPECT_EQ(tz("infinity"), "infinity");
  EXPECT_EQ(tz("-infinity"), "-infinity");
  for (auto bad : {"", "2024-01-31 12:34:56", "2024-01-31 12:34:56+0530", "2024-01-31 12:34:56 +00",
                   "2024-01-31 12:34:56+00 bc", "2024-01-31 12:34:56+00 BC ", "2024-01-31 12:34:56.1234567+00",
                   "2024-02-30 12:34:56+00", "2024-01-31T12:34:56Z", "2024-01-31 12:34:56Z", "2024-01-31 12:34:56+5",
                   "2024-01-31 12:34:56+05:", "2024-01-31 12:34:56 UTC", "Infinity", "2024-01-31 12:34:56+05:30:"}) {
    ExpectInvalid(oid::kTimestampTz, bad);
  }
}

TEST(PgTypes, TimestampTzAgreesWithLibcForRandomInstants) {
  // Format random UTC instants with a random offset the way PostgreSQL does,
  // then check that normalization recovers the instant (timegm is the oracle).
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    int64_t utc = static_cast<int64_t>(rng() % (400LL * 365 * 86400)) - 200LL * 365 * 86400;  // 1770..2170
    int off = static_cast<int>(rng() % (2 * 15 * 3600 + 1)) - 15 * 3600;
    off -= off % (rng() % 2 ? 60 : 1);
    time_t local = static_cast<time_t>(utc + off);
    struct tm lt;
    gmtime_r(&local, &lt);
    char text[80];
    int a = off < 0 ? -off : off;
    int n = snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d%c%02d", lt.tm_year + 1900, lt.tm_mon + 1,
                     lt.tm_mday, lt.tm_hour, lt.tm_min, lt.tm_sec, off < 0 ? '-' : '+', a / 3600);
    if (a % 3600) n += snprintf(text + n, sizeof text - n, ":%02d", a / 60 % 60);
    if (a % 60) n += snprintf(text + n, sizeof text - n, ":%02d", a % 60);
    time_t u = static_cast<time_t>(utc);
    struct tm ut;
    gmtime_r(&u, &ut);
    char want[40];
    snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", ut.tm_year + 1900, ut.tm_mon + 1, ut.tm_mday,
             ut.tm_hour, ut.tm_min, ut.tm_sec);
    ASSERT_EQ(Str(oid::kTimestampTz, text), want) << text;
  }
}

TEST(PgTypes, IntervalIso8601) {
  for (auto v : {"P1Y2M3DT4H5M6S", "PT0S", "P-1Y-2M3DT-4H-5M-6.5S", "P1D", "PT1H", "PT0.000001S", "P1Y", "P2W",
                 "P1Y2M", "PT-0.5S", "P178000000Y", "infinity", "-infinity"}) {
    EXPECT_EQ(Str(oid::kInterval, v), v);
  }
  for (auto bad : {"", "P", "PT", "P1", "1 year", "@ 1 year", "P1H", "PT1Y", "PT1D", "P1M1Y", "P1DT", "P1.S",
                   "P1YT2H3H", "p1y", "P1Y ", " P1Y", "00:00:01", "P1Y2M3DT4H5M6S7"}) {
    ExpectInvalid(oid::kInterval, bad);
  }
  EXPECT_EQ(ErrorOf(oid::kInterval, "1 day"),
            "value '1 day' is not a valid interval: expected ISO 8601 (IntervalStyle=iso_8601)");
}

// ---------------------------------------------------------------------------
// bytea and json

TEST(PgTypes, Bytea) {
  EXPECT_EQ(Str(oid::kBytea, "\\x"), "");
  EXPECT_EQ(Str(oid::kBytea, "\\x0aff"), "Cv8=");
  EXPECT_EQ(Str(oid::kBytea, "\\x0AFF"), "Cv8=");
  EXPECT_EQ(Str(oid::kBytea, "\\x00"), "AA==");
  EXPECT_EQ(Str(oid::kBytea, "\\x000102"), "AAEC");
  EXPECT_EQ(Str(oid::kBytea, "\\x666f6f626172"), "Zm9vYmFy");  // "foobar"
  EXPECT_EQ(Str(oid::kBytea, "\\xfbff"), "+/8=");              // both non-alphanumeric characters
  // Every byte value, over several chunk boundaries, every length mod 3.
  std::string all;
  for (int rep = 0; rep < 12; ++rep) {
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  }
  for (size_t len : {size_t{1}, size_t{2}, size_t{3}, size_t{767}, size_t{768}, size_t{769}, size_t{770},
                     size_t{1536}, all.size()}) {
    std::string bytes = all.substr(0, len);
    ASSERT_EQ(Str(oid::kBytea, Hex(bytes)), RefBase64(bytes)) << len;
    ASSERT_EQ(Str(oid::kBytea, Hex(bytes, true)), RefBase64(bytes)) << len;
  }
  for (auto bad : {"", "0aff", "\\x0", "\\x0af", "\\xzz", "\\x0g", "\\000", "\\X0a", "x0a", "\\x 0a"}) {
    ExpectInvalid(oid::kBytea, bad);
  }
  EXPECT_EQ(ErrorOf(oid::kBytea, "abc"), "value 'abc' is not a valid bytea: expected hex format \\x... (bytea_output=hex)");
}

TEST(PgTypes, JsonAndJsonbAreValues) {
  for (Oid t : {oid::kJson, oid::kJsonb}) {
    EXPECT_EQ(Ok(t, R"({"a": 1, "b": [true, null, "x"]})"), json::parse(R"({"a":1,"b":[true,null,"x"]})"));
    EXPECT_EQ(Ok(t, "[1, 2.5]"), json::parse("[1,2.5]"));
    EXPECT_EQ(Ok(t, "42"), json(42));
    EXPECT_EQ(Ok(t, "\"s\""), json("s"));
    EXPECT_TRUE(Ok(t, "null").is_null());
    EXPECT_EQ(Ok(t, R"({"k": "Grüße \u00e9"})")["k"], json("Grüße é"));
    EXPECT_EQ(Ok(t, "  {\"nested\": {\"deep\": [[[]]]}}  "), json::parse(R"({"nested":{"deep":[[[]]]}})"));
    for (auto bad : {"", "{", "{'a': 1}", "[1,]", "{\"a\" 1}", "tru", "1 2", "{\"a\":1}}"}) ExpectInvalid(t, bad);
  }
  EXPECT_EQ(ErrorOf(oid::kJsonb, "{"), "value '{' is not a valid jsonb");
}

// ---------------------------------------------------------------------------
// Arrays

struct ArrayCase {
  Oid type;
  const char* text;
  const char* want;  // JSON
};

TEST(PgTypes, ArraysOfEveryBuiltinElementType) {
  const ArrayCase cases[] = {
      {1000, "{t,f,NULL}", "[true,false,null]"},
      {1001, R"({"\\x0aff",NULL,"\\x"})", R"(["Cv8=",null,""])"},
      {1002, R"({a,b,"\""})", R"(["a","b","\""])"},
      {1003, "{pg_catalog,public}", R"(["pg_catalog","public"])"},
      {1005, "{-32768,0,32767}", "[-32768,0,32767]"},
      {1007, "{1,2,NULL}", "[1,2,null]"},
      {1009, R"({"a b","c\"d",plain})", R"(["a b","c\"d","plain"])"},
      {1015, R"({x,"",NULL})", R"(["x","",null])"},
      {1014, R"({"ab  ",c})", R"(["ab  ","c"])"},
      {1016, "{-9223372036854775808,9223372036854775807}", "[-9223372036854775808,9223372036854775807]"},
      {1021, "{1.5,NaN,-Infinity}", R"([1.5,"NaN","-Infinity"])"},
      {1022, "{1e+308,-0,Infinity}", R"([1e308,-0.0,"Infinity"])"},
      {1028, "{0,4294967295}", "[0,4294967295]"},
      {1115, R"({"2024-01-31 12:34:56.5","0044-03-15 12:00:00 BC",infinity})",
       R"(["2024-01-31T12:34:56.5","-0043-03-15T12:00:00","infinity"])"},
      {1182, R"({2024-01-31,"0001-01-01 BC",-infinity})", R"(["2024-01-31","0000-01-01","-infinity"])"},
      {1183, "{12:34:56,24:00:00}", R"(["12:34:56","24:00:00"])"},
      {1185, R"({"2024-01-31 12:34:56+05:30","2024-01-31 20:00:00-08",NULL})",
       R"(["2024-01-31T07:04:56Z","2024-02-01T04:00:00Z",null])"},
      {1187, "{P1Y2M3DT4H5M6S,PT0S}", R"(["P1Y2M3DT4H5M6S","PT0S"])"},
      {1231, "{1.50,NaN,-Infinity}", R"(["1.50","NaN","-Infinity"])"},
      {1270, "{12:34:56+00,12:34:56-08:30}", R"(["12:34:56+00:00","12:34:56-08:30"])"},
      {2951, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", R"(["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"])"},
      {199, R"({"{\"a\": 1}","[1, 2]",NULL,"\"s\""})", R"([{"a":1},[1,2],null,"s"])"},
      {3807, R"({"{\"a\": [true]}",42})", R"([{"a":[true]},42])"},
      {791, R"({$1.00,-$2.50,"$1,000.00"})", R"(["$1.00","-$2.50","$1,000.00"])"},
      {143, R"({<a/>,"<b c=\"1\"/>"})", R"(["<a/>","<b c=\"1\"/>"])"},
      {1020, "{(1,1),(0,0);(2,2),(1,1)}", R"j(["(1,1),(0,0)","(2,2),(1,1)"])j"},
      {1017, R"j({"(1,2)","(3,4)"})j", R"j(["(1,2)","(3,4)"])j"},
      {1041, "{192.168.0.1/24,::1}", R"(["192.168.0.1/24","::1"])"},
      {1561, "{101,010}", R"(["101","010"])"},
  };
  for (const ArrayCase& c : cases) {
    EXPECT_EQ(Ok(c.type, c.text), json::parse(c.want)) << c.type << " " << c.text;
  }
}

TEST(PgTypes, ArraySyntax) {
  auto a = [](const char* text) { return Ok(1007, text); };  // int4[]
  auto t = [](const char* text) { return Ok(1009, text); };  // text[]
  EXPECT_EQ(a("{}"), json::array());
  EXPECT_EQ(a("{ }"), json::array());
  EXPECT_EQ(a("{1}"), json::parse("[1]"));
  EXPECT_EQ(a("{{1,2},{3,4}}"), json::parse("[[1,2],[3,4]]"));
  EXPECT_EQ(a("{{{1},{2}},{{3},{4}}}"), json::parse("[[[1],[2]],[[3],[4]]]"));
  EXPECT_EQ(a("{{1,NULL},{NULL,4}}"), json::parse("[[1,null],[null,4]]"));
  EXPECT_EQ(a("{{{{{{1}}}}}}"), json::parse("[[[[[[1]]]]]]"));  // 6 dimensions: PostgreSQL's maximum
  EXPECT_EQ(a(" { 1 , 2 } "), json::parse("[1,2]"));
  EXPECT_EQ(a("{\"1\",\"2\"}"), json::parse("[1,2]"));
  EXPECT_EQ(a("[0:1]={1,2}"), json::parse("[1,2]"));
  EXPECT_EQ(a("[-5:-4]={1,2}"), json::parse("[1,2]"));
  EXPECT_EQ(a("[1:2][3:4]={{1,2},{3,4}}"), json::parse("[[1,2],[3,4]]"));
  EXPECT_EQ(a("[2]={1,2}"), json::parse("[1,2]"));
  // NULL: unquoted and any case is SQL NULL; quoted or escaped is the string.
  EXPECT_EQ(t(R"({NULL,null,Null,"NULL",\NULL,NULLx,"null"})"),
            json::parse(R"([null,null,null,"NULL","NULL","NULLx","null"])"));
  EXPECT_EQ(t("{Xull,NUL,NULLL,nULl,N ULL}"), json::parse(R"(["Xull","NUL","NULLL",null,"N ULL"])"));
  EXPECT_EQ(t("{ NULL }"), json::parse("[null]"));
  // Quoting and escapes.
  EXPECT_EQ(t(R"({"a b","c\"d","e\\f","",",","{}","\x"})"), json::parse(R"(["a b","c\"d","e\\f","",",","{}","x"])"));
  EXPECT_EQ(t(R"({a\,b,a\ ,a\\b,\{})"), json::parse(R"(["a,b","a ","a\\b","{"])"));
  EXPECT_EQ(t("{  padded  ,x}"), json::parse(R"(["padded","x"])"));
  EXPECT_EQ(t("{in ner,x}"), json::parse(R"(["in ner","x"])"));
  EXPECT_EQ(t(R"({"  kept  "})"), json::parse(R"(["  kept  "])"));
  EXPECT_EQ(t(R"({{"a","b"},{c,NULL}})"), json::parse(R"([["a","b"],["c",null]])"));
  EXPECT_EQ(t("{Grüße,日本}"), json::parse(R"(["Grüße","日本"])"));
  EXPECT_EQ(t(R"({"semi;colon"})"), json::parse(R"(["semi;colon"])"));
  // ';' is an ordinary character except for box[].
  EXPECT_EQ(t("{a;b,c}"), json::parse(R"(["a;b","c"])"));
  EXPECT_EQ(Ok(1020, "{(1,1),(0,0)}"), json::parse(R"j(["(1,1),(0,0)"])j"));
  EXPECT_EQ(Ok(1020, "{NULL;(1,1),(0,0)}"), json::parse(R"j([null,"(1,1),(0,0)"])j"));
}

TEST(PgTypes, MalformedArrays) {
  for (auto bad : {"", "1,2", "{1,2", "{1,2}}", "{1,,2}", "{,}", "{1,}", "{,1}", "{1,abc}", "{{1,2},3}",
                   "{1,{2}}", "{{1},2}", "{{{{{{{1}}}}}}}", "{1}x", "[0:1]{1,2}", "[a:1]={1}", "[0:1={1}",
                   "[0:]={1}", "=[0:1]{1}", "[1:2][1:2][1:2][1:2][1:2][1:2][1:2]={1}", "{1 2}", "{\"1\"x}",
                   "{\"abc}", "{a\"b}", "{a{b}", "{1;2}", "{\\", "{1\\", "{\"a\\", "}", "{{}"}) {
    ExpectInvalid(1007, bad);
  }
  ExpectInvalid(1009, "{a,\"b}");
  ExpectInvalid(1009, "{a,b");
  ExpectInvalid(1000, "{t,x}");
  ExpectInvalid(1001, R"({"\\xzz"})");
  ExpectInvalid(3807, R"({"{bad"})");
  ExpectInvalid(1185, "{2024-01-31}");
  EXPECT_EQ(ErrorOf(1007, "{1,abc}"), "value '{1,abc}' is not a valid int4[]: value 'abc' is not a valid int4");
  EXPECT_EQ(ErrorOf(1007, "{1,2"), "value '{1,2' is not a valid int4[]: unexpected end of input");
  EXPECT_EQ(ErrorOf(1007, "{1,,2}"), "value '{1,,2}' is not a valid int4[]: empty unquoted element");
}

TEST(PgTypes, UnknownArrayTypesAreStrings) { EXPECT_EQ(Str(16500, "{a,b}"), "{a,b}"); }

TEST(PgTypes, LongValuesAreCutInErrors) {
  std::string v(500, 'x');
  std::string msg = ErrorOf(oid::kInt4, v);
  EXPECT_EQ(msg, "value '" + std::string(100, 'x') + "...' is not a valid int4");
}

// ---------------------------------------------------------------------------
// Fuzzing: any input gives a value or InvalidArgument, never a crash, and every
// value serializes.

TEST(PgTypesFuzz, RandomTextForEveryType) {
  const Oid types[] = {16,   17,   18,   19,   20,   21,   23,   25,   26,   114,  142,  700,  701,  790,  1042,
                       1043, 1082, 1083, 1114, 1184, 1186, 1266, 1700, 2950, 3802, 1000, 1001, 1002, 1003, 1005,
                       1007, 1009, 1014, 1015, 1016, 1021, 1022, 1028, 1115, 1182, 1183, 1185, 1187, 1231, 1270,
                       2951, 199,  3807, 791,  143,  1020};
  const std::string alphabet = "0123456789-+:. ,;{}\"\\[]=PYMDTHSWtfxNULnaIiBCZe\x01\xff";
  std::mt19937 rng(2024);
  int ok = 0;
  for (int iter = 0; iter < 60000; ++iter) {
    Oid t = types[rng() % std::size(types)];
    std::string s(rng() % 24, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    auto r = TextToJson(t, s);
    if (r.ok()) {
      ++ok;
      (void)r->dump(2, ' ', false, json::error_handler_t::replace);
    } else {
      ASSERT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
    }
  }
  EXPECT_GT(ok, 100);
}

TEST(PgTypesFuzz, MutatedValidValues) {
  const std::vector<std::pair<Oid, std::string>> seeds = {
      {1007, "{{1,2},{3,NULL}}"},
      {1009, R"({"a b","c\"d",NULL,\,x})"},
      {1185, R"({"2024-01-31 12:34:56.789+05:30",infinity})"},
      {oid::kTimestampTz, "0044-03-15 12:00:00.5-08:30:15 BC"},
      {oid::kTimestamp, "2024-01-31 12:34:56.789"},
      {oid::kTimeTz, "12:34:56.5-08"},
      {oid::kInterval, "P-1Y-2M3DT-4H-5M-6.5S"},
      {oid::kBytea, "\\x0aff00"},
      {oid::kJsonb, R"({"a": [1, 2, {"b": null}]})"},
      {1020, "[0:1]={(1,1),(0,0);(2,2),(1,1)}"},
      {oid::kFloat8, "-1.7976931348623157e+308"},
      {oid::kNumeric, "-123.456"},
      {oid::kDate, "0005-02-29 BC"},
  };
  std::mt19937 rng(77);
  for (int iter = 0; iter < 60000; ++iter) {
    const auto& [type, seed] = seeds[rng() % seeds.size()];
    std::string s = seed;
    for (int e = 0, n = 1 + static_cast<int>(rng() % 3); e < n; ++e) {
      size_t at = s.empty() ? 0 : rng() % s.size();
      switch (rng() % 4) {
        case 0:
          if (!s.empty()) s[at] = seed[rng() % seed.size()];
          break;
        case 1: s.insert(s.begin() + static_cast<long>(at), seed[rng() % seed.size()]); break;
        case 2:
          if (!s.empty()) s.erase(s.begin() + static_cast<long>(at));
          break;
        case 3: s.resize(rng() % (s.size() + 1)); break;
      }
    }
    auto r = TextToJson(type, s);
    if (r.ok()) {
      (void)r->dump();
    } else {
      ASSERT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
    }
  }
}

}  // namespace
}  // namespace ghostlog::capture
