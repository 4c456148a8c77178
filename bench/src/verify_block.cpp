#include "verify_block.h"

#include <cstring>

#include "util/crc32c.h"

namespace sharedisk::bench {
namespace {

struct Header {
  uint32_t magic;
  uint32_t crc;  // crc32c of the chunk from `offset` to its end
  uint64_t offset;
  uint64_t seed;
  uint32_t length;
  uint32_t reserved;
};
static_assert(sizeof(Header) == kVerifyHeaderBytes);

uint64_t next_random(uint64_t& state) {  // xorshift64*
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

uint32_t chunk_crc(const uint8_t* chunk, size_t length) {
  return util::crc32c(chunk + offsetof(Header, offset), length - offsetof(Header, offset));
}

}  // namespace

size_t verify_chunk_size(size_t block_bytes) {
  return block_bytes % 4096 == 0 ? 4096 : block_bytes;
}

void fill_verified(uint8_t* buf, size_t len, uint64_t offset, uint64_t seed) {
  const size_t chunk = verify_chunk_size(len);
  for (size_t pos = 0; pos + chunk <= len; pos += chunk) {
    uint8_t* c = buf + pos;
    Header h{kVerifyMagic, 0, offset + pos, seed, static_cast<uint32_t>(chunk), 0};
    uint64_t state = (seed ^ (offset + pos)) | 1;
    for (size_t i = sizeof(Header); i < chunk; i += 8) {
      const uint64_t r = next_random(state);
      std::memcpy(c + i, &r, chunk - i < 8 ? chunk - i : 8);
    }
    std::memcpy(c, &h, sizeof h);
    h.crc = chunk_crc(c, chunk);
    std::memcpy(c, &h, sizeof h);
  }
}

VerifyOutcome check_verified(const uint8_t* buf, size_t len, uint64_t offset) {
  VerifyOutcome out;
  size_t pos = 0;
  while (pos < len) {
    Header h;
    if (len - pos < sizeof h) break;
    std::memcpy(&h, buf + pos, sizeof h);
    if (h.magic != kVerifyMagic || h.length < sizeof h || h.length > len - pos) {
      // Never written by us (or written with a chunk this read does not cover).
      ++out.chunks_unwritten;
      pos += kMinVerifyBlock;
      continue;
    }
    if (chunk_crc(buf + pos, h.length) != h.crc) {
      out.kind = VerifyOutcome::kBadCrc;
      out.bad_offset = offset + pos;
      return out;
    }
    if (h.offset != offset + pos) {
      out.kind = VerifyOutcome::kMisplaced;
      out.bad_offset = offset + pos;
      return out;
    }
    ++out.chunks_ok;
    pos += h.length;
  }
  return out;
}

}  // namespace sharedisk::bench
