// CRC-32C (Castagnoli), the checksum of record envelopes from format 2 on.
//
// x86-64 CPUs since 2008 compute it in hardware (SSE4.2 `crc32`), which
// makes checksumming a record nearly free; elsewhere a table-driven software
// version gives the same values. The choice is made once, at first use.
// Thread-safe; no allocation.
#pragma once

#include <cstdint>
#include <string_view>

namespace ghostlog::log {

// CRC-32C of `data`, continuing from `crc` (0 to start): the standard
// (iSCSI, RFC 3720) value, with the usual pre- and post-inversion.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

// The portable version, exposed so tests can compare it with the hardware one.
uint32_t Crc32cSoftware(std::string_view data, uint32_t crc = 0);

// True when Crc32c() uses the CPU's instruction.
bool Crc32cIsHardware();

}  // namespace ghostlog::log
