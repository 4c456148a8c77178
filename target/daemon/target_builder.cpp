#include "daemon/target_builder.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "blockdev/block_device.h"
#include "blockdev/rados_object.h"
#include "blockdev/rbd_device.h"
#include "scsi/device.h"
#include "scsi/reservations.h"

namespace sharedisk::daemon {

namespace {

std::string backing_name(const config::Lun& lun) {
  if (lun.type == config::BackingType::kMemory) return "memory";
  if (lun.type != config::BackingType::kRbd) return lun.path;
  const config::RbdBacking& b = lun.rbd;
  return "rbd:" + b.pool + "/" + (b.ns.empty() ? "" : b.ns + "/") + b.image;
}

FaultWrap fault_wrap = nullptr;
SizeWatcher size_watcher;
OwnerWatcher owner_watcher;

std::string describe_lun(const config::Lun& lun, const std::string& target) {
  return target + " LUN " + std::to_string(lun.number) + " (" + backing_name(lun) + ")";
}

blockdev::RbdOptions rbd_options(const config::Lun& lun) {
  const config::RbdBacking& b = lun.rbd;
  blockdev::RbdOptions o;
  o.pool = b.pool;
  o.image = b.image;
  o.ns = b.ns;
  o.ceph_conf = b.ceph_conf;
  o.client = b.client;
  o.keyring = b.keyring;
  o.io_timeout_s = b.timeout_s;
  o.read_only = lun.read_only;
  o.cache_mode =
      lun.write_cache ? blockdev::CacheMode::kWriteBack : blockdev::CacheMode::kWriteThrough;
  return o;
}

// Opens an RBD image; a failure names the lun.yaml key at fault.
std::unique_ptr<blockdev::BlockDevice> open_rbd_lun(const config::Config& config,
                                                    const config::Lun& lun,
                                                    const std::string& target) {
  try {
    return blockdev::open_rbd(rbd_options(lun));
  } catch (const blockdev::RbdOpenError& e) {
    const config::RbdBacking& b = lun.rbd;
    const config::KeyLocation* at = &b.at_cluster;
    switch (e.failure()) {
      case blockdev::RbdFailure::kCluster:
        break;
      case blockdev::RbdFailure::kAuth:
        at = &b.at_auth;
        break;
      case blockdev::RbdFailure::kPool:
        at = &b.at_pool;
        break;
      case blockdev::RbdFailure::kImage:
        at = &b.at_image;
        break;
    }
    throw config::ConfigError(config.source, at->line, at->key,
                              target + " LUN " + std::to_string(lun.number) + ": " + e.what());
  }
}

// One APTPL state file per LUN: <state_dir>/<target iqn>-lun<N>.pr (':' kept; '/' cannot occur).
std::string pr_state_path(const std::string& state_dir, const std::string& iqn, uint64_t lun) {
  return state_dir + "/" + iqn + "-lun" + std::to_string(lun) + ".pr";
}

// `fsid`: the cluster of an rbd LUN (empty otherwise). Unless lun.yaml pins
// them, an rbd LUN's serial and NAA come from fsid, pool, namespace and image,
// so every gateway exporting the image reports the same logical unit.
scsi::LunOptions lun_options(const config::Lun& lun, const blockdev::DeviceInfo& info,
                             const std::string& fsid) {
  scsi::LunOptions o;
  o.number = lun.number;
  o.block_size = lun.block_size;
  o.read_only = lun.read_only;
  bool from_image = lun.type == config::BackingType::kRbd && !fsid.empty();
  const config::RbdBacking& b = lun.rbd;
  o.serial = from_image && !lun.serial_pinned ? config::rbd_serial(fsid, b.pool, b.ns, b.image)
                                              : lun.serial;
  std::vector<uint8_t> naa = config::naa_bytes(
      from_image && !lun.naa_pinned ? config::rbd_naa(fsid, b.pool, b.ns, b.image) : lun.naa);
  std::copy(naa.begin(), naa.end(), o.naa.begin());
  o.naa_length = uint8_t(naa.size());
  if (!lun.product.empty()) o.product = lun.product;
  o.thin =
      lun.thin == config::Thin::kOn || (lun.thin == config::Thin::kAuto && info.supports_discard);
  return o;
}

std::unique_ptr<blockdev::BlockDevice> open_store(const config::Config& config,
                                                  const config::Lun& lun,
                                                  const std::string& target) {
  if (lun.type == config::BackingType::kMemory) return blockdev::make_memory(*lun.size);
  if (lun.type == config::BackingType::kRbd) return open_rbd_lun(config, lun, target);
  blockdev::OpenOptions o;
  o.path = lun.path;
  o.create_size = lun.type == config::BackingType::kFile ? lun.size.value_or(0) : 0;
  o.read_only = lun.read_only;
  o.cache_mode =
      lun.write_cache ? blockdev::CacheMode::kWriteBack : blockdev::CacheMode::kWriteThrough;
  o.direct = lun.direct;
  return blockdev::open_aio_file(o);
}

std::unique_ptr<blockdev::BlockDevice> open_backing(const config::Config& config,
                                                    const config::Lun& lun,
                                                    const std::string& target, std::string& fsid,
                                                    std::string& image_id) {
  auto store = open_store(config, lun, target);
  fsid = blockdev::rbd_cluster_fsid(*store);
  image_id = blockdev::rbd_image_id(*store);
  if (lun.fault_control.empty()) return store;
  // The loader refuses `fault:` unless a test build enabled it.
  if (fault_wrap == nullptr) throw std::runtime_error("fault injection is not built in");
  return fault_wrap(std::move(store), lun);
}

const char* io_mode(const config::Lun& lun, const blockdev::DeviceInfo& info) {
  if (lun.type == config::BackingType::kMemory) return "memory";
  if (lun.type == config::BackingType::kRbd) return "rbd";
  return info.direct_io ? "O_DIRECT" : "buffered";
}

// With a `gateway:` section, an rbd LUN's persistent reservations live in the
// image's pool, in object sharedisk.pr.<image id>, shared with every gateway
// exporting the image (scsi::make_shared_reservation_store). Opened when the
// SCSI layer installs the LUN (not for a reload that keeps the same unit).
void share_reservations(const config::Lun& lun, const std::string& iqn, const std::string& image_id,
                        scsi::LunOptions& o) {
  blockdev::RbdOptions where = rbd_options(lun);
  const std::string oid = "sharedisk.pr." + image_id;
  o.shared_reservations = where.pool + "/" + (where.ns.empty() ? "" : where.ns + "/") + oid;
  const std::string who = iqn + " LUN " + std::to_string(lun.number);
  o.make_reservations = [where, oid, who] {
    scsi::SharedStoreOptions so;
    so.log = [who](const std::string& m) { spdlog::warn("{}: {}", who, m); };
    // Long enough for a peer to abort its preempted tasks, whose I/O the
    // cluster ends within the I/O timeout.
    so.notify_timeout_ms = (where.io_timeout_s + 5) * 1000;
    auto store = scsi::make_shared_reservation_store(blockdev::open_shared_object(where, oid),
                                                     std::move(so));
    spdlog::info("{}: persistent reservations shared through {}/{}", who, where.pool, oid);
    return store;
  };
}

// lun.yaml `gateway:` as the SCSI layer's target port groups.
scsi::AluaTopology alua_topology(const config::Config& config) {
  scsi::AluaTopology t;
  if (!config.gateway) return t;
  t.local = {config.gateway->group, config.gateway->relative_ports};
  for (const config::GatewayPeer& p : config.gateway->peers)
    t.peers.push_back({p.group, p.relative_ports});
  return t;
}

}  // namespace

void set_fault_wrap(FaultWrap wrap) {
  fault_wrap = wrap;
}

void set_size_watcher(SizeWatcher watcher) {
  size_watcher = std::move(watcher);
}

void set_owner_watcher(OwnerWatcher watcher) {
  owner_watcher = std::move(watcher);
}

std::string precheck_backing(const config::Lun& lun, const std::string& target) {
  // RBD images are checked by opening them (check_rbd_backings).
  if (lun.type == config::BackingType::kMemory || lun.type == config::BackingType::kRbd) return {};
  struct stat st;
  std::string what = describe_lun(lun, target);
  if (::stat(lun.path.c_str(), &st) != 0) {
    if (errno != ENOENT) return what + ": " + std::strerror(errno);
    if (lun.type == config::BackingType::kBlock || !lun.size)
      return what + ": backing does not exist (give `size` to have a file created)";
    std::filesystem::path dir = std::filesystem::path(lun.path).parent_path();
    if (dir.empty()) dir = ".";
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      return what + ": cannot create the file in " + dir.string() + ": " + std::strerror(errno);
    return {};
  }
  if (lun.type == config::BackingType::kBlock && !S_ISBLK(st.st_mode))
    return what + ": not a block device";
  if (lun.type == config::BackingType::kFile && !S_ISREG(st.st_mode))
    return what + ": not a regular file (use type: block for devices)";
  int mode = lun.read_only ? R_OK : (R_OK | W_OK);
  if (::access(lun.path.c_str(), mode) != 0) return what + ": " + std::strerror(errno);
  return {};
}

std::vector<config::ConfigError> check_backings(const config::Config& config) {
  std::vector<config::ConfigError> out;
  for (size_t ti = 0; ti < config.targets.size(); ++ti) {
    const config::Target& t = config.targets[ti];
    for (size_t li = 0; li < t.luns.size(); ++li) {
      const config::Lun& lun = t.luns[li];
      if (lun.type == config::BackingType::kMemory) continue;
      std::string key = "targets[" + std::to_string(ti) + "].luns[" + std::to_string(li) + "].path";
      std::string problem = precheck_backing(lun, t.iqn);
      if (problem.empty() && ::access(lun.path.c_str(), F_OK) == 0) {
        int fd = ::open(lun.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
          problem = describe_lun(lun, t.iqn) + ": cannot open read-only: " + std::strerror(errno);
        else
          ::close(fd);
      }
      if (!problem.empty()) out.emplace_back(config.source, lun.line, key, problem);
    }
  }
  return out;
}

PreparedLun prepare_lun(const config::Config& config, const config::Target& t,
                        const config::Lun& lun, unsigned loops,
                        const std::map<uint64_t, std::shared_ptr<iscsi::LunIoStats>>& keep_stats) {
  std::string problem = precheck_backing(lun, t.iqn);
  if (!problem.empty()) throw std::runtime_error(problem);
  PreparedLun out;
  std::string fsid, image_id;
  try {
    out.backing = open_backing(config, lun, t.iqn, fsid, image_id);
  } catch (const config::ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw std::runtime_error(describe_lun(lun, t.iqn) + ": " + e.what());
  }
  if (size_watcher) out.backing->watch_size(size_watcher(t.iqn, lun.number));
  // Implicit ALUA across gateways: the RBD exclusive lock names the owner.
  if (owner_watcher && config.gateway) {
    if (out.backing->watch_owner(config.gateway->group, owner_watcher(t.iqn, lun.number))) {
      out.backing->set_lock_dwell(config.gateway->lock_dwell_ms);
      spdlog::info(
          "{} LUN {}: implicit ALUA, the exclusive lock holder's group is optimized (owner dwell "
          "{} ms)",
          t.iqn, lun.number, config.gateway->lock_dwell_ms);
    } else if (lun.type == config::BackingType::kRbd)
      spdlog::warn(
          "{} LUN {}: no exclusive-lock feature on the image (or read-only): every "
          "gateway reports its own ALUA states (rbd feature enable POOL/IMAGE exclusive-lock)",
          t.iqn, lun.number);
  }
  const blockdev::DeviceInfo& info = out.backing->info();
  spdlog::info("{} LUN {}: {} ({} bytes, {} byte blocks, {}{}{})", t.iqn, lun.number, info.path,
               info.size_bytes, lun.block_size,
               info.direct_io || lun.type == config::BackingType::kMemory
                   ? io_mode(lun, info)
                   : "buffered I/O on worker threads (direct: false)",
               lun.write_cache ? ", write-back" : ", write-through",
               lun.read_only ? ", read-only" : "");
  if (!lun.fault_control.empty())
    spdlog::warn("{} LUN {}: FAULT INJECTION (test build), control file {}", t.iqn, lun.number,
                 lun.fault_control);
  iscsi::LunInfo& li = out.info;
  li.number = lun.number;
  li.type = config::to_string(lun.type);
  li.backing = backing_name(lun);
  li.size_bytes = info.size_bytes;
  li.block_size = lun.block_size;
  li.read_only = lun.read_only;
  li.write_cache = lun.write_cache;
  li.rbd = blockdev::rbd_stats(*out.backing);
  li.io_mode = io_mode(lun, info);
  li.fault_control = lun.fault_control;
  auto kept = keep_stats.find(lun.number);
  li.stats = kept != keep_stats.end() ? kept->second : std::make_shared<iscsi::LunIoStats>(loops);
  out.options = lun_options(lun, info, fsid);
  if (lun.type == config::BackingType::kRbd)
    spdlog::info(
        "{} LUN {}: cluster {}, serial {}{}", t.iqn, lun.number,
        fsid.empty() ? "(fsid unknown)" : fsid, out.options.serial,
        lun.serial_pinned || lun.naa_pinned ? " (pinned in lun.yaml)" : " (from the image)");
  out.options.pr_state_path = pr_state_path(config.state_dir, t.iqn, lun.number);
  if (config.gateway && lun.type == config::BackingType::kRbd && !image_id.empty())
    share_reservations(lun, t.iqn, image_id, out.options);
  return out;
}

void check_rbd_backings(const config::Config& config) {
  for (const config::Target& t : config.targets)
    for (const config::Lun& lun : t.luns)
      if (lun.type == config::BackingType::kRbd) open_rbd_lun(config, lun, t.iqn);
}

std::shared_ptr<iscsi::TargetNode> build_target(
    const config::Config& config, const config::Target& t,
    const std::vector<boost::asio::io_context*>& loops,
    const std::map<uint64_t, std::shared_ptr<iscsi::LunIoStats>>& keep_stats) {
  auto node = std::make_shared<iscsi::TargetNode>();
  node->iqn = t.iqn;
  node->alias = t.alias;
  node->set_access(t.allowed_initiators, t.allowed_networks);
  node->queue_depth = t.queue_depth != 0 ? t.queue_depth : config.iscsi.queue_depth;
  node->device = scsi::make_device(t.iqn, alua_topology(config));
  std::vector<iscsi::LunInfo> infos;
  for (const config::Lun& lun : t.luns) {
    PreparedLun p = prepare_lun(config, t, lun, unsigned(loops.size()), keep_stats);
    node->device->add_lun(p.options, std::move(p.backing), loops);
    infos.push_back(std::move(p.info));
  }
  std::sort(infos.begin(), infos.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  node->set_luns(std::move(infos));
  return node;
}

}  // namespace sharedisk::daemon
