// Encoding of records to and from their on-disk envelope (see record.fbs).
#pragma once

#include <string>
#include <string_view>

#include "ghostlog/log/status.h"
#include "ghostlog/log/types.h"

namespace ghostlog::log {

// Format 1 checksummed with zlib's CRC-32; format 2 (written since) with
// CRC-32C, which the CPU computes. Both are read.
inline constexpr uint8_t kRecordFormatVersion = 2;
inline constexpr size_t kEnvelopeHeaderSize = 5;  // format byte + checksum

// The envelope of one record, in two parts: the header (format byte and
// checksum) and the FlatBuffer, which stays in the calling thread's builder,
// so a record's value is not copied once more to be written (RocksDB's Put
// takes the parts). Valid until the thread encodes another record.
struct EncodedRecord {
  char header[kEnvelopeHeaderSize];
  std::string_view body;
  size_t size() const { return kEnvelopeHeaderSize + body.size(); }
};

// The envelope of `r` (given offset and timestamp).
EncodedRecord EncodeRecord(const RecordIn& r, Offset offset, Timestamp ts);

// Parses and checksums an envelope. Corruption names what is wrong; a newer
// format is NotSupported.
Result<Record> DecodeRecord(std::string_view bytes);

// Only checks format and checksum, and returns the stored offset (for verify).
Status CheckEnvelope(std::string_view bytes, Offset* stored_offset);

// Key and tombstone flag without copying the value (for compaction).
Status PeekKey(std::string_view bytes, std::string_view* key, bool* tombstone, Timestamp* ts);

}  // namespace ghostlog::log
