// Checking JSON text without parsing it into values.
#pragma once

#include <string_view>

namespace ghostlog::capture {

// True if `s` is one JSON text (RFC 8259): one value, optional white space
// around it, strings of valid UTF-8. Numbers may have any size or precision,
// as jsonb's (numeric) do; a parser into doubles refuses 1e400 and rounds
// 0.1000000000000000055511151231257827. No recursion: nesting depth costs
// one byte of heap per level.
bool IsJsonText(std::string_view s);

}  // namespace ghostlog::capture
