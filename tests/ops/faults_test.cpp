// Initiator faults: connect/login/I-O/drop churn with flat memory and file
// descriptors, a dead initiator found by the NOP-In timeout, session
// reinstatement while the old connection hangs, and logout while commands run.
#include "ops_support.h"

namespace ops {
namespace {

TEST(Faults, ChurnKeepsMemoryAndFdsFlat) {
  TempDir dir;
  Daemon daemon(dir);
  uint16_t port = free_port();
  daemon.start(config_yaml(port, {{1, dir.file("churn.img"), "16M"}}));
  constexpr int kCycles = 1000, kWarmup = 100;
  auto limit = std::chrono::seconds(60);
  auto start = Clock::now();
  long rss_base = 0;
  int fd_base = 0, done = 0;
  std::vector<uint8_t> block(4096);
  int failures = 0;
  for (; done < kCycles && Clock::now() - start < limit; ++done) {
    if (done == kWarmup) {
      ASSERT_TRUE(
          eventually([&] { return count_of(daemon.admin("status").body, "session tsih") == 0; },
                     std::chrono::seconds(5)));
      rss_base = daemon.rss_kb();
      fd_base = daemon.fd_count();
    }
    uint64_t lba = uint64_t(done % 256) * 8;
    int mode = done % 4;
    if (mode == 3) {
      // Raw: log in, start a WRITE, cut the connection in its data phase.
      RawInitiator raw;
      ASSERT_TRUE(raw.connect(port));
      if (!raw.login(kIqn, 0x800000100000ull + uint64_t(done),
                     std::string("InitialR2T=Yes") + '\0' + "ImmediateData=No" + '\0')) {
        failures++;
        continue;
      }
      uint32_t itt;
      Pdu r2t;
      if (raw.write_command(lba, 8, &itt, &r2t))
        raw.data_out(itt, r2t.u32(20), 0, 0, 4096, block.data(), 1000, true);
      raw.reset();
      continue;
    }
    IscsiPtr s = iscsi_login(port);
    if (!s) {
      failures++;
      continue;
    }
    std::memset(block.data(), done & 0xff, block.size());
    scsi_task* w = iscsi_write16_sync(s.get(), 1, lba, block.data(), 4096, 512, 0, 0, 0, 0, 0);
    bool ok = scsi_ok(w);
    if (w) scsi_free_scsi_task(w);
    scsi_task* r = iscsi_read16_sync(s.get(), 1, lba, 4096, 512, 0, 0, 0, 0, 0);
    ok = ok && scsi_ok(r) && r->datain.size == 4096 && r->datain.data[17] == (done & 0xff);
    if (r) scsi_free_scsi_task(r);
    if (!ok) failures++;
    if (mode == 0) {
      iscsi_logout_sync(s.get());
    } else if (mode == 2) {
      // Drop with commands in flight: queue writes, push them out, vanish.
      for (int i = 0; i < 8; ++i)
        iscsi_write16_task(
            s.get(), 1, lba, block.data(), 4096, 512, 0, 0, 0, 0, 0,
            [](iscsi_context*, int, void* d, void*) {
              if (d) scsi_free_scsi_task(static_cast<scsi_task*>(d));
            },
            nullptr);
      pollfd p{iscsi_get_fd(s.get()), POLLOUT, 0};
      if (::poll(&p, 1, 100) == 1) iscsi_service(s.get(), POLLOUT);
    }
    // mode 1: just close the TCP connection (destroy without logout)
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(eventually([&] { return count_of(daemon.admin("status").body, "session tsih") == 0; },
                         std::chrono::seconds(10)));
  // Let closed connections finish (commands left in the disk layer complete).
  ASSERT_TRUE(eventually([&] { return daemon.fd_count() <= fd_base; }, std::chrono::seconds(10)))
      << "fds " << daemon.fd_count() << " vs " << fd_base << " after warm-up";
  long rss_end = daemon.rss_kb();
  int fd_end = daemon.fd_count();
  std::printf(
      "[ churn ] %d cycles in %.1f s (%.0f/s), %d failed; after warm-up: RSS %ld -> %ld "
      "KiB, fds %d -> %d\n",
      done, seconds, done / seconds, failures, rss_base, rss_end, fd_base, fd_end);
  EXPECT_GE(done, 300) << "too slow to be meaningful";
  EXPECT_EQ(failures, 0);
  EXPECT_LE(fd_end, fd_base);
  EXPECT_LT(rss_end - rss_base, 8 * 1024) << "RSS grew by " << rss_end - rss_base << " KiB";
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(Faults, DeadInitiatorDroppedByNopInTimeout) {
  TempDir dir;
  Daemon daemon(dir);
  uint16_t port = free_port();
  daemon.start(config_yaml(port, {{1, dir.file("nop.img"), "16M"}}, "",
                           "iscsi:\n  nop_interval: 1\n  nop_timeout: 2\n"));
  RawInitiator raw;  // logs in, then never answers a NOP-In
  ASSERT_TRUE(raw.connect(port));
  ASSERT_TRUE(raw.login(kIqn, 0x800000200001ull));
  ASSERT_EQ(count_of(daemon.admin("status").body, "session tsih"), 1u);
  auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return count_of(daemon.admin("status").body, "session tsih") == 0; },
                         std::chrono::seconds(10)));
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("[ nop ] silent initiator dropped after %.1f s (interval 1 s, timeout 2 s)\n", s);
  EXPECT_GE(s, 1.5);
  EXPECT_NE(read_file(daemon.log_path()).find("did not answer NOP-In"), std::string::npos);
  // An initiator that answers (libiscsi does) is kept.
  IscsiPtr live = iscsi_login(port);
  ASSERT_TRUE(live);
  auto until = Clock::now() + std::chrono::seconds(5);
  ASSERT_TRUE(service_until(
      live.get(), [&] { return Clock::now() > until; }, std::chrono::seconds(10)));
  scsi_task* t = iscsi_testunitready_sync(live.get(), 1);
  EXPECT_NE(t, nullptr);
  if (t) scsi_free_scsi_task(t);
}

TEST(Faults, ReinstatementReplacesAHangingSession) {
  TempDir dir;
  Daemon daemon(dir);
  uint16_t port = free_port();
  daemon.start(config_yaml(port, {{1, dir.file("reinst.img"), "16M"}}));
  const uint64_t isid = 0x800000300001ull;
  RawInitiator old_conn;
  ASSERT_TRUE(old_conn.connect(port));
  ASSERT_TRUE(old_conn.login(kIqn, isid));
  // The old connection starts a WRITE and hangs in its data phase.
  uint32_t itt;
  Pdu r2t;
  ASSERT_TRUE(old_conn.write_command(64, 8, &itt, &r2t));
  RawInitiator new_conn;
  ASSERT_TRUE(new_conn.connect(port));
  ASSERT_TRUE(new_conn.login(kIqn, isid));  // same initiator name and ISID
  // The target closes the old connection and keeps one session.
  char byte;
  ssize_t n;
  do n = ::recv(old_conn.fd(), &byte, 1, 0);
  while (n > 0);
  EXPECT_EQ(n, 0) << "old connection not closed by the target";
  auto status = daemon.admin("status").body;
  EXPECT_EQ(count_of(status, "session tsih"), 1u) << status;
  EXPECT_NE(read_file(daemon.log_path()).find("reinstated"), std::string::npos);
  // And the new session works: a complete WRITE through it.
  ASSERT_TRUE(new_conn.tur());
  std::vector<uint8_t> data(4096, 0x77);
  ASSERT_TRUE(new_conn.write_command(64, 8, &itt, &r2t));
  ASSERT_TRUE(new_conn.data_out(itt, r2t.u32(20), 0, 0, 4096, data.data(), 4096, true));
  Pdu rsp;
  ASSERT_TRUE(new_conn.recv_pdu(&rsp));
  EXPECT_EQ(rsp.opcode(), 0x21);
  EXPECT_EQ(rsp.bhs[3], 0);
}

TEST(Faults, LogoutWaitsForRunningCommands) {
  TempDir dir;
  Daemon daemon(dir);
  uint16_t port = free_port();
  daemon.start(config_yaml(port, {{1, dir.file("logout.img"), "16M", false}}));
  IscsiPtr s = iscsi_login(port);
  ASSERT_TRUE(s);
  struct State {
    int good = 0, bad = 0, after_logout = 0;
    bool logged_out = false;
  } st;
  constexpr int kWrites = 32;
  std::vector<std::vector<uint8_t>> bufs(kWrites, std::vector<uint8_t>(65536));
  for (int i = 0; i < kWrites; ++i) {
    std::memset(bufs[i].data(), 0x30 + i, 65536);
    ASSERT_NE(iscsi_write16_task(
                  s.get(), 1, uint64_t(i) * 128, bufs[i].data(), 65536, 512, 0, 0, 0, 0, 0,
                  [](iscsi_context*, int status, void* d, void* p) {
                    auto* st = static_cast<State*>(p);
                    (status == SCSI_STATUS_GOOD ? st->good : st->bad)++;
                    if (st->logged_out) st->after_logout++;
                    if (d) scsi_free_scsi_task(static_cast<scsi_task*>(d));
                  },
                  &st),
              nullptr);
  }
  // Push the commands out, then log out while they run.
  pollfd p{iscsi_get_fd(s.get()), POLLOUT, 0};
  for (int i = 0; i < 50 && iscsi_out_queue_length(s.get()) > 0; ++i)
    if (::poll(&p, 1, 100) == 1) iscsi_service(s.get(), POLLOUT);
  ASSERT_EQ(
      iscsi_logout_async(
          s.get(),
          [](iscsi_context*, int, void*, void* p) { static_cast<State*>(p)->logged_out = true; },
          &st),
      0);
  ASSERT_TRUE(service_until(
      s.get(), [&] { return st.logged_out; }, std::chrono::seconds(10)));
  std::printf("[ logout ] %d of %d writes answered before the logout response\n", st.good, kWrites);
  EXPECT_EQ(st.after_logout, 0);
  EXPECT_EQ(st.bad, 0);
  // Whatever was answered GOOD is on the LUN.
  IscsiPtr r = iscsi_login(port);
  ASSERT_TRUE(r);
  scsi_task* t = iscsi_read16_sync(r.get(), 1, 0, kWrites * 65536, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  int present = 0;
  for (int i = 0; i < kWrites; ++i) present += t->datain.data[size_t(i) * 65536 + 100] == 0x30 + i;
  scsi_free_scsi_task(t);
  EXPECT_GE(present, st.good);
}

}  // namespace
}  // namespace ops
