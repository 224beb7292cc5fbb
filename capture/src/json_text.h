// Reading JSON text without parsing it into values.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

namespace ghostlog::capture {

// True if `s` is one JSON text (RFC 8259): one value, optional white space
// around it, strings of valid UTF-8. Numbers may have any size or precision,
// as jsonb's (numeric) do; a parser into doubles refuses 1e400 and rounds
// 0.1000000000000000055511151231257827. No recursion: nesting depth costs
// one byte of heap per level.
bool IsJsonText(std::string_view s);

// The members of the JSON object `object` as (name, value) spans of its text,
// in order: the name with its quotes and escapes, the value as written. Finds
// the spans only (brackets counted, strings skipped); check a value with
// IsJsonText before trusting it. False if `object` is not one object.
bool JsonObjectMembers(std::string_view object, std::vector<std::pair<std::string_view, std::string_view>>* members);

}  // namespace ghostlog::capture
