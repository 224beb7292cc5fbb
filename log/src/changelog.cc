// Helpers over the Changelog interface, for every implementation.
#include "ghostlog/log/changelog.h"

namespace ghostlog::log {

Result<std::optional<Record>> ScanForLatest(Changelog& log, const TopicPartition& tp, const std::string& key) {
  std::optional<Record> latest;
  ASSIGN_OR_RAISE(auto info, log.DescribePartition(tp));
  for (Offset at = info.log_start_offset; at < info.end_offset;) {
    ASSIGN_OR_RAISE(auto records, log.Read(tp, at, ReadLimits{10000, 16 << 20}));
    if (records.empty()) break;  // only transaction markers are left
    at = records.back().offset + 1;
    for (auto& r : records) {
      if (r.key == key) latest = std::move(r);  // a tombstone counts: it is the latest
    }
  }
  return latest;
}

}  // namespace ghostlog::log
