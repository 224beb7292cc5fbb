// A changelog whose committed atomic writes take offsets of their own, as
// Kafka's transaction markers do: after every Write, one record (key
// "__marker", no value) is appended to each partition the write touched. The
// records and offsets are the real embedded log's; only the extra offsets are
// added, so a writer that predicts offsets from the previous write's end is
// caught, while one that takes them from the write itself (AtomicWrite::
// finish) is not. Readers see the markers as records outside every range.
#pragma once

#include <set>

#include "ghostlog/log/changelog.h"

namespace ghostlog::capture::testing {

class MarkedLog : public log::Changelog {
 public:
  explicit MarkedLog(log::Changelog& log) : log_(log) {}

  Result<std::vector<std::vector<log::Offset>>> Write(log::AtomicWrite write) override {
    std::set<log::TopicPartition> touched;
    for (const auto& b : write.batches) touched.insert(b.tp);
    auto finish = std::move(write.finish);
    if (finish) {
      write.finish = [&](const std::vector<std::vector<log::Offset>>& offsets, log::WriteTail* tail) {
        Status s = finish(offsets, tail);
        for (const auto& b : tail->batches) touched.insert(b.tp);
        return s;
      };
    }
    auto offsets = log_.Write(std::move(write));
    if (!offsets.ok()) return offsets;
    for (const auto& tp : touched) {
      RETURN_NOT_OK(log_.Append(tp, {log::RecordIn{"__marker", std::nullopt, {}, log::kNoTimestamp}}).status());
    }
    ++marked_writes_;
    return offsets;
  }
  int marked_writes() const { return marked_writes_; }

  Status CreateTopic(const std::string& t, int32_t p, const log::TopicConfig& c) override {
    return log_.CreateTopic(t, p, c);
  }
  Status DeleteTopic(const std::string& t) override { return log_.DeleteTopic(t); }
  Status AlterTopicConfig(const std::string& t, const log::TopicConfig& c) override {
    return log_.AlterTopicConfig(t, c);
  }
  Result<std::vector<std::string>> ListTopics() override { return log_.ListTopics(); }
  Result<log::TopicInfo> DescribeTopic(const std::string& t) override { return log_.DescribeTopic(t); }
  Result<int32_t> PartitionCount(const std::string& t) override { return log_.PartitionCount(t); }
  Result<std::vector<log::Offset>> Append(const log::TopicPartition& tp, std::vector<log::RecordIn> b) override {
    return log_.Append(tp, std::move(b));
  }
  Result<std::string> ClusterId() override { return log_.ClusterId(); }
  Result<std::string> ReadCheckpoint(const std::string& n) override { return log_.ReadCheckpoint(n); }
  Result<log::Offset> AppendAt(const log::TopicPartition& tp, const std::vector<log::Record>& r,
                               log::Offset end) override {
    return log_.AppendAt(tp, r, end);
  }
  Result<std::map<std::string, std::string>> Checkpoints() override { return log_.Checkpoints(); }
  Result<std::vector<log::Record>> Read(const log::TopicPartition& tp, log::Offset from,
                                        log::ReadLimits limits) override {
    return log_.Read(tp, from, limits);
  }
  Result<std::optional<log::Record>> ReadLatest(const log::TopicPartition& tp, const std::string& key) override {
    return log_.ReadLatest(tp, key);
  }
  Result<std::vector<log::Record>> ReadLatestByPrefix(const log::TopicPartition& tp, const std::string& prefix,
                                                      const std::string& start_after, size_t max) override {
    return log_.ReadLatestByPrefix(tp, prefix, start_after, max);
  }
  Result<log::Offset> WaitForData(const log::TopicPartition& tp, log::Offset from,
                                  std::chrono::milliseconds timeout) override {
    return log_.WaitForData(tp, from, timeout);
  }
  Result<log::Offset> OffsetForTimestamp(const log::TopicPartition& tp, log::Timestamp ts) override {
    return log_.OffsetForTimestamp(tp, ts);
  }
  Result<log::PartitionInfo> DescribePartition(const log::TopicPartition& tp) override {
    return log_.DescribePartition(tp);
  }
  Result<log::CleanupStats> DeleteRecordsBefore(const log::TopicPartition& tp, log::Offset o) override {
    return log_.DeleteRecordsBefore(tp, o);
  }
  Status CommitOffsets(const std::string& g,
                       const std::vector<std::pair<log::TopicPartition, log::CommittedOffset>>& o) override {
    return log_.CommitOffsets(g, o);
  }
  Result<log::CommittedOffset> Committed(const std::string& g, const log::TopicPartition& tp) override {
    return log_.Committed(g, tp);
  }
  Result<std::vector<std::string>> ListGroups() override { return log_.ListGroups(); }
  Result<log::GroupInfo> DescribeGroup(const std::string& g) override { return log_.DescribeGroup(g); }
  Result<log::CleanupStats> Compact(const std::optional<std::string>& t) override { return log_.Compact(t); }
  Result<log::CleanupStats> ApplyRetention(const std::optional<std::string>& t) override {
    return log_.ApplyRetention(t);
  }

 private:
  log::Changelog& log_;
  int marked_writes_ = 0;
};

}  // namespace ghostlog::capture::testing
