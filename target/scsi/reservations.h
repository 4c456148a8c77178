// Reservation state of one logical unit, behind an interface so that a later
// cluster build can share it between gateways.
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
}  // namespace pr_type

struct PrRegistration {
  std::string initiator;  // initiator port name ("iqn...,i,0x<isid>")
  std::string target;     // target port name ("iqn...,t,0x<tpgt>")
  uint16_t rtpi = 0;      // relative target port identifier
  uint64_t key = 0;
  bool operator==(const PrRegistration&) const = default;
};

struct PrState {
  uint32_t generation = 0;
  std::vector<PrRegistration> registrations;
  // Persistent reservation: type 0 = none. The holder is a registration
  // (initiator+target); for the all-registrants types every registrant holds it.
  uint8_t type = 0;
  std::string holder_initiator;
  std::string holder_target;
  bool aptpl = false;
  // SPC-2 RESERVE(6/10) holder, never persisted.
  std::optional<std::pair<std::string, std::string>> spc2;

  bool operator==(const PrState&) const = default;
  bool reserved() const { return type != 0 || spc2.has_value(); }
  const PrRegistration* find(const std::string& initiator, const std::string& target) const;
  bool is_holder(const std::string& initiator, const std::string& target) const;
};

class ReservationStore {
 public:
  virtual ~ReservationStore() = default;
  // Lock-free; true when no reservation of either kind is held.
  virtual bool unreserved() const = 0;
  virtual void read(const std::function<void(const PrState&)>& fn) const = 0;
  // fn returns true when it changed the state; the store then publishes it and,
  // when fn's state has APTPL set (or had it), persists it. Returns false when
  // persisting failed (the change is still applied in memory).
  virtual bool update(const std::function<bool(PrState&)>& fn) = 0;
  virtual bool persistence_supported() const = 0;
};

// In-memory store; with a non-empty path, APTPL state is written there
// atomically (temporary file, fsync, rename) and loaded back at start-up.
// Throws std::runtime_error when an existing file cannot be parsed.
std::unique_ptr<ReservationStore> make_local_reservation_store(const std::string& aptpl_path);

// Text form of a state used by the APTPL file (exposed for tests).
std::string serialize_pr_state(const PrState& s);
bool parse_pr_state(const std::string& text, PrState* out);

}  // namespace sharedisk::scsi
