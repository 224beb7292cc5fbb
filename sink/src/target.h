// The target database: connection, table metadata, and value conversion
// from change-event JSON to PostgreSQL's text input (for COPY and parameters).
#pragma once

#include <libpq-fe.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "event_reader.h"
#include "ghostlog/log/status.h"

namespace ghostlog::sink {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

class TargetConn {
 public:
  static Result<TargetConn> Connect(const std::string& dsn);
  TargetConn(TargetConn&& o) noexcept : c_(o.c_), sent_(o.sent_) { o.c_ = nullptr; }
  TargetConn& operator=(TargetConn&& o) noexcept {
    std::swap(c_, o.c_);
    std::swap(sent_, o.sent_);
    return *this;
  }
  ~TargetConn() {
    if (c_) PQfinish(c_);
  }
  Result<PgResult> Exec(const std::string& sql);
  Result<PgResult> ExecParams(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  // COPY text, one row per line (without its newline), held by the caller:
  // a batch's rows are not copied into one buffer to be sent.
  using CopyLines = std::vector<const std::string*>;
  static constexpr size_t kCopyPiece = 1 << 20;  // bytes put into libpq at a time

  // COPY ... FROM STDIN with `lines` in text format. Errors: Unavailable if
  // the connection is lost, AlreadyExists for a unique violation, IOError for
  // anything else the target refuses.
  Status CopyIn(const std::string& copy_sql, const CopyLines& lines);

  // The same statements without waiting for the target to run them, so the
  // caller can read the next batch meanwhile: the connection then sends what
  // the socket takes on each Pump() and the rest in Await(), which returns
  // the statement's result (errors as above). Nothing else may be issued on
  // the connection in between (the other calls then return Aborted).
  Status Send(const std::string& sql);
  Status SendCopyIn(const std::string& copy_sql, const CopyLines& lines);
  void Pump();
  Status Await();
  bool sent() const { return sent_; }
  std::string Ident(const std::string& s) const;
  std::string Literal(const std::string& s) const;
  bool broken() const { return PQstatus(c_) == CONNECTION_BAD; }

 private:
  explicit TargetConn(PGconn* c) : c_(c) {}
  Status Error(const PGresult* r) const;
  Status CheckIdle() const;  // Aborted while a sent statement is not awaited
  // Puts the lines in pieces of about kCopyPiece, waiting for the socket
  // to take each: libpq grows its output buffer to hold what one call
  // passes, and keeps it as long as the connection (one call with a row
  // holding a 40 MB bytea, 80 MB of hex, would leave 128 MB behind). With
  // `send`, the last piece goes after the connection turns non-blocking.
  Status PutCopyLines(const CopyLines& lines, bool send);
  Status PutCopyData(std::string_view data);
  PGconn* c_ = nullptr;
  bool sent_ = false;
};

struct TargetColumn {
  std::string name;
  std::string type;   // format_type(), e.g. "integer", "text[]"
  char category = 'S';  // pg_type.typcategory: A array, B bool, N numeric, U user (json), ...
  bool is_bytea = false;
  bool is_json = false;
  bool key = false;
  char element_category = '\0';  // an array's element type's typcategory ('D': dates and times)
};

struct TargetTable {
  std::string schema, table;
  std::string quoted;  // "schema"."table"
  std::vector<TargetColumn> columns;
  std::map<std::string, size_t> by_name;
  std::vector<size_t> key_columns;
  // False when the key columns come from the configuration (the table has no
  // primary key): no ON CONFLICT, no direct COPY, NULL keys compare equal.
  bool unique_key = true;
  std::string qualified() const { return schema + "." + table; }

  // Sets of columns the events carry, each stored once: changes point at
  // theirs, and equal pointers mean equal sets.
  std::set<std::vector<size_t>> shapes;
  const std::vector<size_t>* last_shape = nullptr;
  // The event's field names as last seen, with their column: events of one
  // table list the same names in the same order, so one comparison each.
  std::vector<std::pair<std::string, size_t>> last_fields;
  // Pieces to go without trying a direct COPY, after one hit a key the
  // target already had (a replay, or a snapshot over existing rows).
  int direct_copy_skips = 0;
};

// NotFound if the table does not exist. `configured_keys` (may be null) are
// the key columns the configuration names for it; InvalidArgument if the
// table has neither a primary key nor configured keys, has both, or lacks a
// configured column.
Result<TargetTable> LoadTable(TargetConn& conn, const std::string& schema, const std::string& table,
                              const std::vector<std::string>* configured_keys);

// Appends the value as one COPY text field for the column (escaped, or \N
// for null). InvalidArgument names the column if the value cannot be that type.
Status AppendCopyValue(const TargetColumn& col, const JsonValue& v, std::string* out);

// The fields of one COPY text line, unescaped (nullopt for \N): the
// parameters of the slow path that applies one change per statement.
std::vector<std::optional<std::string>> SplitCopyLine(std::string_view line);

}  // namespace ghostlog::sink
