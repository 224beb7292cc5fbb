// The transform loop: follow INPUT.transaction, map whole source transactions,
// write outputs + state + offset in one atomic write.
#include "ghostlog/transform/transform.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ghostlog/log/fault.h"
#include "ghostlog/log/stop_sleep.h"
#include "ghostlog/transform/mapping.h"
#include "transform_impl.h"

namespace ghostlog::transform {

using json = nlohmann::json;

Result<OnError> ParseOnError(const std::string& s) {
  if (s == "stop") return OnError::kStop;
  if (s == "dead_letter") return OnError::kDeadLetter;
  return Status::InvalidArgument("on_error = '" + s + "' must be stop or dead_letter");
}

Status CheckMappings(const std::string& path) {
  ASSIGN_OR_RAISE(auto mappings, LoadMappings(path));
  ASSIGN_OR_RAISE(auto engine, SqlEngine::Open(nullptr));
  for (const auto& m : mappings) RETURN_NOT_OK(engine->Check(m, {}));
  return Status::OK();
}

Status Transform::Impl::Run(std::stop_token stop) {
  stop_ = stop;
  RETURN_NOT_OK(Load());
  RETURN_NOT_OK(WaitForInput(stop));
  if (stop.stop_requested()) return Status::OK();
  log::TopicConfig forever;
  forever.retention_ms = -1;
  RETURN_NOT_OK(EnsureTopic(out_txn_, forever));
  RETURN_NOT_OK(EnsureTopic(state_topic_, Compacted()));
  RETURN_NOT_OK(deps_.Open(Compacted()));  // before EnsureTopic learns the end offsets: it may write
  RETURN_NOT_OK(EnsureTopic(refs_topic_, Compacted()));
  RETURN_NOT_OK(EnsureTopic(readers_topic_, Compacted()));
  RETURN_NOT_OK(EnsureTopic(undo_.topic(), Compacted()));
  log::Offset from = 0;
  auto committed = log_.Committed(cfg_.group, {in_txn_, 0});
  if (committed.ok()) {
    from = committed->offset;
  } else if (committed.status().IsNotFound()) {
    ASSIGN_OR_RAISE(auto info, log_.DescribePartition({in_txn_, 0}));
    from = info.log_start_offset;
  } else {
    return committed.status();
  }
  // An input transaction partly written when the stage stopped (even if
  // the group was reset since) is undone; otherwise the undo topic holds a
  // whole transaction's before-images, if a stop came before it was cleared.
  auto chunked = log_.ReadCheckpoint(chunked_checkpoint_);
  if (!chunked.ok() && !chunked.status().IsNotFound()) return chunked.status();
  if (chunked.ok() && !chunked->empty()) RETURN_NOT_OK(Undo(*chunked, from));
  RETURN_NOT_OK(undo_.Clear());
  stats_.committed_offset = from;
  spdlog::info("transform {}: {} mappings, reading '{}' from offset {}", cfg_.group, mappings_.size(), in_txn_, from);
  while (!stop.stop_requested()) {
    auto txns = log_.Read({in_txn_, 0}, from, {256, 8 << 20});
    if (txns.status().IsOutOfRange()) {
      return Status::OutOfRange(
          "transform group '" + cfg_.group + "' is at offset " + std::to_string(from) + " of '" + in_txn_ +
          "', outside the topic (reset it with `ghostlog offsets reset`): " + txns.status().message());
    }
    RETURN_NOT_OK(txns.status());
    if (txns->empty()) {
      RETURN_NOT_OK(log_.WaitForData({in_txn_, 0}, from, std::chrono::milliseconds(200)).status());
      continue;
    }
    Pending p;
    p.next_in = from;
    Status failed;
    for (const auto& t : *txns) {
      failed = MapTransaction(t, &p);
      if (!failed.ok()) break;
      p.next_in = t.offset + 1;
      // A chunked transaction ends its batch: a failure after it must
      // not map again what its chunks wrote.
      if (p.chunks > 0 || p.events_in >= cfg_.max_batch_events ||
          p.Bytes() >= static_cast<size_t>(cfg_.max_batch_bytes)) {
        break;
      }
    }
    if (!failed.ok()) {
      // Commit the transactions before the one that failed, so the stage
      // stops exactly at it; then stop. The failed attempt's changes to
      // the dependency index were never written: forget them first. If
      // chunks of it were, those wrote the transactions before it.
      deps_.ClearOverlay();
      if (p.chunks > 0) {
        // The mapping's error is the one to fix; a failed undo is done again at the next start.
        RETURN_NOT_OK(Undo(std::to_string(p.txn_offset), p.txn_offset)
                          .WithContext(failed.message() + "; then undoing the chunks already written failed"));
      } else {
        Pending done;
        done.next_in = from;
        for (const auto& t : *txns) {
          if (t.offset >= p.next_in) break;
          RETURN_NOT_OK(MapTransaction(t, &done));
          done.next_in = t.offset + 1;
        }
        RETURN_NOT_OK(Commit(&done));
      }
      if (failed.code() == Status::Code::kAborted && stop.stop_requested())
        return Status::OK();  // stopped while waiting
      return failed;
    }
    RETURN_NOT_OK(Commit(&p));
    from = p.next_in;
  }
  return Status::OK();
}

Status Transform::Impl::Load() {
  if (cfg_.mappings.empty()) return Status::InvalidArgument("transform: mappings is not set");
  ASSIGN_OR_RAISE(mappings_, LoadMappings(cfg_.mappings));
  ASSIGN_OR_RAISE(engine_, SqlEngine::Open(&lookup_));
  for (const auto& m : mappings_) {
    ASSIGN_OR_RAISE(auto columns, lookup_.Columns(m.source));
    RETURN_NOT_OK(engine_->Check(m, columns));
    for (auto& [table, columns] : LiteralLookupBys(m)) lookup_.Expect(table, std::move(columns));
    by_source_[m.source].push_back(&m);
    by_name_[m.name] = &m;
    read_columns_[m.name] = ReadColumns(m);
    std::vector<std::string> sorted = m.key;
    std::sort(sorted.begin(), sorted.end());
    sorted_keys_[m.name] = std::move(sorted);
  }
  return Status::OK();
}

Status Transform::Impl::WaitForInput(std::stop_token stop) {
  bool logged = false;
  while (!stop.stop_requested()) {
    auto info = log_.DescribePartition({in_txn_, 0});
    if (!info.status().IsNotFound()) return info.status();
    if (!logged) spdlog::info("transform {}: waiting for topic '{}' to be created", cfg_.group, in_txn_);
    logged = true;
    SleepUntilStopped(stop, std::chrono::milliseconds(200));
  }
  return Status::OK();
}

Status Transform::Impl::EnsureTopic(const std::string& topic, const log::TopicConfig& config) {
  if (end_.count(topic)) return Status::OK();
  Status created = log_.CreateTopic(topic, 1, config);
  if (!created.ok() && created.code() != Status::Code::kAlreadyExists) return created;
  ASSIGN_OR_RAISE(auto info, log_.DescribePartition({topic, 0}));
  end_[topic] = info.end_offset;
  return Status::OK();
}

Transform::Transform(TransformConfig config, log::Changelog& log)
    : impl_(std::make_unique<Impl>(std::move(config), log)) {}
Transform::~Transform() = default;
Status Transform::Run(std::stop_token stop) {
  // A record of an unexpected shape (a corrupt or foreign changelog) must stop
  // the stage with a message, never take the process down.
  try {
    return impl_->Run(stop);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("transform: a record of an unexpected shape: ") + e.what());
  }
}
const TransformStats& Transform::stats() const { return impl_->stats(); }

}  // namespace ghostlog::transform
