// Reservation state of one logical unit, behind an interface so that gateways
// can share it (make_shared_reservation_store: one RADOS object per LUN).
//
// The SCSI commands (RESERVE/RELEASE, PERSISTENT RESERVE IN/OUT) and the
// conflict rules live in reserve.cpp / persistent_reserve.cpp and operate on a
// PrState through update()/read(); a store only keeps the state consistent
// (one update at a time), makes it durable when APTPL is set, and answers the
// lock-free unreserved() check that every media command makes first.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sharedisk::blockdev {
class SharedObject;
}

namespace sharedisk::scsi {

class Nexus;

// PERSISTENT RESERVE OUT TYPE values (SPC-4 table 209).
namespace pr_type {
constexpr uint8_t kWriteExclusive = 1;
constexpr uint8_t kExclusiveAccess = 3;
constexpr uint8_t kWriteExclusiveRegistrantsOnly = 5;
constexpr uint8_t kExclusiveAccessRegistrantsOnly = 6;
constexpr uint8_t kWriteExclusiveAllRegistrants = 7;
constexpr uint8_t kExclusiveAccessAllRegistrants = 8;

// Types 5-8: the reservation is for registrants, not one holder alone.
constexpr bool for_registrants(uint8_t type) {
  return type >= kWriteExclusiveRegistrantsOnly && type <= kExclusiveAccessAllRegistrants;
}
// Types 7-8: every registrant holds it (SPC-4 5.13.9).
constexpr bool all_registrants(uint8_t type) {
  return type == kWriteExclusiveAllRegistrants || type == kExclusiveAccessAllRegistrants;
}
}  // namespace pr_type

struct PrRegistration {
  // Initiator port name ("iqn...,i,0x<isid>"), or an iSCSI initiator device
  // name without ISID ("iqn..."), registered through a SPEC_I_PT TransportID
  // of format 00b: it stands for every initiator port of that device
  // (initiator_matches).
  std::string initiator;
  std::string target;  // target port name ("iqn...,t,0x<tpgt>")
  uint16_t rtpi = 0;   // relative target port identifier
  uint64_t key = 0;
  bool operator==(const PrRegistration&) const = default;
};

// Does a registration's `registered` initiator (port or device name) cover
// the initiator port `port`?
bool initiator_matches(const std::string& registered, const std::string& port);

struct PrState {
  uint32_t generation = 0;
  std::vector<PrRegistration> registrations;
  // Persistent reservation: type 0 = none. The holder is a registration
  // (initiator+target); for the all-registrants types every registrant holds it.
  uint8_t type = 0;
  std::string holder_initiator;
  std::string holder_target;
  bool aptpl = false;
  // Shared stores only: how many LOGICAL UNIT / TARGET RESETs gateways have
  // announced on the LU, and the last one's ASC/ASCQ, so that a gateway that
  // missed an announcement while stale still gives its nexuses the unit
  // attention. Zero in a local store.
  uint64_t resets = 0;
  uint16_t last_reset_asc = 0;
  // SPC-2 RESERVE(6/10) holder, never persisted.
  std::optional<std::pair<std::string, std::string>> spc2;

  bool operator==(const PrState&) const = default;
  bool reserved() const { return type != 0 || spc2.has_value(); }
  const PrRegistration* find(const std::string& initiator, const std::string& target) const;
  bool is_holder(const std::string& initiator, const std::string& target) const;
};

// What a change does to other I_T nexuses, beyond the state itself: the unit
// attentions it establishes and, for PREEMPT AND ABORT, that the tasks of the
// nexuses given REGISTRATIONS PREEMPTED are aborted. A shared store carries
// them to the other gateways, which apply them to their own nexuses.
struct PrEffects {
  struct Attention {
    std::string initiator, target;
    uint16_t asc = 0;
    bool operator==(const Attention&) const = default;
  };
  std::vector<Attention> attentions;
  bool abort_preempted = false;
  // Another gateway's LOGICAL UNIT RESET: every task of the LU is aborted and
  // every nexus gets this unit attention (29/03), as a local reset does.
  uint16_t reset_asc = 0;
  bool empty() const { return attentions.empty() && !abort_preempted && reset_asc == 0; }
  bool operator==(const PrEffects&) const = default;
};

class ReservationStore {
 public:
  virtual ~ReservationStore() = default;
  // Lock-free; true when no reservation of either kind is held (and, for a
  // shared store, the state is known: see stale()).
  virtual bool unreserved() const = 0;
  virtual void read(const std::function<void(const PrState&)>& fn) const = 0;
  // fn returns true when it changed the state; the store then publishes it and,
  // when fn's state has APTPL set (or had it), persists it. `effects`, which fn
  // may fill, travels with the change to other gateways (shared store only).
  // fn may run more than once (a shared store reruns it on a newer state when
  // another gateway changed it first), so it resets what it reports each time.
  // Returns false when persisting failed: a local store keeps the change in
  // memory, a shared store drops it (nothing changed anywhere).
  virtual bool update(const std::function<bool(PrState&)>& fn,
                      const PrEffects* effects = nullptr) = 0;
  // update() off the caller's thread when it may block (a shared store talks
  // to the cluster); done(result) then runs on a store thread. The default
  // runs update() right here.
  virtual void update_async(std::function<bool(PrState&)> fn, const PrEffects* effects,
                            std::function<void(bool)> done) {
    done(update(fn, effects));
  }
  virtual bool persistence_supported() const = 0;

  // ---- shared between gateways
  // Sends `effects` (no state change) to the other gateways; done() runs
  // (on a store thread) once they have applied them. The default has no
  // other gateways and calls done() right away.
  virtual void announce_async(PrEffects effects, std::function<void()> done) {
    (void)effects;
    done();
  }
  // True for a store other gateways see too. SPC-2 RESERVE is refused on it.
  virtual bool shared() const { return false; }
  // Lock-free; true while this gateway may have missed a change (its watch
  // broke): media access is then refused with a sense the initiator retries.
  virtual bool stale() const { return false; }
  // Applies another gateway's effects here; calls done() (from any thread)
  // once they have taken effect. Runs on a store thread; set to null to stop.
  using PeerEffects = std::function<void(const PrEffects&, std::function<void()> done)>;
  virtual void set_peer_effects(PeerEffects fn) { (void)fn; }
};

// In-memory store; with a non-empty path, APTPL state is written there
// atomically (temporary file, fsync, rename) and loaded back at start-up.
// Throws std::runtime_error when an existing file cannot be parsed.
std::unique_ptr<ReservationStore> make_local_reservation_store(const std::string& aptpl_path);

struct SharedStoreOptions {
  // How long a change waits for every other gateway to acknowledge it.
  uint32_t notify_timeout_ms = 10000;
  // The OSD drops the watch of a gateway that stops answering this long.
  uint32_t watch_timeout_s = 10;
  // A watch the OSD has not confirmed for this long counts as broken.
  uint32_t stale_after_ms = 8000;
  // Warnings (a peer that did not acknowledge, a lost watch); may be null.
  std::function<void(const std::string&)> log;
};
// The state in one RADOS object (created when missing), cached here and kept
// current by watch/notify. Throws std::runtime_error when the object cannot be
// created, read or watched.
std::shared_ptr<ReservationStore> make_shared_reservation_store(
    std::unique_ptr<sharedisk::blockdev::SharedObject> object, SharedStoreOptions options);

// Text form of a state used by the APTPL file (exposed for tests).
std::string serialize_pr_state(const PrState& s);
bool parse_pr_state(const std::string& text, PrState* out);
// What a shared store sends to the other gateways with a change (for tests).
std::string encode_pr_notify(uint64_t version, const PrState& s, const PrEffects& e);
bool decode_pr_notify(const std::string& text, uint64_t* version, PrState* s, PrEffects* e);

}  // namespace sharedisk::scsi
