// Self-checking block contents for verify=crc32c.
//
// Contract: fill_verified() writes, into every chunk of a block, a header
// {magic, crc32c, absolute byte offset, seed, chunk length} followed by
// pseudo-random bytes; check_verified() walks a block read back from the same
// offset and reports the first chunk whose CRC or recorded offset is wrong.
// Chunks carrying no magic have never been written by sharedisk-bench and are
// counted, not failed, so a read job can run on a fresh device; a job that
// wrote a block itself treats a missing magic there as an error (its caller
// decides). Chunks are 4 KiB when the block size is a multiple of 4 KiB,
// otherwise the whole block; the length is stored, so a different bs on read
// back still verifies whole chunks.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sharedisk::bench {

constexpr uint32_t kVerifyMagic = 0x31424453;  // "SDB1" little-endian
constexpr size_t kVerifyHeaderBytes = 32;
constexpr size_t kMinVerifyBlock = 512;

size_t verify_chunk_size(size_t block_bytes);

void fill_verified(uint8_t* buf, size_t len, uint64_t offset, uint64_t seed);

struct VerifyOutcome {
  enum Kind { kOk, kBadCrc, kMisplaced } kind = kOk;
  uint64_t chunks_ok = 0;
  uint64_t chunks_unwritten = 0;  // no magic: never written by us
  uint64_t bad_offset = 0;        // absolute offset of the first bad chunk
};

VerifyOutcome check_verified(const uint8_t* buf, size_t len, uint64_t offset);

}  // namespace sharedisk::bench
