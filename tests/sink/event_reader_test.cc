// The sink's event reader against nlohmann::json on the same texts, and the
// COPY text it makes of values.
#include "event_reader.h"

#include <gtest/gtest.h>

#include <boost/beast/core/detail/base64.hpp>
#include <nlohmann/json.hpp>

#include <random>

#include "target.h"

namespace ghostlog::sink {
namespace {

using nlohmann::json;

// What the reader should have made of a row image, from the JSON tree.
void ExpectImage(const json& want, const RowImage& got, const std::string& text) {
  if (!want.is_object()) {
    EXPECT_FALSE(got.present) << text;
    return;
  }
  ASSERT_TRUE(got.present) << text;
  ASSERT_EQ(got.size, want.size()) << text;
  for (size_t i = 0; i < got.size; ++i) {
    const JsonField& f = got.fields[i];
    ASSERT_TRUE(want.contains(f.name)) << f.name << " in " << text;
    const json& v = want[f.name];
    using Kind = JsonValue::Kind;
    switch (f.value.kind) {
      case Kind::kNull: EXPECT_TRUE(v.is_null()) << text; break;
      case Kind::kString: EXPECT_EQ(f.value.text, v.get<std::string>()) << text; break;
      case Kind::kBool: EXPECT_EQ(f.value.text, v.dump()) << text; break;
      case Kind::kNumber:
      case Kind::kArray:
      case Kind::kObject: EXPECT_EQ(json::parse(f.value.text), v) << text; break;
    }
  }
}

void ExpectSameAsTree(const std::string& text) {
  EventView e;
  Status s = ReadEvent(text, &e);
  json j = json::parse(text, nullptr, false);
  ASSERT_EQ(s.ok(), !j.is_discarded() && j.is_object()) << text << " -> " << s.ToString();
  if (!s.ok()) return;
  EXPECT_EQ(e.op, j.contains("op") && j["op"].is_string() ? j["op"].get<std::string>() : "") << text;
  ExpectImage(j.value("before", json()), e.before, text);
  ExpectImage(j.value("after", json()), e.after, text);
}

TEST(EventReaderTest, ReadsWhatAJsonTreeReads) {
  for (const char* text : {
           R"({"after":{"id":1,"name":"a","qty":2},"before":null,"op":"c","source":{"lsn":1,"x":[1,{"y":null}]}})",
           R"({"op":"d","before":{"id":-0.5e+3},"after":null})",
           R"({ "before" : { "k" : "t\"ab\\\/\b\f\n\r\t" } , "op" : "u" , "after" : { "k" : "\u00e9\u20ac\ud83d\ude00" } })",
           R"({"after":{"a":[1,[2,null],"x"],"o":{"b":{}},"t":true,"f":false,"z":0,"e":1E-2},"op":"r"})",
           R"({"after":{},"op":"u"})",
           R"({"op":7,"after":{"a":1}})",
           R"({"after":{"a":1},"after":{"b":2}})",
           R"({})",
       }) {
    ExpectSameAsTree(text);
  }
}

TEST(EventReaderTest, RefusesWhatIsNotOneJsonObjectAndNamesTheByte) {
  for (const char* text : {"", "[]", "null", R"({"op":"c")", R"({"op":"c"} x)", R"({"op":"c",})", R"({"a":01})",
                           R"({"a":1.})", R"({"a":-})", R"({"a":"\x"})", R"({"a":"\ud800"})", R"({"a":"\udc00x"})",
                           "{\"a\":\"tab\there\"}", R"({"a":tru})", R"({"after":{"a" 1}})", R"({"a":[1 2]})"}) {
    EventView e;
    Status s = ReadEvent(text, &e);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find("at byte"), std::string::npos) << s.ToString();
    EXPECT_TRUE(json::parse(text, nullptr, false).is_discarded() || !json::parse(text).is_object()) << text;
  }
  std::string deep = R"({"source":)" + std::string(1000, '[') + std::string(1000, ']') + "}";
  EventView e;
  EXPECT_NE(ReadEvent(deep, &e).message().find("nested deeper"), std::string::npos);
}

// Random events (strings with every kind of character, nested values),
// written by nlohmann and read back.
TEST(EventReaderTest, RandomEventsRoundTrip) {
  std::mt19937 rng(42);
  auto random_string = [&] {
    std::string s;
    for (int n = static_cast<int>(rng() % 12); n > 0; --n) {
      const int pick = static_cast<int>(rng() % 6);
      if (pick == 0) s += static_cast<char>(rng() % 32);  // control characters
      else if (pick == 1) s += "\xc3\xa9";                 // é
      else if (pick == 2) s += "\xf0\x9f\x98\x80";         // outside the BMP
      else s += static_cast<char>(' ' + rng() % 95);
    }
    return s;
  };
  std::function<json(int)> random_value = [&](int depth) -> json {
    switch (rng() % (depth < 3 ? 7 : 5)) {
      case 0: return nullptr;
      case 1: return random_string();
      case 2: return static_cast<int64_t>(rng()) - (1LL << 31);
      case 3: return std::ldexp(static_cast<double>(rng()), -static_cast<int>(rng() % 40));
      case 4: return rng() % 2 == 0;
      case 5: {
        json a = json::array();
        for (int n = static_cast<int>(rng() % 4); n > 0; --n) a.push_back(random_value(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (int n = static_cast<int>(rng() % 4); n > 0; --n) o[random_string()] = random_value(depth + 1);
        return o;
      }
    }
  };
  EventView reused;  // buffers carried from event to event, as in the sink
  for (int i = 0; i < 2000; ++i) {
    json after = json::object();
    for (int n = static_cast<int>(rng() % 6); n > 0; --n) after[random_string()] = random_value(0);
    const json e = {{"op", "u"}, {"after", after}, {"before", rng() % 2 ? json() : after}, {"source", random_value(0)}};
    const std::string text = e.dump(rng() % 2 ? -1 : 1);
    ASSERT_TRUE(ReadEvent(text, &reused).ok()) << text;
    ExpectImage(after, reused.after, text);
    ExpectSameAsTree(text);
  }
}

TEST(CopyValueTest, MakesPostgresCopyTextForEachKindOfColumn) {
  auto copy = [](TargetColumn col, const std::string& event_value) {
    EventView e;
    EXPECT_TRUE(ReadEvent(R"({"after":{"v":)" + event_value + "}}", &e).ok()) << event_value;
    std::string out;
    Status s = AppendCopyValue(col, e.after.fields[0].value, &out);
    return s.ok() ? out : "error: " + s.message();
  };
  TargetColumn text{"v", "text", 'S'};
  EXPECT_EQ(copy(text, R"("a\tb\\c\nd")"), R"(a\tb\\c\nd)");
  EXPECT_EQ(copy(text, "null"), R"(\N)");
  EXPECT_EQ(copy(text, R"("\\N")"), R"(\\N)");  // the string \N is not NULL
  TargetColumn num{"v", "numeric", 'N'};
  EXPECT_EQ(copy(num, "123456789012345678901234567890"), "123456789012345678901234567890");  // no double in between
  EXPECT_EQ(copy(num, "-1.5e-7"), "-1.5e-7");
  TargetColumn boolean{"v", "boolean", 'B'};
  EXPECT_EQ(copy(boolean, "true"), "t");
  TargetColumn bytea{"v", "bytea", 'U', true};
  EXPECT_EQ(copy(bytea, R"("AAH/")"), R"(\\x0001ff)");
  EXPECT_NE(copy(bytea, "1").find("needs a base64 string"), std::string::npos);
  // Decoded a piece at a time: values longer than a piece, padded or not,
  // and a bad character in a middle piece.
  for (size_t n : {3071u, 3072u, 3073u, 10000u}) {
    std::string raw(n, '\0'), hex = "\\\\x";
    for (size_t i = 0; i < n; ++i) raw[i] = static_cast<char>((i * 7919) >> 3);
    for (unsigned char c : raw) hex += "0123456789abcdef"[c >> 4], hex += "0123456789abcdef"[c & 15];
    std::string b64(boost::beast::detail::base64::encoded_size(n), '\0');
    b64.resize(boost::beast::detail::base64::encode(b64.data(), raw.data(), n));
    EXPECT_EQ(copy(bytea, nlohmann::json(b64).dump()), hex) << n;
    b64[std::min<size_t>(4100, b64.size() / 2)] = '*';  // 4100: in the second of four pieces
    EXPECT_NE(copy(bytea, nlohmann::json(b64).dump()).find("is not base64"), std::string::npos) << n;
  }
  TargetColumn js{"v", "jsonb", 'U', false, true};
  EXPECT_EQ(copy(js, R"({"b": [1, "x\ty"]})"), R"({"b": [1, "x\\ty"]})");  // as written, COPY-escaped
  EXPECT_EQ(copy(js, R"("s")"), R"("s")");
  // Astronomical years (capture's ISO 8601) become the BC years PostgreSQL reads.
  TargetColumn date{"v", "date", 'D'};
  EXPECT_EQ(copy(date, R"("-0043-03-15")"), "0044-03-15 BC");
  EXPECT_EQ(copy(date, R"("0000-02-29")"), "0001-02-29 BC");
  EXPECT_EQ(copy(date, R"("-4712-01-01T00:00:00.5Z")"), "4713-01-01T00:00:00.5Z BC");
  EXPECT_EQ(copy(date, R"("-12345-01-01")"), "12346-01-01 BC");
  for (const char* as_is : {"2024-01-31", "0001-01-01", "-infinity", "infinity", "12:34:56-08:00", "-x-1", "-"}) {
    EXPECT_EQ(copy(date, nlohmann::json(as_is).dump()), as_is);
  }
  TargetColumn arr{"v", "text[]", 'A'};
  EXPECT_EQ(copy(arr, R"(["a", null, "b\"c"])"), R"({"a",NULL,"b\\"c"})");
  // Elements of a date or timestamp array get BC years as scalars do.
  TargetColumn dates{"v", "date[]", 'A'};
  dates.element_category = 'D';
  EXPECT_EQ(copy(dates, R"([["-0043-03-15", null], ["2024-01-31", "infinity"]])"),
            R"({{"0044-03-15 BC",NULL},{"2024-01-31","infinity"}})");
  EXPECT_EQ(copy(arr, R"(["-0043-03-15"])"), R"({"-0043-03-15"})");  // text stays text
  // A text column takes JSON as its text (a mapping's json_object() into a
  // varchar); other columns refuse it.
  EXPECT_EQ(copy(text, R"({"a": [1, "x\ty"]})"), R"({"a": [1, "x\\ty"]})");
  EXPECT_EQ(copy(text, "[1]"), "[1]");
  EXPECT_NE(copy(num, "[1]").find("got an array"), std::string::npos);
  EXPECT_NE(copy(num, R"({"a":1})").find("got a JSON object"), std::string::npos);
}

TEST(CopyValueTest, SplitCopyLineUndoesTheEscaping) {
  auto fields = SplitCopyLine("a\\tb\t\\N\t\\\\N\t");
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0], std::optional<std::string>("a\tb"));
  EXPECT_EQ(fields[1], std::nullopt);
  EXPECT_EQ(fields[2], std::optional<std::string>("\\N"));
  EXPECT_EQ(fields[3], std::optional<std::string>(""));
}

}  // namespace
}  // namespace ghostlog::sink
