#include "daemon/daemon.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "blockdev/block_device.h"
#include "iscsi/portal.h"
#include "scsi/device.h"

namespace sharedisk::daemon {

namespace {

std::string describe_lun(const config::Lun& lun, const std::string& target) {
  return target + " LUN " + std::to_string(lun.number) + " (" + lun.path + ")";
}

scsi::LunOptions lun_options(const config::Lun& lun, const blockdev::DeviceInfo& info) {
  scsi::LunOptions o;
  o.number = lun.number;
  o.block_size = lun.block_size;
  o.read_only = lun.read_only;
  o.serial = lun.serial;
  std::vector<uint8_t> naa = config::naa_bytes(lun.naa);
  std::copy(naa.begin(), naa.end(), o.naa.begin());
  o.naa_length = uint8_t(naa.size());
  if (!lun.product.empty()) o.product = lun.product;
  o.thin =
      lun.thin == config::Thin::kOn || (lun.thin == config::Thin::kAuto && info.supports_discard);
  return o;
}

std::unique_ptr<blockdev::BlockDevice> open_backing(const config::Lun& lun) {
  if (lun.type == config::BackingType::kMemory) return blockdev::make_memory(*lun.size);
  blockdev::OpenOptions o;
  o.path = lun.path;
  o.create_size = lun.type == config::BackingType::kFile ? lun.size.value_or(0) : 0;
  o.read_only = lun.read_only;
  o.cache_mode =
      lun.write_cache ? blockdev::CacheMode::kWriteBack : blockdev::CacheMode::kWriteThrough;
  o.direct = lun.direct;
  return blockdev::open_aio_file(o);
}

}  // namespace

std::string precheck_backing(const config::Lun& lun, const std::string& target) {
  if (lun.type == config::BackingType::kMemory) return {};
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

int run(const config::Config& config) {
  // 1. Nothing is created until every backing passed its check.
  for (const config::Target& t : config.targets) {
    for (const config::Lun& lun : t.luns) {
      std::string problem = precheck_backing(lun, t.iqn);
      if (!problem.empty()) {
        spdlog::critical("{}", problem);
        return 1;
      }
    }
  }

  iscsi::ServerContext context;
  context.limits.max_recv_data_segment_length = config.iscsi.max_recv_data_segment_length;
  context.limits.max_burst_length = config.iscsi.max_burst_length;
  context.limits.first_burst_length = config.iscsi.first_burst_length;
  context.limits.initial_r2t = config.iscsi.initial_r2t;
  context.limits.immediate_data = config.iscsi.immediate_data;
  context.limits.max_outstanding_r2t = config.iscsi.max_outstanding_r2t;
  context.limits.default_time2wait = config.iscsi.default_time2wait;
  context.limits.default_time2retain = config.iscsi.default_time2retain;
  context.nop_interval_s = config.iscsi.nop_interval_s;
  context.nop_timeout_s = config.iscsi.nop_timeout_s;
  context.login_timeout_s = config.iscsi.login_timeout_s;
  context.registry.set_portals(config.portals);

  unsigned threads =
      config.threads != 0 ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  iscsi::Server server(context, threads);

  // 2. Portals: a port in use fails here, still before anything is created.
  try {
    server.listen(config.portals);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }

  // 3. Backing stores and SCSI devices.
  try {
    for (const config::Target& t : config.targets) {
      auto node = std::make_unique<iscsi::TargetNode>();
      node->iqn = t.iqn;
      node->alias = t.alias;
      node->allowed_initiators = t.allowed_initiators;
      node->allowed_networks = t.allowed_networks;
      node->queue_depth = t.queue_depth != 0 ? t.queue_depth : config.iscsi.queue_depth;
      node->device = scsi::make_device(t.iqn);
      for (const config::Lun& lun : t.luns) {
        auto backing = open_backing(lun);
        const blockdev::DeviceInfo& info = backing->info();
        spdlog::info("{} LUN {}: {} ({} bytes, {} byte blocks{}{})", t.iqn, lun.number, info.path,
                     info.size_bytes, lun.block_size, info.direct_io ? ", O_DIRECT" : "",
                     lun.read_only ? ", read-only" : "");
        node->device->add_lun(lun_options(lun, info), std::move(backing), server.loop_contexts());
      }
      context.registry.add(std::move(node));
    }
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }

  // 4. Serve until a signal.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  int exit_status = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: stopping (finishing in-flight commands)", signo);
    exit_status = 0;
  });
  server.start();
  spdlog::info("sharedisk-target ready: {} target(s), {} event loop(s)", config.targets.size(),
               threads);
  signals_io.run();

  server.shutdown(30);
  spdlog::info("stopped");
  return exit_status;
}

}  // namespace sharedisk::daemon
