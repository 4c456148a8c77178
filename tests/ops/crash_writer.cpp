#include "crash_writer.h"

#include <poll.h>

#include <algorithm>
#include <cstring>

namespace ops::crash {
namespace {

constexpr uint64_t kMagic = 0x53444f5053534c54ull;  // "SDOPSSLT"
constexpr int kDepth = 16;
constexpr uint64_t kWritesPerSync = 24;

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

struct Op {
  Writer* w;
  uint32_t slot, gen;
  bool fua;
  std::vector<uint8_t> data;
  std::vector<std::pair<uint32_t, uint32_t>> covered;  // for SYNCHRONIZE CACHE
  bool sync = false;
};

void done(iscsi_context*, int status, void* command_data, void* priv) {
  auto* op = static_cast<Op*>(priv);
  auto* task = static_cast<scsi_task*>(command_data);
  Writer& w = *op->w;
  w.inflight--;
  bool ok = status == SCSI_STATUS_GOOD;
  if (op->sync) {
    w.sync_running = false;
    if (ok) {
      w.syncs_ok++;
      w.synced_writes += op->covered.size();
      for (auto [slot, gen] : op->covered) w.durable[slot] = std::max(w.durable[slot], gen);
    }
  } else {
    w.busy[op->slot] = false;
    if (ok) {
      w.writes_ok++;
      w.acked[op->slot] = std::max(w.acked[op->slot], op->gen);
      if (op->fua) {
        w.fua_ok++;
        w.durable[op->slot] = std::max(w.durable[op->slot], op->gen);
      } else {
        w.acked_unsynced.emplace_back(op->slot, op->gen);
      }
    }
  }
  if (!ok) w.failures++;
  if (task != nullptr) scsi_free_scsi_task(task);
  delete op;
}

}  // namespace

void fill_slot(uint8_t* p, uint32_t slot, uint32_t gen) {
  std::memcpy(p, &kMagic, 8);
  std::memcpy(p + 8, &slot, 4);
  std::memcpy(p + 12, &gen, 4);
  uint64_t seed = mix(uint64_t(slot) << 32 | gen);
  for (uint32_t off = 16; off < kSlot; off += 8) {
    seed = mix(seed + off);
    std::memcpy(p + off, &seed, 8);
  }
}

int64_t slot_generation(const uint8_t* p, uint32_t slot) {
  static const std::vector<uint8_t> zeros(kSlot, 0);
  if (std::memcmp(p, zeros.data(), kSlot) == 0) return 0;
  uint32_t s, gen;
  std::memcpy(&s, p + 8, 4);
  std::memcpy(&gen, p + 12, 4);
  if (s != slot) return -1;
  std::vector<uint8_t> want(kSlot);
  fill_slot(want.data(), slot, gen);
  return std::memcmp(p, want.data(), kSlot) == 0 ? int64_t(gen) : -1;
}

bool Writer::submit_write() {
  uint32_t slot;
  do slot = rng() % kSlots;
  while (busy[slot]);
  auto* op = new Op{this, slot, ++issued[slot], rng() % 4 == 0, std::vector<uint8_t>(kSlot), {}};
  fill_slot(op->data.data(), slot, op->gen);
  busy[slot] = true;
  inflight++;
  return iscsi_write16_task(c, 1, uint64_t(slot) * (kSlot / 512), op->data.data(), kSlot, 512, 0, 0,
                            op->fua, 0, 0, done, op) != nullptr;
}

bool Writer::submit_sync() {
  auto* op = new Op{this, 0, 0, false, {}, std::move(acked_unsynced), true};
  acked_unsynced.clear();
  sync_running = true;
  inflight++;
  return iscsi_synchronizecache10_task(c, 1, 0, 0, 0, 0, done, op) != nullptr;
}

::testing::AssertionResult run_until_kill(Writer& w, iscsi_context* s,
                                          std::chrono::milliseconds kill_after,
                                          const std::function<void()>& kill,
                                          std::chrono::seconds limit) {
  using Clock = std::chrono::steady_clock;
  w.c = s;
  auto start = Clock::now();
  uint64_t since_sync = 0, last_ok = w.writes_ok;
  while (Clock::now() < start + limit) {
    if (Clock::now() >= start + kill_after && w.inflight >= kDepth / 2) {
      kill();  // mid-stream: commands in flight
      return ::testing::AssertionSuccess();
    }
    while (w.inflight < kDepth) {
      if (since_sync >= kWritesPerSync && !w.sync_running) {
        if (!w.submit_sync()) return ::testing::AssertionFailure() << "SYNCHRONIZE CACHE not sent";
        since_sync = 0;
      } else if (!w.submit_write()) {
        return ::testing::AssertionFailure() << "WRITE(16) not sent";
      }
    }
    pollfd p{iscsi_get_fd(s), short(iscsi_which_events(s)), 0};
    if (::poll(&p, 1, 1000) < 0) return ::testing::AssertionFailure() << "poll failed";
    if (iscsi_service(s, p.revents) != 0)
      return ::testing::AssertionFailure() << "session broke: " << iscsi_get_error(s);
    since_sync += w.writes_ok - last_ok;
    last_ok = w.writes_ok;
  }
  return ::testing::AssertionFailure() << "no SIGKILL within " << limit.count() << " s";
}

::testing::AssertionResult check_slots(const Writer& w, const uint8_t* data, uint32_t first,
                                       uint32_t n, bool every_ack_stable, Verdict* v) {
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t slot = first + i;
    int64_t gen = slot_generation(data + size_t(i) * kSlot, slot);
    if (gen < 0)
      return ::testing::AssertionFailure()
             << "slot " << slot << " is torn or holds another slot's data";
    if (uint64_t(gen) < w.durable[slot])
      return ::testing::AssertionFailure()
             << "slot " << slot << ": acknowledged-durable generation " << w.durable[slot]
             << " lost (found " << gen << ")";
    if (uint64_t(gen) > w.issued[slot])
      return ::testing::AssertionFailure() << "slot " << slot << ": generation " << gen
                                           << " was never written (last " << w.issued[slot] << ")";
    if (every_ack_stable && uint64_t(gen) < w.acked[slot])
      return ::testing::AssertionFailure() << "slot " << slot << ": acknowledged generation "
                                           << w.acked[slot] << " lost (found " << gen << ")";
    if (w.durable[slot] > 0) v->durable_checked++;
    if (uint64_t(gen) > w.durable[slot]) v->newer_than_durable++;
    if (uint64_t(gen) < w.acked[slot]) v->acked_not_durable_lost++;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult verify_through_iscsi(const Writer& w, iscsi_context* r,
                                                bool every_ack_stable, Verdict* v) {
  constexpr uint32_t kChunk = 64;  // slots per read
  for (uint32_t first = 0; first < kSlots; first += kChunk) {
    scsi_task* t = iscsi_read16_sync(r, 1, uint64_t(first) * (kSlot / 512), kChunk * kSlot, 512, 0,
                                     0, 0, 0, 0);
    if (t == nullptr || t->status != SCSI_STATUS_GOOD || t->datain.size != int(kChunk * kSlot)) {
      if (t != nullptr) scsi_free_scsi_task(t);
      return ::testing::AssertionFailure() << "READ(16) of slot " << first << " failed";
    }
    auto ok = check_slots(w, t->datain.data, first, kChunk, every_ack_stable, v);
    scsi_free_scsi_task(t);
    if (!ok) return ok;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace ops::crash
