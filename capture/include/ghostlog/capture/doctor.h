// Capture preflight (`ghostlog doctor`): checks that the source PostgreSQL,
// the configured role, publication and slot are ready for capture, and says
// for every problem what to do about it. docs/doctor.md describes each check
// and the least-privilege source setup.
//
// Doctor only reads: it never creates a publication or a slot, and changes
// nothing on the server.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ghostlog/capture/capture.h"

namespace ghostlog::capture {

struct DoctorCheck {
  enum class Result {
    kOk,
    kWarning,  // capture will run, but something deserves attention
    kFailed,   // capture will not work until this is fixed
    kSkipped,  // could not be checked (e.g. no connection)
  };
  std::string name;  // stable: "connection", "wal_level", "slot", ... (see docs/doctor.md)
  Result result = Result::kOk;
  // One sentence: what is fine, or what is wrong and what to do about it.
  // Never holds a password.
  std::string message;
};

struct DoctorReport {
  std::vector<DoctorCheck> checks;
  // True if no check failed (warnings and skipped checks allowed).
  bool ok() const;
  // The check named `name`, or nullptr.
  const DoctorCheck* Find(const std::string& name) const;
};

// Check names, in report order.
inline constexpr const char* kDoctorChecks[] = {
    "connection",              // a normal SQL connection
    "replication connection",  // a walsender connection (replication=database)
    "server version",
    "wal_level",
    "replication role",    // REPLICATION attribute or superuser
    "replication slots",   // max_replication_slots has room
    "wal senders",         // max_wal_senders has room
    "tables",              // the tables / exclude_tables patterns select something
    "table privileges",    // SELECT on every captured table
    "row-level security",  // no policy hides rows of a captured table from the snapshot
    "publication",
    "slot",
    "replica identity",  // UPDATE/DELETE can be captured (and are not rejected)
};

// Runs every check it can. A failed connection is itself a failed check; the
// checks that need it are then listed as skipped. Never throws.
DoctorReport Doctor(const CaptureConfig& config);

// One line per check: "ok      wal_level: logical", "FAILED  ...", "warning ...",
// "skipped ...".
std::string FormatReport(const DoctorReport& report);

// {"ok": bool, "checks": [{"name", "result": "ok"|"warning"|"failed"|"skipped", "message"}]}
nlohmann::json ReportJson(const DoctorReport& report);

const char* DoctorResultName(DoctorCheck::Result r);  // "ok", "warning", "failed", "skipped"

}  // namespace ghostlog::capture
