// `ghostlog doctor`: the capture preflight. See doctor.h and docs/doctor.md.
#include "ghostlog/capture/doctor.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>

#include "ghostlog/log/glob.h"
#include "pg_conn.h"

namespace ghostlog::capture {

namespace {

using R = DoctorCheck::Result;

std::string Patterns(const std::vector<std::string>& ps) {
  std::string out = "[";
  for (size_t i = 0; i < ps.size(); ++i) out += (i ? ", '" : "'") + ps[i] + "'";
  return out + "]";
}

// "a, b, c" - at most `limit` names, then "and N more".
std::string List(const std::vector<std::string>& names, size_t limit = 10) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += " and " + std::to_string(names.size() - limit) + " more";
  return out;
}

// Every name, for SQL statements the operator is meant to run.
std::string SqlList(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

std::string Bytes(int64_t b) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[64];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(b));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

bool Contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

// One line: libpq's messages carry tabs, newlines and "FATAL:  ".
std::string Tidy(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// libpq's reason without our "cannot connect to PostgreSQL (dsn): connection
// to server on socket ... failed: " preamble.
std::string Reason(const std::string& m) {
  const size_t at = m.rfind("failed: ");
  return at == std::string::npos ? m : m.substr(at + 8);
}

std::string Val(const PgResult& r, int row, int col) {
  return PQgetisnull(r.get(), row, col) ? std::string() : std::string(PQgetvalue(r.get(), row, col));
}
bool Bool(const PgResult& r, int row, int col) { return Val(r, row, col) == "t"; }

// The password in `dsn` (keyword or URI form), if any - scrubbed from every
// message as a last line of defence behind RedactDsn.
std::string PasswordOf(const std::string& dsn) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (err != nullptr) PQfreemem(err);
  std::string pw;
  if (opts == nullptr) return pw;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) pw = o->val;
  }
  PQconninfoFree(opts);
  return pw;
}

struct Table {
  std::string oid;
  std::string name;     // schema.table, unquoted (what patterns match)
  std::string display;  // quote_ident(schema).quote_ident(table): valid SQL
  bool partition = false;
  bool partitioned = false;  // a partitioned table (the root of partitions)
  char replident = 'd';
  bool has_pk = false;
  bool has_replident_index = false;
  bool can_select = false;
  bool schema_usage = false;
  std::string schema_display;  // quote_ident(schema)
  bool owned = false;
  bool row_security = false;  // row-level security applies to this role here
};

class DoctorRun {
 public:
  explicit DoctorRun(const CaptureConfig& cfg) : cfg_(cfg) {}

  DoctorReport Run() {
    try {
      RunChecks();
    } catch (const std::exception& e) {
      Add("internal", R::kFailed, std::string("doctor itself failed (a bug, please report it): ") + e.what());
    }
    // Every check gets a line, even those never reached.
    for (const char* name : kDoctorChecks) {
      if (report_.Find(name) == nullptr) {
        Add(name, R::kSkipped, skip_reason_.empty() ? "not checked" : skip_reason_);
      }
    }
    std::stable_sort(report_.checks.begin(), report_.checks.end(),
                     [](const DoctorCheck& a, const DoctorCheck& b) { return Rank(a.name) < Rank(b.name); });
    for (auto& c : report_.checks) c.message = Tidy(c.message);
    const std::string pw = PasswordOf(cfg_.dsn);
    if (pw.size() >= 3) {
      for (auto& c : report_.checks) {
        for (size_t at; (at = c.message.find(pw)) != std::string::npos;) c.message.replace(at, pw.size(), "***");
      }
    }
    return std::move(report_);
  }

 private:
  static size_t Rank(const std::string& name) {
    const size_t n = std::size(kDoctorChecks);
    for (size_t i = 0; i < n; ++i) {
      if (name == kDoctorChecks[i]) return i;
    }
    return n;
  }

  void Add(std::string name, R r, std::string message) {
    report_.checks.push_back({std::move(name), r, std::move(message)});
  }
  // A check whose query failed: the check fails with the reason.
  void QueryFailed(const std::string& name, const Status& st) {
    Add(name, R::kFailed, "could not check: " + st.message());
  }

  void RunChecks() {
    auto conn = PgConn::Connect(cfg_.dsn);
    if (!conn.ok()) {
      std::string msg = conn.status().message();
      if (Contains(msg, "password authentication failed") || Contains(msg, "no password supplied")) {
        msg += "; check the role's password (use PGPASSWORD or ~/.pgpass, never the dsn)";
      } else if (Contains(msg, "pg_hba.conf")) {
        msg += "; add a pg_hba.conf entry for this role, database and host, then reload PostgreSQL";
      } else if (Contains(msg, "does not exist")) {
        msg += "; fix the role or database name in the dsn";
      } else {
        msg += "; check the dsn and that the server is running and reachable from here";
      }
      Add("connection", R::kFailed, msg);
      skip_reason_ = "not checked: no connection to PostgreSQL";
      return;
    }
    PgConn& sql = *conn;
    {
      auto r = sql.Exec(
          "SELECT current_user, current_database(), quote_ident(current_user), "
          "quote_ident(current_database())");
      if (!r.ok()) {
        QueryFailed("connection", r.status());
        skip_reason_ = "not checked: the connection does not work";
        return;
      }
      user_ = Val(*r, 0, 0);
      db_ = Val(*r, 0, 1);
      user_ident_ = Val(*r, 0, 2);
      db_ident_ = Val(*r, 0, 3);
      Add("connection", R::kOk,
          "connected to " + RedactDsn(cfg_.dsn) + " as role '" + user_ + "', database '" + db_ + "'");
    }
    CheckReplicationConnection();
    CheckVersion(sql);
    CheckWalLevel(sql);
    CheckRole(sql);
    CheckSlotCapacity(sql);
    CheckWalSenders(sql);
    if (!LoadTables(sql)) return;
    CheckTables();
    CheckPrivileges();
    CheckRowSecurity();
    CheckPublication();
    CheckSlot(sql);
    CheckReplicaIdentity();
  }

  void CheckReplicationConnection() {
    const std::string name = "replication connection";
    auto repl = PgConn::Connect(cfg_.dsn, /*replication=*/true);
    if (!repl.ok()) {
      const std::string& m = repl.status().message();
      std::string fix;
      if (Contains(m, "superuser or replication role") || Contains(m, "permission denied to start WAL sender")) {
        fix = "role '" + user_ + "' may not open replication connections; as a superuser run ALTER ROLE " +
              user_ident_ + " REPLICATION";
      } else if (Contains(m, "max_wal_senders") || Contains(m, "too many")) {
        fix =
            "no WAL sender is free; raise max_wal_senders in postgresql.conf and restart PostgreSQL, or stop an "
            "unused replication consumer";
      } else if (Contains(m, "pg_hba.conf")) {
        fix =
            "pg_hba.conf rejects it; a logical replication connection is matched by its database name (not the "
            "'replication' keyword), so allow this role on database '" +
            db_ + "' and reload PostgreSQL";
      } else {
        fix = "a normal connection works, so check the server log for why the WAL sender was refused";
      }
      Add(name, R::kFailed, "the server refused a replication connection (" + Tidy(Reason(m)) + "); " + fix);
      return;
    }
    // A walsender that answers IDENTIFY_SYSTEM can create and stream slots.
    auto r = repl->Exec("IDENTIFY_SYSTEM");
    if (!r.ok()) {
      Add(name, R::kFailed, "the replication connection does not answer IDENTIFY_SYSTEM: " + r.status().message());
      return;
    }
    repl_ok_ = true;
    Add(name, R::kOk, "a replication connection (replication=database) to database '" + db_ + "' works");
  }

  void CheckVersion(PgConn& sql) {
    const std::string name = "server version";
    const int v = sql.server_version();
    auto shown = sql.QueryValue("SHOW server_version");
    const std::string text = "PostgreSQL " + (shown.ok() && *shown ? **shown : std::to_string(v));
    if (v < 100000) {
      Add(name, R::kFailed, text + " is too old: capture needs PostgreSQL 10 or later (pgoutput); upgrade the server");
    } else if (v < 140000) {
      Add(name, R::kWarning,
          text +
              " works, but large transactions are only streamed (protocol v2) from PostgreSQL 14 on; until "
              "then the server decodes each one whole and spills it to disk before sending, consider upgrading");
    } else {
      Add(name, R::kOk, text);
    }
  }

  void CheckWalLevel(PgConn& sql) {
    auto r = sql.QueryValue("SHOW wal_level");
    if (!r.ok()) return QueryFailed("wal_level", r.status());
    const std::string level = r->value_or("");
    if (level == "logical") {
      Add("wal_level", R::kOk, "logical");
    } else {
      Add("wal_level", R::kFailed,
          "wal_level is '" + level +
              "'; set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = "
              "logical as a superuser) and restart PostgreSQL");
    }
  }

  void CheckRole(PgConn& sql) {
    const std::string name = "replication role";
    auto r = sql.ExecParams("SELECT rolreplication, rolsuper FROM pg_roles WHERE rolname = current_user", {});
    if (!r.ok()) return QueryFailed(name, r.status());
    if (PQntuples(r->get()) == 0) return Add(name, R::kFailed, "role '" + user_ + "' is not in pg_roles");
    superuser_ = Bool(*r, 0, 1);
    const bool replication = Bool(*r, 0, 0);
    if (superuser_) {
      Add(name, R::kOk,
          "role '" + user_ +
              "' is a superuser (works; a role with only LOGIN REPLICATION and SELECT on the tables "
              "is enough, see docs/doctor.md)");
    } else if (replication) {
      Add(name, R::kOk, "role '" + user_ + "' has REPLICATION");
    } else if (repl_ok_) {
      // Managed services (e.g. rds_replication) grant replication by role
      // membership instead of the attribute; the server has the last word.
      Add(name, R::kOk,
          "role '" + user_ +
              "' lacks the REPLICATION attribute, but the server accepts its replication "
              "connections (a managed service's replication role)");
    } else {
      Add(name, R::kFailed,
          "role '" + user_ + "' has neither REPLICATION nor superuser; as a superuser run ALTER ROLE " + user_ident_ +
              " REPLICATION");
    }
  }

  void CheckSlotCapacity(PgConn& sql) {
    const std::string name = "replication slots";
    auto r = sql.ExecParams(
        "SELECT current_setting('max_replication_slots')::int, "
        "(SELECT count(*) FROM pg_replication_slots), "
        "EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
        {cfg_.slot});
    if (!r.ok()) return QueryFailed(name, r.status());
    const int max = std::atoi(Val(*r, 0, 0).c_str());
    const int used = std::atoi(Val(*r, 0, 1).c_str());
    const bool ours = Bool(*r, 0, 2);
    const std::string counts = std::to_string(used) + " of max_replication_slots = " + std::to_string(max) + " in use";
    if (ours) {
      Add(name, R::kOk, counts + ", including slot '" + cfg_.slot + "'");
    } else if (max == 0) {
      Add(name, R::kFailed,
          "max_replication_slots is 0; set it to at least 1 (plus one per other consumer) in postgresql.conf and "
          "restart PostgreSQL");
    } else if (used >= max) {
      Add(name, R::kFailed,
          counts + ": capture cannot create slot '" + cfg_.slot +
              "'; drop an unused slot with SELECT "
              "pg_drop_replication_slot('name') or raise max_replication_slots and restart PostgreSQL");
    } else {
      Add(name, R::kOk, counts + "; slot '" + cfg_.slot + "' will take one");
    }
  }

  void CheckWalSenders(PgConn& sql) {
    const std::string name = "wal senders";
    auto r = sql.Exec("SELECT current_setting('max_wal_senders')::int, (SELECT count(*) FROM pg_stat_replication)");
    if (!r.ok()) return QueryFailed(name, r.status());
    const int max = std::atoi(Val(*r, 0, 0).c_str());
    const int used = std::atoi(Val(*r, 0, 1).c_str());
    const std::string counts = std::to_string(used) + " of max_wal_senders = " + std::to_string(max) + " in use";
    if (max == 0) {
      Add(name, R::kFailed,
          "max_wal_senders is 0; set it to at least 1 (plus one per other replica or consumer) in postgresql.conf "
          "and restart PostgreSQL");
    } else if (used >= max) {
      Add(name, R::kWarning,
          counts +
              ": capture's connection will be refused until one is free; raise max_wal_senders and restart "
              "PostgreSQL");
    } else {
      Add(name, R::kOk, counts);
    }
  }

  // Loads every user table, the selection, and the publication. False if the
  // catalog cannot be read (the remaining checks are then reported failed).
  bool LoadTables(PgConn& sql) {
    const bool v12 = sql.server_version() >= 120000;
    auto r = sql.Exec(
        "SELECT c.oid::text, n.nspname || '.' || c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
        "c.relispartition, c.relreplident, "
        "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), "
        "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident), "
        "has_table_privilege(c.oid, 'SELECT'), pg_has_role(c.relowner, 'USAGE'), "
        "has_schema_privilege(n.oid, 'USAGE'), quote_ident(n.nspname), row_security_active(c.oid), c.relkind = 'p' "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY n.nspname, c.relname");
    if (!r.ok()) {
      for (const char* n : {"tables", "table privileges", "row-level security", "publication", "replica identity"})
        QueryFailed(n, r.status());
      return false;
    }
    for (int i = 0; i < PQntuples(r->get()); ++i) {
      Table t;
      t.oid = Val(*r, i, 0);
      t.name = Val(*r, i, 1);
      t.display = Val(*r, i, 2);
      t.partition = Bool(*r, i, 3);
      t.replident = Val(*r, i, 4).empty() ? 'd' : Val(*r, i, 4)[0];
      t.has_pk = Bool(*r, i, 5);
      t.has_replident_index = Bool(*r, i, 6);
      t.can_select = Bool(*r, i, 7);
      t.owned = Bool(*r, i, 8);
      t.schema_usage = Bool(*r, i, 9);
      t.schema_display = Val(*r, i, 10);
      t.row_security = Bool(*r, i, 11);
      t.partitioned = Bool(*r, i, 12);
      if (!t.partition && GlobMatchAny(cfg_.tables, t.name) && !GlobMatchAny(cfg_.exclude_tables, t.name)) {
        selected_.push_back(t.oid);
      }
      tables_.emplace(t.oid, std::move(t));
    }

    auto create = sql.QueryValue("SELECT has_database_privilege(current_database(), 'CREATE')");
    can_create_in_db_ = create.ok() && *create && **create == "t";

    auto pub = sql.ExecParams("SELECT puballtables, pubinsert, pubupdate, pubdelete, " +
                                  std::string(sql.server_version() >= 110000 ? "pubtruncate" : "true") +
                                  ", quote_ident(pubname), " +
                                  std::string(sql.server_version() >= 130000 ? "pubviaroot" : "true") +
                                  " FROM pg_publication WHERE pubname = $1",
                              {cfg_.publication});
    if (!pub.ok()) {
      pub_error_ = pub.status();
      return true;
    }
    if (PQntuples(pub->get()) == 0) return true;
    pub_exists_ = true;
    pub_all_ = Bool(*pub, 0, 0);
    const char* actions[] = {"insert", "update", "delete", "truncate"};
    for (int i = 0; i < 4; ++i) {
      if (!Bool(*pub, 0, i + 1)) pub_unpublished_.push_back(actions[i]);
    }
    pub_ident_ = Val(*pub, 0, 5);
    pub_via_root_ = Bool(*pub, 0, 6);
    // pg_publication_tables lists leaf partitions unless publish_via_partition_root:
    // map them to their root, which is what the patterns select.
    const std::string root = v12 ? "coalesce(pg_partition_root(c.oid)::oid, c.oid)" : "c.oid";
    const std::string filter = sql.server_version() >= 150000 ? "bool_or(pt.rowfilter IS NOT NULL)" : "false";
    auto pt = sql.ExecParams("SELECT " + root + "::text, " + filter +
                                 " FROM pg_publication_tables pt JOIN pg_namespace n ON n.nspname = pt.schemaname "
                                 "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename "
                                 "WHERE pt.pubname = $1 GROUP BY 1",
                             {cfg_.publication});
    if (!pt.ok()) {
      pub_error_ = pt.status();
      return true;
    }
    for (int i = 0; i < PQntuples(pt->get()); ++i) {
      const std::string oid = Val(*pt, i, 0);
      if (tables_.count(oid) == 0) continue;
      pub_tables_.insert(oid);
      if (Bool(*pt, i, 1)) pub_filtered_.push_back(tables_[oid].display);
    }
    return true;
  }

  // What capture reads: the publication's tables if it exists, the selection
  // otherwise - and the selection anyway, since the operator means to capture it.
  std::vector<const Table*> Captured() const {
    std::set<std::string> oids(selected_.begin(), selected_.end());
    oids.insert(pub_tables_.begin(), pub_tables_.end());
    std::vector<const Table*> out;
    for (const auto& [oid, t] : tables_) {
      if (oids.count(oid)) out.push_back(&t);
    }
    std::sort(out.begin(), out.end(), [](const Table* a, const Table* b) { return a->name < b->name; });
    return out;
  }

  std::vector<std::string> Displays(const std::vector<std::string>& oids) const {
    std::vector<std::string> out;
    for (const auto& oid : oids) out.push_back(tables_.at(oid).display);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string SelectionText() const {
    std::string s = "tables = " + Patterns(cfg_.tables);
    if (!cfg_.exclude_tables.empty()) s += " minus exclude_tables = " + Patterns(cfg_.exclude_tables);
    return s;
  }

  void CheckTables() {
    const std::string name = "tables";
    if (!selected_.empty()) {
      Add(name, R::kOk,
          std::to_string(selected_.size()) + " table(s) match " + SelectionText() + ": " + List(Displays(selected_)));
    } else if (pub_exists_ && !pub_tables_.empty()) {
      Add(name, R::kWarning,
          "no table in database '" + db_ + "' matches " + SelectionText() + "; capture follows publication '" +
              cfg_.publication + "' (" + std::to_string(pub_tables_.size()) +
              " tables) regardless, but fix the patterns so they describe what is captured");
    } else {
      Add(name, R::kFailed,
          "no table in database '" + db_ + "' matches " + SelectionText() +
              "; patterns are schema.table with '*' and '?' wildcards (e.g. 'public.*'), so fix them or check "
              "that the dsn names the right database");
    }
  }

  void CheckPrivileges() {
    const std::string name = "table privileges";
    const auto captured = Captured();
    if (captured.empty()) return Add(name, R::kSkipped, "not checked: no table to capture");
    std::vector<std::string> missing;
    std::set<std::string> schemas;
    for (const Table* t : captured) {
      if (!t->can_select) missing.push_back(t->display);
      if (!t->schema_usage) schemas.insert(t->schema_display);
    }
    if (!schemas.empty()) {
      // has_table_privilege ignores the schema; without USAGE the snapshot's
      // SELECT still fails ("permission denied for schema").
      const std::vector<std::string> s(schemas.begin(), schemas.end());
      std::string msg = "role '" + user_ + "' lacks USAGE on schema " + List(s) + " (needed to read its tables)";
      if (!missing.empty()) msg += " and SELECT on " + List(missing);
      msg += "; as the owner or a superuser run GRANT USAGE ON SCHEMA " + SqlList(s) + " TO " + user_ident_;
      if (!missing.empty()) msg += " and GRANT SELECT ON " + SqlList(missing) + " TO " + user_ident_;
      return Add(name, R::kFailed, msg);
    }
    if (missing.empty()) {
      Add(name, R::kOk,
          "role '" + user_ + "' can SELECT all " + std::to_string(captured.size()) + " table(s) to capture");
    } else {
      Add(name, R::kFailed,
          "role '" + user_ + "' lacks SELECT (needed for the snapshot) on " + List(missing) +
              "; as the owner or a superuser run GRANT SELECT ON " + SqlList(missing) + " TO " + user_ident_);
    }
  }

  // The snapshot's SELECT sees what the role's policies let it see, while the
  // stream carries every row: a policy that hides rows leaves them out of the
  // snapshot without an error. A warning, not a failure: a policy may well
  // show this role every row, which only its author knows.
  void CheckRowSecurity() {
    const std::string name = "row-level security";
    const auto captured = Captured();
    if (captured.empty()) return Add(name, R::kSkipped, "not checked: no table to capture");
    std::vector<std::string> applies;
    for (const Table* t : captured) {
      if (t->row_security) applies.push_back(t->display);
    }
    if (applies.empty()) {
      return Add(name, R::kOk, "no row-level security policy applies to role '" + user_ + "' on the tables to capture");
    }
    Add(name, R::kWarning,
        "row-level security applies to role '" + user_ + "' on " + List(applies) +
            ": the snapshot reads only the rows its policies show that role, while the stream has every change; "
            "as a superuser run ALTER ROLE " +
            user_ident_ + " BYPASSRLS");
  }

  std::string CreatePublicationSql() const {
    const auto names = Displays(selected_);
    return "CREATE PUBLICATION " + PubIdent() + " FOR TABLE " + (names.empty() ? "..." : SqlList(names)) +
           " WITH (publish_via_partition_root = true)";
  }
  std::string PubIdent() const {
    if (!pub_ident_.empty()) return pub_ident_;
    // Quote like quote_ident does: only when needed.
    bool plain = !cfg_.publication.empty() && !(cfg_.publication[0] >= '0' && cfg_.publication[0] <= '9');
    for (char c : cfg_.publication) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) plain = false;
    }
    if (plain) return cfg_.publication;
    std::string q = "\"";
    for (char c : cfg_.publication) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }

  void CheckPublication() {
    const std::string name = "publication";
    const std::string pub = "publication '" + cfg_.publication + "'";
    if (!pub_error_.ok()) return QueryFailed(name, pub_error_);
    if (!pub_exists_) {
      if (selected_.empty()) {
        return Add(name, R::kSkipped, pub + " does not exist and no table is selected to create it for");
      }
      if (!cfg_.create_publication) {
        return Add(name, R::kFailed,
                   pub + " does not exist and create_publication is off; as a superuser (or the tables' owner) run " +
                       CreatePublicationSql());
      }
      if (superuser_) {
        return Add(name, R::kOk,
                   pub + " does not exist; capture will create it at first start for " +
                       std::to_string(selected_.size()) + " table(s)");
      }
      std::vector<std::string> reasons;
      std::vector<std::string> not_owned;
      for (const auto& oid : selected_) {
        if (!tables_.at(oid).owned) not_owned.push_back(tables_.at(oid).display);
      }
      std::sort(not_owned.begin(), not_owned.end());
      if (!can_create_in_db_) reasons.push_back("it lacks CREATE on database '" + db_ + "'");
      if (!not_owned.empty()) reasons.push_back("it does not own " + List(not_owned));
      if (reasons.empty()) {
        return Add(name, R::kOk,
                   pub + " does not exist; capture will create it at first start for " +
                       std::to_string(selected_.size()) + " table(s)");
      }
      return Add(name, R::kFailed,
                 pub + " does not exist and role '" + user_ + "' cannot create it (" + List(reasons, 2) +
                     "); create it beforehand as a superuser: " + CreatePublicationSql());
    }

    if (pub_tables_.empty()) {
      return Add(name, R::kFailed,
                 pub + " exists but holds no table, so nothing would be captured; run ALTER PUBLICATION " + PubIdent() +
                     " ADD TABLE " + (selected_.empty() ? "..." : SqlList(Displays(selected_))));
    }
    std::vector<std::string> problems;
    std::vector<std::string> missing, extra;
    for (const auto& oid : selected_) {
      if (!pub_tables_.count(oid)) missing.push_back(oid);
    }
    for (const auto& oid : pub_tables_) {
      if (std::find(selected_.begin(), selected_.end(), oid) == selected_.end()) extra.push_back(oid);
    }
    if (!missing.empty()) {
      problems.push_back(std::to_string(missing.size()) +
                         " selected table(s) are not in it and will not be captured (" + List(Displays(missing)) +
                         "; as their owner or a superuser run ALTER PUBLICATION " + PubIdent() + " ADD TABLE " +
                         SqlList(Displays(missing)) + ")");
    }
    if (!extra.empty() && !selected_.empty()) {
      problems.push_back(std::to_string(extra.size()) +
                         " of its table(s) are not selected but will be captured "
                         "anyway, because capture follows the publication (" +
                         List(Displays(extra)) + "; drop them with ALTER PUBLICATION " + PubIdent() +
                         " DROP TABLE ... or widen the patterns)");
    }
    if (!pub_unpublished_.empty()) {
      problems.push_back("it does not publish " + List(pub_unpublished_) +
                         ", so those changes are never captured (ALTER PUBLICATION " + PubIdent() +
                         " SET (publish = 'insert, update, delete, truncate'))");
    }
    if (!pub_filtered_.empty()) {
      problems.push_back("it has row filters on " + List(pub_filtered_) +
                         ", so only matching rows are captured and updates that move a row out of the filter "
                         "arrive as deletes");
    }
    std::vector<std::string> partitioned;
    for (const auto& oid : pub_tables_) {
      if (tables_.at(oid).partitioned) partitioned.push_back(oid);
    }
    if (!pub_via_root_ && !partitioned.empty()) {
      problems.push_back("it publishes " + List(Displays(partitioned)) +
                         " as their partitions, so each partition's rows and changes go to a topic of its own "
                         "and none to the table's (ALTER PUBLICATION " +
                         PubIdent() + " SET (publish_via_partition_root = true))");
    }
    std::string desc = pub + " exists with " + std::to_string(pub_tables_.size()) + " table(s)" +
                       (pub_all_ ? " (FOR ALL TABLES)" : "") + ": " +
                       List(Displays({pub_tables_.begin(), pub_tables_.end()}));
    if (problems.empty()) return Add(name, R::kOk, desc);
    std::string msg = desc + "; but ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; and " : "") + problems[i];
    Add(name, R::kWarning, msg);
  }

  void CheckSlot(PgConn& sql) {
    const std::string name = "slot";
    const std::string slot = "slot '" + cfg_.slot + "'";
    const bool v13 = sql.server_version() >= 130000;
    auto r = sql.ExecParams("SELECT slot_type, plugin, database, active, active_pid, " +
                                std::string(v13 ? "wal_status" : "NULL") +
                                ", pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                                "ELSE pg_current_wal_lsn() END, confirmed_flush_lsn)::bigint, temporary "
                                "FROM pg_replication_slots WHERE slot_name = $1",
                            {cfg_.slot});
    if (!r.ok()) return QueryFailed(name, r.status());
    if (PQntuples(r->get()) == 0) {
      return Add(name, R::kOk, slot + " does not exist yet; capture will create it at first start");
    }
    const std::string type = Val(*r, 0, 0), plugin = Val(*r, 0, 1), database = Val(*r, 0, 2);
    const bool active = Bool(*r, 0, 3);
    const std::string pid = Val(*r, 0, 4), wal_status = Val(*r, 0, 5), lag_text = Val(*r, 0, 6);
    const int64_t lag = lag_text.empty() ? 0 : std::atoll(lag_text.c_str());
    const std::string drop = "SELECT pg_drop_replication_slot('" + cfg_.slot + "')";
    if (type != "logical") {
      return Add(name, R::kFailed,
                 slot + " is a " + type + " slot, not a logical one; choose another slot name (or " + drop +
                     " if nothing uses it)");
    }
    if (plugin != "pgoutput") {
      return Add(name, R::kFailed,
                 slot + " uses plugin " + plugin + ", not pgoutput; choose another slot name, or " + drop +
                     " if nothing else uses it");
    }
    if (database != db_) {
      return Add(name, R::kFailed,
                 slot + " belongs to database '" + database + "', not '" + db_ +
                     "'; logical slots are per database, so choose another slot name or point the dsn at '" + database +
                     "'");
    }
    if (wal_status == "lost") {
      return Add(name, R::kFailed,
                 slot +
                     " was invalidated (wal_status = lost): the server removed WAL capture had not read, so "
                     "changes were lost; run ghostlog run --resnapshot");
    }
    std::vector<std::string> warnings;
    if (wal_status == "unreserved") {
      warnings.push_back(
          "its WAL is about to be removed (wal_status = unreserved, max_slot_wal_keep_size exceeded) "
          "and the slot will then be invalidated; start capture now or raise max_slot_wal_keep_size");
    }
    if (active) {
      warnings.push_back("it is in use by another process (pid " + pid +
                         "): a slot has one consumer at a time, so stop that consumer (or the running ghostlog) or "
                         "choose another slot name");
    }
    if (lag > (int64_t{1} << 30)) {
      warnings.push_back("it is " + Bytes(lag) +
                         " behind the server's WAL, which the server keeps on disk until capture catches up");
    }
    if (Bool(*r, 0, 7)) warnings.push_back("it is a temporary slot and disappears with its session");
    const std::string desc = slot + " (pgoutput) exists, " + Bytes(lag) + " behind the current WAL position";
    if (warnings.empty()) return Add(name, R::kOk, desc);
    std::string msg = desc + "; but ";
    for (size_t i = 0; i < warnings.size(); ++i) msg += (i ? "; and " : "") + warnings[i];
    Add(name, R::kWarning, msg);
  }

  void CheckReplicaIdentity() {
    const std::string name = "replica identity";
    const auto captured = Captured();
    if (captured.empty()) return Add(name, R::kSkipped, "not checked: no table to capture");
    std::vector<std::string> none;
    for (const Table* t : captured) {
      const bool has_identity =
          t->replident == 'f' || (t->replident == 'd' && t->has_pk) || (t->replident == 'i' && t->has_replident_index);
      if (!has_identity) none.push_back(t->display);
    }
    if (none.empty()) {
      return Add(name, R::kOk,
                 "all " + std::to_string(captured.size()) + " table(s) have a primary key or replica identity");
    }
    const std::string& first = none.front();
    Add(name, R::kWarning,
        std::to_string(none.size()) + " table(s) have no primary key or replica identity (" + List(none) +
            "): PostgreSQL rejects UPDATE and DELETE on such a table once it is in a publication that publishes "
            "them, and they cannot be captured; add a primary key (ALTER TABLE " +
            first + " ADD PRIMARY KEY (...)) or, failing that, ALTER TABLE " + first + " REPLICA IDENTITY FULL");
  }

  const CaptureConfig& cfg_;
  DoctorReport report_;
  std::string skip_reason_;
  std::string user_, db_, user_ident_, db_ident_;
  bool repl_ok_ = false;
  bool superuser_ = false;
  bool can_create_in_db_ = false;

  std::map<std::string, Table> tables_;  // by oid
  std::vector<std::string> selected_;    // oids, in name order
  bool pub_exists_ = false;
  bool pub_all_ = false;
  std::string pub_ident_;
  Status pub_error_;
  std::set<std::string> pub_tables_;  // oids (partitions mapped to their root)
  std::vector<std::string> pub_unpublished_;
  std::vector<std::string> pub_filtered_;
  bool pub_via_root_ = true;
};

}  // namespace

bool DoctorReport::ok() const {
  return std::none_of(checks.begin(), checks.end(), [](const DoctorCheck& c) { return c.result == R::kFailed; });
}

const DoctorCheck* DoctorReport::Find(const std::string& name) const {
  for (const auto& c : checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const char* DoctorResultName(DoctorCheck::Result r) {
  switch (r) {
    case R::kOk:
      return "ok";
    case R::kWarning:
      return "warning";
    case R::kFailed:
      return "failed";
    case R::kSkipped:
      return "skipped";
  }
  return "?";
}

DoctorReport Doctor(const CaptureConfig& config) {
  try {
    return DoctorRun(config).Run();
  } catch (...) {
    DoctorReport r;
    r.checks.push_back({"internal", R::kFailed, "doctor itself failed unexpectedly (a bug, please report it)"});
    return r;
  }
}

std::string FormatReport(const DoctorReport& report) {
  std::string out;
  for (const auto& c : report.checks) {
    const char* tag = c.result == R::kOk        ? "ok      "
                      : c.result == R::kWarning ? "warning "
                      : c.result == R::kFailed  ? "FAILED  "
                                                : "skipped ";
    out += tag + c.name + ": " + c.message + "\n";
  }
  return out;
}

nlohmann::json ReportJson(const DoctorReport& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : report.checks) {
    checks.push_back({{"name", c.name}, {"result", DoctorResultName(c.result)}, {"message", c.message}});
  }
  return {{"ok", report.ok()}, {"checks", checks}};
}

}  // namespace ghostlog::capture
