// Reads the parts of a change event the sink needs (op, before, after)
// straight from its JSON text, without building a JSON tree.
//
// Building an nlohmann::json tree per event, most of it the `source` block
// the sink never looks at, was most of the sink's CPU. This reader validates
// the whole text as JSON but keeps only the two row images, as flat lists of
// column name and value, in buffers reused from one event to the next.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ghostlog/log/status.h"

namespace ghostlog::sink {

// One column value of a row image.
struct JsonValue {
  enum class Kind : uint8_t { kNull, kString, kNumber, kBool, kArray, kObject };
  Kind kind = Kind::kNull;
  // kString: the unescaped string. kNumber: the number as written. kBool:
  // "true" or "false". kArray, kObject: the value's JSON text as written.
  std::string text;
};

struct JsonField {
  std::string name;
  JsonValue value;
};

// A row image: present is false when the event has none or null.
struct RowImage {
  bool present = false;
  std::vector<JsonField> fields;  // only the first `size` are this event's
  size_t size = 0;
};

struct EventView {
  std::string op;  // "c", "u", "d", "r", "t", "m"; empty if the event has none
  RowImage before, after;
};

// Fills `out` from the event text (reusing its buffers, except values over
// 1 MiB that the previous event left: a big bytea's is not kept for the next
// event). Corruption, with the byte position, if the text is not one JSON
// object.
Status ReadEvent(std::string_view json, EventView* out);

}  // namespace ghostlog::sink
