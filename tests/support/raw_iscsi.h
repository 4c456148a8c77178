// A raw iSCSI initiator for tests: one TCP connection to 127.0.0.1 that sends
// hand-built PDUs (48-byte BHS, data segment padded to 4 bytes, optional
// CRC32C header and data digests, optionally wrong) and receives PDUs with a
// bounded wait, so a test can send what no real initiator would and see
// exactly what the target answers. Everything is built from bytes here,
// independent of the target's own PDU code. Each suite keeps its own
// PDU builders (SCSI commands, Data-Out, malformed headers) on top of it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sharedisk::test_support {

// Big-endian fields of a BHS.
uint32_t load_be32(const uint8_t* p);
void store_be32(uint8_t* p, uint32_t v);
void store_be24(uint8_t* p, uint32_t v);  // DataSegmentLength

inline constexpr size_t kBhsBytes = 48;
using BhsBytes = std::array<uint8_t, kBhsBytes>;

struct Pdu {
  BhsBytes bhs{};
  std::string data;  // the data segment, without padding or digest
  uint8_t opcode() const { return bhs[0] & 0x3f; }
  uint32_t u32(size_t at) const { return load_be32(&bhs[at]); }
};

struct Digests {
  bool header = false;
  bool data = false;
};

class RawIscsiConnection {
 public:
  enum class Got { kPdu, kClosed, kTimeout, kBadDigest };

  RawIscsiConnection() = default;
  ~RawIscsiConnection();
  RawIscsiConnection(const RawIscsiConnection&) = delete;
  RawIscsiConnection& operator=(const RawIscsiConnection&) = delete;

  // TCP to 127.0.0.1:`port` (TCP_NODELAY); digests off. False when refused.
  bool connect(int port);
  // SO_RCVTIMEO, for callers that read fd() with plain blocking recv().
  void set_receive_timeout(std::chrono::milliseconds timeout);
  // SO_SNDTIMEO: bounds every blocking send (send_all/send_pdu fail after it).
  void set_send_timeout(std::chrono::milliseconds timeout);
  void close();
  // Abortive close (RST), as a crashed initiator or a cut cable looks.
  void reset();
  int fd() const { return fd_; }

  bool send_all(const void* data, size_t length);
  // BHS (+ header digest), data, padding (+ data digest). The corrupt flags
  // flip one bit of the respective digest.
  bool send_pdu(const uint8_t* bhs, const std::string& data, bool corrupt_header_digest = false,
                bool corrupt_data_digest = false);
  bool send_pdu(const Pdu& pdu) { return send_pdu(pdu.bhs.data(), pdu.data); }
  // One PDU before `deadline`: AHS skipped, padding and digests stripped.
  // kBadDigest when a digest the target sent is wrong (*error says which).
  Got receive(Pdu* out, std::chrono::steady_clock::time_point deadline,
              std::string* error = nullptr);
  Got receive(Pdu* out, std::chrono::milliseconds timeout, std::string* error = nullptr) {
    return receive(out, std::chrono::steady_clock::now() + timeout, error);
  }
  // True when the target closes the connection within `timeout_ms` (data
  // received meanwhile is discarded).
  bool wait_closed(int timeout_ms);

  Digests digests;  // in force (set after a login that negotiated them)

 private:
  Got read_exact(uint8_t* out, size_t length, std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
};

// Text data: key=value pairs, each NUL-terminated.
using TextKeys = std::vector<std::pair<std::string, std::string>>;
std::string text_keys(const TextKeys& kv);

// The fields of a Login Request that tests vary.
struct LoginHeader {
  uint8_t csg = 1;  // 0 security, 1 operational
  uint8_t nsg = 3;  // 3 full feature; sent only with transit
  bool transit = true;
  uint64_t isid = 0;  // low 48 bits
  uint32_t itt = 1;
  uint16_t cid = 0;
  uint32_t cmdsn = 1;
  uint32_t exp_statsn = 0;
};
BhsBytes login_request(const LoginHeader& h, size_t data_length = 0);
// Status-Class << 8 | Status-Detail of a Login Response.
uint16_t login_status(const Pdu& response);

// One login stage: a Login Request from `header` carrying `keys`, then empty
// ones while the target answers status 0 without moving to header->nsg, at
// most `max_requests` in all (one ITT for the whole stage, RFC 7143 §11.12).
// header->exp_statsn follows each response. *last is the last response (the
// caller checks its opcode and status); false when nothing came back within
// `timeout` of a request.
bool login_stage(RawIscsiConnection& conn, LoginHeader* header, const std::string& keys,
                 std::chrono::milliseconds timeout, int max_requests, Pdu* last);

}  // namespace sharedisk::test_support
