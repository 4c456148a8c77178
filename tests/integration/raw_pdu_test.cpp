// Hand-built PDUs on a raw socket, for what libiscsi cannot be made to do:
// NOP-In keepalive (RFC 7143 §11.18-19: the target pings an idle initiator
// every nop_interval seconds and drops the connection when a ping stays
// unanswered for nop_timeout seconds; answering keeps it up), the CmdSN window
// granted at login (queue_depth), and Reject for malformed PDUs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "itest_support.h"

namespace sharedisk::itest {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kIqn = "iqn.2024-01.test.sharedisk:nop";

std::string nop_yaml() {
  return preamble() +
         "iscsi:\n"
         "  queue_depth: 16\n"
         "  nop_interval: 1\n"
         "  nop_timeout: 2\n"
         "targets:\n"
         "  - iqn: iqn.2024-01.test.sharedisk:nop\n"
         "    luns:\n"
         "      - number: 1\n"
         "        type: memory\n"
         "        size: 1M\n";
}

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
void put32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

struct Pdu {
  std::array<uint8_t, 48> bhs{};
  std::string data;
  uint8_t opcode() const { return bhs[0] & 0x3f; }
};

class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(uint16_t(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }

  bool send(const Pdu& pdu) {
    std::string wire(reinterpret_cast<const char*>(pdu.bhs.data()), 48);
    wire += pdu.data;
    wire.append((4 - pdu.data.size() % 4) % 4, '\0');
    return ::send(fd_, wire.data(), wire.size(), MSG_NOSIGNAL) == ssize_t(wire.size());
  }

  enum class Got { kPdu, kClosed, kTimeout };
  Got receive(Pdu* pdu, Clock::time_point deadline) {
    uint8_t* bhs = pdu->bhs.data();
    Got g = read_exact(bhs, 48, deadline);
    if (g != Got::kPdu) return g;
    uint32_t length = uint32_t(bhs[5]) << 16 | uint32_t(bhs[6]) << 8 | bhs[7];
    uint32_t padded = (length + 3) & ~3u;
    std::string data(padded + bhs[4] * 4u, '\0');
    if (!data.empty()) {
      g = read_exact(reinterpret_cast<uint8_t*>(data.data()), data.size(), deadline);
      if (g != Got::kPdu) return g;
    }
    pdu->data = data.substr(bhs[4] * 4u, length);
    return Got::kPdu;
  }

 private:
  Got read_exact(uint8_t* out, size_t n, Clock::time_point deadline) {
    size_t done = 0;
    while (done < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Got::kTimeout;
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, int(left.count())) <= 0) continue;
      ssize_t r = ::recv(fd_, out + done, n - done, 0);
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) return Got::kClosed;
      if (r > 0) done += size_t(r);
    }
    return Got::kPdu;
  }

  int fd_ = -1;
  bool connected_ = false;
};

std::string keys(std::initializer_list<std::pair<const char*, const char*>> kv) {
  std::string s;
  for (const auto& [k, v] : kv) {
    s += k;
    s += '=';
    s += v;
    s += '\0';
  }
  return s;
}

// One Login Request from the operational stage straight to full feature.
// Returns the StatSN the target answered with.
void login(RawConnection& c, uint32_t* statsn, uint32_t* exp_cmdsn) {
  Pdu req;
  req.bhs[0] = 0x40 | 0x03;
  req.bhs[1] = 0x80 | (1 << 2) | 3;  // T, CSG=1, NSG=3
  req.data = keys({{"InitiatorName", "iqn.2024-01.test.sharedisk:raw"},
                   {"TargetName", kIqn},
                   {"SessionType", "Normal"},
                   {"HeaderDigest", "None"},
                   {"DataDigest", "None"},
                   {"MaxRecvDataSegmentLength", "8192"}});
  req.bhs[5] = uint8_t(req.data.size() >> 16);
  req.bhs[6] = uint8_t(req.data.size() >> 8);
  req.bhs[7] = uint8_t(req.data.size());
  req.bhs[8] = 0x80;  // ISID type "random"
  req.bhs[13] = 0x42;
  put32(&req.bhs[16], 1);  // ITT
  req.bhs[21] = 1;         // CID
  put32(&req.bhs[24], 1);  // CmdSN
  ASSERT_TRUE(c.send(req));
  Pdu resp;
  ASSERT_EQ(c.receive(&resp, Clock::now() + 10s), RawConnection::Got::kPdu);
  ASSERT_EQ(resp.opcode(), 0x23);
  ASSERT_EQ(resp.bhs[36], 0) << "login status class";
  ASSERT_EQ(resp.bhs[37], 0) << "login status detail";
  ASSERT_EQ(resp.bhs[1] & 0x83, 0x83) << "T bit and NSG=3 (full feature)";
  *statsn = be32(&resp.bhs[24]);
  *exp_cmdsn = be32(&resp.bhs[28]);
  EXPECT_EQ(*exp_cmdsn, 1u) << "the login carried CmdSN 1 as an immediate PDU";
  EXPECT_EQ(be32(&resp.bhs[32]) - *exp_cmdsn + 1, 16u) << "MaxCmdSN: a window of queue_depth";
}

class RawPduTest : public ::testing::Test {
 protected:
  void SetUp() override { START_DAEMON(daemon_); }
  TempDir dir_;
  Daemon daemon_{dir_, nop_yaml()};
};

TEST_F(RawPduTest, SilentInitiatorIsDropped) {
  RawConnection c(daemon_.port());
  ASSERT_TRUE(c.connected());
  uint32_t statsn = 0, cmdsn = 0;
  login(c, &statsn, &cmdsn);
  if (HasFatalFailure()) return;
  auto start = Clock::now();
  int pings = 0;
  RawConnection::Got got;
  Pdu pdu;
  while ((got = c.receive(&pdu, start + 15s)) == RawConnection::Got::kPdu) {
    if (pdu.opcode() == 0x20) {
      ++pings;
      EXPECT_EQ(be32(&pdu.bhs[16]), 0xffffffffu) << "a ping carries the reserved ITT";
      EXPECT_NE(be32(&pdu.bhs[20]), 0xffffffffu) << "and a TTT that asks for an answer";
    }
  }
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(got, RawConnection::Got::kClosed) << "still open after 15 s\n" << daemon_.output();
  EXPECT_GE(pings, 1);
  EXPECT_GE(elapsed, 2s) << "dropped before a ping could time out";
  EXPECT_LE(elapsed, 8s) << "nop_interval 1 + nop_timeout 2 (+ timer granularity)";
  EXPECT_TRUE(daemon_.running());
}

TEST_F(RawPduTest, AnsweringInitiatorStaysConnected) {
  RawConnection c(daemon_.port());
  ASSERT_TRUE(c.connected());
  uint32_t statsn = 0, cmdsn = 0;
  login(c, &statsn, &cmdsn);
  if (HasFatalFailure()) return;
  auto end = Clock::now() + 6s;
  int answered = 0;
  Pdu pdu;
  RawConnection::Got got;
  while ((got = c.receive(&pdu, end)) == RawConnection::Got::kPdu) {
    if (pdu.opcode() != 0x20) continue;
    Pdu out;
    out.bhs[0] = 0x40 | 0x00;  // immediate NOP-Out
    out.bhs[1] = 0x80;
    std::memcpy(&out.bhs[8], &pdu.bhs[8], 8);    // LUN
    put32(&out.bhs[16], 0xffffffff);             // ITT: this is an answer
    std::memcpy(&out.bhs[20], &pdu.bhs[20], 4);  // TTT of the ping
    put32(&out.bhs[24], be32(&pdu.bhs[28]));     // CmdSN = ExpCmdSN
    put32(&out.bhs[28], be32(&pdu.bhs[24]));     // ExpStatSN
    ASSERT_TRUE(c.send(out));
    ++answered;
  }
  EXPECT_EQ(got, RawConnection::Got::kTimeout) << "the target closed an answering connection\n"
                                               << daemon_.output();
  EXPECT_GE(answered, 3) << "pings every second for 6 s";
}

// A PDU with a target opcode, and one with an opcode nobody defines, are
// answered with a Reject carrying the offending header; the session survives.
TEST_F(RawPduTest, MalformedPdusAreRejected) {
  RawConnection c(daemon_.port());
  ASSERT_TRUE(c.connected());
  uint32_t statsn = 0, cmdsn = 0;
  login(c, &statsn, &cmdsn);
  if (HasFatalFailure()) return;
  struct Case {
    uint8_t opcode;
    uint8_t reason;
  };
  for (Case k : {Case{0x21, 0x04}, Case{0x1c, 0x05}}) {
    SCOPED_TRACE(int(k.opcode));
    Pdu bad;
    bad.bhs[0] = k.opcode;
    bad.bhs[1] = 0x80;
    put32(&bad.bhs[16], 0x1234);
    put32(&bad.bhs[24], cmdsn);
    put32(&bad.bhs[28], statsn + 1);
    ASSERT_TRUE(c.send(bad));
    Pdu reply;
    auto deadline = Clock::now() + 5s;
    RawConnection::Got got;
    while ((got = c.receive(&reply, deadline)) == RawConnection::Got::kPdu &&
           reply.opcode() == 0x20) {
    }
    ASSERT_EQ(got, RawConnection::Got::kPdu);
    EXPECT_EQ(reply.opcode(), 0x3f) << "Reject";
    EXPECT_EQ(reply.bhs[2], k.reason);
    ASSERT_EQ(reply.data.size(), 48u) << "the rejected header comes back";
    EXPECT_EQ(uint8_t(reply.data[0]) & 0x3f, k.opcode);
    EXPECT_EQ(be32(reinterpret_cast<const uint8_t*>(reply.data.data()) + 16), 0x1234u);
  }
  // Still in full feature phase: a NOP-Out ping is answered.
  Pdu ping;
  ping.bhs[0] = 0x40;
  ping.bhs[1] = 0x80;
  put32(&ping.bhs[16], 0x77);
  put32(&ping.bhs[20], 0xffffffff);
  put32(&ping.bhs[24], cmdsn);
  ASSERT_TRUE(c.send(ping));
  Pdu reply;
  auto deadline = Clock::now() + 5s;
  bool answered = false;
  while (c.receive(&reply, deadline) == RawConnection::Got::kPdu)
    if (reply.opcode() == 0x20 && be32(&reply.bhs[16]) == 0x77) {
      answered = true;
      break;
    }
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace sharedisk::itest
