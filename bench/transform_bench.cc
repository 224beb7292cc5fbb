// Transform throughput: source events mapped per second on one core, against a
// ceiling measured in the same run: SQLite evaluating the very same
// expressions over a table holding the same rows (no changelog, no JSON, no
// state). The ratio is what the stage's plumbing costs on top of the
// expressions themselves.
//
//   build-bench/bench/transform_bench [--benchmark_min_time=1x]
//   GHOSTLOG_BENCH_EVENTS=200000 (default 100000)
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "ghostlog/log/embedded_log.h"
#include "ghostlog/transform/mapping.h"
#include "ghostlog/transform/transform.h"
#include "uuid5.h"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using namespace ghostlog;

// v2 requisition_line_items -> v3 kafka_requisition_line_items, as in the pack.
constexpr const char* kMapping = R"toml(source = "public.requisition_line_items"
target = "public.kafka_requisition_line_items"
key = ["id"]
[columns]
id = "uuid5('requisition_line_items', id)"
requisitionid = "uuid5('requisitions', rnrid)"
orderableid = "uuid5('orderables', productcode)"
beginningbalance = "beginningbalance"
totalreceivedquantity = "quantityreceived"
totalconsumedquantity = "quantitydispensed"
stockonhand = "stockinhand"
averageconsumption = "amc"
nonfullsupply = "NOT fullsupply"
requestedquantity = "quantityrequested"
approvedquantity = "quantityapproved"
remarks = "nullif(trim(remarks), '')"
totalstockoutdays = "coalesce(stockoutdays, 0)"
skipped = "coalesce(skipped, 0)"
)toml";

const std::vector<std::string> kColumns = {
    "id",           "rnrid",  "productcode", "beginningbalance",  "quantityreceived", "quantitydispensed",
    "stockinhand",  "amc",    "fullsupply",  "quantityrequested", "quantityapproved", "remarks",
    "stockoutdays", "skipped"};

json Row(int64_t i) {
  return {{"id", i},
          {"rnrid", i / 40},
          {"productcode", "P" + std::to_string(i % 300)},
          {"beginningbalance", i % 1000},
          {"quantityreceived", i % 500},
          {"quantitydispensed", i % 450},
          {"stockinhand", i % 1050},
          {"amc", i % 300},
          {"fullsupply", i % 10 != 0},
          {"quantityrequested", nullptr},
          {"quantityapproved", i % 600},
          {"remarks", i % 7 == 0 ? "checked" : ""},
          {"stockoutdays", i % 13 == 0 ? json(nullptr) : json(i % 5)},
          {"skipped", false}};
}

int64_t Events() {
  const char* e = std::getenv("GHOSTLOG_BENCH_EVENTS");
  return e ? std::atoll(e) : 100000;
}

// A changelog holding what capture would have written for Events() inserts,
// 100 per source transaction. Built once, reused by every iteration.
struct Source {
  fs::path dir;
  std::unique_ptr<log::EmbeddedLog> log;
  Source() {
    dir = fs::temp_directory_path() / ("ghostlog-transform-bench-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "maps");
    std::ofstream(dir / "maps" / "61-requisition_line_items.toml") << kMapping;
    log::EmbeddedLogOptions o;
    o.data_dir = (dir / "data").string();
    log = std::move(log::EmbeddedLog::Open(o)).value();
    log::TopicConfig compact;
    compact.cleanup_compact = true;
    compact.cleanup_delete = false;
    compact.retention_ms = -1;
    log::TopicConfig forever;
    forever.retention_ms = -1;
    (void)log->CreateTopic("v2.schema", 1, compact);
    (void)log->CreateTopic("v2.transaction", 1, forever);
    (void)log->CreateTopic("v2.public.requisition_line_items", 1, compact);
    json cols = json::array();
    for (const auto& c : kColumns) cols.push_back({{"name", c}, {"key", c == "id"}});
    (void)log->Append({"v2.schema", 0}, {{"public.requisition_line_items", json{{"columns", cols}}.dump(), {}, -1}});
    for (int64_t i = 0; i < Events(); i += 100) {
      std::vector<log::RecordIn> batch;
      for (int64_t j = i; j < i + 100 && j < Events(); ++j) {
        json v{{"op", "c"}, {"before", nullptr}, {"after", Row(j)}, {"source", {{"ts_ms", 1}, {"txId", j / 100}}}};
        batch.push_back({json{{"id", j}}.dump(), v.dump(), {}, -1});
      }
      const size_t n = batch.size();
      auto offs = std::move(log->Append({"v2.public.requisition_line_items", 0}, std::move(batch))).value();
      json t{
          {"status", "END"},
          {"id", std::to_string(i / 100)},
          {"ranges",
           {{{"topic", "v2.public.requisition_line_items"}, {"first", offs[0]}, {"last", offs[0] + int64_t(n) - 1}}}}};
      (void)log->Append({"v2.transaction", 0}, {{"", t.dump(), {}, -1}});
    }
  }
  ~Source() {
    log.reset();
    fs::remove_all(dir);
  }
};

Source& Shared() {
  static Source s;
  return s;
}

std::atomic<double> ceiling_per_s{0};

// The ceiling: SQLite evaluating the same SELECT over a table of the same rows.
void BM_SqliteSameExpressions(benchmark::State& state) {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_create_function(
      db, "uuid5", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
      [](sqlite3_context* ctx, int argc, sqlite3_value** argv) {
        std::string name;
        for (int i = 1; i < argc; ++i) name += reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
        const std::string id = transform::Uuid5(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])), name);
        sqlite3_result_text(ctx, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
      },
      nullptr, nullptr);
  std::string cols;
  for (const auto& c : kColumns) cols += (cols.empty() ? "" : ", ") + c;
  sqlite3_exec(db, ("CREATE TABLE src (" + cols + ")").c_str(), nullptr, nullptr, nullptr);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  std::string marks;
  for (size_t i = 0; i < kColumns.size(); ++i) marks += i ? ", ?" : "?";
  sqlite3_prepare_v2(db, ("INSERT INTO src VALUES (" + marks + ")").c_str(), -1, &ins, nullptr);
  for (int64_t i = 0; i < Events(); ++i) {
    json r = Row(i);
    int k = 1;
    for (const auto& c : kColumns) {
      const json& v = r[c];
      if (v.is_null())
        sqlite3_bind_null(ins, k);
      else if (v.is_boolean())
        sqlite3_bind_int(ins, k, v.get<bool>());
      else if (v.is_number())
        sqlite3_bind_int64(ins, k, v.get<int64_t>());
      else
        sqlite3_bind_text(ins, k, v.get<std::string>().c_str(), -1, SQLITE_TRANSIENT);
      ++k;
    }
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  auto m = std::move(transform::ParseMapping("m.toml", kMapping)).value();
  std::string select;
  for (const auto& [col, expr] : m.columns) select += (select.empty() ? "" : ", ") + ("(" + expr + ")");
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, ("SELECT " + select + " FROM src").c_str(), -1, &q, nullptr);
  int64_t rows = 0;
  for (auto _ : state) {
    while (sqlite3_step(q) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(q); ++c) benchmark::DoNotOptimize(sqlite3_column_text(q, c));
      ++rows;
    }
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  state.SetItemsProcessed(rows);
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}

// ghostlog: the transform stage over the changelog, from an empty state (a
// fresh group and output prefix each iteration), until it caught up.
void BM_TransformCatchUp(benchmark::State& state) {
  Source& src = Shared();
  int run = 0;
  int64_t events = 0;
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  for (auto _ : state) {
    transform::TransformConfig c;
    c.mappings = (src.dir / "maps").string();
    c.group = "bench" + std::to_string(run);
    c.output_prefix = "out" + std::to_string(run++);
    // The batch size against memory (docs/transform.md): default 4 MiB.
    if (const char* b = std::getenv("GHOSTLOG_BENCH_BATCH_BYTES")) c.max_batch_bytes = std::atoll(b);
    transform::Transform t(c, *src.log);
    const log::Offset end = src.log->DescribePartition({"v2.transaction", 0})->end_offset;
    std::jthread th([&](std::stop_token stop) { (void)t.Run(stop); });
    while (t.stats().committed_offset < end) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    th.request_stop();
    th.join();
    events += t.stats().events_in;
  }
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  // CPU of the whole process (the stage's thread and the changelog's) per event.
  state.counters["cpu_us_per_event"] =
      (secs(after.ru_utime) + secs(after.ru_stime) - secs(before.ru_utime) - secs(before.ru_stime)) * 1e6 /
      static_cast<double>(std::max<int64_t>(events, 1));
  state.SetItemsProcessed(events);
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_SqliteSameExpressions)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TransformCatchUp)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2);
BENCHMARK_MAIN();
