// A throwaway PostgreSQL 15 cluster per test (scripts/pg-cluster), and a
// little libpq for test SQL. Real server, wal_level=logical, unix socket only.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ghostlog::testing {

inline std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd + "\n" + out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class PgCluster {
 public:
  PgCluster() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ghostlog-pg-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = tmpl;
    ::chmod(root_.c_str(), 0711);  // the postgres user must reach the cluster dir inside
    dsn_ = RunCommand(Script() + " start " + dir() + " 2>&1");
  }
  ~PgCluster() {
    try {
      RunCommand(Script() + " stop " + dir() + " 2>&1");
    } catch (...) {
    }
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  PgCluster(const PgCluster&) = delete;

  const std::string& dsn() const { return dsn_; }
  std::string dir() const { return root_ + "/pg"; }
  void Kill() { RunCommand(Script() + " kill " + dir() + " 2>&1"); }
  void Start() { RunCommand(Script() + " start " + dir() + " 2>&1"); }
  void Restart() { RunCommand(Script() + " restart " + dir() + " 2>&1"); }

  // Runs SQL on a fresh connection; returns the rows (tab-separated columns).
  std::vector<std::string> Query(const std::string& sql) const { return QueryDsn(dsn_, sql); }
  void Exec(const std::string& sql) const { Query(sql); }
  std::string Value(const std::string& sql) const {
    auto rows = Query(sql);
    return rows.empty() ? std::string() : rows[0];
  }
  // The same, in another database of this cluster.
  std::string DsnOf(const std::string& db) const { return dsn_ + " dbname=" + db; }
  void ExecIn(const std::string& db, const std::string& sql) const { QueryDsn(DsnOf(db), sql); }
  std::string ValueIn(const std::string& db, const std::string& sql) const {
    auto rows = QueryDsn(DsnOf(db), sql);
    return rows.empty() ? std::string() : rows[0];
  }

 private:
  static std::vector<std::string> QueryDsn(const std::string& dsn, const std::string& sql) {
    PGconn* c = PQconnectdb(dsn.c_str());
    std::unique_ptr<PGconn, decltype(&PQfinish)> guard(c, PQfinish);
    if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(std::string("connect: ") + PQerrorMessage(c));
    PGresult* r = PQexec(c, sql.c_str());
    std::unique_ptr<PGresult, decltype(&PQclear)> rg(r, PQclear);
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      throw std::runtime_error("SQL failed: " + sql.substr(0, 200) + ": " + PQresultErrorMessage(r));
    }
    std::vector<std::string> rows;
    for (int i = 0; i < PQntuples(r); ++i) {
      std::string row;
      for (int j = 0; j < PQnfields(r); ++j) {
        if (j) row += '\t';
        row += PQgetisnull(r, i, j) ? "\\N" : PQgetvalue(r, i, j);
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  static std::string Script() { return std::string(GHOSTLOG_SOURCE_DIR) + "/scripts/pg-cluster"; }
  std::string root_;
  std::string dsn_;
};

}  // namespace ghostlog::testing
