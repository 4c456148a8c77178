#include "iscsi/target_node.h"

#include <algorithm>
#include <cstdio>

#include "iscsi/text_keys.h"
#include "util/ascii.h"

namespace sharedisk::iscsi {

namespace {
std::string format_address(const std::string& address, uint16_t port, uint16_t tag) {
  bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port) + "," +
         std::to_string(tag);
}
}  // namespace

std::string TargetRegistry::target_port_name(const std::string& iqn) const {
  char tag[8];
  std::snprintf(tag, sizeof tag, "%x", unsigned(portal_group_tag_));
  return iqn + ",t,0x" + tag;
}

bool TargetNode::allows(const std::string& initiator_name, const std::string& address) const {
  std::lock_guard lock(access_mutex_);
  return access_.allows(initiator_name, address);
}

void TargetNode::set_access(std::vector<std::string> initiators,
                            std::vector<config::Network> networks) {
  std::lock_guard lock(access_mutex_);
  access_.allowed_initiators = std::move(initiators);
  access_.allowed_networks = std::move(networks);
}

std::pair<std::vector<std::string>, std::vector<config::Network>> TargetNode::access() const {
  std::lock_guard lock(access_mutex_);
  return {access_.allowed_initiators, access_.allowed_networks};
}

LunIoStats* TargetNode::stats_for(uint64_t sam_lun) const {
  uint64_t number = 0;
  if (!scsi::decode_lun(sam_lun, &number)) return nullptr;
  for (const LunInfo& l : luns())
    if (l.number == number) return l.stats.get();
  return nullptr;
}

void TargetRegistry::add(std::shared_ptr<TargetNode> node) {
  if (aborter_ != nullptr && node->device) node->device->set_task_aborter(aborter_);
  std::lock_guard lock(mutex_);
  targets_.push_back(std::move(node));
}

void TargetRegistry::clear() {
  std::vector<std::shared_ptr<TargetNode>> targets;
  std::vector<Retired> retired;
  {
    std::lock_guard lock(mutex_);
    targets.swap(targets_);
    retired.swap(retired_);
  }
  // Destroyed here, outside the lock.
}

void TargetRegistry::retire_locked(std::shared_ptr<TargetNode> node) const {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(retired_, [&](const Retired& r) {
    return r.node.use_count() == 1 && now - r.since > retire_delay_;
  });
  if (node) retired_.push_back({std::move(node), now});
}

std::shared_ptr<TargetNode> TargetRegistry::remove(const std::string& iqn) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(targets_.begin(), targets_.end(),
                         [&](const auto& t) { return util::iequal(t->iqn, iqn); });
  if (it == targets_.end()) return nullptr;
  std::shared_ptr<TargetNode> old = *it;
  targets_.erase(it);
  retire_locked(old);
  return old;
}

std::shared_ptr<TargetNode> TargetRegistry::replace(std::shared_ptr<TargetNode> node) {
  if (aborter_ != nullptr && node->device) node->device->set_task_aborter(aborter_);
  std::lock_guard lock(mutex_);
  for (auto& t : targets_) {
    if (util::iequal(t->iqn, node->iqn)) {
      std::shared_ptr<TargetNode> old = std::move(t);
      t = std::move(node);
      retire_locked(old);
      return old;
    }
  }
  targets_.push_back(std::move(node));
  return nullptr;
}

void TargetRegistry::set_portals(std::vector<config::Endpoint> portals) {
  std::lock_guard lock(mutex_);
  portals_ = std::move(portals);
}

TargetNode* TargetRegistry::find(const std::string& iqn) const {
  std::lock_guard lock(mutex_);
  for (const auto& t : targets_)
    if (util::iequal(t->iqn, iqn)) return t.get();
  return nullptr;
}

std::shared_ptr<TargetNode> TargetRegistry::share(const TargetNode* node) const {
  std::lock_guard lock(mutex_);
  for (const auto& t : targets_)
    if (t.get() == node) return t;
  return nullptr;
}

std::vector<std::shared_ptr<TargetNode>> TargetRegistry::targets() const {
  std::lock_guard lock(mutex_);
  return targets_;
}

std::vector<config::Endpoint> TargetRegistry::portals() const {
  std::lock_guard lock(mutex_);
  return portals_;
}

size_t TargetRegistry::retired() const {
  std::lock_guard lock(mutex_);
  retire_locked(nullptr);
  return retired_.size();
}

std::string TargetRegistry::send_targets(const std::string& initiator_name,
                                         const std::string& peer_address,
                                         const std::string& local_address,
                                         const std::string& only_target) const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& t : targets_) {
    if (!only_target.empty() && !util::iequal(t->iqn, only_target)) continue;
    if (!t->allows(initiator_name, peer_address)) continue;
    append_key(out, "TargetName", t->iqn);
    for (const config::Endpoint& p : portals_) {
      bool wildcard = p.address == "0.0.0.0" || p.address == "::";
      append_key(out, "TargetAddress",
                 format_address(wildcard ? local_address : p.address, p.port, portal_group_tag_));
    }
  }
  return out;
}

}  // namespace sharedisk::iscsi
