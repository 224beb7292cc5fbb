#include "crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace ghostlog::log {
namespace {

constexpr uint32_t kPoly = 0x82f63b78;  // Castagnoli, reflected

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = MakeTable();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Hardware(std::string_view data, uint32_t crc) {
  const char* p = data.data();
  size_t n = data.size();
  uint64_t c = ~crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*p));
  return ~c32;
}
#endif

using Fn = uint32_t (*)(std::string_view, uint32_t);

Fn Pick() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return Hardware;
#endif
  return Crc32cSoftware;
}

const Fn kImpl = Pick();

}  // namespace

uint32_t Crc32cSoftware(std::string_view data, uint32_t crc) {
  uint32_t c = ~crc;
  for (const char ch : data) c = kTable[(c ^ static_cast<uint8_t>(ch)) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t Crc32c(std::string_view data, uint32_t crc) { return kImpl(data, crc); }

bool Crc32cIsHardware() { return kImpl != Crc32cSoftware; }

}  // namespace ghostlog::log
