#include "raw_iscsi.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "util/crc32c.h"

namespace sharedisk::test_support {

using Clock = std::chrono::steady_clock;

namespace {

size_t pad4(size_t n) {
  return (4 - n % 4) % 4;
}

// Digests go on the wire least significant byte first (RFC 7143 §13.1).
void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void append_digest(std::string* wire, const void* data, size_t length, bool corrupt) {
  uint8_t d[4];
  store_le32(d, util::crc32c(data, length) ^ (corrupt ? 1u : 0u));
  wire->append(reinterpret_cast<const char*>(d), 4);
}

}  // namespace

uint32_t load_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

void store_be24(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 16);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v);
}

RawIscsiConnection::~RawIscsiConnection() {
  close();
}

bool RawIscsiConnection::connect(int port) {
  close();
  digests = {};
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
  return true;
}

void RawIscsiConnection::set_receive_timeout(std::chrono::milliseconds timeout) {
  timeval tv{time_t(timeout.count() / 1000), suseconds_t(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void RawIscsiConnection::set_send_timeout(std::chrono::milliseconds timeout) {
  timeval tv{time_t(timeout.count() / 1000), suseconds_t(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void RawIscsiConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawIscsiConnection::reset() {
  if (fd_ < 0) return;
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close();
}

bool RawIscsiConnection::send_all(const void* data, size_t length) {
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

bool RawIscsiConnection::send_pdu(const uint8_t* bhs, const std::string& data,
                                  bool corrupt_header_digest, bool corrupt_data_digest) {
  std::string wire(reinterpret_cast<const char*>(bhs), kBhsBytes);
  if (digests.header) append_digest(&wire, bhs, kBhsBytes, corrupt_header_digest);
  if (!data.empty()) {
    std::string padded = data + std::string(pad4(data.size()), '\0');
    wire += padded;
    if (digests.data) append_digest(&wire, padded.data(), padded.size(), corrupt_data_digest);
  }
  return send_all(wire.data(), wire.size());
}

RawIscsiConnection::Got RawIscsiConnection::read_exact(uint8_t* out, size_t length,
                                                       Clock::time_point deadline) {
  size_t done = 0;
  while (done < length) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Got::kTimeout;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, int(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd_, out + done, length - done, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return Got::kClosed;
    if (n > 0) done += size_t(n);
  }
  return Got::kPdu;
}

RawIscsiConnection::Got RawIscsiConnection::receive(Pdu* out, Clock::time_point deadline,
                                                    std::string* error) {
  if (fd_ < 0) return Got::kClosed;
  uint8_t digest[4];
  Got got = read_exact(out->bhs.data(), kBhsBytes, deadline);
  if (got != Got::kPdu) return got;
  if (digests.header) {
    if ((got = read_exact(digest, 4, deadline)) != Got::kPdu) return got;
    if (load_le32(digest) != util::crc32c(out->bhs.data(), kBhsBytes)) {
      if (error) *error = "wrong header digest from the target";
      return Got::kBadDigest;
    }
  }
  size_t ahs = size_t(out->bhs[4]) * 4;
  size_t length = size_t(out->bhs[5]) << 16 | size_t(out->bhs[6]) << 8 | out->bhs[7];
  // The AHS is read and dropped with the data segment; digests cover only the latter.
  std::string buf(ahs + length + pad4(length), '\0');
  if (!buf.empty() &&
      (got = read_exact(reinterpret_cast<uint8_t*>(buf.data()), buf.size(), deadline)) != Got::kPdu)
    return got;
  if (length > 0 && digests.data) {
    if ((got = read_exact(digest, 4, deadline)) != Got::kPdu) return got;
    if (load_le32(digest) != util::crc32c(buf.data() + ahs, buf.size() - ahs)) {
      if (error) *error = "wrong data digest from the target";
      return Got::kBadDigest;
    }
  }
  out->data = buf.substr(ahs, length);
  return Got::kPdu;
}

bool RawIscsiConnection::wait_closed(int timeout_ms) {
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

std::string text_keys(const TextKeys& kv) {
  std::string s;
  for (const auto& [k, v] : kv) {
    s += k;
    s += '=';
    s += v;
    s += '\0';
  }
  return s;
}

BhsBytes login_request(const LoginHeader& h, size_t data_length) {
  BhsBytes b{};
  b[0] = 0x40 | 0x03;  // immediate Login Request
  b[1] = uint8_t((h.transit ? 0x80 : 0) | h.csg << 2 | (h.transit ? h.nsg : 0));
  store_be24(&b[5], uint32_t(data_length));
  for (int i = 0; i < 6; ++i) b[8 + i] = uint8_t(h.isid >> (40 - 8 * i));
  store_be32(&b[16], h.itt);
  b[20] = uint8_t(h.cid >> 8);
  b[21] = uint8_t(h.cid);
  store_be32(&b[24], h.cmdsn);
  store_be32(&b[28], h.exp_statsn);
  return b;
}

uint16_t login_status(const Pdu& response) {
  return uint16_t(response.bhs[36] << 8 | response.bhs[37]);
}

bool login_stage(RawIscsiConnection& conn, LoginHeader* header, const std::string& keys,
                 std::chrono::milliseconds timeout, int max_requests, Pdu* last) {
  std::string data = keys;
  for (int request = 0; request < max_requests; ++request) {
    BhsBytes b = login_request(*header, data.size());
    if (!conn.send_pdu(b.data(), data)) return false;
    if (conn.receive(last, timeout) != RawIscsiConnection::Got::kPdu) return false;
    if (last->opcode() != 0x23 || last->bhs[36] != 0) return true;  // not a success
    header->exp_statsn = last->u32(24) + 1;
    bool transit = last->bhs[1] & 0x80;
    if (transit && (last->bhs[1] & 3) == header->nsg) return true;
    data.clear();
  }
  return true;
}

}  // namespace sharedisk::test_support
