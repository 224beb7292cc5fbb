#include "ghostlog/log/fault.h"

#include <atomic>
#include <map>
#include <mutex>

namespace ghostlog::log::fault {
namespace {

struct Armed {
  Status status;
  int remaining;
  int skip;
};

std::atomic<bool> g_any{false};
std::mutex g_mu;
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
}

Status Hit(const char* point) {
  if (!g_any.load(std::memory_order_relaxed)) return Status::OK();
  std::lock_guard l(g_mu);
  auto it = Points().find(point);
  if (it == Points().end() || it->second.remaining == 0) return Status::OK();
  if (it->second.skip > 0) {
    --it->second.skip;
    return Status::OK();
  }
  if (it->second.remaining > 0) --it->second.remaining;
  return it->second.status;
}

}  // namespace ghostlog::log::fault
