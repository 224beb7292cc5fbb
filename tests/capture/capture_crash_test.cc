// `ghostlog run --stage capture` SIGKILLed at random moments during the
// snapshot and during streaming: afterwards the changelog holds the source's
// history exactly once, and the slot never confirmed more than the changelog
// had made durable.
#include <atomic>
#include <random>
#include <set>

#include "capture_harness.h"
#include "daemon_process.h"

namespace ghostlog::capture::testing {
namespace {

// Offsets of each topic that committed transactions (and snapshot chunks)
// cover; ranges a crash left behind are listed as ABORTED and excluded.
struct CommittedView {
  std::map<std::string, std::set<log::Offset>> committed, aborted;
};

CommittedView ReadCommitted(log::Changelog& log) {
  CommittedView v;
  for (const auto& r : ReadTopic(log, "v2.transaction")) {
    json t = json::parse(*r.value);
    auto& into = t["status"] == "ABORTED" ? v.aborted : v.committed;
    for (const auto& range : t["ranges"]) {
      for (log::Offset o = range["first"]; o <= range["last"].get<log::Offset>(); ++o) into[range["topic"]].insert(o);
    }
  }
  return v;
}

TEST(CaptureCrash, KillNineDuringSnapshotAndStreamingLosesAndDuplicatesNothing) {
  PgCluster pg;
  log::testing::TempDir dir;
  pg.Exec("CREATE TABLE big (id int PRIMARY KEY, payload text)");
  pg.Exec("INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 40000) g");
  pg.Exec("CREATE TABLE events (id bigint PRIMARY KEY, k int)");
  pg.Exec("CREATE TABLE counters (id int PRIMARY KEY, v bigint)");
  pg.Exec("INSERT INTO counters SELECT g, 0 FROM generate_series(0, 9) g");
  const std::string config = dir.sub("ghostlog.toml");
  std::ofstream(config) << "data_dir = \"" << dir.sub("data") << "\"\n[http]\nlisten = \"\"\n[source]\ndsn = \""
                        << pg.dsn()
                        << "\"\nsnapshot_chunk_rows = 200\nsnapshot_readers = 2\nheartbeat_interval = \"200ms\"\n";
  Daemon daemon(config, dir.sub("ghostlog.log"));
  std::mt19937 rng(20261125);
  auto kills = 0;

  // Confirmed-to-source must never exceed what the changelog holds.
  auto check_slot = [&] {
    const std::string slot_lsn = pg.Value("SELECT confirmed_flush_lsn FROM pg_replication_slots");
    if (slot_lsn.empty() || slot_lsn == "\\N") return;
    log::EmbeddedLogOptions o;
    o.data_dir = dir.sub("data");
    o.cleanup_interval = std::chrono::milliseconds(0);
    auto log = log::testing::Must(log::EmbeddedLog::Open(o));
    auto cp = log->ReadCheckpoint("capture.ghostlog");
    ASSERT_TRUE(cp.ok()) << "slot exists but no checkpoint: " << cp.status().ToString();
    const std::string durable = json::parse(*cp)["lsn"];
    auto parse = [](const std::string& s) {
      const auto slash = s.find('/');
      return (std::stoull(s.substr(0, slash), nullptr, 16) << 32) | std::stoull(s.substr(slash + 1), nullptr, 16);
    };
    EXPECT_LE(parse(slot_lsn), parse(durable)) << "slot confirmed " << slot_lsn << " beyond the changelog's " << durable;
  };

  // Phase 1: kills during the snapshot (40000 rows in 200 chunks), at a random
  // moment after it began, until it completes (a fast machine finishes it in
  // a few runs).
  for (int i = 0; i < 5 && daemon.CountLog("capture: snapshot complete") == 0; ++i) {
    daemon.Start();
    ASSERT_TRUE(WaitFor([&] {
      return daemon.CountLog("capture: snapshot of 3 tables") >= i + 1 || daemon.CountLog("capture: snapshot complete") > 0;
    })) << daemon.Tail();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<>(0, 200)(rng)));
    daemon.Kill();
    ++kills;
    check_slot();
  }
  EXPECT_GE(daemon.CountLog("resuming the interrupted snapshot"), 1) << "no kill landed inside the snapshot";
  // Phase 2: kills while a workload streams.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> committed{0};
  std::thread workload([&] {
    for (int64_t k = 1; !stop; ++k) {
      pg.Exec("BEGIN; INSERT INTO events VALUES (" + std::to_string(k) + ", " + std::to_string(k % 10) +
              "); UPDATE counters SET v = " + std::to_string(k) + " WHERE id = " + std::to_string(k % 10) + "; COMMIT");
      committed = k;
    }
  });
  while (kills < 12) {
    daemon.Start();
    ASSERT_TRUE(daemon.WaitForLog("ghostlog 0.1.0 running", kills + 1)) << daemon.Tail();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<>(100, 1200)(rng)));
    daemon.Kill();
    ++kills;
    check_slot();
  }
  stop = true;
  workload.join();
  const int64_t n = committed;
  // Let it catch up, then stop cleanly.
  daemon.Start();
  {
    log::EmbeddedLogOptions o;
    o.data_dir = dir.sub("data");
    o.mode = log::OpenMode::kReader;
    std::unique_ptr<log::EmbeddedLog> reader;
    ASSERT_TRUE(WaitFor([&] {
      if (!reader) {
        auto r = log::EmbeddedLog::Open(o);
        if (!r.ok()) return false;
        reader = std::move(r).value();
      }
      if (!reader->Refresh().ok()) return false;
      auto view = ReadCommitted(*reader);
      int64_t creates = 0;
      for (const auto& r : ReadTopic(*reader, "v2.public.events")) {
        creates += r.value && view.committed["v2.public.events"].count(r.offset) && json::parse(*r.value)["op"] == "c";
      }
      return creates >= n;
    }, std::chrono::seconds(60))) << daemon.Tail();
  }
  EXPECT_EQ(daemon.Term(), 0) << daemon.Tail();
  check_slot();
  EXPECT_GE(kills, 10);

  log::EmbeddedLogOptions o;
  o.data_dir = dir.sub("data");
  o.cleanup_interval = std::chrono::milliseconds(0);
  auto log = log::testing::Must(log::EmbeddedLog::Open(o));
  EXPECT_TRUE(log::testing::Must(log->Verify()).ok());
  const CommittedView view = ReadCommitted(*log);

  // The snapshot: every row exactly once.
  std::map<int, int> snapshot_rows;
  for (const auto& r : ReadTopic(*log, "v2.public.big")) {
    if (!view.committed.at("v2.public.big").count(r.offset)) {
      EXPECT_TRUE(view.aborted.count("v2.public.big") && view.aborted.at("v2.public.big").count(r.offset))
          << "record at offset " << r.offset << " is neither committed nor aborted";
      continue;
    }
    json v = json::parse(*r.value);
    EXPECT_EQ(v["op"], "r");
    ++snapshot_rows[v["after"]["id"].get<int>()];
  }
  EXPECT_EQ(snapshot_rows.size(), 40000u);
  for (const auto& [id, count] : snapshot_rows) ASSERT_EQ(count, 1) << "snapshot row " << id;

  // The stream: every source transaction exactly once, in commit order.
  std::vector<int64_t> inserted;
  std::map<int, std::vector<int64_t>> counter_values;
  for (const std::string topic : {"v2.public.events", "v2.public.counters"}) {
    for (const auto& r : ReadTopic(*log, topic)) {
      if (!r.value || !view.committed.count(topic) || !view.committed.at(topic).count(r.offset)) continue;
      json v = json::parse(*r.value);
      if (topic == "v2.public.events" && v["op"] == "c") inserted.push_back(v["after"]["id"]);
      if (topic == "v2.public.counters" && v["op"] == "u") counter_values[v["after"]["id"]].push_back(v["after"]["v"]);
    }
  }
  std::map<std::string, int> all_ops;
  for (const auto& r : ReadTopic(*log, "v2.public.events")) {
    all_ops[r.value ? json::parse(*r.value)["op"].get<std::string>() : "tombstone"]++;
  }
  std::string summary;
  for (const auto& [op, c] : all_ops) summary += op + "=" + std::to_string(c) + " ";
  std::set<int64_t> got(inserted.begin(), inserted.end());
  std::string missing;
  for (int64_t k = 1; k <= n; ++k) {
    if (!got.count(k)) missing += std::to_string(k) + " ";
  }
  std::string r_ids;
  for (const auto& r : ReadTopic(*log, "v2.public.events")) {
    if (r.value && json::parse(*r.value)["op"] == "r") r_ids += std::to_string(json::parse(*r.value)["after"]["id"].get<int64_t>()) + " ";
  }
  ASSERT_EQ(static_cast<int64_t>(inserted.size()), n) << "all events records: " << summary << "\nmissing: " << missing
                                                      << "\nsnapshot ids: " << r_ids << "\n" << daemon.Tail();
  for (int64_t k = 1; k <= n; ++k) ASSERT_EQ(inserted[k - 1], k);
  for (int id = 0; id < 10; ++id) {
    std::vector<int64_t> want;
    for (int64_t k = 1; k <= n; ++k) {
      if (k % 10 == id) want.push_back(k);
    }
    EXPECT_EQ(counter_values[id], want) << "counter " << id;
  }
}

}  // namespace
}  // namespace ghostlog::capture::testing
