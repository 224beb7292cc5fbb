// Shared helpers for the changelog tests: temp dirs and small record builders.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ghostlog/log/embedded_log.h"

namespace ghostlog::log::testing {

// A fresh directory under $TMPDIR, removed with everything in it at scope end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ghostlog-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline RecordIn Rec(std::string key, std::optional<std::string> value, Timestamp ts = kNoTimestamp) {
  RecordIn r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.timestamp = ts;
  return r;
}

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const ::ghostlog::Status _s = (expr);                \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

// Unwraps a Result in a test, failing with its Status.
template <typename T>
T Must(Result<T> r, const char* what = "") {
  EXPECT_TRUE(r.ok()) << what << ": " << r.status().ToString();
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return std::move(r).value();
}

}  // namespace ghostlog::log::testing
