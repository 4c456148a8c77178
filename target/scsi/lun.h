// One logical unit: its options, backing store, per-loop I/O channels, unit
// attention queues per I_T nexus, mode parameters, reservation state and the
// COMPARE AND WRITE range lock.
//
// Threading: options/backing/channels are fixed after construction; channel(i)
// is used only from loop i. Unit attentions and the range lock take a small
// mutex, but only after a lock-free check says something is pending, so
// ordinary READ/WRITE take no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "blockdev/block_device.h"
#include "scsi/device.h"

namespace sharedisk::scsi {

class Alua;
class ReservationStore;
class Task;
class WriteGate;

class Lun {
 public:
  Lun(const LunOptions& options, std::unique_ptr<blockdev::BlockDevice> backing,
      const std::vector<boost::asio::io_context*>& loops, std::shared_ptr<ReservationStore> rs,
      std::shared_ptr<Alua> alua);
  ~Lun();

  const LunOptions& options() const { return options_; }
  uint64_t number() const { return options_.number; }
  blockdev::BlockDevice& backing() { return *backing_; }
  const blockdev::DeviceInfo& info() const { return backing_->info(); }
  blockdev::IoChannel& channel(unsigned loop) { return *channels_[loop]; }
  unsigned loops() const { return static_cast<unsigned>(channels_.size()); }
  boost::asio::io_context& loop(unsigned i) const { return *loops_[i]; }

  uint32_t block_size() const { return options_.block_size; }
  unsigned block_shift() const { return block_shift_; }
  uint64_t num_blocks() const { return num_blocks_.load(std::memory_order_relaxed); }
  // Re-reads the backing size; true when it changed.
  bool refresh_capacity();
  bool read_only() const { return read_only_; }
  bool thin() const { return thin_; }
  // Logical blocks per physical block exponent (READ CAPACITY 16, VPD B0).
  unsigned lbppbe() const { return lbppbe_; }

  // Control mode page D_SENSE: sense data in descriptor format.
  bool d_sense() const { return d_sense_.load(std::memory_order_relaxed); }
  void set_d_sense(bool on) { d_sense_.store(on, std::memory_order_relaxed); }
  // Control mode page TAS: TASK ABORTED status for tasks another nexus aborts.
  bool tas() const { return tas_.load(std::memory_order_relaxed); }
  void set_tas(bool on) { tas_.store(on, std::memory_order_relaxed); }

  // PREVENT ALLOW MEDIUM REMOVAL state per nexus (SBC: cleared by resets and nexus loss).
  void set_prevent(const Nexus* n, bool prevent);
  bool prevented() const { return prevent_count_.load(std::memory_order_relaxed) != 0; }

  // ---- unit attentions (queued per nexus, oldest reported first, no duplicates)
  void nexus_attached(const Nexus* n);  // queues POWER ON, RESET OR BUS DEVICE RESET (29/00)
  void nexus_detached(const Nexus* n);
  void ua_add(const Nexus* n, uint16_t asc_ascq);
  void ua_add_others(const Nexus* except, uint16_t asc_ascq);  // except may be null: all
  // Adds a UA to every attached nexus whose initiator port/target port match.
  void ua_add_port(const std::string& initiator, const std::string& target, uint16_t asc_ascq);
  bool ua_maybe_pending() const { return ua_count_.load(std::memory_order_acquire) != 0; }
  bool ua_take(const Nexus* n, uint16_t* asc_ascq);
  void ua_clear(const Nexus* n, uint16_t asc_ascq);  // drops that one attention, if queued
  // Attached nexuses (for reservation unit attentions); copies under the lock.
  std::vector<const Nexus*> nexuses() const;

  ReservationStore& reservations() { return *reservations_; }
  // Shared with the LUN that replaces this one when it is the same logical
  // unit (a reload changing its options): registrations and reservations stay.
  const std::shared_ptr<ReservationStore>& reservation_store() const { return reservations_; }
  WriteGate& gate() { return *gate_; }
  // The target port groups and their access states (shared, like the
  // reservations, with the LUN that replaces this one as the same unit).
  Alua& alua() { return *alua_; }
  const std::shared_ptr<Alua>& alua_state() const { return alua_; }

  // Tasks inside the backing store (Device::idle()).
  std::atomic<uint32_t> in_io{0};

 private:
  struct UaQueue;

  LunOptions options_;
  std::unique_ptr<blockdev::BlockDevice> backing_;
  std::vector<std::unique_ptr<blockdev::IoChannel>> channels_;
  std::vector<boost::asio::io_context*> loops_;
  unsigned block_shift_ = 9;
  unsigned lbppbe_ = 0;
  bool read_only_ = false;
  bool thin_ = false;
  std::atomic<uint64_t> num_blocks_{0};
  std::atomic<bool> d_sense_{false};
  std::atomic<bool> tas_{true};

  mutable std::mutex ua_mutex_;
  std::vector<std::unique_ptr<UaQueue>> ua_;  // one per attached nexus
  std::atomic<uint32_t> ua_count_{0};
  std::vector<const Nexus*> prevent_;  // under ua_mutex_
  std::atomic<uint32_t> prevent_count_{0};

  std::shared_ptr<ReservationStore> reservations_;
  std::unique_ptr<WriteGate> gate_;
  std::shared_ptr<Alua> alua_;
};

}  // namespace sharedisk::scsi
