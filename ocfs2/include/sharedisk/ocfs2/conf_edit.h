// Edits of a ClusterConf with the checks `o2cb add-cluster/add-node/...` makes, plus ours.
// Each function either applies the whole edit and returns no errors, or leaves the
// configuration untouched and returns the errors. node_count follows o2cb: add_node
// increments it and remove_node decrements it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/diagnostic.h"

namespace sharedisk::ocfs2 {

Diagnostics add_cluster(ClusterConf& conf, const std::string& name,
                        const std::string& heartbeat_mode = "local");
Diagnostics remove_cluster(ClusterConf& conf, const std::string& name);

struct NewNode {
  std::string cluster;
  std::string name;
  std::string ip_address;
  std::optional<std::uint32_t> number;  // default: the lowest free number, as o2cb picks
  std::uint32_t ip_port = kDefaultIpPort;
};

Diagnostics add_node(ClusterConf& conf, const NewNode& node);
Diagnostics remove_node(ClusterConf& conf, const std::string& cluster, const std::string& name);

Diagnostics add_heartbeat_region(ClusterConf& conf, const std::string& cluster,
                                 const std::string& region);
Diagnostics remove_heartbeat_region(ClusterConf& conf, const std::string& cluster,
                                    const std::string& region);
Diagnostics set_heartbeat_mode(ClusterConf& conf, const std::string& cluster,
                               const std::string& mode);

}  // namespace sharedisk::ocfs2
