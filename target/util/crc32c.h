// CRC32C (Castagnoli, polynomial 0x1EDC6F41), the iSCSI header and data digest.
//
// Contract: crc32c(data, len) returns the digest exactly as RFC 7143 / RFC 3720
// appendix B.4 define it (register preset to all ones, result complemented), so
// 32 zero bytes give 0x8a9136aa. Passing a previous result as `crc` continues
// the computation: crc32c(b, lb, crc32c(a, la)) == crc32c(a||b, la + lb).
//
// The SSE4.2 crc32 instruction is used when the CPU has it (checked once at
// startup); otherwise a portable slicing-by-8 table implementation runs. Both
// give identical results for any input; the named variants exist for tests and
// benchmarks. All functions are thread-safe and allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sharedisk::util {

uint32_t crc32c(const void* data, size_t len, uint32_t crc = 0);

// Portable slicing-by-8 implementation, always available.
uint32_t crc32c_portable(const void* data, size_t len, uint32_t crc = 0);

// True when this CPU has SSE4.2 and crc32c_sse42() may be called.
bool crc32c_sse42_available();
// Hardware implementation; only call when crc32c_sse42_available().
uint32_t crc32c_sse42(const void* data, size_t len, uint32_t crc = 0);

// Makes crc32c() use the portable code even when SSE4.2 exists (tests and
// benchmarks); false restores the automatic choice. Process-wide.
void crc32c_force_portable(bool force);

}  // namespace sharedisk::util
