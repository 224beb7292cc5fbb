// KeyIndexedLog (key_indexed_log.h): the remote changelog for everything but
// key reads, which an embedded log on local disk answers.
#include "ghostlog/log/key_indexed_log.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

namespace ghostlog::log {
namespace {

// The index's checkpoint naming the remote changelog (ClusterId) it copies.
constexpr char kIndexOf[] = "ghostlog.index_of";

std::string Where(const TopicPartition& tp) {
  return "topic '" + tp.topic + "' partition " + std::to_string(tp.partition);
}

// A written batch as the index stores it: the records with the offsets they got.
std::vector<Record> AtOffsets(const std::vector<RecordIn>& in, const std::vector<Offset>& offsets) {
  std::vector<Record> out;
  out.reserve(in.size());
  const Timestamp now = NowMs();
  for (size_t i = 0; i < in.size() && i < offsets.size(); ++i) {
    out.push_back(Record{offsets[i], in[i].timestamp == kNoTimestamp ? now : in[i].timestamp, in[i].key, in[i].value,
                         in[i].headers});
  }
  return out;
}

class KeyIndexedLogImpl final : public KeyIndexedLog {
 public:
  KeyIndexedLogImpl(Changelog& remote, std::unique_ptr<EmbeddedLog> index)
      : remote_(remote), index_(std::move(index)) {}

  Status Init() {
    ASSIGN_OR_RAISE(auto cluster, remote_.ClusterId());
    auto of = index_->ReadCheckpoint(kIndexOf);
    if (!of.ok() && !of.status().IsNotFound()) return of.status();
    ASSIGN_OR_RAISE(auto topics, index_->ListTopics());
    if (of.ok() && *of == cluster) {
      indexed_.insert(topics.begin(), topics.end());
      return Status::OK();
    }
    if (!topics.empty()) {
      spdlog::info("the local key index was built from changelog '{}', not '{}': building it again",
                   of.ok() ? *of : std::string("?"), cluster);
    }
    for (const auto& t : topics) RETURN_NOT_OK(index_->DeleteTopic(t));
    AtomicWrite w;
    w.checkpoints[kIndexOf] = cluster;
    return index_->Write(std::move(w)).status();
  }

  // --- key reads: the index ---------------------------------------------------
  Result<std::optional<Record>> ReadLatest(const TopicPartition& tp, const std::string& key) override {
    RETURN_NOT_OK(Fresh(tp));
    return index_->ReadLatest(tp, key);
  }
  Result<std::vector<Record>> ReadLatestByPrefix(const TopicPartition& tp, const std::string& prefix,
                                                 const std::string& start_after, size_t max) override {
    RETURN_NOT_OK(Fresh(tp));
    return index_->ReadLatestByPrefix(tp, prefix, start_after, max);
  }

  // --- writes: the remote changelog, then the index -----------------------------
  Result<std::vector<Offset>> Append(const TopicPartition& tp, std::vector<RecordIn> batch) override {
    std::lock_guard l(mu_);
    ASSIGN_OR_RAISE(bool indexed, BeforeWrite(tp));
    std::vector<RecordIn> copy;
    if (indexed) copy = batch;
    auto offsets = remote_.Append(tp, std::move(batch));
    if (!offsets.ok()) {
      state_.erase(tp);  // it may have landed all the same: caught up at the next key read
      return offsets.status();
    }
    if (Status st = indexed ? Index(tp, copy, *offsets) : Status::OK(); !st.ok()) {
      state_.erase(tp);
      return st;
    }
    return offsets;
  }

  Result<std::vector<std::vector<Offset>>> Write(AtomicWrite write) override {
    std::lock_guard l(mu_);
    std::vector<PartitionBatch> copies;  // of the indexed topics' batches, in write order
    std::vector<size_t> which;           // their positions among the write's batches
    std::vector<TopicPartition> written;
    for (size_t i = 0; i < write.batches.size(); ++i) {
      written.push_back(write.batches[i].tp);
      ASSIGN_OR_RAISE(bool indexed, BeforeWrite(write.batches[i].tp));
      if (indexed) {
        copies.push_back(write.batches[i]);
        which.push_back(i);
      }
    }
    const size_t own = write.batches.size();
    if (write.finish) {
      // Runs inside the remote write (on the embedded log, maybe on another
      // thread, under its write lock): no call to the remote changelog here,
      // and mu_ is held by this call. A tail partition the index has not
      // caught up yet is left to its next catch-up, which reads these records.
      write.finish = [&, finish = std::move(write.finish)](const std::vector<std::vector<Offset>>& offsets,
                                                           WriteTail* tail) -> Status {
        RETURN_NOT_OK(finish(offsets, tail));
        for (size_t i = 0; i < tail->batches.size(); ++i) {
          const auto& b = tail->batches[i];
          written.push_back(b.tp);
          State& s = state_[b.tp];
          s.written_here = true;
          if (indexed_.count(b.tp.topic) && s.generation != 0) {
            copies.push_back(b);
            which.push_back(own + i);
          }
        }
        return Status::OK();
      };
    }
    auto offsets = remote_.Write(std::move(write));
    if (!offsets.ok()) {
      // The write may have landed all the same (a lost commit reply): the
      // next key read of each of its partitions catches up from the remote.
      for (const auto& tp : written) state_.erase(tp);
      return offsets.status();
    }
    for (size_t i = 0; i < copies.size(); ++i) {
      if (which[i] >= offsets->size()) return Status::Corruption("the changelog's write returned too few batches");
      if (Status st = Index(copies[i].tp, copies[i].records, (*offsets)[which[i]]); !st.ok()) {
        state_.erase(copies[i].tp);
        return st;
      }
    }
    return offsets;
  }

  Result<Offset> AppendAt(const TopicPartition& tp, const std::vector<Record>& records, Offset end) override {
    std::lock_guard l(mu_);
    state_.erase(tp);  // caught up again at the next key read
    return remote_.AppendAt(tp, records, end);
  }

  Status DeleteTopic(const std::string& topic) override {
    RETURN_NOT_OK(remote_.DeleteTopic(topic));
    std::lock_guard l(mu_);
    return Forget(topic);
  }

  // --- reads: the remote changelog -------------------------------------------------
  Result<std::vector<Record>> Read(const TopicPartition& tp, Offset from, ReadLimits limits) override {
    NoteRead(tp);
    return remote_.Read(tp, from, limits);
  }
  Result<Offset> WaitForData(const TopicPartition& tp, Offset from, std::chrono::milliseconds timeout) override {
    NoteRead(tp);
    return remote_.WaitForData(tp, from, timeout);
  }

  // --- everything else: the remote changelog -------------------------------------
  Status CreateTopic(const std::string& topic, int32_t partitions, const TopicConfig& config) override {
    return remote_.CreateTopic(topic, partitions, config);
  }
  Status AlterTopicConfig(const std::string& topic, const TopicConfig& config) override {
    return remote_.AlterTopicConfig(topic, config);
  }
  Result<std::vector<std::string>> ListTopics() override { return remote_.ListTopics(); }
  Result<TopicInfo> DescribeTopic(const std::string& topic) override { return remote_.DescribeTopic(topic); }
  Result<int32_t> PartitionCount(const std::string& topic) override { return remote_.PartitionCount(topic); }
  Result<std::map<std::string, std::string>> Checkpoints() override { return remote_.Checkpoints(); }
  Result<std::string> ClusterId() override { return remote_.ClusterId(); }
  void Interrupt() override { remote_.Interrupt(); }
  Result<std::string> ReadCheckpoint(const std::string& name) override { return remote_.ReadCheckpoint(name); }
  Result<Offset> OffsetForTimestamp(const TopicPartition& tp, Timestamp ts) override {
    return remote_.OffsetForTimestamp(tp, ts);
  }
  Result<PartitionInfo> DescribePartition(const TopicPartition& tp) override {
    ASSIGN_OR_RAISE(PartitionInfo info, remote_.DescribePartition(tp));
    // A caller that pairs the end it saw with a key read (the transform's
    // cache of looked-up rows) must get a key read at least that new.
    std::lock_guard l(mu_);
    if (auto it = state_.find(tp);
        it != state_.end() && !it->second.written_here && it->second.caught_to < info.end_offset) {
      it->second.generation = 0;
    }
    return info;
  }
  Result<CleanupStats> DeleteRecordsBefore(const TopicPartition& tp, Offset offset) override {
    ASSIGN_OR_RAISE(auto stats, remote_.DeleteRecordsBefore(tp, offset));
    std::lock_guard l(mu_);
    state_.erase(tp);  // the catch-up drops what the remote log start passed
    return stats;
  }
  Status CommitOffsets(const std::string& group,
                       const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) override {
    return remote_.CommitOffsets(group, offsets);
  }
  Result<CommittedOffset> Committed(const std::string& group, const TopicPartition& tp) override {
    return remote_.Committed(group, tp);
  }
  Result<std::vector<std::string>> ListGroups() override { return remote_.ListGroups(); }
  Result<GroupInfo> DescribeGroup(const std::string& group) override { return remote_.DescribeGroup(group); }
  Result<CleanupStats> Compact(const std::optional<std::string>& topic) override { return remote_.Compact(topic); }
  Result<CleanupStats> ApplyRetention(const std::optional<std::string>& topic) override {
    return remote_.ApplyRetention(topic);
  }

 private:
  // What this process knows of an indexed partition.
  struct State {
    bool written_here = false;  // this instance writes it: its writes reach the index directly
    uint64_t generation = 0;    // of the last catch-up (0: none in this process, or one is due)
    Offset caught_to = -1;      // the remote end the last catch-up reached
  };

  void NoteRead(const TopicPartition& tp) {
    std::lock_guard l(mu_);
    if (!indexed_.count(tp.topic)) ++generation_;
  }

  Status Fresh(const TopicPartition& tp) {
    std::lock_guard l(mu_);
    State& s = state_[tp];
    if (s.generation != 0 && (s.written_here || s.generation == generation_)) return Status::OK();
    return CatchUp(tp, &s);
  }

  // Whether `tp`'s batch must also go to the index; catches the index up first
  // (a crash may have left it short of the remote end), so that the write's
  // records follow what it holds. Holds mu_.
  Result<bool> BeforeWrite(const TopicPartition& tp) {
    State& s = state_[tp];
    s.written_here = true;
    if (!indexed_.count(tp.topic)) return false;  // built from the remote topic at its first key read
    if (s.generation == 0) RETURN_NOT_OK(CatchUp(tp, &s));
    return true;
  }

  Status Index(const TopicPartition& tp, const std::vector<RecordIn>& records, const std::vector<Offset>& offsets) {
    if (records.empty()) return Status::OK();
    if (offsets.size() != records.size()) {
      return Status::Corruption("the changelog gave " + std::to_string(offsets.size()) + " offsets for " +
                                std::to_string(records.size()) + " records of " + Where(tp));
    }
    return index_->AppendAt(tp, AtOffsets(records, offsets), offsets.back() + 1).status();
  }

  Status Forget(const std::string& topic) {
    for (auto it = state_.begin(); it != state_.end();)
      it = it->first.topic == topic ? state_.erase(it) : std::next(it);
    if (!indexed_.erase(topic)) return Status::OK();
    return index_->DeleteTopic(topic);
  }

  // Copies what the remote partition has past the index's end. Holds mu_.
  Status CatchUp(const TopicPartition& tp, State* s) {
    ASSIGN_OR_RAISE(PartitionInfo remote, remote_.DescribePartition(tp));  // NotFound: no such topic, as on the index
    if (!indexed_.count(tp.topic)) {
      ASSIGN_OR_RAISE(int32_t partitions, remote_.PartitionCount(tp.topic));
      Status created = index_->CreateTopic(tp.topic, partitions, TopicConfig::Compacted());
      if (!created.ok() && created.code() != Status::Code::kAlreadyExists) return created;
      indexed_.insert(tp.topic);
    }
    ASSIGN_OR_RAISE(PartitionInfo local, index_->DescribePartition(tp));
    if (local.end_offset > remote.end_offset ||
        (local.end_offset < remote.log_start_offset && local.end_offset > local.log_start_offset)) {
      spdlog::info(
          "the local key index of {} (offsets {} to {}) does not match the changelog's ({} to {}): building it again",
          Where(tp), local.log_start_offset, local.end_offset, remote.log_start_offset, remote.end_offset);
      const State keep = *s;
      RETURN_NOT_OK(Forget(tp.topic));
      State& fresh = state_[tp];
      fresh = keep;
      return CatchUp(tp, &fresh);
    }
    if (local.log_start_offset < remote.log_start_offset && local.end_offset >= remote.log_start_offset) {
      RETURN_NOT_OK(index_->DeleteRecordsBefore(tp, remote.log_start_offset).status());
    }
    Offset from = std::max(local.end_offset, remote.log_start_offset);
    while (from < remote.end_offset) {
      ASSIGN_OR_RAISE(auto records, remote_.Read(tp, from, {10000, 16 << 20}));
      if (records.empty()) break;  // the rest are offsets the changelog took for itself (commit markers)
      from = records.back().offset + 1;
      RETURN_NOT_OK(index_->AppendAt(tp, records, from).status());
    }
    s->generation = generation_;
    s->caught_to = remote.end_offset;
    return Status::OK();
  }

  Changelog& remote_;
  std::unique_ptr<EmbeddedLog> index_;
  std::mutex mu_;
  uint64_t generation_ = 1;
  std::set<std::string> indexed_;  // topics the index holds
  std::map<TopicPartition, State> state_;
};

}  // namespace

KeyIndexedLog::~KeyIndexedLog() = default;

Result<std::unique_ptr<KeyIndexedLog>> KeyIndexedLog::Open(Changelog& remote, const std::string& index_dir) {
  EmbeddedLogOptions o;
  o.data_dir = index_dir;
  o.fsync = FsyncPolicy::kInterval;  // a cache of the remote changelog: lost, it is built again
  ASSIGN_OR_RAISE(auto index, EmbeddedLog::Open(std::move(o)));
  auto log = std::make_unique<KeyIndexedLogImpl>(remote, std::move(index));
  RETURN_NOT_OK(log->Init().WithContext("local key index in " + index_dir));
  return std::unique_ptr<KeyIndexedLog>(std::move(log));
}

}  // namespace ghostlog::log
