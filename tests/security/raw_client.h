// A raw iSCSI client for the security tests: a TCP socket to 127.0.0.1 that
// sends hand-built PDUs (optionally with CRC32C digests, optionally wrong)
// and receives PDUs with a bounded wait, so tests can send what no real
// initiator would and see exactly what the target answers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "iscsi/pdu.h"

namespace sharedisk::sectest {

using iscsi::Bhs;

struct Pdu {
  Bhs bhs;
  std::string data;
};

struct Digests {
  bool header = false;
  bool data = false;
};

class RawConn {
 public:
  RawConn() = default;
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connect(int port);
  void close();
  int fd() const { return fd_; }

  bool send_bytes(const void* data, size_t length);
  // Sends BHS (+ header digest), data, padding (+ data digest). The corrupt
  // flags flip one bit of the respective digest.
  bool send_pdu(const Bhs& bhs, const std::string& data, bool corrupt_header_digest = false,
                bool corrupt_data_digest = false);
  // One PDU within `timeout_ms`; false on timeout, close or a digest the
  // target got wrong (then *error says which).
  bool recv_pdu(Pdu* out, int timeout_ms, std::string* error = nullptr);
  // True when the target closes the connection within `timeout_ms` (data
  // received meanwhile is discarded).
  bool wait_closed(int timeout_ms);

  Digests digests;  // in force (set after a login that negotiated them)

 private:
  bool recv_exact(uint8_t* out, size_t length, int timeout_ms);
  int fd_ = -1;
};

// Text data helpers.
std::string keys(const std::vector<std::pair<std::string, std::string>>& kv);
std::map<std::string, std::string> parse_keys(const std::string& data);

// A Login Request header.
Bhs login_request(uint8_t csg, uint8_t nsg, bool transit, uint64_t isid = 0x23d000001234ull,
                  uint32_t itt = 1, uint32_t cmdsn = 1);
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
                  const std::vector<std::pair<std::string, std::string>>& operational = {});

// A SCSI Command header (ImmediateData carried in `data`).
Bhs scsi_command(uint32_t itt, uint32_t cmdsn, const std::vector<uint8_t>& cdb, uint32_t edtl,
                 bool read, bool write, uint64_t lun = 0x0001000000000000ull);

}  // namespace sharedisk::sectest
