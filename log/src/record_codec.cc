#include "record_codec.h"

#include <zlib.h>

#include "crc32c.h"
#include "record_generated.h"

namespace ghostlog::log {
namespace {

uint32_t Crc(uint8_t format, std::string_view data) {
  if (format >= 2) return Crc32c(data);
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

uint32_t GetFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> Bytes(flatbuffers::FlatBufferBuilder& b,
                                                       std::string_view s) {
  return b.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string_view View(const flatbuffers::Vector<uint8_t>* v) {
  if (v == nullptr) return {};
  return {reinterpret_cast<const char*>(v->data()), v->size()};
}

// Validates format byte, checksum and FlatBuffer structure; returns the root.
Result<const fb::Record*> Open(std::string_view bytes) {
  if (bytes.size() < kEnvelopeHeaderSize) {
    return Status::Corruption("record envelope is " + std::to_string(bytes.size()) +
                              " bytes, shorter than its header");
  }
  const auto format = static_cast<uint8_t>(bytes[0]);
  if (format > kRecordFormatVersion) {
    return Status::NotSupported("record format " + std::to_string(format) +
                                " is newer than this ghostlog understands (" +
                                std::to_string(kRecordFormatVersion) + "); upgrade ghostlog");
  }
  if (format == 0) return Status::Corruption("record envelope has format 0");
  std::string_view body = bytes.substr(kEnvelopeHeaderSize);
  const uint32_t want = GetFixed32(bytes.data() + 1);
  if (Crc(format, body) != want) return Status::Corruption("record fails its checksum");
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  if (!verifier.VerifyBuffer<fb::Record>(nullptr)) {
    return Status::Corruption("record envelope does not parse");
  }
  return fb::GetRecord(body.data());
}

}  // namespace

EncodedRecord EncodeRecord(const RecordIn& r, Offset offset, Timestamp ts) {
  // One builder per thread, reused: a fresh one per record costs a heap
  // allocation each time (about 5% of an append). A builder grown by a huge
  // record is dropped rather than kept for the thread's lifetime.
  thread_local auto builder = std::make_unique<flatbuffers::FlatBufferBuilder>(1024);
  if (builder->GetSize() > (4 << 20)) {
    builder = std::make_unique<flatbuffers::FlatBufferBuilder>(1024);
  }
  flatbuffers::FlatBufferBuilder& b = *builder;
  b.Clear();
  auto key = Bytes(b, r.key);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> value;
  if (r.value) value = Bytes(b, *r.value);
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Header>>> headers;
  if (!r.headers.empty()) {
    std::vector<flatbuffers::Offset<fb::Header>> hs;
    hs.reserve(r.headers.size());
    for (const auto& h : r.headers) {
      hs.push_back(fb::CreateHeader(b, b.CreateString(h.key), Bytes(b, h.value)));
    }
    headers = b.CreateVector(hs);
  }
  fb::RecordBuilder rb(b);
  rb.add_offset(offset);
  rb.add_timestamp(ts);
  rb.add_key(key);
  if (r.value) rb.add_value(value);
  rb.add_tombstone(!r.value.has_value());
  if (!r.headers.empty()) rb.add_headers(headers);
  b.Finish(rb.Finish());

  EncodedRecord e;
  e.body = std::string_view(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  const uint32_t crc = Crc(kRecordFormatVersion, e.body);
  e.header[0] = static_cast<char>(kRecordFormatVersion);
  for (int i = 0; i < 4; ++i) e.header[1 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);  // little endian
  return e;
}

Result<Record> DecodeRecord(std::string_view bytes) {
  ASSIGN_OR_RAISE(const fb::Record* fr, Open(bytes));
  Record r;
  r.offset = fr->offset();
  r.timestamp = fr->timestamp();
  r.key = std::string(View(fr->key()));
  if (!fr->tombstone()) r.value = std::string(View(fr->value()));
  if (fr->headers() != nullptr) {
    r.headers.reserve(fr->headers()->size());
    for (const fb::Header* h : *fr->headers()) {
      r.headers.push_back(Header{h->key() ? h->key()->str() : std::string(), std::string(View(h->value()))});
    }
  }
  return r;
}

Status CheckEnvelope(std::string_view bytes, Offset* stored_offset) {
  ASSIGN_OR_RAISE(const fb::Record* fr, Open(bytes));
  *stored_offset = fr->offset();
  return Status::OK();
}

Status PeekKey(std::string_view bytes, std::string_view* key, bool* tombstone, Timestamp* ts) {
  ASSIGN_OR_RAISE(const fb::Record* fr, Open(bytes));
  *key = View(fr->key());
  *tombstone = fr->tombstone();
  *ts = fr->timestamp();
  return Status::OK();
}

}  // namespace ghostlog::log
