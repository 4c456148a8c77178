// The iSCSI wire format (RFC 7143 §11): the 48-byte Basic Header Segment,
// opcodes, flags and field offsets, and pure helpers to read and build them.
// No I/O here: bytes in, fields out (and back), so tests and fuzzers need no
// sockets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "util/big_endian.h"

namespace sharedisk::iscsi {

constexpr size_t kBhsSize = 48;
constexpr uint32_t kReservedTag = 0xffffffff;

namespace op {
// Initiator opcodes.
constexpr uint8_t kNopOut = 0x00;
constexpr uint8_t kScsiCommand = 0x01;
constexpr uint8_t kTaskMgmtRequest = 0x02;
constexpr uint8_t kLoginRequest = 0x03;
constexpr uint8_t kTextRequest = 0x04;
constexpr uint8_t kDataOut = 0x05;
constexpr uint8_t kLogoutRequest = 0x06;
constexpr uint8_t kSnackRequest = 0x10;
// Target opcodes.
constexpr uint8_t kNopIn = 0x20;
constexpr uint8_t kScsiResponse = 0x21;
constexpr uint8_t kTaskMgmtResponse = 0x22;
constexpr uint8_t kLoginResponse = 0x23;
constexpr uint8_t kTextResponse = 0x24;
constexpr uint8_t kDataIn = 0x25;
constexpr uint8_t kLogoutResponse = 0x26;
constexpr uint8_t kR2T = 0x31;
constexpr uint8_t kAsyncMessage = 0x32;
constexpr uint8_t kReject = 0x3f;
}  // namespace op

namespace flag {
constexpr uint8_t kImmediate = 0x40;  // byte 0
constexpr uint8_t kFinal = 0x80;      // byte 1
constexpr uint8_t kContinue = 0x40;   // byte 1, Login/Text
constexpr uint8_t kTransit = 0x80;    // byte 1, Login
constexpr uint8_t kRead = 0x40;       // byte 1, SCSI Command
constexpr uint8_t kWrite = 0x20;      // byte 1, SCSI Command
constexpr uint8_t kAttrMask = 0x07;   // byte 1, SCSI Command
constexpr uint8_t kAck = 0x40;        // byte 1, Data-In
constexpr uint8_t kOverflow = 0x04;   // byte 1, SCSI Response / Data-In
constexpr uint8_t kUnderflow = 0x02;  // byte 1, SCSI Response / Data-In
constexpr uint8_t kStatus = 0x01;     // byte 1, Data-In
}  // namespace flag

namespace reject {
constexpr uint8_t kDataDigestError = 0x02;
constexpr uint8_t kSnackReject = 0x03;
constexpr uint8_t kProtocolError = 0x04;
constexpr uint8_t kCommandNotSupported = 0x05;
constexpr uint8_t kImmediateCommandReject = 0x06;
constexpr uint8_t kTaskInProgress = 0x07;
constexpr uint8_t kInvalidDataAck = 0x08;
constexpr uint8_t kInvalidPduField = 0x09;
constexpr uint8_t kLongOperationReject = 0x0a;
constexpr uint8_t kWaitingForLogout = 0x0c;
}  // namespace reject

// Login Response Status-Class << 8 | Status-Detail (RFC 7143 §11.13.5).
namespace login_status {
constexpr uint16_t kSuccess = 0x0000;
constexpr uint16_t kInitiatorError = 0x0200;
constexpr uint16_t kAuthenticationFailure = 0x0201;
constexpr uint16_t kAuthorizationFailure = 0x0202;
constexpr uint16_t kNotFound = 0x0203;
constexpr uint16_t kUnsupportedVersion = 0x0205;
constexpr uint16_t kTooManyConnections = 0x0206;
constexpr uint16_t kMissingParameter = 0x0207;
constexpr uint16_t kCantIncludeInSession = 0x0208;
constexpr uint16_t kSessionTypeNotSupported = 0x0209;
constexpr uint16_t kSessionDoesNotExist = 0x020a;
constexpr uint16_t kInvalidDuringLogin = 0x020b;
constexpr uint16_t kTargetError = 0x0300;
constexpr uint16_t kServiceUnavailable = 0x0301;
constexpr uint16_t kOutOfResources = 0x0302;
}  // namespace login_status

// Task management function codes and responses (RFC 7143 §11.5, §11.6).
namespace tmf {
constexpr uint8_t kAbortTask = 1;
constexpr uint8_t kAbortTaskSet = 2;
constexpr uint8_t kClearAca = 3;
constexpr uint8_t kClearTaskSet = 4;
constexpr uint8_t kLogicalUnitReset = 5;
constexpr uint8_t kTargetWarmReset = 6;
constexpr uint8_t kTargetColdReset = 7;
constexpr uint8_t kTaskReassign = 8;
constexpr uint8_t kQueryTask = 9;
constexpr uint8_t kQueryTaskSet = 10;
constexpr uint8_t kIQueryAsyncEvent = 11;

constexpr uint8_t kComplete = 0;
constexpr uint8_t kTaskDoesNotExist = 1;
constexpr uint8_t kLunDoesNotExist = 2;
constexpr uint8_t kTaskStillAllegiant = 3;
constexpr uint8_t kReassignNotSupported = 4;
constexpr uint8_t kNotSupported = 5;
constexpr uint8_t kAuthorizationFailed = 6;
constexpr uint8_t kRejected = 255;
// QUERY TASK answers (SAM-5 service responses mapped by RFC 7144).
constexpr uint8_t kFunctionSucceeded = 0;  // task exists ("FUNCTION SUCCEEDED")
}  // namespace tmf

using util::get_be16;
using util::get_be24;
using util::get_be32;
using util::get_be64;
using util::put_be16;
using util::put_be24;
using util::put_be32;
using util::put_be64;

// Serial number arithmetic (RFC 1982, 32 bits) for CmdSN/StatSN comparisons.
inline bool sn_lt(uint32_t a, uint32_t b) {
  return a != b && int32_t(a - b) < 0;
}
inline bool sn_le(uint32_t a, uint32_t b) {
  return a == b || int32_t(a - b) < 0;
}

inline uint32_t pad4(uint32_t n) {
  return (4 - (n & 3)) & 3;
}

// Header and data digests (CRC32C) travel least significant byte first, as
// Linux and libiscsi send them.
inline void store_digest(uint8_t* p, uint32_t crc) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(crc >> (8 * i));
}
inline uint32_t load_digest(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// A Basic Header Segment with named accessors for the fields common to every
// PDU and the ones of each opcode (offsets from RFC 7143 §11).
struct Bhs {
  std::array<uint8_t, kBhsSize> b{};

  uint8_t opcode() const { return b[0] & 0x3f; }
  bool immediate() const { return b[0] & flag::kImmediate; }
  uint8_t flags() const { return b[1]; }
  bool final() const { return b[1] & flag::kFinal; }
  uint32_t ahs_length() const { return uint32_t(b[4]) * 4; }
  uint32_t data_length() const { return get_be24(&b[5]); }
  uint64_t lun() const { return get_be64(&b[8]); }
  uint32_t itt() const { return get_be32(&b[16]); }
  uint32_t field32(size_t offset) const { return get_be32(&b[offset]); }

  // SCSI Command.
  uint32_t expected_length() const { return get_be32(&b[20]); }
  uint32_t cmdsn() const { return get_be32(&b[24]); }
  uint32_t exp_statsn() const { return get_be32(&b[28]); }
  const uint8_t* cdb() const { return &b[32]; }
  // Data-Out / NOP-Out / Text.
  uint32_t ttt() const { return get_be32(&b[20]); }
  uint32_t datasn() const { return get_be32(&b[36]); }
  uint32_t buffer_offset() const { return get_be32(&b[40]); }
  // Login.
  uint8_t csg() const { return (b[1] >> 2) & 3; }
  uint8_t nsg() const { return b[1] & 3; }
  bool transit() const { return b[1] & flag::kTransit; }
  bool cont() const { return b[1] & flag::kContinue; }
  uint64_t isid() const { return get_be64(&b[8]) >> 16; }
  uint16_t tsih() const { return get_be16(&b[14]); }
  uint16_t cid() const { return get_be16(&b[20]); }
  uint8_t version_max() const { return b[2]; }
  uint8_t version_min() const { return b[3]; }
  // Login Response (as sent): Status-Class << 8 | Status-Detail.
  uint16_t login_status_code() const { return get_be16(&b[36]); }

  void set_opcode(uint8_t opcode) { b[0] = opcode; }
  void set_flags(uint8_t f) { b[1] = f; }
  void set_data_length(uint32_t n) { put_be24(&b[5], n); }
  void set_lun(uint64_t lun) { put_be64(&b[8], lun); }
  void set_itt(uint32_t v) { put_be32(&b[16], v); }
  void set32(size_t offset, uint32_t v) { put_be32(&b[offset], v); }
};

// A one-line description of a BHS for trace logs and errors.
std::string describe(const Bhs& bhs);

// Structural validation of a received BHS before anything acts on it:
// returns 0 when acceptable, or a Reject reason code (reject::...).
// `full_feature` tells whether the connection is past login.
uint8_t check_received(const Bhs& bhs, bool full_feature, uint32_t max_recv_data_segment);

}  // namespace sharedisk::iscsi
