// INQUIRY (SPC-4 6.6): standard data and the VPD pages 00h, 80h, 83h, 86h,
// 8Fh, B0h, B1h, B2h. An unknown LUN answers peripheral qualifier 011b.
#include <algorithm>
#include <string>

#include "scsi/cdb.h"
#include "scsi/command.h"
#include "scsi/copy_manager.h"
#include "util/buffer_pool.h"

namespace sharedisk::scsi {

namespace {

constexpr uint8_t kVpdPages[] = {0x00, 0x80, 0x83, 0x86, 0x8F, 0xB0, 0xB1, 0xB2};

// Copies s into a space-padded field of n bytes.
void put_ascii(uint8_t* p, const std::string& s, size_t n) {
  std::fill(p, p + n, ' ');
  for (size_t i = 0; i < n && i < s.size(); ++i) {
    char c = s[i];
    p[i] = (c >= 0x20 && c <= 0x7E) ? static_cast<uint8_t>(c) : '_';
  }
}

uint32_t standard(const Lun* lun, uint8_t* d) {
  const LunOptions defaults;
  const LunOptions& o = lun ? lun->options() : defaults;
  d[0] = lun ? 0x00 : 0x7F;  // direct access block device; or PQ 011b / type 1Fh
  d[1] = 0x00;               // not removable
  d[2] = 0x06;               // SPC-4
  d[3] = 0x12;               // HISUP, response data format 2
  // TPGS 11b: implicit and explicit ALUA (REPORT / SET TARGET PORT GROUPS);
  // 3PC: EXTENDED COPY.
  d[5] = lun ? (0x30 | 0x08) : 0x00;
  d[6] = 0x00;
  d[7] = 0x02;  // CMDQUE
  put_ascii(d + 8, o.vendor, 8);
  put_ascii(d + 16, o.product, 16);
  put_ascii(d + 32, o.revision, 4);
  // Version descriptors: SAM-5, iSCSI, SPC-4, SBC-3.
  const uint16_t versions[] = {0x00A0, 0x0960, 0x0460, 0x04C0};
  for (size_t i = 0; i < std::size(versions); ++i) put_be16(d + 58 + 2 * i, versions[i]);
  constexpr uint32_t kLen = 96;
  d[4] = kLen - 5;
  return kLen;
}

uint32_t vpd_supported(uint8_t* d) {
  d[3] = sizeof kVpdPages;
  std::copy(std::begin(kVpdPages), std::end(kVpdPages), d + 4);
  return 4 + sizeof kVpdPages;
}

uint32_t vpd_serial(const Lun& lun, uint8_t* d) {
  std::string serial = lun.options().serial;
  if (serial.empty()) serial = "LUN" + std::to_string(lun.number());
  if (serial.size() > 250) serial.resize(250);
  put_ascii(d + 4, serial, serial.size());
  d[3] = static_cast<uint8_t>(serial.size());
  return 4 + static_cast<uint32_t>(serial.size());
}

// Appends one designation descriptor; returns its size.
uint32_t designator(uint8_t* p, uint8_t proto_codeset, uint8_t piv_assoc_type, const uint8_t* id,
                    uint32_t len) {
  p[0] = proto_codeset;
  p[1] = piv_assoc_type;
  p[2] = 0;
  p[3] = static_cast<uint8_t>(len);
  std::copy(id, id + len, p + 4);
  return 4 + len;
}

uint32_t name_string(uint8_t* p, uint8_t piv_assoc_type, const std::string& name) {
  // NUL-terminated, padded with NULs to a multiple of 4 (SPC-4 7.8.6.11).
  uint32_t len = static_cast<uint32_t>(std::min<size_t>(name.size(), 251) + 4) & ~3u;
  uint8_t buf[256] = {};
  std::copy(name.begin(), name.begin() + std::min<size_t>(name.size(), 251), buf);
  return designator(p, 0x53, piv_assoc_type, buf, len);
}

uint32_t vpd_device_id(const DeviceImpl& dev, const Lun& lun, const Nexus* nexus, uint8_t* d) {
  const LunOptions& o = lun.options();
  uint8_t* p = d + 4;
  // Logical unit: NAA (binary) and T10 vendor ID (ASCII).
  uint32_t naa_len = o.naa_length == 8 ? 8 : 16;
  p += designator(p, 0x01, 0x03, o.naa.data(), naa_len);
  uint8_t t10[8 + 16 + 64];
  std::string serial = o.serial.empty() ? "LUN" + std::to_string(lun.number()) : o.serial;
  if (serial.size() > 64) serial.resize(64);
  put_ascii(t10, o.vendor, 8);
  put_ascii(t10 + 8, o.product, 16);
  put_ascii(t10 + 24, serial, serial.size());
  p += designator(p, 0x02, 0x01, t10, static_cast<uint32_t>(24 + serial.size()));
  if (nexus != nullptr) {
    // Target port (association 01b, iSCSI protocol, PIV): relative port, port group, name.
    uint8_t rtp[4] = {0, 0, static_cast<uint8_t>(nexus->relative_target_port() >> 8),
                      static_cast<uint8_t>(nexus->relative_target_port())};
    p += designator(p, 0x51, 0x94, rtp, 4);
    uint8_t tpg[4] = {0, 0, static_cast<uint8_t>(nexus->target_port_group() >> 8),
                      static_cast<uint8_t>(nexus->target_port_group())};
    p += designator(p, 0x51, 0x95, tpg, 4);
    p += name_string(p, 0x98, nexus->target_port());
  }
  // Target device name (association 10b).
  p += name_string(p, 0xA8, dev.target_name());
  uint32_t len = static_cast<uint32_t>(p - d);
  put_be16(d + 2, static_cast<uint16_t>(len - 4));
  return len;
}

uint32_t vpd_extended(uint8_t* d) {
  d[3] = 0x3C;
  d[5] = 0x07;  // HEADSUP, ORDSUP, SIMPSUP
  d[6] = 0x01;  // NV_SUP: SYNCHRONIZE CACHE reaches non-volatile storage
  return 64;
}

// Third-party copy (SPC-4 7.8.17): what the EXTENDED COPY (LID1) copy
// manager supports, from the same limits it enforces.
uint32_t vpd_third_party_copy(const Lun& lun, uint8_t* d) {
  uint8_t* p = d + 4;
  auto descriptor = [&](uint16_t type, uint16_t len) {
    put_be16(p, type);
    put_be16(p + 2, len);
    uint8_t* body = p;
    p += 4 + len;
    return body;
  };
  // Supported commands: EXTENDED COPY(LID1); RECEIVE COPY RESULTS 00h, 03h.
  uint8_t* c = descriptor(0x0001, 12);
  const uint8_t cmds[] = {0x83, 1, 0x00, 0x84, 2, 0x00, 0x03};
  c[4] = sizeof cmds;
  std::copy(std::begin(cmds), std::end(cmds), c + 5);
  // Parameter data.
  uint8_t* pd = descriptor(0x0004, 28);
  put_be16(pd + 8, xcopy::kMaxTargetDescriptors);
  put_be16(pd + 10, xcopy::kMaxSegmentDescriptors);
  put_be32(pd + 12, xcopy::kMaxDescriptorListLength);
  put_be32(pd + 16, xcopy::kMaxInlineData);
  // Supported descriptors.
  uint8_t* sd = descriptor(0x0008, 4);
  sd[4] = 2;
  sd[5] = xcopy::kSegmentBlockToBlock;
  sd[6] = xcopy::kTargetIdentification;
  // Supported CSCD descriptor IDs: none.
  descriptor(0x000C, 4);
  // General copy operations.
  uint8_t* g = descriptor(0x8001, 32);
  put_be32(g + 4, xcopy::kTotalConcurrentCopies);
  put_be32(g + 8, xcopy::kMaxConcurrentCopies);
  put_be32(g + 12, xcopy::kMaxSegmentBytes);
  g[16] = static_cast<uint8_t>(lun.block_shift());  // DATA SEGMENT GRANULARITY (log2)
  g[17] = 0;                                        // INLINE DATA GRANULARITY
  uint32_t len = static_cast<uint32_t>(p - d);
  put_be16(d + 2, static_cast<uint16_t>(len - 4));
  return len;
}

uint32_t vpd_block_limits(const Lun& lun, uint8_t* d) {
  d[3] = 0x3C;
  uint32_t bs = lun.block_size();
  uint32_t max_blocks = static_cast<uint32_t>(util::BufferPool::kMaxBuffer / bs);
  // WSNZ=0: a WRITE SAME of 0 blocks writes up to the last block (within the
  // MAXIMUM WRITE SAME LENGTH below).
  d[5] = 255;  // MAXIMUM COMPARE AND WRITE LENGTH
  put_be16(d + 6, static_cast<uint16_t>(1u << lun.lbppbe()));
  put_be32(d + 8, max_blocks);        // MAXIMUM TRANSFER LENGTH
  put_be32(d + 12, (1u << 20) / bs);  // OPTIMAL TRANSFER LENGTH: 1 MiB
  put_be32(d + 16, max_blocks);       // MAXIMUM PREFETCH LENGTH
  if (lun.thin()) {
    put_be32(d + 20, (64u << 20) / bs);                  // MAXIMUM UNMAP LBA COUNT: 64 MiB
    put_be32(d + 24, 256);                               // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
    put_be32(d + 28, std::max<uint32_t>(1, 4096 / bs));  // OPTIMAL UNMAP GRANULARITY
  }
  put_be64(d + 36, (1ull << 30) / bs);  // MAXIMUM WRITE SAME LENGTH: 1 GiB
  return 64;
}

uint32_t vpd_characteristics(uint8_t* d) {
  d[3] = 0x3C;
  put_be16(d + 4, 1);  // MEDIUM ROTATION RATE: non-rotating medium
  return 64;
}

uint32_t vpd_provisioning(const Lun& lun, uint8_t* d) {
  d[3] = 0x04;
  if (lun.thin()) {
    // LBPU, LBPWS, LBPWS10, LBPRZ when discarded blocks read back as zeroes.
    d[5] = 0xE0 | (lun.info().discard_zeroes ? 0x04 : 0);
    d[6] = 0x02;  // thin provisioned
  }
  return 8;
}

}  // namespace

void cmd_inquiry(DeviceImpl& dev, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  bool evpd = cdb[1] & 0x01;
  uint8_t page = cdb[2];
  uint32_t alloc = get_be16(cdb + 3);
  if (cdb[1] & 0x02) return fail_cdb(task, lun, 1, 1);  // CMDDT (obsolete)
  if (!evpd && page != 0) return fail_cdb(task, lun, 2);
  uint8_t d[1024] = {};
  uint32_t len = 0;
  if (!evpd) {
    len = standard(lun, d);
  } else {
    if (lun == nullptr)
      return fail(task, nullptr, sense_key::kIllegalRequest, asc::kLunNotSupported);
    switch (page) {
      case 0x00:
        len = vpd_supported(d);
        break;
      case 0x80:
        len = vpd_serial(*lun, d);
        break;
      case 0x83:
        len = vpd_device_id(dev, *lun, task.nexus, d);
        break;
      case 0x86:
        len = vpd_extended(d);
        break;
      case 0x8F:
        len = vpd_third_party_copy(*lun, d);
        break;
      case 0xB0:
        len = vpd_block_limits(*lun, d);
        break;
      case 0xB1:
        len = vpd_characteristics(d);
        break;
      case 0xB2:
        len = vpd_provisioning(*lun, d);
        break;
      default:
        return fail_cdb(task, lun, 2);
    }
    d[0] = 0x00;
    d[1] = page;
  }
  send_data_in(task, d, len, alloc);
}

}  // namespace sharedisk::scsi
