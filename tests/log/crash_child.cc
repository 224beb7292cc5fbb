// crash_child DATA_DIR SEED: appends to topic "crash" from several threads
// until it is killed. Used by crash_test.cc.
//
// Opens DATA_DIR as the writer (fsync kAlways), creates topic "crash" with
// 3 partitions if missing, then 2-4 threads append batches of 1-50 records
// with values of 10 B to 20 KB. Each record carries its batch membership in
// its headers and a checksum of itself:
//   key   "<thread>-<seq>-<index>"
//   value deterministic bytes of (batch id, index), 10 B..20 KB
//   headers b=<batch id "seed:thread:seq">, i=<index>, n=<batch size>,
//           c=<FNV-1a 64 of key, value, b, i, n as 16 hex digits>
// After each acknowledged Append it writes "P FIRST COUNT\n" to fd 1 with one
// write(2); after each acknowledged commit of group "cg" it writes
// "commit P OFFSET\n". Commits are serialized and never go backwards, so the
// last "commit" line of a partition is the highest acknowledged commit.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ghostlog/log/embedded_log.h"

// --- record format, shared with crash_test.cc (which includes this file with
// GHOSTLOG_CRASH_CHILD_NO_MAIN defined) ----------------------------------------

namespace ghostlog::log::crash {

inline constexpr const char* kTopic = "crash";
inline constexpr int32_t kPartitions = 3;
inline constexpr const char* kGroup = "cg";

inline uint64_t Fnv(uint64_t h, const std::string& s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // Separator, so that ("ab","c") and ("a","bc") differ.
  h ^= 0xff;
  h *= 1099511628211ULL;
  return h;
}

inline std::string Checksum(const std::string& key, const std::string& value, const std::string& b,
                            const std::string& i, const std::string& n) {
  uint64_t h = 1469598103934665603ULL;
  for (const std::string* s : {&key, &value, &b, &i, &n}) h = Fnv(h, *s);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Deterministic content of record `index` of batch `batch_id`.
inline std::string Payload(const std::string& batch_id, int index, size_t size) {
  std::mt19937_64 rng(Fnv(static_cast<uint64_t>(index) * 0x9e3779b97f4a7c15ULL + 1, batch_id));
  std::string v(size, '\0');
  for (size_t k = 0; k < size; k += 8) {
    uint64_t x = rng();
    for (size_t j = 0; j < 8 && k + j < size; ++j) v[k + j] = static_cast<char>(x >> (8 * j));
  }
  return v;
}

inline RecordIn MakeRecord(const std::string& key, const std::string& batch_id, int index, int n, size_t size) {
  RecordIn r;
  r.key = key;
  r.value = Payload(batch_id, index, size);
  const std::string is = std::to_string(index), ns = std::to_string(n);
  r.headers = {{"b", batch_id}, {"i", is}, {"n", ns}, {"c", Checksum(key, *r.value, batch_id, is, ns)}};
  return r;
}

}  // namespace ghostlog::log::crash

#ifndef GHOSTLOG_CRASH_CHILD_NO_MAIN

using namespace ghostlog::log;

namespace {

void WriteLine(const std::string& line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(1, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(3);  // the parent went away
    p += n;
    left -= static_cast<size_t>(n);
  }
}

[[noreturn]] void Die(const std::string& what, const ghostlog::Status& s) {
  std::fprintf(stderr, "crash_child: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::_Exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_child DATA_DIR SEED\n");
    return 2;
  }
  const std::string dir = argv[1];
  const uint64_t seed = std::strtoull(argv[2], nullptr, 10);

  EmbeddedLogOptions o;
  o.data_dir = dir;
  o.mode = OpenMode::kWriter;
  o.fsync = FsyncPolicy::kAlways;
  o.cleanup_interval = std::chrono::milliseconds(0);
  auto opened = EmbeddedLog::Open(o);
  if (!opened.ok()) Die("open", opened.status());
  std::unique_ptr<EmbeddedLog> log = std::move(opened).value();

  ghostlog::Status s = log->CreateTopic(crash::kTopic, crash::kPartitions, TopicConfig{});
  if (!s.ok() && s.code() != ghostlog::Status::Code::kAlreadyExists) Die("create topic", s);

  // Commits never go backwards, across runs too: start from what is stored.
  std::mutex commit_mu;
  std::vector<Offset> committed(crash::kPartitions, 0);
  for (PartitionId p = 0; p < crash::kPartitions; ++p) {
    auto c = log->Committed(crash::kGroup, {crash::kTopic, p});
    if (c.ok()) committed[p] = c->offset;
  }

  const int threads = 2 + static_cast<int>(seed % 3);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(t));
      for (uint64_t seq = 0;; ++seq) {
        const PartitionId p = static_cast<PartitionId>(rng() % crash::kPartitions);
        const int n = 1 + static_cast<int>(rng() % 50);
        const std::string batch_id = std::to_string(seed) + ":" + std::to_string(t) + ":" + std::to_string(seq);
        std::vector<RecordIn> batch;
        batch.reserve(n);
        for (int i = 0; i < n; ++i) {
          // Log-uniform size between 10 B and 20 KB.
          const double u = static_cast<double>(rng() % 1000000) / 1000000.0;
          const size_t size = static_cast<size_t>(10.0 * std::pow(2000.0, u));
          batch.push_back(crash::MakeRecord(std::to_string(t) + "-" + std::to_string(seq) + "-" + std::to_string(i),
                                            batch_id, i, n, size));
        }
        auto r = log->Append({crash::kTopic, p}, std::move(batch));
        if (!r.ok()) Die("append", r.status());
        const Offset first = r->front();
        WriteLine(std::to_string(p) + " " + std::to_string(first) + " " + std::to_string(n) + "\n");
        if (rng() % 8 == 0) {
          std::lock_guard l(commit_mu);
          const Offset target = std::max(committed[p], first + n);
          CommittedOffset c;
          c.offset = target;
          c.metadata = batch_id;
          ghostlog::Status cs = log->CommitOffsets(crash::kGroup, {{{crash::kTopic, p}, c}});
          if (!cs.ok()) Die("commit", cs);
          committed[p] = target;
          WriteLine("commit " + std::to_string(p) + " " + std::to_string(target) + "\n");
        }
      }
    });
  }
  for (auto& th : ts) th.join();  // never: the parent kills us
  return 0;
}

#endif  // GHOSTLOG_CRASH_CHILD_NO_MAIN
