#include <algorithm>
#include <charconv>

#include "embedded_log_impl.h"
#include "ghostlog/log/types.h"

namespace ghostlog::log {
namespace {

Status ParseInt(const std::string& key, const std::string& value, int64_t min, int64_t* out) {
  int64_t v = 0;
  const char* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data(), end, v);
  if (ec != std::errc() || p != end || value.empty()) {
    return Status::InvalidArgument("config " + key + "='" + value + "' is not an integer");
  }
  if (v < min) {
    return Status::InvalidArgument("config " + key + "=" + value + " must be >= " + std::to_string(min));
  }
  *out = v;
  return Status::OK();
}

bool IsTopicNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

}  // namespace

Status ValidateTopicName(const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") {
    return Status::InvalidArgument("topic name '" + name + "' must be 1 to 249 characters and not '.' or '..'");
  }
  if (!std::all_of(name.begin(), name.end(), IsTopicNameChar)) {
    return Status::InvalidArgument("topic name '" + name + "' may only contain letters, digits, '.', '_' and '-'");
  }
  return Status::OK();
}

std::string LegalTopicName(std::string_view name) {
  std::string legal;
  legal.reserve(name.size());
  for (char c : name) {
    if (IsTopicNameChar(c)) {
      legal += c;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {  // one '_' per UTF-8 character
      legal += '_';
    }
  }
  return legal;
}

TopicConfig TopicConfig::Compacted() {
  TopicConfig c;
  c.cleanup_compact = true;
  c.cleanup_delete = false;
  c.retention_ms = -1;
  return c;
}

std::string TopicConfig::cleanup_policy() const {
  if (cleanup_compact && cleanup_delete) return "compact,delete";
  return cleanup_compact ? "compact" : "delete";
}

Status TopicConfig::Set(const std::string& key, const std::string& value) {
  if (key == "cleanup.policy") {
    if (value == "delete") {
      cleanup_delete = true, cleanup_compact = false;
    } else if (value == "compact") {
      cleanup_delete = false, cleanup_compact = true;
    } else if (value == "compact,delete" || value == "delete,compact") {
      cleanup_delete = true, cleanup_compact = true;
    } else {
      return Status::InvalidArgument("config cleanup.policy='" + value +
                                     "' must be delete, compact or compact,delete");
    }
    return Status::OK();
  }
  if (key == "retention.ms") return ParseInt(key, value, -1, &retention_ms);
  if (key == "retention.bytes") return ParseInt(key, value, -1, &retention_bytes);
  if (key == "delete.retention.ms") return ParseInt(key, value, 0, &delete_retention_ms);
  if (key == "min.compaction.lag.ms") return ParseInt(key, value, 0, &min_compaction_lag_ms);
  return Status::InvalidArgument(
      "unknown topic config '" + key +
      "' (known: cleanup.policy, retention.ms, retention.bytes, delete.retention.ms, "
      "min.compaction.lag.ms)");
}

std::map<std::string, std::string> TopicConfig::ToMap() const {
  return {
      {"cleanup.policy", cleanup_policy()},
      {"delete.retention.ms", std::to_string(delete_retention_ms)},
      {"min.compaction.lag.ms", std::to_string(min_compaction_lag_ms)},
      {"retention.bytes", std::to_string(retention_bytes)},
      {"retention.ms", std::to_string(retention_ms)},
  };
}

}  // namespace ghostlog::log
