// Crash test: runs crash_child (concurrent appends with fsync kAlways) and
// kills it with SIGKILL at random moments, 25 times on the same data dir:
// every third run 20-400 ms after fork (some only 20-60 ms: while RocksDB
// opens or the topic is created), the others 20-400 ms after the child's
// first acknowledged batch (during heavy appends).
// After each kill the test opens the log itself and checks:
//   - Verify() reports no problem;
//   - every acknowledged batch (all runs so far) is present and intact: its
//     records sit at the acknowledged offsets, form exactly that batch, and
//     pass their checksum and content check;
//   - offsets of every partition are contiguous from 0 to the end (nothing
//     compacts or deletes), DescribePartition agrees with what Read returns;
//   - the end offset is >= every acknowledged end;
//   - every batch is all-or-nothing: for each batch id present, all of its
//     records are present, consecutive, with indexes 0..n-1;
//   - the committed offset of each partition is >= the last acknowledged
//     commit and <= the end offset.
//
// Seed: GHOSTLOG_CRASH_SEED (default: time based, printed on failure).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#define GHOSTLOG_CRASH_CHILD_NO_MAIN
#include "crash_child.cc"
#include "test_util.h"

#ifndef GHOSTLOG_CRASH_CHILD
#error "GHOSTLOG_CRASH_CHILD must name the crash_child executable"
#endif

namespace ghostlog::log {
namespace {

struct Ack {
  PartitionId p;
  Offset first;
  int64_t count;
};

struct ChildRun {
  std::vector<Ack> acks;
  std::map<PartitionId, Offset> commits;  // last acknowledged commit per partition
  int signal = 0;                         // what ended the child
  int exit_code = -1;
  int lines = 0;
  int first_ack_ms = -1;  // when the first ack arrived, if the kill waited for it
  std::string garbage;  // unparseable output
};

// Parses complete lines from `buf`, keeping a trailing partial line.
void ParseLines(std::string* buf, ChildRun* run) {
  size_t pos;
  while ((pos = buf->find('\n')) != std::string::npos) {
    const std::string line = buf->substr(0, pos);
    buf->erase(0, pos + 1);
    std::istringstream in(line);
    ++run->lines;
    if (line.rfind("commit ", 0) == 0) {
      std::string word;
      PartitionId p;
      Offset o;
      if (in >> word >> p >> o) {
        run->commits[p] = std::max(run->commits.count(p) ? run->commits[p] : 0, o);
        continue;
      }
    } else {
      Ack a;
      if (in >> a.p >> a.first >> a.count) {
        run->acks.push_back(a);
        continue;
      }
    }
    run->garbage += line + "\n";
  }
}

// Runs the child until `delay` has passed, then SIGKILLs it and drains its output.
// With `after_first_ack`, the delay starts at the child's first acknowledged
// batch (so that the kill lands during heavy appends, not while RocksDB opens);
// otherwise it starts at fork.
ChildRun RunAndKill(const std::string& dir, uint64_t seed, std::chrono::milliseconds delay, bool after_first_ack) {
  ChildRun run;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return run;
  }
  const std::string seed_s = std::to_string(seed);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return run;
  }
  if (pid == 0) {
    ::dup2(fds[1], 1);  // dup2 clears O_CLOEXEC on fd 1
    char* const argv[] = {const_cast<char*>(GHOSTLOG_CRASH_CHILD), const_cast<char*>(dir.c_str()),
                          const_cast<char*>(seed_s.c_str()), nullptr};
    ::execv(GHOSTLOG_CRASH_CHILD, argv);
    _exit(127);
  }
  ::close(fds[1]);
  const auto started = std::chrono::steady_clock::now();
  // Waiting for a first ack is capped, in case the child never gets that far.
  auto deadline = after_first_ack ? started + std::chrono::seconds(10) : started + delay;
  bool armed = !after_first_ack;
  std::string buf;
  char chunk[65536];
  bool eof = false;
  while (!eof) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fds[0], POLLIN, 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc <= 0) continue;
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) {
      eof = true;  // the child died on its own
    } else {
      buf.append(chunk, static_cast<size_t>(n));
      ParseLines(&buf, &run);
      if (!armed && !run.acks.empty()) {
        armed = true;
        run.first_ack_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - started)
                                                .count());
        deadline = std::chrono::steady_clock::now() + delay;
      }
    }
  }
  ::kill(pid, SIGKILL);
  // Whatever the child acknowledged before it died is still in the pipe.
  for (;;) {
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
  }
  ParseLines(&buf, &run);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (!buf.empty()) run.garbage += "[partial last line] " + buf;  // writes are single write(2) calls
  return run;
}

const Header* FindHeader(const Record& r, const std::string& key) {
  for (const auto& h : r.headers) {
    if (h.key == key) return &h;
  }
  return nullptr;
}

struct Stats {
  int64_t records = 0;
  int64_t bytes = 0;
  int64_t batches = 0;
};

// Everything the test process checks after a kill.
void CheckAfterKill(const std::string& dir, const std::vector<Ack>& acks, const std::map<PartitionId, Offset>& commits,
                    Stats* stats) {
  EmbeddedLogOptions o;
  o.data_dir = dir;
  o.mode = OpenMode::kWriter;
  o.fsync = FsyncPolicy::kAlways;
  o.cleanup_interval = std::chrono::milliseconds(0);
  o.create_if_missing = false;
  auto opened = EmbeddedLog::Open(o);
  ASSERT_TRUE(opened.ok()) << "reopening after the kill: " << opened.status().ToString();
  std::unique_ptr<EmbeddedLog> log = std::move(opened).value();

  auto v = log->Verify();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  for (const auto& p : v->problems) ADD_FAILURE() << "Verify: " << p;

  auto topic = log->DescribeTopic(crash::kTopic);
  if (!topic.ok()) {
    ASSERT_TRUE(topic.status().IsNotFound()) << topic.status().ToString();
    EXPECT_TRUE(acks.empty()) << "the topic is gone although " << acks.size() << " batches were acknowledged";
    EXPECT_TRUE(commits.empty());
    return;
  }
  ASSERT_EQ(topic->partitions, crash::kPartitions);

  for (PartitionId p = 0; p < crash::kPartitions; ++p) {
    const TopicPartition tp{crash::kTopic, p};
    auto info = log->DescribePartition(tp);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->log_start_offset, 0) << "partition " << p << ": nothing deletes, yet the log start moved";
    const Offset end = info->end_offset;

    // Read everything; offsets must be exactly 0..end-1.
    std::vector<std::string> batch_of(static_cast<size_t>(end));
    std::vector<int> index_of(static_cast<size_t>(end), -1);
    std::map<std::string, std::vector<std::pair<Offset, int>>> batches;  // id -> (offset, index)
    std::map<std::string, int> batch_size;
    Offset next = 0;
    while (next < end) {
      auto rr = log->Read(tp, next, ReadLimits{2000, 16 << 20});
      ASSERT_TRUE(rr.ok()) << "partition " << p << " read from " << next << ": " << rr.status().ToString();
      ASSERT_FALSE(rr->empty()) << "partition " << p << ": Read(" << next << ") is empty below the end " << end;
      for (const Record& r : *rr) {
        ASSERT_EQ(r.offset, next) << "partition " << p << ": offsets are not contiguous (gap before " << r.offset
                                  << ")";
        ++next;
        const Header* b = FindHeader(r, "b");
        const Header* i = FindHeader(r, "i");
        const Header* n = FindHeader(r, "n");
        const Header* c = FindHeader(r, "c");
        ASSERT_TRUE(b && i && n && c && r.value) << "partition " << p << " offset " << r.offset
                                                 << ": record lacks its batch headers";
        EXPECT_EQ(c->value, crash::Checksum(r.key, *r.value, b->value, i->value, n->value))
            << "partition " << p << " offset " << r.offset << ": record fails its checksum";
        const int idx = std::atoi(i->value.c_str());
        EXPECT_EQ(*r.value, crash::Payload(b->value, idx, r.value->size()))
            << "partition " << p << " offset " << r.offset << ": value content is wrong";
        batch_of[r.offset] = b->value;
        index_of[r.offset] = idx;
        batches[b->value].emplace_back(r.offset, idx);
        batch_size[b->value] = std::atoi(n->value.c_str());
        stats->bytes += static_cast<int64_t>(r.value->size());
      }
      if (::testing::Test::HasFatalFailure()) return;
    }
    EXPECT_EQ(info->records, end) << "partition " << p << ": DescribePartition.records vs contiguous offsets";
    stats->records += end;

    // All or nothing: every batch present is complete and consecutive.
    for (const auto& [id, members] : batches) {
      const int n = batch_size[id];
      EXPECT_EQ(static_cast<int>(members.size()), n)
          << "partition " << p << ": batch " << id << " has " << members.size() << " of its " << n
          << " records (first at offset " << members.front().first << ") - half-written";
      for (size_t k = 0; k < members.size(); ++k) {
        EXPECT_EQ(members[k].second, static_cast<int>(k)) << "partition " << p << " batch " << id;
        EXPECT_EQ(members[k].first, members.front().first + static_cast<Offset>(k))
            << "partition " << p << " batch " << id << " is not consecutive";
      }
    }

    stats->batches += static_cast<int64_t>(batches.size());

    // Every acknowledged batch of this partition is there, exactly.
    for (const Ack& a : acks) {
      if (a.p != p) continue;
      ASSERT_LE(a.first + a.count, end) << "partition " << p << ": acknowledged batch [" << a.first << ", "
                                        << a.first + a.count << ") is beyond the end " << end << " - lost";
      const std::string& id = batch_of[a.first];
      EXPECT_EQ(index_of[a.first], 0) << "partition " << p << ": acknowledged batch does not start at " << a.first;
      EXPECT_EQ(batch_size[id], a.count) << "partition " << p << " offset " << a.first;
      for (Offset q = a.first; q < a.first + a.count; ++q) {
        EXPECT_EQ(batch_of[q], id) << "partition " << p << " offset " << q << " is not part of batch " << id;
      }
    }

    // Committed offsets.
    auto cit = commits.find(p);
    auto c = log->Committed(crash::kGroup, tp);
    if (cit != commits.end()) {
      ASSERT_TRUE(c.ok()) << "partition " << p << ": acknowledged commit " << cit->second
                          << " is gone: " << c.status().ToString();
      EXPECT_GE(c->offset, cit->second) << "partition " << p << ": committed offset went back";
    }
    if (c.ok()) {
      EXPECT_LE(c->offset, end) << "partition " << p << ": committed beyond the end";
    }
  }
}

TEST(CrashTest, SigkillDuringAppendsLosesNothingAcknowledged) {
  uint64_t seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  if (const char* s = std::getenv("GHOSTLOG_CRASH_SEED")) seed = std::strtoull(s, nullptr, 10);
  SCOPED_TRACE("GHOSTLOG_CRASH_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  testing::TempDir tmp;
  const std::string dir = tmp.sub("data");

  constexpr int kRuns = 25;
  std::vector<Ack> acks;                // across all runs
  std::map<PartitionId, Offset> commits;  // highest acknowledged per partition
  const auto t0 = std::chrono::steady_clock::now();
  int64_t total_acks = 0;
  int64_t acked_batches_total = 0;
  for (int run = 0; run < kRuns; ++run) {
    // A mix of kills right after start (while opening / creating the topic)
    // and kills during heavy appends.
    // Every third run counts the delay from fork (kills while opening, creating
    // the topic, or at the first appends; some delays are very short), the
    // others from the first acknowledged batch (kills during heavy appends).
    const bool after_ack = run % 3 != 0;
    const int delay_ms = run % 6 == 3 ? 20 + static_cast<int>(rng() % 40) : 20 + static_cast<int>(rng() % 381);
    const uint64_t child_seed = seed * 100 + static_cast<uint64_t>(run);
    SCOPED_TRACE("run " + std::to_string(run) + " child seed " + std::to_string(child_seed) + " killed after " +
                 std::to_string(delay_ms) + (after_ack ? " ms after its first ack" : " ms after fork"));
    ChildRun r = RunAndKill(dir, child_seed, std::chrono::milliseconds(delay_ms), after_ack);
    ASSERT_EQ(r.signal, SIGKILL) << "crash_child ended on its own (exit code " << r.exit_code
                                 << ", see its stderr above)";
    EXPECT_TRUE(r.garbage.empty()) << "unparseable child output: " << r.garbage;
    if (after_ack) {
      EXPECT_GE(r.first_ack_ms, 0) << "crash_child acknowledged nothing within 10 s";
    }
    acks.insert(acks.end(), r.acks.begin(), r.acks.end());
    total_acks += static_cast<int64_t>(r.acks.size());
    for (const auto& [p, o] : r.commits) commits[p] = std::max(commits[p], o);
    Stats stats;
    CheckAfterKill(dir, acks, commits, &stats);
    acked_batches_total = static_cast<int64_t>(acks.size());
    std::printf("run %2d: killed %3d ms after %-9s %4zu batches, %zu commits acked; log holds %lld batches "
                "(%lld never acked), %lld records, %.1f MB\n",
                run, delay_ms, after_ack ? "first ack" : "fork", r.acks.size(), r.commits.size(),
                static_cast<long long>(stats.batches), static_cast<long long>(stats.batches - acked_batches_total),
                static_cast<long long>(stats.records), static_cast<double>(stats.bytes) / 1e6);
    std::fflush(stdout);
    if (::testing::Test::HasFailure()) return;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%d kills, %lld acknowledged batches, %.1f s\n", kRuns, static_cast<long long>(total_acks), secs);
  EXPECT_GT(total_acks, 0) << "the child never acknowledged anything; the test tested nothing";
}

}  // namespace
}  // namespace ghostlog::log
