// A full data dir: the daemon pauses (every stage stops, nothing more is
// confirmed to the source, /health says why) instead of exiting, and resumes
// by itself when space returns, with nothing lost or doubled. The data dir is
// a small tmpfs mounted by the test, so this needs root with mount rights
// (CI has them); elsewhere the test is skipped and says why.
#include <sys/mount.h>

#include <cstring>

#include "e2e/e2e_harness.h"

namespace ghostlog::e2e {
namespace {

class Mount {
 public:
  Mount(std::string dir, const std::string& size) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    ok_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, ("size=" + size + ",mode=0700").c_str()) == 0;
    error_ = ok_ ? "" : std::strerror(errno);
  }
  ~Mount() {
    if (ok_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool Resize(const std::string& size) {
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size + ",mode=0700").c_str()) == 0;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_, error_;
  bool ok_ = false;
};

TEST(DiskFull, ThePipelinePausesAndResumesWhenSpaceReturns) {
  Bench b;
  Mount data(b.dir().sub("data"), "40m");
  if (!data.ok()) GTEST_SKIP() << "cannot mount a tmpfs for the data dir (" << data.error() << "); needs root";
  CreateSchema(b);
  b.BothExec("CREATE TABLE blobs (id int PRIMARY KEY, payload text)");
  SeedSource(b.source, 200);
  ASSERT_TRUE(b.StartHealthy());
  ASSERT_TRUE(b.CatchUp());

  // About 100 MB of incompressible rows in 10 MB transactions: more than the
  // 40 MB data dir can hold.
  for (int t = 0; t < 10; ++t) {
    b.source.Exec("INSERT INTO blobs SELECT g, (SELECT string_agg(md5(g::text || '-' || i::text), '') FROM "
                  "generate_series(1, 32) i) FROM generate_series(" +
                  std::to_string(t * 10000 + 1) + ", " + std::to_string((t + 1) * 10000) + ") g");
  }
  ASSERT_TRUE(WaitFor([&] { return b.daemon().CurrentLog().find("is full") != std::string::npos; }, 120s))
      << b.daemon().LogTail();
  // Paused, not gone: /health names the reason, the status file too.
  HttpReply health;
  ASSERT_TRUE(WaitFor(
      [&] {
        health = HttpGet(b.port(), "/health");
        return health.status == 503 && health.body.find("data dir") != std::string::npos;
      },
      10s))
      << health.raw << b.daemon().LogTail();
  const auto shown = RunGhostlog(b.dir().path(), {"status", "--config", b.config_path()});
  EXPECT_EQ(shown.code, 0) << shown.out;
  EXPECT_NE(shown.out.find("paused: the data dir"), std::string::npos) << shown.out;
  std::this_thread::sleep_for(2s);
  ASSERT_TRUE(b.daemon().running()) << b.daemon().LogTail();
  const std::string confirmed_while_full =
      b.source.Value("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'ghostlog'");
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(b.source.Value("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'ghostlog'"),
            confirmed_while_full)
      << "the slot advanced while the changelog could not take anything";

  // Space returns: the pipeline resumes by itself and converges.
  ASSERT_TRUE(data.Resize("1g"));
  ASSERT_TRUE(WaitFor([&] { return b.daemon().CurrentLog().find("the pipeline resumes") != std::string::npos; }, 30s))
      << b.daemon().LogTail();
  ASSERT_TRUE(b.CatchUp(180s));
  EXPECT_EQ(HttpGet(b.port(), "/health").status, 200);
  EXPECT_TRUE(TablesEqual(b.source, b.target, "blobs")) << b.daemon().LogTail(3000);
  ExpectAllTablesEqual(b);
  EXPECT_EQ(b.daemon().Signal(SIGTERM, 20s), 0) << b.daemon().LogTail();
}

}  // namespace
}  // namespace ghostlog::e2e
