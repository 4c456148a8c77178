// Size changes that backing stores report from their own threads (an RBD
// image resized with `rbd resize`), handled on the daemon's control thread:
// there the LUN re-reads its size, and every nexus is told CAPACITY DATA HAS
// CHANGED (2A/09), as after a reload. A change reported before the control
// loop runs, or after it stopped, is dropped (the size was read at open).
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "iscsi/connection.h"

namespace sharedisk::daemon {

class ResizeEvents {
 public:
  explicit ResizeEvents(iscsi::ServerContext& context);
  // The callback for BlockDevice::watch_size() of LUN `number` of target `iqn`.
  std::function<void()> watcher(std::string iqn, uint64_t number) const;
  // Deliver on `control` from now on; stop() before `control` is destroyed.
  void start(boost::asio::io_context& control);
  void stop();

 private:
  struct Shared {
    std::mutex mutex;
    boost::asio::io_context* control = nullptr;
    iscsi::ServerContext& context;
    explicit Shared(iscsi::ServerContext& c) : context(c) {}
  };
  std::shared_ptr<Shared> shared_;
};

}  // namespace sharedisk::daemon
