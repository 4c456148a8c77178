// MODE SENSE (6/10) and MODE SELECT (6/10) (SPC-4 6.11-6.14) with the
// read-write error recovery (01h), caching (08h) and control (0Ah) pages.
// Changeable: WCE (caching; mapped onto the backing store's cache mode),
// D_SENSE (control; descriptor-format sense) and TAS (control; TASK ABORTED
// status for tasks another nexus aborts, on by default as in LIO). Saved
// values are not supported.
#include <algorithm>

#include "scsi/cdb.h"
#include "scsi/command.h"

namespace sharedisk::scsi {

bool lun_cache_write_back(const Lun& lun);

namespace {

constexpr uint8_t kPageErrorRecovery = 0x01;
constexpr uint8_t kPageCaching = 0x08;
constexpr uint8_t kPageControl = 0x0A;
constexpr uint8_t kAllPages = 0x3F;

enum class Pc : uint8_t { kCurrent = 0, kChangeable = 1, kDefault = 2, kSaved = 3 };

// Writes page `code` as the page control asks; returns its length (0: unknown page).
uint32_t build_page(const Lun& lun, uint8_t code, Pc pc, uint8_t* p) {
  switch (code) {
    case kPageErrorRecovery:
      p[0] = code;
      p[1] = 0x0A;
      if (pc != Pc::kChangeable) p[2] = 0x80;  // AWRE
      return 12;
    case kPageCaching: {
      p[0] = code;
      p[1] = 0x12;
      bool wce = pc == Pc::kChangeable || pc == Pc::kDefault || lun_cache_write_back(lun);
      if (wce) p[2] |= 0x04;
      return 20;
    }
    case kPageControl:
      p[0] = code;
      p[1] = 0x0A;
      if (pc == Pc::kChangeable) {
        p[2] = 0x04;  // D_SENSE
        p[5] = 0x40;  // TAS
      } else {
        // TST 001b: a task set per I_T nexus (task attributes, ABORT TASK SET
        // and CLEAR TASK SET act within the nexus); GLTSD: no saved log parameters.
        p[2] = 0x20 | 0x02;
        if (pc == Pc::kCurrent && lun.d_sense()) p[2] |= 0x04;
        p[3] = 0x10;  // QUEUE ALGORITHM MODIFIER: unrestricted reordering
        if (pc == Pc::kDefault || (pc == Pc::kCurrent && lun.tas())) p[5] |= 0x40;  // TAS
        put_be16(p + 8, 0xFFFF);  // BUSY TIMEOUT PERIOD: unlimited
      }
      return 12;
    default:
      return 0;
  }
}

}  // namespace

bool lun_cache_write_back(const Lun& lun) {
  return const_cast<Lun&>(lun).backing().cache_mode() == blockdev::CacheMode::kWriteBack;
}

void cmd_mode_sense(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  bool ten = cdb[0] == 0x5A;
  bool dbd = cdb[1] & 0x08;
  bool llbaa = ten && (cdb[1] & 0x10);
  auto pc = static_cast<Pc>(cdb[2] >> 6);
  uint8_t page = cdb[2] & 0x3F;
  uint8_t subpage = cdb[3];
  uint32_t alloc = ten ? get_be16(cdb + 7) : cdb[4];
  if (pc == Pc::kSaved)
    return fail(task, lun, sense_key::kIllegalRequest, asc::kSavingParametersNotSupported);
  if (subpage != 0 && !(page == kAllPages && subpage == 0xFF)) return fail_cdb(task, lun, 3);

  uint8_t d[256] = {};
  uint32_t hdr = ten ? 8 : 4;
  uint32_t len = hdr;
  uint8_t dsp = 0x10;  // DPOFUA
  if (lun->read_only() || (task.nexus != nullptr && task.nexus->read_only())) dsp |= 0x80;
  if (!dbd) {
    uint64_t blocks = lun->num_blocks();
    if (llbaa) {
      put_be64(d + len, blocks);
      put_be32(d + len + 12, lun->block_size());
      len += 16;
    } else {
      put_be32(d + len, blocks > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(blocks));
      put_be24(d + len + 5, lun->block_size());
      len += 8;
    }
  }
  uint32_t bd_len = len - hdr;
  if (page == kAllPages) {
    for (uint8_t code : {kPageErrorRecovery, kPageCaching, kPageControl})
      len += build_page(*lun, code, pc, d + len);
  } else {
    uint32_t n = build_page(*lun, page, pc, d + len);
    if (n == 0) return fail_cdb(task, lun, 2, 5);
    len += n;
  }
  if (ten) {
    put_be16(d, static_cast<uint16_t>(len - 2));
    d[3] = dsp;
    d[4] = llbaa && !dbd ? 0x01 : 0x00;  // LONGLBA
    put_be16(d + 6, static_cast<uint16_t>(bd_len));
  } else {
    d[0] = static_cast<uint8_t>(len - 1);
    d[2] = dsp;
    d[3] = static_cast<uint8_t>(bd_len);
  }
  send_data_in(task, d, len, alloc);
}

void cmd_mode_select(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  bool ten = cdb[0] == 0x55;
  if (cdb[1] & 0x01) return fail_cdb(task, lun, 1, 0);  // SP: no saved pages
  uint32_t param_len = ten ? get_be16(cdb + 7) : cdb[4];
  task.transfer_length = param_len;
  if (param_len == 0) {
    task.status = status::kGood;
    return complete(task);
  }
  uint32_t hdr = ten ? 8 : 4;
  if (data_out_bytes(task) < param_len || param_len < hdr)
    return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
  const uint8_t* d = task.buffer.data();
  if (d[ten ? 2 : 1] != 0) return fail_param(task, lun, ten ? 2 : 1);  // medium type
  uint32_t bd_len = ten ? get_be16(d + 6) : d[3];
  bool longlba = ten && (d[4] & 0x01);
  uint32_t bd_size = longlba ? 16 : 8;
  if (bd_len != 0 && bd_len != bd_size) return fail_param(task, lun, ten ? 6 : 3);
  if (hdr + bd_len > param_len)
    return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
  if (bd_len != 0) {
    uint32_t off = hdr + (longlba ? 12 : 5);
    uint32_t bl = longlba ? get_be32(d + off) : get_be24(d + off);
    if (bl != lun->block_size()) return fail_param(task, lun, static_cast<uint16_t>(off));
  }

  // Validate every page before applying any.
  bool want_wce = lun_cache_write_back(*lun);
  bool want_dsense = lun->d_sense();
  bool want_tas = lun->tas();
  for (uint32_t off = hdr + bd_len; off < param_len;) {
    if (param_len - off < 2)
      return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
    uint8_t code = d[off] & 0x3F;
    if (d[off] & 0x40) return fail_param(task, lun, static_cast<uint16_t>(off), 6);  // SPF
    uint8_t cur[64] = {}, chg[64] = {};
    uint32_t n = build_page(*lun, code, Pc::kCurrent, cur);
    build_page(*lun, code, Pc::kChangeable, chg);
    if (n == 0) return fail_param(task, lun, static_cast<uint16_t>(off), 5);
    if (d[off + 1] != cur[1]) return fail_param(task, lun, static_cast<uint16_t>(off + 1));
    if (off + n > param_len)
      return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
    for (uint32_t i = 2; i < n; ++i) {
      uint8_t diff = (d[off + i] ^ cur[i]) & ~chg[i];
      if (diff != 0) {
        int bit = 7;
        while (!(diff & (1u << bit))) --bit;
        return fail_param(task, lun, static_cast<uint16_t>(off + i), bit);
      }
    }
    if (code == kPageCaching) want_wce = d[off + 2] & 0x04;
    if (code == kPageControl) {
      want_dsense = d[off + 2] & 0x04;
      want_tas = d[off + 5] & 0x40;
    }
    off += n;
  }

  bool changed = false;
  if (want_wce != lun_cache_write_back(*lun)) {
    lun->backing().set_cache_mode(want_wce ? blockdev::CacheMode::kWriteBack
                                           : blockdev::CacheMode::kWriteThrough);
    changed = true;
  }
  if (want_dsense != lun->d_sense()) {
    lun->set_d_sense(want_dsense);
    changed = true;
  }
  if (want_tas != lun->tas()) {
    lun->set_tas(want_tas);
    changed = true;
  }
  if (changed) lun->ua_add_others(task.nexus, asc::kModeParametersChanged);
  task.status = status::kGood;
  complete(task);
}

}  // namespace sharedisk::scsi
