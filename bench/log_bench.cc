// Benchmarks of the embedded changelog (EmbeddedLog), meant to be read side by
// side with RocksDB's own db_bench on the same machine: bench/run-log-bench
// runs both and prints the comparison (see docs/benchmarks.md).
//
// Every case runs exactly one timed iteration that does a fixed amount of work
// (a record count per case), so that run-log-bench can hand db_bench the very
// same --num. The figures are custom counters:
//   records_per_s  records appended / read / examined per second (kIsRate)
//   bytes_per_s    user payload (record key + value) per second (kIsRate);
//                  db_bench's MB/s counts the same (key_size + value_size)
//   records        how many records the case handled (for db_bench --num)
//
// Data goes to a fresh directory under $GHOSTLOG_BENCH_DIR (else $TMPDIR, else
// /tmp) that is removed afterwards. GHOSTLOG_BENCH_SCALE (default 1) scales
// every record count, e.g. 0.05 for a smoke test.
//
// Values are generated like db_bench's (RandomGenerator with
// --compression_ratio=0.5): printable random bytes, each 100-byte piece made
// of a 50-byte random string repeated, so LZ4 sees the same compressibility
// on both sides. Keys are 16 bytes, as db_bench's --key_size=16.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ghostlog/log/embedded_log.h"

namespace {

namespace fs = std::filesystem;
using ghostlog::log::EmbeddedLog;
using ghostlog::log::EmbeddedLogOptions;
using ghostlog::log::FsyncPolicy;
using ghostlog::log::Offset;
using ghostlog::log::ReadLimits;
using ghostlog::log::RecordIn;
using ghostlog::log::TopicConfig;
using ghostlog::log::TopicPartition;

constexpr size_t kKeySize = 16;

double Scale() {
  const char* s = std::getenv("GHOSTLOG_BENCH_SCALE");
  if (s == nullptr || *s == '\0') return 1.0;
  const double v = std::atof(s);
  return v > 0 ? v : 1.0;
}

// Scaled record count, a multiple of `batch` and at least one batch.
int64_t Count(int64_t n, int64_t batch) {
  int64_t scaled = static_cast<int64_t>(static_cast<double>(n) * Scale());
  scaled = (scaled / batch) * batch;
  return std::max(scaled, batch);
}

std::string BaseDir() {
  for (const char* var : {"GHOSTLOG_BENCH_DIR", "TMPDIR"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return v;
  }
  return "/tmp";
}

// A fresh directory, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::path(BaseDir()) / "ghostlog-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// db_bench's RandomGenerator with compression_ratio 0.5, ported.
class ValueGenerator {
 public:
  ValueGenerator() {
    std::mt19937 rng(301);
    std::uniform_int_distribution<int> printable(0, 94);
    while (data_.size() < (1 << 20)) {
      std::string raw(50, ' ');
      for (char& c : raw) c = static_cast<char>(' ' + printable(rng));
      data_ += raw;
      data_ += raw;
    }
  }
  std::string_view Next(size_t len) {
    if (pos_ + len > data_.size()) pos_ = 0;
    pos_ += len;
    return std::string_view(data_).substr(pos_ - len, len);
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// 16-byte keys: "k" + 15 digits, like db_bench's sequential 16-byte keys.
std::string MakeKey(int64_t i) {
  std::string k(kKeySize, '0');
  k[0] = 'k';
  auto v = static_cast<uint64_t>(i);
  for (size_t pos = kKeySize - 1; pos > 0 && v > 0; --pos, v /= 10) k[pos] = static_cast<char>('0' + v % 10);
  return k;
}

struct OpenLog {
  TempDir dir;
  std::unique_ptr<EmbeddedLog> log;
};

// Opens a writer without the background cleanup thread (cleanup runs only when
// a benchmark asks for it) and creates `topic` with one partition.
std::unique_ptr<OpenLog> Open(benchmark::State& state, FsyncPolicy fsync, const std::string& topic,
                              TopicConfig config = {}) {
  auto o = std::make_unique<OpenLog>();
  EmbeddedLogOptions opts;
  opts.data_dir = o->dir.path() + "/data";
  opts.fsync = fsync;
  opts.cleanup_interval = std::chrono::milliseconds(0);
  auto log = EmbeddedLog::Open(std::move(opts));
  if (!log.ok()) {
    state.SkipWithError(("open: " + log.status().ToString()).c_str());
    return nullptr;
  }
  o->log = std::move(log).value();
  auto st = o->log->CreateTopic(topic, 1, config);
  if (!st.ok()) {
    state.SkipWithError(("create topic: " + st.ToString()).c_str());
    return nullptr;
  }
  return o;
}

// Appends `n` records in batches of `batch`; key i is MakeKey(key_of(i)).
template <typename KeyOf>
bool Fill(benchmark::State& state, EmbeddedLog& log, const TopicPartition& tp, int64_t n, int64_t batch,
          size_t value_size, ValueGenerator& gen, KeyOf key_of) {
  for (int64_t i = 0; i < n; i += batch) {
    std::vector<RecordIn> records;
    records.reserve(static_cast<size_t>(batch));
    for (int64_t j = i; j < std::min(n, i + batch); ++j) {
      RecordIn r;
      r.key = MakeKey(key_of(j));
      r.value = std::string(gen.Next(value_size));
      records.push_back(std::move(r));
    }
    auto res = log.Append(tp, std::move(records));
    if (!res.ok()) {
      state.SkipWithError(("append: " + res.status().ToString()).c_str());
      return false;
    }
  }
  return true;
}

void SetRates(benchmark::State& state, int64_t records, int64_t payload_bytes) {
  state.counters["records"] = static_cast<double>(records);
  state.counters["records_per_s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["bytes_per_s"] = benchmark::Counter(static_cast<double>(payload_bytes), benchmark::Counter::kIsRate);
}

// Stored envelope bytes per record (RocksDB value size), to explain write amplification vs db_bench.
void SetStoredBytes(benchmark::State& state, EmbeddedLog& log, const TopicPartition& tp) {
  auto info = log.DescribePartition(tp);
  if (info.ok() && info->records > 0) {
    state.counters["stored_value_bytes_per_record"] =
        static_cast<double>(info->bytes) / static_cast<double>(info->records);
  }
}

// --- append -------------------------------------------------------------------
// Args: value size, batch size, fsync (1 = kAlways, 0 = kInterval).
// Counterpart: db_bench --benchmarks=fillseq --value_size --batch_size --sync.

int64_t AppendRecords(int64_t value_size, int64_t batch, bool always) {
  if (always) {
    // One fsync per batch: bounded by the disk's sync latency, so keep the
    // number of batches small.
    if (batch == 1) return 1000;
    if (batch == 100) return 40000;
    return value_size >= 1000 ? 200000 : 400000;
  }
  if (batch == 1) return value_size >= 1000 ? 100000 : 200000;
  return value_size >= 1000 ? 300000 : 1000000;
}

void BM_Append(benchmark::State& state) {
  const auto value_size = static_cast<size_t>(state.range(0));
  const int64_t batch = state.range(1);
  const bool always = state.range(2) != 0;
  const int64_t n = Count(AppendRecords(static_cast<int64_t>(value_size), batch, always), batch);
  auto o = Open(state, always ? FsyncPolicy::kAlways : FsyncPolicy::kInterval, "bench");
  if (!o) return;
  const TopicPartition tp{"bench", 0};
  ValueGenerator gen;
  for (auto _ : state) {
    if (!Fill(state, *o->log, tp, n, batch, value_size, gen, [](int64_t i) { return i; })) return;
  }
  SetRates(state, n, n * static_cast<int64_t>(kKeySize + value_size));
  SetStoredBytes(state, *o->log, tp);
}
BENCHMARK(BM_Append)
    ->ArgNames({"value_size", "batch", "fsync_always"})
    ->ArgsProduct({{100, 1000}, {1, 100, 1000}, {0, 1}})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- sequential read ------------------------------------------------------------
// Both read cases use one log of kReadRecords 100-byte records, filled once
// (batches of 1000, fsync interval; not timed). BM_ReadSeq reads it all from
// offset 0; BM_ReadAfterRetention then removes the first half with
// DeleteRecordsBefore (not timed) and reads the remaining half from the new
// log start. Reads go through the public API, 1000 records per Read() call.
// Counterpart: db_bench fillseq,readseq on the same number of records (one
// raw iterator; a ceiling, not a target).

constexpr int64_t kReadRecords = 1000000;
constexpr size_t kReadValueSize = 100;

struct ReadFixture {
  std::unique_ptr<OpenLog> log;
  int64_t n = 0;
  bool retained = false;
};

ReadFixture& SharedReadLog(benchmark::State& state) {
  static ReadFixture f;
  if (!f.log) {
    f.n = Count(kReadRecords, 1000);
    f.log = Open(state, FsyncPolicy::kInterval, "read");
    if (!f.log) return f;
    ValueGenerator gen;
    if (!Fill(state, *f.log->log, {"read", 0}, f.n, 1000, kReadValueSize, gen, [](int64_t i) { return i; })) {
      f.log.reset();
    }
  }
  return f;
}

// Reads [from, end) through Read(); returns records read, or -1 on error.
int64_t Scan(benchmark::State& state, EmbeddedLog& log, const TopicPartition& tp, Offset from, int64_t* bytes) {
  auto info = log.DescribePartition(tp);
  if (!info.ok()) {
    state.SkipWithError(info.status().ToString().c_str());
    return -1;
  }
  int64_t count = 0;
  Offset next = from;
  while (next < info->end_offset) {
    auto recs = log.Read(tp, next, ReadLimits{1000, 4 << 20});
    if (!recs.ok()) {
      state.SkipWithError(("read: " + recs.status().ToString()).c_str());
      return -1;
    }
    if (recs->empty()) break;
    for (const auto& r : *recs) *bytes += static_cast<int64_t>(r.key.size() + (r.value ? r.value->size() : 0));
    count += static_cast<int64_t>(recs->size());
    next = recs->back().offset + 1;
    benchmark::DoNotOptimize(recs->data());
  }
  return count;
}

void BM_ReadSeq(benchmark::State& state) {
  ReadFixture& f = SharedReadLog(state);
  if (!f.log) return;
  if (f.retained) {
    state.SkipWithError("the shared read log was already trimmed; run ReadSeq before ReadAfterRetention");
    return;
  }
  const TopicPartition tp{"read", 0};
  int64_t records = 0, bytes = 0;
  for (auto _ : state) {
    records = Scan(state, *f.log->log, tp, 0, &bytes);
    if (records < 0) return;
  }
  if (records != f.n) state.SkipWithError("scan returned a different record count than appended");
  SetRates(state, records, bytes);
}
BENCHMARK(BM_ReadSeq)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ReadAfterRetention(benchmark::State& state) {
  ReadFixture& f = SharedReadLog(state);
  if (!f.log) return;
  const TopicPartition tp{"read", 0};
  if (!f.retained) {
    auto del = f.log->log->DeleteRecordsBefore(tp, f.n / 2);
    if (!del.ok()) {
      state.SkipWithError(("DeleteRecordsBefore: " + del.status().ToString()).c_str());
      return;
    }
    f.retained = true;
  }
  auto info = f.log->log->DescribePartition(tp);
  if (!info.ok()) {
    state.SkipWithError(info.status().ToString().c_str());
    return;
  }
  int64_t records = 0, bytes = 0;
  for (auto _ : state) {
    records = Scan(state, *f.log->log, tp, info->log_start_offset, &bytes);
    if (records < 0) return;
  }
  if (records != f.n - f.n / 2) state.SkipWithError("scan after retention returned an unexpected record count");
  SetRates(state, records, bytes);
  state.counters["log_start"] = static_cast<double>(info->log_start_offset);
  f.log.reset();  // last user of the shared log: close it and remove its files
}
BENCHMARK(BM_ReadAfterRetention)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// --- compaction -----------------------------------------------------------------
// Args: number of distinct keys, versions per key. The log holds keys*versions
// 100-byte records (key i % keys, so versions interleave), filled untimed in
// batches of 1000 with fsync interval; the timed part is one Compact(topic),
// which must keep exactly the latest version of each key.
// records_per_s counts records examined (the whole log).

void BM_Compact(benchmark::State& state) {
  const int64_t keys = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(state.range(0)) * Scale()));
  const int64_t versions = state.range(1);
  const int64_t n = keys * versions;
  TopicConfig config;
  config.cleanup_compact = true;
  config.cleanup_delete = false;
  config.min_compaction_lag_ms = 0;
  auto o = Open(state, FsyncPolicy::kInterval, "compact", config);
  if (!o) return;
  const TopicPartition tp{"compact", 0};
  ValueGenerator gen;
  if (!Fill(state, *o->log, tp, n, 1000, 100, gen, [keys](int64_t i) { return i % keys; })) return;
  int64_t removed = 0;
  for (auto _ : state) {
    auto s = o->log->Compact("compact");
    if (!s.ok()) {
      state.SkipWithError(("compact: " + s.status().ToString()).c_str());
      return;
    }
    removed = s->records_removed;
  }
  if (removed != n - keys) state.SkipWithError("compaction removed an unexpected number of records");
  SetRates(state, n, n * static_cast<int64_t>(kKeySize + 100));
  state.counters["records_removed"] = static_cast<double>(removed);
  state.counters["removed_per_s"] = benchmark::Counter(static_cast<double>(removed), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Compact)
    ->ArgNames({"keys", "versions"})
    ->Args({50000, 10})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- memory ---------------------------------------------------------------------
// Peak RSS while appending 10 million 100-byte records in batches of 1000 with
// fsync interval. Run it in a process of its own (--benchmark_filter=BM_AppendRss)
// so that earlier cases do not inflate the figure; the peak is also reset via
// /proc/self/clear_refs before the run where the kernel allows it.
//   peak_rss_mb   VmHWM at the end (MiB), i.e. the process's peak
//   ru_maxrss_mb  getrusage() ru_maxrss (MiB), the same peak as the kernel counts it
//   start_rss_mb / end_rss_mb   VmRSS before and after

double ProcStatusMiB(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::atof(line.c_str() + prefix.size()) / 1024.0;  // kB
  }
  return -1;
}

void BM_AppendRss(benchmark::State& state) {
  const int64_t batch = 1000;
  const int64_t n = Count(state.range(0), batch);
  {
    std::ofstream clear("/proc/self/clear_refs");
    if (clear) clear << "5";  // resets VmHWM to the current RSS
  }
  const double start_rss = ProcStatusMiB("VmRSS");
  auto o = Open(state, FsyncPolicy::kInterval, "rss");
  if (!o) return;
  const TopicPartition tp{"rss", 0};
  ValueGenerator gen;
  for (auto _ : state) {
    if (!Fill(state, *o->log, tp, n, batch, 100, gen, [](int64_t i) { return i; })) return;
  }
  SetRates(state, n, n * static_cast<int64_t>(kKeySize + 100));
  SetStoredBytes(state, *o->log, tp);
  state.counters["start_rss_mb"] = start_rss;
  state.counters["end_rss_mb"] = ProcStatusMiB("VmRSS");
  o.reset();
  state.counters["peak_rss_mb"] = ProcStatusMiB("VmHWM");
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  state.counters["ru_maxrss_mb"] = static_cast<double>(ru.ru_maxrss) / 1024.0;
}
BENCHMARK(BM_AppendRss)->Arg(10000000)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
