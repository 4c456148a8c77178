// Reading the OCFS2 superblock (block 2 of the volume, at a block size of 512, 1K, 2K or 4K)
// to learn what mkfs.ocfs2 made: label, UUID, block and cluster size, node slots, feature
// flags and the cluster stack and cluster name the volume will only mount under.
// A volume that is not OCFS2, or whose superblock is inconsistent or fails its checksum,
// gives a status and a message; the probe never trusts a field it has not range-checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sharedisk/ocfs2/block_reader.h"

namespace sharedisk::ocfs2 {

// Feature bits (ocfs2_fs.h) the checks look at.
inline constexpr std::uint32_t kIncompatHeartbeatDev = 0x0002;
inline constexpr std::uint32_t kIncompatResizeInProgress = 0x0004;
inline constexpr std::uint32_t kIncompatLocalMount = 0x0008;
inline constexpr std::uint32_t kIncompatTunefsInProgress = 0x0020;
inline constexpr std::uint32_t kIncompatUserspaceStack = 0x0080;
inline constexpr std::uint32_t kIncompatMetaEcc = 0x0800;
inline constexpr std::uint32_t kIncompatClusterInfo = 0x4000;
inline constexpr std::uint8_t kStackFlagGlobalHeartbeat = 0x01;

struct SuperblockInfo {
  std::string label;
  std::string uuid;      // as blkid prints it: 8-4-4-4-12 lowercase hex
  std::string uuid_hex;  // as debugfs.ocfs2 prints it: 32 uppercase hex digits
  std::uint32_t block_size = 0;
  std::uint32_t cluster_size = 0;
  std::uint32_t block_size_bits = 0;
  std::uint32_t cluster_size_bits = 0;
  std::uint32_t node_slots = 0;
  std::uint32_t clusters = 0;  // total clusters on the volume
  std::uint16_t major_revision = 0;
  std::uint16_t minor_revision = 0;
  std::uint32_t feature_compat = 0;
  std::uint32_t feature_incompat = 0;
  std::uint32_t feature_ro_compat = 0;
  std::vector<std::string> features;  // compat, incompat, then ro-compat names
  bool has_cluster_info = false;      // stack and cluster name recorded on disk
  std::string cluster_stack;          // "o2cb", or a userspace stack such as "pcmk"
  std::string cluster_name;
  std::uint8_t stack_flags = 0;
  bool global_heartbeat() const { return stack_flags & kStackFlagGlobalHeartbeat; }
  std::uint64_t size_bytes() const { return std::uint64_t{clusters} * cluster_size; }
};

enum class ProbeStatus { ok, not_ocfs2, damaged, io_error };

std::string_view probe_status_name(ProbeStatus s);

struct ProbeResult {
  ProbeStatus status = ProbeStatus::not_ocfs2;
  std::string message;  // why the status is not ok, for a person
  SuperblockInfo info;  // filled when status is ok
  std::vector<std::string> warnings;
  bool ok() const { return status == ProbeStatus::ok; }
};

ProbeResult probe_superblock(BlockReader& reader);

enum class FeatureClass { compat, incompat, ro_compat };

// Names of the set bits, in the order debugfs.ocfs2's "Feature ..." lines print them;
// bits without a known name appear as "unknown-0xBIT".
std::vector<std::string> feature_names(FeatureClass cls, std::uint32_t bits);

}  // namespace sharedisk::ocfs2
