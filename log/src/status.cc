#include "ghostlog/log/status.h"

#include <chrono>

#include "ghostlog/log/types.h"

namespace ghostlog {

const char* Status::CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "Invalid argument";
    case Code::kNotFound: return "Not found";
    case Code::kAlreadyExists: return "Already exists";
    case Code::kOutOfRange: return "Out of range";
    case Code::kCorruption: return "Corruption";
    case Code::kIOError: return "IO error";
    case Code::kBusy: return "Busy";
    case Code::kNotSupported: return "Not supported";
    case Code::kAborted: return "Aborted";
    case Code::kTimedOut: return "Timed out";
    case Code::kUnavailable: return "Unavailable";
    case Code::kNoSpace: return "No space";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

namespace log {
Timestamp NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace log

}  // namespace ghostlog
