// Lookups on the cluster.conf model.
#include "sharedisk/ocfs2/cluster_conf.h"

namespace sharedisk::ocfs2 {

int SourceLines::of(std::string_view attribute) const {
  auto it = attributes.find(attribute);
  return it != attributes.end() ? it->second : stanza;
}

const Cluster* ClusterConf::find_cluster(std::string_view name) const {
  for (const auto& c : clusters)
    if (c.name == name) return &c;
  return nullptr;
}

Cluster* ClusterConf::find_cluster(std::string_view name) {
  for (auto& c : clusters)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<const Node*> ClusterConf::nodes_of(std::string_view cluster) const {
  std::vector<const Node*> out;
  for (const auto& n : nodes)
    if (n.cluster == cluster) out.push_back(&n);
  return out;
}

std::vector<const HeartbeatRegion*> ClusterConf::regions_of(std::string_view cluster) const {
  std::vector<const HeartbeatRegion*> out;
  for (const auto& h : heartbeats)
    if (h.cluster == cluster) out.push_back(&h);
  return out;
}

const Node* ClusterConf::find_node(std::string_view cluster, std::string_view name) const {
  for (const auto& n : nodes)
    if (n.cluster == cluster && n.name == name) return &n;
  return nullptr;
}

}  // namespace sharedisk::ocfs2
