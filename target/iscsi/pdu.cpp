#include "iscsi/pdu.h"

#include <cstdio>

namespace sharedisk::iscsi {

namespace {
const char* opcode_name(uint8_t opcode) {
  switch (opcode) {
    case op::kNopOut:
      return "NOP-Out";
    case op::kScsiCommand:
      return "SCSI-Command";
    case op::kTaskMgmtRequest:
      return "TMF-Request";
    case op::kLoginRequest:
      return "Login-Request";
    case op::kTextRequest:
      return "Text-Request";
    case op::kDataOut:
      return "Data-Out";
    case op::kLogoutRequest:
      return "Logout-Request";
    case op::kSnackRequest:
      return "SNACK";
    case op::kNopIn:
      return "NOP-In";
    case op::kScsiResponse:
      return "SCSI-Response";
    case op::kTaskMgmtResponse:
      return "TMF-Response";
    case op::kLoginResponse:
      return "Login-Response";
    case op::kTextResponse:
      return "Text-Response";
    case op::kDataIn:
      return "Data-In";
    case op::kLogoutResponse:
      return "Logout-Response";
    case op::kR2T:
      return "R2T";
    case op::kAsyncMessage:
      return "Async-Message";
    case op::kReject:
      return "Reject";
    default:
      return "unknown";
  }
}

bool is_initiator_opcode(uint8_t opcode) {
  switch (opcode) {
    case op::kNopOut:
    case op::kScsiCommand:
    case op::kTaskMgmtRequest:
    case op::kLoginRequest:
    case op::kTextRequest:
    case op::kDataOut:
    case op::kLogoutRequest:
    case op::kSnackRequest:
      return true;
    default:
      return false;
  }
}
}  // namespace

std::string describe(const Bhs& bhs) {
  char text[160];
  std::snprintf(text, sizeof text, "%s(0x%02x) flags=0x%02x itt=0x%08x ahs=%u dsl=%u",
                opcode_name(bhs.opcode()), bhs.opcode(), bhs.flags(), bhs.itt(), bhs.ahs_length(),
                bhs.data_length());
  return text;
}

uint8_t check_received(const Bhs& bhs, bool full_feature, uint32_t max_recv_data_segment) {
  uint8_t opcode = bhs.opcode();
  if (!is_initiator_opcode(opcode)) {
    // A target opcode, or a vendor/reserved one (0x1c-0x1e are vendor specific).
    return (opcode & 0x20) ? reject::kProtocolError : reject::kCommandNotSupported;
  }
  // The length first: during login too (8192 bytes, RFC 7143 §13.12), so no
  // login PDU makes the target buffer more than that.
  if (bhs.data_length() > max_recv_data_segment) return reject::kProtocolError;
  if (!full_feature) return opcode == op::kLoginRequest ? 0 : reject::kProtocolError;
  if (opcode == op::kLoginRequest) return reject::kProtocolError;
  if (opcode == op::kSnackRequest) return reject::kSnackReject;  // ErrorRecoveryLevel 0
  if (opcode == op::kDataOut && bhs.ahs_length() != 0) return reject::kInvalidPduField;
  return 0;
}

}  // namespace sharedisk::iscsi
