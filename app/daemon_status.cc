#include "daemon_status.h"

#include <pthread.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace ghostlog::cli {

int64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, rss = 0;
  in >> pages >> rss;
  return rss * sysconf(_SC_PAGESIZE);
}

// The peak resident set since start (VmHWM): what sizing a machine needs.
int64_t PeakRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

void TopicEnds::Start(log::Changelog& log, std::vector<std::string> topics) {
  topics_ = std::move(topics);
  ends_ = std::make_unique<std::atomic<int64_t>[]>(topics_.size());
  log_ = &log;
  thread_ = std::jthread([this](std::stop_token stop) {
    pthread_setname_np(pthread_self(), "gl-ends");
    while (!stop.stop_requested()) {
      uint64_t asked = 0;
      {
        std::unique_lock l(mu_);
        // Unasked, once a second, so that the values stay recent anyway.
        cv_.wait_for(l, stop, std::chrono::seconds(1), [&] { return asked_ > read_; });
        asked = asked_;
      }
      if (!stop.stop_requested()) ReadAll();
      std::lock_guard l(mu_);
      read_ = asked;
      cv_.notify_all();
    }
  });
}

void TopicEnds::ReadAll() {
  for (size_t i = 0; i < topics_.size(); ++i) {
    // A failed read keeps the last value: the stage reports the error.
    if (auto p = log_->DescribePartition({topics_[i], 0}); p.ok()) ends_[i] = p->end_offset;
  }
}

bool TopicEnds::Refresh(std::chrono::milliseconds wait) {
  if (topics_.empty()) return true;
  if (!thread_.joinable()) {
    // Joined (the session stopped): read here, for the last status. After an
    // Interrupt() a Kafka changelog answers at once.
    ReadAll();
    return true;
  }
  std::unique_lock l(mu_);
  const uint64_t mine = ++asked_;
  cv_.notify_all();
  return cv_.wait_for(l, wait, [&] { return read_ >= mine; });
}

int64_t TopicEnds::Get(const std::string& topic) const {
  for (size_t i = 0; i < topics_.size(); ++i) {
    if (topics_[i] == topic) return ends_[i].load();
  }
  return 0;
}

nlohmann::json BaseStatus() {
  return {{"pid", ::getpid()},
          {"ts_ms", log::NowMs()},
          {"rss_bytes", RssBytes()},
          {"peak_rss_bytes", PeakRssBytes()},
          {"stages", nlohmann::json::object()}};
}

// The status document: /health, /metrics and `ghostlog status` all read it.
nlohmann::json StatusJson(const DaemonConfig& c, const capture::Capture* cap, const transform::Transform* tfm,
                          const sink::Sink* snk, const std::vector<std::unique_ptr<StageRun>>& runs,
                          const TopicEnds& ends) {
  nlohmann::json j = BaseStatus();
  auto state = [&](const std::string& name) -> std::pair<std::string, std::string> {
    for (const auto& r : runs) {
      if (r->name != name) continue;
      if (!r->done) return {"running", ""};
      return {r->result.ok() ? "stopped" : "failed", r->result.ok() ? "" : r->result.ToString()};
    }
    return {"not configured", ""};
  };
  // A running stage that retries after an error shows that error, and says so.
  auto with_retry = [](std::pair<std::string, std::string> state, const RetryError& retrying) {
    const std::string e = state.first == "running" && state.second.empty() ? retrying.Get() : "";
    if (!e.empty()) state.second = "retrying after: " + e;
    return std::tuple{state.first, state.second, !e.empty()};
  };
  // A consumer stage's place in the transaction topic it follows.
  auto position = [&](nlohmann::json* stage, const std::string& topic, int64_t committed) {
    const int64_t end = ends.Get(topic);
    (*stage)["committed_offset"] = committed;
    (*stage)["end_offset"] = end;
    (*stage)["lag_transactions"] = std::max<int64_t>(0, end - committed);
  };
  if (cap != nullptr) {
    const auto& s = cap->stats();
    auto [st, err, retrying] = with_retry(state("capture"), s.retrying);
    j["stages"]["capture"] = {{"state", st},
                              {"last_error", err},
                              {"retrying", retrying},
                              {"streaming", s.streaming.load()},
                              {"transactions", s.transactions.load()},
                              {"events", s.events.load()},
                              {"snapshot_rows", s.snapshot_rows.load()},
                              {"snapshot_rows_estimated", s.snapshot_rows_estimated.load()},
                              {"snapshot_rows_per_second", s.snapshot_rows_per_second.load()},
                              {"confirmed_lsn", s.confirmed_lsn.load()},
                              {"received_lsn", s.received_lsn.load()},
                              {"last_commit_ts_ms", s.last_commit_ts_ms.load()}};
  }
  if (tfm != nullptr) {
    const auto& s = tfm->stats();
    auto [st, err] = state("transform");
    j["stages"]["transform"] = {{"state", st},
                                {"last_error", err},
                                {"transactions", s.transactions.load()},
                                {"events_in", s.events_in.load()},
                                {"events_out", s.events_out.load()},
                                {"dead_lettered", s.dead_lettered.load()},
                                {"chunks", s.chunks.load()},
                                {"remaps_skipped", s.remaps_skipped.load()},
                                {"last_source_ts_ms", s.last_source_ts_ms.load()}};
    position(&j["stages"]["transform"], c.transform->input_prefix + ".transaction", s.committed_offset.load());
  }
  if (snk != nullptr) {
    const auto& s = snk->stats();
    auto [st, err, retrying] = with_retry(state("sink"), s.retrying);
    j["stages"]["sink"] = {{"state", st},
                           {"last_error", err},
                           {"retrying", retrying},
                           {"connected", s.connected.load()},
                           {"transactions", s.transactions.load()},
                           {"events", s.events.load()},
                           {"rows_written", s.rows_written.load()},
                           {"batches", s.batches.load()},
                           {"dead_lettered", s.dead_lettered.load()},
                           {"early_pieces", s.early_pieces.load()},
                           {"direct_copy_conflicts", s.direct_copy_conflicts.load()},
                           {"overlapped_batches", s.overlapped_batches.load()},
                           {"last_batch_ms", s.last_batch_ms.load()},
                           {"last_batch_events", s.last_batch_events.load()},
                           {"last_source_ts_ms", s.last_source_ts_ms.load()}};
    position(&j["stages"]["sink"], c.sink->transaction_topic, s.committed_offset.load());
  }
  return j;
}

nlohmann::json PausedStatusJson(const DaemonConfig& c, const std::string& why) {
  nlohmann::json j = BaseStatus();
  j["paused"] = why;
  for (const auto& [name, configured] : {std::pair<const char*, bool>{"capture", c.capture.has_value()},
                                         {"transform", c.transform.has_value()},
                                         {"sink", c.sink.has_value()}}) {
    if (configured) j["stages"][name] = {{"state", "paused"}, {"last_error", why}};
  }
  return j;
}

std::string Metrics(const nlohmann::json& st) {
  std::string out;
  // Totals are counters (they restart at 0 with the process, which
  // Prometheus's rate() treats as a reset); everything else is a gauge.
  auto gauge = [&](const std::string& name, const std::string& help, double v, const std::string& labels = "") {
    const char* type = name.ends_with("_total") ? "counter" : "gauge";
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + labels + " " +
           std::to_string(static_cast<int64_t>(v)) + "\n";
  };
  gauge("ghostlog_rss_bytes", "Resident memory of the daemon.", st["rss_bytes"].get<double>());
  gauge("ghostlog_peak_rss_bytes", "Peak resident memory of the daemon since it started (VmHWM).",
        st.value("peak_rss_bytes", 0.0));
  if (st["stages"].contains("capture")) {
    const auto& c = st["stages"]["capture"];
    gauge("ghostlog_capture_transactions_total", "Source transactions captured.", c["transactions"].get<double>());
    gauge("ghostlog_capture_events_total", "Change events captured (snapshot rows included).",
          c["events"].get<double>());
    gauge("ghostlog_capture_snapshot_rows", "Rows read by the snapshot.", c["snapshot_rows"].get<double>());
    gauge("ghostlog_capture_snapshot_rows_estimated", "Estimated rows to snapshot.",
          c["snapshot_rows_estimated"].get<double>());
    gauge("ghostlog_capture_snapshot_rows_per_second", "Snapshot rows per second since it began or resumed.",
          c.value("snapshot_rows_per_second", 0.0));
    gauge("ghostlog_capture_confirmed_lsn", "LSN confirmed to the source (durable in the changelog).",
          c["confirmed_lsn"].get<double>());
    gauge("ghostlog_capture_received_lsn", "Highest LSN received from the source.", c["received_lsn"].get<double>());
    gauge("ghostlog_capture_streaming", "1 while streaming from the slot.", c["streaming"].get<bool>() ? 1 : 0);
    gauge("ghostlog_capture_retrying", "1 while capture retries after an error (status shows it).",
          c.value("retrying", false) ? 1 : 0);
  }
  if (st["stages"].contains("transform")) {
    const auto& t = st["stages"]["transform"];
    gauge("ghostlog_transform_transactions_total", "Source transactions mapped.", t["transactions"].get<double>());
    gauge("ghostlog_transform_events_in_total", "Change events read by the transform.", t["events_in"].get<double>());
    gauge("ghostlog_transform_events_out_total", "Change events the mappings produced.", t["events_out"].get<double>());
    gauge("ghostlog_transform_dead_lettered_total", "Events sent to the transform's dead-letter topic.",
          t["dead_lettered"].get<double>());
    gauge("ghostlog_transform_chunks_total", "Pieces of large source transactions' output written before their end.",
          t["chunks"].get<double>());
    gauge("ghostlog_transform_remaps_skipped_total",
          "Readers of a changed row not mapped again because no column they read changed.",
          t["remaps_skipped"].get<double>());
    gauge("ghostlog_transform_lag_transactions", "Transactions captured but not yet mapped.",
          t["lag_transactions"].get<double>());
  }
  if (st["stages"].contains("sink")) {
    const auto& s = st["stages"]["sink"];
    gauge("ghostlog_sink_transactions_total", "Source transactions applied to the target.",
          s["transactions"].get<double>());
    gauge("ghostlog_sink_events_total", "Change events applied.", s["events"].get<double>());
    gauge("ghostlog_sink_rows_written_total", "Rows upserted or deleted in the target.",
          s["rows_written"].get<double>());
    gauge("ghostlog_sink_dead_lettered_total", "Events sent to the dead-letter topic.",
          s["dead_lettered"].get<double>());
    gauge("ghostlog_sink_early_pieces_total",
          "Pieces of source transactions larger than max_batch_events applied before their commit.",
          s.value("early_pieces", 0.0));
    gauge("ghostlog_sink_direct_copy_conflicts_total",
          "Direct COPYs of inserted rows undone because the target already had a key; those rows were upserted.",
          s.value("direct_copy_conflicts", 0.0));
    gauge("ghostlog_sink_overlapped_batches_total",
          "Batches the target applied while the sink read the next one (the sink was behind).",
          s.value("overlapped_batches", 0.0));
    gauge("ghostlog_sink_lag_transactions", "Transactions in the changelog not yet applied.",
          s["lag_transactions"].get<double>());
    gauge("ghostlog_sink_last_batch_ms", "Duration of the last target transaction.", s["last_batch_ms"].get<double>());
    gauge("ghostlog_sink_last_batch_events", "Events in the last target transaction.",
          s["last_batch_events"].get<double>());
    gauge("ghostlog_sink_connected", "1 while connected to the target.", s["connected"].get<bool>() ? 1 : 0);
    gauge("ghostlog_sink_retrying", "1 while the sink retries after an error (status shows it).",
          s.value("retrying", false) ? 1 : 0);
    const int64_t src = s["last_source_ts_ms"].get<int64_t>();
    gauge("ghostlog_sink_lag_seconds", "Age of the last applied source commit.",
          src > 0 ? static_cast<double>(log::NowMs() - src) / 1000.0 : 0);
  }
  return out;
}

Status WriteStatusFile(const std::string& dir, const nlohmann::json& j) {
  const std::string tmp = dir + "/status.json.tmp", path = dir + "/status.json";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << '\n';
    out.close();
    if (!out) return Status::IOError("cannot write " + tmp + ": " + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::OK();
}

}  // namespace ghostlog::cli
