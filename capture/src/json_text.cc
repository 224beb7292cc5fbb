#include "json_text.h"

#include <string>
#include <utility>
#include <vector>

namespace ghostlog::capture {
namespace {

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

class Checker {
 public:
  explicit Checker(std::string_view s) : s_(s) {}

  bool Text() {
    Space();
    for (;;) {
      if (!ValueStart()) return false;
      // A value is complete: close what it completes, then expect the next.
      for (;;) {
        Space();
        if (open_.empty()) return i_ == s_.size();
        if (i_ >= s_.size()) return false;
        const char close = open_.back() == '{' ? '}' : ']';
        if (s_[i_] == close) {
          open_.pop_back();
          ++i_;
          continue;
        }
        if (s_[i_] != ',') return false;
        ++i_;
        Space();
        if (open_.back() == '{' && !Name()) return false;
        break;
      }
    }
  }

 private:
  // A value, or the start of a container (then its first member or element
  // too, unless it is empty). False on bad syntax.
  bool ValueStart() {
    for (;;) {
      if (i_ >= s_.size()) return false;
      const char c = s_[i_];
      if (c == '{' || c == '[') {
        ++i_;
        Space();
        if (i_ < s_.size() && s_[i_] == (c == '{' ? '}' : ']')) {
          ++i_;
          return true;  // empty: a complete value
        }
        open_.push_back(c);
        if (c == '{' && !Name()) return false;
        continue;  // the first element's value
      }
      if (c == '"') return String();
      if (c == '-' || (c >= '0' && c <= '9')) return Number();
      return Word("true") || Word("false") || Word("null");
    }
  }

  // A member name and its colon.
  bool Name() {
    if (i_ >= s_.size() || s_[i_] != '"' || !String()) return false;
    Space();
    if (i_ >= s_.size() || s_[i_] != ':') return false;
    ++i_;
    Space();
    return true;
  }

  void Space() { i_ = SkipSpace(s_, i_); }

  bool Word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  bool Digits() {
    const size_t from = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > from;
  }

  bool Number() {
    if (s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (i_ >= s_.size() || s_[i_] < '1' || s_[i_] > '9' || !Digits()) {
      return false;
    }
    if (i_ < s_.size() && s_[i_] == '.' && (++i_, !Digits())) return false;
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!Digits()) return false;
    }
    return true;
  }

  static bool Hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

  bool String() {
    for (++i_; i_ < s_.size();) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i_ >= s_.size()) return false;
        if (s_[i_] == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (i_ + k >= s_.size() || !Hex(s_[i_ + k])) return false;
          }
          i_ += 5;
        } else if (std::string_view("\"\\/bfnrt").find(s_[i_]) != std::string_view::npos) {
          ++i_;
        } else {
          return false;
        }
      } else if (c < 0x80) {
        ++i_;
      } else if (!Utf8()) {
        return false;
      }
    }
    return false;
  }

  // One multi-byte UTF-8 sequence at i_: no overlong forms, no surrogates,
  // nothing above U+10FFFF.
  bool Utf8() {
    const auto b = [&](size_t k) { return i_ + k < s_.size() ? static_cast<unsigned char>(s_[i_ + k]) : 0u; };
    const unsigned c = b(0);
    const int more = c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 0;
    if (more == 0) return false;
    unsigned lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (b(1) < lo || b(1) > hi) return false;
    for (int k = 2; k <= more; ++k) {
      if (b(k) < 0x80 || b(k) > 0xBF) return false;
    }
    i_ += more + 1;
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string open_;  // the containers open around i_: '{' or '['
};

// The end of the JSON value (string, object, array or literal) at s[i], or
// npos. Brackets are only counted, not matched: enough to find the span.
size_t SkipValue(std::string_view s, size_t i) {
  int depth = 0;
  bool in_string = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
      if (depth < 0) return i;
    } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      return i;
    }
  }
  return depth == 0 && !in_string ? i : std::string_view::npos;
}

}  // namespace

bool IsJsonText(std::string_view s) { return Checker(s).Text(); }

bool JsonObjectMembers(std::string_view s, std::vector<std::pair<std::string_view, std::string_view>>* out) {
  size_t i = SkipSpace(s, 0);
  if (i >= s.size() || s[i] != '{') return false;
  i = SkipSpace(s, i + 1);
  if (i < s.size() && s[i] == '}') return true;
  for (;;) {
    if (i >= s.size() || s[i] != '"') return false;
    const size_t name_end = SkipValue(s, i);
    if (name_end == std::string_view::npos) return false;
    const size_t value = SkipSpace(s, name_end);
    if (value >= s.size() || s[value] != ':') return false;
    const size_t from = SkipSpace(s, value + 1), to = SkipValue(s, from);
    if (to == std::string_view::npos || to == from) return false;
    out->emplace_back(s.substr(i, name_end - i), s.substr(from, to - from));
    i = SkipSpace(s, to);
    if (i < s.size() && s[i] == '}') return true;
    if (i >= s.size() || s[i] != ',') return false;
    i = SkipSpace(s, i + 1);
  }
}

}  // namespace ghostlog::capture
