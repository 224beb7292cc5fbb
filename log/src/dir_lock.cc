#include "dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace ghostlog::log {
namespace {
std::string LockPath(const std::string& dir) { return dir + "/LOCK.ghostlog"; }
}  // namespace

Result<DirLock> DirLock::Acquire(const std::string& dir) {
  const std::string path = LockPath(dir);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot open lock file " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      const long pid = HolderPid(dir);
      return Status::Busy("data dir " + dir + " is locked by PID " +
                          (pid > 0 ? std::to_string(pid) : std::string("unknown")));
    }
    return Status::IOError("cannot lock " + path + ": " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  // Write first, then trim: a second writer reading in between sees a PID, never an empty file.
  if (::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()) ||
      ::ftruncate(fd, static_cast<off_t>(pid.size())) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IOError("cannot write lock file " + path + ": " + std::strerror(err));
  }
  return DirLock(fd);
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

long DirLock::HolderPid(const std::string& dir) {
  std::ifstream in(LockPath(dir));
  long pid = 0;
  if (in >> pid) return pid;
  return 0;
}

}  // namespace ghostlog::log
