// verify=crc32c block format: round trip, corruption, misplaced blocks,
// never-written blocks and reading back with another block size.
#include "verify_block.h"

#include <gtest/gtest.h>

#include <vector>

namespace sharedisk::bench {
namespace {

TEST(VerifyBlock, RoundTripAndChunking) {
  std::vector<uint8_t> buf(16384);
  fill_verified(buf.data(), buf.size(), 1 << 20, 99);
  const auto v = check_verified(buf.data(), buf.size(), 1 << 20);
  EXPECT_EQ(v.kind, VerifyOutcome::kOk);
  EXPECT_EQ(v.chunks_ok, 4u);  // 4 KiB chunks
  EXPECT_EQ(v.chunks_unwritten, 0u);
  EXPECT_EQ(verify_chunk_size(512), 512u);
  EXPECT_EQ(verify_chunk_size(131072), 4096u);
}

TEST(VerifyBlock, DetectsAFlippedBit) {
  std::vector<uint8_t> buf(8192);
  fill_verified(buf.data(), buf.size(), 0, 1);
  buf[4096 + 1000] ^= 0x10;
  const auto v = check_verified(buf.data(), buf.size(), 0);
  EXPECT_EQ(v.kind, VerifyOutcome::kBadCrc);
  EXPECT_EQ(v.bad_offset, 4096u);
}

TEST(VerifyBlock, DetectsDataFromAnotherOffset) {
  std::vector<uint8_t> buf(4096);
  fill_verified(buf.data(), buf.size(), 8192, 1);
  const auto v = check_verified(buf.data(), buf.size(), 4096);
  EXPECT_EQ(v.kind, VerifyOutcome::kMisplaced);
}

TEST(VerifyBlock, ZerosCountAsUnwritten) {
  std::vector<uint8_t> buf(4096, 0);
  const auto v = check_verified(buf.data(), buf.size(), 0);
  EXPECT_EQ(v.kind, VerifyOutcome::kOk);
  EXPECT_EQ(v.chunks_ok, 0u);
  EXPECT_EQ(v.chunks_unwritten, 8u);  // counted per 512-byte sector
}

TEST(VerifyBlock, ReadBackWithALargerBlockSize) {
  // Written as two 4 KiB blocks, read as one 8 KiB block.
  std::vector<uint8_t> buf(8192);
  fill_verified(buf.data(), 4096, 0, 5);
  fill_verified(buf.data() + 4096, 4096, 4096, 5);
  const auto v = check_verified(buf.data(), buf.size(), 0);
  EXPECT_EQ(v.kind, VerifyOutcome::kOk);
  EXPECT_EQ(v.chunks_ok, 2u);
}

}  // namespace
}  // namespace sharedisk::bench
