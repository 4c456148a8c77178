#include "blockdev/rbd_cluster.h"

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

namespace sharedisk::blockdev {

namespace {

std::mutex registry_mutex;
std::map<ClusterKey, std::weak_ptr<RadosCluster>>& registry() {
  static std::map<ClusterKey, std::weak_ptr<RadosCluster>> r;
  return r;
}

std::string describe(const ClusterKey& key) {
  return "ceph cluster of " + key.ceph_conf + " as client." + key.client;
}

void set(rados_t c, const ClusterKey& key, const char* option, const std::string& value) {
  int rc = rados_conf_set(c, option, value.c_str());
  if (rc < 0) {
    rados_shutdown(c);
    throw RbdOpenError(RbdFailure::kCluster, describe(key) + ": cannot set " + option + "=" +
                                                 value + ": " + std::strerror(-rc));
  }
}

rados_t connect(const ClusterKey& key) {
  rados_t c = nullptr;
  int rc = rados_create(&c, key.client.c_str());
  if (rc < 0) throw RbdOpenError(RbdFailure::kCluster, describe(key) + ": " + std::strerror(-rc));
  rc = rados_conf_read_file(c, key.ceph_conf.c_str());
  if (rc < 0) {
    rados_shutdown(c);
    throw RbdOpenError(RbdFailure::kCluster,
                       "cannot read " + key.ceph_conf + ": " + std::strerror(-rc));
  }
  if (!key.keyring.empty()) set(c, key, "keyring", key.keyring);
  // Set after the file so that they win over it: nothing may wait forever,
  // and a gateway's write-back cache would die with the gateway.
  const std::string connect_s = std::to_string(key.connect_timeout_s);
  set(c, key, "client_mount_timeout", connect_s);
  set(c, key, "rados_mon_op_timeout", connect_s);
  set(c, key, "rados_osd_op_timeout", std::to_string(key.op_timeout_s));
  set(c, key, "rbd_cache", "false");
  // Writes are copied into librbd's buffers (its default, set here so that a
  // ceph.conf cannot change it). Zero-copy writes would save a copy per write
  // but complete a request only when librados dropped its last reference to
  // the data: a blocklisted client's writes then never completed at all
  // (RbdDaemon.BlocklistedClientGetsErrorsNotAcknowledgements hung).
  set(c, key, "rbd_disable_zero_copy_writes", "true");
  // A gateway that breaks a dead or partitioned gateway's exclusive lock
  // blocklists it, so writes it still holds cannot land afterwards (librbd's
  // default; a ceph.conf must not turn it off under a multi-gateway LUN).
  set(c, key, "rbd_blocklist_on_break_lock", "true");
  // Discards of part of an object zero it instead of being skipped, so a
  // discarded range always reads back as zeroes (LBPRZ).
  set(c, key, "rbd_skip_partial_discard", "false");
  // Ping the watches every second (default 5 s): the exclusive lock of a
  // gateway that died is broken once the OSDs time out its header watch
  // (osd_client_watch_timeout, 30 s by default), so a cluster may lower
  // that timeout for a faster failover without live gateways losing theirs.
  set(c, key, "objecter_tick_interval", "1");
  // librbd dispatches a request on the calling event loop instead of handing
  // it to its own work-queue thread (its default): one thread wakeup less
  // per I/O, which is most of a gateway's CPU per I/O on a busy host (see
  // docs/benchmarks.md). librbd's dispatch never waits for the cluster:
  // the exclusive lock, a refresh and QoS queue requests asynchronously.
  set(c, key, "rbd_non_blocking_aio", "false");
  // What could still block the loop is the Objecter's in-flight throttle
  // (1024 requests or 100 MiB by default): with the OSDs gone, the loop would
  // stop answering every session on it, NOP-Outs included. Unlimited (0) here:
  // what is in flight is already bounded by the sessions' CmdSN windows and
  // burst lengths, in buffers the target holds anyway.
  set(c, key, "objecter_inflight_ops", "0");
  set(c, key, "objecter_inflight_op_bytes", "0");
  // The daemon logs for itself; librados would otherwise write to stderr.
  set(c, key, "log_to_stderr", "false");
  rc = rados_connect(c);
  if (rc < 0) {
    rados_shutdown(c);
    const bool auth = rc == -EACCES || rc == -EPERM || rc == -ENOENT || rc == -EINVAL;
    std::string reason = std::strerror(-rc);
    if (rc == -ETIMEDOUT || rc == -ENOTCONN)
      reason = "the monitors did not answer within " + connect_s + " s (" + reason + ")";
    else if (rc == -ENOENT)
      reason = "no key for client." + key.client + " (" + reason + ")";
    else if (auth)
      reason = "the monitors refused the key of client." + key.client + " (" + reason + ")";
    throw RbdOpenError(auth ? RbdFailure::kAuth : RbdFailure::kCluster,
                       describe(key) + ": " + reason);
  }
  return c;
}

}  // namespace

bool ClusterKey::operator<(const ClusterKey& o) const {
  return std::tie(ceph_conf, client, keyring, op_timeout_s, connect_timeout_s) <
         std::tie(o.ceph_conf, o.client, o.keyring, o.op_timeout_s, o.connect_timeout_s);
}

RadosCluster::~RadosCluster() {
  rados_shutdown(handle_);
}

std::shared_ptr<RadosCluster> connect_cluster(const ClusterKey& key) {
  // Held across the connect: two LUNs of one cluster opened at once must
  // share one connection, and opening is rare.
  std::lock_guard lock(registry_mutex);
  auto& r = registry();
  for (auto it = r.begin(); it != r.end();) it = it->second.expired() ? r.erase(it) : ++it;
  if (auto live = r[key].lock()) return live;
  auto cluster = std::make_shared<RadosCluster>(connect(key));
  r[key] = cluster;
  return cluster;
}

}  // namespace sharedisk::blockdev
