// libFuzzer: the PDU codec. Every 48-byte window of the input is a received
// BHS: its fields are decoded, described, and checked by check_received()
// as at login and in full feature phase, with small and large segment limits.
// The check must never accept a data segment above the limit or a Login in
// full feature phase.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "iscsi/pdu.h"

using namespace sharedisk::iscsi;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (size_t off = 0; off + kBhsSize <= size; off += kBhsSize) {
    Bhs h;
    std::memcpy(h.b.data(), data + off, kBhsSize);
    volatile uint64_t sink = h.opcode() + h.flags() + h.ahs_length() + h.data_length() + h.lun() +
                             h.itt() + h.expected_length() + h.cmdsn() + h.exp_statsn() + h.ttt() +
                             h.datasn() + h.buffer_offset() + h.csg() + h.nsg() + h.isid() +
                             h.tsih() + h.cid() + pad4(h.data_length());
    (void)sink;
    if (describe(h).empty()) std::abort();
    for (uint32_t limit : {8192u, 262144u, 16777215u}) {
      for (bool ff : {false, true}) {
        uint8_t reason = check_received(h, ff, limit);
        if (reason == 0 && h.data_length() > limit) std::abort();
        if (reason == 0 && ff && h.opcode() == op::kLoginRequest) std::abort();
        if (reason == 0 && !ff && h.opcode() != op::kLoginRequest) std::abort();
      }
    }
    uint32_t a = get_be32(data + off), b = get_be32(data + off + 4);
    // RFC 1982 leaves a distance of exactly 2^31 undefined.
    if (a - b != 0x80000000u && sn_lt(a, b) && sn_lt(b, a)) std::abort();
    if (sn_lt(a, b) && !sn_le(a, b)) std::abort();
  }
  return 0;
}
