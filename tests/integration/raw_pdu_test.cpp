// Hand-built PDUs on a raw socket, for what libiscsi cannot be made to do:
// NOP-In keepalive (RFC 7143 §11.18-19: the target pings an idle initiator
// every nop_interval seconds and drops the connection when a ping stays
// unanswered for nop_timeout seconds; answering keeps it up), the CmdSN window
// granted at login (queue_depth), and Reject for malformed PDUs.
#include <chrono>
#include <cstring>

#include "itest_support.h"
#include "raw_iscsi.h"

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

using test_support::load_be32;
using test_support::Pdu;
using test_support::RawIscsiConnection;
using test_support::store_be32;
using Got = RawIscsiConnection::Got;

// One Login Request from the operational stage straight to full feature.
// Returns the StatSN the target answered with.
void login(RawIscsiConnection& c, uint32_t* statsn, uint32_t* exp_cmdsn) {
  test_support::LoginHeader header{.isid = 0x800000000042ull, .cid = 1};  // ISID type "random"
  std::string keys = test_support::text_keys({{"InitiatorName", "iqn.2024-01.test.sharedisk:raw"},
                                              {"TargetName", kIqn},
                                              {"SessionType", "Normal"},
                                              {"HeaderDigest", "None"},
                                              {"DataDigest", "None"},
                                              {"MaxRecvDataSegmentLength", "8192"}});
  Pdu resp;
  ASSERT_TRUE(test_support::login_stage(c, &header, keys, 10s, 1, &resp));
  ASSERT_EQ(resp.opcode(), 0x23);
  ASSERT_EQ(resp.bhs[36], 0) << "login status class";
  ASSERT_EQ(resp.bhs[37], 0) << "login status detail";
  ASSERT_EQ(resp.bhs[1] & 0x83, 0x83) << "T bit and NSG=3 (full feature)";
  *statsn = load_be32(&resp.bhs[24]);
  *exp_cmdsn = load_be32(&resp.bhs[28]);
  EXPECT_EQ(*exp_cmdsn, 1u) << "the login carried CmdSN 1 as an immediate PDU";
  EXPECT_EQ(load_be32(&resp.bhs[32]) - *exp_cmdsn + 1, 16u) << "MaxCmdSN: a window of queue_depth";
}

class RawPduTest : public ::testing::Test {
 protected:
  void SetUp() override { START_DAEMON(daemon_); }
  TempDir dir_;
  Daemon daemon_{dir_, nop_yaml()};
};

TEST_F(RawPduTest, SilentInitiatorIsDropped) {
  RawIscsiConnection c;
  ASSERT_TRUE(c.connect(daemon_.port()));
  uint32_t statsn = 0, cmdsn = 0;
  login(c, &statsn, &cmdsn);
  if (HasFatalFailure()) return;
  auto start = Clock::now();
  int pings = 0;
  Got got;
  Pdu pdu;
  while ((got = c.receive(&pdu, start + 15s)) == Got::kPdu) {
    if (pdu.opcode() == 0x20) {
      ++pings;
      EXPECT_EQ(load_be32(&pdu.bhs[16]), 0xffffffffu) << "a ping carries the reserved ITT";
      EXPECT_NE(load_be32(&pdu.bhs[20]), 0xffffffffu) << "and a TTT that asks for an answer";
    }
  }
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(got, Got::kClosed) << "still open after 15 s\n" << daemon_.output();
  EXPECT_GE(pings, 1);
  EXPECT_GE(elapsed, 2s) << "dropped before a ping could time out";
  EXPECT_LE(elapsed, 8s) << "nop_interval 1 + nop_timeout 2 (+ timer granularity)";
  EXPECT_TRUE(daemon_.running());
}

TEST_F(RawPduTest, AnsweringInitiatorStaysConnected) {
  RawIscsiConnection c;
  ASSERT_TRUE(c.connect(daemon_.port()));
  uint32_t statsn = 0, cmdsn = 0;
  login(c, &statsn, &cmdsn);
  if (HasFatalFailure()) return;
  auto end = Clock::now() + 6s;
  int answered = 0;
  Pdu pdu;
  Got got;
  while ((got = c.receive(&pdu, end)) == Got::kPdu) {
    if (pdu.opcode() != 0x20) continue;
    Pdu out;
    out.bhs[0] = 0x40 | 0x00;  // immediate NOP-Out
    out.bhs[1] = 0x80;
    std::memcpy(&out.bhs[8], &pdu.bhs[8], 8);           // LUN
    store_be32(&out.bhs[16], 0xffffffff);               // ITT: this is an answer
    std::memcpy(&out.bhs[20], &pdu.bhs[20], 4);         // TTT of the ping
    store_be32(&out.bhs[24], load_be32(&pdu.bhs[28]));  // CmdSN = ExpCmdSN
    store_be32(&out.bhs[28], load_be32(&pdu.bhs[24]));  // ExpStatSN
    ASSERT_TRUE(c.send_pdu(out));
    ++answered;
  }
  EXPECT_EQ(got, Got::kTimeout) << "the target closed an answering connection\n"
                                << daemon_.output();
  EXPECT_GE(answered, 3) << "pings every second for 6 s";
}

// A PDU with a target opcode, and one with an opcode nobody defines, are
// answered with a Reject carrying the offending header; the session survives.
TEST_F(RawPduTest, MalformedPdusAreRejected) {
  RawIscsiConnection c;
  ASSERT_TRUE(c.connect(daemon_.port()));
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
    store_be32(&bad.bhs[16], 0x1234);
    store_be32(&bad.bhs[24], cmdsn);
    store_be32(&bad.bhs[28], statsn + 1);
    ASSERT_TRUE(c.send_pdu(bad));
    Pdu reply;
    auto deadline = Clock::now() + 5s;
    Got got;
    while ((got = c.receive(&reply, deadline)) == Got::kPdu && reply.opcode() == 0x20) {
    }
    ASSERT_EQ(got, Got::kPdu);
    EXPECT_EQ(reply.opcode(), 0x3f) << "Reject";
    EXPECT_EQ(reply.bhs[2], k.reason);
    ASSERT_EQ(reply.data.size(), 48u) << "the rejected header comes back";
    EXPECT_EQ(uint8_t(reply.data[0]) & 0x3f, k.opcode);
    EXPECT_EQ(load_be32(reinterpret_cast<const uint8_t*>(reply.data.data()) + 16), 0x1234u);
  }
  // Still in full feature phase: a NOP-Out ping is answered.
  Pdu ping;
  ping.bhs[0] = 0x40;
  ping.bhs[1] = 0x80;
  store_be32(&ping.bhs[16], 0x77);
  store_be32(&ping.bhs[20], 0xffffffff);
  store_be32(&ping.bhs[24], cmdsn);
  ASSERT_TRUE(c.send_pdu(ping));
  Pdu reply;
  auto deadline = Clock::now() + 5s;
  bool answered = false;
  while (c.receive(&reply, deadline) == Got::kPdu)
    if (reply.opcode() == 0x20 && load_be32(&reply.bhs[16]) == 0x77) {
      answered = true;
      break;
    }
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace sharedisk::itest
