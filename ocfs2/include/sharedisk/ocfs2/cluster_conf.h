// The O2CB cluster topology as /etc/ocfs2/cluster.conf describes it, and its text form.
//
// parse_cluster_conf() reads the file the way ocfs2-tools' jconfig reader does: stanzas
// ("cluster:", "node:", "heartbeat:") start in column 0, attributes are indented
// "key = value" lines, '#' starts a comment only in column 0, and a blank line ends the
// current stanza. Anything ocfs2-tools would reject is an error with its line number;
// anything it silently ignores (unknown stanzas or attributes) is a warning.
//
// format_cluster_conf() writes the model byte for byte as ocfs2-tools' o2cb writes it
// (same stanza grouping, attribute order and tab indentation), so a file written by
// `o2cb add-cluster/add-node` parses and formats back to identical bytes.
//
// write_cluster_conf() replaces a file atomically: temporary file in the same directory,
// fsync, rename, fsync of the directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sharedisk/ocfs2/diagnostic.h"

namespace sharedisk::ocfs2 {

inline constexpr std::uint32_t kDefaultIpPort = 7777;
inline constexpr const char* kDefaultClusterConfPath = "/etc/ocfs2/cluster.conf";

// Where a stanza and each of its attributes came from (0 when built in memory).
struct SourceLines {
  int stanza = 0;
  std::map<std::string, int, std::less<>> attributes;
  int of(std::string_view attribute) const;  // the attribute's line, else the stanza's
};

struct Cluster {
  std::string name;
  std::string heartbeat_mode = "local";     // "local" or "global" (any case when parsed)
  std::optional<std::uint32_t> node_count;  // as written in the file
  SourceLines lines;
};

struct Node {
  std::string name;
  std::optional<std::uint32_t> number;
  std::string ip_address;
  std::optional<std::uint32_t> ip_port;
  std::string cluster;
  SourceLines lines;
};

// One global heartbeat region: the UUID of a heartbeat volume.
struct HeartbeatRegion {
  std::string region;
  std::string cluster;
  SourceLines lines;
};

struct ClusterConf {
  std::vector<Cluster> clusters;  // file order
  std::vector<Node> nodes;        // file order, all clusters
  std::vector<HeartbeatRegion> heartbeats;

  const Cluster* find_cluster(std::string_view name) const;
  Cluster* find_cluster(std::string_view name);
  std::vector<const Node*> nodes_of(std::string_view cluster) const;
  std::vector<const HeartbeatRegion*> regions_of(std::string_view cluster) const;
  const Node* find_node(std::string_view cluster, std::string_view name) const;
};

struct ParseResult {
  ClusterConf conf;
  Diagnostics diagnostics;  // syntax and type problems; semantics come from validate()
  bool ok() const { return !has_errors(diagnostics); }
};

ParseResult parse_cluster_conf(std::string_view text);

// Text exactly as ocfs2-tools' o2cb would store this model. Nodes and heartbeat regions
// whose cluster is not defined are dropped, as o2cb drops them.
std::string format_cluster_conf(const ClusterConf& conf);

// Reads and parses a file. A missing file is an empty configuration (as o2cb treats it);
// other read failures are an error diagnostic.
ParseResult load_cluster_conf(const std::filesystem::path& path);

// Atomically replaces `path` with `text` (mode 0644). Returns an empty string on success,
// otherwise a message saying what failed; the old file is then untouched.
std::string write_file_atomically(const std::filesystem::path& path, std::string_view text);

inline std::string write_cluster_conf(const std::filesystem::path& path, const ClusterConf& conf) {
  return write_file_atomically(path, format_cluster_conf(conf));
}

}  // namespace sharedisk::ocfs2
