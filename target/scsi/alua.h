// Asymmetric logical unit access (SPC-4 5.15) of one logical unit: the target
// port groups of every gateway exporting it and the access state of each.
//
// This gateway's group starts active/optimized and every peer's group
// active/non-optimized. Two things change the states:
//   - explicit ALUA: SET TARGET PORT GROUPS sets this gateway's group
//     (set_local_state);
//   - implicit ALUA: whoever knows which gateway owns the logical unit (the
//     RBD exclusive lock holder) calls set_owner(group): the owner becomes
//     active/optimized, every other group active/non-optimized.
// A peer's real state lives in the peer; what this object reports for a peer
// is this gateway's view of it.
//
// Threading: local_state() is one relaxed atomic load (the data path checks
// it on every command); the rest takes a small mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace sharedisk::scsi {

enum class AluaState : uint8_t {
  kActiveOptimized = 0x0,
  kActiveNonOptimized = 0x1,
  kStandby = 0x2,
  kUnavailable = 0x3,
  kTransitioning = 0xF,
};
const char* to_string(AluaState state);  // "active/optimized", ...

// Why a group is in its state (REPORT TARGET PORT GROUPS STATUS CODE).
enum class AluaStatus : uint8_t {
  kNone = 0x00,
  kSetByStpg = 0x01,  // altered by SET TARGET PORT GROUPS
  kImplicit = 0x02,   // altered by implicit asymmetric access behaviour
};

struct TargetPortGroup {
  uint16_t id = 1;
  std::vector<uint16_t> relative_ports{1};  // ascending is not required
};

// The groups of all gateways; `local` is this gateway's.
struct AluaTopology {
  TargetPortGroup local;
  std::vector<TargetPortGroup> peers;
  bool has_peers() const { return !peers.empty(); }
  // The relative target port of this gateway's `index`-th port (1-based, as
  // the transport numbers them); 0 when there is no such port.
  uint16_t local_port(uint16_t index) const {
    return index >= 1 && index <= local.relative_ports.size() ? local.relative_ports[index - 1] : 0;
  }
};

class Alua {
 public:
  explicit Alua(AluaTopology topology);

  const AluaTopology& topology() const { return topology_; }
  AluaState local_state() const { return local_.load(std::memory_order_relaxed); }

  struct Group {
    uint16_t id;
    AluaState state;
    AluaStatus status;
    bool local;
    const std::vector<uint16_t>* ports;  // into topology()
  };
  // Every group, this gateway's first, then the peers in configuration order.
  std::vector<Group> groups() const;
  // Is `id` a group of this logical unit? Local: this gateway's.
  bool has_group(uint16_t id) const;
  bool is_local(uint16_t id) const { return id == topology_.local.id; }

  // Explicit ALUA (SET TARGET PORT GROUPS) on this gateway's group. Only
  // active/optimized, active/non-optimized and standby are supported
  // (supported() says which). Returns true when the state changed.
  bool set_local_state(AluaState state);
  static bool supported(AluaState state) {
    return state == AluaState::kActiveOptimized || state == AluaState::kActiveNonOptimized ||
           state == AluaState::kStandby;
  }

  // Implicit ALUA: `owner_group` owns the logical unit. Returns true when
  // this gateway's state changed (the caller then queues ASYMMETRIC ACCESS
  // STATE CHANGED). An unknown group makes every group non-optimized. The
  // owner it already has changes nothing, so a state set explicitly (SET
  // TARGET PORT GROUPS) holds until the owner moves.
  bool set_owner(uint16_t owner_group);
  // The group that is active/optimized while nobody owns the logical unit:
  // the lowest group id, the same on every gateway.
  uint16_t preferred_group() const;
  // Whether set_owner() has named an owner yet.
  bool has_owner() const;

 private:
  const AluaTopology topology_;
  std::atomic<AluaState> local_;
  mutable std::mutex mutex_;
  std::vector<AluaState> peer_states_;  // index as topology_.peers
  AluaStatus local_status_ = AluaStatus::kNone;
  std::vector<AluaStatus> peer_status_;
  int32_t owner_ = -1;  // the group set_owner() last made the owner; -1: none yet
};

}  // namespace sharedisk::scsi
