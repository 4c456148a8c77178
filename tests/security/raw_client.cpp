#include "raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "iscsi/text_keys.h"
#include "util/crc32c.h"

namespace sharedisk::sectest {

using namespace iscsi;
using Clock = std::chrono::steady_clock;

namespace {
void put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint32_t get_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
}  // namespace

RawConn::~RawConn() {
  close();
}

void RawConn::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConn::connect(int port) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close();
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  digests = {};
  return true;
}

bool RawConn::send_bytes(const void* data, size_t length) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (length > 0) {
    ssize_t n = ::send(fd_, p, length, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    length -= size_t(n);
  }
  return true;
}

bool RawConn::send_pdu(const Bhs& bhs, const std::string& data, bool corrupt_header_digest,
                       bool corrupt_data_digest) {
  std::string wire(reinterpret_cast<const char*>(bhs.b.data()), kBhsSize);
  if (digests.header) {
    uint8_t d[4];
    put_le32(d, util::crc32c(bhs.b.data(), kBhsSize) ^ (corrupt_header_digest ? 1u : 0u));
    wire.append(reinterpret_cast<char*>(d), 4);
  }
  if (!data.empty()) {
    wire += data;
    wire.append(pad4(uint32_t(data.size())), '\0');
    if (digests.data) {
      std::string padded = data + std::string(pad4(uint32_t(data.size())), '\0');
      uint8_t d[4];
      put_le32(d, util::crc32c(padded.data(), padded.size()) ^ (corrupt_data_digest ? 1u : 0u));
      wire.append(reinterpret_cast<char*>(d), 4);
    }
  }
  return send_bytes(wire.data(), wire.size());
}

bool RawConn::recv_exact(uint8_t* out, size_t length, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (length > 0) {
    int left =
        int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) continue;
    ssize_t n = ::recv(fd_, out, length, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    length -= size_t(n);
  }
  return true;
}

bool RawConn::recv_pdu(Pdu* out, int timeout_ms, std::string* error) {
  if (fd_ < 0) return false;
  if (!recv_exact(out->bhs.b.data(), kBhsSize, timeout_ms)) return false;
  if (digests.header) {
    uint8_t d[4];
    if (!recv_exact(d, 4, timeout_ms)) return false;
    if (get_le32(d) != util::crc32c(out->bhs.b.data(), kBhsSize)) {
      if (error) *error = "wrong header digest from the target";
      return false;
    }
  }
  uint32_t ahs = out->bhs.ahs_length();
  std::vector<uint8_t> skip(ahs);
  if (ahs && !recv_exact(skip.data(), ahs, timeout_ms)) return false;
  uint32_t dsl = out->bhs.data_length();
  uint32_t total = dsl + pad4(dsl);
  std::string buf(total, '\0');
  if (total && !recv_exact(reinterpret_cast<uint8_t*>(buf.data()), total, timeout_ms)) return false;
  if (dsl > 0 && digests.data) {
    uint8_t d[4];
    if (!recv_exact(d, 4, timeout_ms)) return false;
    if (get_le32(d) != util::crc32c(buf.data(), buf.size())) {
      if (error) *error = "wrong data digest from the target";
      return false;
    }
  }
  buf.resize(dsl);
  out->data = std::move(buf);
  return true;
}

bool RawConn::wait_closed(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  uint8_t sink[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(fd_, sink, sizeof sink, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
  }
  return false;
}

std::string keys(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string s;
  for (const auto& [k, v] : kv) append_key(s, k, v);
  return s;
}

std::map<std::string, std::string> parse_keys(const std::string& data) {
  std::vector<KeyValue> kv;
  std::string error;
  parse_text(reinterpret_cast<const uint8_t*>(data.data()), data.size(), &kv, &error);
  std::map<std::string, std::string> out;
  for (auto& k : kv) out[k.key] = k.value;
  return out;
}

Bhs login_request(uint8_t csg, uint8_t nsg, bool transit, uint64_t isid, uint32_t itt,
                  uint32_t cmdsn) {
  Bhs h;
  h.b[0] = flag::kImmediate | op::kLoginRequest;
  h.b[1] = uint8_t((transit ? flag::kTransit : 0) | csg << 2 | (transit ? nsg : 0));
  store64(&h.b[8], isid << 16);
  h.set_itt(itt);
  h.set32(24, cmdsn);
  return h;
}

uint16_t login_status(const Pdu& response) {
  return uint16_t(response.bhs.b[36] << 8 | response.bhs.b[37]);
}

LoginResult login(RawConn& conn, const std::string& initiator, const std::string& target,
                  const std::vector<std::pair<std::string, std::string>>& operational) {
  LoginResult r;
  Bhs h = login_request(0, 1, true);
  std::string d = keys({{"InitiatorName", initiator},
                        {"TargetName", target},
                        {"SessionType", "Normal"},
                        {"AuthMethod", "None"}});
  h.set_data_length(uint32_t(d.size()));
  Pdu p;
  if (!conn.send_pdu(h, d) || !conn.recv_pdu(&p, 3000)) return r;
  r.answered = true;
  r.status = login_status(p);
  r.keys = parse_keys(p.data);
  if (r.status != 0) return r;
  h = login_request(1, 3, true);
  h.set32(28, p.bhs.field32(24) + 1);  // ExpStatSN
  std::vector<std::pair<std::string, std::string>> ops = operational;
  d = keys(ops);
  h.set_data_length(uint32_t(d.size()));
  if (!conn.send_pdu(h, d) || !conn.recv_pdu(&p, 3000)) {
    r.answered = false;
    return r;
  }
  r.status = login_status(p);
  r.keys = parse_keys(p.data);
  r.statsn = p.bhs.field32(24);
  r.exp_cmdsn = p.bhs.field32(28);
  r.max_cmdsn = p.bhs.field32(32);
  if (r.status == 0) {
    conn.digests.header = r.keys["HeaderDigest"] == "CRC32C";
    conn.digests.data = r.keys["DataDigest"] == "CRC32C";
  }
  return r;
}

Bhs scsi_command(uint32_t itt, uint32_t cmdsn, const std::vector<uint8_t>& cdb, uint32_t edtl,
                 bool read, bool write, uint64_t lun) {
  Bhs h;
  h.b[0] = op::kScsiCommand;
  h.b[1] = uint8_t(flag::kFinal | (read ? flag::kRead : 0) | (write ? flag::kWrite : 0) | 1);
  h.set_lun(lun);
  h.set_itt(itt);
  h.set32(20, edtl);
  h.set32(24, cmdsn);
  std::memcpy(&h.b[32], cdb.data(), std::min<size_t>(cdb.size(), 16));
  return h;
}

}  // namespace sharedisk::sectest
