// The security tests' layer over the shared raw iSCSI client
// (test_support/raw_iscsi.h): PDUs as the target's own Bhs type, so the
// attack cases can build any header field by name, plus the login that goes
// through the security stage and switches on the digests it negotiated.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "iscsi/pdu.h"
#include "raw_iscsi.h"

namespace sharedisk::sectest {

using iscsi::Bhs;
using test_support::text_keys;

struct Pdu {
  Bhs bhs;
  std::string data;
};

class RawConn : public test_support::RawIscsiConnection {
 public:
  bool send_pdu(const Bhs& bhs, const std::string& data, bool corrupt_header_digest = false,
                bool corrupt_data_digest = false) {
    return RawIscsiConnection::send_pdu(bhs.b.data(), data, corrupt_header_digest,
                                        corrupt_data_digest);
  }
  // One PDU within `timeout_ms`; false on timeout, close or a digest the
  // target got wrong (then *error says which).
  bool recv_pdu(Pdu* out, int timeout_ms, std::string* error = nullptr);
};

std::map<std::string, std::string> parse_keys(const std::string& data);

// A Login Request header.
inline constexpr uint64_t kIsid = 0x23d000001234ull;
Bhs login_request(uint8_t csg, uint8_t nsg, bool transit, uint64_t isid = kIsid, uint32_t itt = 1,
                  uint32_t cmdsn = 1);
uint16_t login_status(const Pdu& response);

struct LoginResult {
  bool answered = false;
  uint16_t status = 0xffff;
  std::map<std::string, std::string> keys;  // of the last response
  uint32_t exp_cmdsn = 0, max_cmdsn = 0, statsn = 0;
};

// A complete login (AuthMethod=None, security -> operational -> full
// feature) with `operational` keys offered in the operational stage.
// Digests the target accepted are switched on in conn.digests.
LoginResult login(RawConn& conn, const std::string& initiator, const std::string& target,
                  const test_support::TextKeys& operational = {});

// A SCSI Command header (ImmediateData carried in `data`).
Bhs scsi_command(uint32_t itt, uint32_t cmdsn, const std::vector<uint8_t>& cdb, uint32_t edtl,
                 bool read, bool write, uint64_t lun = 0x0001000000000000ull);

}  // namespace sharedisk::sectest
