// KafkaLog: Write() as one Kafka transaction (records, checkpoints and a
// group's offsets), and reading checkpoints back.
#include <cstdlib>
#include <cstring>

#include "kafka_log_impl.h"

namespace ghostlog::log::kafka {

Status KafkaLogImpl::EnsureCheckpointTopic() {
  if (checkpoint_topic_ok_) return Status::OK();
  auto n = PartitionCount(kCheckpointTopic);
  if (n.status().IsNotFound()) {
    Status s = CreateTopic(kCheckpointTopic, 1, TopicConfig::Compacted());
    if (!s.ok() && s.code() != Status::Code::kAlreadyExists) return s.WithContext("creating the checkpoint topic");
  } else if (!n.ok()) {
    return n.status();
  }
  checkpoint_topic_ok_ = true;
  return Status::OK();
}

Result<std::vector<std::vector<Offset>>> KafkaLogImpl::Write(AtomicWrite write) {
  if (options_.transactional_id.empty()) {
    return Status::NotSupported("Write on the kafka changelog needs a transactional_id (it is a Kafka transaction)");
  }
  for (const auto& b : write.batches) RETURN_NOT_OK(CheckPartition(b.tp));
  for (const auto& [tp, c] : write.offsets) RETURN_NOT_OK(CheckPartition(tp));
  if (!write.offsets.empty() && write.group.empty()) {
    return Status::InvalidArgument("atomic write has offsets but no consumer group");
  }
  std::lock_guard l(txn_mu_);
  RETURN_NOT_OK(txn_fatal_);
  if (!write.checkpoints.empty() || write.finish) RETURN_NOT_OK(EnsureCheckpointTopic());
  const int timeout = static_cast<int>(options_.request_timeout.count());
  if (!txn_producer_) {
    ASSIGN_OR_RAISE(Handle h, NewClient(RD_KAFKA_PRODUCER, {{"transactional.id", options_.transactional_id},
                                                            {"enable.idempotence", "true"},
                                                            {"acks", "all"},
                                                            {"linger.ms", "1"}}));
    Error e(rd_kafka_init_transactions(h.get(), timeout));
    RETURN_NOT_OK(ToStatus(e.get(), "starting transactions as '" + options_.transactional_id + "'"));
    txn_producer_ = std::move(h);
  }
  rd_kafka_t* p = txn_producer_.get();
  // A producer that cannot even abort is dropped; the next Write starts afresh.
  auto abort_txn = [&] {
    if (Error e{rd_kafka_abort_transaction(p, timeout)}) txn_producer_.reset();
  };
  // Aborts what can be aborted. A fatal error (e.g. fenced by a newer
  // instance with the same transactional.id) is final: re-initializing would
  // fence that newer instance in turn, so every later Write returns it.
  auto fail = [&](rd_kafka_error_t* raw, const std::string& what) -> Status {
    Error e(raw);
    Status s = ToStatus(e.get(), what);
    if (rd_kafka_error_txn_requires_abort(e.get())) {
      abort_txn();
    } else if (rd_kafka_error_is_fatal(e.get())) {
      txn_fatal_ = s;
      txn_producer_.reset();
    }
    return s;
  };

  RETURN_NOT_OK(ToStatus(Error(rd_kafka_begin_transaction(p)).get(), "beginning a transaction"));
  // A produce that failed aborts the transaction. A failed delivery puts it
  // in an abortable state whose cause (e.g. an authorization failure) only
  // commit reports; the records themselves just say "purged".
  auto failed = [&](const Status& produced, const Status& delivered) -> Status {
    if (interrupted_) {
      // Aborting would wait for the coordinator, which may be what is
      // unreachable: the producer is dropped, and the broker aborts the open
      // transaction when the next instance starts transactions under the
      // same id (or at transaction.timeout.ms).
      txn_producer_.reset();
      return Interrupted("writing a transaction");
    }
    if (!produced.ok()) {
      abort_txn();
      return produced;
    }
    rd_kafka_error_t* err = rd_kafka_commit_transaction(p, timeout);
    if (err) return fail(err, "writing a transaction");
    txn_producer_.reset();
    return Status::IOError("a transaction committed although a record failed (" + delivered.message() + ")");
  };
  // Checkpoints are records of the checkpoint topic, produced with the last
  // batches: one round of delivery reports without a finish, two with one.
  auto produce = [&](std::vector<PartitionBatch>& batches, bool last, std::vector<std::vector<Offset>>* offsets,
                     Status* delivered) {
    const bool checkpoints = last && !write.checkpoints.empty();
    if (checkpoints) {
      PartitionBatch& b = batches.emplace_back(PartitionBatch{{kCheckpointTopic, 0}, {}});
      for (const auto& [name, value] : write.checkpoints) b.records.push_back({name, value, {}, kNoTimestamp});
    }
    Status produced = ProduceInTransaction(p, batches, offsets, delivered);
    if (checkpoints) offsets->pop_back();
    return produced;
  };
  std::vector<std::vector<Offset>> out;
  Status delivered;
  Status produced = produce(write.batches, !write.finish, &out, &delivered);
  if (!produced.ok() || !delivered.ok()) return failed(produced, delivered);
  if (write.finish) {
    // The offsets are the broker's now (the records are in the log, not yet
    // committed): what names them is written in the same transaction.
    WriteTail tail;
    Status finished = write.finish(out, &tail);
    for (const auto& b : tail.batches) {
      if (finished.ok()) finished = CheckPartition(b.tp);
    }
    if (!finished.ok()) {
      abort_txn();
      return finished;
    }
    for (auto& [name, value] : tail.checkpoints) write.checkpoints[name] = std::move(value);
    std::vector<std::vector<Offset>> tail_offsets;
    produced = produce(tail.batches, true, &tail_offsets, &delivered);
    if (!produced.ok() || !delivered.ok()) return failed(produced, delivered);
    for (auto& o : tail_offsets) out.push_back(std::move(o));
  }

  if (!write.offsets.empty()) {
    PartitionList offsets(rd_kafka_topic_partition_list_new(static_cast<int>(write.offsets.size())));
    for (const auto& [tp, c] : write.offsets) {
      rd_kafka_topic_partition_t* e = rd_kafka_topic_partition_list_add(offsets.get(), tp.topic.c_str(), tp.partition);
      e->offset = c.offset;
      if (!c.metadata.empty()) {
        e->metadata = std::malloc(c.metadata.size());  // freed with the list
        std::memcpy(e->metadata, c.metadata.data(), c.metadata.size());
        e->metadata_size = c.metadata.size();
      }
    }
    rd_kafka_consumer_group_metadata_t* cgmd = rd_kafka_consumer_group_metadata_new(write.group.c_str());
    rd_kafka_error_t* err = rd_kafka_send_offsets_to_transaction(p, offsets.get(), cgmd, timeout);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (err) return fail(err, "committing offsets of group '" + write.group + "' in a transaction");
  }
  if (rd_kafka_error_t* err = rd_kafka_commit_transaction(p, timeout)) return fail(err, "committing a transaction");
  return out;
}

// Produces `batches` in the open transaction and waits for every delivery
// report; `out` gets each batch's offsets. Returns the first produce error;
// `delivered` the first delivery error (records already enqueued are waited
// for even after a produce error: their reports point at this frame).
Status KafkaLogImpl::ProduceInTransaction(rd_kafka_t* p, std::vector<PartitionBatch>& batches,
                                          std::vector<std::vector<Offset>>* out, Status* delivered) {
  size_t total = 0;
  for (const auto& b : batches) total += b.records.size();
  DeliveryWait wait;
  wait.pending = total;
  wait.offsets.assign(total, -1);
  std::vector<DeliverySlot> slots(total);
  for (size_t i = 0; i < total; ++i) slots[i] = {&wait, i};
  Status produced;
  size_t next = 0;
  for (auto& b : batches) {
    if (produced.ok()) {
      produced = Produce(p, b.tp, b.records, wait, slots, next);
    } else {
      std::lock_guard wl(wait.mu);
      wait.pending -= b.records.size();
    }
    next += b.records.size();
  }
  *delivered = AwaitDeliveries(p, wait, "writing a transaction");
  next = 0;
  for (const auto& b : batches) {
    out->emplace_back(wait.offsets.begin() + static_cast<ptrdiff_t>(next),
                      wait.offsets.begin() + static_cast<ptrdiff_t>(next + b.records.size()));
    next += b.records.size();
  }
  return produced;
}

// Scans the checkpoint topic (compacted, so about one record per name) for
// the last value of `name`.
Result<std::string> KafkaLogImpl::ReadCheckpoint(const std::string& name) {
  auto exists = PartitionCount(kCheckpointTopic);
  if (exists.status().IsNotFound()) return Status::NotFound("checkpoint '" + name + "' was never written");
  RETURN_NOT_OK(exists.status());
  ASSIGN_OR_RAISE(auto latest, ScanForLatest(*this, {kCheckpointTopic, 0}, name));
  if (!latest || !latest->value) return Status::NotFound("checkpoint '" + name + "' was never written");
  return *std::move(latest->value);
}

Result<std::map<std::string, std::string>> KafkaLogImpl::Checkpoints() {
  std::map<std::string, std::string> out;
  auto exists = PartitionCount(kCheckpointTopic);
  if (exists.status().IsNotFound()) return out;
  RETURN_NOT_OK(exists.status());
  ASSIGN_OR_RAISE(auto latest, ScanLatestByKey(*this, {kCheckpointTopic, 0}));
  for (auto& [name, r] : latest) {
    if (r.value) out.emplace(name, *std::move(r.value));
  }
  return out;
}

}  // namespace ghostlog::log::kafka
