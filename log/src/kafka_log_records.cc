// KafkaLog: producing (Append), fetching (Read, WaitForData) and the pool of
// assign-only consumers that fetching uses.
#include "kafka_log_impl.h"

#include <utility>

namespace ghostlog::log::kafka {

namespace {
constexpr size_t kMaxIdleConsumers = 8;
// Longest single poll of a reader, so that Interrupt() is seen this soon.
constexpr int64_t kPollSliceMs = 100;
}  // namespace

Status KafkaLogImpl::Produce(rd_kafka_t* producer, const TopicPartition& tp, std::vector<RecordIn>& records,
                             DeliveryWait& wait, std::vector<DeliverySlot>& slots, size_t first_slot) {
  for (size_t i = 0; i < records.size(); ++i) {
    RecordIn& r = records[i];
    rd_kafka_headers_t* hdrs = nullptr;
    if (!r.headers.empty()) {
      hdrs = rd_kafka_headers_new(r.headers.size());
      for (const auto& h : r.headers) {
        rd_kafka_header_add(hdrs, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                            static_cast<ssize_t>(h.value.size()));
      }
    }
    DeliverySlot* slot = &slots[first_slot + i];
    // The produce macros cast their arguments: compute them first.
    void* value = r.value ? r.value->data() : nullptr;
    const size_t value_size = r.value ? r.value->size() : 0;
    const int64_t ts = r.timestamp == kNoTimestamp ? 0 : r.timestamp;
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(tp.topic.c_str()), RD_KAFKA_V_PARTITION(tp.partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
          RD_KAFKA_V_VALUE(value, value_size),
          RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(hdrs),
          RD_KAFKA_V_OPAQUE(slot), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;  // the producer owns hdrs now
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer, 10);  // serves delivery reports, which frees queue space
        continue;
      }
      if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
      std::lock_guard l(wait.mu);
      wait.pending -= records.size() - i;  // never enqueued: no report will come
      return ToStatus(err, "producing to " + Where(tp));
    }
  }
  return Status::OK();
}

Status KafkaLogImpl::Interrupted(const std::string& what) const {
  if (!interrupted_) return Status::OK();
  return Status::Aborted(what + ": interrupted (the process is stopping)");
}

Status KafkaLogImpl::AwaitDeliveries(rd_kafka_t* producer, DeliveryWait& wait, const std::string& what) {
  // Reports are served by rd_kafka_poll on this thread. delivery.timeout.ms
  // bounds how long a record can stay undelivered, so this loop ends; on
  // Interrupt() the records are purged, whose reports come at the next poll
  // (and must: each points into `wait`).
  bool purged = false;
  for (;;) {
    {
      std::lock_guard l(wait.mu);
      if (wait.pending == 0) break;
    }
    if (interrupted_ && !purged) {
      rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      purged = true;
    }
    rd_kafka_poll(producer, 50);
  }
  if (purged) return Interrupted(what);
  return ToStatus(wait.err, what);
}

Result<std::vector<Offset>> KafkaLogImpl::Append(const TopicPartition& tp, std::vector<RecordIn> batch) {
  RETURN_NOT_OK(CheckPartition(tp));
  if (batch.empty()) return std::vector<Offset>{};
  std::lock_guard l(append_mu_);
  DeliveryWait wait;
  wait.pending = batch.size();
  wait.offsets.assign(batch.size(), -1);
  std::vector<DeliverySlot> slots(batch.size());
  for (size_t i = 0; i < slots.size(); ++i) slots[i] = {&wait, i};
  Status produced = Produce(producer_.get(), tp, batch, wait, slots, 0);
  // Records already enqueued point at `slots`: wait for them even on failure.
  Status delivered = AwaitDeliveries(producer_.get(), wait, "appending to " + Where(tp));
  RETURN_NOT_OK(produced);
  if (delivered.IsNotFound()) {
    std::lock_guard tl(topics_mu_);
    partition_counts_.erase(tp.topic);  // deleted behind our back
  }
  RETURN_NOT_OK(delivered);
  return std::move(wait.offsets);
}

Result<Offset> KafkaLogImpl::AppendAt(const TopicPartition& tp, const std::vector<Record>& records, Offset end) {
  if (records.empty()) {  // fillers alone would only make a trailing gap, which is not kept
    ASSIGN_OR_RAISE(auto wm, Watermarks(tp));
    return wm.second;
  }
  RETURN_NOT_OK(ValidateAppendAt(records, end));
  ASSIGN_OR_RAISE(auto wm, Watermarks(tp));
  if (records.front().offset < wm.second) {
    return Status::InvalidArgument("offset " + std::to_string(records.front().offset) + " is below the end " +
                                   std::to_string(wm.second) + " of " + Where(tp));
  }
  // Produced in pieces: a long gap (a compacted topic's) is many fillers.
  constexpr size_t kPiece = 10000;
  Offset expect = wm.second;
  std::vector<RecordIn> batch;
  auto produce = [&]() -> Status {
    const size_t n = batch.size();
    ASSIGN_OR_RAISE(auto offsets, Append(tp, std::exchange(batch, {})));
    for (size_t i = 0; i < n; ++i, ++expect) {
      if (offsets[i] != expect) {
        return Status::Aborted("copying into " + Where(tp) + ": the record meant for offset " + std::to_string(expect) +
                               " got offset " + std::to_string(offsets[i]) +
                               " (another producer writes to it?); the copy is not exact");
      }
    }
    return Status::OK();
  };
  for (Offset next = wm.second; const Record& r : records) {
    for (; next < r.offset; ++next) {
      batch.push_back(RecordIn{std::string(kGapFillerKey), std::nullopt, {}, r.timestamp});
      if (batch.size() >= kPiece) RETURN_NOT_OK(produce());
    }
    batch.push_back(RecordIn{r.key, r.value, r.headers, r.timestamp});
    ++next;
  }
  RETURN_NOT_OK(produce());
  return records.back().offset + 1;
}

PooledConsumer KafkaLogImpl::AcquireConsumer(const TopicPartition& tp, Offset from, Status* st) {
  {
    std::lock_guard l(pool_mu_);
    for (auto it = pool_.begin(); it != pool_.end(); ++it) {
      if (it->tp == tp && it->next == from) {
        PooledConsumer c = std::move(*it);
        pool_.erase(it);
        return c;
      }
    }
    if (!pool_.empty()) {
      PooledConsumer c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  // librdkafka wants a group.id even for assign-only consumers; this group
  // never joins or commits, so the broker never learns of it.
  std::map<std::string, std::string> reader{{"group.id", "__ghostlog.reader"},
                                            {"enable.partition.eof", "true"},
                                            {"auto.offset.reset", "error"},
                                            {"isolation.level", "read_committed"},
                                            {"enable.auto.commit", "false"},
                                            // Bounds what an idle pooled consumer buffers ahead of its
                                            // reader (it keeps fetching while in the pool).
                                            {"queued.max.messages.kbytes", "8192"}};
  // A read that moves a consumer to another partition waits for the fetch
  // still out for the old one, up to this long: the operator may trade idle
  // fetch requests for faster reads across many topics (docs/kafka.md).
  if (!options_.client_config.count("fetch.wait.max.ms")) reader["fetch.wait.max.ms"] = "100";
  auto h = NewClient(RD_KAFKA_CONSUMER, reader);
  if (!h.ok()) {
    *st = h.status();
    return {};
  }
  return PooledConsumer{std::move(h).value(), std::nullopt, -1, {}};
}

void KafkaLogImpl::ReleaseConsumer(PooledConsumer c) {
  std::lock_guard l(pool_mu_);
  if (pool_.size() < kMaxIdleConsumers) pool_.push_back(std::move(c));
}

namespace {
Status Assign(PooledConsumer& c, const TopicPartition& tp, Offset from, int timeout_ms) {
  if (c.tp == tp && c.next == from) return Status::OK();
  PartitionList l(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(l.get(), tp.topic.c_str(), tp.partition)->offset = from;
  c.tp.reset();  // unknown until the assignment succeeds
  // Unassigning first drops what was fetched for the old position, so that
  // no record from there can show up as the first one of the new position.
  RETURN_NOT_OK(ToStatus(rd_kafka_assign(c.rk.get(), nullptr), "unassigning a reader"));
  RETURN_NOT_OK(ToStatus(rd_kafka_assign(c.rk.get(), l.get()), "assigning " + Where(tp)));
  if (!c.known_topics.count(tp.topic)) {
    // A topic new to this client would wait for librdkafka's once-a-second
    // scan of topics without a known leader before its first fetch: ask for
    // its metadata now (a consumer's request never creates the topic).
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(c.rk.get(), tp.topic.c_str(), nullptr);
    if (rkt == nullptr) {
      return Status::InvalidArgument("no client handle for topic '" + tp.topic +
                                     "': " + rd_kafka_err2str(rd_kafka_last_error()));
    }
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(c.rk.get(), 0, rkt, &md, timeout_ms);
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    RETURN_NOT_OK(ToStatus(err, "metadata of topic '" + tp.topic + "'"));
    c.known_topics.insert(tp.topic);
  }
  c.tp = tp;
  c.next = from;
  return Status::OK();
}

// Whether a consumer's message or event is about another partition than
// `tp`: one left from the consumer's earlier assignment must not pass for
// this one's. (Client-wide errors name no partition.)
bool ForAnother(const rd_kafka_message_t* m, const TopicPartition& tp) {
  return m->rkt != nullptr && (m->partition != tp.partition || tp.topic != rd_kafka_topic_name(m->rkt));
}

Record ToRecord(const rd_kafka_message_t* m) {
  Record r;
  r.offset = m->offset;
  rd_kafka_timestamp_type_t type;
  r.timestamp = rd_kafka_message_timestamp(m, &type);
  if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr) r.value.emplace(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      r.headers.push_back({name, value != nullptr ? std::string(static_cast<const char*>(value), size) : std::string()});
    }
  }
  return r;
}
}  // namespace

Result<std::vector<Record>> KafkaLogImpl::ReadWith(PooledConsumer& c, const TopicPartition& tp, Offset from,
                                                   Offset end, const ReadLimits& limits) {
  RETURN_NOT_OK(Assign(c, tp, from, static_cast<int>(options_.request_timeout.count())));
  std::vector<Record> out;
  int64_t bytes = 0;
  const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    RETURN_NOT_OK(Interrupted("reading " + Where(tp)));
    if (left.count() <= 0) {
      if (!out.empty()) return out;
      // The records are there (below the end the read began with): the
      // cluster did not serve them, so a caller may retry.
      return Status::Unavailable("reading " + Where(tp) + " from offset " + std::to_string(from) +
                                 ": no records within " + std::to_string(options_.request_timeout.count()) + " ms");
    }
    rd_kafka_message_t* m =
        rd_kafka_consumer_poll(c.rk.get(), static_cast<int>(std::min<int64_t>(left.count(), kPollSliceMs)));
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> guard(m, rd_kafka_message_destroy);
    if (ForAnother(m, tp)) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->offset >= end) return out;
      // Short of `end` (the last stable offset when the read began, so the
      // records below it are committed): an end-of-partition event left from
      // an earlier read of this pooled consumer. Returning now would hand back
      // a short, possibly empty read that callers take for the end of the data.
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      c.tp.reset();
      std::string why = rd_kafka_message_errstr(m);
      return ToStatus(m->err, "reading " + Where(tp) + " from offset " + std::to_string(from) + " (" + why + ")");
    }
    if (m->offset < from) continue;
    c.next = m->offset + 1;
    if (m->payload == nullptr && m->key_len == kGapFillerKey.size() &&
        std::string_view(static_cast<const char*>(m->key), m->key_len) == kGapFillerKey) {
      if (c.next >= end) return out;
      continue;  // a copied changelog's gap (AppendAt): not a record
    }
    Record r = ToRecord(m);
    bytes += static_cast<int64_t>(r.key.size() + (r.value ? r.value->size() : 0));
    out.push_back(std::move(r));
    if (static_cast<int64_t>(out.size()) >= limits.max_records || bytes >= limits.max_bytes || c.next >= end) {
      return out;
    }
  }
}

Result<std::vector<Record>> KafkaLogImpl::Read(const TopicPartition& tp, Offset from, ReadLimits limits) {
  ASSIGN_OR_RAISE(auto wm, Watermarks(tp));
  if (from < wm.first || from > wm.second) {
    return Status::OutOfRange("offset " + std::to_string(from) + " is out of range [" + std::to_string(wm.first) +
                              ", " + std::to_string(wm.second) + "] for " + Where(tp));
  }
  if (from == wm.second) return std::vector<Record>{};
  Status st;
  PooledConsumer c = AcquireConsumer(tp, from, &st);
  RETURN_NOT_OK(st);
  auto out = ReadWith(c, tp, from, wm.second, limits);
  ReleaseConsumer(std::move(c));
  return out;
}

// A fetch long-polls the broker, so waiting on a consumer positioned at the
// end wakes as soon as a record arrives, without a sleep loop. The record
// fetched to wake up is dropped; the caller reads it with Read().
Result<Offset> KafkaLogImpl::WaitForData(const TopicPartition& tp, Offset from, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ASSIGN_OR_RAISE(const Offset known, EndOffset(tp));
  if (known > from || timeout.count() <= 0) return known;
  Status st;
  PooledConsumer c = AcquireConsumer(tp, known, &st);
  RETURN_NOT_OK(st);
  Status assigned = Assign(c, tp, known, static_cast<int>(options_.request_timeout.count()));
  if (!assigned.ok()) return assigned;
  Offset end = known;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || interrupted_) break;
    rd_kafka_message_t* m =
        rd_kafka_consumer_poll(c.rk.get(), static_cast<int>(std::min<int64_t>(left.count(), kPollSliceMs)));
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> guard(m, rd_kafka_message_destroy);
    if (ForAnother(m, tp)) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      c.tp.reset();
      Status s = ToStatus(m->err, "waiting for data in " + Where(tp));
      ReleaseConsumer(std::move(c));
      return s;
    }
    c.next = m->offset + 1;
    end = std::max(end, m->offset + 1);
    if (end > from) break;
  }
  ReleaseConsumer(std::move(c));
  RETURN_NOT_OK(Interrupted("waiting for data in " + Where(tp)));
  // The watermark may be past the record that woke us: report the latest.
  ASSIGN_OR_RAISE(const Offset latest, EndOffset(tp));
  return std::max(end, latest);
}

}  // namespace ghostlog::log::kafka
