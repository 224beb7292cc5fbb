// One source transaction of 1,000,000 rows through `ghostlog run --stage
// capture`: it is streamed by the server while still in progress, spilled
// into the changelog, and written at its commit, so the daemon's peak RSS
// stays far below the transaction's size (the bound: 200 MB).
#include <fstream>

#include "capture_harness.h"
#include "daemon_process.h"

namespace ghostlog::capture::testing {
namespace {

// Peak resident set of a process (VmHWM), in bytes; -1 if unreadable.
int64_t PeakRss(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

TEST(CaptureBigTransaction, AMillionRowTransactionStaysUnder200MB) {
  constexpr int64_t kRows = 1'000'000;
  PgCluster pg;
  log::testing::TempDir dir;
  pg.Exec("CREATE TABLE big (id int PRIMARY KEY, payload text)");
  const std::string config = dir.sub("ghostlog.toml");
  std::ofstream(config) << "data_dir = \"" << dir.sub("data") << "\"\n[http]\nlisten = \"\"\n[source]\ndsn = \""
                        << pg.dsn() << "\"\nheartbeat_interval = \"1s\"\n";
  Daemon daemon(config, dir.sub("ghostlog.log"));
  daemon.Start();
  ASSERT_TRUE(daemon.WaitForLog("capture: streaming from slot", 1)) << daemon.Tail();
  const int64_t rss_idle = PeakRss(daemon.pid());

  pg.Exec("INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, " + std::to_string(kRows) + ") g");

  log::EmbeddedLogOptions o;
  o.data_dir = dir.sub("data");
  o.mode = log::OpenMode::kReader;
  auto reader = log::testing::Must(log::EmbeddedLog::Open(o));
  json end;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (!reader->Refresh().ok()) return false;
        auto info = reader->DescribePartition({"v2.transaction", 0});
        if (!info.ok() || info->end_offset == 0) return false;
        auto last = reader->Read({"v2.transaction", 0}, info->end_offset - 1);
        if (!last.ok() || last->empty() || !last->back().value) return false;
        end = json::parse(*last->back().value);
        return end["status"] == "END";
      },
      std::chrono::seconds(240)))
      << daemon.Tail();
  const int64_t rss_peak = PeakRss(daemon.pid());
  EXPECT_EQ(end["event_count"], kRows);
  auto table = log::testing::Must(reader->DescribePartition({"v2.public.big", 0}));
  EXPECT_EQ(table.records, kRows);
  auto spill = log::testing::Must(reader->DescribePartition({"__ghostlog.capture.ghostlog.spill", 0}));
  EXPECT_GT(spill.end_offset, 0) << "the transaction was not streamed in progress (not spilled)";
  RecordProperty("rss_idle_mb", std::to_string(rss_idle >> 20));
  RecordProperty("rss_peak_mb", std::to_string(rss_peak >> 20));
  std::cout << "[ big txn ] " << kRows << " rows: daemon peak RSS " << (rss_peak >> 20) << " MiB (idle "
            << (rss_idle >> 20) << " MiB)\n";
  ASSERT_GT(rss_peak, 0);
  EXPECT_LT(rss_peak, int64_t{200} << 20);
  EXPECT_EQ(daemon.Term(), 0) << daemon.Tail();
}

}  // namespace
}  // namespace ghostlog::capture::testing
