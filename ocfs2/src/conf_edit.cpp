// Checked edits of a ClusterConf (the o2cb add-/remove- commands).
#include "sharedisk/ocfs2/conf_edit.h"

#include <arpa/inet.h>
#include <algorithm>
#include <cctype>

#include "sharedisk/ocfs2/validate.h"
#include "text.h"

namespace sharedisk::ocfs2 {
namespace {

Diagnostics fail(const char* code, std::string message) {
  return {{0, Severity::error, code, std::move(message)}};
}

}  // namespace

Diagnostics add_cluster(ClusterConf& conf, const std::string& name,
                        const std::string& heartbeat_mode) {
  if (auto p = cluster_name_problem(name); !p.empty()) return fail("cluster-name-invalid", p);
  if (conf.find_cluster(name))
    return fail("cluster-duplicate", "cluster '" + name + "' already exists");
  if (!is_valid_heartbeat_mode(heartbeat_mode))
    return fail("heartbeat-mode-invalid",
                "heartbeat mode '" + heartbeat_mode + "' must be 'local' or 'global'");
  Cluster c;
  c.name = name;
  c.heartbeat_mode = lower(heartbeat_mode);
  c.node_count = 0;
  conf.clusters.push_back(std::move(c));
  return {};
}

Diagnostics remove_cluster(ClusterConf& conf, const std::string& name) {
  auto it = std::find_if(conf.clusters.begin(), conf.clusters.end(),
                         [&](const Cluster& c) { return c.name == name; });
  if (it == conf.clusters.end())
    return fail("cluster-not-found", "cluster '" + name + "' is not defined");
  conf.clusters.erase(it);
  std::erase_if(conf.nodes, [&](const Node& n) { return n.cluster == name; });
  std::erase_if(conf.heartbeats, [&](const HeartbeatRegion& h) { return h.cluster == name; });
  return {};
}

Diagnostics add_node(ClusterConf& conf, const NewNode& node) {
  Diagnostics d;
  auto err = [&](const char* code, std::string msg) {
    d.push_back({0, Severity::error, code, std::move(msg)});
  };
  Cluster* cluster = conf.find_cluster(node.cluster);
  if (!cluster) return fail("cluster-not-found", "cluster '" + node.cluster + "' is not defined");
  const auto members = conf.nodes_of(node.cluster);

  if (auto p = node_name_problem(node.name); !p.empty()) err("node-name-invalid", p);
  if (conf.find_node(node.cluster, node.name))
    err("node-name-duplicate",
        "node '" + node.name + "' already exists in cluster '" + node.cluster + "'");

  auto used = [&](std::uint32_t number) {
    return std::any_of(members.begin(), members.end(),
                       [&](const Node* n) { return n->number == number; });
  };
  std::uint32_t number = 0;
  if (node.number) {
    number = *node.number;
    if (number >= kMaxNodes)
      err("node-number-out-of-range", "node number " + std::to_string(number) +
                                          " is out of range; use 0 to " +
                                          std::to_string(kMaxNodes - 1));
    else if (used(number))
      err("node-number-duplicate", "node number " + std::to_string(number) +
                                       " is already used in cluster '" + node.cluster +
                                       "'; choose another");
  } else {
    while (number < kMaxNodes && used(number)) ++number;
    if (number == kMaxNodes) err("cluster-full", "cluster '" + node.cluster + "' is full");
  }

  if (auto p = ipv4_problem(node.ip_address); !p.empty()) {
    err("node-address-invalid", p);
  } else {
    in_addr mine{}, theirs{};
    ::inet_pton(AF_INET, node.ip_address.c_str(), &mine);
    for (const Node* n : members) {
      if (::inet_pton(AF_INET, n->ip_address.c_str(), &theirs) == 1 && theirs.s_addr == mine.s_addr)
        err("node-address-duplicate", "address " + node.ip_address + " is already used by node '" +
                                          n->name + "'; the kernel accepts one node per address");
    }
  }
  if (node.ip_port == 0 || node.ip_port > kMaxPort)
    err("node-port-out-of-range", "port " + std::to_string(node.ip_port) +
                                      " is out of range; use 1 to " + std::to_string(kMaxPort));
  if (has_errors(d)) return d;

  Node n;
  n.name = node.name;
  n.number = number;
  n.ip_address = node.ip_address;
  n.ip_port = node.ip_port;
  n.cluster = node.cluster;
  conf.nodes.push_back(std::move(n));
  cluster->node_count = cluster->node_count.value_or(0) + 1;
  return {};
}

Diagnostics remove_node(ClusterConf& conf, const std::string& cluster, const std::string& name) {
  Cluster* c = conf.find_cluster(cluster);
  if (!c) return fail("cluster-not-found", "cluster '" + cluster + "' is not defined");
  auto it = std::find_if(conf.nodes.begin(), conf.nodes.end(),
                         [&](const Node& n) { return n.cluster == cluster && n.name == name; });
  if (it == conf.nodes.end())
    return fail("node-not-found", "node '" + name + "' is not in cluster '" + cluster + "'");
  conf.nodes.erase(it);
  if (c->node_count.value_or(0) > 0) c->node_count = *c->node_count - 1;
  return {};
}

Diagnostics add_heartbeat_region(ClusterConf& conf, const std::string& cluster,
                                 const std::string& region) {
  if (!conf.find_cluster(cluster))
    return fail("cluster-not-found", "cluster '" + cluster + "' is not defined");
  if (auto p = region_problem(region); !p.empty()) return fail("heartbeat-region-invalid", p);
  const auto regions = conf.regions_of(cluster);
  for (const auto* h : regions)
    if (h->region == region)
      return fail("heartbeat-region-duplicate", "heartbeat region " + region + " already exists");
  if (regions.size() >= kMaxHeartbeatRegions)
    return fail("heartbeat-too-many-regions",
                "cluster '" + cluster + "' already has the maximum of " +
                    std::to_string(kMaxHeartbeatRegions) + " heartbeat regions");
  HeartbeatRegion h;
  h.region = region;
  h.cluster = cluster;
  conf.heartbeats.push_back(std::move(h));
  return {};
}

Diagnostics remove_heartbeat_region(ClusterConf& conf, const std::string& cluster,
                                    const std::string& region) {
  auto it = std::find_if(
      conf.heartbeats.begin(), conf.heartbeats.end(),
      [&](const HeartbeatRegion& h) { return h.cluster == cluster && h.region == region; });
  if (it == conf.heartbeats.end())
    return fail("heartbeat-region-not-found",
                "heartbeat region " + region + " is not in cluster '" + cluster + "'");
  conf.heartbeats.erase(it);
  return {};
}

Diagnostics set_heartbeat_mode(ClusterConf& conf, const std::string& cluster,
                               const std::string& mode) {
  Cluster* c = conf.find_cluster(cluster);
  if (!c) return fail("cluster-not-found", "cluster '" + cluster + "' is not defined");
  if (!is_valid_heartbeat_mode(mode))
    return fail("heartbeat-mode-invalid",
                "heartbeat mode '" + mode + "' must be 'local' or 'global'");
  c->heartbeat_mode = lower(mode);
  return {};
}

}  // namespace sharedisk::ocfs2
