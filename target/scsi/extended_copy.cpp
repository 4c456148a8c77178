// EXTENDED COPY (LID1, SPC-4 6.4) and RECEIVE COPY RESULTS (6.18): the copy
// manager copies blocks between LUNs of this target without the data crossing
// the network (VMware VAAI "XCOPY", sg_xcopy, Linux copy offload).
//
// Supported: identification-descriptor target descriptors (E4h) naming one of
// our LUNs by its NAA designator, and block-to-block segment descriptors
// (02h). Each segment is copied in chunks of xcopy::kChunkBytes: a read from
// the source LUN's channel, then a write to the destination LUN that enters
// its WriteGate like any other write (so COMPARE AND WRITE stays atomic).
// Overlapping copies within one LUN run backwards when the destination lies
// above the source, as memmove does.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "scsi/cdb.h"
#include "scsi/command.h"
#include "scsi/copy_manager.h"
#include "scsi/opcodes.h"
#include "scsi/reservations.h"
#include "scsi/write_gate.h"

namespace sharedisk::scsi {

bool reservation_conflict(Lun& lun, const Nexus* nexus, Access access);

namespace xcopy {

bool CopyResults::begin(uint8_t list_id, bool hold) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(list_id);
  if (it != entries_.end() && it->second.status.status == kStatusInProgress) return false;
  Entry& e = entries_[list_id];
  e = Entry{};
  e.hold = hold;
  e.order = next_order_++;
  return true;
}

void CopyResults::finish(uint8_t list_id, const CopyStatus& s) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(list_id);
  if (it == entries_.end()) return;
  if (!it->second.hold) {
    entries_.erase(it);
    return;
  }
  it->second.status = s;
  // Hold at most kMaxConcurrentCopies finished results: drop the oldest.
  while (entries_.size() > kMaxConcurrentCopies) {
    auto oldest = entries_.end();
    for (auto e = entries_.begin(); e != entries_.end(); ++e)
      if (e->second.status.status != kStatusInProgress &&
          (oldest == entries_.end() || e->second.order < oldest->second.order))
        oldest = e;
    if (oldest == entries_.end()) break;
    entries_.erase(oldest);
  }
}

bool CopyResults::lookup(uint8_t list_id, CopyStatus* out) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(list_id);
  if (it == entries_.end()) return false;
  *out = it->second.status;
  return true;
}

}  // namespace xcopy

namespace {

namespace sk = sense_key;
constexpr uint16_t kTooManyTargetDescriptors = 0x2606;
constexpr uint16_t kUnsupportedTargetDescriptorType = 0x2607;
constexpr uint16_t kTooManySegmentDescriptors = 0x2608;
constexpr uint16_t kUnsupportedSegmentDescriptorType = 0x2609;
constexpr uint16_t kCopyTargetDeviceNotReachable = 0x0D02;
constexpr uint16_t kOperationInProgress = 0x0016;
constexpr uint8_t kCopyAborted = 0x0A;

}  // namespace

struct CopySegment {
  Lun* src;
  Lun* dst;
  uint64_t src_offset;  // bytes
  uint64_t dst_offset;
  uint64_t bytes;
  bool backward;
};

struct CopyJob {
  NexusImpl* nexus = nullptr;
  uint8_t list_id = 0;
  bool tracked = false;
  std::vector<CopySegment> segments;
  size_t current = 0;
  uint64_t done = 0;      // bytes of the current segment copied
  uint64_t total = 0;     // bytes copied by the whole command
  uint64_t chunk_at = 0;  // offset within the segment of the chunk in flight
  uint64_t chunk_len = 0;
};

void CopyJobDeleter::operator()(CopyJob* job) const {
  delete job;
}

namespace {

CopyJob* job_of(Task& task) {
  return task.work.copy.get();
}

void finish_job(Task& task, bool ok) {
  std::unique_ptr<CopyJob, CopyJobDeleter> job = std::move(task.work.copy);
  if (job->tracked) {
    xcopy::CopyStatus s;
    s.status = ok ? xcopy::kStatusDone : xcopy::kStatusFailed;
    s.segments_processed = static_cast<uint16_t>(job->current);
    s.bytes = job->total;
    job->nexus->copies.finish(job->list_id, s);
  }
}

// Ends the command with COPY ABORTED; `lun` only chooses the sense format.
void abort_copy(Task& task, const Lun* lun, uint16_t asc_ascq) {
  if (job_of(task) != nullptr) finish_job(task, false);
  fail(task, lun, kCopyAborted, asc_ascq);
}

void copy_next(Task& task);

void copy_write_done(Task& task, Lun& dst, int result) {
  write_gate_leave(dst, task);
  CopyJob& job = *job_of(task);
  if (result < 0) return abort_copy(task, &dst, asc::kNoAdditionalSense);
  job.done += job.chunk_len;
  job.total += job.chunk_len;
  copy_next(task);
}
const Step kCopyWriteDone{copy_write_done};

void write_submit(Task& task, Lun& dst) {
  if (!write_gate_enter(dst, task, write_submit)) return;
  submit_io(task, dst, kCopyWriteDone);
}

void copy_read_done(Task& task, Lun& src, int result) {
  CopyJob& job = *job_of(task);
  if (result < 0) return abort_copy(task, &src, asc::kNoAdditionalSense);
  const CopySegment& s = job.segments[job.current];
  prepare_rw(task, blockdev::IoOp::kWrite, aux_of(task), s.dst_offset + job.chunk_at,
             job.chunk_len);
  write_submit(task, *s.dst);
}
const Step kCopyReadDone{copy_read_done};

void copy_next(Task& task) {
  CopyJob& job = *job_of(task);
  while (job.current < job.segments.size() && job.done >= job.segments[job.current].bytes) {
    ++job.current;
    job.done = 0;
  }
  if (job.current == job.segments.size()) {
    finish_job(task, true);
    task.status = status::kGood;
    return complete(task);
  }
  const CopySegment& s = job.segments[job.current];
  job.chunk_len = std::min<uint64_t>(s.bytes - job.done, xcopy::kChunkBytes);
  job.chunk_at = s.backward ? s.bytes - job.done - job.chunk_len : job.done;
  prepare_rw(task, blockdev::IoOp::kRead, aux_of(task), s.src_offset + job.chunk_at, job.chunk_len);
  submit_io(task, *s.src, kCopyReadDone);
}

// The LUN whose NAA designator an identification descriptor names, or null.
Lun* resolve_target(DeviceImpl& dev, const uint8_t* td) {
  uint8_t code_set = td[4] & 0x0F;
  uint8_t assoc = (td[5] >> 4) & 0x03;
  uint8_t type = td[5] & 0x0F;
  uint8_t len = td[7];
  if (code_set != 0x01 || assoc != 0 || type != 0x03 || len > 20) return nullptr;
  for (Lun* l : dev.all_luns()) {
    const LunOptions& o = l->options();
    uint8_t naa_len = o.naa_length == 8 ? 8 : 16;
    if (len == naa_len && std::memcmp(td + 8, o.naa.data(), len) == 0) return l;
  }
  return nullptr;
}

}  // namespace

void cmd_extended_copy(DeviceImpl& dev, Lun* lun, Task& task) {
  uint32_t param_len = get_be32(task.cdb + 10);
  task.transfer_length = param_len;
  if (param_len == 0) {
    task.status = status::kGood;
    return complete(task);
  }
  if (param_len < 16 || data_out_bytes(task) < param_len)
    return fail(task, lun, sk::kIllegalRequest, asc::kParameterListLengthError);
  const uint8_t* p = task.buffer.data();
  uint8_t list_id = p[0];
  uint8_t usage = (p[1] >> 3) & 0x03;
  uint32_t tdl = get_be16(p + 2);
  uint32_t sdl = get_be32(p + 8);
  uint32_t inline_len = get_be32(p + 12);
  if (uint64_t(16) + tdl + sdl + inline_len > param_len)
    return fail(task, lun, sk::kIllegalRequest, asc::kParameterListLengthError);
  if (uint64_t(tdl) + sdl > xcopy::kMaxDescriptorListLength)
    return fail(task, lun, sk::kIllegalRequest, asc::kParameterListLengthError);
  if (usage == 0x01) return fail_param(task, lun, 1, 4);
  if (inline_len > xcopy::kMaxInlineData) return fail_param(task, lun, 12);

  // Target descriptors: 32 bytes each (64 for the IP types, which we do not
  // serve either).
  std::vector<const uint8_t*> targets;
  for (uint32_t off = 16; off < 16 + tdl;) {
    const uint8_t* td = p + off;
    uint32_t len = (td[0] == 0xEA || td[0] == 0xEB) ? 64 : 32;
    if (off + len > 16 + tdl) return fail_param(task, lun, static_cast<uint16_t>(off));
    if (targets.size() == xcopy::kMaxTargetDescriptors)
      return fail(task, lun, sk::kIllegalRequest, kTooManyTargetDescriptors);
    targets.push_back(td);
    off += len;
  }
  for (const uint8_t* td : targets) {
    uint16_t at = static_cast<uint16_t>(td - p);
    if (td[0] != xcopy::kTargetIdentification)
      return fail(task, lun, sk::kIllegalRequest, kUnsupportedTargetDescriptorType);
    // LU ID TYPE is ignored (SPC-4); NUL is obsolete. Block devices only.
    if ((td[1] & 0x1F) != 0x00) return fail_param(task, lun, at + 1, 4);
  }

  // Segment descriptors: 4-byte header, DESCRIPTOR LENGTH in bytes 2-3.
  std::vector<const uint8_t*> segs;
  const uint32_t seg_start = 16 + tdl;
  for (uint32_t off = seg_start; off < seg_start + sdl;) {
    const uint8_t* sd = p + off;
    if (off + 4 > seg_start + sdl) return fail_param(task, lun, static_cast<uint16_t>(off));
    uint32_t len = 4 + get_be16(sd + 2);
    if (off + len > seg_start + sdl) return fail_param(task, lun, static_cast<uint16_t>(off + 2));
    if (segs.size() == xcopy::kMaxSegmentDescriptors)
      return fail(task, lun, sk::kIllegalRequest, kTooManySegmentDescriptors);
    segs.push_back(sd);
    off += len;
  }
  for (const uint8_t* sd : segs) {
    if (sd[0] != xcopy::kSegmentBlockToBlock)
      return fail(task, lun, sk::kIllegalRequest, kUnsupportedSegmentDescriptorType);
    if (get_be16(sd + 2) != 0x18) return fail_param(task, lun, static_cast<uint16_t>(sd - p + 2));
  }

  // Resolve and check every segment before the first byte moves.
  auto job = std::make_unique<CopyJob>();
  uint64_t max_bytes = 0;
  for (const uint8_t* sd : segs) {
    uint16_t si = get_be16(sd + 4), di = get_be16(sd + 6);
    if (si >= targets.size() || di >= targets.size())
      return fail(task, lun, kCopyAborted, kCopyTargetDeviceNotReachable);
    Lun* src = resolve_target(dev, targets[si]);
    Lun* dst = resolve_target(dev, targets[di]);
    if (src == nullptr || dst == nullptr)
      return fail(task, lun, kCopyAborted, kCopyTargetDeviceNotReachable);
    for (Lun* l : {src, dst}) {
      const uint8_t* td = targets[l == src ? si : di];
      if (get_be24(td + 29) != l->block_size())
        return fail_param(task, lun, static_cast<uint16_t>(td - p + 29));
    }
    bool dc = sd[1] & 0x02;  // NUMBER OF BLOCKS counts destination blocks
    uint64_t blocks = get_be16(sd + 10);
    uint64_t bytes = blocks * (dc ? dst->block_size() : src->block_size());
    uint64_t src_lba = get_be64(sd + 12), dst_lba = get_be64(sd + 20);
    if (bytes % src->block_size() != 0 || bytes % dst->block_size() != 0)
      return fail(task, lun, kCopyAborted, asc::kNoAdditionalSense);
    if (!lba_in_range(*src, src_lba, bytes >> src->block_shift()) ||
        !lba_in_range(*dst, dst_lba, bytes >> dst->block_shift()))
      return fail(task, lun, kCopyAborted, asc::kNoAdditionalSense);
    if (dst->read_only() || (task.nexus != nullptr && task.nexus->read_only()))
      return fail(task, lun, sk::kDataProtect, asc::kWriteProtected);
    if ((!src->reservations().unreserved() &&
         reservation_conflict(*src, task.nexus, Access::kRead)) ||
        (!dst->reservations().unreserved() &&
         reservation_conflict(*dst, task.nexus, Access::kWrite))) {
      task.status = status::kReservationConflict;
      return complete(task);
    }
    CopySegment s{src,   dst,  src_lba << src->block_shift(), dst_lba << dst->block_shift(),
                  bytes, false};
    s.backward = src == dst && s.dst_offset > s.src_offset && s.dst_offset < s.src_offset + bytes;
    if (bytes > 0) job->segments.push_back(s);
    max_bytes = std::max(max_bytes, bytes);
  }

  if (task.nexus != nullptr && usage != 0x03) {
    job->nexus = nexus_impl(task.nexus);
    job->list_id = list_id;
    if (!job->nexus->copies.begin(list_id, usage == 0x00))
      return fail(task, lun, sk::kIllegalRequest, kOperationInProgress);
    job->tracked = true;
  }
  if (aux_buffer(task, std::min<uint64_t>(std::max<uint64_t>(max_bytes, 1), xcopy::kChunkBytes)) ==
      nullptr) {
    if (job->tracked) job->nexus->copies.finish(list_id, {xcopy::kStatusFailed, 0, 0});
    return fail(task, lun, sk::kHardwareError, asc::kInternalTargetFailure);
  }
  task.work.copy.reset(job.release());
  copy_next(task);
}

void cmd_receive_copy_results(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  uint8_t sa = cdb[1] & 0x1F;
  uint32_t alloc = get_be32(cdb + 10);
  uint8_t d[64] = {};
  if (sa == 0x00) {  // COPY STATUS
    xcopy::CopyStatus s;
    if (task.nexus == nullptr || !nexus_impl(task.nexus)->copies.lookup(cdb[2], &s))
      return fail_cdb(task, lun, 2);
    put_be32(d, 8);
    d[4] = s.status;
    put_be16(d + 5, s.segments_processed);
    // TRANSFER COUNT in bytes while it fits 32 bits, else in KiB.
    if (s.bytes <= 0xFFFFFFFFu) {
      d[7] = 0x00;
      put_be32(d + 8, static_cast<uint32_t>(s.bytes));
    } else {
      d[7] = 0x01;
      put_be32(d + 8, static_cast<uint32_t>(std::min<uint64_t>(s.bytes >> 10, 0xFFFFFFFFu)));
    }
    return send_data_in(task, d, 12, alloc);
  }
  // OPERATING PARAMETERS (sa 03h; the opcode table admits no other).
  d[4] = 0x00;  // SNLID=0: list identifiers are per I_T nexus
  put_be16(d + 8, xcopy::kMaxTargetDescriptors);
  put_be16(d + 10, xcopy::kMaxSegmentDescriptors);
  put_be32(d + 12, xcopy::kMaxDescriptorListLength);
  put_be32(d + 16, xcopy::kMaxSegmentBytes);
  put_be32(d + 20, xcopy::kMaxInlineData);
  put_be32(d + 24, 0);  // HELD DATA LIMIT
  put_be32(d + 28, 0);  // MAXIMUM STREAM DEVICE TRANSFER SIZE
  put_be16(d + 34, xcopy::kTotalConcurrentCopies);
  d[36] = xcopy::kMaxConcurrentCopies;
  d[37] = static_cast<uint8_t>(lun->block_shift());  // DATA SEGMENT GRANULARITY (log2)
  d[38] = 0;                                         // INLINE DATA GRANULARITY
  d[39] = 0;                                         // HELD DATA GRANULARITY
  d[43] = 2;                                         // implemented descriptor type codes
  d[44] = xcopy::kSegmentBlockToBlock;
  d[45] = xcopy::kTargetIdentification;
  put_be32(d, 46 - 4);
  send_data_in(task, d, 46, alloc);
}

}  // namespace sharedisk::scsi
