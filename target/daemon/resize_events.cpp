#include "daemon/resize_events.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

namespace sharedisk::daemon {

ResizeEvents::ResizeEvents(iscsi::ServerContext& context)
    : shared_(std::make_shared<Shared>(context)) {}

void ResizeEvents::deliver(const std::shared_ptr<Shared>& shared, std::function<void()> fn) {
  std::lock_guard lock(shared->mutex);
  if (shared->control != nullptr)
    boost::asio::post(*shared->control, std::move(fn));
  else if (!shared->stopped)
    shared->early.push_back(std::move(fn));
}

std::function<void()> ResizeEvents::watcher(std::string iqn, uint64_t number) const {
  return [shared = shared_, iqn = std::move(iqn), number] {
    deliver(shared, [shared, iqn, number] {
      // The LUN may have been removed or replaced by a reload meanwhile: look
      // it up by name, on the thread that reloads.
      iscsi::TargetNode* node = shared->context.registry.find(iqn);
      if (node != nullptr && node->device->capacity_changed(number))
        spdlog::info("{} LUN {}: the backing store's size changed (sessions told: 2A/09)", iqn,
                     number);
    });
  };
}

std::function<void(const blockdev::LockOwner&)> ResizeEvents::owner_watcher(std::string iqn,
                                                                            uint64_t number) const {
  return [shared = shared_, iqn = std::move(iqn), number](const blockdev::LockOwner& owner) {
    deliver(shared, [shared, iqn, number, owner] {
      using Holder = blockdev::LockOwner::Holder;
      iscsi::TargetNode* node = shared->context.registry.find(iqn);
      if (node == nullptr) return;
      // Nobody, or a client that is no gateway: the preferred group (0).
      const uint16_t group =
          owner.holder == Holder::kThisGateway || owner.holder == Holder::kPeer ? owner.group : 0;
      bool changed = node->device->set_alua_owner(number, group);
      const char* who = owner.holder == Holder::kThisGateway ? "this gateway"
                        : owner.holder == Holder::kPeer      ? "a peer gateway"
                        : owner.holder == Holder::kUnknown   ? "a client that is no gateway"
                                                             : "nobody";
      spdlog::info("{} LUN {}: exclusive lock held by {}{}{}{}", iqn, number, who,
                   group != 0 ? " (group " + std::to_string(group) + ")" : "",
                   owner.client.empty() ? "" : ", client " + owner.client,
                   changed ? "; ALUA states changed (sessions told: 2A/06)" : "");
    });
  };
}

void ResizeEvents::start(boost::asio::io_context& control) {
  std::lock_guard lock(shared_->mutex);
  shared_->control = &control;
  for (auto& fn : shared_->early) boost::asio::post(control, std::move(fn));
  shared_->early.clear();
}

void ResizeEvents::stop() {
  std::lock_guard lock(shared_->mutex);
  shared_->control = nullptr;
  shared_->stopped = true;
  shared_->early.clear();
}

}  // namespace sharedisk::daemon
