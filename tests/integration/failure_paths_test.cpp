// Failure paths with hand-built PDUs (issue 11): task management from one
// session while another is mid-command, several TMFs in flight at once, the
// CmdSN sequence across aborted and rejected commands, task attributes and
// what a reset tells the other sessions (TAS). Each test states the bug it
// guards against; all of them run the daemon on one event loop so that
// sessions share one buffer pool (where a buffer freed too early is reused).
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "itest_support.h"
#include "raw_iscsi.h"

namespace sharedisk::itest {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using test_support::BhsBytes;
using test_support::load_be32;
using test_support::Pdu;
using test_support::RawIscsiConnection;
using test_support::store_be24;
using test_support::store_be32;
using Got = RawIscsiConnection::Got;

constexpr const char* kIqn = "iqn.2024-01.test.sharedisk:failure";
constexpr uint64_t kLun1 = 0x0001000000000000ull;  // SAM LUN field of LUN 1
constexpr uint32_t kBlock = 512;

namespace opc {
constexpr uint8_t kScsiCommand = 0x01, kTmf = 0x02, kDataOut = 0x05;
constexpr uint8_t kScsiResponse = 0x21, kTmfResponse = 0x22, kDataIn = 0x25, kR2T = 0x31;
}  // namespace opc
namespace tmf {
constexpr uint8_t kAbortTask = 1, kLuReset = 5;
}
namespace attr {
constexpr uint8_t kSimple = 1, kOrdered = 2;
}

std::string failure_yaml() {
  return "log_level: info\n"
         "threads: 1\n"
         "admin_socket: @DIR@/admin.sock\n"
         "portals: [127.0.0.1:@PORT@]\n"
         "iscsi:\n"
         "  queue_depth: 32\n"
         "  initial_r2t: true\n"
         "targets:\n"
         "  - iqn: iqn.2024-01.test.sharedisk:failure\n"
         "    luns:\n"
         "      - number: 1\n"
         "        type: memory\n"
         "        size: 16M\n";
}

void put_be64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (56 - 8 * i));
}

// A block pattern unique to (tag, lba): what a mix-up of buffers would show.
std::string pattern(uint32_t tag, uint64_t lba, uint32_t blocks) {
  std::string out(size_t(blocks) * kBlock, '\0');
  for (uint32_t b = 0; b < blocks; ++b)
    for (uint32_t i = 0; i < kBlock; i += 8) {
      uint64_t v = (uint64_t(tag) << 40) ^ ((lba + b) << 12) ^ i;
      std::memcpy(&out[b * kBlock + i], &v, 8);
    }
  return out;
}

// Offset of the first byte where a and b differ (or the shorter size); equal
// strings give npos. Keeps a failure message short.
size_t first_difference(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return i;
  return a.size() == b.size() ? std::string::npos : n;
}
constexpr size_t kSame = std::string::npos;

// One normal session on raw PDUs: CmdSN/ITT bookkeeping and the PDUs these
// tests send. InitialR2T=Yes, so a write's data moves only as immediate data
// or in answer to an R2T.
class RawSession {
 public:
  // Logs in with `initiator` and `isid`; fails the test when refused.
  void login(int port, const std::string& initiator, uint64_t isid) {
    ASSERT_TRUE(conn_.connect(port));
    test_support::LoginHeader header{.isid = isid, .cid = 1};
    std::string keys = test_support::text_keys({{"InitiatorName", initiator},
                                                {"TargetName", kIqn},
                                                {"SessionType", "Normal"},
                                                {"HeaderDigest", "None"},
                                                {"DataDigest", "None"},
                                                {"InitialR2T", "Yes"},
                                                {"ImmediateData", "Yes"},
                                                {"MaxRecvDataSegmentLength", "262144"},
                                                {"MaxBurstLength", "262144"},
                                                {"FirstBurstLength", "65536"}});
    Pdu resp;
    ASSERT_TRUE(test_support::login_stage(conn_, &header, keys, 10s, 2, &resp));
    ASSERT_EQ(resp.opcode(), 0x23);
    ASSERT_EQ(resp.bhs[36], 0) << "login status class " << int(resp.bhs[36]) << "/"
                               << int(resp.bhs[37]);
    ASSERT_EQ(resp.bhs[1] & 0x83, 0x83);
    cmdsn_ = resp.u32(28);
    exp_statsn_ = resp.u32(24) + 1;
  }

  RawIscsiConnection& conn() { return conn_; }
  uint32_t next_itt() { return itt_++; }
  uint32_t cmdsn() const { return cmdsn_; }

  // SCSI Command PDU bytes (not sent): takes the next CmdSN unless immediate
  // or `cmdsn` is given.
  BhsBytes command(uint32_t itt, const uint8_t* cdb, size_t cdb_len, bool read, bool write,
                   uint32_t edtl, size_t immediate_bytes = 0, uint8_t attribute = attr::kSimple,
                   std::optional<uint32_t> cmdsn = std::nullopt) {
    BhsBytes b{};
    b[0] = opc::kScsiCommand;
    b[1] = uint8_t(0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | attribute);
    store_be24(&b[5], uint32_t(immediate_bytes));
    put_be64(&b[8], kLun1);
    store_be32(&b[16], itt);
    store_be32(&b[20], edtl);
    store_be32(&b[24], cmdsn ? *cmdsn : cmdsn_++);
    store_be32(&b[28], exp_statsn_);
    std::memcpy(&b[32], cdb, cdb_len);
    return b;
  }
  BhsBytes data_out(uint32_t itt, uint32_t ttt, uint32_t datasn, uint32_t offset, uint32_t length,
                    bool final) {
    BhsBytes b{};
    b[0] = opc::kDataOut;
    b[1] = final ? 0x80 : 0;
    store_be24(&b[5], length);
    put_be64(&b[8], kLun1);
    store_be32(&b[16], itt);
    store_be32(&b[20], ttt);
    store_be32(&b[28], exp_statsn_);
    store_be32(&b[36], datasn);
    store_be32(&b[40], offset);
    return b;
  }
  // Immediate TMF request (the way Linux and libiscsi send them).
  BhsBytes tmf(uint32_t itt, uint8_t function, uint32_t ref_itt = 0xffffffff,
               uint32_t ref_cmdsn = 0) {
    BhsBytes b{};
    b[0] = 0x40 | opc::kTmf;
    b[1] = uint8_t(0x80 | function);
    put_be64(&b[8], kLun1);
    store_be32(&b[16], itt);
    store_be32(&b[20], ref_itt);
    store_be32(&b[24], cmdsn_);
    store_be32(&b[28], exp_statsn_);
    store_be32(&b[32], ref_cmdsn);
    return b;
  }

  bool send(const BhsBytes& b, const std::string& data = {}) {
    return conn_.send_pdu(b.data(), data);
  }

  // Next PDU that is not a NOP-In; false on timeout or close.
  bool receive(Pdu* p, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      if (conn_.receive(p, deadline) != Got::kPdu) return false;
      if (p->opcode() == 0x20) continue;
      if (p->opcode() == opc::kScsiResponse || p->opcode() == opc::kTmfResponse ||
          (p->opcode() == opc::kDataIn && (p->bhs[1] & 0x01)))
        exp_statsn_ = p->u32(24) + 1;
      return true;
    }
  }

  // Runs a command to its end: Data-In collected into *data_in; returns the
  // status (-1: no answer in time).
  int run(const uint8_t* cdb, size_t cdb_len, bool read, bool write, uint32_t edtl,
          const std::string& out = {}, std::string* data_in = nullptr, uint8_t* sense_key = nullptr,
          uint16_t* asc = nullptr) {
    uint32_t itt = next_itt();
    size_t imm = std::min<size_t>(out.size(), 65536);
    if (!send(command(itt, cdb, cdb_len, read, write, edtl, imm), out.substr(0, imm))) return -1;
    if (data_in) data_in->clear();
    Pdu p;
    uint32_t datasn = 0;
    while (receive(&p, 10s)) {
      if (p.u32(16) != itt) continue;
      if (p.opcode() == opc::kR2T) {
        uint32_t off = p.u32(40), len = p.u32(44);
        if (!send(data_out(itt, p.u32(20), datasn++, off, len, true), out.substr(off, len)))
          return -1;
        datasn = 0;
        continue;
      }
      if (p.opcode() == opc::kDataIn) {
        if (data_in) data_in->append(p.data);
        if (p.bhs[1] & 0x01) return p.bhs[3];
        continue;
      }
      if (p.opcode() == opc::kScsiResponse) {
        if (p.bhs[3] == 0x02 && p.data.size() >= 2 + 14) {
          const uint8_t* s = reinterpret_cast<const uint8_t*>(p.data.data()) + 2;
          if (sense_key) *sense_key = s[2] & 0x0f;
          if (asc) *asc = uint16_t(s[12] << 8 | s[13]);
        }
        return p.bhs[3];
      }
    }
    return -1;
  }

  // TEST UNIT READY until GOOD (unit attentions consumed); false if never.
  bool clear_unit_attentions() {
    uint8_t tur[6] = {};
    for (int i = 0; i < 8; ++i)
      if (run(tur, 6, false, false, 0) == 0) return true;
    return false;
  }

  int write10(uint64_t lba, const std::string& data) {
    uint8_t cdb[10] = {0x2a};
    store_be32(&cdb[2], uint32_t(lba));
    uint16_t blocks = uint16_t(data.size() / kBlock);
    cdb[7] = uint8_t(blocks >> 8);
    cdb[8] = uint8_t(blocks);
    return run(cdb, 10, false, true, uint32_t(data.size()), data);
  }
  int read10(uint64_t lba, uint32_t blocks, std::string* data) {
    uint8_t cdb[10] = {0x28};
    store_be32(&cdb[2], uint32_t(lba));
    cdb[7] = uint8_t(blocks >> 8);
    cdb[8] = uint8_t(blocks);
    return run(cdb, 10, true, false, blocks * kBlock, {}, data);
  }

 private:
  RawIscsiConnection conn_;
  uint32_t itt_ = 0x100;
  uint32_t cmdsn_ = 0;
  uint32_t exp_statsn_ = 0;
};

void write10_cdb(uint8_t* cdb, uint64_t lba, uint32_t blocks) {
  std::memset(cdb, 0, 10);
  cdb[0] = 0x2a;
  store_be32(&cdb[2], uint32_t(lba));
  cdb[7] = uint8_t(blocks >> 8);
  cdb[8] = uint8_t(blocks);
}

class FailurePathTest : public ::testing::Test {
 protected:
  void SetUp() override { START_DAEMON(daemon_); }

  // A logged-in session with its power-on unit attention consumed.
  void open(RawSession& s, const std::string& name, uint64_t isid = 0x800000000001ull) {
    s.login(daemon_.port(), "iqn.2024-01.test.sharedisk:" + name, isid);
    if (::testing::Test::HasFatalFailure()) return;
    ASSERT_TRUE(s.clear_unit_attentions());
  }

  TempDir dir_;
  Daemon daemon_{dir_, failure_yaml()};
};

// Bug 1: a LOGICAL UNIT RESET from another session aborted a command whose
// Data-Out PDU was half received; its pooled buffer went back to the pool
// while the rest of that PDU was still being received into it, so the next
// write (another session, another LBA) got the aborted write's bytes.
TEST_F(FailurePathTest, ResetDuringDataOutNeverLeaksIntoAnotherCommand) {
  RawSession a, b, c;
  open(a, "a");
  open(b, "b");
  open(c, "c");
  if (HasFatalFailure()) return;
  constexpr uint32_t kBytes = 256 * 1024, kBlocks = kBytes / kBlock;
  const std::string a_data = pattern(0xA, 0, kBlocks);
  const std::string c_data = pattern(0xC, 2048, kBlocks);

  // A: a 256 KiB write whose one Data-Out PDU is sent half.
  uint8_t cdb[10];
  write10_cdb(cdb, 0, kBlocks);
  uint32_t a_itt = a.next_itt();
  ASSERT_TRUE(a.send(a.command(a_itt, cdb, 10, false, true, kBytes)));
  Pdu r2t;
  ASSERT_TRUE(a.receive(&r2t, 5s));
  ASSERT_EQ(r2t.opcode(), opc::kR2T);
  ASSERT_EQ(r2t.u32(44), kBytes);
  BhsBytes dout = a.data_out(a_itt, r2t.u32(20), 0, 0, kBytes, true);
  ASSERT_TRUE(a.conn().send_all(dout.data(), dout.size()));
  ASSERT_TRUE(a.conn().send_all(a_data.data(), kBytes / 2));
  std::this_thread::sleep_for(100ms);  // let the target start receiving into the buffer

  // B resets the LUN.
  ASSERT_TRUE(b.send(b.tmf(b.next_itt(), tmf::kLuReset)));
  Pdu rsp;
  ASSERT_TRUE(b.receive(&rsp, 10s)) << "no answer to the LUN reset";
  ASSERT_EQ(rsp.opcode(), opc::kTmfResponse);
  EXPECT_EQ(rsp.bhs[2], 0) << "LUN reset: function complete";

  // C writes 256 KiB elsewhere, holding back its last 64 KiB until A's rest is in.
  ASSERT_TRUE(c.clear_unit_attentions());
  write10_cdb(cdb, 2048, kBlocks);
  uint32_t c_itt = c.next_itt();
  ASSERT_TRUE(c.send(c.command(c_itt, cdb, 10, false, true, kBytes)));
  ASSERT_TRUE(c.receive(&r2t, 5s));
  ASSERT_EQ(r2t.opcode(), opc::kR2T);
  uint32_t c_ttt = r2t.u32(20);
  ASSERT_TRUE(c.send(c.data_out(c_itt, c_ttt, 0, 0, 192 * 1024, false), c_data.substr(0, 196608)));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(a.conn().send_all(a_data.data() + kBytes / 2, kBytes / 2));  // A's rest
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(c.send(c.data_out(c_itt, c_ttt, 1, 196608, 65536, true), c_data.substr(196608)));
  ASSERT_TRUE(c.receive(&rsp, 10s));
  ASSERT_EQ(rsp.opcode(), opc::kScsiResponse);
  ASSERT_EQ(rsp.bhs[3], 0) << "C's write";

  // C's blocks hold C's data, byte for byte.
  std::string back;
  ASSERT_EQ(c.read10(2048, kBlocks, &back), 0);
  EXPECT_EQ(first_difference(back, c_data), kSame)
      << "C's write at LBA 2048 holds foreign data from this byte on";
  // A's write was aborted: what A gets for it (TASK ABORTED, TAS=1) or nothing,
  // but nothing of it may reach LBA 0 after the reset was answered.
  ASSERT_TRUE(a.clear_unit_attentions());
  ASSERT_EQ(a.read10(0, kBlocks, &back), 0);
  EXPECT_EQ(first_difference(back, std::string(kBytes, '\0')), kSame)
      << "the aborted write reached the disk";
}

// Bug 3: a second TMF while the first waits for other sessions' tasks to
// drain overwrote the single pending slot; the first was never answered.
TEST_F(FailurePathTest, EveryTaskManagementRequestIsAnsweredInOrder) {
  RawSession a, other;
  open(a, "a");
  open(other, "other");
  if (HasFatalFailure()) return;
  uint32_t reset_itt = a.next_itt(), abort_itt = a.next_itt();
  BhsBytes reset = a.tmf(reset_itt, tmf::kLuReset);
  BhsBytes abort = a.tmf(abort_itt, tmf::kAbortTask, 0x7777, a.cmdsn());
  std::string both(reinterpret_cast<const char*>(reset.data()), reset.size());
  both.append(reinterpret_cast<const char*>(abort.data()), abort.size());
  ASSERT_TRUE(a.conn().send_all(both.data(), both.size()));  // one TCP segment
  std::vector<uint32_t> answered;
  Pdu p;
  while (answered.size() < 2 && a.receive(&p, 5s))
    if (p.opcode() == opc::kTmfResponse) answered.push_back(p.u32(16));
  ASSERT_EQ(answered.size(), 2u) << "a task management request was never answered";
  EXPECT_EQ(answered[0], reset_itt);
  EXPECT_EQ(answered[1], abort_itt);
}

// Bug 8: with TAS=1 (the default, as LIO) a command of another session that
// a LOGICAL UNIT RESET aborts is answered with TASK ABORTED at once, instead
// of leaving that initiator to time out (Linux: 30 s, then its own recovery).
TEST_F(FailurePathTest, ResetAnswersOtherSessionsCommandsWithTaskAborted) {
  RawSession a, b;
  open(a, "a");
  open(b, "b");
  if (HasFatalFailure()) return;
  // MODE SENSE(10) control page: TAS (byte 5, bit 6) is set.
  uint8_t sense10[10] = {0x5a, 0x08, 0x0a, 0, 0, 0, 0, 0, 255, 0};
  std::string page;
  ASSERT_EQ(a.run(sense10, 10, true, false, 255, {}, &page), 0);
  ASSERT_GE(page.size(), 8u + 12u);
  EXPECT_EQ(page[0 + 8] & 0x3f, 0x0a);
  EXPECT_TRUE(page[8 + 5] & 0x40) << "TAS bit in the Control mode page";

  uint8_t cdb[10];
  write10_cdb(cdb, 64, 128);
  uint32_t itt = a.next_itt();
  ASSERT_TRUE(a.send(a.command(itt, cdb, 10, false, true, 128 * kBlock)));
  Pdu p;
  ASSERT_TRUE(a.receive(&p, 5s));
  ASSERT_EQ(p.opcode(), opc::kR2T);  // the write now waits for its data
  auto start = Clock::now();
  ASSERT_TRUE(b.send(b.tmf(b.next_itt(), tmf::kLuReset)));
  ASSERT_TRUE(b.receive(&p, 5s));
  ASSERT_EQ(p.opcode(), opc::kTmfResponse);
  ASSERT_TRUE(a.receive(&p, 5s)) << "the aborted command got no status";
  EXPECT_EQ(p.opcode(), opc::kScsiResponse);
  EXPECT_EQ(p.u32(16), itt);
  EXPECT_EQ(p.bhs[3], 0x40) << "TASK ABORTED";
  EXPECT_LT(Clock::now() - start, 2s);
}

// Bug 9: an aborted command that was waiting for its CmdSN, and a command
// rejected out of order, left holes in the CmdSN sequence: every later
// command waited forever.
TEST_F(FailurePathTest, AbortedAndRejectedCommandsKeepTheCmdSnSequence) {
  RawSession a;
  open(a, "a");
  if (HasFatalFailure()) return;
  uint8_t tur[6] = {};
  uint32_t n = a.cmdsn();
  // N+1 arrives first and waits; it is aborted; then N and N+2.
  uint32_t waiting = a.next_itt();
  ASSERT_TRUE(a.send(a.command(waiting, tur, 6, false, false, 0, 0, attr::kSimple, n + 1)));
  ASSERT_TRUE(a.send(a.tmf(a.next_itt(), tmf::kAbortTask, waiting, n + 1)));
  Pdu p;
  ASSERT_TRUE(a.receive(&p, 5s));
  ASSERT_EQ(p.opcode(), opc::kTmfResponse);
  EXPECT_EQ(p.bhs[2], 0) << "ABORT TASK of a waiting command: function complete";
  // N+3 is rejected (read and write bits both set: bidirectional) before N+2.
  uint32_t rejected = a.next_itt();
  ASSERT_TRUE(a.send(a.command(rejected, tur, 6, true, true, 512, 0, attr::kSimple, n + 3)));
  uint32_t first = a.next_itt(), third = a.next_itt(), fourth = a.next_itt();
  ASSERT_TRUE(a.send(a.command(first, tur, 6, false, false, 0, 0, attr::kSimple, n)));
  ASSERT_TRUE(a.send(a.command(third, tur, 6, false, false, 0, 0, attr::kSimple, n + 2)));
  ASSERT_TRUE(a.send(a.command(fourth, tur, 6, false, false, 0, 0, attr::kSimple, n + 4)));
  std::vector<uint32_t> got;
  while (got.size() < 3 && a.receive(&p, 5s))
    if (p.opcode() == opc::kScsiResponse) got.push_back(p.u32(16));
  EXPECT_EQ(got, (std::vector<uint32_t>{first, third, fourth}))
      << "commands after an aborted or rejected CmdSN must still run";
}

// RFC 7143 11.5.1: ABORT TASK naming a task not yet received, with a RefCmdSN
// inside the window, answers "function complete" and that CmdSN counts as
// received: the command, arriving late, is not executed; later ones run.
TEST_F(FailurePathTest, AbortOfACommandNotYetReceivedConsumesItsCmdSn) {
  RawSession a;
  open(a, "a");
  if (HasFatalFailure()) return;
  uint32_t n = a.cmdsn();
  // The initiator sent a write with CmdSN N that is still on its way; its
  // ABORT TASK (CmdSN N+1, RefCmdSN N) overtakes it.
  std::string data = pattern(0x1a7e, 10, 8);
  uint8_t cdb[10];
  write10_cdb(cdb, 10, 8);
  uint32_t late = a.next_itt();
  BhsBytes late_cmd = a.command(late, cdb, 10, false, true, 8 * kBlock, data.size());
  ASSERT_TRUE(a.send(a.tmf(a.next_itt(), tmf::kAbortTask, late, n)));
  Pdu p;
  ASSERT_TRUE(a.receive(&p, 5s));
  ASSERT_EQ(p.opcode(), opc::kTmfResponse);
  EXPECT_EQ(p.bhs[2], 0) << "function complete";
  ASSERT_TRUE(a.send(late_cmd, data));
  uint8_t tur[6] = {};
  uint32_t next = a.next_itt();
  ASSERT_TRUE(a.send(a.command(next, tur, 6, false, false, 0, 0)));
  ASSERT_TRUE(a.receive(&p, 5s)) << "the command after the aborted CmdSN must run";
  EXPECT_EQ(p.u32(16), next) << "the aborted command itself was executed";
  std::string back;
  ASSERT_EQ(a.read10(10, 8, &back), 0);
  EXPECT_EQ(first_difference(back, std::string(8 * kBlock, '\0')), kSame)
      << "the aborted write reached the disk";
}

// Bug 5: ORDERED was advertised (Extended INQUIRY VPD) but ignored. An
// ORDERED read after a write that is still waiting for its data must wait
// for it, and see its data.
TEST_F(FailurePathTest, OrderedCommandWaitsForEarlierCommands) {
  RawSession a;
  open(a, "a");
  if (HasFatalFailure()) return;
  constexpr uint32_t kBlocks = 16;
  std::string data = pattern(0x0d, 100, kBlocks);
  uint8_t cdb[10];
  write10_cdb(cdb, 100, kBlocks);
  uint32_t w = a.next_itt();
  ASSERT_TRUE(a.send(a.command(w, cdb, 10, false, true, kBlocks * kBlock)));
  Pdu r2t;
  ASSERT_TRUE(a.receive(&r2t, 5s));
  ASSERT_EQ(r2t.opcode(), opc::kR2T);
  uint8_t rcdb[10] = {0x28};
  store_be32(&rcdb[2], 100);
  rcdb[8] = kBlocks;
  uint32_t r = a.next_itt();
  ASSERT_TRUE(a.send(a.command(r, rcdb, 10, true, false, kBlocks * kBlock, 0, attr::kOrdered)));
  Pdu p;
  EXPECT_FALSE(a.receive(&p, 300ms)) << "the ORDERED read ran before the earlier write ended";
  ASSERT_TRUE(a.send(a.data_out(w, r2t.u32(20), 0, 0, kBlocks * kBlock, true), data));
  std::vector<uint32_t> order;
  std::string read_back;
  while (order.size() < 2 && a.receive(&p, 5s)) {
    if (p.opcode() == opc::kDataIn && p.u32(16) == r) read_back += p.data;
    bool status =
        p.opcode() == opc::kScsiResponse || (p.opcode() == opc::kDataIn && (p.bhs[1] & 0x01));
    if (status) {
      EXPECT_EQ(p.bhs[3], 0);
      order.push_back(p.u32(16));
    }
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{w, r}));
  EXPECT_EQ(first_difference(read_back, data), kSame)
      << "the ORDERED read did not see the earlier write";
}

// Bug 6: TEST UNIT READY from a non-holder under an Exclusive Access
// reservation is allowed (SPC-4 table 44); dm-multipath's TUR checker sends it.
TEST_F(FailurePathTest, TestUnitReadyIsAllowedUnderExclusiveAccess) {
  RawSession holder, other;
  open(holder, "holder");
  open(other, "other");
  if (HasFatalFailure()) return;
  auto prout = [](RawSession& s, uint8_t action, uint8_t type, uint64_t key, uint64_t sa_key) {
    uint8_t cdb[10] = {0x5f, action, type, 0, 0, 0, 0, 0, 24, 0};
    std::string param(24, '\0');
    put_be64(reinterpret_cast<uint8_t*>(&param[0]), key);
    put_be64(reinterpret_cast<uint8_t*>(&param[8]), sa_key);
    return s.run(cdb, 10, false, true, 24, param);
  };
  ASSERT_EQ(prout(holder, 0x00, 0, 0, 0xabc), 0);  // REGISTER
  ASSERT_EQ(prout(holder, 0x01, 3, 0xabc, 0), 0);  // RESERVE, Exclusive Access
  uint8_t tur[6] = {};
  EXPECT_EQ(other.run(tur, 6, false, false, 0), 0) << "TUR from a non-holder";
  std::string data;
  EXPECT_EQ(other.read10(0, 1, &data), 0x18) << "a READ still conflicts";
}

}  // namespace
}  // namespace sharedisk::itest
