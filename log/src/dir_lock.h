// Exclusive ownership of a data dir by one writer process.
//
// flock() on DIR/LOCK.ghostlog, with the holder's PID written inside so that
// a second writer can say who holds it. The kernel drops the lock when the
// process dies (kill -9 included), so there is no stale-lock cleanup.
#pragma once

#include <string>

#include "ghostlog/log/status.h"

namespace ghostlog::log {

class DirLock {
 public:
  static Result<DirLock> Acquire(const std::string& dir);
  DirLock(DirLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  DirLock& operator=(DirLock&&) = delete;
  DirLock(const DirLock&) = delete;
  ~DirLock();

  // PID written in the lock file of `dir`, or 0 if none can be read.
  static long HolderPid(const std::string& dir);

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace ghostlog::log
