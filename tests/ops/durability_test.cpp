// Crash consistency: a verifying writer (libiscsi, async, FUA writes and
// writes covered by SYNCHRONIZE CACHE recorded) runs while the daemon is
// SIGKILLed; after a restart every acknowledged-durable write must read back
// whole. And a TCP connection cut in the middle of a Data-Out sequence must
// leave the target blocks untouched (no torn or misplaced write).
//
// SIGKILL stops the daemon, not the machine: what this proves is that no
// write is acknowledged before it reached the kernel (write-back) or stable
// storage (write-through / FUA / SYNCHRONIZE CACHE), and that nothing the
// daemon buffers itself is lost or half-written.
#include "crash_writer.h"
#include "ops_support.h"

namespace ops {
namespace {

class CrashConsistency : public ::testing::TestWithParam<bool> {};

TEST_P(CrashConsistency, AcknowledgedDurableWritesSurviveSigkill) {
  bool write_back = GetParam();
  TempDir dir;
  Daemon daemon(dir);
  uint16_t port = free_port();
  daemon.start(config_yaml(port, {{1, dir.file("crash.img"), "16M", write_back}}));
  IscsiPtr s = iscsi_login(port);
  ASSERT_TRUE(s);

  crash::Writer w;
  ASSERT_TRUE(
      crash::run_until_kill(w, s.get(), std::chrono::milliseconds(1500), [&] { daemon.kill9(); }));
  int lost_in_flight = w.inflight;
  uint64_t failures_before_kill = w.failures;
  s.reset();  // cancels the in-flight commands (their callbacks report errors)

  daemon.start_existing();
  IscsiPtr r = iscsi_login(port);
  ASSERT_TRUE(r);
  // Write-through: every acknowledged write was stable before its ack.
  crash::Verdict v;
  ASSERT_TRUE(crash::verify_through_iscsi(w, r.get(), !write_back, &v));
  std::printf(
      "[ crash %s ] %llu writes acked (%llu FUA), %llu SYNCHRONIZE CACHE, %d in flight at "
      "SIGKILL; %llu slots with a durable generation verified, %llu slots newer than "
      "their durable generation, %llu acked-but-unsynced generations not found\n",
      write_back ? "write-back" : "write-through", (unsigned long long)w.writes_ok,
      (unsigned long long)w.fua_ok, (unsigned long long)w.syncs_ok, lost_in_flight,
      (unsigned long long)v.durable_checked, (unsigned long long)v.newer_than_durable,
      (unsigned long long)v.acked_not_durable_lost);
  EXPECT_GT(w.writes_ok, 100u);
  EXPECT_GT(w.syncs_ok, 0u);
  EXPECT_GT(v.durable_checked, 100u);
  EXPECT_EQ(failures_before_kill, 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, CrashConsistency, ::testing::Values(true, false),
                         [](const auto& info) {
                           return info.param ? "WriteBack" : "WriteThrough";
                         });

// ------------------------------------------------------------ Data-Out cut

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7 + (i >> 9));
  return v;
}

TEST(DataOutCut, NoTornOrMisplacedWrite) {
  TempDir dir;
  Daemon daemon(dir);
  uint16_t port = free_port();
  daemon.start(config_yaml(port, {{1, dir.file("cut.img"), "16M"}}));
  IscsiPtr s = iscsi_login(port);
  ASSERT_TRUE(s);
  constexpr uint32_t kBlocks = 128, kBytes = kBlocks * 512, kPdu = 16384;
  constexpr uint64_t kGuard = 16;  // blocks checked on each side

  struct Cut {
    const char* name;
    uint32_t bytes;  // data bytes sent before the connection is reset
  } cuts[] = {{"after R2T", 0},
              {"after one PDU", kPdu},
              {"mid PDU", kPdu + 5000},
              {"mid last PDU", 3 * kPdu + kPdu / 2},
              {"one byte short", kBytes - 1},
              {"complete (control)", kBytes}};
  uint64_t isid = 0x800000001000ull;
  uint64_t base = 1024;
  for (const Cut& cut : cuts) {
    SCOPED_TRACE(cut.name);
    std::vector<uint8_t> old_data = pattern((kBlocks + 2 * kGuard) * 512, uint8_t(base));
    scsi_task* t = iscsi_write16_sync(s.get(), 1, base - kGuard, old_data.data(),
                                      uint32_t(old_data.size()), 512, 0, 0, 1, 0, 0);
    ASSERT_TRUE(scsi_ok(t));
    scsi_free_scsi_task(t);

    std::vector<uint8_t> new_data = pattern(kBytes, uint8_t(base + 101));
    RawInitiator raw;
    ASSERT_TRUE(raw.connect(port));
    ASSERT_TRUE(
        raw.login(kIqn, ++isid, std::string("InitialR2T=Yes") + '\0' + "ImmediateData=No" + '\0'));
    ASSERT_TRUE(raw.tur());
    uint32_t itt;
    Pdu r2t;
    ASSERT_TRUE(raw.write_command(base, kBlocks, &itt, &r2t));
    ASSERT_EQ(r2t.u32(40), 0u);      // buffer offset
    ASSERT_EQ(r2t.u32(44), kBytes);  // whole transfer in one burst
    uint32_t ttt = r2t.u32(20), sent = 0, datasn = 0;
    while (sent < cut.bytes) {
      uint32_t len = std::min(kPdu, kBytes - sent);
      uint32_t now = std::min(len, cut.bytes - sent);
      ASSERT_TRUE(raw.data_out(itt, ttt, datasn++, sent, len, new_data.data() + sent, now,
                               sent + len == kBytes));
      sent += now;
    }
    bool complete = cut.bytes == kBytes;
    if (complete) {
      Pdu rsp;
      ASSERT_TRUE(raw.recv_pdu(&rsp));
      ASSERT_EQ(rsp.opcode(), 0x21);
      ASSERT_EQ(rsp.bhs[3], 0);  // GOOD
    }
    raw.reset();
    // The daemon notices the reset; the session goes away.
    ASSERT_TRUE(
        eventually([&] { return count_of(daemon.admin("status").body, "session tsih") == 1; },
                   std::chrono::seconds(5)));

    t = iscsi_read16_sync(s.get(), 1, base - kGuard, uint32_t(old_data.size()), 512, 0, 0, 0, 0, 0);
    ASSERT_TRUE(scsi_ok(t));
    const uint8_t* got = t->datain.data;
    EXPECT_EQ(std::memcmp(got, old_data.data(), kGuard * 512), 0) << "blocks before touched";
    EXPECT_EQ(std::memcmp(got + (kGuard + kBlocks) * 512,
                          old_data.data() + (kGuard + kBlocks) * 512, kGuard * 512),
              0)
        << "blocks after touched";
    const uint8_t* want = complete ? new_data.data() : old_data.data() + kGuard * 512;
    for (uint32_t b = 0; b < kBlocks; ++b)
      ASSERT_EQ(std::memcmp(got + (kGuard + b) * 512, want + b * 512, 512), 0)
          << "block " << b << " is " << (complete ? "not new" : "not old");
    scsi_free_scsi_task(t);
    base += 4096;
  }
}

}  // namespace
}  // namespace ops
