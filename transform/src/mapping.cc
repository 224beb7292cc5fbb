#include "ghostlog/transform/mapping.h"

#include <toml++/toml.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace ghostlog::transform {

namespace fs = std::filesystem;

std::string Mapping::Where(const std::string& key) const {
  auto it = lines.find(key);
  return it == lines.end() ? file : file + ":" + std::to_string(it->second);
}

namespace {

int Line(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// A "schema.table" name: two non-empty parts.
bool QualifiedName(const std::string& s) {
  const size_t dot = s.find('.');
  return dot != std::string::npos && dot > 0 && dot + 1 < s.size() && s.find('.', dot + 1) == std::string::npos;
}

}  // namespace

Result<Mapping> ParseMapping(const std::string& file, std::string_view text) {
  toml::table doc;
  try {
    doc = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(file + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
  Mapping m;
  m.file = file;
  m.name = fs::path(file).stem().string();
  auto err = [&](const std::string& at, const std::string& what) {
    return Status::InvalidArgument(m.Where(at) + ": " + what);
  };
  auto string_key = [&](const char* key, std::string* out, bool required) -> Status {
    const toml::node* n = doc.get(key);
    if (n == nullptr) return required ? err("", std::string("'") + key + "' is missing") : Status::OK();
    m.lines[key] = Line(*n);
    if (!n->is_string() || n->value<std::string>()->empty())
      return err(key, std::string(key) + " must be a non-empty string");
    *out = *n->value<std::string>();
    return Status::OK();
  };
  RETURN_NOT_OK(string_key("source", &m.source, true));
  RETURN_NOT_OK(string_key("target", &m.target, true));
  RETURN_NOT_OK(string_key("where", &m.where, false));
  RETURN_NOT_OK(string_key("each", &m.each, false));
  for (const char* key : {"source", "target"}) {
    const std::string& v = std::string(key) == "source" ? m.source : m.target;
    if (!QualifiedName(v)) return err(key, std::string(key) + " = '" + v + "' must be SCHEMA.TABLE");
  }

  const toml::node* key = doc.get("key");
  if (key == nullptr) return err("", "'key' is missing (the target's key columns)");
  m.lines["key"] = Line(*key);
  const toml::array* keys = key->as_array();
  if (keys == nullptr || keys->empty()) return err("key", "key must be a non-empty array of column names");
  for (const auto& k : *keys) {
    if (!k.is_string()) return err("key", "key must be a non-empty array of column names");
    m.key.push_back(*k.value<std::string>());
  }

  const toml::node* cols = doc.get("columns");
  if (cols == nullptr) return err("", "[columns] is missing");
  m.lines["columns"] = Line(*cols);
  const toml::table* ct = cols->as_table();
  if (ct == nullptr || ct->empty()) return err("columns", "[columns] must be a table of column = \"expression\"");
  for (const auto& [name, expr] : *ct) {
    const std::string col(name.str());
    m.lines["columns." + col] = Line(expr);
    if (!expr.is_string() || expr.value<std::string>()->empty()) {
      return err("columns." + col, "columns." + col + " must be a non-empty string (an SQL expression)");
    }
    m.columns.emplace_back(col, *expr.value<std::string>());
  }
  // toml++ keeps a table's keys sorted; file order reads better in messages and output.
  std::sort(m.columns.begin(), m.columns.end(), [&](const auto& a, const auto& b) {
    return m.lines["columns." + a.first] < m.lines["columns." + b.first];
  });
  for (const auto& k : m.key) {
    const bool found = std::any_of(m.columns.begin(), m.columns.end(), [&](const auto& c) { return c.first == k; });
    if (!found) return err("key", "key column '" + k + "' is not in [columns]");
  }

  static const std::set<std::string> known = {"source", "target", "key", "where", "each", "columns"};
  for (const auto& [k, v] : doc) {
    if (!known.count(std::string(k.str()))) {
      return Status::InvalidArgument(file + ":" + std::to_string(Line(v)) + ": unknown key '" + std::string(k.str()) +
                                     "' (a mapping has source, target, key, where, each and [columns])");
    }
  }
  return m;
}

Result<std::vector<Mapping>> LoadMappings(const std::string& path) {
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".toml") files.push_back(e.path());
    }
    if (ec) return Status::IOError("cannot list mapping directory " + path + ": " + ec.message());
    if (files.empty()) return Status::InvalidArgument("mapping directory " + path + " holds no *.toml file");
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  } else {
    return Status::NotFound("mappings: " + path + " is neither a file nor a directory");
  }
  std::vector<Mapping> out;
  std::set<std::string> names;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) return Status::IOError("cannot read mapping file " + f.string());
    std::stringstream text;
    text << in.rdbuf();
    ASSIGN_OR_RAISE(Mapping m, ParseMapping(f.string(), text.str()));
    if (!names.insert(m.name).second) {
      return Status::InvalidArgument(f.string() + ": a mapping named '" + m.name + "' was already loaded");
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace ghostlog::transform
