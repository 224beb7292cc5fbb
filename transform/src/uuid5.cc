#include "uuid5.h"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <cctype>

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

boost::uuids::uuid Namespace(std::string_view ns) {
  if (auto u = ParseUuid(ns)) return FromText(*u);
  static const boost::uuids::uuid root = FromText(kGhostlogNamespace);
  return boost::uuids::name_generator_sha1(root)(ns.data(), ns.size());
}
}  // namespace

std::string Uuid5(std::string_view ns, std::string_view name) {
  return boost::uuids::to_string(boost::uuids::name_generator_sha1(Namespace(ns))(name.data(), name.size()));
}

}  // namespace ghostlog::transform
