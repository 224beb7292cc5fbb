// Thin RAII over libpq: connections, results, and the replication copy stream.
//
// Every failure becomes a Status whose message is libpq's own first line,
// prefixed with what we were doing. Passwords never appear in messages: we
// only ever print the DSN through RedactDsn().
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ghostlog/log/status.h"

namespace ghostlog::capture {

struct PGresultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PGresultDeleter>;

// Session settings every capture connection uses, so that text output of
// values is unambiguous (see pg_types.h). And no timeouts, as pg_dump sets
// on its connections: a source's role or database often has them against
// runaway sessions, but the snapshot's LOCK may wait for a table someone
// holds (lock_timeout failed capture for good), its transaction idles while
// readers work (idle_in_transaction_session_timeout), and a chunk read that
// outlasts statement_timeout would be cancelled and retried without end.
inline constexpr const char* kSessionOptions =
    "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex "
    "-c statement_timeout=0 -c lock_timeout=0 -c idle_in_transaction_session_timeout=0 "
    "-c application_name=ghostlog";

// "host=x password=secret" -> "host=x password=***" (also for URIs).
std::string RedactDsn(const std::string& dsn);

// One copy-data message, in the buffer libpq allocated for it: a message is
// as large as the biggest row it carries (a 40 MB bytea is 80 MB of hex), so
// it is read in place rather than copied.
class CopyData {
 public:
  CopyData(char* buf, size_t size) : buf_(buf), size_(size) {}
  std::string_view view() const { return {buf_.get(), size_}; }
  bool empty() const { return size_ == 0; }

 private:
  struct Free {
    void operator()(char* p) const { PQfreemem(p); }
  };
  std::unique_ptr<char, Free> buf_;
  size_t size_;
};

class PgConn {
 public:
  // `replication` opens a walsender connection (replication=database).
  static Result<PgConn> Connect(const std::string& dsn, bool replication = false);
  PgConn(PgConn&& o) noexcept : conn_(o.conn_) { o.conn_ = nullptr; }
  PgConn& operator=(PgConn&& o) noexcept {
    std::swap(conn_, o.conn_);
    return *this;
  }
  ~PgConn() {
    if (conn_ != nullptr) PQfinish(conn_);
  }

  // Runs a command; any result other than COMMAND_OK/TUPLES_OK is an error.
  Result<PgResult> Exec(const std::string& sql);
  Result<PgResult> ExecParams(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  // Runs and returns the one value of a one-row, one-column result.
  Result<std::optional<std::string>> QueryValue(const std::string& sql);

  // --- COPY BOTH (replication) ---------------------------------------------
  // Waits up to `timeout` for one copy-data message. nullopt: none yet.
  Result<std::optional<CopyData>> ReadCopyData(std::chrono::milliseconds timeout);
  Status WriteCopyData(const std::string& data);

  std::string Quote(const std::string& literal) const;     // 'it''s'
  std::string QuoteIdent(const std::string& ident) const;  // "Mixed Case"
  int server_version() const { return PQserverVersion(conn_); }
  PGconn* raw() const { return conn_; }
  std::string LastError() const;

 private:
  explicit PgConn(PGconn* c) : conn_(c) {}
  Status ResultError(const PGresult* r) const;
  PGconn* conn_ = nullptr;
};

// Splits "schema.table" (either part may be quoted) - used for config patterns.
struct QualifiedName {
  std::string schema;
  std::string table;
  auto operator<=>(const QualifiedName&) const = default;
};

// "s"."a", "s"."b": the tables quoted for a statement.
std::string QuotedList(const PgConn& sql, const std::vector<QualifiedName>& tables);

}  // namespace ghostlog::capture
