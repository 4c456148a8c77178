// A Ceph RBD image as a BlockDevice, through librbd's asynchronous API.
//
// One open image (rbd_image_t) is shared by every event loop; each loop gets
// an RbdChannel that submits with rbd_aio_readv / writev / flush / discard /
// write_zeroes straight from the loop thread. librbd completes requests on its
// own threads: the completion callback only records the result and pushes the
// request onto the channel's lock-free completion stack, waking the loop
// through an eventfd when the stack was empty (one wake-up per batch). The
// loop takes the whole stack at once and runs IoCallback::io_done there, so
// SCSI code never runs on a librbd thread and no lock is taken per I/O.
//
// kAllocationMap (GET LBA STATUS) runs rbd_diff_iterate2, which blocks, on
// the device's BlockingWorker; its result comes back through the same stack.
//
// The per-request state lives in slots preallocated by the channel (chunks
// that only grow to the deepest queue seen); librbd's own rbd_completion_t is
// the only allocation per I/O, and it is librbd's.
#pragma once

#include <rbd/librbd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "blockdev/block_device.h"
#include "blockdev/blocking_worker.h"
#include "blockdev/rados_object.h"
#include "blockdev/rbd_cluster.h"
#include "blockdev/rbd_stats.h"

namespace sharedisk::blockdev {

// The shared object `oid` in the pool (and namespace) of `ioctx`, which the
// caller keeps open for as long as the object lives (rados_object.cpp): the
// one watch implementation for the image header and the shared state.
std::unique_ptr<SharedObject> open_shared_object_in(std::shared_ptr<RadosCluster> cluster,
                                                    rados_ioctx_t ioctx, const std::string& oid);

struct RbdOptions {
  std::string pool;
  std::string image;
  std::string ns;  // RADOS namespace inside the pool; empty = the default one
  std::string ceph_conf = "/etc/ceph/ceph.conf";
  std::string client = "admin";  // cephx id (client.<id>)
  std::string keyring;           // empty: what ceph.conf says
  // An I/O the cluster does not answer in this time fails with -ETIMEDOUT
  // (rados_osd_op_timeout).
  uint32_t io_timeout_s = 20;
  // Bound on connecting and on each monitor request while opening.
  uint32_t connect_timeout_s = 10;
  bool read_only = false;
  CacheMode cache_mode = CacheMode::kWriteBack;
};

class RbdDevice final : public BlockDevice {
 public:
  RbdDevice(std::shared_ptr<RadosCluster> cluster, rados_ioctx_t ioctx, rbd_image_t image,
            DeviceInfo info, CacheMode mode);
  // Waits for librbd to finish what is still in flight, then closes.
  ~RbdDevice() override;

  const DeviceInfo& info() const override { return info_; }
  std::unique_ptr<IoChannel> make_channel(boost::asio::io_context& loop) override;
  void set_cache_mode(CacheMode mode) override { mode_.store(mode, std::memory_order_relaxed); }
  CacheMode cache_mode() const override { return mode_.load(std::memory_order_relaxed); }
  // The image's size now (rbd_get_size, which re-reads a header that changed).
  uint64_t refresh_size() override;
  // rbd_update_watch: librbd calls `changed` when the image header changes
  // (a resize, a snapshot, a feature toggled).
  void watch_size(std::function<void()> changed) override;
  // The exclusive lock as owner token. `group` goes into the omap of the
  // RADOS object sharedisk_gateways.<image id> (key: the group, value: this
  // client's address), where every gateway of the image looks up the holder
  // rbd_lock_get_owners names. A watch on the image header (rbd_header.<id>)
  // wakes a thread of this device on every lock notification librbd sends
  // (acquired, released, requested); that thread asks librbd who holds the
  // lock and calls `changed` when the answer changed. A check every 5 s
  // catches a missed notification. False when the image lacks exclusive-lock.
  bool watch_owner(uint16_t group, std::function<void(const LockOwner&)> changed) override;
  // The owner dwell (BlockDevice::set_lock_dwell), kept in stats(); it acts
  // only while the owner is watched. "The lock moved" is what the owner
  // thread sees change, and, while this gateway holds the lock, any
  // notification another client sends on the header (its request for the
  // lock): from then on this gateway's writes count as a non-owner's.
  void set_lock_dwell(uint32_t dwell_ms) override {
    stats_->lock_dwell_ms.store(dwell_ms, std::memory_order_relaxed);
  }

  rbd_image_t image() const { return image_; }
  // 0 when req may be sent to librbd, else the negative errno it completes with.
  int check(const IoRequest& req) const;
  // kAllocationMap, blocking (the worker's thread): rbd_diff_iterate2 from
  // the image's creation (whole_object false) over at most kMapSpan bytes
  // from `offset`; the blocks outside the extents it reports are deallocated.
  // Inside them, up to kMapReadBytes are read, and a block that reads back
  // as zeroes counts as deallocated (a discard zeroes what it cannot free).
  // The runs end where either bound or map.max_runs stopped. 0 or -errno.
  static constexpr uint64_t kMapSpan = 64ull << 20;
  static constexpr uint64_t kMapReadBytes = 1ull << 20;
  int allocation_map(uint64_t offset, uint64_t length, AllocationMap& map);
  // Runs `job` on the device's blocking thread.
  void run_blocking(std::function<void()> job) { worker_->run(std::move(job)); }
  RbdStats& stats() { return *stats_; }
  const std::shared_ptr<RbdStats>& shared_stats() const { return stats_; }
  // The Ceph cluster's fsid (rados_cluster_fsid), e.g.
  // "b3a1c2d4-...": with pool, namespace and image it names the image
  // uniquely, so every gateway derives the same SCSI identity from it.
  std::string cluster_fsid() const;

 private:
  std::shared_ptr<RadosCluster> cluster_;
  rados_ioctx_t ioctx_;
  rbd_image_t image_;
  DeviceInfo info_;
  std::atomic<uint64_t> size_;  // what check() allows
  std::atomic<CacheMode> mode_;
  std::function<void()> size_changed_;
  uint64_t watch_handle_ = 0;
  bool watching_ = false;
  std::shared_ptr<RbdStats> stats_ = std::make_shared<RbdStats>();
  std::vector<std::pair<uint64_t, uint64_t>> map_extents_;  // the worker's
  std::unique_ptr<uint8_t[]> map_buffer_;                   // the worker's, kMapReadBytes
  std::unique_ptr<BlockingWorker> worker_ = std::make_unique<BlockingWorker>();

  // watch_owner()
  // The holder now; nullopt when the cluster did not answer.
  std::optional<LockOwner> read_owner();
  void watch_header();
  void owner_loop();
  // The header watch: every notification wakes the owner thread (acked at
  // once: librbd's notifier waits for every watcher); a lost watch makes it
  // watch again.
  struct HeaderWatcher final : SharedObject::Watcher {
    RbdDevice* self = nullptr;
    void notified(uint64_t, std::string, std::function<void()> ack) override;
    void watch_lost(int err) override;
  };
  void stop_owner_watch();
  std::function<void(const LockOwner&)> owner_changed_;
  std::string header_oid_, registry_oid_, own_address_;
  std::map<std::string, uint16_t> gateways_;  // client address -> group, owner thread only
  uint16_t own_group_ = 0;
  uint64_t own_instance_ = 0;             // this client's RADOS instance id (notifier ids)
  std::unique_ptr<SharedObject> header_;  // rbd_header.<id>, on ioctx_
  HeaderWatcher header_watcher_;
  bool header_watching_ = false;  // owner thread only (and before it starts)
  std::mutex owner_mutex_;
  std::condition_variable owner_wake_;
  bool owner_poke_ = false, owner_stop_ = false, watch_lost_ = false;
  std::thread owner_thread_;
};

// Connects (sharing a live connection of the same cluster and client) and
// opens the image. Throws RbdOpenError naming what failed; bounded in time by
// options.connect_timeout_s (and io_timeout_s for the OSD reads of the open).
std::unique_ptr<BlockDevice> open_rbd(const RbdOptions& options);

// The stats of a device made by open_rbd(), or null for any other backend.
std::shared_ptr<RbdStats> rbd_stats(BlockDevice& device);
// The cluster fsid of a device made by open_rbd(); empty for any other backend.
std::string rbd_cluster_fsid(BlockDevice& device);

}  // namespace sharedisk::blockdev
