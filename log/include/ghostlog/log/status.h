// Status and Result<T>: how every ghostlog library reports failure.
//
// Errors are values, never exceptions across a library boundary. A Status has a
// code (what kind of failure, for the caller's logic) and a message (what went
// wrong and where, for the operator). Messages are one sentence, no trailing
// period, and name the thing at fault: "topic 'orders' does not exist".
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ghostlog {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's input is wrong; retrying will not help
    kNotFound,         // a named topic, group or partition does not exist
    kAlreadyExists,
    kOutOfRange,       // an offset outside [log start, end]
    kCorruption,       // stored data fails its checksum or does not parse
    kIOError,          // the disk or the OS failed; fatal for a writer (see fsync policy)
    kBusy,             // the data dir is locked by another process
    kNotSupported,     // e.g. a newer on-disk format
    kAborted,          // an operation stopped because the log is closing
    kTimedOut,
    kUnavailable,      // a remote peer (database, broker) is unreachable; retrying may help
    kNoSpace,          // the data dir's file system is full; the writer refuses writes until it
                       // is reopened, which recovers everything acknowledged before
  };

  Status() = default;
  static Status OK() { return {}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }
  static Status NotSupported(std::string m) { return {Code::kNotSupported, std::move(m)}; }
  static Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
  static Status TimedOut(std::string m) { return {Code::kTimedOut, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status NoSpace(std::string m) { return {Code::kNoSpace, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsOutOfRange() const { return code_ == Code::kOutOfRange; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  bool IsNoSpace() const { return code_ == Code::kNoSpace; }

  // "Corruption: record 7 of topic 'x' partition 0 fails its checksum".
  std::string ToString() const;
  static const char* CodeName(Code c);

  // Prefixes the message with context, keeping the code: "reading topic 'x': ...".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return {code_, context + ": " + message_};
  }

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "a Result needs a value or a failed Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ghostlog

#define GHOSTLOG_CONCAT_INNER(a, b) a##b
#define GHOSTLOG_CONCAT(a, b) GHOSTLOG_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` failed.
#define RETURN_NOT_OK(expr)                  \
  do {                                       \
    ::ghostlog::Status _st = (expr);         \
    if (!_st.ok()) return _st;               \
  } while (0)

#define ASSIGN_OR_RAISE_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                         \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

// `ASSIGN_OR_RAISE(auto x, Foo());` declares x from Foo()'s value or returns its Status.
#define ASSIGN_OR_RAISE(lhs, rexpr) \
  ASSIGN_OR_RAISE_IMPL(GHOSTLOG_CONCAT(_result_, __LINE__), lhs, rexpr)
