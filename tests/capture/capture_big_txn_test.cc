// One source transaction of 1,000,000 rows, captured by `ghostlog run
// --stage capture` and then applied by `ghostlog run --stage sink`, each
// process measured on its own. The server streams the transaction while it is
// still in progress, capture spills it into the changelog and writes it at its
// commit; the sink applies it in pieces into one target transaction. Neither
// holds the transaction in memory, so each peak RSS stays far below its size
// (capture's bound in the issue: 200 MB; the sink, holding the transaction
// whole, used to peak at 735 MiB here). A sink killed (SIGKILL) between
// pieces leaves none of the transaction in the target. Then
// `ghostlog run --stage transform` maps it, in chunks, under the same bound
// (holding its output whole, it peaked at 2,012 MiB here).
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

// The last record of a transaction topic, as the reader sees it now; null if
// there is none yet.
json LastTransaction(log::EmbeddedLog& reader, const std::string& topic) {
  if (!reader.Refresh().ok()) return nullptr;
  auto info = reader.DescribePartition({topic, 0});
  if (!info.ok() || info->end_offset == 0) return nullptr;
  auto last = reader.Read({topic, 0}, info->end_offset - 1);
  if (!last.ok() || last->empty() || !last->back().value) return nullptr;
  return json::parse(*last->back().value);
}

TEST(CaptureBigTransaction, AMillionRowTransactionStaysUnder200MBInCaptureAndInSink) {
  constexpr int64_t kRows = 1'000'000;
  PgCluster pg;
  log::testing::TempDir dir;
  pg.Exec("CREATE TABLE big (id int PRIMARY KEY, payload text)");
  pg.Exec("CREATE DATABASE target");
  pg.ExecIn("target", "CREATE TABLE big (id int PRIMARY KEY, payload text)");
  const std::string config = dir.sub("ghostlog.toml");
  std::ofstream(config) << "data_dir = \"" << dir.sub("data") << "\"\n[http]\nlisten = \"\"\n[source]\ndsn = \""
                        << pg.dsn() << "\"\nheartbeat_interval = \"1s\"\n[sink]\ndsn = \"" << pg.DsnOf("target")
                        << "\"\n";
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
        end = LastTransaction(*reader, "v2.transaction");
        return end.is_object() && end["status"] == "END";
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
  std::cout << "[ big txn ] " << kRows << " rows: capture peak RSS " << (rss_peak >> 20) << " MiB (idle "
            << (rss_idle >> 20) << " MiB)\n";
  ASSERT_GT(rss_peak, 0);
  EXPECT_LT(rss_peak, int64_t{200} << 20);
  EXPECT_EQ(daemon.Term(), 0) << daemon.Tail();
  reader.reset();

  // kill -9 while the sink is between pieces: the target holds none of it.
  {
    Daemon first(config, dir.sub("ghostlog.log"), "sink");
    first.Start();
    ASSERT_TRUE(WaitFor(
        [&] {
          std::ifstream in(dir.sub("data") + "/status.json");
          const json st = json::parse(in, nullptr, false);
          const auto pieces = json::json_pointer("/stages/sink/early_pieces");
          return st.is_object() && st.contains(pieces) && st.at(pieces).is_number() && st.at(pieces).get<int>() > 0;
        },
        std::chrono::seconds(120)))
        << first.Tail();
    first.Kill();
    EXPECT_EQ(pg.ValueIn("target", "SELECT count(*) FROM big"), "0") << "part of the transaction is visible";
  }
  Daemon sink(config, dir.sub("ghostlog.log"), "sink");
  sink.Start();
  ASSERT_TRUE(WaitFor([&] { return pg.ValueIn("target", "SELECT count(*) FROM big") == std::to_string(kRows); },
                      std::chrono::seconds(240)))
      << sink.Tail();
  const int64_t sink_peak = PeakRss(sink.pid());
  RecordProperty("sink_rss_peak_mb", std::to_string(sink_peak >> 20));
  std::cout << "[ big txn ] " << kRows << " rows: sink peak RSS " << (sink_peak >> 20) << " MiB\n";
  ASSERT_GT(sink_peak, 0);
  EXPECT_LT(sink_peak, int64_t{200} << 20);
  EXPECT_EQ(pg.ValueIn("target", "SELECT count(*) FROM big WHERE payload = md5(id::text)"), std::to_string(kRows));
  EXPECT_EQ(sink.Term(), 0) << sink.Tail();

  // The transform maps it (an identity mapping) in chunks, into one output
  // transaction; it used to hold the whole output in memory.
  std::filesystem::create_directories(dir.sub("maps"));
  std::ofstream(dir.sub("maps/big.toml")) << "source = \"public.big\"\ntarget = \"public.big\"\nkey = [\"id\"]\n"
                                             "[columns]\nid = \"id\"\npayload = \"payload\"\n";
  const std::string transform_config = dir.sub("transform.toml");
  std::ofstream(transform_config) << "data_dir = \"" << dir.sub("data") << "\"\n[http]\nlisten = \"\"\n[transform]\n"
                                  << "mappings = \"" << dir.sub("maps") << "\"\n";
  Daemon transform(transform_config, dir.sub("ghostlog.log"), "transform");
  transform.Start();
  o.mode = log::OpenMode::kReader;
  reader = log::testing::Must(log::EmbeddedLog::Open(o));
  json out;
  ASSERT_TRUE(WaitFor(
      [&] {
        out = LastTransaction(*reader, "v3.transaction");
        return out.is_object();
      },
      std::chrono::seconds(300)))
      << transform.Tail();
  const int64_t transform_peak = PeakRss(transform.pid());
  RecordProperty("transform_rss_peak_mb", std::to_string(transform_peak >> 20));
  std::cout << "[ big txn ] " << kRows << " rows: transform peak RSS " << (transform_peak >> 20) << " MiB\n";
  EXPECT_EQ(out["event_count"], kRows);
  EXPECT_EQ(log::testing::Must(reader->DescribePartition({"v3.transaction", 0})).end_offset, 1)
      << "one output transaction";
  EXPECT_NE(transform.Tail().find("writing that transaction in chunks"), std::string::npos) << transform.Tail();
  ASSERT_GT(transform_peak, 0);
  EXPECT_LT(transform_peak, int64_t{200} << 20);
  EXPECT_EQ(transform.Term(), 0) << transform.Tail();
}

}  // namespace
}  // namespace ghostlog::capture::testing
