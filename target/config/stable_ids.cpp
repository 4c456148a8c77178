// Default LUN serial numbers and NAA identifiers, stable across restarts.
//
// Initiators (multipath, udev's /dev/disk/by-id, OCFS2 heartbeat setup) key on
// these, so they must not change when the daemon restarts or the config is
// reordered: they derive only from the target IQN and the LUN number, through
// FNV-1a 64 (fixed by its spec, unlike std::hash).
//
// An RBD LUN's defaults instead derive from where its data lives — the Ceph
// cluster's fsid, the pool, the namespace and the image — so that every
// gateway exporting the image reports the same logical unit (multipath
// groups paths by these identifiers), whatever its target IQN or LUN number.
//
// The default NAA is type 6 (IEEE Registered Extended, 16 bytes) with the
// company ID 0x001405, the one Linux kernel targets (LIO) use, followed by a
// 36-bit vendor-specific id and a 64-bit extension from the hash.
#include <cstdio>

#include "config/config_internal.h"

namespace sharedisk::config {
namespace detail {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint32_t kNaaCompanyId = 0x001405;

uint64_t fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

std::string hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 0xf];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

uint64_t lun_hash(const std::string& target_iqn, uint64_t lun_number) {
  uint64_t h = fnv1a(kFnvOffset, target_iqn);
  h = fnv1a(h, std::string_view("\0", 1));
  return fnv1a(h, std::to_string(lun_number));
}

namespace {

std::string serial_of(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string naa_of(uint64_t ext) {
  uint64_t vendor_id = fnv1a(ext, "naa") >> 28;  // 36 bits
  uint8_t b[16];
  b[0] = static_cast<uint8_t>(0x60 | ((kNaaCompanyId >> 20) & 0x0f));
  b[1] = static_cast<uint8_t>(kNaaCompanyId >> 12);
  b[2] = static_cast<uint8_t>(kNaaCompanyId >> 4);
  b[3] = static_cast<uint8_t>(((kNaaCompanyId & 0x0f) << 4) | ((vendor_id >> 32) & 0x0f));
  for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(vendor_id >> (24 - 8 * i));
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(ext >> (56 - 8 * i));
  return hex(b, sizeof b);
}

}  // namespace

std::string default_serial(const std::string& target_iqn, uint64_t lun_number) {
  return serial_of(lun_hash(target_iqn, lun_number));
}

std::string default_naa(const std::string& target_iqn, uint64_t lun_number) {
  return naa_of(lun_hash(target_iqn, lun_number));
}

std::string check_naa(const std::string& text, std::string& normalized) {
  std::string lower;
  for (char c : text) {
    int v = hex_value(c);
    if (v < 0) return "must be hex digits only (got '" + text + "')";
    lower += "0123456789abcdef"[v];
  }
  if (lower.empty()) return "is empty";
  char type = lower[0];
  size_t want;
  switch (type) {
    case '2':
    case '3':
    case '5':
      want = 16;
      break;
    case '6':
      want = 32;
      break;
    default:
      return "NAA type (first hex digit) must be 2, 3, 5 or 6 (got " + std::string(1, type) + ")";
  }
  if (lower.size() != want)
    return "NAA type " + std::string(1, type) + " needs " + std::to_string(want) +
           " hex digits (got " + std::to_string(lower.size()) + ")";
  normalized = lower;
  return {};
}

}  // namespace detail

uint64_t rbd_image_hash(const std::string& fsid, const std::string& pool, const std::string& ns,
                        const std::string& image) {
  // "rbd\0<fsid>\0<pool>\0<namespace>\0<image>": the separators keep
  // ("a", "bc") and ("ab", "c") apart; the prefix keeps it apart from lun_hash.
  uint64_t h = detail::fnv1a(detail::kFnvOffset, "rbd");
  for (const std::string* part : {&fsid, &pool, &ns, &image}) {
    h = detail::fnv1a(h, std::string_view("\0", 1));
    h = detail::fnv1a(h, *part);
  }
  return h;
}

std::string rbd_serial(const std::string& fsid, const std::string& pool, const std::string& ns,
                       const std::string& image) {
  return detail::serial_of(rbd_image_hash(fsid, pool, ns, image));
}

std::string rbd_naa(const std::string& fsid, const std::string& pool, const std::string& ns,
                    const std::string& image) {
  return detail::naa_of(rbd_image_hash(fsid, pool, ns, image));
}

std::vector<uint8_t> naa_bytes(const std::string& naa_hex) {
  std::vector<uint8_t> out;
  if (naa_hex.size() % 2 != 0) return {};
  for (size_t i = 0; i < naa_hex.size(); i += 2) {
    int hi = detail::hex_value(naa_hex[i]);
    int lo = detail::hex_value(naa_hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

}  // namespace sharedisk::config
