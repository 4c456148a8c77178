// COMPARE AND WRITE (SBC-3 5.2) and ORWRITE(16) (5.8): read-modify-write
// commands that hold their blocks exclusively in the LUN's WriteGate from the
// read until the write completes, so no other write can interleave. Where the
// store compares and writes atomically itself (an RBD image, one sector), a
// COMPARE AND WRITE is that one request, still inside the gate: the gate
// orders it against this process's other commands, the store against every
// other client of the image (the other gateways).
#include <algorithm>
#include <cerrno>

#include "scsi/cdb.h"
#include "scsi/command.h"
#include "scsi/write_gate.h"

namespace sharedisk::scsi {

constexpr uint32_t kMaxCompareAndWriteBlocks = 255;

namespace {

void finish(Task& task, Lun& lun, int result, bool write) {
  lun.gate().leave(task);
  if (result < 0) return fail_io(task, lun, result, write);
  task.status = status::kGood;
  complete(task);
}

void written(Task& task, Lun& lun, int result) {
  finish(task, lun, result, true);
}
const Step kWritten{written};

// ---- COMPARE AND WRITE: work.mode = FUA.
void caw_read_done(Task& task, Lun& lun, int result) {
  if (result < 0) return finish(task, lun, result, false);
  const uint8_t* media = aux_of(task);
  const uint8_t* verify = task.buffer.data();
  uint64_t n = task.io.length;
  for (uint64_t i = 0; i < n; ++i) {
    if (media[i] != verify[i]) {
      lun.gate().leave(task);
      return fail_info(task, &lun, sense_key::kMiscompare, asc::kMiscompareDuringVerify, i);
    }
  }
  prepare_rw(task, blockdev::IoOp::kWrite, task.buffer.data() + n, task.io.offset, n,
             task.work.mode != 0);
  submit_io(task, lun, kWritten);
}
const Step kCawRead{caw_read_done};

void caw_native_done(Task& task, Lun& lun, int result) {
  if (result == -EILSEQ) {
    lun.gate().leave(task);
    return fail_info(task, &lun, sense_key::kMiscompare, asc::kMiscompareDuringVerify,
                     task.io.miscompare_offset);
  }
  finish(task, lun, result, true);
}
const Step kCawNative{caw_native_done};

void caw_start(Task& task, Lun& lun) {
  if (!lun.gate().enter(task, task.io.offset, task.io.length, true, caw_start)) return;
  submit_io(task, lun, task.io.op == blockdev::IoOp::kCompareAndWrite ? kCawNative : kCawRead);
}

bool store_compares_and_writes(const Lun& lun, uint64_t offset, uint64_t bytes) {
  const uint32_t max = lun.info().max_compare_and_write;
  return max != 0 && bytes <= max && offset % max == 0;
}

// ---- ORWRITE: media |= data-out.
void or_read_done(Task& task, Lun& lun, int result) {
  if (result < 0) return finish(task, lun, result, false);
  uint8_t* media = aux_of(task);
  const uint8_t* data = task.buffer.data();
  for (uint64_t i = 0; i < task.io.length; ++i) media[i] |= data[i];
  prepare_rw(task, blockdev::IoOp::kWrite, media, task.io.offset, task.io.length,
             task.work.mode != 0);
  submit_io(task, lun, kWritten);
}
const Step kOrRead{or_read_done};

void or_start(Task& task, Lun& lun) {
  if (!lun.gate().enter(task, task.io.offset, task.io.length, true, or_start)) return;
  submit_io(task, lun, kOrRead);
}

}  // namespace

void cmd_compare_and_write(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  if (cdb[1] & 0xE0) return fail_cdb(task, lun, 1, 7);  // WRPROTECT
  uint64_t lba = get_be64(cdb + 2);
  uint32_t blocks = cdb[13];
  if (!lba_in_range(*lun, lba, blocks)) return fail_lba(task, lun);
  if (lun->read_only()) return fail_write_protected(task, lun);
  if (blocks > kMaxCompareAndWriteBlocks) return fail_cdb(task, lun, 13);
  unsigned shift = lun->block_shift();
  uint64_t n = uint64_t(blocks) << shift;
  task.transfer_length = static_cast<uint32_t>(2 * n);
  if (blocks == 0) {
    // Nothing to compare, but data-out without blocks is a CDB that cannot be
    // right (libiscsi sends 256 blocks this way: the byte wrapped to 0).
    if (task.expected_length != 0 || data_out_bytes(task) != 0) return fail_cdb(task, lun, 13);
    task.status = status::kGood;
    return complete(task);
  }
  // The data-out must be exactly the verify and the write instance.
  if (data_out_bytes(task) != 2 * n || task.expected_length != 2 * n)
    return fail_cdb(task, lun, 13);
  task.work.mode = (cdb[1] & 0x08) ? 1 : 0;
  if (store_compares_and_writes(*lun, lba << shift, n)) {
    prepare_rw(task, blockdev::IoOp::kCompareAndWrite, task.buffer.data(), lba << shift, n,
               task.work.mode != 0);
    task.iov[1] = {task.buffer.data() + n, n};
    task.io.iovcnt = 2;
    return caw_start(task, *lun);
  }
  uint8_t* media = aux_buffer(task, n);
  if (media == nullptr)
    return fail(task, lun, sense_key::kHardwareError, asc::kInternalTargetFailure);
  prepare_rw(task, blockdev::IoOp::kRead, media, lba << shift, n);
  caw_start(task, *lun);
}

void cmd_orwrite(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  if (cdb[1] & 0xE0) return fail_cdb(task, lun, 1, 7);  // ORPROTECT
  uint64_t lba;
  uint32_t blocks;
  decode_lba_blocks(cdb, &lba, &blocks);
  if (!lba_in_range(*lun, lba, blocks)) return fail_lba(task, lun);
  if (lun->read_only()) return fail_write_protected(task, lun);
  unsigned shift = lun->block_shift();
  uint64_t bytes = uint64_t(blocks) << shift;
  task.transfer_length = static_cast<uint32_t>(std::min<uint64_t>(bytes, 0xFFFFFFFFu));
  uint64_t n = std::min<uint64_t>(bytes, data_out_bytes(task)) >> shift << shift;
  if (n == 0) {
    task.status = status::kGood;
    return complete(task);
  }
  uint8_t* media = aux_buffer(task, n);
  if (media == nullptr)
    return fail(task, lun, sense_key::kHardwareError, asc::kInternalTargetFailure);
  task.work.mode = (cdb[1] & 0x08) ? 1 : 0;
  prepare_rw(task, blockdev::IoOp::kRead, media, lba << shift, n);
  or_start(task, *lun);
}

}  // namespace sharedisk::scsi
