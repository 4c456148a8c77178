// cluster.conf against a probed volume: the conditions under which mount.ocfs2 would refuse
// the volume, or the cluster would not be able to use it.
#include <algorithm>
#include <cctype>

#include "sharedisk/ocfs2/check.h"
#include "text.h"

namespace sharedisk::ocfs2 {

std::string fstab_line(const SuperblockInfo& info, const std::string& mount_point) {
  return "UUID=" + info.uuid + " " + mount_point + " ocfs2 defaults,_netdev 0 0";
}

CheckResult check_volume(const ClusterConf& conf, const ProbeResult& probe,
                         const CheckOptions& options) {
  CheckResult r;
  auto add = [&](Severity s, const char* code, std::string msg) {
    r.diagnostics.push_back({0, s, code, std::move(msg)});
  };
  if (!probe.ok()) {
    add(Severity::error,
        probe.status == ProbeStatus::io_error  ? "volume-unreadable"
        : probe.status == ProbeStatus::damaged ? "volume-damaged"
                                               : "volume-not-ocfs2",
        probe.message);
    return r;
  }
  const SuperblockInfo& sb = probe.info;
  for (const auto& w : probe.warnings) add(Severity::warning, "volume-warning", w);

  const Cluster* cluster = nullptr;
  if (options.cluster) {
    cluster = conf.find_cluster(*options.cluster);
    if (!cluster)
      add(Severity::error, "cluster-not-found",
          "cluster '" + *options.cluster + "' is not defined in cluster.conf");
  } else if (conf.clusters.size() == 1) {
    cluster = &conf.clusters.front();
  } else if (conf.clusters.empty()) {
    add(Severity::error, "cluster-not-found", "cluster.conf defines no cluster");
  } else {
    cluster = conf.find_cluster(sb.cluster_name);
    if (!cluster)
      add(Severity::error, "cluster-ambiguous",
          "cluster.conf defines several clusters; choose one with --cluster");
  }

  if (sb.feature_incompat & kIncompatHeartbeatDev)
    add(Severity::error, "volume-heartbeat-only",
        "the volume is a heartbeat-only device, not a filesystem you can mount");
  if (sb.feature_incompat & kIncompatLocalMount)
    add(Severity::error, "volume-local-mount",
        "the volume was formatted for local (single-node) use; the nodes cannot share it. "
        "Change it with 'tunefs.ocfs2 --fs-features=nolocal'");
  if (sb.feature_incompat & (kIncompatResizeInProgress | kIncompatTunefsInProgress))
    add(Severity::error, "volume-tunefs-aborted",
        "an earlier tunefs.ocfs2 run was interrupted; run fsck.ocfs2 before mounting");

  if (cluster) {
    r.cluster = cluster->name;
    const auto members = conf.nodes_of(cluster->name);
    const std::size_t needed =
        std::max<std::size_t>(cluster->node_count.value_or(0), members.size());
    if (sb.node_slots < needed)
      add(Severity::error, "volume-too-few-slots",
          "the volume has " + std::to_string(sb.node_slots) + " node slot(s) but cluster '" +
              cluster->name + "' has " + std::to_string(needed) +
              " nodes; only that many can mount it at once. Add slots with 'tunefs.ocfs2 -N " +
              std::to_string(needed) + " DEVICE'");
    if (sb.cluster_stack != "o2cb")
      add(Severity::error, "volume-stack-mismatch",
          "the volume is formatted for the '" + sb.cluster_stack +
              "' cluster stack, but cluster.conf configures o2cb; fix it with "
              "'tunefs.ocfs2 --update-cluster-stack' on a node running o2cb");
    if (!sb.has_cluster_info) {
      add(Severity::info, "volume-no-cluster-name",
          "the volume does not record a cluster name (classic o2cb format), so the name "
          "cannot be checked");
    } else if (sb.cluster_name != cluster->name) {
      add(Severity::error, "volume-cluster-mismatch",
          "the volume belongs to cluster '" + sb.cluster_name + "' but cluster.conf names '" +
              cluster->name +
              "'; mount.ocfs2 will refuse it. Rename the cluster or run "
              "'tunefs.ocfs2 --update-cluster-stack'");
    }
    const bool conf_global = lower(cluster->heartbeat_mode) == "global";
    if (sb.has_cluster_info && sb.global_heartbeat() != conf_global)
      add(Severity::error, "volume-heartbeat-mismatch",
          std::string("the volume uses ") + (sb.global_heartbeat() ? "global" : "local") +
              " heartbeat but cluster '" + cluster->name + "' is configured for " +
              (conf_global ? "global" : "local") + " heartbeat");
  }
  r.fstab_line = fstab_line(sb, options.mount_point);
  return r;
}

}  // namespace sharedisk::ocfs2
