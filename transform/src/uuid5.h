// RFC 4122 name-based UUIDs (version 5, SHA-1), for deterministic target ids.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ghostlog::transform {

// The namespace of names that are not UUIDs themselves (fixed forever: changing
// it would change every id a mapping ever produced).
inline constexpr std::string_view kGhostlogNamespace = "9c4a7f8e-2f7b-5b7c-9a51-6d3b1f0e8c21";

// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case); nullopt if it is not one.
std::optional<std::string> ParseUuid(std::string_view text);

// uuid5(namespace, name) as lower-case text. `ns` is a UUID text, or any other
// text, which is first made a namespace as uuid5(kGhostlogNamespace, ns).
std::string Uuid5(std::string_view ns, std::string_view name);

}  // namespace ghostlog::transform
