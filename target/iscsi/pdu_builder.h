// Typed builders for every PDU header the target sends (RFC 7143 §11): one
// aggregate of named fields per PDU type, and build() that lays it out in a
// Basic Header Segment. The incoming side reads with Bhs's named getters; the
// outgoing side writes only through these, so no field offset is written by
// hand anywhere else. Inline and allocation-free: Data-In and SCSI Response
// headers are built per I/O.
#pragma once

#include <cstdint>

#include "iscsi/pdu.h"

namespace sharedisk::iscsi::out {

// StatSN, ExpCmdSN and MaxCmdSN: bytes 24-35 of every target PDU.
struct SeqNumbers {
  uint32_t statsn = 0;
  uint32_t exp_cmdsn = 0;
  uint32_t max_cmdsn = 0;
};

// §11.4 SCSI Response.
struct ScsiResponse {
  uint8_t residual_flags = 0;  // flag::kOverflow or flag::kUnderflow
  uint8_t response = 0;        // 0: command completed at target
  uint8_t status = 0;          // SCSI status
  uint32_t data_length = 0;    // sense data segment (SenseLength + sense)
  uint32_t itt = 0;
  SeqNumbers sn;
  uint32_t exp_datasn = 0;
  uint32_t residual = 0;
};

// §11.7 SCSI Data-In. With `status_present` (the S bit) the PDU also carries
// the command's status, StatSN and residual; without it StatSN is reserved
// (zero) and so are they.
struct DataIn {
  bool final = false;
  bool status_present = false;
  uint8_t residual_flags = 0;  // with status_present only
  uint8_t status = 0;          // with status_present only
  uint32_t data_length = 0;
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t ttt = kReservedTag;
  SeqNumbers sn;
  uint32_t datasn = 0;
  uint32_t buffer_offset = 0;
  uint32_t residual = 0;  // with status_present only
};

// §11.8 Ready To Transfer.
struct R2T {
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t ttt = 0;
  SeqNumbers sn;  // StatSN is not advanced by an R2T
  uint32_t r2tsn = 0;
  uint32_t buffer_offset = 0;
  uint32_t desired_length = 0;
};

// §11.19 NOP-In: an answer (ITT of the NOP-Out, TTT reserved) or a ping
// (ITT reserved, a TTT the initiator echoes).
struct NopIn {
  uint32_t data_length = 0;
  uint64_t lun = 0;
  uint32_t itt = kReservedTag;
  uint32_t ttt = kReservedTag;
  SeqNumbers sn;
};

// §11.6 Task Management Function Response.
struct TaskMgmtResponse {
  uint8_t response = tmf::kComplete;
  uint32_t itt = 0;
  SeqNumbers sn;
};

// §11.17 Reject: the data segment is the rejected PDU's header.
struct Reject {
  uint8_t reason = 0;  // reject::...
  uint32_t data_length = kBhsSize;
  SeqNumbers sn;
  uint32_t datasn = 0;  // DataSN/R2TSN, for a rejected SNACK only
};

// §11.15 Logout Response.
struct LogoutResponse {
  uint8_t response = 0;
  uint32_t itt = 0;
  SeqNumbers sn;
  uint16_t time2wait = 0;
  uint16_t time2retain = 0;
};

// §11.11 Text Response.
struct TextResponse {
  bool final = true;
  bool cont = false;  // C: more text follows in the next response
  uint32_t data_length = 0;
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t ttt = kReservedTag;
  SeqNumbers sn;
};

// §11.13 Login Response.
struct LoginResponse {
  bool transit = false;
  bool cont = false;
  uint8_t csg = 0;
  uint8_t nsg = 0;
  uint8_t version_max = 0;
  uint8_t version_active = 0;
  uint32_t data_length = 0;
  uint64_t isid = 0;  // 48 bits
  uint16_t tsih = 0;
  uint32_t itt = 0;
  SeqNumbers sn;
  uint16_t status = login_status::kSuccess;  // Status-Class << 8 | Status-Detail
};

// §11.9 Asynchronous Message.
struct AsyncMessage {
  uint32_t data_length = 0;
  uint64_t lun = 0;
  SeqNumbers sn;
  uint8_t async_event = 0;
  uint8_t async_vcode = 0;
  uint16_t parameter1 = 0;
  uint16_t parameter2 = 0;
  uint16_t parameter3 = 0;
};

namespace detail {
inline void put_sn(Bhs& h, const SeqNumbers& sn) {
  put_be32(&h.b[24], sn.statsn);
  put_be32(&h.b[28], sn.exp_cmdsn);
  put_be32(&h.b[32], sn.max_cmdsn);
}
inline Bhs start(uint8_t opcode, uint8_t flags, uint32_t data_length) {
  Bhs h;
  h.b[0] = opcode;
  h.b[1] = flags;
  put_be24(&h.b[5], data_length);
  return h;
}
}  // namespace detail

inline Bhs build(const ScsiResponse& p) {
  Bhs h = detail::start(op::kScsiResponse, uint8_t(flag::kFinal | p.residual_flags), p.data_length);
  h.b[2] = p.response;
  h.b[3] = p.status;
  put_be32(&h.b[16], p.itt);
  detail::put_sn(h, p.sn);
  put_be32(&h.b[36], p.exp_datasn);
  put_be32(&h.b[44], p.residual);
  return h;
}

inline Bhs build(const DataIn& p) {
  uint8_t flags = p.final ? flag::kFinal : 0;
  if (p.status_present) flags |= uint8_t(flag::kStatus | p.residual_flags);
  Bhs h = detail::start(op::kDataIn, flags, p.data_length);
  if (p.status_present) h.b[3] = p.status;
  put_be64(&h.b[8], p.lun);
  put_be32(&h.b[16], p.itt);
  put_be32(&h.b[20], p.ttt);
  detail::put_sn(h, p.sn);
  if (!p.status_present) put_be32(&h.b[24], 0);  // StatSN reserved without S
  put_be32(&h.b[36], p.datasn);
  put_be32(&h.b[40], p.buffer_offset);
  if (p.status_present) put_be32(&h.b[44], p.residual);
  return h;
}

inline Bhs build(const R2T& p) {
  Bhs h = detail::start(op::kR2T, flag::kFinal, 0);
  put_be64(&h.b[8], p.lun);
  put_be32(&h.b[16], p.itt);
  put_be32(&h.b[20], p.ttt);
  detail::put_sn(h, p.sn);
  put_be32(&h.b[36], p.r2tsn);
  put_be32(&h.b[40], p.buffer_offset);
  put_be32(&h.b[44], p.desired_length);
  return h;
}

inline Bhs build(const NopIn& p) {
  Bhs h = detail::start(op::kNopIn, flag::kFinal, p.data_length);
  put_be64(&h.b[8], p.lun);
  put_be32(&h.b[16], p.itt);
  put_be32(&h.b[20], p.ttt);
  detail::put_sn(h, p.sn);
  return h;
}

inline Bhs build(const TaskMgmtResponse& p) {
  Bhs h = detail::start(op::kTaskMgmtResponse, flag::kFinal, 0);
  h.b[2] = p.response;
  put_be32(&h.b[16], p.itt);
  detail::put_sn(h, p.sn);
  return h;
}

inline Bhs build(const Reject& p) {
  Bhs h = detail::start(op::kReject, flag::kFinal, p.data_length);
  h.b[2] = p.reason;
  put_be32(&h.b[16], kReservedTag);
  detail::put_sn(h, p.sn);
  put_be32(&h.b[36], p.datasn);
  return h;
}

inline Bhs build(const LogoutResponse& p) {
  Bhs h = detail::start(op::kLogoutResponse, flag::kFinal, 0);
  h.b[2] = p.response;
  put_be32(&h.b[16], p.itt);
  detail::put_sn(h, p.sn);
  put_be16(&h.b[40], p.time2wait);
  put_be16(&h.b[42], p.time2retain);
  return h;
}

inline Bhs build(const TextResponse& p) {
  uint8_t flags = uint8_t((p.final ? flag::kFinal : 0) | (p.cont ? flag::kContinue : 0));
  Bhs h = detail::start(op::kTextResponse, flags, p.data_length);
  put_be64(&h.b[8], p.lun);
  put_be32(&h.b[16], p.itt);
  put_be32(&h.b[20], p.ttt);
  detail::put_sn(h, p.sn);
  return h;
}

inline Bhs build(const LoginResponse& p) {
  uint8_t flags = uint8_t((p.transit ? flag::kTransit : 0) | (p.cont ? flag::kContinue : 0) |
                          (p.csg & 3) << 2 | (p.nsg & 3));
  Bhs h = detail::start(op::kLoginResponse, flags, p.data_length);
  h.b[2] = p.version_max;
  h.b[3] = p.version_active;
  put_be64(&h.b[8], p.isid << 16 | p.tsih);  // ISID (6 bytes), then TSIH
  put_be32(&h.b[16], p.itt);
  detail::put_sn(h, p.sn);
  put_be16(&h.b[36], p.status);
  return h;
}

inline Bhs build(const AsyncMessage& p) {
  Bhs h = detail::start(op::kAsyncMessage, flag::kFinal, p.data_length);
  put_be64(&h.b[8], p.lun);
  put_be32(&h.b[16], kReservedTag);
  detail::put_sn(h, p.sn);
  h.b[36] = p.async_event;
  h.b[37] = p.async_vcode;
  put_be16(&h.b[38], p.parameter1);
  put_be16(&h.b[40], p.parameter2);
  put_be16(&h.b[42], p.parameter3);
  return h;
}

}  // namespace sharedisk::iscsi::out
