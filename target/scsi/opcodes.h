// The one opcode table: opcode[/service action] -> handler, CDB length, CDB
// usage data, name, flags and timeouts. Dispatch (device.cpp) and REPORT
// SUPPORTED OPERATION CODES (rsoc.cpp) both read it, so they cannot disagree.
#pragma once

#include <cstdint>
#include <span>

#include "scsi/command.h"

namespace sharedisk::scsi {

// What a command does to the medium, for reservation conflicts.
enum class Access : uint8_t {
  kExempt,     // never conflicts (INQUIRY, REPORT LUNS, REQUEST SENSE, PR IN/OUT ...)
  kRead,       // conflicts under exclusive-access reservations of others
  kPrAllowed,  // allowed under every persistent reservation type, conflicts under
               // RESERVE(6/10) of another nexus (TEST UNIT READY: SPC-4 table 44)
  kWrite,      // conflicts under any reservation of others
};

namespace opflag {
constexpr uint8_t kAnyLun = 0x01;  // served for a LUN that does not exist
constexpr uint8_t kNoUa = 0x02;    // neither reports nor clears a unit attention (SPC-4 5.14)
// Served while this gateway's target port group is in standby (SPC-4
// 5.15.2.4.5); every other command fails NOT READY, TARGET PORT IN STANDBY STATE.
constexpr uint8_t kStandbyOk = 0x04;
}  // namespace opflag

struct OpcodeInfo {
  uint8_t opcode;
  bool has_sa;  // service action in CDB byte 1 bits 4..0
  uint8_t sa;
  uint8_t cdb_length;
  uint8_t usage[16];  // CDB USAGE DATA (RSOC): the bits the device server interprets
  const char* name;
  Handler handler;
  uint8_t flags;
  Access access;
  uint32_t nominal_timeout_s;  // RSOC command timeouts descriptor
  uint32_t recommended_timeout_s;
};

std::span<const OpcodeInfo> opcode_table();
// The entry for opcode/sa; null when unsupported. *opcode_known tells whether
// the opcode exists at all (to tell invalid opcode from invalid service action).
const OpcodeInfo* find_opcode(uint8_t opcode, uint8_t sa, bool* opcode_known);
bool opcode_has_sa(uint8_t opcode);

}  // namespace sharedisk::scsi
