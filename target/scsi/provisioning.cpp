// Logical block provisioning (SBC-3 4.7): UNMAP, WRITE SAME 10/16 (UNMAP,
// NDOB) and GET LBA STATUS. Deallocation maps onto blockdev kDiscard /
// kWriteZeroes(unmap), i.e. fallocate punch-hole / BLKDISCARD underneath.
// Every range goes through the WriteGate like any write.
#include <algorithm>
#include <new>

#include "scsi/cdb.h"
#include "scsi/command.h"
#include "scsi/write_gate.h"

namespace sharedisk::scsi {

constexpr uint32_t kMaxUnmapDescriptors = 256;
constexpr uint64_t kMaxUnmapBytes = 64ull << 20;     // per descriptor (VPD B0)
constexpr uint64_t kMaxWriteSameBytes = 1ull << 30;  // VPD B0 MAXIMUM WRITE SAME LENGTH
constexpr uint64_t kWriteSameChunk = 1ull << 20;     // pattern buffer

namespace {

void prepare_range(Task& task, blockdev::IoOp op, uint64_t offset, uint64_t length, bool unmap) {
  task.io.op = op;
  task.io.fua = false;
  task.io.unmap = unmap;
  task.io.iov = nullptr;
  task.io.iovcnt = 0;
  task.io.offset = offset;
  task.io.length = length;
}

// ---- UNMAP: work.next = next descriptor, work.end = descriptor count.
void unmap_next(Task& task, Lun& lun);

void unmap_done(Task& task, Lun& lun, int result) {
  lun.gate().leave(task);
  if (result < 0) return fail_io(task, lun, result, true);
  ++task.work.next;
  unmap_next(task, lun);
}
const Step kUnmapDone{unmap_done};

void unmap_submit(Task& task, Lun& lun) {
  if (!write_gate_enter(lun, task, unmap_submit)) return;
  submit_io(task, lun, kUnmapDone);
}

void unmap_next(Task& task, Lun& lun) {
  const uint8_t* d = task.buffer.data() + 8;
  for (; task.work.next < task.work.end; ++task.work.next) {
    const uint8_t* desc = d + 16 * task.work.next;
    uint64_t lba = get_be64(desc);
    uint32_t n = get_be32(desc + 8);
    if (n == 0) continue;
    unsigned shift = lun.block_shift();
    prepare_range(task, blockdev::IoOp::kDiscard, lba << shift, uint64_t(n) << shift, true);
    return unmap_submit(task, lun);
  }
  task.status = status::kGood;
  complete(task);
}

// ---- WRITE SAME: work.next = next byte offset, work.end = end offset.
void ws_next(Task& task, Lun& lun);

void ws_done(Task& task, Lun& lun, int result) {
  lun.gate().leave(task);
  if (result < 0) return fail_io(task, lun, result, true);
  task.work.next += task.io.length;
  ws_next(task, lun);
}
const Step kWsDone{ws_done};

void ws_submit(Task& task, Lun& lun) {
  if (!write_gate_enter(lun, task, ws_submit)) return;
  submit_io(task, lun, kWsDone);
}

void ws_next(Task& task, Lun& lun) {
  uint64_t off = task.work.next, end = task.work.end;
  if (off >= end) {
    task.status = status::kGood;
    return complete(task);
  }
  uint64_t n = std::min(end - off, kWriteSameChunk);
  prepare_rw(task, blockdev::IoOp::kWrite, aux_of(task), off, n);
  ws_submit(task, lun);
}

}  // namespace

void cmd_unmap(DeviceImpl&, Lun* lun, Task& task) {
  // Write protection first, also on a fully provisioned LUN (ReadOnly.ReadOnlySBC).
  if (lun->read_only()) return fail_write_protected(task, lun);
  if (!lun->thin()) return fail(task, lun, sense_key::kIllegalRequest, asc::kInvalidOpcode);
  if (task.cdb[1] & 0x01) return fail_cdb(task, lun, 1, 0);  // ANCHOR
  uint32_t param_len = get_be16(task.cdb + 7);
  task.transfer_length = param_len;
  if (param_len == 0) {
    task.status = status::kGood;
    return complete(task);
  }
  if (param_len < 8 || data_out_bytes(task) < param_len)
    return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
  const uint8_t* d = task.buffer.data();
  uint32_t bd_len = get_be16(d + 2);
  if (bd_len > param_len - 8) bd_len = (param_len - 8) & ~15u;
  uint32_t count = bd_len / 16;
  if (count > kMaxUnmapDescriptors) return fail_param(task, lun, 2);
  uint64_t max_blocks = kMaxUnmapBytes >> lun->block_shift();
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* desc = d + 8 + 16 * i;
    uint64_t lba = get_be64(desc);
    uint32_t n = get_be32(desc + 8);
    if (!lba_in_range(*lun, lba, n)) return fail_lba(task, lun);
    if (n > max_blocks) return fail_param(task, lun, static_cast<uint16_t>(8 + 16 * i + 8));
  }
  task.work.next = 0;
  task.work.end = count;
  unmap_next(task, *lun);
}

void cmd_write_same(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  bool sixteen = cdb[0] == 0x93;
  if (cdb[1] & 0xE0) return fail_cdb(task, lun, 1, 7);  // WRPROTECT
  if (cdb[1] & 0x10) return fail_cdb(task, lun, 1, 4);  // ANCHOR
  bool unmap = cdb[1] & 0x08;
  // UNMAP needs LBPWS/LBPWS10, i.e. a thin LUN (SBC-3 5.42); a write-protected
  // LUN says so first (libiscsi ReadOnly.ReadOnlySBC).
  if (unmap && !lun->thin() && !lun->read_only()) return fail_cdb(task, lun, 1, 3);
  bool ndob = sixteen && (cdb[1] & 0x01);
  if (!sixteen && (cdb[1] & 0x01)) return fail_cdb(task, lun, 1, 0);
  uint64_t lba;
  uint32_t blocks;
  decode_lba_blocks(cdb, &lba, &blocks);
  if (!lba_in_range(*lun, lba, blocks) || lba >= lun->num_blocks()) return fail_lba(task, lun);
  uint16_t len_byte = sixteen ? 10 : 7;
  unsigned shift = lun->block_shift();
  // WSNZ=0: 0 blocks means from the LBA to the last block (SBC-3 5.44).
  uint64_t count = blocks != 0 ? blocks : lun->num_blocks() - lba;
  uint64_t bytes = count << shift;
  if (bytes > kMaxWriteSameBytes) return fail_cdb(task, lun, len_byte);
  if (lun->read_only()) return fail_write_protected(task, lun);
  uint32_t bs = lun->block_size();
  task.transfer_length = ndob ? 0 : bs;
  bool zero = true;
  if (!ndob) {
    if (data_out_bytes(task) != bs || task.expected_length != bs)
      return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
    const uint8_t* p = task.buffer.data();
    zero = std::all_of(p, p + bs, [](uint8_t b) { return b == 0; });
  } else if (task.expected_length != 0) {
    return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
  }
  // UNMAP=1 is an unmap operation on every LBA whatever the pattern (SBC-3
  // 4.7.3.4; libiscsi WriteSame*.UnmapUntilEnd sends 0xFF and expects zeroes
  // back under LBPRZ).
  if (unmap) zero = true;
  if (zero) {
    // One request: zeroes, deallocated when UNMAP asks and the LUN is thin.
    prepare_range(task, blockdev::IoOp::kWriteZeroes, lba << shift, bytes, unmap && lun->thin());
    task.work.next = lba << shift;
    task.work.end = task.work.next + bytes;
    return ws_submit(task, *lun);
  }
  task.work.next = lba << shift;
  task.work.end = task.work.next + bytes;
  if (lun->info().supports_write_same) {
    // One request: the store repeats the block (an RBD image: each object
    // gets one WRITESAME op carrying the block, not the expanded data).
    prepare_rw(task, blockdev::IoOp::kWriteSame, task.buffer.data(), lba << shift, bytes);
    task.iov[0].iov_len = bs;
    return ws_submit(task, *lun);
  }
  uint64_t chunk = std::min(bytes, kWriteSameChunk);
  uint8_t* buf = aux_buffer(task, chunk);
  if (buf == nullptr)
    return fail(task, lun, sense_key::kHardwareError, asc::kInternalTargetFailure);
  for (uint64_t off = 0; off < chunk; off += bs) std::memcpy(buf + off, task.buffer.data(), bs);
  ws_next(task, *lun);
}

// GET LBA STATUS (SBC-3 5.6). A store with an allocation map (an RBD image)
// answers kAllocationMap: at most as many runs as the allocation length has
// room for descriptors, over the span the store bounds. Otherwise, with LBPRZ
// a block reads back as zeroes exactly when it may be deallocated, so a
// bounded window from the LBA is read and split into runs of mapped
// (non-zero) and deallocated (zero) blocks. Either way the descriptors may
// end before the last LBA, as SBC-3 allows.
namespace {
constexpr uint64_t kLbaStatusWindow = 1ull << 20;
constexpr uint32_t kMaxLbaStatusDescriptors = 64;

void map_status_done(Task& task, Lun& lun, int result) {
  if (result < 0) return fail_io(task, lun, result, false);
  const auto* map = reinterpret_cast<const blockdev::AllocationMap*>(aux_of(task));
  unsigned shift = lun.block_shift();
  uint8_t d[8 + 16 * kMaxLbaStatusDescriptors] = {};
  uint32_t len = 8;
  for (uint32_t i = 0; i < map->runs && i < kMaxLbaStatusDescriptors; ++i, len += 16) {
    put_be64(d + len, map->run[i].offset >> shift);
    put_be32(d + len + 8, static_cast<uint32_t>(map->run[i].length >> shift));
    d[len + 12] = map->run[i].mapped ? 0 : 1;
  }
  put_be32(d, len - 4);
  send_data_in(task, d, len, get_be32(task.cdb + 10));
}
const Step kMapStatus{map_status_done};

void lba_status_done(Task& task, Lun& lun, int result) {
  if (result < 0) return fail_io(task, lun, result, false);
  const uint8_t* media = aux_of(task);
  uint32_t bs = lun.block_size();
  uint64_t blocks = task.io.length >> lun.block_shift();
  uint64_t lba = task.io.offset >> lun.block_shift();
  uint8_t d[8 + 16 * kMaxLbaStatusDescriptors] = {};
  uint32_t len = 8;
  uint64_t start = 0;
  int state = -1;
  auto emit = [&](uint64_t end) {
    if (state < 0 || len + 16 > sizeof d) return;
    put_be64(d + len, lba + start);
    put_be32(d + len + 8, static_cast<uint32_t>(end - start));
    d[len + 12] = static_cast<uint8_t>(state);
    len += 16;
  };
  for (uint64_t b = 0; b < blocks; ++b) {
    const uint8_t* p = media + b * bs;
    int s = std::all_of(p, p + bs, [](uint8_t x) { return x == 0; }) ? 1 : 0;
    if (s != state) {
      emit(b);
      if (len + 16 > sizeof d) break;
      state = s;
      start = b;
    }
  }
  emit(blocks);
  put_be32(d, len - 4);
  send_data_in(task, d, len, get_be32(task.cdb + 10));
}
const Step kLbaStatus{lba_status_done};
}  // namespace

void cmd_get_lba_status(DeviceImpl&, Lun* lun, Task& task) {
  uint64_t lba = get_be64(task.cdb + 2);
  uint32_t alloc = get_be32(task.cdb + 10);
  if (lba >= lun->num_blocks()) return fail_lba(task, lun);
  uint64_t remaining = lun->num_blocks() - lba;
  if (!lun->thin() || !lun->info().discard_zeroes) {
    uint8_t d[24] = {};
    put_be32(d, 20);
    put_be64(d + 8, lba);
    put_be32(d + 16, static_cast<uint32_t>(std::min<uint64_t>(remaining, 0xFFFFFFFFu)));
    return send_data_in(task, d, 24, alloc);
  }
  unsigned shift = lun->block_shift();
  if (lun->info().supports_allocation_map) {
    static_assert(blockdev::AllocationMap::kMaxRuns >= kMaxLbaStatusDescriptors);
    uint8_t* buf = aux_buffer(task, sizeof(blockdev::AllocationMap));
    if (buf == nullptr)
      return fail(task, lun, sense_key::kHardwareError, asc::kInternalTargetFailure);
    auto* map = new (buf) blockdev::AllocationMap;
    map->block_size = lun->block_size();
    map->max_runs =
        std::clamp<uint32_t>(alloc < 8 ? 1 : (alloc - 8) / 16, 1, kMaxLbaStatusDescriptors);
    // To the last LBA: the store bounds the span it examines.
    prepare_rw(task, blockdev::IoOp::kAllocationMap, buf, lba << shift, remaining << shift);
    task.iov[0].iov_len = sizeof(blockdev::AllocationMap);
    return submit_io(task, *lun, kMapStatus);
  }
  uint64_t n = std::min(remaining << shift, kLbaStatusWindow);
  uint8_t* buf = aux_buffer(task, n);
  if (buf == nullptr)
    return fail(task, lun, sense_key::kHardwareError, asc::kInternalTargetFailure);
  prepare_rw(task, blockdev::IoOp::kRead, buf, lba << shift, n);
  submit_io(task, *lun, kLbaStatus);
}

}  // namespace sharedisk::scsi
