// PostgreSQL column values (text output format) to typed JSON.
//
// The mapping, documented for users in docs/types.md:
//   bool                         -> true / false
//   int2, int4, int8, oid        -> JSON number (int8 stays exact: nlohmann keeps int64)
//   float4, float8               -> JSON number; NaN, Infinity, -Infinity -> the string
//   numeric, money               -> string, exactly as PostgreSQL prints it ("12.50", "NaN")
//   text, varchar, bpchar, name, char, citext, xml, inet, cidr, macaddr, bit, varbit,
//   tsvector, enums, unknown types -> string as printed
//   uuid                         -> string (lower-case canonical form, as printed)
//   date                         -> "YYYY-MM-DD" (also "infinity"/"-infinity")
//   time                         -> "HH:MM:SS[.ffffff]"
//   timetz                       -> "HH:MM:SS[.ffffff]+HH:MM"
//   timestamp (no zone)          -> "YYYY-MM-DDTHH:MM:SS[.ffffff]" (no zone: it had none)
//   timestamptz                  -> "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (normalized to UTC)
//   interval                     -> string as printed by IntervalStyle=iso_8601 ("P1Y2M3DT4H5M6S")
//   bytea                        -> base64 of the bytes (input is PostgreSQL's hex format "\x...")
//   json, jsonb                  -> the JSON value itself (not a string)
//   arrays of any of the above   -> JSON array (nested for multi-dimensional), elements
//                                   mapped by the element type; NULL elements -> null
// The caller's session must use DateStyle=ISO, TimeZone=UTC, IntervalStyle=iso_8601,
// extra_float_digits=3, bytea_output=hex: capture sets these on its connections.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "ghostlog/log/status.h"

namespace ghostlog::capture {

using Oid = uint32_t;

// Element type of a built-in array type (e.g. 1007 int4[] -> 23), or 0.
Oid ArrayElementType(Oid array_type);

// Converts one non-NULL text-format value. InvalidArgument names the type and
// the value if the text does not parse as that type.
Result<nlohmann::json> TextToJson(Oid type_oid, std::string_view text);

// The same value as JSON text appended to `out`: TextToJson(type_oid,
// text)->dump(), without a json value for the common scalar types (bool,
// integers, numeric, uuid, text-like), except that json and jsonb values are
// checked and appended as PostgreSQL printed them: parsing turns jsonb's
// exact numbers into doubles (1.50 into 1.5, 30 digits into 17) and drops
// json's duplicate keys and spacing, which the target column keeps.
Status AppendValueJson(Oid type_oid, std::string_view text, std::string* out);
// Exactly TextToJson(type_oid, text)->dump(): the form record keys have
// always had, json and jsonb included.
Status AppendParsedValueJson(Oid type_oid, std::string_view text, std::string* out);

// A JSON string literal (quotes, and escapes where needed) appended to `out`,
// as nlohmann's dump() writes it.
void AppendJsonString(std::string* out, std::string_view v);

// Well-known type OIDs (pg_type.dat).
namespace oid {
inline constexpr Oid kBool = 16, kBytea = 17, kChar = 18, kName = 19, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
                     kOid = 26, kJson = 114, kXml = 142, kFloat4 = 700, kFloat8 = 701, kMoney = 790, kBpchar = 1042,
                     kVarchar = 1043, kDate = 1082, kTime = 1083, kTimestamp = 1114, kTimestampTz = 1184,
                     kInterval = 1186, kTimeTz = 1266, kNumeric = 1700, kUuid = 2950, kJsonb = 3802;
}  // namespace oid

}  // namespace ghostlog::capture
