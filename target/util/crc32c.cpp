// CRC32C: portable slicing-by-8 tables plus an SSE4.2 path chosen at runtime.
//
// The hardware path runs three independent crc32 streams over adjacent blocks
// (the instruction has a latency of 3 cycles but a throughput of 1 per cycle)
// and joins them by "shifting" a partial CRC over the following block length,
// which is a multiplication by x^(8*len) modulo the polynomial, done with four
// precomputed 256-entry tables per block size.
#include "util/crc32c.h"

#include <atomic>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define SHAREDISK_CRC32C_X86 1
#endif

namespace sharedisk::util {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // 0x1EDC6F41 bit-reversed (LSB-first)

struct SliceTables {
  uint32_t t[8][256];
};

constexpr SliceTables make_slice_tables() {
  SliceTables s{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    s.t[0][i] = c;
  }
  for (int k = 1; k < 8; ++k) {
    for (int i = 0; i < 256; ++i) {
      uint32_t prev = s.t[k - 1][i];
      s.t[k][i] = (prev >> 8) ^ s.t[0][prev & 0xff];
    }
  }
  return s;
}

constexpr SliceTables kSlice = make_slice_tables();

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

#ifdef SHAREDISK_CRC32C_X86

// Polynomials over GF(2) modulo P in the reflected representation: bit 31 is
// the coefficient of x^0, bit 0 the coefficient of x^31.
constexpr uint32_t times_x(uint32_t a) {
  return (a & 1) ? (a >> 1) ^ kPoly : a >> 1;
}

constexpr uint32_t mul_mod_p(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (int i = 0; i < 32; ++i) {
    if (a & (1u << (31 - i))) product ^= b;  // term x^i of a times b
    b = times_x(b);
  }
  return product;
}

constexpr uint32_t x_pow_mod_p(uint64_t exponent) {
  uint32_t result = 1u << 31;  // x^0
  uint32_t base = 1u << 30;    // x^1
  while (exponent) {
    if (exponent & 1) result = mul_mod_p(result, base);
    base = mul_mod_p(base, base);
    exponent >>= 1;
  }
  return result;
}

// Advances a raw CRC register over `block` zero bytes: the linear map
// c -> c * x^(8*block) mod P, tabulated per byte of c.
struct ShiftTable {
  uint32_t t[4][256];
  uint32_t apply(uint32_t c) const {
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
  }
};

constexpr ShiftTable make_shift_table(size_t block) {
  ShiftTable s{};
  const uint32_t factor = x_pow_mod_p(8 * static_cast<uint64_t>(block));
  for (uint32_t k = 0; k < 4; ++k) {
    for (uint32_t i = 0; i < 256; ++i) s.t[k][i] = mul_mod_p(factor, i << (8 * k));
  }
  return s;
}

constexpr size_t kLongBlock = 2048;  // three lanes of this size: 6 KiB per step
constexpr size_t kShortBlock = 256;  // three lanes: 768 bytes per step
constexpr ShiftTable kLongShift = make_shift_table(kLongBlock);
constexpr ShiftTable kShortShift = make_shift_table(kShortBlock);

__attribute__((target("sse4.2"))) inline uint64_t three_lanes(const uint8_t* p, size_t block,
                                                              uint64_t c0,
                                                              const ShiftTable& shift) {
  uint64_t c1 = 0, c2 = 0;
  const uint8_t* a = p;
  const uint8_t* b = p + block;
  const uint8_t* d = p + 2 * block;
  for (size_t i = 0; i < block; i += 8) {
    c0 = _mm_crc32_u64(c0, load64(a + i));
    c1 = _mm_crc32_u64(c1, load64(b + i));
    c2 = _mm_crc32_u64(c2, load64(d + i));
  }
  // crc(A||B, init) = shift(crc(A, init), |B|) ^ crc(B, 0) for the raw register.
  uint32_t c = shift.apply(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
  return shift.apply(c) ^ static_cast<uint32_t>(c2);
}

bool detect_sse42() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

#else

bool detect_sse42() {
  return false;
}

#endif  // SHAREDISK_CRC32C_X86

// Zero-initialized (false) until dynamic initialization runs, so a call from
// another static initializer safely takes the portable path.
const bool g_has_sse42 = detect_sse42();
std::atomic<bool> g_force_portable{false};

}  // namespace

uint32_t crc32c_portable(const void* data, size_t len, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  const auto& t = kSlice.t;
  uint32_t c = ~crc;
  if constexpr (std::endian::native == std::endian::little) {
    while (len >= 8) {
      const uint64_t w = load64(p) ^ c;
      c = t[7][w & 0xff] ^ t[6][(w >> 8) & 0xff] ^ t[5][(w >> 16) & 0xff] ^ t[4][(w >> 24) & 0xff] ^
          t[3][(w >> 32) & 0xff] ^ t[2][(w >> 40) & 0xff] ^ t[1][(w >> 48) & 0xff] ^ t[0][w >> 56];
      p += 8;
      len -= 8;
    }
  }
  while (len--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return ~c;
}

bool crc32c_sse42_available() {
  return g_has_sse42;
}

#ifdef SHAREDISK_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const void* data, size_t len,
                                                        uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = static_cast<uint32_t>(~crc);
  while (len > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
    --len;
  }
  while (len >= 3 * kLongBlock) {
    c = three_lanes(p, kLongBlock, c, kLongShift);
    p += 3 * kLongBlock;
    len -= 3 * kLongBlock;
  }
  while (len >= 3 * kShortBlock) {
    c = three_lanes(p, kShortBlock, c, kShortShift);
    p += 3 * kShortBlock;
    len -= 3 * kShortBlock;
  }
  while (len >= 8) {
    c = _mm_crc32_u64(c, load64(p));
    p += 8;
    len -= 8;
  }
  while (len--) c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
  return ~static_cast<uint32_t>(c);
}
#else
uint32_t crc32c_sse42(const void* data, size_t len, uint32_t crc) {
  return crc32c_portable(data, len, crc);
}
#endif

void crc32c_force_portable(bool force) {
  g_force_portable.store(force, std::memory_order_relaxed);
}

uint32_t crc32c(const void* data, size_t len, uint32_t crc) {
  if (g_has_sse42 && !g_force_portable.load(std::memory_order_relaxed)) {
    return crc32c_sse42(data, len, crc);
  }
  return crc32c_portable(data, len, crc);
}

}  // namespace sharedisk::util
