// The expression engine: mapping expressions compiled to SQLite statements.
//
// A mapping becomes one statement per source column set:
//   SELECT (expr1) AS "col1", ... FROM (SELECT ?1 AS "src1", ...) AS src [, each] WHERE (where)
// SQLite flattens the one-row subquery, so evaluating a row is binding its
// values and stepping: no table, no copy. Statements are cached per mapping
// and column set (a source schema change simply compiles a new one).
//
// Thread-safety: one engine per thread (it owns a SQLite connection).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ghostlog/log/status.h"
#include "ghostlog/transform/mapping.h"

namespace ghostlog::transform {

// Where lookup() reads rows of other source tables.
class LookupSource {
 public:
  virtual ~LookupSource() = default;
  // The latest row image (a JSON object) of `table` ("schema.table") whose
  // primary key is `key`: a scalar for a one-column key, or a JSON array (or
  // its text) in key-column order. nullopt if there is no such row.
  virtual Result<std::optional<nlohmann::json>> Lookup(const std::string& table, const nlohmann::json& key) = 0;
  // The latest row image of `table` whose `columns` (names, in order) hold
  // `values` (as many, compared as capture wrote them). When several rows
  // match, the one whose record key sorts first. nullopt if none does.
  virtual Result<std::optional<nlohmann::json>> LookupBy(const std::string& table,
                                                         const std::vector<std::string>& columns,
                                                         const std::vector<nlohmann::json>& values) = 0;
};

// "a, b" -> {"a", "b"}: lookup_by()'s column list.
std::vector<std::string> SplitColumnList(const std::string& names);

// The (table, columns) of every lookup_by() in the mapping whose first two
// arguments are string literals: the indexes the stage keeps from its start,
// so that it reads those tables' events (and keeps the indexes current) even
// before any row has looked one up.
std::vector<std::pair<std::string, std::vector<std::string>>> LiteralLookupBys(const Mapping& m);

class SqlEngine {
 public:
  // `lookups` may be null (lookup() is then an error); it must outlive the engine.
  static Result<std::unique_ptr<SqlEngine>> Open(LookupSource* lookups);
  ~SqlEngine();
  SqlEngine(const SqlEngine&) = delete;
  SqlEngine& operator=(const SqlEngine&) = delete;

  // Checks that every expression of `m` compiles. With `source_columns` empty
  // the source schema is not known yet and unknown columns are let through.
  Status Check(const Mapping& m, const std::vector<std::string>& source_columns);

  // The target rows (JSON objects, columns in mapping order) that `m` yields
  // for one source row image: none if `where` is not true, several with `each`.
  Result<std::vector<nlohmann::json>> Evaluate(const Mapping& m, const nlohmann::json& row);

 private:
  struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

  explicit SqlEngine(sqlite3* db) : db_(db) {}
  Result<Stmt> Prepare(const std::string& sql);
  void Bind(sqlite3_stmt* s, const nlohmann::json& row);
  // Names the column whose expression fails on this row (error path only).
  std::string Culprit(const Mapping& m, const nlohmann::json& row, const std::vector<std::string>& cols);

  sqlite3* db_;
  std::unordered_map<std::string, Stmt> cache_;
  std::vector<std::string> scratch_;  // texts of object/array values while bound
};

// The SELECT for `m` over a source row with these columns. `only` keeps one
// part ("columns.x", "where", or "each" for the FROM clause alone), for
// checks and error reporting.
std::string BuildSql(const Mapping& m, const std::vector<std::string>& source_columns, const std::string& only = "");

}  // namespace ghostlog::transform
