#include "sql.h"

#include <algorithm>
#include <cctype>

#include "uuid5.h"

namespace ghostlog::transform {

namespace {

std::string Quote(const std::string& ident) {
  std::string out = "\"";
  for (char c : ident) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Text(sqlite3_value* v) {
  const unsigned char* t = sqlite3_value_text(v);
  return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t), sqlite3_value_bytes(v));
}

nlohmann::json ToJson(sqlite3_value* v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER:
      return sqlite3_value_int64(v);
    case SQLITE_FLOAT:
      return sqlite3_value_double(v);
    case SQLITE_NULL:
      return nullptr;
    default:
      return Text(v);
  }
}

// SQLite's JSON functions (json(), json_object(), json_extract() of an object,
// json_group_array()) mark their text results with this subtype.
constexpr unsigned kJsonSubtype = 'J';

// A result column: as ToJson, except that JSON text SQLite marked as JSON is
// the JSON value itself, so that a json/jsonb target gets an object rather
// than a string holding one.
nlohmann::json ResultJson(sqlite3_value* v) {
  if (sqlite3_value_type(v) != SQLITE_TEXT || sqlite3_value_subtype(v) != kJsonSubtype) return ToJson(v);
  const auto* t = reinterpret_cast<const char*>(sqlite3_value_text(v));
  auto j = nlohmann::json::parse(t, t + sqlite3_value_bytes(v), nullptr, false);
  return j.is_discarded() ? ToJson(v) : j;
}

void SetResult(sqlite3_context* ctx, const nlohmann::json& v) {
  if (v.is_null()) {
    sqlite3_result_null(ctx);
  } else if (v.is_boolean()) {
    sqlite3_result_int(ctx, v.get<bool>() ? 1 : 0);
  } else if (v.is_number_integer()) {
    sqlite3_result_int64(ctx, v.get<int64_t>());
  } else if (v.is_number()) {
    sqlite3_result_double(ctx, v.get<double>());
  } else if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    sqlite3_result_text(ctx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  } else {
    const std::string s = v.dump();
    sqlite3_result_text(ctx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    sqlite3_result_subtype(ctx, kJsonSubtype);  // as json() would: it stays JSON to the output
  }
}

// uuid5(ns, v1, ...): the values as text joined by '/'. NULL if any value is
// NULL, as SQL functions do, so a missing foreign key stays missing.
void Uuid5Fn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc < 2) return sqlite3_result_error(ctx, "uuid5(namespace, value, ...) needs at least two arguments", -1);
  std::string name;
  for (int i = 1; i < argc; ++i) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) return sqlite3_result_null(ctx);
    if (i > 1) name += '/';
    name += Text(argv[i]);
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_error(ctx, "uuid5: namespace is NULL", -1);
  const std::string id = Uuid5(Text(argv[0]), name);
  sqlite3_result_text(ctx, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
}

// The result of lookup()/lookup_by(): the row as JSON text, or one of its
// columns when the call names one (the argument at `column_arg`).
void SetRowResult(sqlite3_context* ctx, const char* fn, const std::string& table,
                  const Result<std::optional<nlohmann::json>>& row, int argc, sqlite3_value** argv, int column_arg) {
  if (!row.ok()) {
    const std::string msg = std::string(fn) + "('" + table + "'): " + row.status().message();
    return sqlite3_result_error(ctx, msg.c_str(), -1);
  }
  if (!*row) return sqlite3_result_null(ctx);
  if (argc <= column_arg) return SetResult(ctx, **row);
  const std::string column = Text(argv[column_arg]);
  auto it = (*row)->find(column);
  if (it == (*row)->end()) {
    const std::string msg = std::string(fn) + "('" + table + "'): the row has no column '" + column + "'";
    return sqlite3_result_error(ctx, msg.c_str(), -1);
  }
  SetResult(ctx, *it);
}

// lookup(table, key) -> the row as JSON (text marked as JSON); lookup(table, key, column) -> one value.
void LookupFn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* src = static_cast<LookupSource*>(sqlite3_user_data(ctx));
  if (src == nullptr) return sqlite3_result_error(ctx, "lookup() has no changelog to read here", -1);
  if (sqlite3_value_type(argv[1]) == SQLITE_NULL) return sqlite3_result_null(ctx);
  const std::string table = Text(argv[0]);
  SetRowResult(ctx, "lookup", table, src->Lookup(table, ToJson(argv[1])), argc, argv, 2);
}

// lookup_by(table, 'col1,col2', json_array(v1, v2)[, column]), or with one
// column lookup_by(table, 'col', v[, column]): the row whose columns hold the
// values. NULL if a value is NULL (no row holds NULL, as in SQL's =).
void LookupByFn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* src = static_cast<LookupSource*>(sqlite3_user_data(ctx));
  if (src == nullptr) return sqlite3_result_error(ctx, "lookup_by() has no changelog to read here", -1);
  const std::string table = Text(argv[0]);
  const std::vector<std::string> columns = SplitColumnList(Text(argv[1]));
  if (sqlite3_value_type(argv[2]) == SQLITE_NULL) return sqlite3_result_null(ctx);
  std::vector<nlohmann::json> values;
  if (columns.size() == 1) {
    values.push_back(ToJson(argv[2]));
  } else {
    const auto parts = nlohmann::json::parse(Text(argv[2]), nullptr, false);
    if (!parts.is_array() || parts.size() != columns.size()) {
      const std::string msg = "lookup_by('" + table + "'): " + std::to_string(columns.size()) +
                              " columns need as many values: pass json_array(...)";
      return sqlite3_result_error(ctx, msg.c_str(), -1);
    }
    for (const auto& v : parts) {
      if (v.is_null()) return sqlite3_result_null(ctx);
      values.push_back(v);
    }
  }
  SetRowResult(ctx, "lookup_by", table, src->LookupBy(table, columns, values), argc, argv, 3);
}

// Expressions may read and call functions, nothing else: a mapping file can
// never attach a database, write a file or change a pragma.
int Authorize(void*, int action, const char* table, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_UPDATE:  // SQLite itself, declaring a table-valued function (json_each)
      return table != nullptr && std::string_view(table) == "sqlite_master" ? SQLITE_OK : SQLITE_DENY;
    default:
      return SQLITE_DENY;
  }
}

}  // namespace

std::vector<std::string> SplitColumnList(const std::string& names) {
  std::vector<std::string> columns;
  for (size_t from = 0; from <= names.size();) {
    size_t comma = names.find(',', from);
    if (comma == std::string::npos) comma = names.size();
    std::string name = names.substr(from, comma - from);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    columns.push_back(std::move(name));
    from = comma + 1;
  }
  return columns;
}

namespace {

// The top-level arguments of the call whose '(' is at text[open], as written;
// nullopt if the parentheses or quotes do not close.
std::optional<std::vector<std::string>> CallArguments(const std::string& text, size_t open) {
  std::vector<std::string> args(1);
  int depth = 0;
  for (size_t i = open + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' || c == '"') {  // a literal or a quoted name: '' and "" stay inside
      size_t end = i + 1;
      for (; end < text.size(); ++end) {
        if (text[end] == c && (end + 1 >= text.size() || text[end + 1] != c)) break;
        if (text[end] == c) ++end;
      }
      if (end >= text.size()) return std::nullopt;
      args.back() += text.substr(i, end - i + 1);
      i = end;
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && depth-- == 0) return args;
    if (c == ',' && depth == 0) {
      args.emplace_back();
      continue;
    }
    args.back() += c;
  }
  return std::nullopt;
}

// 'text' -> text; nullopt if the argument is not one string literal.
std::string Trimmed(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\r\n"));
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

// The text between `quote`s (SQL's '...' literal or "..." identifier, a
// doubled quote inside being one), or nullopt if `arg` is not one such.
std::optional<std::string> Unquoted(std::string arg, char quote) {
  arg = Trimmed(std::move(arg));
  if (arg.size() < 2 || arg.front() != quote || arg.back() != quote) return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < arg.size(); ++i) {
    out += arg[i];
    if (arg[i] == quote) {
      if (arg[i + 1] != quote) return std::nullopt;  // two of them, or worse
      ++i;
    }
  }
  return out;
}

std::optional<std::string> Literal(std::string arg) { return Unquoted(std::move(arg), '\''); }

// The source column an expression is nothing but (`extradata`, `"Extra"`,
// `src.extradata`), or "". SQLite drops the JSON mark of a value passing
// through the FROM subquery, so such a copy of an object or array would reach
// the output as a string; Evaluate hands on the source value instead.
std::string BareColumn(const std::string& expr) {
  std::string name = Trimmed(expr);
  if (name.starts_with("src.")) name.erase(0, 4);
  if (auto quoted = Unquoted(name, '"')) return *quoted;
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return "";
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return "";
  }
  return name;
}

struct LookupCall {
  bool by;                                       // lookup_by(), else lookup()
  std::optional<std::vector<std::string>> args;  // as written; nullopt: unreadable
};

// Every lookup() and lookup_by() call in the mapping's SQL (where, each,
// columns), found by name without regard to case.
std::vector<LookupCall> LookupCalls(const Mapping& m) {
  std::vector<LookupCall> calls;
  std::vector<const std::string*> texts = {&m.where, &m.each};
  for (const auto& [col, expr] : m.columns) texts.push_back(&expr);
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (const std::string* text : texts) {
    std::string lower(text->size(), ' ');
    std::transform(text->begin(), text->end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (size_t at = lower.find("lookup"); at != std::string::npos; at = lower.find("lookup", at + 1)) {
      if (at > 0 && word(lower[at - 1])) continue;
      size_t name_end = at + 6;
      const bool by = lower.compare(name_end, 3, "_by") == 0;
      if (by) name_end += 3;
      if (name_end < lower.size() && word(lower[name_end])) continue;  // another name that starts with "lookup"
      const size_t open = lower.find_first_not_of(" \t\r\n", name_end);
      calls.push_back(
          {by, open == std::string::npos || lower[open] != '(' ? std::nullopt : CallArguments(*text, open)});
    }
  }
  return calls;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<std::string>>> LiteralLookupBys(const Mapping& m) {
  std::vector<std::pair<std::string, std::vector<std::string>>> found;
  for (const auto& call : LookupCalls(m)) {
    if (!call.by || !call.args || call.args->size() < 2) continue;
    const auto table = Literal((*call.args)[0]), columns = Literal((*call.args)[1]);
    if (table && columns) found.emplace_back(*table, SplitColumnList(*columns));
  }
  return found;
}

LookedUpColumns ReadColumns(const Mapping& m) {
  LookedUpColumns out;
  auto whole = [&](const std::string& table) { out.tables[table] = std::nullopt; };
  auto add = [&](const std::string& table, const std::string& column) {
    auto [it, fresh] = out.tables.try_emplace(table, std::set<std::string>{});
    if (it->second) it->second->insert(column);
  };
  for (const auto& [by, args] : LookupCalls(m)) {
    const auto table = args && !args->empty() ? Literal((*args)[0]) : std::nullopt;
    if (!table) {  // a table we cannot name: every table may be read whole
      out.any_table = true;
      continue;
    }
    if (!by) {  // lookup(table, key[, column])
      const auto column = args->size() == 3 ? Literal((*args)[2]) : std::nullopt;
      column ? add(*table, *column) : whole(*table);
      continue;
    }
    // lookup_by(table, 'columns', values[, column]): what it matches on, and returns.
    const auto matched = args->size() >= 3 ? Literal((*args)[1]) : std::nullopt;
    const auto column = args->size() == 4 ? Literal((*args)[3]) : std::nullopt;
    if (!matched || !column) {
      whole(*table);
      continue;
    }
    for (const auto& c : SplitColumnList(*matched)) add(*table, c);
    add(*table, *column);
  }
  return out;
}

std::string BuildSql(const Mapping& m, const std::vector<std::string>& source_columns, const std::string& only) {
  std::string select;
  for (const auto& [col, expr] : m.columns) {
    if (!only.empty() && only != "columns." + col) continue;
    select += (select.empty() ? "" : ", ") + ("(" + expr + ") AS " + Quote(col));
  }
  if (select.empty()) select = "1";
  std::string src;
  for (size_t i = 0; i < source_columns.size(); ++i) {
    src += (i ? ", ?" : "?") + std::to_string(i + 1) + " AS " + Quote(source_columns[i]);
  }
  if (src.empty()) src = "NULL AS \"__ghostlog_no_column\"";
  std::string sql = "SELECT " + select + " FROM (SELECT " + src + ") AS src";
  if (!m.each.empty()) sql += ", " + m.each;
  if (!m.where.empty() && (only.empty() || only == "where")) sql += " WHERE (" + m.where + ")";
  return sql;
}

Result<std::unique_ptr<SqlEngine>> SqlEngine::Open(LookupSource* lookups) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::IOError("cannot open SQLite: " + msg);
  }
  std::unique_ptr<SqlEngine> e(new SqlEngine(db));
  const int det = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  int rc = sqlite3_create_function(db, "uuid5", -1, det, nullptr, Uuid5Fn, nullptr, nullptr);
  // lookup() is not deterministic: the row it reads changes between records.
  // It marks object results as JSON, which newer SQLite wants declared.
#ifdef SQLITE_RESULT_SUBTYPE
  const int look = SQLITE_UTF8 | SQLITE_RESULT_SUBTYPE;
#else
  const int look = SQLITE_UTF8;
#endif
  if (rc == SQLITE_OK) rc = sqlite3_create_function(db, "lookup", 2, look, lookups, LookupFn, nullptr, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_create_function(db, "lookup", 3, look, lookups, LookupFn, nullptr, nullptr);
  for (int argc : {3, 4}) {
    if (rc == SQLITE_OK)
      rc = sqlite3_create_function(db, "lookup_by", argc, look, lookups, LookupByFn, nullptr, nullptr);
  }
  if (rc == SQLITE_OK) rc = sqlite3_set_authorizer(db, Authorize, nullptr);
  if (rc != SQLITE_OK) return Status::IOError(std::string("cannot register SQLite functions: ") + sqlite3_errmsg(db));
  return e;
}

SqlEngine::~SqlEngine() {
  cache_.clear();
  sqlite3_close(db_);
}

Result<SqlEngine::Stmt> SqlEngine::Prepare(const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, &tail) !=
      SQLITE_OK) {
    return Status::InvalidArgument(sqlite3_errmsg(db_));
  }
  Stmt stmt(raw);
  if (tail != nullptr && std::string_view(tail).find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    return Status::InvalidArgument("an expression must be one SQL expression, not several statements");
  }
  return stmt;
}

Status SqlEngine::Check(const Mapping& m, const std::vector<std::string>& source_columns) {
  const bool schema_known = !source_columns.empty();
  std::vector<std::string> columns = source_columns;
  // Prepares one part. Without the source schema, a column SQLite does not
  // know is taken to be a source column and the part is compiled again, so
  // that every other mistake (syntax, unknown function) still shows.
  auto compile = [&](const std::string& part) -> Status {
    for (;;) {
      auto stmt = Prepare(BuildSql(m, columns, part));
      if (stmt.ok()) {
        if (part.starts_with("columns.") && sqlite3_column_count(stmt->get()) != 1) {
          return Status::InvalidArgument("an expression must be one SQL expression");
        }
        return Status::OK();
      }
      std::string msg = stmt.status().message();
      constexpr std::string_view kNoColumn = "no such column: ";
      if (schema_known || !msg.starts_with(kNoColumn)) return stmt.status();
      std::string name = msg.substr(kNoColumn.size());
      if (name.starts_with("src.")) name = name.substr(4);
      if (std::find(columns.begin(), columns.end(), name) != columns.end()) return stmt.status();
      columns.push_back(name);
    }
  };
  if (!m.each.empty()) {
    Status s = compile("each");
    if (!s.ok()) return Status::InvalidArgument(m.Where("each") + ": each: " + s.message());
  }
  std::vector<std::string> parts;
  for (const auto& [col, expr] : m.columns) parts.push_back("columns." + col);
  if (!m.where.empty()) parts.push_back("where");
  for (const auto& part : parts) {
    Status s = compile(part);
    if (!s.ok()) return Status::InvalidArgument(m.Where(part) + ": " + part + ": " + s.message());
  }
  return Status::OK();
}

void SqlEngine::Bind(sqlite3_stmt* s, const nlohmann::json& row) {
  scratch_.clear();
  scratch_.reserve(row.size());
  int i = 1;
  for (const auto& [k, v] : row.items()) {
    if (v.is_null()) {
      sqlite3_bind_null(s, i);
    } else if (v.is_boolean()) {
      sqlite3_bind_int(s, i, v.get<bool>() ? 1 : 0);
    } else if (v.is_number_integer()) {
      sqlite3_bind_int64(s, i, v.get<int64_t>());
    } else if (v.is_number()) {
      sqlite3_bind_double(s, i, v.get<double>());
    } else if (v.is_string()) {
      const std::string& t = v.get_ref<const std::string&>();
      sqlite3_bind_text(s, i, t.data(), static_cast<int>(t.size()), SQLITE_STATIC);
    } else {
      scratch_.push_back(v.dump());
      sqlite3_bind_text(s, i, scratch_.back().data(), static_cast<int>(scratch_.back().size()), SQLITE_STATIC);
    }
    ++i;
  }
}

Result<std::vector<nlohmann::json>> SqlEngine::Evaluate(const Mapping& m, const nlohmann::json& row) {
  Last& last = last_[m.name];
  bool same = last.stmt != nullptr && last.cols.size() == row.size();
  for (size_t i = 0; const auto& [k, v] : row.items()) {
    if (!same) break;
    same = k == last.cols[i++];
  }
  if (!same) {
    std::vector<std::string> cols;
    std::string cache_key = m.name;
    cache_key += '\0';
    for (const auto& [k, v] : row.items()) {
      cols.push_back(k);
      cache_key += k;
      cache_key += '\x1f';
    }
    auto it = cache_.find(cache_key);
    if (it == cache_.end()) {
      auto stmt = Prepare(BuildSql(m, cols));
      if (!stmt.ok()) return Status::InvalidArgument(m.file + ": " + stmt.status().message());
      it = cache_.emplace(cache_key, std::move(stmt).value()).first;
    }
    last = Last{std::move(cols), it->second.get(), {}};
    for (const auto& [col, expr] : m.columns) {
      // The row's own spelling: SQLite matches unquoted names in any case.
      const std::string bare = BareColumn(expr);
      auto same_name = [&](const std::string& c) {
        return std::equal(c.begin(), c.end(), bare.begin(), bare.end(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        });
      };
      auto found = bare.empty() ? last.cols.end() : std::find_if(last.cols.begin(), last.cols.end(), same_name);
      last.bare.push_back(found == last.cols.end() ? "" : *found);
    }
  }
  const std::vector<std::string>& cols = last.cols;
  sqlite3_stmt* s = last.stmt;
  Bind(s, row);
  std::vector<nlohmann::json> out;
  int rc;
  const int n = sqlite3_column_count(s);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    nlohmann::json r = nlohmann::json::object();
    for (int c = 0; c < n; ++c) {
      nlohmann::json v = ResultJson(sqlite3_column_value(s, c));
      const std::string& bare = last.bare[static_cast<size_t>(c)];
      if (!bare.empty() && v.is_string()) {
        const std::string& t = v.get_ref<const std::string&>();
        if (t.starts_with('{') || t.starts_with('[')) {  // the text of an object or array, maybe
          if (auto it = row.find(bare); it != row.end() && it->is_structured()) v = *it;
        }
      }
      r[m.columns[static_cast<size_t>(c)].first] = std::move(v);
    }
    out.push_back(std::move(r));
  }
  const std::string error = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (!error.empty()) return Status::InvalidArgument(Culprit(m, row, cols) + error);
  return out;
}

// Evaluates the expressions one by one to name the one that fails.
std::string SqlEngine::Culprit(const Mapping& m, const nlohmann::json& row, const std::vector<std::string>& cols) {
  std::vector<std::string> parts;
  for (const auto& [col, expr] : m.columns) parts.push_back("columns." + col);
  if (!m.where.empty()) parts.push_back("where");
  for (const auto& part : parts) {
    auto stmt = Prepare(BuildSql(m, cols, part));
    if (!stmt.ok()) return m.Where(part) + ": " + part + ": ";
    Bind(stmt->get(), row);
    int rc;
    while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return m.Where(part) + ": " + part + ": ";
  }
  return m.file + ": ";
}

}  // namespace ghostlog::transform
