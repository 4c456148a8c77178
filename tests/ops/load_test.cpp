// Load: 64 sessions at queue depth 32 for a bounded time (SHAREDISK_LOAD_SECONDS,
// default 10), random 4 KiB reads and writes, every read checked against the
// last acknowledged write of its block and every block read back at the end;
// latency percentiles printed.
#include <algorithm>
#include <random>

#include "ops_support.h"

namespace ops {
namespace {

constexpr int kSessions = 64, kDepth = 32, kSlotsPer = 256;
constexpr uint32_t kSlot = 4096;

void fill(uint8_t* p, uint32_t slot, uint32_t gen) {
  uint64_t x = (uint64_t(slot) << 32 | gen) * 0x9e3779b97f4a7c15ull + 1;
  for (uint32_t off = 0; off < kSlot; off += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(p + off, &x, 8);
  }
  std::memcpy(p, &slot, 4);
  std::memcpy(p + 4, &gen, 4);
}

struct Session;
struct Op {
  Session* s;
  uint32_t slot;  // global slot
  uint32_t gen;   // written, or expected on read
  bool write;
  Clock::time_point t0;
  std::vector<uint8_t> data;
};

struct Session {
  IscsiPtr c;
  int index = 0;
  int inflight = 0;
  std::vector<uint32_t> acked = std::vector<uint32_t>(kSlotsPer, 0);
  std::vector<bool> busy = std::vector<bool>(kSlotsPer, false);
  std::vector<uint32_t>* latencies_us = nullptr;
  uint64_t reads = 0, writes = 0, errors = 0, mismatches = 0;
  std::mt19937 rng;
};

void done(iscsi_context*, int status, void* command_data, void* priv) {
  auto* op = static_cast<Op*>(priv);
  auto* task = static_cast<scsi_task*>(command_data);
  Session& s = *op->s;
  s.inflight--;
  uint32_t local = op->slot % kSlotsPer;
  s.busy[local] = false;
  s.latencies_us->push_back(uint32_t(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - op->t0).count()));
  if (status != SCSI_STATUS_GOOD) {
    s.errors++;
  } else if (op->write) {
    s.writes++;
    s.acked[local] = op->gen;
  } else {
    s.reads++;
    std::vector<uint8_t> want(kSlot, 0);
    if (op->gen != 0) fill(want.data(), op->slot, op->gen);
    if (task->datain.size != int(kSlot) || std::memcmp(task->datain.data, want.data(), kSlot) != 0)
      s.mismatches++;
  }
  if (task) scsi_free_scsi_task(task);
  delete op;
}

bool submit(Session& s) {
  uint32_t local;
  do local = s.rng() % kSlotsPer;
  while (s.busy[local]);
  s.busy[local] = true;
  uint32_t slot = uint32_t(s.index) * kSlotsPer + local;
  uint64_t lba = uint64_t(slot) * (kSlot / 512);
  bool write = s.rng() % 2 == 0;
  auto* op = new Op{&s, slot, write ? s.acked[local] + 1 : s.acked[local], write, Clock::now(), {}};
  s.inflight++;
  if (write) {
    op->data.resize(kSlot);
    fill(op->data.data(), slot, op->gen);
    return iscsi_write16_task(s.c.get(), 1, lba, op->data.data(), kSlot, 512, 0, 0, 0, 0, 0, done,
                              op) != nullptr;
  }
  return iscsi_read16_task(s.c.get(), 1, lba, kSlot, 512, 0, 0, 0, 0, 0, done, op) != nullptr;
}

TEST(Load, SixtyFourSessionsQueueDepth32Verified) {
  int seconds = 10;
  if (const char* e = std::getenv("SHAREDISK_LOAD_SECONDS")) seconds = std::max(1, std::atoi(e));
  TempDir dir;
  Daemon daemon(dir);
  uint16_t port = free_port();
  daemon.start(
      config_yaml(port, {{1, dir.file("load.img"), "64M"}}, "",
                  "iscsi:\n  queue_depth: 64\nlimits:\n  max_connections_per_address: 256\n"));
  std::vector<uint32_t> latencies;
  latencies.reserve(4 << 20);
  std::vector<Session> sessions(kSessions);
  for (int i = 0; i < kSessions; ++i) {
    sessions[i].index = i;
    sessions[i].rng.seed(1000 + i);
    sessions[i].latencies_us = &latencies;
    // 64 initiators (one session each), all from 127.0.0.1.
    sessions[i].c = iscsi_login(port, 1, kIqn, "iqn.2026-01.test:load-" + std::to_string(i));
    ASSERT_TRUE(sessions[i].c) << "login " << i;
  }
  EXPECT_EQ(count_of(daemon.admin("status").body, "session tsih"), size_t(kSessions));

  auto start = Clock::now(), end = start + std::chrono::seconds(seconds);
  std::vector<pollfd> fds(kSessions);
  while (true) {
    bool running = Clock::now() < end;
    int inflight = 0;
    for (Session& s : sessions) {
      while (running && s.inflight < kDepth) ASSERT_TRUE(submit(s));
      inflight += s.inflight;
    }
    if (!running && inflight == 0) break;
    ASSERT_LT(Clock::now(), end + std::chrono::seconds(30)) << "commands stuck";
    for (int i = 0; i < kSessions; ++i)
      fds[i] = {iscsi_get_fd(sessions[i].c.get()), short(iscsi_which_events(sessions[i].c.get())),
                0};
    ASSERT_GE(::poll(fds.data(), fds.size(), 1000), 0);
    for (int i = 0; i < kSessions; ++i) {
      if (fds[i].revents != 0) {
        ASSERT_EQ(iscsi_service(sessions[i].c.get(), fds[i].revents), 0)
            << iscsi_get_error(sessions[i].c.get());
      }
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  uint64_t reads = 0, writes = 0, errors = 0, mismatches = 0;
  for (Session& s : sessions) {
    reads += s.reads;
    writes += s.writes;
    errors += s.errors;
    mismatches += s.mismatches;
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) { return latencies[size_t(p * double(latencies.size() - 1))]; };
  std::printf(
      "[ load ] %d sessions x QD%d, %.1f s: %llu reads + %llu writes = %.0f IOPS "
      "(%.1f MiB/s), errors %llu, mismatches %llu\n",
      kSessions, kDepth, elapsed, (unsigned long long)reads, (unsigned long long)writes,
      double(reads + writes) / elapsed, double(reads + writes) * kSlot / elapsed / 1048576,
      (unsigned long long)errors, (unsigned long long)mismatches);
  std::printf("[ load ] latency us: p50 %u  p90 %u  p99 %u  p99.9 %u  max %u\n", pct(0.5), pct(0.9),
              pct(0.99), pct(0.999), latencies.back());
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(reads + writes, uint64_t(kSessions * kDepth));

  // Every block read back through one fresh session.
  IscsiPtr v = iscsi_login(port);
  ASSERT_TRUE(v);
  uint64_t checked = 0, bad = 0;
  for (Session& s : sessions) {
    uint64_t lba = uint64_t(s.index) * kSlotsPer * (kSlot / 512);
    scsi_task* t = iscsi_read16_sync(v.get(), 1, lba, kSlotsPer * kSlot, 512, 0, 0, 0, 0, 0);
    ASSERT_TRUE(scsi_ok(t));
    std::vector<uint8_t> want(kSlot);
    for (int i = 0; i < kSlotsPer; ++i) {
      std::fill(want.begin(), want.end(), 0);
      uint32_t slot = uint32_t(s.index) * kSlotsPer + i;
      if (s.acked[i] != 0) fill(want.data(), slot, s.acked[i]);
      bad += std::memcmp(t->datain.data + size_t(i) * kSlot, want.data(), kSlot) != 0;
      checked++;
    }
    scsi_free_scsi_task(t);
  }
  std::printf("[ load ] final read-back: %llu blocks checked, %llu wrong\n",
              (unsigned long long)checked, (unsigned long long)bad);
  EXPECT_EQ(bad, 0u);
}

}  // namespace
}  // namespace ops
