// Append and read throughput of the Kafka-backed changelog on librdkafka's
// in-process mock cluster (3 brokers), next to the embedded log doing the
// same work. The mock runs in this process, so the figures say what the
// client side costs, not what a real cluster does.
//
//   kafka_bench [--benchmark_filter=...]
// GHOSTLOG_BENCH_SCALE (default 1) scales the record count.
#include <benchmark/benchmark.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ghostlog/log/embedded_log.h"
#include "ghostlog/log/kafka_log.h"

namespace {

using namespace ghostlog::log;

int64_t Records() {
  const char* s = std::getenv("GHOSTLOG_BENCH_SCALE");
  const double scale = (s != nullptr && std::atof(s) > 0) ? std::atof(s) : 1.0;
  return std::max<int64_t>(1000, static_cast<int64_t>(50000 * scale) / 100 * 100);
}

// A 3-broker mock cluster with topic "bench", destroyed with the object.
struct MockCluster {
  MockCluster() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    mc = rd_kafka_mock_cluster_new(rk, 3);
    rd_kafka_mock_topic_create(mc, "bench", 1, 3);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
  }
  rd_kafka_t* rk;
  rd_kafka_mock_cluster_t* mc;
};

std::vector<RecordIn> Batch(int64_t first, int64_t n, size_t value_size) {
  std::vector<RecordIn> b;
  for (int64_t i = first; i < first + n; ++i) {
    RecordIn r;
    r.key = "key-" + std::to_string(i);
    r.value = std::string(value_size, static_cast<char>('a' + i % 26));
    b.push_back(std::move(r));
  }
  return b;
}

// Appends Records() records in batches of `range(0)`, then reads them all back.
void Run(benchmark::State& state, Changelog& log, const TopicPartition& tp) {
  const int64_t batch = state.range(0), total = Records();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < total; i += batch) {
      auto r = log.Append(tp, Batch(i, batch, 100));
      if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    }
    const auto t1 = std::chrono::steady_clock::now();
    Offset from = 0;
    int64_t read = 0;
    while (read < total) {
      auto r = log.Read(tp, from, ReadLimits{1000, 4 << 20});
      if (!r.ok() || r->empty()) {
        state.SkipWithError(r.ok() ? "read returned nothing" : r.status().ToString().c_str());
        break;
      }
      read += static_cast<int64_t>(r->size());
      from = r->back().offset + 1;
    }
    const auto t2 = std::chrono::steady_clock::now();
    state.counters["append_records_per_s"] = total / std::chrono::duration<double>(t1 - t0).count();
    state.counters["read_records_per_s"] = read / std::chrono::duration<double>(t2 - t1).count();
  }
}

void BM_KafkaMock(benchmark::State& state) {
  MockCluster mock;
  KafkaLogOptions o;
  o.bootstrap_servers = rd_kafka_mock_cluster_bootstraps(mock.mc);
  auto log = KafkaLog::Open(o);
  if (!log.ok()) {
    state.SkipWithError(log.status().ToString().c_str());
    for (auto _ : state) {
    }
    return;
  }
  Run(state, **log, {"bench", 0});
}

// The first read of each of several topics by one log, one after another,
// as the sink applying a snapshot does (one table topic after another): a
// pooled reader moved to a topic new to it must learn its leader first.
void BM_KafkaMockFirstReads(benchmark::State& state) {
  MockCluster mock;
  constexpr int kTopics = 8;
  for (int i = 0; i < kTopics; ++i) rd_kafka_mock_topic_create(mock.mc, ("first-" + std::to_string(i)).c_str(), 1, 3);
  KafkaLogOptions o;
  o.bootstrap_servers = rd_kafka_mock_cluster_bootstraps(mock.mc);
  auto log = KafkaLog::Open(o);
  for (auto _ : state) {
    if (!log.ok()) {
      state.SkipWithError(log.status().ToString().c_str());
      break;
    }
    for (int i = 0; i < kTopics; ++i) {
      if (!(*log)->Append({"first-" + std::to_string(i), 0}, Batch(i, 1, 100)).ok()) state.SkipWithError("append");
    }
    double total_ms = 0, max_ms = 0;
    for (int i = 0; i < kTopics; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto r = (*log)->Read({"first-" + std::to_string(i), 0}, 0);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (!r.ok() || r->size() != 1) state.SkipWithError("first read did not return the record");
      total_ms += ms;
      max_ms = std::max(max_ms, ms);
    }
    state.counters["first_read_ms_mean"] = total_ms / kTopics;
    state.counters["first_read_ms_max"] = max_ms;
  }
}

void BM_Embedded(benchmark::State& state) {
  std::string dir = (std::filesystem::temp_directory_path() / "ghostlog-kbench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) std::abort();
  {
    EmbeddedLogOptions o;
    o.data_dir = dir + "/data";
    o.cleanup_interval = std::chrono::milliseconds(0);
    auto log = EmbeddedLog::Open(o);
    if (!log.ok() || !(*log)->CreateTopic("bench", 1, TopicConfig{}).ok()) {
      state.SkipWithError("cannot open the embedded log");
      for (auto _ : state) {
      }
    } else {
      Run(state, **log, {"bench", 0});
    }
  }
  std::filesystem::remove_all(dir);
}

BENCHMARK(BM_KafkaMock)->Arg(1)->Arg(100)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_KafkaMockFirstReads)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Embedded)->Arg(1)->Arg(100)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
