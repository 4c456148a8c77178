// The SCSI target device: the logical units of one iSCSI target and the
// SPC-4/SBC-3 emulation that serves them.
//
// Thread-safe: every event loop submits tasks concurrently. The LUN table is
// an immutable snapshot that add/replace/remove swap (a lookup is one atomic
// load). Per-LUN data-path state is either immutable, atomic, or per loop (one
// blockdev::IoChannel per loop); shared state that is rare on the data path
// (unit attentions, reservations) sits behind its own small lock and a
// lock-free "nothing pending" check.
//
// The transport owns I_T nexuses through attach()/detach() and aborting of
// tasks it has not handed over; task-management side effects on the device
// (unit attentions, reservation release) come through the *_reset() calls.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "blockdev/block_device.h"
#include "scsi/alua.h"
#include "scsi/task.h"

namespace boost::asio {
class io_context;
}

namespace sharedisk::scsi {

class ReservationStore;

struct LunOptions {
  uint64_t number = 0;
  uint32_t block_size = 512;  // logical block size: 512 or 4096
  bool read_only = false;
  std::string serial;                    // VPD 0x80; stable across restarts
  std::array<uint8_t, 16> naa{};         // NAA designator (type 6: 16 bytes; type 3/5: first 8)
  uint8_t naa_length = 16;               // 8 or 16
  std::string vendor = "SHAREDSK";       // INQUIRY T10 vendor (<= 8)
  std::string product = "VIRTUAL-DISK";  // <= 16
  std::string revision = "0001";         // <= 4
  bool thin = false;                     // logical block provisioning (UNMAP etc.)
  // Where persistent reservations with APTPL are kept (written atomically);
  // empty: APTPL is not supported (PTPL_C=0) and the state lives in memory.
  std::string pr_state_path;
  // Set: the LUN's reservation state is shared with other gateways, in the
  // object `shared_reservations` names (for messages, and to tell whether a
  // reload keeps the same state); make_reservations opens it.
  std::string shared_reservations;
  std::function<std::shared_ptr<ReservationStore>()> make_reservations;
};

// An I_T nexus: one initiator port talking to this device through one target port.
class Nexus {
 public:
  virtual ~Nexus() = default;
  const std::string& initiator_port() const { return initiator_port_; }  // "iqn...,i,0x<isid>"
  const std::string& target_port() const { return target_port_; }        // "iqn...,t,0x<tpgt>"
  uint16_t relative_target_port() const { return rtpi_; }
  uint16_t target_port_group() const { return tpg_; }
  // Read-only access for this initiator (lun.yaml access.read_only_initiators):
  // commands that change the medium fail with DATA PROTECT / WRITE PROTECTED
  // and MODE SENSE reports WP. Set by the transport right after attach().
  bool read_only() const { return read_only_; }
  void set_read_only(bool read_only) { read_only_ = read_only; }

 protected:
  Nexus(std::string ip, std::string tp, uint16_t rtpi, uint16_t tpg)
      : initiator_port_(std::move(ip)), target_port_(std::move(tp)), rtpi_(rtpi), tpg_(tpg) {}

 private:
  std::string initiator_port_;
  std::string target_port_;
  uint16_t rtpi_;
  uint16_t tpg_;
  bool read_only_ = false;
};

// Task management the SCSI layer needs from the transport, which owns the
// task sets. Installed with Device::set_task_aborter().
class TaskAborter {
 public:
  // PERSISTENT RESERVE OUT / PREEMPT AND ABORT (SPC-4 5.13, preempting and
  // aborting): `victims` are the I_T nexuses whose registrations `by`
  // just removed (never by's own nexus). The transport aborts every task that
  // each victim has for LUN `lun` (a number as in Device::luns()) and that it
  // received before `by`, exactly as an ABORT TASK SET from that nexus would
  // (TAS=0: no status for them, and none of them may write after done()). It
  // then calls done() on by's event loop (Task::loop), once; the SCSI layer
  // completes `by` only from inside done(). Called on by's event loop.
  virtual void abort_nexus_tasks(const std::vector<Nexus*>& victims, uint64_t lun, Task& by,
                                 std::function<void()> done) = 0;
  // The same for a PREEMPT AND ABORT another gateway received (the
  // reservation state is shared): every task `victims` have on LUN `lun` now
  // is aborted, then done() runs once, on some event loop. Called on any
  // thread. The default aborts nothing.
  virtual void abort_nexus_tasks_for_peer(const std::vector<Nexus*>& victims, uint64_t lun,
                                          std::function<void()> done) {
    (void)victims;
    (void)lun;
    done();
  }

 protected:
  ~TaskAborter() = default;
};

class Device {
 public:
  virtual ~Device() = default;

  // The transport's TaskAborter, set before serving starts; without one,
  // PREEMPT AND ABORT changes the reservation state like PREEMPT and aborts
  // nothing. The default implementation ignores it.
  virtual void set_task_aborter(TaskAborter* aborter) { (void)aborter; }

  // Adds a LUN, before or while serving; `loops` are the daemon's event loops,
  // index i being Task::loop == i. Throws std::runtime_error on a bad option
  // or a number already in use. Every attached nexus sees POWER ON, RESET OR
  // BUS DEVICE RESET (29/00) on the new LUN and REPORTED LUNS DATA HAS CHANGED
  // (3F/0E) on the others; REPORT LUNS clears the latter for its nexus.
  virtual void add_lun(const LunOptions& options, std::unique_ptr<blockdev::BlockDevice> backing,
                       const std::vector<boost::asio::io_context*>& loops) = 0;

  // Puts a new LUN in place of the one with the same number in a single step
  // (no command sees the number missing); every nexus sees 29/00 on it.
  // Commands already running finish on the old one. Throws like add_lun() and
  // when there is no LUN of that number.
  virtual void replace_lun(const LunOptions& options,
                           std::unique_ptr<blockdev::BlockDevice> backing,
                           const std::vector<boost::asio::io_context*>& loops) = 0;

  // Takes LUN `number` out of service: new commands for it fail with LOGICAL
  // UNIT NOT SUPPORTED, commands already running finish, and every nexus sees
  // 3F/0E on the remaining LUNs. The backing store is closed once nothing uses
  // it (at the latest when the device goes). Returns false for an unknown LUN.
  virtual bool remove_lun(uint64_t number) = 0;

  // A new I_T nexus; it sees a POWER ON, RESET OR BUS DEVICE RESET unit
  // attention on each LUN first. The returned object lives until detach().
  // The transport numbers its target ports within this gateway from 1
  // (`relative_target_port`) and names its portal group
  // (`target_port_group`); the device maps them to the identifiers of the
  // AluaTopology it was made with (lun.yaml `gateway:`), which the nexus
  // then reports. Without a gateway section both are used as given.
  virtual Nexus* attach(const std::string& initiator_port, const std::string& target_port,
                        uint16_t relative_target_port, uint16_t target_port_group) = 0;
  virtual void detach(Nexus* nexus) = 0;

  // Runs one command; completion through task.owner->task_done().
  virtual void execute(Task& task) = 0;
  // The transport aborts `task` (task management, a reset, session loss)
  // while it is inside the SCSI layer. A write the backing store still holds
  // back (the RBD owner dwell, BlockDevice::set_lock_dwell) is dropped: it
  // never reaches the store, and the task completes (task_done, later, on
  // its loop) with an error the transport discards. Any other task completes
  // as it would. Called on the task's loop.
  virtual void abort_held(Task& task) { (void)task; }

  // LUN numbers in ascending order (REPORT LUNS, status).
  virtual std::vector<uint64_t> luns() const = 0;
  virtual bool has_lun(uint64_t lun) const = 0;

  // Task-management side effects (unit attentions to the other nexuses,
  // release of SPC-2 reservations). The transport has already aborted and
  // drained the affected tasks before it calls these.
  virtual void lun_reset(Nexus* from, uint64_t lun) = 0;
  // A LOGICAL UNIT RESET of `lun` reaches the other gateways sharing its
  // state (they abort its tasks and queue 29/03); done() runs on some thread
  // once they have. Without other gateways done() runs right away.
  virtual void announce_lun_reset(uint64_t lun, std::function<void()> done) {
    (void)lun;
    done();
  }
  // The same for a TARGET WARM RESET or TARGET COLD RESET: every LUN whose
  // state is shared is reset on the other gateways (tasks aborted, 29/02 to
  // their nexuses); done() runs once all of them have.
  virtual void announce_target_reset(std::function<void()> done) { done(); }
  virtual void target_reset(Nexus* from) = 0;

  // The control mode page of LUN `lun`, as MODE SELECT left it. Unknown
  // LUNs answer the defaults.
  struct ControlMode {
    // TAS (default on): a task another I_T nexus's task management aborts is
    // answered TASK ABORTED instead of getting no status.
    bool task_aborted_status = true;
    bool descriptor_sense = false;  // D_SENSE: sense data in the 72h format
  };
  virtual ControlMode control_mode(uint64_t lun) const = 0;

  // Waits for nothing: returns true when no task of this device is in I/O.
  virtual bool idle() const = 0;

  // The backing store of `lun` changed size: READ CAPACITY reports the new
  // size and every nexus gets CAPACITY DATA HAS CHANGED (2A/09). Returns false
  // for an unknown LUN or an unchanged size.
  virtual bool capacity_changed(uint64_t lun) = 0;

  // The target port groups of `lun` (this gateway's first, then its peers)
  // and the ALUA state of each as this gateway sees it; empty for an unknown
  // LUN. For `status`.
  struct AluaGroupState {
    uint16_t group;
    AluaState state;
    bool local;
  };
  virtual std::vector<AluaGroupState> alua_states(uint64_t lun) const = 0;

  // Implicit ALUA: target port group `owner_group` holds the owner token of
  // `lun` (the RBD exclusive lock); 0 when nobody (or no gateway) does, which
  // makes the lowest group the preferred one, so that every gateway still
  // reports the same states. When any group's state changed, every nexus of
  // the LUN gets ASYMMETRIC ACCESS STATE CHANGED (2A/06) and true is returned.
  virtual bool set_alua_owner(uint64_t lun, uint16_t owner_group) = 0;
};

// `alua`: the target port groups of this gateway and its peers; the default
// is one group (1) with one port (1).
std::unique_ptr<Device> make_device(const std::string& target_name, AluaTopology alua = {});

// Decodes the 8-byte SAM LUN field (peripheral and flat addressing) to a LUN
// number, and encodes one back (REPORT LUNS). Returns false for a format we do not serve.
bool decode_lun(uint64_t sam_lun, uint64_t* number);
uint64_t encode_lun(uint64_t number);

}  // namespace sharedisk::scsi
