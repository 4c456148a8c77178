// CRC32C against the RFC 3720 appendix B.4 examples, plus agreement between the
// portable and SSE4.2 implementations on random data, lengths and alignments.
#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

namespace sharedisk::util {
namespace {

using CrcFn = uint32_t (*)(const void*, size_t, uint32_t);

// Runs a check with every implementation this machine has.
std::vector<std::pair<const char*, CrcFn>> implementations() {
  std::vector<std::pair<const char*, CrcFn>> impls = {{"portable", &crc32c_portable}};
  if (crc32c_sse42_available()) impls.emplace_back("sse4.2", &crc32c_sse42);
  return impls;
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(Crc32c, Rfc3720Vectors) {
  std::array<uint8_t, 32> zeros{}, ones{}, inc{}, dec{};
  for (int i = 0; i < 32; ++i) {
    ones[i] = 0xff;
    inc[i] = static_cast<uint8_t>(i);
    dec[i] = static_cast<uint8_t>(31 - i);
  }
  // SCSI Read (10) command PDU from RFC 3720 B.4.
  const std::array<uint8_t, 48> read_pdu = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  const char check[] = "123456789";
  for (auto [name, fn] : implementations()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(fn(zeros.data(), zeros.size(), 0), 0x8a9136aau);
    EXPECT_EQ(fn(ones.data(), ones.size(), 0), 0x62a8ab43u);
    EXPECT_EQ(fn(inc.data(), inc.size(), 0), 0x46dd794eu);
    EXPECT_EQ(fn(dec.data(), dec.size(), 0), 0x113fdb5cu);
    EXPECT_EQ(fn(read_pdu.data(), read_pdu.size(), 0), 0xd9963a56u);
    EXPECT_EQ(fn(check, 9, 0), 0xe3069283u);  // the usual CRC-32C check value
    EXPECT_EQ(fn(nullptr, 0, 0), 0u);
  }
  EXPECT_EQ(crc32c(read_pdu.data(), read_pdu.size()), 0xd9963a56u);
}

TEST(Crc32c, ContinuationEqualsOneShot) {
  const auto data = random_bytes(20000, 7);
  for (auto [name, fn] : implementations()) {
    SCOPED_TRACE(name);
    const uint32_t whole = fn(data.data(), data.size(), 0);
    for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{48}, size_t{777}, size_t{6144},
                         size_t{12289}, data.size()}) {
      uint32_t c = fn(data.data(), split, 0);
      c = fn(data.data() + split, data.size() - split, c);
      EXPECT_EQ(c, whole) << "split at " << split;
    }
  }
}

TEST(Crc32c, ImplementationsAgreeOnEveryLengthAndAlignment) {
  if (!crc32c_sse42_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  const auto data = random_bytes(1024 + 16, 42);
  for (size_t start = 0; start < 8; ++start) {
    for (size_t len = 0; start + len <= 1024 + 8; ++len) {
      const uint8_t* p = data.data() + start;
      ASSERT_EQ(crc32c_sse42(p, len, 0), crc32c_portable(p, len, 0))
          << "start " << start << " len " << len;
      ASSERT_EQ(crc32c_sse42(p, len, 0x12345678u), crc32c_portable(p, len, 0x12345678u));
    }
  }
}

TEST(Crc32c, ImplementationsAgreeOnLongBuffers) {
  if (!crc32c_sse42_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  const auto data = random_bytes(300000, 3);
  // Lengths around the three-lane block boundaries (768 and 6144 bytes) and large ones.
  for (size_t len : {767, 768, 769, 6143, 6144, 6145, 6144 + 768 + 9, 65536, 262144, 299993}) {
    for (size_t start : {0, 1, 5}) {
      const uint8_t* p = data.data() + start;
      EXPECT_EQ(crc32c_sse42(p, len, 0), crc32c_portable(p, len, 0))
          << "start " << start << " len " << len;
    }
  }
}

TEST(Crc32c, DetectsSingleBitFlips) {
  auto data = random_bytes(4096, 11);
  const uint32_t good = crc32c(data.data(), data.size());
  for (size_t bit = 0; bit < data.size() * 8; bit += 97) {
    data[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_NE(crc32c(data.data(), data.size()), good) << "bit " << bit;
    data[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
}

TEST(Crc32c, ForcePortableStillGivesTheSameDigest) {
  const auto data = random_bytes(9000, 5);
  const uint32_t automatic = crc32c(data.data(), data.size());
  crc32c_force_portable(true);
  const uint32_t forced = crc32c(data.data(), data.size());
  crc32c_force_portable(false);
  EXPECT_EQ(forced, automatic);
  EXPECT_EQ(forced, crc32c_portable(data.data(), data.size()));
}

}  // namespace
}  // namespace sharedisk::util
