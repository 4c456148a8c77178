// Changes that backing stores report from their own threads, handled on the
// daemon's control thread:
//   - size (an RBD image resized with `rbd resize`): the LUN re-reads its
//     size, and every nexus is told CAPACITY DATA HAS CHANGED (2A/09), as
//     after a reload;
//   - owner (the RBD exclusive lock moved): the holder's target port group
//     becomes active/optimized and the others active/non-optimized
//     (Device::set_alua_owner), and every nexus is told 2A/06.
// A change reported before the control loop runs waits for start(); one
// reported after stop() is dropped.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "blockdev/block_device.h"
#include "iscsi/connection.h"

namespace sharedisk::daemon {

class ResizeEvents {
 public:
  explicit ResizeEvents(iscsi::ServerContext& context);
  // The callback for BlockDevice::watch_size() of LUN `number` of target `iqn`.
  std::function<void()> watcher(std::string iqn, uint64_t number) const;
  // The callback for BlockDevice::watch_owner() of LUN `number` of target `iqn`.
  std::function<void(const blockdev::LockOwner&)> owner_watcher(std::string iqn,
                                                                uint64_t number) const;
  // Deliver on `control` from now on; stop() before `control` is destroyed.
  void start(boost::asio::io_context& control);
  void stop();

 private:
  struct Shared {
    std::mutex mutex;
    boost::asio::io_context* control = nullptr;
    bool stopped = false;
    std::vector<std::function<void()>> early;  // reported before start()
    iscsi::ServerContext& context;
    explicit Shared(iscsi::ServerContext& c) : context(c) {}
  };
  // Runs `fn` on the control thread (later, when not started yet).
  static void deliver(const std::shared_ptr<Shared>& shared, std::function<void()> fn);
  std::shared_ptr<Shared> shared_;
};

}  // namespace sharedisk::daemon
