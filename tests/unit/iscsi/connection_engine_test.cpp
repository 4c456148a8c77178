// The connection engine (iscsi/connection_engine.h) without sockets, the way
// SPDK's iscsi_ut.c drives its connection: request PDUs in as bytes, answer
// PDUs out as bytes. Behind it a real SCSI device with one LUN on RAM wrapped
// in the fault store (blockdev/fault_device.h), whose `stuck` rule keeps a
// write inside the SCSI layer until the test lets it go. The event loop's
// io_context is run only to deliver completions and cross-session posts.
//
// Covered: NOP-Out echo and the target's NOP-In ping on an idle connection
// (and its timeout), Text SendTargets over several PDUs (continued Text),
// Logout with a command still running, session reinstatement (the new login
// is answered only after the old session's write finished), ABORT TASK, ABORT
// TASK SET, LOGICAL UNIT RESET, a second TMF while the first waits, TASK
// ABORTED status for another session's aborted command (TAS), and the CmdSN
// sequence around RefCmdSN and rejected commands.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "blockdev/fault_device.h"
#include "iscsi/connection_engine.h"
#include "iscsi/text_keys.h"
#include "scsi/device.h"

namespace sharedisk::iscsi {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kTarget = "iqn.2024-01.test.sharedisk:engine";
constexpr const char* kInitiator = "iqn.2024-01.test.sharedisk:host1";
constexpr uint32_t kBlock = 512;

// An answer PDU as it left the engine.
struct Out {
  Bhs bhs;
  std::string data;
  uint8_t opcode() const { return bhs.opcode(); }
  uint32_t statsn() const { return bhs.field32(24); }
  uint32_t exp_cmdsn() const { return bhs.field32(28); }
  uint32_t max_cmdsn() const { return bhs.field32(32); }
  uint8_t response() const { return bhs.b[2]; }  // TMF / Logout response
  uint8_t status() const { return bhs.b[3]; }    // SCSI Response status
};

class TestEngine final : public ConnectionEngine {
 public:
  using ConnectionEngine::ConnectionEngine;

  // Everything queued since the last call, as the transport would write it.
  std::vector<Out> take() {
    std::vector<Out> out;
    while (has_output()) {
      std::vector<uint8_t> bytes;
      start_output([&](const void* p, size_t n) {
        auto* b = static_cast<const uint8_t*>(p);
        bytes.insert(bytes.end(), b, b + n);
      });
      if (output_done()) close_requested = true;
      size_t pos = 0;
      while (pos + kBhsSize <= bytes.size()) {
        Out o;
        std::memcpy(o.bhs.b.data(), &bytes[pos], kBhsSize);
        pos += kBhsSize + o.bhs.ahs_length();
        uint32_t dsl = o.bhs.data_length();
        o.data.assign(reinterpret_cast<const char*>(&bytes[pos]), dsl);
        pos += dsl + pad4(dsl);
        out.push_back(std::move(o));
      }
      EXPECT_EQ(pos, bytes.size());
    }
    return out;
  }

  int inputs_wanted = 0;
  bool transport_closed = false;
  bool close_requested = false;  // output_done(): close once written

 protected:
  void want_output() override {}
  void want_input() override { ++inputs_wanted; }
  void closing() override { transport_closed = true; }
};

std::vector<uint8_t> pdu(const Bhs& h, const std::string& data = {}) {
  Bhs copy = h;
  copy.set_data_length(uint32_t(data.size()));
  std::vector<uint8_t> v(kBhsSize + data.size() + pad4(uint32_t(data.size())), 0);
  std::memcpy(v.data(), copy.b.data(), kBhsSize);
  if (!data.empty()) std::memcpy(v.data() + kBhsSize, data.data(), data.size());
  return v;
}

std::vector<uint8_t> operator+(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string keys(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string s;
  for (const auto& [k, v] : kv) append_key(s, k, v);
  return s;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.task_sets.set_loops({&loop_.io});
    server_.limits.nop_interval_s = 5;
    server_.limits.nop_timeout_s = 10;
    auto node = std::make_unique<TargetNode>();
    node->iqn = kTarget;
    node->queue_depth = 16;
    node->device = scsi::make_device(kTarget);
    auto fault = std::make_unique<blockdev::FaultDevice>(blockdev::make_memory(1 << 20),
                                                         blockdev::FaultOptions{});
    fault_ = fault.get();
    scsi::LunOptions lun;
    lun.serial = "engine0";
    node->device->add_lun(lun, std::move(fault), {&loop_.io});
    target_ = node.get();
    server_.registry.add(std::move(node));
    config::Endpoint portal;
    portal.address = "127.0.0.1";
    portal.port = 3260;
    server_.registry.set_portals({portal});
  }

  void TearDown() override {
    fault_->set_rules({});
    pump([] { return false; }, std::chrono::milliseconds(30));
  }

  std::shared_ptr<TestEngine> engine() {
    auto e = std::make_shared<TestEngine>(server_, loop_, "127.0.0.1", "127.0.0.1");
    e->start_engine(Clock::now());
    return e;
  }

  // Runs the loop (completions, posts) until `done` or 3 s.
  template <class Done>
  bool pump(Done done, std::chrono::milliseconds most = std::chrono::milliseconds(3000)) {
    auto until = Clock::now() + most;
    while (!done()) {
      if (Clock::now() > until) return false;
      loop_.io.restart();
      loop_.io.run_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  // A one-PDU login (operational stage straight to full feature).
  static std::vector<uint8_t> login_pdu(uint64_t isid, bool discovery, uint32_t cmdsn = 1,
                                        uint32_t mrdsl = 262144) {
    Bhs h;
    h.b[0] = flag::kImmediate | op::kLoginRequest;
    h.b[1] = uint8_t(flag::kTransit | 1 << 2 | 3);
    put_be64(&h.b[8], isid << 16);
    h.set_itt(0x1000);
    h.set32(24, cmdsn);
    std::vector<std::pair<std::string, std::string>> kv = {
        {"InitiatorName", kInitiator},
        {"SessionType", discovery ? "Discovery" : "Normal"},
        {"MaxRecvDataSegmentLength", std::to_string(mrdsl)}};
    if (!discovery) kv.push_back({"TargetName", kTarget});
    return pdu(h, keys(kv));
  }

  // Logs `e` in; returns the Login Response.
  Out login(TestEngine& e, uint64_t isid = 0x80aabbccddeeull, bool discovery = false,
            uint32_t mrdsl = 262144) {
    EXPECT_TRUE(e.feed(login_pdu(isid, discovery, 1, mrdsl)));
    auto out = e.take();
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) return {};
    EXPECT_EQ(out[0].opcode(), op::kLoginResponse);
    EXPECT_EQ(out[0].bhs.login_status_code(), login_status::kSuccess) << out[0].data;
    EXPECT_TRUE(e.full_feature());
    if (!discovery) {
      // The first command of a new nexus reports POWER ON (29/00): take it
      // with an immediate TEST UNIT READY, which uses no CmdSN.
      std::vector<uint8_t> tur = tur_pdu(0xfff0, 1);
      tur[0] |= flag::kImmediate;
      EXPECT_TRUE(e.feed(tur));
      EXPECT_TRUE(pump([&] { return e.has_output(); }));
      auto ua = e.take();
      EXPECT_EQ(ua.size(), 1u);
      if (!ua.empty()) {
        EXPECT_EQ(ua[0].opcode(), op::kScsiResponse);
      }
    }
    return out[0];
  }

  // An immediate, final request with a target transfer tag (NOP-Out, Text).
  static std::vector<uint8_t> immediate_pdu(uint8_t opcode, uint32_t itt, uint32_t ttt,
                                            uint32_t cmdsn, const std::string& data) {
    Bhs h;
    h.b[0] = flag::kImmediate | opcode;
    h.b[1] = flag::kFinal;
    h.set_itt(itt);
    h.set32(20, ttt);
    h.set32(24, cmdsn);
    return pdu(h, data);
  }
  static std::vector<uint8_t> nop_out(uint32_t itt, uint32_t ttt, uint32_t cmdsn,
                                      const std::string& data = {}) {
    return immediate_pdu(op::kNopOut, itt, ttt, cmdsn, data);
  }
  static std::vector<uint8_t> text_pdu(uint32_t itt, uint32_t ttt, uint32_t cmdsn,
                                       const std::string& data) {
    return immediate_pdu(op::kTextRequest, itt, ttt, cmdsn, data);
  }

  static std::vector<uint8_t> logout_pdu(uint8_t reason, uint32_t itt, uint32_t cmdsn) {
    Bhs h;
    h.b[0] = op::kLogoutRequest;
    h.b[1] = uint8_t(flag::kFinal | reason);
    h.set_itt(itt);
    h.set32(24, cmdsn);
    return pdu(h);
  }

  // WRITE(10) of one block at `lba` with its data as immediate data.
  static std::vector<uint8_t> write_pdu(uint32_t itt, uint32_t cmdsn, uint32_t lba, char fill) {
    Bhs h;
    h.b[0] = op::kScsiCommand;
    h.b[1] = uint8_t(flag::kFinal | flag::kWrite | 1);  // SIMPLE
    h.set_itt(itt);
    h.set32(20, kBlock);
    h.set32(24, cmdsn);
    h.b[32] = 0x2a;
    put_be32(&h.b[34], lba);
    h.b[40] = 1;
    return pdu(h, std::string(kBlock, fill));
  }

  // TEST UNIT READY.
  static std::vector<uint8_t> tur_pdu(uint32_t itt, uint32_t cmdsn) {
    Bhs h;
    h.b[0] = op::kScsiCommand;
    h.b[1] = uint8_t(flag::kFinal | 1);
    h.set_itt(itt);
    h.set32(24, cmdsn);
    return pdu(h);
  }

  static std::vector<uint8_t> tmf_pdu(uint8_t function, uint32_t itt, uint32_t cmdsn,
                                      uint32_t ref_itt = kReservedTag, uint32_t ref_cmdsn = 0,
                                      bool immediate = true) {
    Bhs h;
    h.b[0] = uint8_t((immediate ? flag::kImmediate : 0) | op::kTaskMgmtRequest);
    h.b[1] = uint8_t(0x80 | function);
    h.set_itt(itt);
    h.set32(20, ref_itt);
    h.set32(24, cmdsn);
    h.set32(32, ref_cmdsn);
    return pdu(h);
  }

  void stick_writes() {
    blockdev::FaultRule r;
    r.ops = blockdev::FaultRule::bit(blockdev::IoOp::kWrite);
    r.stuck = true;
    fault_->set_rules({r});
  }

  // The loop outlives the server context: the LUNs' I/O channels hold timers
  // of the loop's io_context until the targets are destroyed.
  EventLoop loop_{0};
  ServerContext server_;
  TargetNode* target_ = nullptr;
  blockdev::FaultDevice* fault_ = nullptr;
};

// ---------------------------------------------------------------- NOP

TEST_F(EngineTest, NopOutPingIsEchoedWithItsData) {
  auto e = engine();
  Out l = login(*e);
  ASSERT_TRUE(e->feed(nop_out(0x10, kReservedTag, 1, "ping-data")));
  auto out = e->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), op::kNopIn);
  EXPECT_EQ(out[0].bhs.itt(), 0x10u);
  EXPECT_EQ(out[0].bhs.ttt(), kReservedTag);
  EXPECT_EQ(out[0].data, "ping-data");
  EXPECT_EQ(out[0].statsn(), l.statsn() + 2);  // after login's TEST UNIT READY
  EXPECT_EQ(out[0].exp_cmdsn(), 1u);           // immediate: no CmdSN used
}

TEST_F(EngineTest, IdleConnectionIsPingedAndAnAnswerKeepsItOpen) {
  auto e = engine();
  login(*e);
  auto t0 = Clock::now();
  e->tick(t0 + std::chrono::seconds(2));
  EXPECT_TRUE(e->take().empty());  // not idle long enough
  e->tick(t0 + std::chrono::seconds(6));
  auto out = e->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), op::kNopIn);
  EXPECT_EQ(out[0].bhs.itt(), kReservedTag);
  uint32_t ttt = out[0].bhs.ttt();
  EXPECT_NE(ttt, kReservedTag);
  e->tick(t0 + std::chrono::seconds(7));
  EXPECT_TRUE(e->take().empty());  // one ping at a time
  ASSERT_TRUE(e->feed(nop_out(kReservedTag, ttt, 1), t0 + std::chrono::seconds(8)));
  EXPECT_TRUE(e->take().empty());  // the answer needs none
  e->tick(t0 + std::chrono::seconds(12));
  EXPECT_FALSE(e->closed());
}

TEST_F(EngineTest, UnansweredPingClosesTheConnection) {
  auto e = engine();
  login(*e);
  auto t0 = Clock::now();
  e->tick(t0 + std::chrono::seconds(6));
  ASSERT_EQ(e->take().size(), 1u);
  e->tick(t0 + std::chrono::seconds(15));
  EXPECT_FALSE(e->closed());
  e->tick(t0 + std::chrono::seconds(17));
  EXPECT_TRUE(e->closed());
  EXPECT_TRUE(e->transport_closed);
}

// ---------------------------------------------------------------- Text

TEST_F(EngineTest, SendTargetsLongerThanOnePduContinues) {
  // Enough targets that the answer exceeds the initiator's 512-byte segments.
  for (int i = 0; i < 12; ++i) {
    auto node = std::make_unique<TargetNode>();
    node->iqn = "iqn.2024-01.test.sharedisk:a-rather-long-target-name-number-" + std::to_string(i);
    node->device = scsi::make_device(node->iqn);
    server_.registry.add(std::move(node));
  }
  auto e = engine();
  login(*e, 0x80aabbccddeeull, true, 512);
  ASSERT_TRUE(e->feed(text_pdu(0x20, kReservedTag, 1, keys({{"SendTargets", "All"}}))));
  std::string all;
  auto out = e->take();
  ASSERT_EQ(out.size(), 1u);
  int pdus = 1;
  while (!out[0].bhs.final()) {
    ASSERT_EQ(out[0].opcode(), op::kTextResponse);
    EXPECT_TRUE(out[0].bhs.cont());
    EXPECT_EQ(out[0].data.size(), 512u);
    uint32_t ttt = out[0].bhs.ttt();
    ASSERT_NE(ttt, kReservedTag);
    all += out[0].data;
    ASSERT_TRUE(e->feed(text_pdu(0x20, ttt, 1, "")));
    out = e->take();
    ASSERT_EQ(out.size(), 1u);
    ++pdus;
    ASSERT_LT(pdus, 20);
  }
  EXPECT_EQ(out[0].bhs.ttt(), kReservedTag);
  all += out[0].data;
  EXPECT_GT(pdus, 1);
  // key=value\0 pairs, TargetName once per target (each followed by its
  // TargetAddress), nothing cut at the PDU boundaries.
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back(), '\0');
  int targets = 0;
  size_t start = 0;
  for (size_t end; (end = all.find('\0', start)) != std::string::npos; start = end + 1) {
    std::string pair = all.substr(start, end - start);
    ASSERT_NE(pair.find('='), std::string::npos) << pair;
    targets += pair.rfind("TargetName=iqn.2024-01.test.sharedisk:", 0) == 0;
  }
  EXPECT_EQ(targets, 13);
}

TEST_F(EngineTest, TextWithUnknownKeyAnswersNotUnderstood) {
  auto e = engine();
  login(*e);
  ASSERT_TRUE(e->feed(text_pdu(0x21, kReservedTag, 1, keys({{"X-Vendor-Thing", "1"}}))));
  auto out = e->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), op::kTextResponse);
  EXPECT_TRUE(out[0].bhs.final());
  EXPECT_NE(out[0].data.find("X-Vendor-Thing=NotUnderstood"), std::string::npos);
}

// ---------------------------------------------------------------- Logout

TEST_F(EngineTest, LogoutIsAnsweredAfterTheRunningWrite) {
  auto e = engine();
  login(*e);
  stick_writes();
  ASSERT_TRUE(e->feed(write_pdu(0x30, 1, 8, 'w') + logout_pdu(0, 0x31, 2)));
  ASSERT_TRUE(pump([&] { return fault_->held() == 1; }));
  EXPECT_TRUE(e->take().empty());  // neither the write nor the logout answered
  fault_->set_rules({});
  ASSERT_TRUE(pump([&] { return e->has_output() && e->commands_in_scsi() == 0; }));
  auto out = e->take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].opcode(), op::kScsiResponse);
  EXPECT_EQ(out[0].status(), scsi::status::kGood);
  EXPECT_EQ(out[1].opcode(), op::kLogoutResponse);
  EXPECT_EQ(out[1].response(), 0);
  EXPECT_EQ(out[1].bhs.itt(), 0x31u);
  EXPECT_TRUE(e->close_requested);
}

TEST_F(EngineTest, LogoutForRecoveryIsRefusedAtErl0) {
  auto e = engine();
  login(*e);
  ASSERT_TRUE(e->feed(logout_pdu(2, 0x32, 1)));
  auto out = e->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), op::kLogoutResponse);
  EXPECT_EQ(out[0].response(), 2);  // connection recovery not supported
}

// ---------------------------------------------------------------- reinstatement

TEST_F(EngineTest, ReinstatingLoginWaitsForTheOldSessionsWrite) {
  auto old_session = engine();
  login(*old_session);
  stick_writes();
  ASSERT_TRUE(old_session->feed(write_pdu(0x40, 1, 16, 'o')));
  ASSERT_TRUE(pump([&] { return fault_->held() == 1; }));

  auto fresh = engine();
  ASSERT_TRUE(fresh->feed(login_pdu(0x80aabbccddeeull, false)));
  EXPECT_TRUE(fresh->input_paused());
  pump([] { return false; }, std::chrono::milliseconds(50));
  EXPECT_TRUE(old_session->closed());
  EXPECT_TRUE(fresh->take().empty());  // held: the old write is still in the SCSI layer
  EXPECT_EQ(old_session->commands_in_scsi(), 1u);

  fault_->set_rules({});
  ASSERT_TRUE(pump([&] { return fresh->has_output(); }));
  EXPECT_EQ(old_session->commands_in_scsi(), 0u);
  auto out = fresh->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), op::kLoginResponse);
  EXPECT_EQ(out[0].bhs.login_status_code(), login_status::kSuccess);
  EXPECT_FALSE(fresh->input_paused());
  EXPECT_EQ(fresh->inputs_wanted, 1);
  EXPECT_TRUE(old_session->take().empty());  // a closed session answers nothing
}

// ---------------------------------------------------------------- task management

TEST_F(EngineTest, AbortTaskIsAnsweredOnceTheCommandLeftTheScsiLayer) {
  auto e = engine();
  login(*e);
  stick_writes();
  ASSERT_TRUE(e->feed(write_pdu(0x50, 1, 24, 'a')));
  ASSERT_TRUE(pump([&] { return fault_->held() == 1; }));
  ASSERT_TRUE(e->feed(tmf_pdu(tmf::kAbortTask, 0x51, 2, 0x50, 1)));
  EXPECT_TRUE(e->take().empty());
  fault_->set_rules({});
  ASSERT_TRUE(pump([&] { return e->has_output(); }));
  auto out = e->take();
  ASSERT_EQ(out.size(), 1u);  // the aborted write gets no answer of its own
  EXPECT_EQ(out[0].opcode(), op::kTaskMgmtResponse);
  EXPECT_EQ(out[0].bhs.itt(), 0x51u);
  EXPECT_EQ(out[0].response(), tmf::kFunctionSucceeded);
}

TEST_F(EngineTest, AbortTaskSetAbortsEveryCommandOfTheLun) {
  auto e = engine();
  login(*e);
  stick_writes();
  ASSERT_TRUE(e->feed(write_pdu(0x60, 1, 32, 'b') + write_pdu(0x61, 2, 40, 'c')));
  ASSERT_TRUE(pump([&] { return fault_->held() == 2; }));
  ASSERT_TRUE(e->feed(tmf_pdu(tmf::kAbortTaskSet, 0x62, 3)));
  EXPECT_TRUE(e->take().empty());
  fault_->set_rules({});
  ASSERT_TRUE(pump([&] { return e->has_output() && e->commands_in_scsi() == 0; }));
  auto out = e->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), op::kTaskMgmtResponse);
  EXPECT_EQ(out[0].response(), tmf::kComplete);
  // The session goes on: the next command runs.
  ASSERT_TRUE(e->feed(tur_pdu(0x63, 3)));
  ASSERT_TRUE(pump([&] { return e->has_output(); }));
  out = e->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), op::kScsiResponse);
  EXPECT_EQ(out[0].bhs.itt(), 0x63u);
}

// Issue 11 item 3: a second request while the first waits is answered too,
// and in order.
TEST_F(EngineTest, SecondTmfWhileTheFirstWaitsIsAnsweredInOrder) {
  auto other = engine();
  login(*other, 0x80000000000aull);  // another session, so the reset waits on it too
  auto e = engine();
  login(*e);
  stick_writes();
  ASSERT_TRUE(e->feed(write_pdu(0x70, 1, 48, 'd')));
  ASSERT_TRUE(pump([&] { return fault_->held() == 1; }));
  ASSERT_TRUE(e->feed(tmf_pdu(tmf::kLogicalUnitReset, 0x71, 2) +
                      tmf_pdu(tmf::kAbortTask, 0x72, 2, 0x999, 1)));
  pump([] { return false; }, std::chrono::milliseconds(30));
  EXPECT_TRUE(e->take().empty());
  fault_->set_rules({});
  ASSERT_TRUE(pump([&] { return e->has_output() && e->commands_in_scsi() == 0; }));
  pump([] { return false; }, std::chrono::milliseconds(20));
  auto out = e->take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].opcode(), op::kTaskMgmtResponse);
  EXPECT_EQ(out[0].bhs.itt(), 0x71u);
  EXPECT_EQ(out[0].response(), tmf::kComplete);
  EXPECT_EQ(out[1].opcode(), op::kTaskMgmtResponse);
  EXPECT_EQ(out[1].bhs.itt(), 0x72u);
  EXPECT_EQ(out[1].response(), tmf::kTaskDoesNotExist);
  EXPECT_LT(out[0].statsn(), out[1].statsn());
}

// Issue 11 item 8: another session's reset answers this session's running
// command TASK ABORTED (TAS=1, the default), before the reset is answered.
TEST_F(EngineTest, LunResetAnswersTheOtherSessionsCommandTaskAborted) {
  auto victim = engine();
  login(*victim, 0x80000000000bull);
  auto resetter = engine();
  login(*resetter, 0x80000000000cull);
  stick_writes();
  ASSERT_TRUE(victim->feed(write_pdu(0x80, 1, 56, 'v')));
  ASSERT_TRUE(pump([&] { return fault_->held() == 1; }));
  ASSERT_TRUE(resetter->feed(tmf_pdu(tmf::kLogicalUnitReset, 0x81, 1)));
  pump([] { return false; }, std::chrono::milliseconds(30));
  EXPECT_TRUE(resetter->take().empty());  // the victim's write still runs
  EXPECT_TRUE(victim->take().empty());
  fault_->set_rules({});
  ASSERT_TRUE(pump([&] { return resetter->has_output(); }));
  auto v = victim->take();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].opcode(), op::kScsiResponse);
  EXPECT_EQ(v[0].bhs.itt(), 0x80u);
  EXPECT_EQ(v[0].status(), scsi::status::kTaskAborted);
  auto r = resetter->take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), op::kTaskMgmtResponse);
  EXPECT_EQ(r[0].response(), tmf::kComplete);
}

// ---------------------------------------------------------------- CmdSN (item 9)

// ABORT TASK of a command that never arrived: its RefCmdSN is used up, so the
// commands after the hole run.
TEST_F(EngineTest, AbortTaskOfAMissingCommandFillsItsCmdSn) {
  auto e = engine();
  login(*e);
  ASSERT_TRUE(e->feed(tur_pdu(0x90, 2)));  // CmdSN 1 never comes
  pump([] { return false; }, std::chrono::milliseconds(10));
  EXPECT_TRUE(e->take().empty());  // waits for CmdSN 1
  ASSERT_TRUE(e->feed(tmf_pdu(tmf::kAbortTask, 0x91, 3, 0x8f, 1)));
  ASSERT_TRUE(pump([&] { return e->has_output(); }));
  pump([] { return false; }, std::chrono::milliseconds(10));
  auto out = e->take();
  ASSERT_EQ(out.size(), 2u);
  bool tmf_seen = false, tur_seen = false;
  for (const Out& o : out) {
    if (o.opcode() == op::kTaskMgmtResponse) {
      tmf_seen = true;
      EXPECT_EQ(o.response(), tmf::kComplete);  // RFC 7143 11.5.1: counted as received
    }
    if (o.opcode() == op::kScsiResponse) {
      tur_seen = true;
      EXPECT_EQ(o.bhs.itt(), 0x90u);
      EXPECT_EQ(o.status(), scsi::status::kGood);
      EXPECT_EQ(o.exp_cmdsn(), 3u);
    }
  }
  EXPECT_TRUE(tmf_seen);
  EXPECT_TRUE(tur_seen);
}

// A command rejected before dispatch uses its CmdSN: the next one runs.
TEST_F(EngineTest, RejectedCommandUsesItsCmdSn) {
  auto e = engine();
  login(*e);
  Bhs bad;
  bad.b[0] = op::kScsiCommand;
  bad.b[1] = uint8_t(flag::kFinal | flag::kRead | flag::kWrite | 1);  // bidirectional
  bad.set_itt(0xa0);
  bad.set32(24, 1);
  ASSERT_TRUE(e->feed(pdu(bad) + tur_pdu(0xa1, 2)));
  ASSERT_TRUE(pump([&] { return e->has_output(); }));
  pump([] { return false; }, std::chrono::milliseconds(10));
  auto out = e->take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].opcode(), op::kReject);
  EXPECT_EQ(out[0].bhs.b[2], reject::kCommandNotSupported);
  EXPECT_EQ(out[1].opcode(), op::kScsiResponse);
  EXPECT_EQ(out[1].bhs.itt(), 0xa1u);
  EXPECT_EQ(out[1].exp_cmdsn(), 3u);
}

// A command outside the window is dropped silently (RFC 7143 4.2.2.1).
TEST_F(EngineTest, CommandOutsideTheWindowIsIgnored) {
  auto e = engine();
  Out l = login(*e);
  uint32_t max = l.max_cmdsn();
  ASSERT_TRUE(e->feed(tur_pdu(0xb0, max + 1)));
  pump([] { return false; }, std::chrono::milliseconds(10));
  EXPECT_TRUE(e->take().empty());
  EXPECT_FALSE(e->closed());
}

}  // namespace
}  // namespace sharedisk::iscsi
