// One SCSI command as the transport hands it to the SCSI layer.
//
// The transport (iSCSI) fills the "in" fields, receives all write data into
// `buffer`, then calls Device::execute(). The SCSI layer fills the "out"
// fields and calls owner->task_done(*this) exactly once, on the task's event
// loop; commands that need no I/O may complete from inside execute().
// The Task must stay alive and unmoved until task_done().
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "blockdev/block_device.h"
#include "util/buffer_pool.h"

namespace sharedisk::scsi {

class Nexus;
class Task;
struct CopyJob;  // extended_copy.cpp
struct CopyJobDeleter {
  void operator()(CopyJob* job) const;
};
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// What a multi-step command of the SCSI layer keeps between its steps; typed,
// so that an owned object is never carried as an integer.
struct CommandWork {
  uint64_t next = 0;  // UNMAP: next descriptor; WRITE SAME: next byte offset
  uint64_t end = 0;   // UNMAP: descriptor count; WRITE SAME: end byte offset
  uint8_t mode = 0;   // COMPARE AND WRITE: FUA; VERIFY: BYTCHK
  uint8_t gate = 0;   // WriteGate state (write_gate.cpp)
  // Aligned heap buffer (VERIFY BYTCHK, COMPARE AND WRITE, EXTENDED COPY);
  // freed when the command completes.
  std::unique_ptr<uint8_t, FreeDeleter> aux;
  std::unique_ptr<CopyJob, CopyJobDeleter> copy;  // EXTENDED COPY in progress
};

enum class Direction : uint8_t { kNone, kRead, kWrite };

// SAM task attributes, numbered as in the iSCSI SCSI Command PDU ATTR field.
enum class TaskAttr : uint8_t {
  kUntagged = 0,
  kSimple = 1,
  kOrdered = 2,
  kHeadOfQueue = 3,
  kAca = 4
};

namespace status {
constexpr uint8_t kGood = 0x00;
constexpr uint8_t kCheckCondition = 0x02;
constexpr uint8_t kConditionMet = 0x04;
constexpr uint8_t kBusy = 0x08;
constexpr uint8_t kReservationConflict = 0x18;
constexpr uint8_t kTaskSetFull = 0x28;
constexpr uint8_t kAcaActive = 0x30;
constexpr uint8_t kTaskAborted = 0x40;
}  // namespace status

class TaskOwner {
 public:
  virtual void task_done(Task& task) = 0;

 protected:
  ~TaskOwner() = default;
};

class Task final : public blockdev::IoCallback {
 public:
  static constexpr unsigned kMaxSense = 96;
  static constexpr unsigned kMaxIov = 4;

  // ---- in: set by the transport
  uint8_t cdb[16] = {};
  uint8_t cdb_length = 0;
  uint64_t lun = 0;  // the 8-byte SAM LUN field as received (big-endian, decoded here to a value)
  TaskAttr attr = TaskAttr::kSimple;
  uint32_t tag = 0;              // initiator task tag, for ABORT TASK / QUERY TASK
  uint32_t expected_length = 0;  // expected data transfer length from the transport
  Direction direction = Direction::kNone;
  util::Buffer buffer;           // capacity >= expected_length (may be empty when 0)
  uint32_t data_out_length = 0;  // write data present at buffer.data()
  Nexus* nexus = nullptr;        // the I_T nexus the command came through
  unsigned loop = 0;             // index of the event loop running this task
  TaskOwner* owner = nullptr;
  void* transport_context = nullptr;  // free for the transport (its command object)

  // ---- out: set by the SCSI layer before task_done()
  uint8_t status = status::kGood;
  uint8_t sense_length = 0;
  uint8_t sense[kMaxSense] = {};
  // Bytes of data-in valid at buffer.data(); never more than expected_length.
  uint32_t data_in_length = 0;
  // Bytes the command would have moved (in either direction) had the
  // transport's expected length been unlimited; the transport derives the
  // residual (overflow/underflow) from it and expected_length.
  uint32_t transfer_length = 0;

  // ---- private to the SCSI layer (kept here so no allocation is needed per command)
  blockdev::IoRequest io;
  iovec iov[kMaxIov] = {};
  CommandWork work;
  void* scsi_state = nullptr;

  // Resets "out" and private fields for reuse of the object.
  void reset_result() {
    status = status::kGood;
    sense_length = 0;
    data_in_length = 0;
    transfer_length = 0;
    scsi_state = nullptr;
  }

  void io_done(blockdev::IoRequest& req, int result) override;  // defined by the SCSI layer
};

}  // namespace sharedisk::scsi
