#include "undo.h"

#include <charconv>

namespace ghostlog::transform {

namespace {

// Undo record: key = topic '\0' record key; value = 'v' + the value the key
// had, or "-" if it had none (absent or a tombstone), or 'h' + its headers
// (count, then each name and value as length ':' bytes) + the value, for a
// record that had headers (an output record's producer).
constexpr char kHadValue = 'v', kHadNone = '-', kHadHeaders = 'h';
constexpr int64_t kPage = 1000;

void AppendBytes(std::string* out, const std::string& bytes) {
  *out += std::to_string(bytes.size());
  *out += ':';
  *out += bytes;
}

// Reads one AppendBytes field at `*at`; false if it is not one.
bool ReadBytes(const std::string& in, size_t* at, std::string* out) {
  const size_t colon = in.find(':', *at);
  if (colon == std::string::npos || colon == *at || colon - *at > 19) return false;
  size_t n = 0;
  for (size_t i = *at; i < colon; ++i) {
    if (in[i] < '0' || in[i] > '9') return false;
    n = n * 10 + static_cast<size_t>(in[i] - '0');
  }
  if (n > in.size() - colon - 1) return false;
  *out = in.substr(colon + 1, n);
  *at = colon + 1 + n;
  return true;
}

// The record an 'h' image puts back; false if it is not one.
bool DecodeWithHeaders(const std::string& image, log::RecordIn* back) {
  size_t at = 1;
  std::string count;
  int n = 0;
  if (!ReadBytes(image, &at, &count) ||
      std::from_chars(count.data(), count.data() + count.size(), n).ptr != count.data() + count.size()) {
    return false;
  }
  for (; n > 0; --n) {
    log::Header h;
    if (!ReadBytes(image, &at, &h.key) || !ReadBytes(image, &at, &h.value)) return false;
    back->headers.push_back(std::move(h));
  }
  back->value = image.substr(at);
  return true;
}

}  // namespace

Status UndoLog::Save(const std::string& topic, const std::vector<log::RecordIn>& records, size_t from,
                     std::vector<log::RecordIn>* out, const std::set<std::string>* only) {
  // The batch's earlier transactions are written with this chunk: a key
  // they changed had their value before this transaction, not the log's.
  std::map<std::string_view, const log::RecordIn*> earlier;
  for (size_t i = 0; i < from && i < records.size(); ++i) earlier[records[i].key] = &records[i];
  std::set<std::string> now;  // keys this call has looked at (its saves are not in the undo topic yet)
  auto save = [&](const std::string& record_key) -> Status {
    std::string key = topic + '\0' + record_key;
    if (!now.insert(key).second) return Status::OK();  // looked at once per call
    ASSIGN_OR_RAISE(auto saved, log_.ReadLatest({topic_, 0}, key));
    if (saved && saved->value) return Status::OK();  // changed by an earlier chunk: its before-image is the one to keep
    std::optional<log::Record> before;
    if (auto it = earlier.find(record_key); it != earlier.end()) {
      before = log::Record{};
      before->value = it->second->value;
      before->headers = it->second->headers;
    } else {
      ASSIGN_OR_RAISE(before, log_.ReadLatest({topic, 0}, record_key));
    }
    std::string image(1, kHadNone);
    if (before && before->value && before->headers.empty()) image = kHadValue + *before->value;
    if (before && before->value && !before->headers.empty()) {
      image = kHadHeaders;
      AppendBytes(&image, std::to_string(before->headers.size()));
      for (const auto& h : before->headers) {
        AppendBytes(&image, h.key);
        AppendBytes(&image, h.value);
      }
      image += *before->value;
    }
    Remember(key);
    out->push_back(log::RecordIn{std::move(key), std::move(image), {}, log::kNoTimestamp});
    return Status::OK();
  };
  if (only != nullptr) {
    for (const auto& k : *only) RETURN_NOT_OK(save(k));
    return Status::OK();
  }
  for (size_t i = from; i < records.size(); ++i) RETURN_NOT_OK(save(records[i].key));
  return Status::OK();
}

void UndoLog::SaveNone(const std::string& topic, const std::string& key, std::vector<log::RecordIn>* out) {
  Remember(topic + '\0' + key);
  out->push_back(log::RecordIn{topic + '\0' + key, std::string(1, kHadNone), {}, log::kNoTimestamp});
}

// Pages through the latest before-image of each key: a key whose latest
// record is a tombstone was cleared.
Status UndoLog::Restore(const std::function<Status(Batches, bool last)>& write) {
  std::string after;
  for (;;) {
    ASSIGN_OR_RAISE(auto page, log_.ReadLatestByPrefix({topic_, 0}, "", after, kPage));
    Batches batches;
    for (const auto& r : page) {
      after = r.key;
      const size_t sep = r.key.find('\0');
      log::RecordIn back{sep == std::string::npos ? "" : r.key.substr(sep + 1), std::nullopt, {}, log::kNoTimestamp};
      const char kind = r.value && !r.value->empty() ? r.value->front() : '\0';
      if (kind == kHadValue) back.value = r.value->substr(1);
      if (sep == std::string::npos || (kind != kHadValue && kind != kHadNone && kind != kHadHeaders) ||
          (kind == kHadHeaders && !DecodeWithHeaders(*r.value, &back))) {
        return Status::Corruption("'" + topic_ + "' offset " + std::to_string(r.offset) +
                                  " is not a before-image the transform wrote");
      }
      batches[r.key.substr(0, sep)].push_back(std::move(back));
    }
    const bool last = page.size() < static_cast<size_t>(kPage);
    RETURN_NOT_OK(write(std::move(batches), last));
    if (last) return Status::OK();
  }
}

void UndoLog::Remember(const std::string& key) {
  if (!saved_known_) return;  // Clear reads the topic
  if (saved_.size() >= kMaxRemembered) {
    // A huge transaction: memory stays bounded, and Clear reads the topic once.
    saved_.clear();
    saved_known_ = false;
    return;
  }
  saved_.insert(key);
}

// Tombstones, not DeleteRecordsBefore: Kafka refuses to delete records of a
// compacted topic, and compaction removes the tombstones in time on both.
Status UndoLog::Clear() {
  if (saved_known_) {
    std::vector<std::string> keys(saved_.begin(), saved_.end());
    saved_.clear();
    Status s = Tombstones(std::move(keys));
    if (!s.ok()) saved_known_ = false;  // the next Clear reads the topic
    return s;
  }
  // This process's first Clear: whatever an earlier one left.
  std::string after;
  for (;;) {
    ASSIGN_OR_RAISE(auto page, log_.ReadLatestByPrefix({topic_, 0}, "", after, kPage));
    if (page.empty()) break;
    after = page.back().key;
    std::vector<std::string> keys;
    for (auto& r : page) keys.push_back(std::move(r.key));
    RETURN_NOT_OK(Tombstones(std::move(keys)));
  }
  saved_.clear();  // Saves before this Clear are cleared with the rest
  saved_known_ = true;
  return Status::OK();
}

Status UndoLog::Tombstones(std::vector<std::string> keys) {
  for (size_t at = 0; at < keys.size(); at += kPage) {
    std::vector<log::RecordIn> page;
    for (size_t i = at; i < keys.size() && i < at + kPage; ++i) {
      page.push_back(log::RecordIn{std::move(keys[i]), std::nullopt, {}, log::kNoTimestamp});
    }
    RETURN_NOT_OK(log_.Append({topic_, 0}, std::move(page)).status());
  }
  return Status::OK();
}

}  // namespace ghostlog::transform
