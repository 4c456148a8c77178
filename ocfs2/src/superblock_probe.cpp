// OCFS2 superblock probe. Layout (ocfs2_fs.h): the superblock is an ocfs2_dinode in block 2
// whose id2 union, at byte 0xC0, holds struct ocfs2_super_block. All fields little-endian.
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "crc32.h"
#include "sharedisk/ocfs2/superblock.h"

namespace sharedisk::ocfs2 {
namespace {

constexpr std::uint64_t kSuperBlockBlkno = 2;

// ocfs2_dinode offsets
constexpr std::size_t kClustersOff = 0x14;
constexpr std::size_t kFlagsOff = 0x2C;
constexpr std::size_t kBlknoOff = 0x50;
constexpr std::size_t kCheckOff = 0x80;  // struct ocfs2_block_check
constexpr std::size_t kSb = 0xC0;        // id2.i_super
// ocfs2_super_block offsets, relative to kSb
constexpr std::size_t kMajorRev = 0x00, kMinorRev = 0x02;
constexpr std::size_t kCompat = 0x1C, kIncompat = 0x20, kRoCompat = 0x24;
constexpr std::size_t kBlocksizeBits = 0x38, kClustersizeBits = 0x3C, kMaxSlots = 0x40;
constexpr std::size_t kLabel = 0x50, kUuid = 0x90, kStack = 0xA0, kStackFlags = 0xA4,
                      kClusterName = 0xA8;
constexpr std::size_t kLabelLen = 64, kUuidLen = 16, kStackLen = 4, kClusterNameLen = 16;

constexpr std::uint32_t kValidFl = 0x1, kSuperBlockFl = 0x20;
constexpr std::uint32_t kKnownIncompat = 0xFFFE;  // every incompat bit ocfs2-tools 1.8 names
constexpr std::uint32_t kKnownCompat = 0x3, kKnownRoCompat = 0x7;

struct FeatureName {
  FeatureClass cls;
  std::uint32_t bit;
  const char* name;
};

// ocfs2-tools' feature table, in its order (which is the order debugfs.ocfs2 prints).
constexpr FeatureName kFeatures[] = {
    {FeatureClass::incompat, 0x0002, "heartbeat-device"},
    {FeatureClass::incompat, 0x0004, "aborted-resize"},
    {FeatureClass::incompat, 0x0008, "local"},
    {FeatureClass::incompat, 0x0010, "sparse"},
    {FeatureClass::incompat, 0x0100, "extended-slotmap"},
    {FeatureClass::incompat, 0x0020, "aborted-tunefs"},
    {FeatureClass::incompat, 0x0080, "userspace-stack"},
    {FeatureClass::compat, 0x0001, "backup-super"},
    {FeatureClass::ro_compat, 0x0001, "unwritten"},
    {FeatureClass::incompat, 0x0040, "inline-data"},
    {FeatureClass::compat, 0x0002, "strict-journal-super"},
    {FeatureClass::incompat, 0x0800, "metaecc"},
    {FeatureClass::incompat, 0x0200, "xattr"},
    {FeatureClass::incompat, 0x0400, "indexed-dirs"},
    {FeatureClass::ro_compat, 0x0002, "usrquota"},
    {FeatureClass::ro_compat, 0x0004, "grpquota"},
    {FeatureClass::incompat, 0x1000, "refcount"},
    {FeatureClass::incompat, 0x2000, "discontig-bg"},
    {FeatureClass::incompat, 0x4000, "clusterinfo"},
    {FeatureClass::incompat, 0x8000, "append-dio"},
};

std::uint16_t le16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | p[1] << 8);
}
std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}
std::uint64_t le64(const std::uint8_t* p) {
  return le32(p) | std::uint64_t{le32(p + 4)} << 32;
}

std::string fixed_string(const std::uint8_t* p, std::size_t max) {
  std::size_t n = 0;
  while (n < max && p[n] != 0) ++n;
  return std::string(reinterpret_cast<const char*>(p), n);
}

std::string hex(const std::uint8_t* p, std::size_t n, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

std::string hex32(std::uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  bool started = false;
  for (int shift = 28; shift >= 0; shift -= 4) {
    const unsigned d = (v >> shift) & 15;
    if (d || started || shift == 0) {
      s += digits[d];
      started = true;
    }
  }
  return s;
}

// Says what a volume is when it is not OCFS2, so the answer is more than "no".
std::string identify_other(BlockReader& reader) {
  std::vector<std::uint8_t> head(65536);
  const long long n = reader.read(0, head.data(), head.size());
  if (n <= 0) return "the volume is empty";
  head.resize(static_cast<std::size_t>(n));
  auto at = [&](std::size_t off, const char* magic, std::size_t len) {
    return off + len <= head.size() && std::memcmp(head.data() + off, magic, len) == 0;
  };
  if (head.size() < 3 * 512) return "the volume is too small to hold an OCFS2 superblock";
  if (at(1080, "\x53\xef", 2)) return "it holds an ext2/ext3/ext4 filesystem";
  if (at(0, "XFSB", 4)) return "it holds an XFS filesystem";
  if (at(65536 - 10, "SWAPSPACE2", 10) || at(4096 - 10, "SWAPSPACE2", 10))
    return "it is swap space";
  if (at(512, "LABELONE", 8)) return "it is an LVM physical volume";
  if (at(510, "\x55\xaa", 2))
    return "it starts with a partition table: probe the partition (such as /dev/sdb1)";
  bool zero = true;
  for (auto b : head) zero = zero && b == 0;
  if (zero) return "it is blank (never formatted): run mkfs.ocfs2 first";
  return "no OCFS2 superblock was found at any block size";
}

}  // namespace

std::string_view probe_status_name(ProbeStatus s) {
  switch (s) {
    case ProbeStatus::ok:
      return "ok";
    case ProbeStatus::not_ocfs2:
      return "not_ocfs2";
    case ProbeStatus::damaged:
      return "damaged";
    case ProbeStatus::io_error:
      return "io_error";
  }
  return "io_error";
}

std::vector<std::string> feature_names(FeatureClass cls, std::uint32_t bits) {
  std::vector<std::string> out;
  std::uint32_t named = 0;
  for (const auto& f : kFeatures) {
    if (f.cls != cls) continue;
    named |= f.bit;
    if (bits & f.bit) out.emplace_back(f.name);
  }
  for (int b = 0; b < 32; ++b) {
    const std::uint32_t bit = 1u << b;
    if ((bits & bit) && !(named & bit)) out.push_back("unknown-" + hex32(bit));
  }
  return out;
}

ProbeResult probe_superblock(BlockReader& reader) {
  ProbeResult r;
  std::string damage;
  for (std::uint32_t bits = 9; bits <= 12; ++bits) {
    const std::size_t bs = std::size_t{1} << bits;
    std::vector<std::uint8_t> b(bs);
    const long long n = reader.read(kSuperBlockBlkno * bs, b.data(), bs);
    if (n < 0) {
      r.status = ProbeStatus::io_error;
      r.message = std::string("cannot read the volume: ") + std::strerror(static_cast<int>(-n));
      return r;
    }
    if (static_cast<std::size_t>(n) < bs) break;
    if (std::memcmp(b.data(), "OCFSV2", 7) != 0) continue;

    const std::uint8_t* sb = b.data() + kSb;
    const std::uint32_t sb_bits = le32(sb + kBlocksizeBits);
    if (sb_bits != bits) {
      damage = "the superblock found with " + std::to_string(bs) +
               "-byte blocks records a block size of 2^" + std::to_string(sb_bits);
      continue;
    }
    SuperblockInfo& i = r.info;
    i.block_size_bits = bits;
    i.block_size = static_cast<std::uint32_t>(bs);
    i.cluster_size_bits = le32(sb + kClustersizeBits);
    i.node_slots = le16(sb + kMaxSlots);
    i.clusters = le32(b.data() + kClustersOff);
    i.major_revision = le16(sb + kMajorRev);
    i.minor_revision = le16(sb + kMinorRev);
    i.feature_compat = le32(sb + kCompat);
    i.feature_incompat = le32(sb + kIncompat);
    i.feature_ro_compat = le32(sb + kRoCompat);

    const std::uint64_t blkno = le64(b.data() + kBlknoOff);
    const std::uint32_t flags = le32(b.data() + kFlagsOff);
    if (blkno != kSuperBlockBlkno)
      damage = "the superblock claims to be block " + std::to_string(blkno) + ", not block 2";
    else if ((flags & (kValidFl | kSuperBlockFl)) != (kValidFl | kSuperBlockFl))
      damage = "the superblock is not flagged as a valid superblock";
    else if (i.cluster_size_bits < 12 || i.cluster_size_bits > 20)
      damage = "the cluster size field (2^" + std::to_string(i.cluster_size_bits) +
               ") is outside 4 KiB..1 MiB";
    else if (i.node_slots == 0 || i.node_slots > 255)
      damage = "the node slot count (" + std::to_string(i.node_slots) + ") is outside 1..255";
    if (damage.empty() && (i.feature_incompat & kIncompatMetaEcc)) {
      const std::uint32_t stored = le32(b.data() + kCheckOff);
      std::memset(b.data() + kCheckOff, 0, 8);
      const std::uint32_t computed = detail::ocfs2_crc32(b.data(), bs);
      if (stored != computed)
        damage = "the superblock checksum does not match (stored " + hex32(stored) + ", computed " +
                 hex32(computed) + ")";
    }
    if (!damage.empty()) {
      r.status = ProbeStatus::damaged;
      r.message = "OCFS2 signature found but the superblock is damaged: " + damage +
                  "; run fsck.ocfs2 or restore the volume";
      r.info = {};
      return r;
    }

    i.cluster_size = 1u << i.cluster_size_bits;
    i.label = fixed_string(sb + kLabel, kLabelLen);
    i.uuid_hex = hex(sb + kUuid, kUuidLen, true);
    const std::string u = hex(sb + kUuid, kUuidLen, false);
    i.uuid = u.substr(0, 8) + "-" + u.substr(8, 4) + "-" + u.substr(12, 4) + "-" + u.substr(16, 4) +
             "-" + u.substr(20);
    i.has_cluster_info =
        (i.feature_incompat & (kIncompatUserspaceStack | kIncompatClusterInfo)) != 0;
    if (i.has_cluster_info) {
      i.cluster_stack = fixed_string(sb + kStack, kStackLen);
      i.stack_flags = sb[kStackFlags];
      i.cluster_name = fixed_string(sb + kClusterName, kClusterNameLen);
    } else {
      i.cluster_stack = "o2cb";  // no stack recorded: the classic o2cb stack
    }
    for (auto cls : {FeatureClass::compat, FeatureClass::incompat, FeatureClass::ro_compat}) {
      const std::uint32_t bitsv = cls == FeatureClass::compat     ? i.feature_compat
                                  : cls == FeatureClass::incompat ? i.feature_incompat
                                                                  : i.feature_ro_compat;
      for (auto& name : feature_names(cls, bitsv)) i.features.push_back(std::move(name));
    }
    if ((i.feature_incompat & ~kKnownIncompat) || (i.feature_compat & ~kKnownCompat) ||
        (i.feature_ro_compat & ~kKnownRoCompat))
      r.warnings.push_back(
          "the volume uses features this tool does not know; check that the "
          "kernel on every node supports them");
    if (i.major_revision != 0 || i.minor_revision != 90)
      r.warnings.push_back("unexpected superblock revision " + std::to_string(i.major_revision) +
                           "." + std::to_string(i.minor_revision) + " (expected 0.90)");
    r.status = ProbeStatus::ok;
    return r;
  }
  if (!damage.empty()) {
    r.status = ProbeStatus::damaged;
    r.message = "OCFS2 signature found but the superblock is damaged: " + damage;
    return r;
  }
  r.status = ProbeStatus::not_ocfs2;
  r.message = "not an OCFS2 volume: " + identify_other(reader);
  return r;
}

}  // namespace sharedisk::ocfs2
