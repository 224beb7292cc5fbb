// Shell-style name patterns for topics and tables: '*' matches any run of
// characters (dots included), '?' one character. Shared by every stage so
// that "v2.public.*" means the same thing everywhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ghostlog {

inline bool GlobMatch(std::string_view pattern, std::string_view s) {
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == s[i])) {
      ++p, ++i;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1, i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

inline bool GlobMatchAny(const std::vector<std::string>& patterns, std::string_view s) {
  for (const auto& p : patterns) {
    if (GlobMatch(p, s)) return true;
  }
  return false;
}

}  // namespace ghostlog
