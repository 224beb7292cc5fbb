// Helpers over the Changelog interface, for every implementation.
#include "ghostlog/log/changelog.h"

#include <nlohmann/json.hpp>

namespace ghostlog::log {

namespace {
// Calls f(record) for every record of the partition, from its start to its end.
template <class F>
Status ForEachRecord(Changelog& log, const TopicPartition& tp, F&& f) {
  ASSIGN_OR_RAISE(auto info, log.DescribePartition(tp));
  for (Offset at = info.log_start_offset; at < info.end_offset;) {
    ASSIGN_OR_RAISE(auto records, log.Read(tp, at, ReadLimits{10000, 16 << 20}));
    if (records.empty()) break;  // only transaction markers are left
    at = records.back().offset + 1;
    for (auto& r : records) f(r);
  }
  return Status::OK();
}
}  // namespace

Result<std::optional<Record>> ScanForLatest(Changelog& log, const TopicPartition& tp, const std::string& key) {
  std::optional<Record> latest;
  RETURN_NOT_OK(ForEachRecord(log, tp, [&](Record& r) {
    if (r.key == key) latest = std::move(r);  // a tombstone counts: it is the latest
  }));
  return latest;
}

Status ValidateAppendAt(const std::vector<Record>& records, Offset end) {
  for (size_t i = 1; i < records.size(); ++i) {
    if (records[i].offset <= records[i - 1].offset) {
      return Status::InvalidArgument(
          "records to append at their offsets must increase: " + std::to_string(records[i].offset) + " after " +
          std::to_string(records[i - 1].offset));
    }
  }
  if (!records.empty() && end <= records.back().offset) {
    return Status::InvalidArgument("end " + std::to_string(end) + " is not past the last offset " +
                                   std::to_string(records.back().offset));
  }
  return Status::OK();
}

Result<std::vector<std::string>> CopiedFrom(Changelog& log) {
  auto chain = log.ReadCheckpoint(kCopiedFromCheckpoint);
  if (chain.status().IsNotFound()) return std::vector<std::string>{};
  RETURN_NOT_OK(chain.status());
  const auto ids = nlohmann::json::parse(*chain, nullptr, false);
  const Status corrupt =
      Status::Corruption(std::string("checkpoint ") + kCopiedFromCheckpoint + " is not a JSON array of ids: " + *chain);
  if (!ids.is_array()) return corrupt;
  std::vector<std::string> out;
  for (const auto& id : ids) {
    if (!id.is_string()) return corrupt;
    out.push_back(id.get<std::string>());
  }
  return out;
}

Result<std::map<std::string, Record>> ScanLatestByKey(Changelog& log, const TopicPartition& tp) {
  std::map<std::string, Record> latest;
  RETURN_NOT_OK(ForEachRecord(log, tp, [&](Record& r) { latest.insert_or_assign(r.key, std::move(r)); }));
  return latest;
}

}  // namespace ghostlog::log
