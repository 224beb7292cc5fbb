// The write path: group commit, and every operation that mutates the log.
#include <nlohmann/json.hpp>

#include "embedded_log_impl.h"
#include "ghostlog/log/fault.h"
#include "keys.h"
#include "record_codec.h"

namespace ghostlog::log {

namespace {
constexpr int32_t kMaxPartitions = 4096;
}  // namespace

struct EmbeddedLogImpl::Writer {
  WriteOp op;
  Durability durability = Durability::kSync;
  size_t bytes = 0;  // estimate, to bound a group
  Status result;
  bool done = false;
};

// --- WriteContext -----------------------------------------------------------

const TopicState* WriteContext::Topic(const std::string& name) const {
  if (auto it = topics.find(name); it != topics.end()) return it->second ? &*it->second : nullptr;
  return log->LiveTopic(name);
}

PartitionState& WriteContext::Part(uint32_t tid, PartitionId p) {
  auto [it, inserted] = parts.try_emplace({tid, p});
  if (inserted) {
    if (const PartitionState* live = log->LivePart(tid, p)) it->second = *live;
  }
  return it->second;
}

const TopicState* EmbeddedLogImpl::LiveTopic(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

const PartitionState* EmbeddedLogImpl::LivePart(uint32_t tid, PartitionId p) const {
  auto it = parts_.find({tid, p});
  return it == parts_.end() ? nullptr : &it->second;
}

// --- group commit -----------------------------------------------------------

Status EmbeddedLogImpl::Submit(WriteOp op, Durability durability, size_t bytes_estimate) {
  RETURN_NOT_OK(RequireWriter("writing"));
  Writer w;
  w.op = std::move(op);
  w.durability = durability;
  w.bytes = bytes_estimate;
  std::unique_lock l(queue_mu_);
  queue_.push_back(&w);
  while (!w.done && leader_active_) queue_cv_.wait(l);
  if (w.done) return w.result;

  // Leader: take what is queued (up to a memory bound) and write it as one
  // batch, again and again until its own write is done. The queue is FIFO, so
  // with more than the bound queued ahead of it, its write is in a later
  // group; a leader that stopped after one group would return without having
  // written, and leave a pointer to its own stack frame in the queue.
  leader_active_ = true;
  while (!w.done) {
    std::vector<Writer*> group;
    size_t bytes = 0;
    while (!queue_.empty() && (group.empty() || bytes < opts_.max_group_bytes)) {
      bytes += queue_.front()->bytes;
      group.push_back(queue_.front());
      queue_.pop_front();
    }
    l.unlock();
    RunGroup(group);
    l.lock();
    for (Writer* g : group) g->done = true;
    queue_cv_.notify_all();
  }
  leader_active_ = false;
  queue_cv_.notify_all();
  return w.result;
}

void EmbeddedLogImpl::RunGroup(std::vector<Writer*>& group) {
  {
    std::lock_guard l(mu_);
    if (!fatal_.ok() || stopping_) {
      for (Writer* w : group) w->result = fatal_.ok() ? Status::Aborted("changelog is closing") : fatal_;
      return;
    }
  }
  WriteContext ctx;
  ctx.log = this;
  ctx.now = Now();
  // Room for the whole group up front: growing by doubling would copy it, and
  // hold old and new buffers at once. Pages never written are never resident.
  size_t estimate = 0;
  for (const Writer* w : group) estimate += w->bytes;
  if (kept_batch_.Data().capacity() >= 2 * estimate + 4096) {
    ctx.batch = std::move(kept_batch_);
    ctx.batch.Clear();
  } else {
    ctx.batch = rocksdb::WriteBatch(2 * estimate + 4096);
  }
  struct Keep {  // on every way out
    WriteContext& ctx;
    rocksdb::WriteBatch& kept;
    ~Keep() {
      if (ctx.batch.Data().capacity() <= kKeptBatchBytes) kept = std::move(ctx.batch);
    }
  } keep{ctx, kept_batch_};
  bool sync = false;
  bool any = false;
  for (Writer* w : group) {
    ctx.batch.SetSavePoint();
    w->result = w->op(ctx);
    if (!w->result.ok()) {
      // Ops validate before staging state, so only the batch needs undoing.
      ctx.batch.RollbackToSavePoint().PermitUncheckedError();
      continue;
    }
    any = true;
    sync |= w->durability == Durability::kSync ||
            (w->durability == Durability::kPolicy && opts_.fsync == FsyncPolicy::kAlways);
  }
  if (!any) return;
  for (const auto& [key, state] : ctx.parts) {
    if (ctx.deleted_topic_ids.count(key.first)) continue;
    ctx.batch.Put(meta_cf(), keys::StateKey(key.first, key.second), state.Encode());
  }

  rocksdb::WriteOptions wo;
  wo.sync = sync;
  Status s = fault::Hit("log.write");
  if (s.ok()) s = ToStatus(db_->Write(wo, &ctx.batch), "changelog write");
  if (!s.ok()) {
    // Fatal: after a failed write or fsync the state of the WAL is unknown, and
    // retrying could acknowledge data that is not on disk. A full disk keeps
    // its code: reopening the log (WAL recovery stops at the failed write)
    // is how a writer resumes once space is freed.
    Status fatal = s.IsNoSpace()
                       ? Status::NoSpace("changelog write failed, the data dir is full; refusing further writes: " +
                                         s.message())
                       : Status::IOError("changelog write failed, refusing further writes: " + s.message());
    {
      std::lock_guard l(mu_);
      if (fatal_.ok()) fatal_ = fatal;
    }
    data_cv_.notify_all();
    for (Writer* w : group) {
      if (w->result.ok()) w->result = fatal;
    }
    return;
  }
  Publish(ctx);
}

void EmbeddedLogImpl::Publish(WriteContext& ctx) {
  {
    std::lock_guard l(mu_);
    for (auto& [name, t] : ctx.topics) {
      if (t) {
        topics_[name] = *t;
      } else {
        topics_.erase(name);
      }
    }
    for (uint32_t tid : ctx.deleted_topic_ids) {
      for (auto it = parts_.lower_bound({tid, 0}); it != parts_.end() && it->first.first == tid;) {
        it = parts_.erase(it);
      }
    }
    for (auto& [key, state] : ctx.parts) {
      if (!ctx.deleted_topic_ids.count(key.first)) parts_[key] = state;
    }
    if (ctx.next_topic_id) next_topic_id_ = *ctx.next_topic_id;
  }
  if (ctx.appended) data_cv_.notify_all();
}

// --- appends ----------------------------------------------------------------

namespace {
Status ValidateRecords(const std::vector<RecordIn>& records) {
  for (const RecordIn& r : records) {
    if (r.timestamp < 0 && r.timestamp != kNoTimestamp) {
      return Status::InvalidArgument("record timestamp " + std::to_string(r.timestamp) + " is negative");
    }
  }
  return Status::OK();
}

size_t EstimateBytes(const std::vector<RecordIn>& records) {
  size_t bytes = 0;
  for (const RecordIn& r : records) bytes += r.key.size() + (r.value ? r.value->size() : 0) + 64;
  return bytes;
}

Status CheckPartition(const TopicState* t, const TopicPartition& tp) {
  if (t == nullptr) return Status::NotFound("topic '" + tp.topic + "' does not exist");
  if (tp.partition < 0 || tp.partition >= t->partitions) {
    return Status::NotFound("topic '" + tp.topic + "' has " + std::to_string(t->partitions) +
                            " partition(s); partition " + std::to_string(tp.partition) + " does not exist");
  }
  return Status::OK();
}
}  // namespace

// Callers check the partition first (CheckPartition): staging cannot fail.
Status StageAppend(WriteContext& ctx, const TopicPartition& tp, const std::vector<RecordIn>& records,
                   std::vector<Offset>* offsets, const std::vector<Offset>* at) {
  const TopicState* t = ctx.Topic(tp.topic);
  RETURN_NOT_OK(CheckPartition(t, tp));
  EmbeddedLogImpl* log = ctx.log;
  PartitionState& ps = ctx.Part(t->id, tp.partition);
  // Keys are built in place: RecordKey()'s 16 bytes are past std::string's
  // inline buffer, a heap allocation per record.
  char record_key[keys::kRecordKeySize];
  keys::StoreBE(record_key, t->id, 4);
  keys::StoreBE(record_key + 4, static_cast<uint32_t>(tp.partition), 4);
  std::string index_key(record_key, 8);
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordIn& r = records[i];
    if (at != nullptr) ps.next_offset = (*at)[i];
    const Offset offset = ps.next_offset++;
    const Timestamp ts = r.timestamp == kNoTimestamp ? ctx.now : r.timestamp;
    const EncodedRecord envelope = EncodeRecord(r, offset, ts);
    keys::StoreBE(record_key + 8, static_cast<uint64_t>(offset), 8);
    const rocksdb::Slice key(record_key, sizeof record_key);
    const rocksdb::Slice value[] = {{envelope.header, kEnvelopeHeaderSize},
                                    {envelope.body.data(), envelope.body.size()}};
    ctx.batch.Put(log->records_cf(), rocksdb::SliceParts(&key, 1), rocksdb::SliceParts(value, 2));
    ++ps.records;
    ps.bytes += static_cast<int64_t>(envelope.size());
    if (ts > ps.max_timestamp) {
      ps.max_timestamp = ts;
      ctx.batch.Put(log->time_cf(), keys::TimeKey(t->id, tp.partition, ts), keys::EncodeOffset(offset));
    }
    if (t->config.cleanup_compact) {
      index_key.resize(8);
      index_key.append(r.key);
      ctx.batch.Put(log->keyindex_cf(), index_key, keys::EncodeOffset(offset));
    }
    offsets->push_back(offset);
  }
  ctx.appended = true;
  return Status::OK();
}

Status ValidateOffsets(const WriteContext& ctx,
                       const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) {
  for (const auto& [tp, c] : offsets) {
    RETURN_NOT_OK(CheckPartition(ctx.Topic(tp.topic), tp));
    if (c.offset < 0) return Status::InvalidArgument("committed offset " + std::to_string(c.offset) + " is negative");
  }
  return Status::OK();
}

void StageOffsets(WriteContext& ctx, const std::string& group,
                  const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) {
  for (const auto& [tp, c] : offsets) {
    nlohmann::json j{{"offset", c.offset}, {"metadata", c.metadata}, {"ts", ctx.now}};
    ctx.batch.Put(ctx.log->meta_cf(), keys::GroupKey(group, tp.topic, tp.partition), j.dump());
  }
}

Result<std::vector<Offset>> EmbeddedLogImpl::Append(const TopicPartition& tp, std::vector<RecordIn> batch) {
  std::vector<Offset> offsets;
  if (batch.empty()) return offsets;
  RETURN_NOT_OK(ValidateRecords(batch));
  offsets.reserve(batch.size());
  RETURN_NOT_OK(Submit([&](WriteContext& ctx) { return StageAppend(ctx, tp, batch, &offsets); }, Durability::kPolicy,
                       EstimateBytes(batch)));
  return offsets;
}

Result<Offset> EmbeddedLogImpl::AppendAt(const TopicPartition& tp, const std::vector<Record>& records, Offset end) {
  RETURN_NOT_OK(ValidateAppendAt(records, end));
  std::vector<RecordIn> batch;
  std::vector<Offset> at;
  batch.reserve(records.size());
  at.reserve(records.size());
  for (const Record& r : records) {
    batch.push_back(RecordIn{r.key, r.value, r.headers, r.timestamp});
    at.push_back(r.offset);
  }
  RETURN_NOT_OK(ValidateRecords(batch));
  RETURN_NOT_OK(Submit(
      [&](WriteContext& ctx) -> Status {
        const TopicState* t = ctx.Topic(tp.topic);
        RETURN_NOT_OK(CheckPartition(t, tp));
        PartitionState& ps = ctx.Part(t->id, tp.partition);
        const Offset first = at.empty() ? end : at.front();
        if (first < ps.next_offset) {
          return Status::InvalidArgument("offset " + std::to_string(first) + " is below the end " +
                                         std::to_string(ps.next_offset) + " of topic '" + tp.topic + "' partition " +
                                         std::to_string(tp.partition));
        }
        std::vector<Offset> offsets;
        RETURN_NOT_OK(StageAppend(ctx, tp, batch, &offsets, &at));
        ps.next_offset = end;
        return Status::OK();
      },
      Durability::kPolicy, EstimateBytes(batch)));
  return end;
}

namespace {
// Runs the write's `finish` with the offsets StageAppend is about to give its
// batches (the next offsets of their partitions, in batch order), and adds
// what it returns to the write, validated: nothing is staged yet.
Status Finish(WriteContext& ctx, AtomicWrite& write) {
  std::map<TopicPartition, Offset> next;
  std::vector<std::vector<Offset>> planned;
  planned.reserve(write.batches.size());
  for (const PartitionBatch& b : write.batches) {
    auto it = next.find(b.tp);
    if (it == next.end()) {
      const TopicState* t = ctx.Topic(b.tp.topic);
      it = next.emplace(b.tp, ctx.Part(t->id, b.tp.partition).next_offset).first;
    }
    std::vector<Offset>& o = planned.emplace_back();
    o.reserve(b.records.size());
    for (size_t i = 0; i < b.records.size(); ++i) o.push_back(it->second++);
  }
  WriteTail tail;
  RETURN_NOT_OK(write.finish(planned, &tail));
  for (PartitionBatch& b : tail.batches) {
    RETURN_NOT_OK(CheckPartition(ctx.Topic(b.tp.topic), b.tp));
    RETURN_NOT_OK(ValidateRecords(b.records));
    write.batches.push_back(std::move(b));
  }
  for (auto& [name, value] : tail.checkpoints) write.checkpoints[name] = std::move(value);
  return Status::OK();
}
}  // namespace

Result<std::vector<std::vector<Offset>>> EmbeddedLogImpl::Write(AtomicWrite write) {
  size_t bytes = 0;
  for (const PartitionBatch& b : write.batches) {
    RETURN_NOT_OK(ValidateRecords(b.records));
    bytes += EstimateBytes(b.records);
  }
  if (!write.offsets.empty() && (write.group.empty() || write.group.find('\0') != std::string::npos)) {
    return Status::InvalidArgument("an atomic write with offsets needs a group name without NUL bytes");
  }
  std::vector<std::vector<Offset>> offsets;
  RETURN_NOT_OK(Submit(
      [&](WriteContext& ctx) -> Status {
        // Validate everything before staging anything: the op is all or nothing.
        for (const PartitionBatch& b : write.batches) RETURN_NOT_OK(CheckPartition(ctx.Topic(b.tp.topic), b.tp));
        RETURN_NOT_OK(ValidateOffsets(ctx, write.offsets));
        if (write.finish) RETURN_NOT_OK(Finish(ctx, write));
        offsets.assign(write.batches.size(), {});
        for (size_t i = 0; i < write.batches.size(); ++i) {
          RETURN_NOT_OK(StageAppend(ctx, write.batches[i].tp, write.batches[i].records, &offsets[i]));
          // The batch holds a copy now; a large write need not be held twice.
          std::vector<RecordIn>().swap(write.batches[i].records);
        }
        for (const auto& [name, value] : write.checkpoints) {
          ctx.batch.Put(meta_cf(), keys::CheckpointKey(name), value);
        }
        StageOffsets(ctx, write.group, write.offsets);
        return Status::OK();
      },
      write.durability, bytes));
  return offsets;
}

Result<std::string> EmbeddedLogImpl::ReadCheckpoint(const std::string& name) {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf(), keys::CheckpointKey(name), &v);
  if (s.IsNotFound()) return Status::NotFound("no checkpoint named '" + name + "'");
  RETURN_NOT_OK(ToStatus(s, "reading checkpoint '" + name + "'"));
  return v;
}

Result<std::map<std::string, std::string>> EmbeddedLogImpl::Checkpoints() {
  std::map<std::string, std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf()));
  const std::string prefix = keys::CheckpointKey("");
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.emplace(it->key().ToString().substr(prefix.size()), it->value().ToString());
  }
  RETURN_NOT_OK(ToStatus(it->status(), "listing checkpoints"));
  return out;
}

// --- topics -----------------------------------------------------------------

Status EmbeddedLogImpl::CreateTopic(const std::string& topic, int32_t partitions, const TopicConfig& config) {
  RETURN_NOT_OK(ValidateTopicName(topic));
  if (partitions < 1 || partitions > kMaxPartitions) {
    return Status::InvalidArgument("partitions must be between 1 and " + std::to_string(kMaxPartitions) + ", not " +
                                   std::to_string(partitions));
  }
  return Submit(
      [&](WriteContext& ctx) -> Status {
        if (ctx.Topic(topic) != nullptr) return Status::AlreadyExists("topic '" + topic + "' already exists");
        uint32_t id = ctx.next_topic_id.value_or(live_next_topic_id());
        if (id == UINT32_MAX) return Status::InvalidArgument("topic ids are exhausted");
        TopicState t{id, topic, partitions, config};
        ctx.next_topic_id = id + 1;
        ctx.batch.Put(meta_cf(), keys::TopicKey(topic), t.Encode());
        ctx.batch.Put(meta_cf(), keys::kNextTopicId, std::to_string(id + 1));
        for (PartitionId p = 0; p < partitions; ++p) ctx.parts[{id, p}] = PartitionState{};
        ctx.topics[topic] = std::move(t);
        return Status::OK();
      },
      Durability::kSync);
}

Status EmbeddedLogImpl::AlterTopicConfig(const std::string& topic, const TopicConfig& config) {
  return Submit(
      [&](WriteContext& ctx) -> Status {
        const TopicState* t = ctx.Topic(topic);
        if (t == nullptr) return Status::NotFound("topic '" + topic + "' does not exist");
        TopicState altered = *t;
        altered.config = config;
        ctx.batch.Put(meta_cf(), keys::TopicKey(topic), altered.Encode());
        ctx.topics[topic] = std::move(altered);
        return Status::OK();
      },
      Durability::kSync);
}

Status EmbeddedLogImpl::DeleteTopic(const std::string& topic) {
  return Submit(
      [&](WriteContext& ctx) -> Status {
        const TopicState* t = ctx.Topic(topic);
        if (t == nullptr) return Status::NotFound("topic '" + topic + "' does not exist");
        const uint32_t tid = t->id;
        // Committed offsets of the topic go with it, as in Kafka.
        std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf()));
        for (it->Seek("G"); it->Valid() && it->key().starts_with("G"); it->Next()) {
          std::string g, tn;
          PartitionId p;
          if (keys::ParseGroupKey(it->key().ToStringView(), &g, &tn, &p) && tn == topic) {
            ctx.batch.Delete(meta_cf(), it->key());
          }
        }
        RETURN_NOT_OK(ToStatus(it->status(), "scanning committed offsets"));
        for (PartitionId p = 0; p < t->partitions; ++p) ctx.batch.Delete(meta_cf(), keys::StateKey(tid, p));
        ctx.batch.Delete(meta_cf(), keys::TopicKey(topic));
        ctx.batch.DeleteRange(records_cf(), keys::TopicBegin(tid), keys::TopicEnd(tid));
        ctx.batch.DeleteRange(time_cf(), keys::TopicBegin(tid), keys::TopicEnd(tid));
        ctx.batch.DeleteRange(keyindex_cf(), keys::TopicBegin(tid), keys::TopicEnd(tid));
        ctx.deleted_topic_ids.insert(tid);
        ctx.topics[topic] = std::nullopt;
        ctx.appended = true;  // wake followers so they notice the topic is gone
        return Status::OK();
      },
      Durability::kSync);
}

// --- consumer groups --------------------------------------------------------

Status EmbeddedLogImpl::CommitOffsets(const std::string& group,
                                      const std::vector<std::pair<TopicPartition, CommittedOffset>>& offsets) {
  if (group.empty() || group.find('\0') != std::string::npos) {
    return Status::InvalidArgument("group name must be non-empty and contain no NUL byte");
  }
  return Submit(
      [&](WriteContext& ctx) -> Status {
        RETURN_NOT_OK(ValidateOffsets(ctx, offsets));
        StageOffsets(ctx, group, offsets);
        return Status::OK();
      },
      Durability::kPolicy);
}

}  // namespace ghostlog::log
