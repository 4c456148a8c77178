// The verifying writer of the SIGKILL crash-consistency tests (file LUNs in
// tests/ops/durability_test.cpp, RBD LUNs in tests/rbd/rbd_daemon_test.cpp).
//
// kSlots slots of kSlot bytes on LUN 1; every write fills one slot with its
// slot number, a generation and a pattern derived from both, so a slot read
// back tells which generation it holds, or that it is torn or misplaced. The
// writer keeps kDepth async WRITE(16)s in flight (one in four FUA) and a
// SYNCHRONIZE CACHE every 24 acknowledged writes, and records per slot the
// newest generation issued, acknowledged, and acknowledged-durable (FUA, or
// acknowledged before a SYNCHRONIZE CACHE that completed GOOD).
#pragma once

#include <gtest/gtest.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <utility>
#include <vector>

namespace ops::crash {

constexpr uint32_t kSlot = 4096;   // bytes per verified slot (8 blocks)
constexpr uint32_t kSlots = 2048;  // 8 MiB from LBA 0

void fill_slot(uint8_t* p, uint32_t slot, uint32_t gen);
// The generation a slot holds: 0 for never written (zeros), -1 when torn or misplaced.
int64_t slot_generation(const uint8_t* p, uint32_t slot);

struct Writer {
  iscsi_context* c = nullptr;
  std::mt19937 rng{12345};
  std::vector<uint32_t> issued = std::vector<uint32_t>(kSlots, 0);
  std::vector<uint32_t> acked = std::vector<uint32_t>(kSlots, 0);
  std::vector<uint32_t> durable = std::vector<uint32_t>(kSlots, 0);
  std::vector<bool> busy = std::vector<bool>(kSlots, false);
  std::vector<std::pair<uint32_t, uint32_t>> acked_unsynced;  // (slot, gen)
  bool sync_running = false;
  uint64_t writes_ok = 0, fua_ok = 0, syncs_ok = 0, failures = 0;
  uint64_t synced_writes = 0;  // non-FUA writes made durable by a SYNCHRONIZE CACHE
  int inflight = 0;

  bool submit_write();
  bool submit_sync();
};

// Runs `w` on session `s` until `kill_after` has passed and at least half the
// queue is in flight, then calls `kill` (the SIGKILL) and returns; fails when
// no kill happened within `limit` or the session broke before it.
::testing::AssertionResult run_until_kill(Writer& w, iscsi_context* s,
                                          std::chrono::milliseconds kill_after,
                                          const std::function<void()>& kill,
                                          std::chrono::seconds limit = std::chrono::seconds(20));

struct Verdict {
  uint64_t durable_checked = 0;         // slots with an acknowledged-durable generation
  uint64_t newer_than_durable = 0;      // slots holding a newer generation than that
  uint64_t acked_not_durable_lost = 0;  // slots older than their newest acknowledged write
  void add(const Verdict& v) {
    durable_checked += v.durable_checked;
    newer_than_durable += v.newer_than_durable;
    acked_not_durable_lost += v.acked_not_durable_lost;
  }
};

// Checks `n` slots read back into `data`, starting at slot `first`: none torn
// or misplaced, none older than its acknowledged-durable generation (nor, with
// `every_ack_stable`, older than its newest acknowledged write), none newer
// than issued. Adds to `*v`.
::testing::AssertionResult check_slots(const Writer& w, const uint8_t* data, uint32_t first,
                                       uint32_t n, bool every_ack_stable, Verdict* v);

// Reads every slot of LUN 1 through session `r` and checks it.
::testing::AssertionResult verify_through_iscsi(const Writer& w, iscsi_context* r,
                                                bool every_ack_stable, Verdict* v);

}  // namespace ops::crash
