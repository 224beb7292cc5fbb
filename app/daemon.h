// `ghostlog run`: every configured stage in one process, supervised.
//
// Stages run on their own threads and retry what is retryable themselves; a
// stage that returns an error is fatal (corruption, fsync failure, a lost
// slot, a bad target schema): the daemon stops the other stages and exits 1
// so that systemd restarts it. SIGTERM/SIGINT stop reading, let in-flight
// batches finish or roll back, and exit 0. Every second the daemon writes
// DATA_DIR/status.json, which `ghostlog status` reads from another process.
#pragma once

#include <set>
#include <string>

#include "config.h"

namespace ghostlog::cli {

struct RunOptions {
  std::set<std::string> stages;  // empty: every configured stage
  bool resnapshot = false;
};

// Returns the process exit code.
int RunDaemon(DaemonConfig config, const RunOptions& options);

}  // namespace ghostlog::cli
