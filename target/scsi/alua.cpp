#include "scsi/alua.h"

#include <algorithm>

namespace sharedisk::scsi {

const char* to_string(AluaState state) {
  switch (state) {
    case AluaState::kActiveOptimized:
      return "active/optimized";
    case AluaState::kActiveNonOptimized:
      return "active/non-optimized";
    case AluaState::kStandby:
      return "standby";
    case AluaState::kUnavailable:
      return "unavailable";
    case AluaState::kTransitioning:
      return "transitioning";
  }
  return "unknown";
}

Alua::Alua(AluaTopology topology)
    : topology_(std::move(topology)),
      local_(AluaState::kActiveOptimized),
      peer_states_(topology_.peers.size(), AluaState::kActiveNonOptimized),
      peer_status_(topology_.peers.size(), AluaStatus::kNone) {}

std::vector<Alua::Group> Alua::groups() const {
  std::lock_guard lock(mutex_);
  std::vector<Group> out;
  out.reserve(1 + topology_.peers.size());
  out.push_back(
      {topology_.local.id, local_state(), local_status_, true, &topology_.local.relative_ports});
  for (size_t i = 0; i < topology_.peers.size(); ++i)
    out.push_back({topology_.peers[i].id, peer_states_[i], peer_status_[i], false,
                   &topology_.peers[i].relative_ports});
  return out;
}

bool Alua::has_group(uint16_t id) const {
  if (is_local(id)) return true;
  for (const TargetPortGroup& p : topology_.peers)
    if (p.id == id) return true;
  return false;
}

uint16_t Alua::preferred_group() const {
  uint16_t id = topology_.local.id;
  for (const TargetPortGroup& p : topology_.peers) id = std::min(id, p.id);
  return id;
}

bool Alua::has_owner() const {
  std::lock_guard lock(mutex_);
  return owner_ >= 0;
}

bool Alua::set_local_state(AluaState state) {
  if (!supported(state)) return false;
  std::lock_guard lock(mutex_);
  local_status_ = AluaStatus::kSetByStpg;
  return local_.exchange(state, std::memory_order_relaxed) != state;
}

bool Alua::set_owner(uint16_t owner_group) {
  std::lock_guard lock(mutex_);
  if (owner_ == owner_group) return false;
  owner_ = owner_group;
  for (size_t i = 0; i < topology_.peers.size(); ++i) {
    peer_states_[i] = topology_.peers[i].id == owner_group ? AluaState::kActiveOptimized
                                                           : AluaState::kActiveNonOptimized;
    peer_status_[i] = AluaStatus::kImplicit;
  }
  local_status_ = AluaStatus::kImplicit;
  AluaState mine =
      is_local(owner_group) ? AluaState::kActiveOptimized : AluaState::kActiveNonOptimized;
  return local_.exchange(mine, std::memory_order_relaxed) != mine;
}

}  // namespace sharedisk::scsi
