// Mapping files: one source table to one target table, as data.
//
// A mapping file is TOML; each target column is a SQLite SQL expression over
// the source row (docs/transform.md). Loading checks the file's shape and
// that every expression parses, so a broken mapping is refused at start with
// its file, line and reason rather than failing on the first record.
//
// Thread-safety: plain values; the loader has no state.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ghostlog/log/status.h"

namespace ghostlog::transform {

struct Mapping {
  std::string file;              // where it came from, for messages
  std::string name;              // file name without directory and ".toml": the mapping's identity in state
  std::string source;            // schema.table
  std::string target;            // schema.table
  std::vector<std::string> key;  // target key columns
  std::string where;             // optional filter
  std::string each;              // optional extra FROM item (fan-out)
  std::vector<std::pair<std::string, std::string>> columns;  // target column -> expression, in file order
  std::map<std::string, int> lines;                          // "columns.x", "where", ... -> line in the file

  // "file:line" for a key of the file ("columns.name", "where"), or just the file.
  std::string Where(const std::string& key) const;
};

// Parses one mapping file's text. `file` names it in messages.
Result<Mapping> ParseMapping(const std::string& file, std::string_view text);

// Loads a mapping file, or every *.toml file of a directory in name order.
// Refuses two mappings with the same name and a directory without mappings.
Result<std::vector<Mapping>> LoadMappings(const std::string& path);

}  // namespace ghostlog::transform
