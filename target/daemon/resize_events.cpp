#include "daemon/resize_events.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

namespace sharedisk::daemon {

ResizeEvents::ResizeEvents(iscsi::ServerContext& context)
    : shared_(std::make_shared<Shared>(context)) {}

std::function<void()> ResizeEvents::watcher(std::string iqn, uint64_t number) const {
  return [shared = shared_, iqn = std::move(iqn), number] {
    std::lock_guard lock(shared->mutex);
    if (shared->control == nullptr) return;
    boost::asio::post(*shared->control, [shared, iqn, number] {
      // The LUN may have been removed or replaced by a reload meanwhile: look
      // it up by name, on the thread that reloads.
      iscsi::TargetNode* node = shared->context.registry.find(iqn);
      if (node != nullptr && node->device->capacity_changed(number))
        spdlog::info("{} LUN {}: the backing store's size changed (sessions told: 2A/09)", iqn,
                     number);
    });
  };
}

void ResizeEvents::start(boost::asio::io_context& control) {
  std::lock_guard lock(shared_->mutex);
  shared_->control = &control;
}

void ResizeEvents::stop() {
  std::lock_guard lock(shared_->mutex);
  shared_->control = nullptr;
}

}  // namespace sharedisk::daemon
