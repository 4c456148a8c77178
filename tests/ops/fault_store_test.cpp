// Backing-store faults as an initiator sees them (issue 11): the daemon's test
// build (sharedisk-target-faults) puts LUN 1 behind the fault-injecting store
// (blockdev/fault_device.h), driven through its control file; LUN 2 is a
// plain file. libiscsi sessions check the sense data of each failure, that the
// data on disk is what it must be, and that a LUN whose I/O is stuck or slow
// holds up neither the other LUN nor other sessions on the same event loop.
// Also: a real ENOSPC (a thin LUN on a full filesystem), no fault store.
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <thread>

#include "ops_support.h"

namespace ops {
namespace {

// Control files are replaced by rename, so the store always sees a new file.
void write_control(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

struct FaultTarget {
  explicit FaultTarget(const std::string& lun1_extra = "")
      : daemon(dir, SHAREDISK_FAULT_TARGET_BIN),
        port(free_port()),
        control(dir.file("lun1.faults")) {
    std::string y =
        "portals: [127.0.0.1:" + std::to_string(port) + "]\ntargets:\n  - iqn: " + kIqn +
        "\n    luns:\n      - number: 1\n        path: " + dir.file("a.img") +
        "\n        size: 16M\n        fault: {control: " + control + "}\n" + lun1_extra +
        "      - number: 2\n        path: " + dir.file("b.img") + "\n        size: 16M\n";
    daemon.start(y, 1);  // one event loop: every session and LUN share it
  }
  TempDir dir;
  Daemon daemon;
  uint16_t port;
  std::string control;
};

// TEST UNIT READY until GOOD: a new I_T nexus first reports its unit attention.
bool ready(iscsi_context* c, int lun) {
  for (int i = 0; i < 4; ++i) {
    scsi_task* t = iscsi_testunitready_sync(c, lun);
    bool ok = scsi_ok(t);
    if (t) scsi_free_scsi_task(t);
    if (ok) return true;
  }
  return false;
}

struct Sense {
  int status = -1, key = -1, asc_ascq = -1;
};
Sense sense_of(scsi_task* t) {
  Sense s;
  if (t == nullptr) return s;
  s.status = t->status;
  if (t->status == SCSI_STATUS_CHECK_CONDITION) {
    s.key = t->sense.key;
    s.asc_ascq = t->sense.ascq;
  }
  scsi_free_scsi_task(t);
  return s;
}

std::vector<uint8_t> read_blocks(iscsi_context* c, int lun, uint64_t lba, uint32_t bytes) {
  scsi_task* t = iscsi_read16_sync(c, lun, lba, bytes, 512, 0, 0, 0, 0, 0);
  std::vector<uint8_t> out;
  if (scsi_ok(t) && t->datain.size == int(bytes))
    out.assign(t->datain.data, t->datain.data + bytes);
  if (t) scsi_free_scsi_task(t);
  return out;
}

bool write_blocks(iscsi_context* c, int lun, uint64_t lba, std::vector<uint8_t> data) {
  scsi_task* t =
      iscsi_write16_sync(c, lun, lba, data.data(), uint32_t(data.size()), 512, 0, 0, 0, 0, 0);
  bool ok = scsi_ok(t);
  if (t) scsi_free_scsi_task(t);
  return ok;
}

TEST(FaultStore, ReadEioIsMediumErrorUnrecoveredReadError) {
  FaultTarget f;
  IscsiPtr s = iscsi_login(f.port, 1);
  ASSERT_TRUE(s && ready(s.get(), 1));
  ASSERT_TRUE(write_blocks(s.get(), 1, 100, std::vector<uint8_t>(4096, 0x5a)));
  write_control(f.control, "read error=EIO lba=104 blocks=1\n");

  Sense bad = sense_of(iscsi_read16_sync(s.get(), 1, 100, 4096, 512, 0, 0, 0, 0, 0));
  EXPECT_EQ(bad.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(bad.key, SCSI_SENSE_MEDIUM_ERROR);
  EXPECT_EQ(bad.asc_ascq, 0x1100) << "want 03/11/00 UNRECOVERED READ ERROR";
  // Outside the range the LUN still serves, and the data is intact.
  EXPECT_EQ(read_blocks(s.get(), 1, 96, 2048), std::vector<uint8_t>(2048, 0));
  write_control(f.control, "");
  EXPECT_EQ(read_blocks(s.get(), 1, 100, 4096), std::vector<uint8_t>(4096, 0x5a));
}

TEST(FaultStore, WriteEioIsMediumErrorWriteErrorAndWritesNothing) {
  FaultTarget f;
  IscsiPtr s = iscsi_login(f.port, 1);
  ASSERT_TRUE(s && ready(s.get(), 1));
  ASSERT_TRUE(write_blocks(s.get(), 1, 200, std::vector<uint8_t>(4096, 0x11)));
  write_control(f.control, "write error=EIO count=1\n");

  std::vector<uint8_t> data(4096, 0x22);
  Sense bad = sense_of(iscsi_write16_sync(s.get(), 1, 200, data.data(), 4096, 512, 0, 0, 0, 0, 0));
  EXPECT_EQ(bad.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(bad.key, SCSI_SENSE_MEDIUM_ERROR);
  EXPECT_EQ(bad.asc_ascq, 0x0C00) << "want 03/0C/00 WRITE ERROR";
  EXPECT_EQ(read_blocks(s.get(), 1, 200, 4096), std::vector<uint8_t>(4096, 0x11));
  // count=1: the retry goes through.
  ASSERT_TRUE(write_blocks(s.get(), 1, 200, data));
  EXPECT_EQ(read_blocks(s.get(), 1, 200, 4096), data);
}

TEST(FaultStore, EnospcOnAThinLunIsSpaceAllocationFailedWriteProtect) {
  FaultTarget f("        thin: on\n");
  IscsiPtr s = iscsi_login(f.port, 1);
  ASSERT_TRUE(s && ready(s.get(), 1));
  write_control(f.control, "write error=ENOSPC\n");
  std::vector<uint8_t> data(4096, 0x33);
  Sense bad = sense_of(iscsi_write16_sync(s.get(), 1, 8, data.data(), 4096, 512, 0, 0, 0, 0, 0));
  EXPECT_EQ(bad.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(bad.key, SCSI_SENSE_DATA_PROTECTION);
  EXPECT_EQ(bad.asc_ascq, 0x2707) << "want 07/27/07 SPACE ALLOCATION FAILED WRITE PROTECT";
  // Reads still work (the LUN is not write-protected for good).
  EXPECT_EQ(read_blocks(s.get(), 1, 8, 4096), std::vector<uint8_t>(4096, 0));
}

// One sync READ; its latency, or a huge value on failure.
std::chrono::microseconds timed_read(iscsi_context* c, int lun, uint64_t lba) {
  auto t0 = Clock::now();
  scsi_task* t = iscsi_read16_sync(c, lun, lba, 4096, 512, 0, 0, 0, 0, 0);
  bool ok = scsi_ok(t);
  if (t) scsi_free_scsi_task(t);
  if (!ok) return std::chrono::hours(1);
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
}

TEST(FaultStore, StuckLunHoldsUpNeitherTheOtherLunNorOtherSessions) {
  FaultTarget f;
  IscsiPtr a = iscsi_login(f.port, 1);
  IscsiPtr b = iscsi_login(f.port, 2, kIqn, kInitiator, 0x0200);
  ASSERT_TRUE(a && ready(a.get(), 1) && ready(a.get(), 2));
  ASSERT_TRUE(b && ready(b.get(), 1) && ready(b.get(), 2));
  ASSERT_TRUE(write_blocks(a.get(), 1, 0, std::vector<uint8_t>(4096, 0x77)));
  write_control(f.control, "any stuck\n");

  // Session A's READ of LUN 1 gets stuck in the store.
  struct Pending {
    bool done = false;
    int status = -1;
    std::vector<uint8_t> data;
  } stuck;
  scsi_task* t = iscsi_read16_task(
      a.get(), 1, 0, 4096, 512, 0, 0, 0, 0, 0,
      [](iscsi_context*, int, void* d, void* p) {
        auto* st = static_cast<Pending*>(p);
        auto* task = static_cast<scsi_task*>(d);
        st->done = true;
        st->status = task->status;
        if (task->datain.size == 4096)
          st->data.assign(task->datain.data, task->datain.data + task->datain.size);
        scsi_free_scsi_task(task);
      },
      &stuck);
  ASSERT_NE(t, nullptr);
  // Let it go out and reach the store (it cannot complete while held).
  service_until(
      a.get(), [] { return false; }, std::chrono::milliseconds(200));
  ASSERT_FALSE(stuck.done);

  // Meanwhile LUN 2, from the same session and from another one, on the same
  // event loop: 200 reads each, none slow.
  std::vector<std::chrono::microseconds> lat;
  for (int i = 0; i < 200; ++i) {
    lat.push_back(timed_read(a.get(), 2, uint64_t(i) * 8));
    lat.push_back(timed_read(b.get(), 2, uint64_t(i) * 8));
  }
  EXPECT_FALSE(stuck.done) << "the stuck READ completed while held";
  std::sort(lat.begin(), lat.end());
  auto p50 = lat[lat.size() / 2], p99 = lat[lat.size() * 99 / 100], worst = lat.back();
  std::printf(
      "LUN 2 reads while LUN 1 is stuck: %zu reads, p50 %lld us, p99 %lld us, max %lld us\n",
      lat.size(), (long long)p50.count(), (long long)p99.count(), (long long)worst.count());
  EXPECT_LT(worst, std::chrono::milliseconds(250));

  // Released: the held READ completes with the right data.
  write_control(f.control, "");
  ASSERT_TRUE(service_until(
      a.get(), [&] { return stuck.done; }, std::chrono::seconds(5)));
  EXPECT_EQ(stuck.status, SCSI_STATUS_GOOD);
  EXPECT_EQ(stuck.data, std::vector<uint8_t>(4096, 0x77));
}

TEST(FaultStore, DelayedLunIsSlowAndTheOtherIsNot) {
  FaultTarget f;
  IscsiPtr s = iscsi_login(f.port, 1);
  ASSERT_TRUE(s && ready(s.get(), 1) && ready(s.get(), 2));
  write_control(f.control, "read delay=300\n");
  auto slow = timed_read(s.get(), 1, 0);
  auto fast = timed_read(s.get(), 2, 0);
  std::printf("delay=300: LUN 1 read %lld us, LUN 2 read %lld us\n", (long long)slow.count(),
              (long long)fast.count());
  EXPECT_GE(slow, std::chrono::milliseconds(300));
  EXPECT_LT(slow, std::chrono::seconds(5));
  EXPECT_LT(fast, std::chrono::milliseconds(100));
}

// Issue 11, bug 2: a session reinstated (same InitiatorName and ISID) while
// one of its writes is still on its way to the disk. The new login must be
// answered only once that write has landed, so the new session's write to the
// same blocks is the one that stays; before, the old write landed 1 s later
// and overwrote acknowledged data.
TEST(FaultStore, ReinstatementWaitsForTheOldSessionsWrites) {
  FaultTarget f;
  constexpr uint32_t kIsid = 0x2b1d;
  const std::string initiator = "iqn.2026-01.test:reinstated";
  // Declared before the session: libiscsi may call back while it is destroyed.
  struct Done {
    bool done = false;
    int status = -1;
  } late;
  std::vector<uint8_t> a(4096, 0xaa), b(4096, 0xbb);
  IscsiPtr old = iscsi_login(f.port, 1, kIqn, initiator, kIsid);
  ASSERT_TRUE(old && ready(old.get(), 1));
  write_control(f.control, "write delay=1000 count=1\n");
  scsi_task* t = iscsi_write16_task(
      old.get(), 1, 8, a.data(), 4096, 512, 0, 0, 0, 0, 0,
      [](iscsi_context*, int, void* data, void* priv) {
        auto* d = static_cast<Done*>(priv);
        d->done = true;
        d->status = static_cast<scsi_task*>(data)->status;
        scsi_free_scsi_task(static_cast<scsi_task*>(data));
      },
      &late);
  ASSERT_NE(t, nullptr);
  // Send it, and give the target the time to hand it to the (delayed) store.
  service_until(
      old.get(), [&] { return (iscsi_which_events(old.get()) & POLLOUT) == 0; },
      std::chrono::seconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  auto start = std::chrono::steady_clock::now();
  IscsiPtr fresh = iscsi_login(f.port, 1, kIqn, initiator, kIsid);
  auto login_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  ASSERT_TRUE(fresh && ready(fresh.get(), 1));
  std::printf("reinstating login answered after %lld ms (old write delayed 1000 ms)\n",
              (long long)login_ms);
  EXPECT_GE(login_ms, 500) << "the login was answered before the old session's write landed";
  ASSERT_TRUE(write_blocks(fresh.get(), 1, 8, b));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the old write's delay
  EXPECT_EQ(read_blocks(fresh.get(), 1, 8, 4096), b)
      << "the old session's write landed over the new session's acknowledged one";
}

TEST(FaultStore, ProductionBuildRefusesFaultInjection) {
  TempDir dir;
  uint16_t port = free_port();
  std::string y = "portals: [127.0.0.1:" + std::to_string(port) + "]\ntargets:\n  - iqn: " + kIqn +
                  "\n    luns:\n      - number: 1\n        path: " + dir.file("a.img") +
                  "\n        size: 1M\n        fault: {control: " + dir.file("f") + "}\n";
  write_file(dir.file("lun.yaml"), y);
  std::string out = dir.file("out.txt");
  pid_t pid = sharedisk::test_support::spawn(
      {SHAREDISK_TARGET_BIN, "--config", dir.file("lun.yaml"), "--check"},
      {.output_path = out, .cwd = "", .as_nobody = false});
  int code = sharedisk::test_support::reap(pid, std::chrono::seconds(10));
  EXPECT_EQ(code, 2);
  EXPECT_NE(read_file(out).find("lun.yaml:8: targets[0].luns[0].fault: fault injection is for "
                                "tests only"),
            std::string::npos)
      << read_file(out);
}

// A real ENOSPC, no fault store: a sparse thin LUN larger than the tmpfs it
// lives on, written until the filesystem is full.
TEST(FaultStore, FullFilesystemUnderAThinLunGivesSpaceAllocationFailed) {
  TempDir dir;
  std::string mnt = dir.file("small");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  if (::mount("none", mnt.c_str(), "tmpfs", 0, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN): " << std::strerror(errno);
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{mnt};
  Daemon daemon(dir);
  uint16_t port = free_port();
  daemon.start("portals: [127.0.0.1:" + std::to_string(port) + "]\ntargets:\n  - iqn: " + kIqn +
               "\n    luns:\n      - number: 1\n        path: " + mnt +
               "/thin.img\n        size: 8M\n        thin: on\n        direct: false\n");
  IscsiPtr s = iscsi_login(port, 1);
  ASSERT_TRUE(s && ready(s.get(), 1));
  std::vector<uint8_t> data(65536, 0x44);
  Sense last;
  int written = 0;
  for (; written < 128; ++written) {  // 8 MiB at most; the filesystem holds 1 MiB
    last = sense_of(iscsi_write16_sync(s.get(), 1, uint64_t(written) * 128, data.data(), 65536, 512,
                                       0, 0, 0, 0, 0));
    if (last.status != SCSI_STATUS_GOOD) break;
  }
  EXPECT_LT(written, 20);
  EXPECT_EQ(last.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(last.key, SCSI_SENSE_DATA_PROTECTION);
  EXPECT_EQ(last.asc_ascq, 0x2707) << "want 07/27/07 SPACE ALLOCATION FAILED WRITE PROTECT";
  // What was acknowledged reads back.
  EXPECT_EQ(read_blocks(s.get(), 1, 0, 65536), data);
}

}  // namespace
}  // namespace ops
