#include "uuid5.h"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <cctype>
#include <string>
#include <unordered_map>

namespace ghostlog::transform {

std::optional<std::string> ParseUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  }
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

namespace {
boost::uuids::uuid FromText(std::string_view text) { return boost::uuids::string_generator()(std::string(text)); }

// Mappings use a handful of namespace names over and over: each is hashed once
// per thread, not once per id.
boost::uuids::uuid Namespace(std::string_view ns) {
  thread_local std::unordered_map<std::string, boost::uuids::uuid> cache;
  if (auto it = cache.find(std::string(ns)); it != cache.end()) return it->second;
  boost::uuids::uuid id;
  if (auto u = ParseUuid(ns)) {
    id = FromText(*u);
  } else {
    static const boost::uuids::uuid root = FromText(kGhostlogNamespace);
    id = boost::uuids::name_generator_sha1(root)(ns.data(), ns.size());
  }
  if (cache.size() < 4096) cache.emplace(ns, id);
  return id;
}
}  // namespace

std::string Uuid5(std::string_view ns, std::string_view name) {
  return boost::uuids::to_string(boost::uuids::name_generator_sha1(Namespace(ns))(name.data(), name.size()));
}

}  // namespace ghostlog::transform
