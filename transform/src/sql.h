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
#include <set>
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

// The columns a mapping can read of each table it looks up: the third
// argument of lookup(table, key, 'column'), the columns lookup_by() matches
// and returns. nullopt for a table read whole (lookup(table, key), a
// lookup_by() without a column, a column that is not a literal); `any_table`
// when a table is not a literal (or a call could not be read): then every
// table counts as read whole.
struct LookedUpColumns {
  bool any_table = false;
  std::map<std::string, std::optional<std::set<std::string>>> tables;
  // The columns of `table` the mapping can read; nullptr: any of them (also
  // for a table it does not seem to look up: the caller knows it did).
  const std::set<std::string>* Of(const std::string& table) const {
    if (any_table) return nullptr;
    auto it = tables.find(table);
    return it == tables.end() || !it->second ? nullptr : &*it->second;
  }
};
LookedUpColumns ReadColumns(const Mapping& m);

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
  std::unordered_map<std::string, Stmt> cache_;  // mapping name '\0' source columns -> statement
  // Per mapping name, the source columns of the row it last evaluated and
  // their statement: rows of one table mostly have the same columns, and
  // comparing them is cheaper than building cache_'s key.
  struct Last {
    std::vector<std::string> cols;
    sqlite3_stmt* stmt = nullptr;
    // Per mapping column, the source column it merely copies ("" if none).
    std::vector<std::string> bare;
  };
  std::unordered_map<std::string, Last> last_;
  std::vector<std::string> scratch_;  // texts of object/array values while bound
};

// The SELECT for `m` over a source row with these columns. `only` keeps one
// part ("columns.x", "where", or "each" for the FROM clause alone), for
// checks and error reporting.
std::string BuildSql(const Mapping& m, const std::vector<std::string>& source_columns, const std::string& only = "");

}  // namespace ghostlog::transform
