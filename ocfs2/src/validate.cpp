// Semantic validation of a parsed cluster.conf. The rules and where they come from:
//  - cluster name: 1..16 alphanumerics (o2cb's check; the name is stored in the 16-byte
//    superblock field)
//  - node name: 1..64 characters (O2NM_MAX_NAME_LEN) that can match a hostname
//  - node number: 0..254 (O2NM_MAX_NODES), unique per cluster (o2nm refuses duplicates)
//  - ip_address: dotted IPv4 (inet_pton, as o2cb), unique per cluster (o2nm keeps nodes in
//    a tree keyed by address alone, so a second node on the same address is refused even
//    with another port)
//  - ip_port: 1..65534 (o2nm refuses 0 and >= 65535)
//  - heartbeat mode: local or global; global needs 1..32 regions (O2NM_MAX_REGIONS), each
//    a volume UUID as 32 uppercase hex digits
//  - node_count equal to the node stanzas, every node's cluster defined, this host present
//    exactly once (o2nm allows one local node) in the cluster it will join.
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <set>
#include <string>

#include "sharedisk/ocfs2/validate.h"

#include "text.h"

namespace sharedisk::ocfs2 {
namespace {

bool ends_with_blank(const std::string& s) {
  return !s.empty() && (s.back() == ' ' || s.back() == '\t');
}

std::string blank_hint(const std::string& s) {
  return ends_with_blank(s) ? " (it ends with blanks, which ocfs2-tools keeps as part of the value)"
                            : "";
}

struct Checker {
  const ClusterConf& conf;
  const ValidateOptions& options;
  Diagnostics out;

  void add(int line, Severity s, const char* code, std::string message) {
    out.push_back({line, s, code, std::move(message)});
  }

  void clusters() {
    std::map<std::string, int> seen;
    for (const auto& c : conf.clusters) {
      const int line = c.lines.of("name");
      if (!c.name.empty()) {
        if (auto p = cluster_name_problem(c.name); !p.empty())
          add(line, Severity::error, "cluster-name-invalid", p);
        if (auto [it, fresh] = seen.emplace(c.name, line); !fresh)
          add(line, Severity::error, "cluster-duplicate",
              "cluster '" + c.name + "' is already defined on line " + std::to_string(it->second));
      }
      const auto members = conf.nodes_of(c.name);
      if (c.node_count && *c.node_count != members.size()) {
        add(c.lines.of("node_count"), Severity::error, "node-count-mismatch",
            "cluster '" + c.name + "' says node_count = " + std::to_string(*c.node_count) +
                " but has " + std::to_string(members.size()) +
                " node stanza(s); set node_count = " + std::to_string(members.size()));
      }
      if (members.empty() && !c.name.empty())
        add(c.lines.stanza, Severity::warning, "cluster-without-nodes",
            "cluster '" + c.name + "' has no nodes");
      heartbeat(c);
      nodes(c, members);
    }
  }

  void heartbeat(const Cluster& c) {
    const int mode_line = c.lines.of("heartbeat_mode");
    const bool valid_mode = is_valid_heartbeat_mode(c.heartbeat_mode);
    if (!valid_mode)
      add(mode_line, Severity::error, "heartbeat-mode-invalid",
          "heartbeat_mode '" + c.heartbeat_mode + "' must be 'local' or 'global'" +
              blank_hint(c.heartbeat_mode));
    const auto regions = conf.regions_of(c.name);
    const bool global = valid_mode && lower(c.heartbeat_mode) == "global";
    if (global && regions.empty())
      add(mode_line, Severity::error, "heartbeat-global-without-regions",
          "cluster '" + c.name +
              "' uses global heartbeat but lists no heartbeat region; add one with "
              "'o2cb add-heartbeat " +
              c.name + " DEVICE'");
    if (valid_mode && !global && !regions.empty())
      add(regions.front()->lines.stanza, Severity::warning, "heartbeat-regions-unused",
          "cluster '" + c.name +
              "' uses local heartbeat, so its heartbeat regions are ignored; set heartbeat_mode "
              "= global to use them");
    if (regions.size() > kMaxHeartbeatRegions)
      add(regions[kMaxHeartbeatRegions]->lines.stanza, Severity::error,
          "heartbeat-too-many-regions",
          "cluster '" + c.name + "' has " + std::to_string(regions.size()) +
              " heartbeat regions; the kernel supports at most " +
              std::to_string(kMaxHeartbeatRegions));
    std::map<std::string, int> seen;
    for (const auto* h : regions) {
      const int line = h->lines.of("region");
      if (h->region.empty()) continue;
      if (auto p = region_problem(h->region); !p.empty())
        add(line, Severity::error, "heartbeat-region-invalid", p);
      if (auto [it, fresh] = seen.emplace(h->region, line); !fresh)
        add(line, Severity::error, "heartbeat-region-duplicate",
            "heartbeat region " + h->region + " is already listed on line " +
                std::to_string(it->second));
    }
  }

  void nodes(const Cluster& c, const std::vector<const Node*>& members) {
    std::map<std::string, int> names;
    std::map<std::uint32_t, std::pair<std::string, int>> numbers;
    std::map<std::string, std::pair<const Node*, int>> addresses;
    for (const auto* n : members) {
      if (!n->name.empty()) {
        const int line = n->lines.of("name");
        if (auto p = node_name_problem(n->name); !p.empty())
          add(line, Severity::error, "node-name-invalid", p);
        if (auto [it, fresh] = names.emplace(n->name, line); !fresh)
          add(line, Severity::error, "node-name-duplicate",
              "node '" + n->name + "' is already defined in cluster '" + c.name + "' on line " +
                  std::to_string(it->second));
      }
      if (n->number) {
        const int line = n->lines.of("number");
        if (*n->number >= kMaxNodes) {
          add(line, Severity::error, "node-number-out-of-range",
              "node '" + n->name + "' has number " + std::to_string(*n->number) +
                  "; node numbers go from 0 to " + std::to_string(kMaxNodes - 1));
        } else if (auto [it, fresh] = numbers.emplace(*n->number, std::pair{n->name, line});
                   !fresh) {
          add(line, Severity::error, "node-number-duplicate",
              "node '" + n->name + "' has number " + std::to_string(*n->number) +
                  ", already used by node '" + it->second.first + "' on line " +
                  std::to_string(it->second.second));
        }
      }
      if (n->ip_port && (*n->ip_port == 0 || *n->ip_port > kMaxPort))
        add(n->lines.of("ip_port"), Severity::error, "node-port-out-of-range",
            "node '" + n->name + "' has ip_port " + std::to_string(*n->ip_port) +
                "; the port must be between 1 and " + std::to_string(kMaxPort));
      if (!n->ip_address.empty()) address(c, *n, addresses);
    }
  }

  void address(const Cluster& c, const Node& n,
               std::map<std::string, std::pair<const Node*, int>>& seen) {
    const int line = n.lines.of("ip_address");
    if (auto p = ipv4_problem(n.ip_address); !p.empty()) {
      add(line, Severity::error, "node-address-invalid", "node '" + n.name + "': " + p);
      return;
    }
    in_addr a{};
    ::inet_pton(AF_INET, n.ip_address.c_str(), &a);
    if ((ntohl(a.s_addr) >> 24) == 127)
      add(line, Severity::warning, "node-address-loopback",
          "node '" + n.name + "' has the loopback address " + n.ip_address +
              "; the other nodes cannot reach it there");
    const std::string key = std::to_string(a.s_addr);  // normalized address
    auto [it, fresh] = seen.emplace(key, std::pair{&n, line});
    if (fresh) return;
    const Node& first = *it->second.first;
    if (first.ip_port == n.ip_port)
      add(line, Severity::error, "node-endpoint-duplicate",
          "node '" + n.name + "' uses " + n.ip_address + ":" +
              std::to_string(n.ip_port.value_or(0)) + ", already used by node '" + first.name +
              "' on line " + std::to_string(it->second.second));
    else
      add(line, Severity::error, "node-address-duplicate",
          "node '" + n.name + "' uses address " + n.ip_address + " like node '" + first.name +
              "' on line " + std::to_string(it->second.second) + " in cluster '" + c.name +
              "'; the kernel accepts one node per address, even on different ports");
  }

  void orphans() {
    for (const auto& n : conf.nodes) {
      if (n.cluster.empty() || conf.find_cluster(n.cluster)) continue;
      std::string hint;
      if (conf.find_cluster(trim(n.cluster))) hint = blank_hint(n.cluster);
      add(n.lines.of("cluster"), Severity::error, "node-cluster-undefined",
          "node '" + n.name + "' belongs to cluster '" + n.cluster +
              "', which no cluster stanza defines" + hint + "; ocfs2-tools ignores this node");
    }
    for (const auto& h : conf.heartbeats) {
      if (h.cluster.empty() || conf.find_cluster(h.cluster)) continue;
      add(h.lines.of("cluster"), Severity::error, "heartbeat-cluster-undefined",
          "heartbeat region " + h.region + " belongs to cluster '" + h.cluster +
              "', which no cluster stanza defines");
    }
  }

  void local_node() {
    if (!options.check_local_node) return;
    const std::string host = options.local_node ? *options.local_node : local_hostname();
    std::vector<const Cluster*> targets;
    if (options.cluster) {
      const Cluster* c = conf.find_cluster(*options.cluster);
      if (!c) {
        add(0, Severity::error, "cluster-not-found",
            "cluster '" + *options.cluster + "' is not defined in the file");
        return;
      }
      targets.push_back(c);
    } else {
      for (const auto& c : conf.clusters) targets.push_back(&c);
    }
    // With several clusters in one file and none chosen, this host need not be in all.
    const Severity missing = targets.size() == 1 ? Severity::error : Severity::warning;
    for (const Cluster* c : targets) {
      std::vector<const Node*> matches;
      for (const Node* n : conf.nodes_of(c->name))
        if (node_matches_host(n->name, host)) matches.push_back(n);
      if (matches.empty())
        add(c->lines.stanza, missing, "local-node-missing",
            "this host ('" + host + "') is not a node of cluster '" + c->name +
                "'; add it, or name the node with --local-node if it differs from the hostname");
      if (matches.size() > 1)
        add(matches[1]->lines.of("name"), Severity::error, "local-node-ambiguous",
            "nodes '" + matches[0]->name + "' and '" + matches[1]->name +
                "' both match this host ('" + host + "'); the kernel allows one local node");
    }
  }
};

}  // namespace

std::string cluster_name_problem(const std::string& name) {
  if (name.empty()) return "the cluster name is empty";
  if (name.size() > kMaxClusterNameLen)
    return "cluster name '" + name + "' is " + std::to_string(name.size()) +
           " characters long; the limit is " + std::to_string(kMaxClusterNameLen);
  for (unsigned char c : name)
    if (!std::isalnum(c))
      return "cluster name '" + name + "' may contain only letters and digits" + blank_hint(name);
  return {};
}

std::string node_name_problem(const std::string& name) {
  if (name.empty()) return "the node name is empty";
  if (name.size() > kMaxNodeNameLen)
    return "node name '" + name + "' is " + std::to_string(name.size()) +
           " characters long; the limit is " + std::to_string(kMaxNodeNameLen);
  if (name == "." || name == "..") return "node name '" + name + "' is not allowed";
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '-' && c != '.' && c != '_')
      return "node name '" + name +
             "' must be the host's name: letters, digits, '-', '_' and '.' only" + blank_hint(name);
  return {};
}

std::string ipv4_problem(const std::string& address) {
  in_addr a{};
  if (::inet_pton(AF_INET, address.c_str(), &a) != 1)
    return "'" + address + "' is not an IPv4 address in dotted form (such as 192.168.55.111)" +
           blank_hint(address);
  const std::uint32_t v = ntohl(a.s_addr);
  if (v == 0) return "0.0.0.0 cannot be a node address";
  if (v == 0xffffffffu) return "255.255.255.255 is the broadcast address, not a node address";
  if ((v >> 28) == 0xe) return "'" + address + "' is a multicast address, not a node address";
  return {};
}

std::string region_problem(const std::string& region) {
  bool hex = region.size() == kRegionNameLen;
  for (char c : region) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
  if (!hex)
    return "heartbeat region '" + region +
           "' must be the heartbeat volume's UUID as 32 hex digits (see 'blkid' or "
           "'debugfs.ocfs2 -R stats DEVICE')" +
           blank_hint(region);
  for (char c : region)
    if (std::islower(static_cast<unsigned char>(c)))
      return "heartbeat region '" + region +
             "' must be written in uppercase, as mount.ocfs2 looks it up";
  return {};
}

bool is_valid_heartbeat_mode(const std::string& mode) {
  const std::string m = lower(mode);
  return m == "local" || m == "global";
}

std::string local_hostname() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

// o2cb's rule: the node name equals the hostname, ignoring case, up to the first '.' of the
// hostname (so node "odoo1" is local on "odoo1.example.com").
bool node_matches_host(const std::string& node_name, const std::string& hostname) {
  if (node_name.empty() || hostname.size() < node_name.size()) return false;
  for (std::size_t i = 0; i < node_name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(node_name[i])) !=
        std::tolower(static_cast<unsigned char>(hostname[i])))
      return false;
  return hostname.size() == node_name.size() || hostname[node_name.size()] == '.';
}

Diagnostics validate_cluster_conf(const ClusterConf& conf, const ValidateOptions& options) {
  Checker checker{conf, options, {}};
  checker.clusters();
  checker.orphans();
  checker.local_node();
  sort_by_line(checker.out);
  return checker.out;
}

}  // namespace sharedisk::ocfs2
