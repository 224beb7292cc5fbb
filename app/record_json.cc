#include "record_json.h"

#include <boost/beast/core/detail/base64.hpp>

namespace ghostlog::cli {
namespace {

namespace b64 = boost::beast::detail::base64;
using ojson = nlohmann::ordered_json;

const char* FormatName(Format f) {
  switch (f) {
    case Format::kJson: return "json";
    case Format::kString: return "string";
    case Format::kBase64: return "base64";
  }
  return "?";
}

// A JSON string if the bytes are valid UTF-8 (nlohmann refuses to dump
// anything else), otherwise {"base64": "..."} so that no byte is lost.
ojson StringOrBase64(const std::string& bytes) {
  ojson s = bytes;
  try {
    (void)s.dump();
    return s;
  } catch (const nlohmann::json::type_error&) {
    return ojson{{"base64", Base64Encode(bytes)}};
  }
}

// `field` ("key" or "value") of an input line as the bytes to store.
Result<std::string> ToBytes(const ojson& j, Format f, const std::string& field) {
  if (f == Format::kJson) return j.dump();
  if (!j.is_string()) {
    return Status::InvalidArgument(field + " must be a JSON string with --" + field + "-format " + FormatName(f));
  }
  if (f == Format::kString) return j.get<std::string>();
  auto decoded = Base64Decode(j.get_ref<const std::string&>());
  if (!decoded) return Status::InvalidArgument(field + " is not valid base64");
  return *decoded;
}

ojson FromBytes(const std::string& bytes, Format f) {
  switch (f) {
    case Format::kJson: {
      ojson j = ojson::parse(bytes, nullptr, /*allow_exceptions=*/false);
      return j.is_discarded() ? StringOrBase64(bytes) : j;
    }
    case Format::kString: return StringOrBase64(bytes);
    case Format::kBase64: return Base64Encode(bytes);
  }
  return nullptr;
}

Result<std::string> HeaderValue(const std::string& name, const ojson& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.size() == 1 && v.contains("base64") && v["base64"].is_string()) {
    if (auto d = Base64Decode(v["base64"].get_ref<const std::string&>())) return *d;
  }
  return Status::InvalidArgument("header '" + name + "' must be a JSON string or {\"base64\": \"...\"}");
}

// nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 4: ..."
// reads better as "invalid JSON at column 4: ..." next to our own line number.
std::string ParseErrorMessage(const nlohmann::json::parse_error& e) {
  std::string m = e.what();
  if (auto p = m.find("] "); p != std::string::npos) m = m.substr(p + 2);
  const std::string prefix = "parse error at line 1, ";
  if (m.rfind(prefix, 0) == 0) m = "invalid JSON at " + m.substr(prefix.size());
  return m;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(b64::encoded_size(bytes.size()), '\0');
  out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  // Beast's decoder stops quietly at the first bad character, so check the
  // shape first: whole quads, '=' only as the last one or two characters.
  if (text.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  std::string out(b64::decoded_size(text.size()), '\0');
  auto [written, read] = b64::decode(out.data(), text.data(), text.size());
  if (read != text.size() - pad) return std::nullopt;
  out.resize(written);
  return out;
}

Result<log::RecordIn> ParseRecordLine(const std::string& line, Format key_format, Format value_format) {
  ojson j;  // ordered: a json-format key or value is stored with its fields as given
  try {
    j = ojson::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument(ParseErrorMessage(e));
  }
  if (!j.is_object()) return Status::InvalidArgument("expected a JSON object, got " + std::string(j.type_name()));
  for (const auto& [name, _] : j.items()) {
    if (name != "key" && name != "value" && name != "headers" && name != "timestamp") {
      return Status::InvalidArgument("unknown field '" + name + "' (expected key, value, headers, timestamp)");
    }
  }
  log::RecordIn r;
  // A missing or null key is the empty key (the log has no null keys).
  if (j.contains("key") && !j["key"].is_null()) {
    ASSIGN_OR_RAISE(r.key, ToBytes(j["key"], key_format, "key"));
  }
  if (!j.contains("value")) return Status::InvalidArgument("field 'value' is missing (null makes a tombstone)");
  if (!j["value"].is_null()) {
    ASSIGN_OR_RAISE(r.value, ToBytes(j["value"], value_format, "value"));
  }
  if (j.contains("headers")) {
    if (!j["headers"].is_object()) return Status::InvalidArgument("headers must be a JSON object");
    for (const auto& [name, v] : j["headers"].items()) {
      ASSIGN_OR_RAISE(std::string value, HeaderValue(name, v));
      r.headers.push_back({name, std::move(value)});
    }
  }
  if (j.contains("timestamp")) {
    const auto& t = j["timestamp"];
    if (!t.is_number_integer() || (t.is_number_unsigned() && t.get<uint64_t>() > INT64_MAX) ||
        t.get<int64_t>() < 0) {
      return Status::InvalidArgument("timestamp must be a non-negative integer (ms since the epoch)");
    }
    r.timestamp = t.get<int64_t>();
  }
  return r;
}

nlohmann::ordered_json RecordToJson(const std::string& topic, log::PartitionId partition, const log::Record& r,
                                    Format key_format, Format value_format) {
  ojson headers = ojson::object();
  // Duplicate header names (possible from other producers) keep the last value.
  for (const auto& h : r.headers) headers[h.key] = StringOrBase64(h.value);
  return ojson{
      {"topic", topic},
      {"partition", partition},
      {"offset", r.offset},
      {"timestamp", r.timestamp},
      {"key", FromBytes(r.key, key_format)},
      {"value", r.value ? FromBytes(*r.value, value_format) : ojson(nullptr)},
      {"headers", std::move(headers)},
  };
}

}  // namespace ghostlog::cli
