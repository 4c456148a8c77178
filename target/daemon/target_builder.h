// Builds the serving objects of one configured target: checks and opens each
// backing store, creates the SCSI device and its LUNs, and fills the
// TargetNode that logins and `status` see. Used at start-up and by reload.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "iscsi/target_node.h"

namespace boost::asio {
class io_context;
}

namespace sharedisk::daemon {

// Checks every backing path before anything is created: an existing file or
// device must be readable (and writable unless read-only); a missing file needs
// `size` and a writable directory. Returns an empty string or the problem.
std::string precheck_backing(const config::Lun& lun, const std::string& target);

// `sharedisk-target --check`: precheck_backing() for every LUN, and every backing that
// exists opened read-only (nothing is created or written). One ConfigError per problem,
// naming the file, the LUN's line and the key targets[i].luns[j].path.
std::vector<config::ConfigError> check_backings(const config::Config& config);

// Opens and closes every RBD image of `config`, so that --check finds an
// unreachable cluster, a refused key or a missing pool or image. Bounded in
// time (about 10 s per cluster). Throws config::ConfigError naming the key.
void check_rbd_backings(const config::Config& config);

// One LUN ready to go into a device: checked and opened backing store, its
// SCSI options and what `status` shows of it.
struct PreparedLun {
  scsi::LunOptions options;
  std::unique_ptr<blockdev::BlockDevice> backing;
  iscsi::LunInfo info;
};

// Checks and opens the backing of `lun` of target `t` (LunIoStats sized for
// `loops` event loops, or taken from `keep_stats` by LUN number). Throws
// std::runtime_error naming the target and LUN (config::ConfigError, naming
// the lun.yaml key, when an RBD image cannot be opened).
PreparedLun prepare_lun(const config::Config& config, const config::Target& t,
                        const config::Lun& lun, unsigned loops,
                        const std::map<uint64_t, std::shared_ptr<iscsi::LunIoStats>>& keep_stats);

// Test builds only: wraps the backing of a LUN that has `fault:` in the
// fault-injecting store. Set by sharedisk-target-faults (target/fault_injection.cpp)
// together with config::allow_fault_injection(); sharedisk-target never sets it.
using FaultWrap = std::unique_ptr<blockdev::BlockDevice> (*)(std::unique_ptr<blockdev::BlockDevice>,
                                                             const config::Lun&);
void set_fault_wrap(FaultWrap wrap);

// What each backing opened from now on reports size changes to
// (BlockDevice::watch_size): the daemon sets ResizeEvents::watcher.
using SizeWatcher = std::function<std::function<void()>(const std::string& iqn, uint64_t lun)>;
void set_size_watcher(SizeWatcher watcher);
// What each backing opened from now on reports lock owner changes to
// (BlockDevice::watch_owner, with lun.yaml `gateway:` only): the daemon sets
// ResizeEvents::owner_watcher.
using OwnerWatcher = std::function<std::function<void(const blockdev::LockOwner&)>(
    const std::string& iqn, uint64_t lun)>;
void set_owner_watcher(OwnerWatcher watcher);

// Throws std::runtime_error naming the target and LUN. `keep_stats` carries the
// counters of LUNs that survive a reload (by LUN number) into the new node.
std::shared_ptr<iscsi::TargetNode> build_target(
    const config::Config& config, const config::Target& target,
    const std::vector<boost::asio::io_context*>& loops,
    const std::map<uint64_t, std::shared_ptr<iscsi::LunIoStats>>& keep_stats = {});

}  // namespace sharedisk::daemon
