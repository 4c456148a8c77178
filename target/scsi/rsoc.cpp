// REPORT SUPPORTED OPERATION CODES and REPORT SUPPORTED TASK MANAGEMENT
// FUNCTIONS (SPC-4 6.35, 6.36). RSOC is generated from the opcode table.
#include "scsi/cdb.h"
#include "scsi/command.h"
#include "scsi/opcodes.h"

namespace sharedisk::scsi {

namespace {

uint32_t put_timeouts(uint8_t* p, const OpcodeInfo& op) {
  put_be16(p, 0x0A);
  put_be32(p + 4, op.nominal_timeout_s);
  put_be32(p + 8, op.recommended_timeout_s);
  return 12;
}

}  // namespace

void cmd_report_supported_opcodes(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  bool rctd = cdb[2] & 0x80;
  uint8_t options = cdb[2] & 0x07;
  uint8_t req_op = cdb[3];
  uint16_t req_sa = get_be16(cdb + 4);
  uint32_t alloc = get_be32(cdb + 6);
  uint8_t d[4096] = {};
  uint32_t len = 0;

  if (options == 0) {
    len = 4;
    for (const auto& op : opcode_table()) {
      uint8_t* p = d + len;
      p[0] = op.opcode;
      put_be16(p + 2, op.has_sa ? op.sa : 0);
      p[5] = (rctd ? 0x02 : 0) | (op.has_sa ? 0x01 : 0);
      put_be16(p + 6, op.cdb_length);
      len += 8;
      if (rctd) len += put_timeouts(d + len, op);
    }
    put_be32(d, len - 4);
  } else if (options <= 3) {
    bool has_sa = opcode_has_sa(req_op);
    if (options == 1 && has_sa) return fail_cdb(task, lun, 2, 2);
    if (options == 2 && !has_sa) {
      bool known = false;
      find_opcode(req_op, 0, &known);
      if (known) return fail_cdb(task, lun, 2, 2);
    }
    bool use_sa = options == 2 || (options == 3 && has_sa);
    if (req_sa > 0x1F && use_sa) return fail_cdb(task, lun, 4);
    bool known = false;
    const OpcodeInfo* op = find_opcode(req_op, use_sa ? static_cast<uint8_t>(req_sa) : 0, &known);
    if (op != nullptr && op->has_sa != use_sa) op = nullptr;
    if (op == nullptr) {
      d[1] = 0x01;  // SUPPORT: not supported
      len = 4;
    } else {
      d[1] = (rctd ? 0x80 : 0) | 0x03;  // CTDP, SUPPORT: supported as in the standard
      put_be16(d + 2, op->cdb_length);
      std::memcpy(d + 4, op->usage, op->cdb_length);
      len = 4 + op->cdb_length;
      if (rctd) len += put_timeouts(d + len, *op);
    }
  } else {
    return fail_cdb(task, lun, 2, 2);
  }
  send_data_in(task, d, len, alloc);
}

void cmd_report_supported_tmf(DeviceImpl&, Lun*, Task& task) {
  bool reptd = task.cdb[2] & 0x80;
  uint32_t alloc = get_be32(task.cdb + 6);
  uint8_t d[16] = {};
  // ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, QUERY TASK, TARGET RESET.
  d[0] = 0xDE;
  uint32_t len = 4;
  if (reptd) {
    d[3] = 0x0C;
    len = 16;
  }
  send_data_in(task, d, len, alloc);
}

}  // namespace sharedisk::scsi
