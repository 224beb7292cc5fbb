// Records as JSON lines: what `produce` reads and `consume` writes.
//
// Keys and values are bytes in the log; --key-format/--value-format say how
// those bytes look in JSON:
//   json    the JSON value itself, stored as its compact text (dump());
//           read back as JSON, or as a string if the stored bytes are not JSON
//   string  a JSON string, stored as its UTF-8 bytes
//   base64  a JSON string holding base64, stored decoded
// Header values are strings. Bytes that are not valid UTF-8 (a header value,
// a string-format key or value, a non-JSON json-format value) cannot be a JSON
// string; they are written as {"base64": "..."}, and produce accepts that
// form for header values too.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "ghostlog/log/types.h"

namespace ghostlog::cli {

enum class Format { kJson, kString, kBase64 };

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);  // nullopt: not valid padded base64

// One input line: {"key":…, "value":…|null, "headers":{…}, "timestamp": ms}.
// Only "value" is required. The error message says what is wrong, not where.
Result<log::RecordIn> ParseRecordLine(const std::string& line, Format key_format, Format value_format);

// One output line's document, fields in a fixed order.
nlohmann::ordered_json RecordToJson(const std::string& topic, log::PartitionId partition, const log::Record& r,
                                    Format key_format, Format value_format);

}  // namespace ghostlog::cli
