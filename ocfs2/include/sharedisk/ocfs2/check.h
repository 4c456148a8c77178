// Holding a cluster.conf against a volume before it is mounted: enough node slots, the same
// cluster stack, cluster name and heartbeat mode, and a volume that is a mountable shared
// filesystem. Also gives the /etc/fstab line for it.
#pragma once

#include <optional>
#include <string>

#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/diagnostic.h"
#include "sharedisk/ocfs2/superblock.h"

namespace sharedisk::ocfs2 {

struct CheckOptions {
  // Cluster to hold the volume against. Default: the only cluster in the file, or the one
  // the volume names.
  std::optional<std::string> cluster;
  std::string mount_point = "/var/lib/odoo";
};

struct CheckResult {
  std::string cluster;  // the cluster that was checked
  Diagnostics diagnostics;
  std::string fstab_line;  // empty when the volume could not be read
  bool ok() const { return !has_errors(diagnostics); }
};

CheckResult check_volume(const ClusterConf& conf, const ProbeResult& probe,
                         const CheckOptions& options = {});

// "UUID=<uuid> <mount point> ocfs2 defaults,_netdev 0 0"
std::string fstab_line(const SuperblockInfo& info, const std::string& mount_point);

}  // namespace sharedisk::ocfs2
