// READ and WRITE (6/10/12/16), VERIFY (10/12/16) and SYNCHRONIZE CACHE
// (10/16) (SBC-3 5.x). The data path: no lock, no allocation, no log line;
// the task's embedded IoRequest goes to this loop's IoChannel.
//
// Length rules (docs/scsi.md): transfer_length is what the CDB asks for;
// a READ moves min(CDB, expected) bytes, a WRITE writes the whole blocks
// that arrived (min(CDB, data-out)), the transport reports the residual.
#include <algorithm>

#include "scsi/cdb.h"
#include "scsi/command.h"
#include "scsi/write_gate.h"

namespace sharedisk::scsi {

void decode_lba_blocks(const uint8_t* cdb, uint64_t* lba, uint32_t* blocks) {
  switch (cdb[0] >> 5) {
    case 0:  // 6-byte
      *lba = get_be24(cdb + 1) & 0x1FFFFF;
      *blocks = cdb[4] == 0 ? 256 : cdb[4];
      break;
    case 1:  // 10-byte
    case 2:
      *lba = get_be32(cdb + 2);
      *blocks = get_be16(cdb + 7);
      break;
    case 5:  // 12-byte
      *lba = get_be32(cdb + 2);
      *blocks = get_be32(cdb + 6);
      break;
    default:  // 16-byte
      *lba = get_be64(cdb + 2);
      *blocks = get_be32(cdb + 10);
      break;
  }
}

namespace {

inline uint32_t clamp32(uint64_t v) {
  return v > 0xFFFFFFFFull ? 0xFFFFFFFFu : uint32_t(v);
}

void read_done(Task& task, Lun& lun, int result) {
  if (result < 0) return fail_io(task, lun, result, false);
  task.data_in_length = static_cast<uint32_t>(
      std::min<uint64_t>({task.transfer_length, task.expected_length, task.io.length}));
  task.status = status::kGood;
  complete(task);
}
const Step kReadDone{read_done};

void write_done(Task& task, Lun& lun, int result) {
  write_gate_leave(lun, task);
  if (result < 0) return fail_io(task, lun, result, true);
  task.status = status::kGood;
  complete(task);
}
const Step kWriteDone{write_done};

void flush_done(Task& task, Lun& lun, int result) {
  if (result < 0) return fail_io(task, lun, result, true);
  task.status = status::kGood;
  complete(task);
}
const Step kFlushDone{flush_done};

}  // namespace

void cmd_read(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  if (cdb[0] != 0x08 && (cdb[1] & 0xE0)) return fail_cdb(task, lun, 1, 7);  // RDPROTECT
  uint64_t lba;
  uint32_t blocks;
  decode_lba_blocks(cdb, &lba, &blocks);
  if (!lba_in_range(*lun, lba, blocks)) return fail_lba(task, lun);
  unsigned shift = lun->block_shift();
  uint64_t bytes = uint64_t(blocks) << shift;
  task.transfer_length = clamp32(bytes);
  // Read whole blocks covering what the transport can take.
  uint64_t want = std::min<uint64_t>(bytes, task.expected_length);
  want = (want + lun->block_size() - 1) >> shift << shift;
  uint64_t cap = task.buffer.capacity() >> shift << shift;
  if (want > cap) want = cap;
  if (want == 0) {
    task.status = status::kGood;
    return complete(task);
  }
  prepare_rw(task, blockdev::IoOp::kRead, task.buffer.data(), lba << shift, want);
  submit_io(task, *lun, kReadDone);
}

void start_write(Task& task, Lun& lun);

void cmd_write(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  if (cdb[0] != 0x0A && (cdb[1] & 0xE0)) return fail_cdb(task, lun, 1, 7);  // WRPROTECT
  uint64_t lba;
  uint32_t blocks;
  decode_lba_blocks(cdb, &lba, &blocks);
  if (!lba_in_range(*lun, lba, blocks)) return fail_lba(task, lun);
  if (lun->read_only()) return fail_write_protected(task, lun);
  unsigned shift = lun->block_shift();
  uint64_t bytes = uint64_t(blocks) << shift;
  task.transfer_length = clamp32(bytes);
  uint64_t n = std::min<uint64_t>(bytes, data_out_bytes(task)) >> shift << shift;
  if (n == 0) {
    task.status = status::kGood;
    return complete(task);
  }
  // WRITE AND VERIFY (2Eh, AEh, 8Eh): the data just written is what would be
  // compared, so it is written FUA and verification cannot fail.
  bool verify = cdb[0] == 0x2E || cdb[0] == 0xAE || cdb[0] == 0x8E;
  bool fua = verify || (cdb[0] != 0x0A && (cdb[1] & 0x08));
  prepare_rw(task, blockdev::IoOp::kWrite, task.buffer.data(), lba << shift, n, fua);
  start_write(task, *lun);
}

// Submits the prepared write once no COMPARE AND WRITE holds its blocks.
void start_write(Task& task, Lun& lun) {                  // NOLINT: also the gate's resume
  if (!write_gate_enter(lun, task, start_write)) return;  // queued; resumed later
  submit_io(task, lun, kWriteDone);
}

// ---- VERIFY: BYTCHK 0 checks the range only; 1 compares the data-out with
// the medium; 3 compares one data-out block with every block of the range.
namespace {

void verify_done(Task& task, Lun& lun, int result) {
  if (result < 0) return fail_io(task, lun, result, false);
  const uint8_t* media = aux_of(task);
  const uint8_t* out = task.buffer.data();
  uint64_t n = task.io.length;
  uint32_t bs = lun.block_size();
  bool one_block = task.work.mode == 3;
  for (uint64_t i = 0; i < n; ++i) {
    uint8_t expect = one_block ? out[i % bs] : out[i];
    if (media[i] != expect)
      return fail_info(task, &lun, sense_key::kMiscompare, asc::kMiscompareDuringVerify, i);
  }
  task.status = status::kGood;
  complete(task);
}
const Step kVerifyDone{verify_done};

}  // namespace

void cmd_verify(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  if (cdb[1] & 0xE0) return fail_cdb(task, lun, 1, 7);  // VRPROTECT
  uint8_t bytchk = (cdb[1] >> 1) & 0x03;
  if (bytchk == 2) return fail_cdb(task, lun, 1, 2);
  uint64_t lba;
  uint32_t blocks;
  decode_lba_blocks(cdb, &lba, &blocks);
  if (!lba_in_range(*lun, lba, blocks)) return fail_lba(task, lun);
  unsigned shift = lun->block_shift();
  uint64_t bytes = uint64_t(blocks) << shift;
  if (bytchk == 0 || blocks == 0) {
    task.status = status::kGood;
    return complete(task);
  }
  task.transfer_length = bytchk == 3 ? lun->block_size() : clamp32(bytes);
  uint64_t have = data_out_bytes(task) >> shift << shift;
  uint64_t n = bytchk == 3 ? (have >= lun->block_size() ? bytes : 0) : std::min(bytes, have);
  if (n == 0)  // no data-out to compare against
    return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
  if (n > util::BufferPool::kMaxBuffer) return fail_cdb(task, lun, cdb[0] == 0x8F ? 10 : 7);
  uint8_t* media = aux_buffer(task, n);
  if (media == nullptr)
    return fail(task, lun, sense_key::kHardwareError, asc::kInternalTargetFailure);
  task.work.mode = uint8_t(bytchk);
  prepare_rw(task, blockdev::IoOp::kRead, media, lba << shift, n);
  submit_io(task, *lun, kVerifyDone);
}

void cmd_synchronize_cache(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  uint64_t lba;
  uint32_t blocks;
  if (cdb[0] == 0x35) {
    lba = get_be32(cdb + 2);
    blocks = get_be16(cdb + 7);
  } else {
    lba = get_be64(cdb + 2);
    blocks = get_be32(cdb + 10);
  }
  if (!lba_in_range(*lun, lba, blocks)) return fail_lba(task, lun);
  task.io.op = blockdev::IoOp::kFlush;
  task.io.fua = false;
  task.io.iov = nullptr;
  task.io.iovcnt = 0;
  task.io.offset = 0;
  task.io.length = 0;
  submit_io(task, *lun, kFlushDone);
}

}  // namespace sharedisk::scsi
