#include "undo.h"

namespace ghostlog::transform {

namespace {

// Undo record: key = index topic '\0' index key; value = 'v' + the value the
// key had, or "-" if it had none (absent or a tombstone).
constexpr char kHadValue = 'v', kHadNone = '-';
constexpr int64_t kPage = 1000;

}  // namespace

Status UndoLog::Save(const std::string& topic, const std::vector<log::RecordIn>& records, size_t from,
                     std::vector<log::RecordIn>* out) {
  std::set<std::string> now;  // keys this call has looked at (its saves are not in the undo topic yet)
  for (size_t i = from; i < records.size(); ++i) {
    std::string key = topic + '\0' + records[i].key;
    if (!now.insert(key).second) continue;  // looked at once per call
    ASSIGN_OR_RAISE(auto saved, log_.ReadLatest({topic_, 0}, key));
    if (saved) continue;  // changed by an earlier chunk: its before-image is the one to keep
    ASSIGN_OR_RAISE(auto before, log_.ReadLatest({topic, 0}, records[i].key));
    std::string image(1, kHadNone);
    if (before && before->value) image = kHadValue + *before->value;
    out->push_back(log::RecordIn{std::move(key), std::move(image), {}, log::kNoTimestamp});
  }
  return Status::OK();
}

Status UndoLog::Restore(const std::function<Status(Batches, bool last)>& write) {
  ASSIGN_OR_RAISE(auto info, log_.DescribePartition({topic_, 0}));
  log::Offset at = info.log_start_offset;
  for (;;) {
    ASSIGN_OR_RAISE(auto page, log_.Read({topic_, 0}, at, {kPage, 16 << 20}));
    Batches batches;
    for (const auto& r : page) {
      at = r.offset + 1;
      const size_t sep = r.key.find('\0');
      if (sep == std::string::npos || !r.value || r.value->empty() ||
          (r.value->front() != kHadValue && r.value->front() != kHadNone)) {
        return Status::Corruption("'" + topic_ + "' offset " + std::to_string(r.offset) +
                                  " is not a before-image the transform wrote");
      }
      log::RecordIn back{r.key.substr(sep + 1), std::nullopt, {}, log::kNoTimestamp};
      if (r.value->front() == kHadValue) back.value = r.value->substr(1);
      batches[r.key.substr(0, sep)].push_back(std::move(back));
    }
    const bool last = page.empty() || at >= info.end_offset;
    RETURN_NOT_OK(write(std::move(batches), last));
    if (last) return Status::OK();
  }
}

Status UndoLog::Clear() {
  ASSIGN_OR_RAISE(auto info, log_.DescribePartition({topic_, 0}));
  if (info.log_start_offset == info.end_offset) return Status::OK();
  return log_.DeleteRecordsBefore({topic_, 0}, info.end_offset).status();
}

}  // namespace ghostlog::transform
