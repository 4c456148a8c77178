// CRC32 as OCFS2 metadata ECC uses it: the kernel's crc32_le (reflected polynomial
// 0xEDB88320) seeded with ~0 and without the final inversion zlib applies.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sharedisk::ocfs2::detail {

std::uint32_t ocfs2_crc32(const std::uint8_t* data, std::size_t len);

}  // namespace sharedisk::ocfs2::detail
