// Semantic checks of a cluster.conf: every rule the kernel's o2nm configfs interface and
// ocfs2-tools enforce, and the mistakes people make by hand (node_count out of step,
// duplicate addresses, a host that is not in its own cluster, trailing blanks, ...).
// All problems are returned at once, each with its line and severity.
#pragma once

#include <optional>
#include <string>

#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/diagnostic.h"

namespace sharedisk::ocfs2 {

// Limits from the kernel (fs/ocfs2/cluster/nodemanager.h, heartbeat.c) and ocfs2-tools.
inline constexpr std::size_t kMaxClusterNameLen = 16;    // OCFS2_CLUSTER_NAME_LEN, on disk
inline constexpr std::size_t kMaxNodeNameLen = 64;       // O2NM_MAX_NAME_LEN
inline constexpr std::uint32_t kMaxNodes = 255;          // O2NM_MAX_NODES: numbers 0..254
inline constexpr std::uint32_t kMaxPort = 65534;         // kernel refuses 0 and >= 65535
inline constexpr std::size_t kMaxHeartbeatRegions = 32;  // O2NM_MAX_REGIONS
inline constexpr std::size_t kRegionNameLen = 32;        // a volume UUID in hex

struct ValidateOptions {
  // Restricts the local-node check to this cluster (default: every cluster in the file).
  std::optional<std::string> cluster;
  // The name this host has in the cluster. Default: the hostname, matched as o2cb does
  // (case-insensitive, up to the first '.').
  std::optional<std::string> local_node;
  bool check_local_node = true;
};

Diagnostics validate_cluster_conf(const ClusterConf& conf, const ValidateOptions& options = {});

// Single-value checks, shared with the editing functions. Each returns "" when valid,
// otherwise the reason.
std::string cluster_name_problem(const std::string& name);
std::string node_name_problem(const std::string& name);
std::string ipv4_problem(const std::string& address);
std::string region_problem(const std::string& region);
bool is_valid_heartbeat_mode(const std::string& mode);

// This host's name (gethostname), and o2cb's rule for "this node is the local one".
std::string local_hostname();
bool node_matches_host(const std::string& node_name, const std::string& hostname);

}  // namespace sharedisk::ocfs2
