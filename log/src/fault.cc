#include "ghostlog/log/fault.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

namespace ghostlog::log::fault {
namespace {

struct Armed {
  Status status;
  int remaining = 0;
  int skip = 0;
  bool paused = false;
  int waiting = 0;
};

std::atomic<bool> g_any{false};
std::mutex g_mu;
std::condition_variable g_resumed;
std::map<std::string, Armed>& Points() {
  static std::map<std::string, Armed> points;
  return points;
}

}  // namespace

void Arm(const std::string& point, Status status, int times, int skip) {
  std::lock_guard l(g_mu);
  Points()[point] = Armed{std::move(status), times, skip};
  g_any.store(true, std::memory_order_relaxed);
}

void DisarmAll() {
  std::lock_guard l(g_mu);
  Points().clear();
  g_any.store(false, std::memory_order_relaxed);
  g_resumed.notify_all();
}

void Pause(const std::string& point) {
  std::lock_guard l(g_mu);
  Points()[point].paused = true;
  g_any.store(true, std::memory_order_relaxed);
}

void Resume(const std::string& point) {
  std::lock_guard l(g_mu);
  if (auto it = Points().find(point); it != Points().end()) it->second.paused = false;
  g_resumed.notify_all();
}

int Waiting(const std::string& point) {
  std::lock_guard l(g_mu);
  auto it = Points().find(point);
  return it == Points().end() ? 0 : it->second.waiting;
}

Status Hit(const char* point) {
  if (!g_any.load(std::memory_order_relaxed)) return Status::OK();
  std::unique_lock l(g_mu);
  auto it = Points().find(point);
  if (it != Points().end() && it->second.paused) {
    ++it->second.waiting;
    g_resumed.wait(l, [&] {
      it = Points().find(point);
      return it == Points().end() || !it->second.paused;
    });
    if (it != Points().end()) --it->second.waiting;
  }
  if (it == Points().end() || it->second.remaining == 0) return Status::OK();
  if (it->second.skip > 0) {
    --it->second.skip;
    return Status::OK();
  }
  if (it->second.remaining > 0) --it->second.remaining;
  return it->second.status;
}

}  // namespace ghostlog::log::fault
