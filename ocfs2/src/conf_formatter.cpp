// cluster.conf writer, byte-compatible with ocfs2-tools' o2cb.
//
// o2cb rebuilds the file from its model: for each cluster in order it adds the cluster
// stanza, then that cluster's heartbeat stanzas, then its node stanzas, to a GLib hash
// table keyed by stanza name, and dumps the table in bucket order. With the three names
// involved, "cluster" always comes first, and "node" and "heartbeat" share a bucket, so
// whichever of the two was added first is printed first. Attributes sit in per-stanza hash
// tables too; o2cb always inserts the same keys, which fixes their printed order to the
// lists below (observed from ocfs2-tools 1.8.7 and stable across its releases).
#include <algorithm>
#include <cctype>
#include <string>

#include "sharedisk/ocfs2/cluster_conf.h"
#include "text.h"

namespace sharedisk::ocfs2 {
namespace {

// jconfig prints an empty value as "\tkey =" and continues multi-line values with "\\\n".
void attribute(std::string& out, std::string_view key, std::string_view value) {
  out += '\t';
  out += key;
  if (value.empty()) {
    out += " =\n";
    return;
  }
  out += " = ";
  for (char c : value) {
    if (c == '\n')
      out += "\\\n";
    else
      out += c;
  }
  out += '\n';
}

std::string number(const std::optional<std::uint32_t>& v) {
  return std::to_string(v.value_or(0));
}

}  // namespace

std::string format_cluster_conf(const ClusterConf& conf) {
  std::string clusters, nodes, heartbeats;
  bool heartbeat_first = false, order_known = false;
  for (const auto& c : conf.clusters) {
    clusters += "cluster:\n";
    attribute(clusters, "name", c.name);
    attribute(clusters, "heartbeat_mode", lower(c.heartbeat_mode));
    attribute(clusters, "node_count", number(c.node_count));
    clusters += '\n';

    const auto regions = conf.regions_of(c.name);
    const auto members = conf.nodes_of(c.name);
    if (!order_known && (!regions.empty() || !members.empty())) {
      heartbeat_first = !regions.empty();
      order_known = true;
    }
    for (const auto* h : regions) {
      heartbeats += "heartbeat:\n";
      attribute(heartbeats, "cluster", c.name);
      attribute(heartbeats, "region", h->region);
      heartbeats += '\n';
    }
    for (const auto* n : members) {
      nodes += "node:\n";
      attribute(nodes, "cluster", c.name);
      attribute(nodes, "number", number(n->number));
      attribute(nodes, "ip_port", number(n->ip_port));
      attribute(nodes, "ip_address", n->ip_address);
      attribute(nodes, "name", n->name);
      nodes += '\n';
    }
  }
  return heartbeat_first ? clusters + heartbeats + nodes : clusters + nodes + heartbeats;
}

}  // namespace sharedisk::ocfs2
