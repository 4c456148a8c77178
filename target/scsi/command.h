// What every command handler shares: the handler signature, completion and
// error helpers, data-in copying, and the asynchronous backing-store step.
//
// A handler receives the device, the logical unit (null only for the commands
// the opcode table marks as serving unknown LUNs) and the task, and must
// complete the task exactly once, now or from an I/O completion.
#pragma once

#include <cstdint>
#include <cstring>

#include "scsi/device_impl.h"
#include "scsi/lun.h"
#include "scsi/sense.h"
#include "scsi/task.h"

namespace sharedisk::scsi {

using Handler = void (*)(DeviceImpl& dev, Lun* lun, Task& task);

// Task::work.aux: an aligned heap buffer some commands need (VERIFY BYTCHK,
// COMPARE AND WRITE); complete() frees it.
uint8_t* aux_buffer(Task& task, size_t bytes);  // null when out of memory
inline uint8_t* aux_of(const Task& task) {
  return task.work.aux.get();
}

void complete(Task& task);

inline bool descriptor_sense(const Lun* lun) {
  return lun != nullptr && lun->d_sense();
}

inline void fail(Task& task, const Lun* lun, uint8_t key, uint16_t asc_ascq) {
  set_sense(task, descriptor_sense(lun), key, asc_ascq);
  complete(task);
}
inline void fail_info(Task& task, const Lun* lun, uint8_t key, uint16_t asc_ascq, uint64_t info) {
  set_sense_info(task, descriptor_sense(lun), key, asc_ascq, info);
  complete(task);
}
// INVALID FIELD IN CDB at byte[.bit].
inline void fail_cdb(Task& task, const Lun* lun, uint16_t byte, int bit = -1) {
  set_invalid_field(task, descriptor_sense(lun), true, byte, bit);
  complete(task);
}
// INVALID FIELD IN PARAMETER LIST at byte[.bit].
inline void fail_param(Task& task, const Lun* lun, uint16_t byte, int bit = -1) {
  set_invalid_field(task, descriptor_sense(lun), false, byte, bit);
  complete(task);
}
inline void fail_lba(Task& task, const Lun* lun) {
  fail(task, lun, sense_key::kIllegalRequest, asc::kLbaOutOfRange);
}
inline void fail_write_protected(Task& task, const Lun* lun) {
  fail(task, lun, sense_key::kDataProtect, asc::kWriteProtected);
}

// Data-in of `len` bytes prepared in `data`, truncated to the CDB's
// allocation length and to what the transport expects; completes GOOD.
void send_data_in(Task& task, const uint8_t* data, uint32_t len, uint32_t allocation_length);

// The write data the initiator sent, at most `want` bytes.
inline uint32_t data_out_bytes(const Task& task) {
  uint32_t n = task.data_out_length;
  if (n > task.expected_length) n = task.expected_length;
  if (n > task.buffer.capacity()) n = static_cast<uint32_t>(task.buffer.capacity());
  return n;
}

// True when [lba, lba+blocks) lies inside the LUN (no overflow).
inline bool lba_in_range(const Lun& lun, uint64_t lba, uint64_t blocks) {
  uint64_t n = lun.num_blocks();
  return lba <= n && blocks <= n - lba;
}

// An asynchronous step: the continuation run when task.io completes.
struct Step {
  void (*fn)(Task& task, Lun& lun, int result);
};
// Submits task.io (already filled except callback/user) on the task's loop channel.
void submit_io(Task& task, Lun& lun, const Step& next);
// Fills task.io for a read/write of `bytes` at `offset` from/to `data`.
void prepare_rw(Task& task, blockdev::IoOp op, uint8_t* data, uint64_t offset, uint64_t bytes,
                bool fua = false);
// Maps a failed backing-store result to sense data and completes.
void fail_io(Task& task, Lun& lun, int result, bool write);

// ---- handlers, one file per family
void cmd_test_unit_ready(DeviceImpl&, Lun*, Task&);
void cmd_request_sense(DeviceImpl&, Lun*, Task&);
void cmd_inquiry(DeviceImpl&, Lun*, Task&);
void cmd_report_luns(DeviceImpl&, Lun*, Task&);
void cmd_read_capacity10(DeviceImpl&, Lun*, Task&);
void cmd_read_capacity16(DeviceImpl&, Lun*, Task&);
void cmd_mode_sense(DeviceImpl&, Lun*, Task&);
void cmd_mode_select(DeviceImpl&, Lun*, Task&);
void cmd_read(DeviceImpl&, Lun*, Task&);
void cmd_write(DeviceImpl&, Lun*, Task&);
void cmd_verify(DeviceImpl&, Lun*, Task&);
void cmd_synchronize_cache(DeviceImpl&, Lun*, Task&);
void cmd_start_stop_unit(DeviceImpl&, Lun*, Task&);
void cmd_report_supported_opcodes(DeviceImpl&, Lun*, Task&);
void cmd_report_supported_tmf(DeviceImpl&, Lun*, Task&);
void cmd_prevent_allow(DeviceImpl&, Lun*, Task&);
void cmd_prefetch(DeviceImpl&, Lun*, Task&);
void cmd_read_defect_data(DeviceImpl&, Lun*, Task&);
void cmd_reserve(DeviceImpl&, Lun*, Task&);
void cmd_release(DeviceImpl&, Lun*, Task&);
void cmd_compare_and_write(DeviceImpl&, Lun*, Task&);
void cmd_orwrite(DeviceImpl&, Lun*, Task&);
void cmd_unmap(DeviceImpl&, Lun*, Task&);
void cmd_write_same(DeviceImpl&, Lun*, Task&);
void cmd_get_lba_status(DeviceImpl&, Lun*, Task&);
void cmd_persistent_reserve_in(DeviceImpl&, Lun*, Task&);
void cmd_persistent_reserve_out(DeviceImpl&, Lun*, Task&);
void cmd_extended_copy(DeviceImpl&, Lun*, Task&);
void cmd_receive_copy_results(DeviceImpl&, Lun*, Task&);
void cmd_report_target_port_groups(DeviceImpl&, Lun*, Task&);
void cmd_set_target_port_groups(DeviceImpl&, Lun*, Task&);

}  // namespace sharedisk::scsi

namespace sharedisk::scsi {
// LBA and number of blocks of a READ/WRITE/VERIFY/... CDB of any length
// (6-byte: 21-bit LBA, 0 blocks meaning 256).
void decode_lba_blocks(const uint8_t* cdb, uint64_t* lba, uint32_t* blocks);
}  // namespace sharedisk::scsi
