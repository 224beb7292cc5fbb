#include "pg_types.h"

#include <algorithm>
#include <boost/beast/core/detail/base64.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "json_text.h"

namespace ghostlog::capture {
namespace {

using json = nlohmann::json;
namespace b64 = boost::beast::detail::base64;

// Built-in element types whose arrays we recognise, beyond the oid:: constants.
inline constexpr Oid kPoint = 600, kLseg = 601, kPath = 602, kBox = 603, kPolygon = 604, kLine = 628, kCircle = 718,
                     kCidr = 650, kInet = 869, kMacaddr = 829, kMacaddr8 = 774, kBit = 1560, kVarbit = 1562,
                     kTsvector = 3614, kTsquery = 3615, kPgLsn = 3220, kJsonpath = 4072;

const char* ScalarName(Oid t) {
  switch (t) {
    case oid::kBool:
      return "bool";
    case oid::kBytea:
      return "bytea";
    case oid::kChar:
      return "char";
    case oid::kName:
      return "name";
    case oid::kInt8:
      return "int8";
    case oid::kInt2:
      return "int2";
    case oid::kInt4:
      return "int4";
    case oid::kText:
      return "text";
    case oid::kOid:
      return "oid";
    case oid::kJson:
      return "json";
    case oid::kXml:
      return "xml";
    case oid::kFloat4:
      return "float4";
    case oid::kFloat8:
      return "float8";
    case oid::kMoney:
      return "money";
    case oid::kBpchar:
      return "bpchar";
    case oid::kVarchar:
      return "varchar";
    case oid::kDate:
      return "date";
    case oid::kTime:
      return "time";
    case oid::kTimestamp:
      return "timestamp";
    case oid::kTimestampTz:
      return "timestamptz";
    case oid::kInterval:
      return "interval";
    case oid::kTimeTz:
      return "timetz";
    case oid::kNumeric:
      return "numeric";
    case oid::kUuid:
      return "uuid";
    case oid::kJsonb:
      return "jsonb";
    case kPoint:
      return "point";
    case kLseg:
      return "lseg";
    case kPath:
      return "path";
    case kBox:
      return "box";
    case kPolygon:
      return "polygon";
    case kLine:
      return "line";
    case kCircle:
      return "circle";
    case kCidr:
      return "cidr";
    case kInet:
      return "inet";
    case kMacaddr:
      return "macaddr";
    case kMacaddr8:
      return "macaddr8";
    case kBit:
      return "bit";
    case kVarbit:
      return "varbit";
    case kTsvector:
      return "tsvector";
    case kTsquery:
      return "tsquery";
    case kPgLsn:
      return "pg_lsn";
    case kJsonpath:
      return "jsonpath";
  }
  return nullptr;
}

std::string TypeName(Oid t) {
  if (const char* n = ScalarName(t)) return n;
  if (Oid e = ArrayElementType(t)) return TypeName(e) + "[]";
  return "type " + std::to_string(t);
}

// "value '...' is not a valid int4[: why]". Long values are cut at 100 bytes.
Status Invalid(Oid type, std::string_view text, std::string_view why = {}) {
  constexpr size_t kMax = 100;
  std::string m = "value '";
  m.append(text.substr(0, kMax));
  if (text.size() > kMax) m += "...";
  m += "' is not a valid ";
  m += TypeName(type);
  if (!why.empty()) {
    m += ": ";
    m.append(why);
  }
  return Status::InvalidArgument(std::move(m));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Exactly n digits at t[i..]; advances i.
bool Digits(std::string_view t, size_t& i, int n, int* v) {
  if (t.size() - i < static_cast<size_t>(n)) return false;
  int x = 0;
  for (int k = 0; k < n; ++k) {
    char c = t[i + k];
    if (!IsDigit(c)) return false;
    x = x * 10 + (c - '0');
  }
  *v = x;
  i += n;
  return true;
}

bool Consume(std::string_view t, size_t& i, char c) {
  if (i < t.size() && t[i] == c) {
    ++i;
    return true;
  }
  return false;
}

// ---- numbers ----

template <typename T>
Result<json> IntToJson(Oid type, std::string_view t) {
  T v{};
  const char* end = t.data() + t.size();
  auto [p, ec] = std::from_chars(t.data(), end, v);
  if (t.empty() || ec != std::errc() || p != end) {
    return Invalid(type, t, ec == std::errc::result_out_of_range ? "out of range" : "");
  }
  if constexpr (std::is_signed_v<T>) {
    return json(static_cast<int64_t>(v));
  } else {
    return json(static_cast<uint64_t>(v));
  }
}

Result<json> FloatToJson(Oid type, std::string_view t) {
  if (t == "NaN" || t == "Infinity" || t == "-Infinity") return json(std::string(t));
  double v = 0;
  const char* end = t.data() + t.size();
  auto [p, ec] = std::from_chars(t.data(), end, v, std::chars_format::general);
  // from_chars also takes "inf" and "nan", which PostgreSQL never prints.
  if (t.empty() || ec != std::errc() || p != end || !std::isfinite(v)) {
    return Invalid(type, t, ec == std::errc::result_out_of_range ? "out of range" : "");
  }
  return json(v);
}

// numeric_out: [-]digits[.digits], NaN, Infinity, -Infinity.
bool ValidNumeric(std::string_view t) {
  if (t == "NaN" || t == "Infinity" || t == "-Infinity") return true;
  size_t i = 0;
  if (i < t.size() && t[i] == '-') ++i;
  size_t int_start = i;
  while (i < t.size() && IsDigit(t[i])) ++i;
  if (i == int_start) return false;
  if (i < t.size() && t[i] == '.') {
    size_t frac_start = ++i;
    while (i < t.size() && IsDigit(t[i])) ++i;
    if (i == frac_start) return false;
  }
  return i == t.size();
}

bool ValidUuid(std::string_view t) {
  if (t.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (t[i] != '-') return false;
    } else if (HexValue(t[i]) < 0) {
      return false;
    }
  }
  return true;
}

// ---- dates and times ----

bool IsLeap(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }
int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Proleptic Gregorian calendar <-> days since 1970-01-01 (H. Hinnant's algorithms).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

struct Date {
  int64_t year = 0;  // as printed (>= 1); see `bc`
  int month = 0, day = 0;
};
struct Time {
  int hour = 0, minute = 0, second = 0;
  std::string_view fraction;  // digits after '.', possibly empty
};
struct Offset {
  int seconds = 0;  // east of UTC, as printed: "+05:30" = 19800
};

// "YYYY-MM-DD" with 4 to 9 year digits; validates the day of the month.
bool ParseDate(std::string_view t, size_t& i, Date* d) {
  size_t start = i;
  int64_t y = 0;
  while (i < t.size() && IsDigit(t[i]) && i - start < 9) y = y * 10 + (t[i++] - '0');
  if (i - start < 4 || y == 0) return false;
  d->year = y;
  if (!Consume(t, i, '-') || !Digits(t, i, 2, &d->month) || !Consume(t, i, '-') || !Digits(t, i, 2, &d->day)) {
    return false;
  }
  // The day is checked against the month by DayInRange once the era is known.
  return d->month >= 1 && d->month <= 12 && d->day >= 1;
}

bool DayInRange(const Date& d, int64_t astro_year) { return d.day <= DaysInMonth(astro_year, d.month); }

// "HH:MM:SS[.f{1,6}]". `max_hour` 23 for timestamps, 24 for time (24:00:00 only).
bool ParseTime(std::string_view t, size_t& i, int max_hour, Time* tm) {
  if (!Digits(t, i, 2, &tm->hour) || !Consume(t, i, ':') || !Digits(t, i, 2, &tm->minute) || !Consume(t, i, ':') ||
      !Digits(t, i, 2, &tm->second)) {
    return false;
  }
  tm->fraction = {};
  if (Consume(t, i, '.')) {
    size_t start = i;
    while (i < t.size() && IsDigit(t[i])) ++i;
    if (i == start || i - start > 6) return false;
    tm->fraction = t.substr(start, i - start);
  }
  if (tm->minute > 59 || tm->second > 59 || tm->hour > max_hour) return false;
  if (tm->hour == 24 && (tm->minute || tm->second || tm->fraction.find_first_not_of('0') != std::string_view::npos)) {
    return false;
  }
  return true;
}

// "+HH", "+HH:MM" or "+HH:MM:SS" (or '-').
bool ParseOffset(std::string_view t, size_t& i, Offset* off) {
  if (i >= t.size() || (t[i] != '+' && t[i] != '-')) return false;
  int sign = t[i++] == '-' ? -1 : 1;
  int h = 0, m = 0, s = 0;
  if (!Digits(t, i, 2, &h)) return false;
  if (Consume(t, i, ':')) {
    if (!Digits(t, i, 2, &m) || m > 59) return false;
    if (Consume(t, i, ':') && (!Digits(t, i, 2, &s) || s > 59)) return false;
  }
  off->seconds = sign * (h * 3600 + m * 60 + s);
  return true;
}

bool ParseBc(std::string_view t, size_t& i, bool* bc) {
  *bc = t.substr(i) == " BC";
  if (*bc) i += 3;
  return i == t.size();
}

// Small fixed buffer writer: no allocation until the final std::string.
class Buf {
 public:
  void Char(char c) { *p_++ = c; }
  void Str(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Pad(int64_t v, int width) {  // v >= 0
    char tmp[24];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (n < width) tmp[n++] = '0';
    while (n) *p_++ = tmp[--n];
  }
  // Astronomical year: "0000" is 1 BC, "-0043" is 44 BC.
  void Year(int64_t y) {
    if (y < 0) {
      Char('-');
      y = -y;
    }
    Pad(y, 4);
  }
  void Date(int64_t y, int m, int d) {
    Year(y);
    Char('-');
    Pad(m, 2);
    Char('-');
    Pad(d, 2);
  }
  void Time(int h, int m, int s, std::string_view fraction) {
    Pad(h, 2);
    Char(':');
    Pad(m, 2);
    Char(':');
    Pad(s, 2);
    if (!fraction.empty()) {
      Char('.');
      Str(fraction);
    }
  }
  void Offset(int seconds) {
    Char(seconds < 0 ? '-' : '+');
    int a = seconds < 0 ? -seconds : seconds;
    Pad(a / 3600, 2);
    Char(':');
    Pad(a / 60 % 60, 2);
    if (a % 60) {
      Char(':');
      Pad(a % 60, 2);
    }
  }
  json Json() const { return json(std::string(buf_, static_cast<size_t>(p_ - buf_))); }

 private:
  char buf_[96];
  char* p_ = buf_;
};

bool IsInfinity(std::string_view t) { return t == "infinity" || t == "-infinity"; }

Result<json> DateToJson(std::string_view t) {
  if (IsInfinity(t)) return json(std::string(t));
  size_t i = 0;
  Date d;
  bool bc;
  if (!ParseDate(t, i, &d) || !ParseBc(t, i, &bc)) return Invalid(oid::kDate, t);
  int64_t y = bc ? 1 - d.year : d.year;
  if (!DayInRange(d, y)) return Invalid(oid::kDate, t);
  if (!bc) return json(std::string(t));
  Buf b;
  b.Date(y, d.month, d.day);
  return b.Json();
}

Result<json> TimeToJson(std::string_view t) {
  size_t i = 0;
  Time tm;
  if (!ParseTime(t, i, 24, &tm) || i != t.size()) return Invalid(oid::kTime, t);
  return json(std::string(t));
}

Result<json> TimeTzToJson(std::string_view t) {
  size_t i = 0;
  Time tm;
  Offset off;
  if (!ParseTime(t, i, 24, &tm) || !ParseOffset(t, i, &off) || i != t.size()) return Invalid(oid::kTimeTz, t);
  Buf b;
  b.Time(tm.hour, tm.minute, tm.second, tm.fraction);
  b.Offset(off.seconds);
  return b.Json();
}

Result<json> TimestampToJson(Oid type, std::string_view t) {
  if (IsInfinity(t)) return json(std::string(t));
  const bool tz = type == oid::kTimestampTz;
  size_t i = 0;
  Date d;
  Time tm;
  Offset off;
  bool bc;
  if (!ParseDate(t, i, &d) || !Consume(t, i, ' ') || !ParseTime(t, i, 23, &tm) || (tz && !ParseOffset(t, i, &off)) ||
      !ParseBc(t, i, &bc)) {
    return Invalid(type, t);
  }
  int64_t y = bc ? 1 - d.year : d.year;
  if (!DayInRange(d, y)) return Invalid(type, t);
  int month = d.month, day = d.day, hour = tm.hour, minute = tm.minute, second = tm.second;
  if (off.seconds != 0) {
    int64_t total = DaysFromCivil(y, month, day) * 86400 + hour * 3600 + minute * 60 + second - off.seconds;
    int64_t days = total / 86400, sod = total % 86400;
    if (sod < 0) {
      sod += 86400;
      --days;
    }
    CivilFromDays(days, &y, &month, &day);
    hour = static_cast<int>(sod / 3600);
    minute = static_cast<int>(sod / 60 % 60);
    second = static_cast<int>(sod % 60);
  }
  Buf b;
  b.Date(y, month, day);
  b.Char('T');
  b.Time(hour, minute, second, tm.fraction);
  if (tz) b.Char('Z');
  return b.Json();
}

// IntervalStyle=iso_8601: "P1Y2M3DT4H5M6.5S", "PT0S", "P-1Y-2M3DT-4H", and
// "infinity"/"-infinity" (PostgreSQL 17+).
bool ValidInterval(std::string_view t) {
  if (IsInfinity(t)) return true;
  size_t i = 0;
  if (!Consume(t, i, 'P')) return false;
  static constexpr std::string_view kDateUnits = "YMWD", kTimeUnits = "HMS";
  std::string_view units = kDateUnits;
  size_t next_unit = 0;  // designators must appear in order
  bool any = false, in_time = false, time_any = false;
  while (i < t.size()) {
    if (t[i] == 'T' && !in_time) {
      in_time = true;
      units = kTimeUnits;
      next_unit = 0;
      ++i;
      continue;
    }
    if (t[i] == '-' || t[i] == '+') ++i;
    size_t start = i;
    while (i < t.size() && IsDigit(t[i])) ++i;
    if (i == start) return false;
    if (Consume(t, i, '.')) {
      size_t frac = i;
      while (i < t.size() && IsDigit(t[i])) ++i;
      if (i == frac) return false;
    }
    if (i >= t.size()) return false;
    size_t u = units.find(t[i], next_unit);
    if (u == std::string_view::npos) return false;
    next_unit = u + 1;
    ++i;
    any = true;
    if (in_time) time_any = true;
  }
  return any && (!in_time || time_any);
}

// ---- bytea ----

Result<json> ByteaToJson(std::string_view t) {
  if (t.size() < 2 || t[0] != '\\' || t[1] != 'x' || t.size() % 2) {
    return Invalid(oid::kBytea, t, "expected hex format \\x... (bytea_output=hex)");
  }
  const size_t nbytes = (t.size() - 2) / 2;
  std::string out(b64::encoded_size(nbytes), '\0');
  // Decode hex in chunks whose size is a multiple of 3, so that each chunk
  // encodes to whole base64 quads without an intermediate copy of the bytes.
  unsigned char chunk[3 * 256];
  size_t in = 2, written = 0;
  while (in < t.size()) {
    size_t n = 0;
    while (n < sizeof chunk && in < t.size()) {
      int hi = HexValue(t[in]), lo = HexValue(t[in + 1]);
      if (hi < 0 || lo < 0) return Invalid(oid::kBytea, t, "bad hex digit");
      chunk[n++] = static_cast<unsigned char>(hi << 4 | lo);
      in += 2;
    }
    written += b64::encode(out.data() + written, chunk, n);
  }
  out.resize(written);
  return json(std::move(out));
}

// ---- json ----

Result<json> JsonToJson(Oid type, std::string_view t) {
  json j = json::parse(t.begin(), t.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid(type, t);
  return j;
}

// ---- arrays ----

bool IsArraySpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// PostgreSQL's array_out syntax (and what array_in accepts of it):
//   [ "[lb:ub]"... "=" ] "{" item (delim item)* "}" | "{}"
//   item: "{"...nested..."}" | quoted "..." with \ escapes | unquoted text
//   with \ escapes | NULL (unquoted, any case).
class ArrayParser {
 public:
  static constexpr int kMaxDims = 6;  // PostgreSQL's MAXDIM

  ArrayParser(Oid array_type, Oid element_type, std::string_view text)
      : array_type_(array_type), element_type_(element_type), t_(text), delim_(element_type == kBox ? ';' : ',') {}

  Result<json> Parse() {
    SkipSpace();
    if (i_ < t_.size() && t_[i_] == '[') RETURN_NOT_OK(ParseDimensions());
    SkipSpace();
    json out;
    RETURN_NOT_OK(ParseLevel(1, &out));
    SkipSpace();
    if (i_ != t_.size()) return Fail("unexpected text after the closing '}'");
    return out;
  }

 private:
  Status Fail(std::string_view why) const { return Invalid(array_type_, t_, why); }

  void SkipSpace() {
    while (i_ < t_.size() && IsArraySpace(t_[i_])) ++i_;
  }

  bool Bound() {  // [-]digits
    Consume(t_, i_, '-');
    size_t start = i_;
    while (i_ < t_.size() && IsDigit(t_[i_])) ++i_;
    return i_ > start;
  }

  // "[lb:ub][lb:ub]=" (or "[ub]"): bounds are dropped, JSON arrays start at 0.
  Status ParseDimensions() {
    int dims = 0;
    while (Consume(t_, i_, '[')) {
      if (++dims > kMaxDims) return Fail("too many dimensions");
      if (!Bound()) return Fail("malformed dimension decoration");
      if (Consume(t_, i_, ':') && !Bound()) return Fail("malformed dimension decoration");
      if (!Consume(t_, i_, ']')) return Fail("malformed dimension decoration");
    }
    SkipSpace();
    if (!Consume(t_, i_, '=')) return Fail("expected '=' after the dimension decoration");
    return Status::OK();
  }

  Status ParseLevel(int depth, json* out) {
    if (!Consume(t_, i_, '{')) return Fail("expected '{'");
    *out = json::array();
    SkipSpace();
    if (Consume(t_, i_, '}')) return Status::OK();
    int nested = -1;  // unknown until the first item; then 1 = sub-arrays, 0 = elements
    while (true) {
      SkipSpace();
      if (i_ >= t_.size()) return Fail("unexpected end of input");
      const bool is_sub = t_[i_] == '{';
      if (nested >= 0 && nested != is_sub) return Fail("mixes sub-arrays and elements at one level");
      nested = is_sub;
      if (is_sub) {
        if (depth >= kMaxDims) return Fail("too many dimensions");
        json sub;
        RETURN_NOT_OK(ParseLevel(depth + 1, &sub));
        out->push_back(std::move(sub));
      } else {
        json element;
        RETURN_NOT_OK(ParseElement(&element));
        out->push_back(std::move(element));
      }
      SkipSpace();
      if (i_ >= t_.size()) return Fail("unexpected end of input");
      if (t_[i_] == '}') {
        ++i_;
        return Status::OK();
      }
      if (t_[i_] != delim_) return Fail(std::string("expected '") + delim_ + "' or '}'");
      ++i_;
    }
  }

  Status ParseElement(json* out) {
    // Fast path: a run without quotes or backslashes is a view into the input.
    buf_.clear();
    bool copied = false;  // element text is in buf_ rather than t_[start, end)
    bool quoted = false, escaped = false;
    size_t start = i_, end = i_;
    if (t_[i_] == '"') {
      quoted = true;
      start = ++i_;
      while (true) {
        if (i_ >= t_.size()) return Fail("unterminated quoted element");
        char c = t_[i_];
        if (c == '"') break;
        if (c == '\\') {
          if (!copied) {
            buf_.assign(t_.data() + start, i_ - start);
            copied = true;
          }
          if (++i_ >= t_.size()) return Fail("unterminated quoted element");
          c = t_[i_];
        }
        if (copied) buf_.push_back(c);
        ++i_;
      }
      end = i_++;  // past the closing quote
    } else {
      // Unquoted: up to the delimiter or '}', trailing unescaped space trimmed.
      size_t keep = 0;  // length of buf_ (or of the view) that survives trimming
      while (i_ < t_.size()) {
        char c = t_[i_];
        if (c == delim_ || c == '}') break;
        if (c == '{' || c == '"') return Fail(std::string("unexpected '") + c + "' in an unquoted element");
        if (c == '\\') {
          if (!copied) {
            buf_.assign(t_.data() + start, i_ - start);
            copied = true;
          }
          if (++i_ >= t_.size()) return Fail("unexpected end of input");
          buf_.push_back(t_[i_++]);
          keep = buf_.size();
          escaped = true;
          continue;
        }
        if (copied) buf_.push_back(c);
        ++i_;
        if (!IsArraySpace(c)) keep = copied ? buf_.size() : i_ - start;
      }
      if (copied) {
        buf_.resize(keep);
      } else {
        end = start + keep;
      }
      if (!copied && keep == 0) return Fail("empty unquoted element");
    }
    std::string_view text = copied ? std::string_view(buf_) : t_.substr(start, end - start);
    if (!quoted && !escaped && text.size() == 4 && (text[0] | 0x20) == 'n' && (text[1] | 0x20) == 'u' &&
        (text[2] | 0x20) == 'l' && (text[3] | 0x20) == 'l') {
      *out = nullptr;
      return Status::OK();
    }
    auto r = TextToJson(element_type_, text);
    if (!r.ok()) return Fail(r.status().message());
    *out = std::move(r).value();
    return Status::OK();
  }

  Oid array_type_, element_type_;
  std::string_view t_;
  char delim_;
  size_t i_ = 0;
  std::string buf_;
};

}  // namespace

Oid ArrayElementType(Oid array_type) {
  // From pg_type.dat: the array_type_oid of each element type.
  switch (array_type) {
    case 1000:
      return oid::kBool;
    case 1001:
      return oid::kBytea;
    case 1002:
      return oid::kChar;
    case 1003:
      return oid::kName;
    case 1005:
      return oid::kInt2;
    case 1007:
      return oid::kInt4;
    case 1009:
      return oid::kText;
    case 1014:
      return oid::kBpchar;
    case 1015:
      return oid::kVarchar;
    case 1016:
      return oid::kInt8;
    case 1021:
      return oid::kFloat4;
    case 1022:
      return oid::kFloat8;
    case 1028:
      return oid::kOid;
    case 1115:
      return oid::kTimestamp;
    case 1182:
      return oid::kDate;
    case 1183:
      return oid::kTime;
    case 1185:
      return oid::kTimestampTz;
    case 1187:
      return oid::kInterval;
    case 1231:
      return oid::kNumeric;
    case 1270:
      return oid::kTimeTz;
    case 2951:
      return oid::kUuid;
    case 199:
      return oid::kJson;
    case 3807:
      return oid::kJsonb;
    case 791:
      return oid::kMoney;
    case 143:
      return oid::kXml;
    case 1017:
      return kPoint;
    case 1018:
      return kLseg;
    case 1019:
      return kPath;
    case 1020:
      return kBox;
    case 1027:
      return kPolygon;
    case 629:
      return kLine;
    case 719:
      return kCircle;
    case 651:
      return kCidr;
    case 1041:
      return kInet;
    case 1040:
      return kMacaddr;
    case 775:
      return kMacaddr8;
    case 1561:
      return kBit;
    case 1563:
      return kVarbit;
    case 3643:
      return kTsvector;
    case 3645:
      return kTsquery;
    case 3221:
      return kPgLsn;
    case 4073:
      return kJsonpath;
  }
  return 0;
}

Result<nlohmann::json> TextToJson(Oid type_oid, std::string_view text) {
  switch (type_oid) {
    case oid::kBool:
      if (text == "t") return json(true);
      if (text == "f") return json(false);
      return Invalid(type_oid, text);
    case oid::kInt2:
      return IntToJson<int16_t>(type_oid, text);
    case oid::kInt4:
      return IntToJson<int32_t>(type_oid, text);
    case oid::kInt8:
      return IntToJson<int64_t>(type_oid, text);
    case oid::kOid:
      return IntToJson<uint32_t>(type_oid, text);
    case oid::kFloat4:
    case oid::kFloat8:
      return FloatToJson(type_oid, text);
    case oid::kNumeric:
      if (!ValidNumeric(text)) return Invalid(type_oid, text);
      return json(std::string(text));
    case oid::kUuid:
      if (!ValidUuid(text)) return Invalid(type_oid, text);
      return json(std::string(text));
    case oid::kDate:
      return DateToJson(text);
    case oid::kTime:
      return TimeToJson(text);
    case oid::kTimeTz:
      return TimeTzToJson(text);
    case oid::kTimestamp:
    case oid::kTimestampTz:
      return TimestampToJson(type_oid, text);
    case oid::kInterval:
      if (!ValidInterval(text)) return Invalid(type_oid, text, "expected ISO 8601 (IntervalStyle=iso_8601)");
      return json(std::string(text));
    case oid::kBytea:
      return ByteaToJson(text);
    case oid::kJson:
    case oid::kJsonb:
      return JsonToJson(type_oid, text);
    default:
      break;
  }
  if (Oid element = ArrayElementType(type_oid)) return ArrayParser(type_oid, element, text).Parse();
  // money, text-like, network, bit strings, geometric, enums, unknown: as printed.
  return json(std::string(text));
}

void AppendJsonString(std::string* out, std::string_view v) {
  const bool plain = std::none_of(v.begin(), v.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x80;
  });
  if (!plain) {
    out->append(json(std::string(v)).dump());  // escapes, and checks UTF-8
    return;
  }
  out->push_back('"');
  out->append(v);
  out->push_back('"');
}

namespace {

template <typename T>
bool AppendInt(std::string_view text, std::string* out) {
  T v{};
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end) return false;
  char buf[24];
  out->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  return true;
}

// The fast path: false when the value needs TextToJson (another type, or a
// value the fast path refuses: TextToJson words the message).
bool AppendScalar(Oid type_oid, std::string_view text, std::string* out) {
  switch (type_oid) {
    case oid::kBool:
      if (text != "t" && text != "f") return false;
      out->append(text == "t" ? "true" : "false");
      return true;
    case oid::kInt2:
      return AppendInt<int16_t>(text, out);
    case oid::kInt4:
      return AppendInt<int32_t>(text, out);
    case oid::kInt8:
      return AppendInt<int64_t>(text, out);
    case oid::kOid:
      return AppendInt<uint32_t>(text, out);
    case oid::kNumeric:
    case oid::kUuid:
      if (!(type_oid == oid::kNumeric ? ValidNumeric(text) : ValidUuid(text))) return false;
      AppendJsonString(out, text);
      return true;
    case oid::kText:  // text-like: the string as printed
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
    case oid::kChar:
    case oid::kXml:
    case oid::kMoney:
      AppendJsonString(out, text);
      return true;
    default:
      return false;
  }
}

}  // namespace

Status AppendValueJson(Oid type_oid, std::string_view text, std::string* out) {
  if (type_oid == oid::kJson || type_oid == oid::kJsonb) {
    if (!IsJsonText(text)) return Invalid(type_oid, text);
    out->append(text);
    return Status::OK();
  }
  return AppendParsedValueJson(type_oid, text, out);
}

Status AppendParsedValueJson(Oid type_oid, std::string_view text, std::string* out) {
  if (AppendScalar(type_oid, text, out)) return Status::OK();
  ASSIGN_OR_RAISE(json v, TextToJson(type_oid, text));
  out->append(v.dump());
  return Status::OK();
}

}  // namespace ghostlog::capture
