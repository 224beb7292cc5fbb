#include "pg_conn.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <regex>

namespace ghostlog::capture {

std::string RedactDsn(const std::string& dsn) {
  // keyword form: password=... (quoted or not); URI form: user:password@
  static const std::regex kw(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))", std::regex::icase);
  static const std::regex uri(R"(^(postgres(ql)?://[^:/@]*:)[^@]*@)", std::regex::icase);
  std::string out = std::regex_replace(dsn, kw, "$1***");
  return std::regex_replace(out, uri, "$1***@");
}

std::string PgConn::LastError() const {
  std::string e = conn_ ? PQerrorMessage(conn_) : "no connection";
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  // libpq messages can span lines; the operator wants one line.
  for (char& c : e) {
    if (c == '\n') c = ' ';
  }
  return e;
}

Result<PgConn> PgConn::Connect(const std::string& dsn, bool replication) {
  std::vector<const char*> keys = {"dbname", "options", "connect_timeout"};
  std::vector<const char*> values = {dsn.c_str(), kSessionOptions, "10"};
  if (replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  // expand_dbname=1: `dsn` may be a full conninfo string or URI; later keys override.
  PGconn* c = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  PgConn conn(c);
  if (c != nullptr) {
    PQsetNoticeProcessor(
        c, [](void*, const char* m) { spdlog::debug("source: {}", m); }, nullptr);
  }
  if (c == nullptr) return Status::IOError("out of memory creating a PostgreSQL connection");
  if (PQstatus(c) != CONNECTION_OK) {
    return Status::Unavailable("cannot connect to PostgreSQL (" + RedactDsn(dsn) + "): " + conn.LastError());
  }
  return conn;
}

namespace {
std::string_view SqlState(const PGresult* r) {
  const char* code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return code ? code : "";
}
// query_canceled: an operator's pg_cancel_backend (the session turns statement_timeout off).
constexpr std::string_view kCancelled = "57014";
}  // namespace

Status PgConn::ResultError(const PGresult* r) const {
  std::string err = r ? PQresultErrorMessage(r) : "";
  while (!err.empty() && err.back() == '\n') err.pop_back();
  for (char& c : err) {
    if (c == '\n') c = ' ';
  }
  if (err.empty()) err = LastError();
  // A broken connection is worth retrying, and so is a transaction the
  // server rolled back to break a deadlock or a serialization conflict (a
  // TRUNCATE racing the snapshot); an SQL error (permissions, a missing
  // table) is not.
  const std::string_view state = SqlState(r);
  const bool broken = PQstatus(conn_) == CONNECTION_BAD;
  if (state == kCancelled && !broken) return Status::Unavailable("PostgreSQL cancelled the statement: " + err);
  if (broken || state.starts_with("08") || state.starts_with("57")) {
    return Status::Unavailable("PostgreSQL connection lost: " + err);
  }
  if (state.starts_with("40")) return Status::Unavailable("PostgreSQL rolled the transaction back: " + err);
  if (state == "55P03") return Status::Busy(err);  // lock_not_available: a NOWAIT lock request
  return Status::IOError(err);
}

Result<PgResult> PgConn::Exec(const std::string& sql) {
  PgResult r(PQexec(conn_, sql.c_str()));
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_BOTH && st != PGRES_COPY_OUT) {
    return ResultError(r.get());
  }
  return r;
}

Result<PgResult> PgConn::ExecParams(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PgResult r(
      PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ResultError(r.get());
  return r;
}

Result<std::optional<std::string>> PgConn::QueryValue(const std::string& sql) {
  ASSIGN_OR_RAISE(PgResult r, Exec(sql));
  if (PQntuples(r.get()) < 1 || PQnfields(r.get()) < 1) return std::optional<std::string>();
  if (PQgetisnull(r.get(), 0, 0)) return std::optional<std::string>();
  return std::optional<std::string>(PQgetvalue(r.get(), 0, 0));
}

Result<std::optional<CopyData>> PgConn::ReadCopyData(std::chrono::milliseconds timeout) {
  for (bool waited = false;; waited = true) {
    char* buf = nullptr;
    const int n = PQgetCopyData(conn_, &buf, /*async=*/1);
    if (n > 0) return std::optional<CopyData>(std::in_place, buf, static_cast<size_t>(n));
    if (n == -1) {
      // The server ended the copy: fetch the final result to learn why.
      PgResult r(PQgetResult(conn_));
      std::string why = r ? PQresultErrorMessage(r.get()) : "";
      while (!why.empty() && why.back() == '\n') why.pop_back();
      const std::string cancelled = SqlState(r.get()) == kCancelled ? "PostgreSQL cancelled the statement: " : "";
      return Status::Unavailable(cancelled + "replication stream ended" + (why.empty() ? std::string() : ": " + why));
    }
    if (n == -2) return Status::Unavailable("replication stream failed: " + LastError());
    if (waited) return std::optional<CopyData>();
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (rc < 0 && errno != EINTR) return Status::IOError("poll on the replication socket failed");
    if (PQconsumeInput(conn_) == 0) return Status::Unavailable("replication connection lost: " + LastError());
  }
}

Status PgConn::WriteCopyData(const std::string& data) {
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1 || PQflush(conn_) != 0) {
    return Status::Unavailable("cannot send to the replication connection: " + LastError());
  }
  return Status::OK();
}

std::string PgConn::Quote(const std::string& literal) const {
  char* q = PQescapeLiteral(conn_, literal.data(), literal.size());
  std::string s = q ? q : "''";
  PQfreemem(q);
  return s;
}

std::string PgConn::QuoteIdent(const std::string& ident) const {
  char* q = PQescapeIdentifier(conn_, ident.data(), ident.size());
  std::string s = q ? q : "\"\"";
  PQfreemem(q);
  return s;
}

std::string QuotedList(const PgConn& sql, const std::vector<QualifiedName>& tables) {
  std::string list;
  for (const auto& t : tables)
    list += (list.empty() ? "" : ", ") + sql.QuoteIdent(t.schema) + "." + sql.QuoteIdent(t.table);
  return list;
}

}  // namespace ghostlog::capture
