#include "target.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

#include <boost/beast/core/detail/base64.hpp>
#include <nlohmann/json.hpp>

namespace ghostlog::sink {

namespace {
std::string OneLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

// Password-free rendering of a DSN for messages.
std::string Redact(const std::string& dsn) {
  std::string out;
  size_t i = 0;
  while (i < dsn.size()) {
    size_t p = dsn.find("password", i);
    if (p == std::string::npos) break;
    size_t eq = dsn.find('=', p);
    out += dsn.substr(i, eq == std::string::npos ? std::string::npos : eq + 1 - i);
    if (eq == std::string::npos) return out;
    size_t end = dsn.find(' ', eq);
    out += "***";
    i = end == std::string::npos ? dsn.size() : end;
  }
  out += dsn.substr(std::min(i, dsn.size()));
  return out;
}
}  // namespace

Result<TargetConn> TargetConn::Connect(const std::string& dsn) {
  // No timeouts for this session (startup options win over the role's and
  // the database's): a statement_timeout shorter than one batch's apply had
  // the sink cancel and retry the same batch forever, and a lock_timeout
  // made a dashboard's lock on a target table refuse the batch.
  const char* keys[] = {"dbname", "options", "connect_timeout", "application_name", nullptr};
  const char* values[] = {dsn.c_str(),
                          "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c statement_timeout=0 "
                          "-c lock_timeout=0 -c idle_in_transaction_session_timeout=0",
                          "10", "ghostlog-sink", nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  TargetConn conn(c);
  // Server NOTICEs go to the log at debug level, not raw to stderr.
  if (c != nullptr) {
    PQsetNoticeProcessor(c, [](void*, const char* m) { spdlog::debug("target: {}", m); }, nullptr);
  }
  if (c == nullptr || PQstatus(c) != CONNECTION_OK) {
    return Status::Unavailable("cannot connect to the target (" + Redact(dsn) +
                               "): " + OneLine(c ? PQerrorMessage(c) : "out of memory"));
  }
  return conn;
}

Status TargetConn::Error(const PGresult* r) const {
  std::string e = OneLine(r ? PQresultErrorMessage(r) : PQerrorMessage(c_));
  if (e.empty()) e = OneLine(PQerrorMessage(c_));
  // Connection exceptions (08) and operator intervention (57: shutdown,
  // pg_terminate_backend) may arrive while libpq still says CONNECTION_OK.
  const char* field = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view state = field ? field : "";
  const bool broken = PQstatus(c_) == CONNECTION_BAD;
  // 57014: an operator's pg_cancel_backend (the session turns statement_timeout off).
  if (state == "57014" && !broken) return Status::Unavailable("the target cancelled the statement: " + e);
  if (broken || state.starts_with("08") || state.starts_with("57")) {
    return Status::Unavailable("target connection lost: " + e);
  }
  if (state == "23505") return Status::AlreadyExists(e);  // unique_violation
  return Status::IOError(e);
}

Status TargetConn::CheckIdle() const {
  // A bug, not a target's state: libpq would say "another command is already in progress".
  if (sent_) return Status::Aborted("internal error: a statement was issued while one sent earlier was not awaited");
  return Status::OK();
}

Result<PgResult> TargetConn::Exec(const std::string& sql) {
  RETURN_NOT_OK(CheckIdle());
  PgResult r(PQexec(c_, sql.c_str()));
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error(r.get());
  return r;
}

Result<PgResult> TargetConn::ExecParams(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  RETURN_NOT_OK(CheckIdle());
  std::vector<const char*> v;
  for (const auto& p : params) v.push_back(p ? p->c_str() : nullptr);
  PgResult r(PQexecParams(c_, sql.c_str(), static_cast<int>(v.size()), nullptr, v.data(), nullptr, nullptr, 0));
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error(r.get());
  return r;
}

Status TargetConn::CopyIn(const std::string& copy_sql, const CopyLines& lines) {
  RETURN_NOT_OK(CheckIdle());
  PgResult start(PQexec(c_, copy_sql.c_str()));
  if (PQresultStatus(start.get()) != PGRES_COPY_IN) return Error(start.get());
  RETURN_NOT_OK(PutCopyLines(lines, /*send=*/false));
  if (PQputCopyEnd(c_, nullptr) != 1) {
    return Status::Unavailable("target connection lost during COPY: " + OneLine(PQerrorMessage(c_)));
  }
  PgResult end(PQgetResult(c_));
  Status s = PQresultStatus(end.get()) == PGRES_COMMAND_OK ? Status::OK() : Error(end.get());
  while (PGresult* extra = PQgetResult(c_)) PQclear(extra);
  return s;
}

Status TargetConn::Send(const std::string& sql) {
  RETURN_NOT_OK(CheckIdle());
  // Non-blocking: libpq buffers what the socket does not take yet.
  if (PQsetnonblocking(c_, 1) != 0 || PQsendQuery(c_, sql.c_str()) != 1) {
    return Status::Unavailable("target connection lost: " + OneLine(PQerrorMessage(c_)));
  }
  sent_ = true;
  Pump();
  return Status::OK();
}

Status TargetConn::SendCopyIn(const std::string& copy_sql, const CopyLines& lines) {
  RETURN_NOT_OK(CheckIdle());
  PgResult start(PQexec(c_, copy_sql.c_str()));
  if (PQresultStatus(start.get()) != PGRES_COPY_IN) return Error(start.get());
  RETURN_NOT_OK(PutCopyLines(lines, /*send=*/true));
  if (PQputCopyEnd(c_, nullptr) != 1) {
    return Status::Unavailable("target connection lost during COPY: " + OneLine(PQerrorMessage(c_)));
  }
  sent_ = true;
  Pump();
  return Status::OK();
}

Status TargetConn::PutCopyLines(const CopyLines& lines, bool send) {
  std::string piece;  // grows to about kCopyPiece for a big statement only
  for (const std::string* line : lines) {
    if (piece.size() + line->size() >= kCopyPiece) {
      RETURN_NOT_OK(PutCopyData(piece));
      piece.clear();
    }
    if (line->size() >= kCopyPiece) {
      RETURN_NOT_OK(PutCopyData(*line));  // a row of big values, straight from its line
    } else {
      piece += *line;
    }
    piece += '\n';
  }
  // The last piece (at most kCopyPiece) is left for the socket to take
  // while the caller goes on.
  if (send && PQsetnonblocking(c_, 1) != 0) {
    return Status::Unavailable("target connection lost during COPY: " + OneLine(PQerrorMessage(c_)));
  }
  return PutCopyData(piece);
}

Status TargetConn::PutCopyData(std::string_view data) {
  for (size_t at = 0; at < data.size(); at += kCopyPiece) {
    const size_t n = std::min(kCopyPiece, data.size() - at);
    if (PQputCopyData(c_, data.data() + at, static_cast<int>(n)) != 1) {
      return Status::Unavailable("target connection lost during COPY: " + OneLine(PQerrorMessage(c_)));
    }
  }
  return Status::OK();
}

void TargetConn::Pump() {
  // A failed flush shows again, as an error, in Await.
  if (sent_) PQflush(c_);
}

Status TargetConn::Await() {
  if (!sent_) return Status::OK();
  sent_ = false;
  // What the socket has not taken yet, waiting as libpq's documentation
  // says: reading what the server sends meanwhile, so neither side blocks.
  int left = 0;
  while ((left = PQflush(c_)) == 1) {
    pollfd p{PQsocket(c_), POLLIN | POLLOUT, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
    if ((p.revents & POLLIN) != 0 && PQconsumeInput(c_) != 1) break;
  }
  if (left != 0 || PQsetnonblocking(c_, 0) != 0) {
    return Status::Unavailable("target connection lost: " + OneLine(PQerrorMessage(c_)));
  }
  Status s;
  while (PGresult* r = PQgetResult(c_)) {
    PgResult owned(r);
    const auto st = PQresultStatus(r);
    if (s.ok() && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) s = Error(r);
  }
  if (s.ok() && PQstatus(c_) == CONNECTION_BAD) s = Error(nullptr);
  return s;
}

std::string TargetConn::Ident(const std::string& s) const {
  char* q = PQescapeIdentifier(c_, s.data(), s.size());
  std::string out = q ? q : "\"\"";
  PQfreemem(q);
  return out;
}

std::string TargetConn::Literal(const std::string& s) const {
  char* q = PQescapeLiteral(c_, s.data(), s.size());
  std::string out = q ? q : "''";
  PQfreemem(q);
  return out;
}

Result<TargetTable> LoadTable(TargetConn& conn, const std::string& schema, const std::string& table,
                              const std::vector<std::string>* configured_keys) {
  TargetTable t;
  t.schema = schema;
  t.table = table;
  t.quoted = conn.Ident(schema) + "." + conn.Ident(table);
  ASSIGN_OR_RAISE(PgResult r,
                  conn.Exec("SELECT a.attname, format_type(a.atttypid, a.atttypmod), ty.typcategory, "
                            "  a.atttypid = 'bytea'::regtype, a.atttypid IN ('json'::regtype, 'jsonb'::regtype), "
                            "  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND "
                            "a.attnum = ANY (i.indkey)), "
                            "  (SELECT e.typcategory FROM pg_type e WHERE e.oid = ty.typelem AND ty.typcategory = 'A') "
                            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_type ty ON ty.oid = a.atttypid "
                            "WHERE n.nspname = " +
                            conn.Literal(schema) + " AND c.relname = " + conn.Literal(table) +
                            " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"));
  if (PQntuples(r.get()) == 0) return Status::NotFound("target table " + t.qualified() + " does not exist");
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    TargetColumn c{PQgetvalue(r.get(), i, 0),           PQgetvalue(r.get(), i, 1),
                   PQgetvalue(r.get(), i, 2)[0],        PQgetvalue(r.get(), i, 3)[0] == 't',
                   PQgetvalue(r.get(), i, 4)[0] == 't', PQgetvalue(r.get(), i, 5)[0] == 't',
                   PQgetvalue(r.get(), i, 6)[0]};
    t.by_name[c.name] = t.columns.size();
    if (c.key) t.key_columns.push_back(t.columns.size());
    t.columns.push_back(std::move(c));
  }
  if (configured_keys != nullptr) {
    if (!t.key_columns.empty()) {
      return Status::InvalidArgument("sink.key_columns names columns for " + t.qualified() +
                                     ", which has a primary key: the sink uses that; remove the entry");
    }
    if (configured_keys->empty()) {
      return Status::InvalidArgument("sink.key_columns for " + t.qualified() + " is an empty list");
    }
    for (const std::string& name : *configured_keys) {
      auto it = t.by_name.find(name);
      if (it == t.by_name.end()) {
        return Status::InvalidArgument("sink.key_columns for " + t.qualified() + ": column '" + name +
                                       "' does not exist in the table");
      }
      if (t.columns[it->second].key) {
        return Status::InvalidArgument("sink.key_columns for " + t.qualified() + " names '" + name + "' twice");
      }
      t.columns[it->second].key = true;
      t.key_columns.push_back(it->second);
    }
    std::sort(t.key_columns.begin(), t.key_columns.end());  // table order, as a primary key's
    t.unique_key = false;
  }
  if (t.key_columns.empty()) {
    return Status::InvalidArgument("target table " + t.qualified() +
                                   " has no primary key; the sink upserts by primary key, so add one, or name the "
                                   "columns that identify a row in sink.key_columns");
  }
  return t;
}

namespace {
// Capture writes dates and timestamps with ISO 8601's astronomical years
// (1 BC is 0000, 44 BC is -0043), which PostgreSQL's input does not read:
// it counts BC years from 1 and wants " BC" after the value. A value of
// the common era (or infinity, or not a date at all) is nullopt: it goes
// through as it is.
std::optional<std::string> BcDateTime(std::string_view v) {
  const bool negative = v.size() > 1 && v[0] == '-' && v[1] >= '0' && v[1] <= '9';
  const size_t end = v.find('-', 1);  // after the year
  if ((!negative && !v.starts_with("0000-")) || end > 12) return std::nullopt;
  int64_t year = 0;
  for (char c : v.substr(negative, end - negative)) {
    if (c < '0' || c > '9') return std::nullopt;
    year = year * 10 + (c - '0');
  }
  const std::string bc = std::to_string((negative ? year : -year) + 1);
  std::string out(bc.size() < 4 ? 4 - bc.size() : 0, '0');
  out += bc;
  out.append(v.substr(end));
  out += " BC";
  return out;
}

// One element of a PostgreSQL array literal.
Status AppendArrayLiteral(const nlohmann::json& v, char element_category, std::string* out) {
  if (v.is_null()) {
    *out += "NULL";
  } else if (v.is_array()) {
    *out += '{';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) *out += ',';
      RETURN_NOT_OK(AppendArrayLiteral(v[i], element_category, out));
    }
    *out += '}';
  } else {
    std::string s = v.is_string() ? v.get<std::string>() : v.is_boolean() ? (v.get<bool>() ? "t" : "f") : v.dump();
    if (element_category == 'D' && v.is_string()) {
      if (auto bc = BcDateTime(s)) s = std::move(*bc);
    }
    *out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') *out += '\\';
      *out += c;
    }
    *out += '"';
  }
  return Status::OK();
}

void AppendEscaped(std::string_view v, std::string* out) {
  size_t from = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const char* esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : nullptr;
    if (esc == nullptr) continue;
    out->append(v.data() + from, i - from);
    out->append(esc);
    from = i + 1;
  }
  out->append(v.data() + from, v.size() - from);
}

// Base64 straight to COPY's hex, a piece at a time: a value of tens of MB
// is not held decoded as well.
Status AppendBytea(const TargetColumn& col, const std::string& b64, std::string* out) {
  static const char* kHex = "0123456789abcdef";
  out->reserve(out->size() + 3 + b64.size() / 4 * 6 + 6);
  *out += "\\\\x";  // COPY's escape for the backslash of bytea's hex format
  constexpr size_t kPiece = 4 * 1024;  // base64 characters, a multiple of 4
  char raw[kPiece / 4 * 3];
  for (size_t at = 0; at < b64.size(); at += kPiece) {
    const size_t n = std::min(kPiece, b64.size() - at);
    auto [written, read] = boost::beast::detail::base64::decode(raw, b64.data() + at, n);
    // Only the last piece may end early, at its padding.
    if (read != n && (at + n != b64.size() || n - read > 2)) {
      return Status::InvalidArgument("column " + col.name + " (bytea): value is not base64");
    }
    for (size_t i = 0; i < written; ++i) {
      const auto c = static_cast<unsigned char>(raw[i]);
      *out += kHex[c >> 4];
      *out += kHex[c & 15];
    }
  }
  return Status::OK();
}

}  // namespace

Status AppendCopyValue(const TargetColumn& col, const JsonValue& v, std::string* out) {
  using Kind = JsonValue::Kind;
  if (v.kind == Kind::kNull) {
    *out += "\\N";
  } else if (col.is_json) {
    // The value's own JSON text; a string becomes a JSON string again.
    AppendEscaped(v.kind == Kind::kString ? nlohmann::json(v.text).dump() : v.text, out);
  } else if (col.is_bytea) {
    if (v.kind != Kind::kString) return Status::InvalidArgument("column " + col.name + " (bytea) needs a base64 string");
    return AppendBytea(col, v.text, out);
  } else if ((v.kind == Kind::kArray || v.kind == Kind::kObject) && col.category == 'S') {
    AppendEscaped(v.text, out);  // a text column takes JSON as its text, as a json column would
  } else if (v.kind == Kind::kArray) {
    if (col.category != 'A') return Status::InvalidArgument("column " + col.name + " (" + col.type + ") got an array");
    auto j = nlohmann::json::parse(v.text, nullptr, false);
    if (j.is_discarded()) return Status::InvalidArgument("column " + col.name + ": array is not valid JSON");
    std::string lit;
    RETURN_NOT_OK(AppendArrayLiteral(j, col.element_category, &lit));
    AppendEscaped(lit, out);
  } else if (v.kind == Kind::kObject) {
    return Status::InvalidArgument("column " + col.name + " (" + col.type + ") got a JSON object");
  } else if (v.kind == Kind::kBool) {
    *out += v.text == "true" ? 't' : 'f';
  } else if (col.category == 'D' && v.kind == Kind::kString) {
    auto bc = BcDateTime(v.text);
    AppendEscaped(bc ? *bc : v.text, out);
  } else {
    AppendEscaped(v.text, out);  // a string, or a number as written
  }
  return Status::OK();
}

std::vector<std::optional<std::string>> SplitCopyLine(std::string_view line) {
  std::vector<std::optional<std::string>> fields;
  std::string f;
  bool null = false;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      fields.push_back(null ? std::nullopt : std::optional<std::string>(std::move(f)));
      f.clear();
      null = false;
    } else if (line[i] == '\\' && i + 1 < line.size()) {
      const char e = line[++i];
      if (e == 'N') {
        null = true;
      } else {
        f += e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
      }
    } else {
      f += line[i];
    }
  }
  return fields;
}

}  // namespace ghostlog::sink
