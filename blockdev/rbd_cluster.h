// Connections to Ceph clusters, shared by every RBD LUN that uses the same
// (ceph.conf, cephx client, keyring, I/O timeout).
//
// A connection is a librados handle (rados_t): its monitor session, its OSD
// sessions and its messenger threads. Opening one per LUN would multiply all
// of that, so connect_cluster() hands out refcounted handles from a registry:
// the first LUN connects, later ones reuse the handle, and the last one to go
// shuts it down. Only opening and closing take the registry's lock; the I/O
// path never touches it.
//
// Every connection is made so that nothing waits forever: client_mount_timeout
// and rados_mon_op_timeout bound the connect and the monitor requests of
// opening a pool and an image; rados_osd_op_timeout bounds every OSD request,
// so an I/O the cluster does not answer fails with -ETIMEDOUT.
#pragma once

#include <rados/librados.h>

#include <cstdint>
#include <memory>
#include <string>

#include "blockdev/block_device.h"

namespace sharedisk::blockdev {

struct ClusterKey {
  std::string ceph_conf;  // path of ceph.conf
  std::string client;     // cephx id without "client." (admin)
  std::string keyring;    // empty: the keyring ceph.conf names
  uint32_t op_timeout_s = 0;
  uint32_t connect_timeout_s = 0;
  bool operator<(const ClusterKey& o) const;
};

class RadosCluster {
 public:
  explicit RadosCluster(rados_t handle) : handle_(handle) {}
  ~RadosCluster();
  RadosCluster(const RadosCluster&) = delete;
  RadosCluster& operator=(const RadosCluster&) = delete;
  rados_t handle() const { return handle_; }

 private:
  rados_t handle_;
};

// Why opening an RBD image failed, so that the caller can point at the
// configuration key at fault.
enum class RbdFailure : uint8_t {
  kCluster,  // ceph.conf unreadable, monitors unreachable, timeout
  kAuth,     // the cephx key was refused or is missing
  kPool,     // no such pool (or namespace)
  kImage,    // no such image, or it cannot be opened
};

class RbdOpenError : public OpenError {
 public:
  RbdOpenError(RbdFailure failure, const std::string& what) : OpenError(what), failure_(failure) {}
  RbdFailure failure() const { return failure_; }

 private:
  RbdFailure failure_;
};

// Connects (or reuses a live connection). Throws RbdOpenError; blocks at most
// about key.connect_timeout_s when the monitors do not answer.
std::shared_ptr<RadosCluster> connect_cluster(const ClusterKey& key);

}  // namespace sharedisk::blockdev
