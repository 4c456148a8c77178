// Registering a cluster with the kernel's o2nm configfs interface, as `o2cb register-cluster`
// followed by the o2cb init script's timeout step do:
//
//   mkdir  ROOT/cluster/NAME
//   write  ROOT/cluster/NAME/heartbeat/mode              local|global
//   for each node, in file order:
//     mkdir  ROOT/cluster/NAME/node/NODE
//     write  .../ipv4_port, .../ipv4_address, .../num, .../local (last, 1 for this host)
//   write  ROOT/cluster/NAME/heartbeat/dead_threshold, idle_timeout_ms, keepalive_delay_ms,
//          reconnect_delay_ms                            (those set in /etc/default/o2cb)
//
// Registering is idempotent: nodes already present with the same number, address and port
// are kept, changed ones are replaced, nodes no longer in the file are removed. When a step
// fails, every directory this call created is removed again. ROOT defaults to
// /sys/kernel/config; any directory can stand in for it (tests), in which case the
// directories and attribute files the kernel would provide are created as plain files.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/diagnostic.h"
#include "sharedisk/ocfs2/o2cb_defaults.h"

namespace sharedisk::ocfs2 {

inline constexpr const char* kDefaultConfigfsRoot = "/sys/kernel/config";

struct ConfigfsOptions {
  std::filesystem::path root = kDefaultConfigfsRoot;
  O2cbTimeouts timeouts;                  // usually load_o2cb_defaults(...).values.timeouts
  std::optional<std::string> local_node;  // default: match nodes against the hostname
};

struct ConfigfsResult {
  std::vector<std::string> actions;  // "mkdir PATH", "write PATH = VALUE", "rmdir PATH"
  Diagnostics diagnostics;
  bool ok() const { return !has_errors(diagnostics); }
};

// Validates the cluster first (with the local-node check) and refuses to touch configfs
// when it has errors.
ConfigfsResult register_cluster(const ClusterConf& conf, const std::string& cluster,
                                const ConfigfsOptions& options = {});

// Removes the nodes and the cluster. Refuses while a heartbeat region is active (a volume
// is mounted). Unregistering a cluster that is not registered succeeds with nothing done.
ConfigfsResult unregister_cluster(const std::string& cluster, const ConfigfsOptions& options = {});

}  // namespace sharedisk::ocfs2
