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
#include <random>
#include <unordered_map>

#include "ops_support.h"

namespace ops {
namespace {

constexpr uint32_t kSlot = 4096;  // bytes per verified slot (8 blocks)
constexpr uint32_t kSlots = 2048;
constexpr uint64_t kMagic = 0x53444f5053534c54ull;  // "SDOPSSLT"

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

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

// The generation a slot holds: 0 for never written (zeros), -1 when torn or misplaced.
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
  int inflight = 0;

  struct Op {
    Writer* w;
    uint32_t slot, gen;
    bool fua;
    std::vector<uint8_t> data;
    std::vector<std::pair<uint32_t, uint32_t>> covered;  // for SYNCHRONIZE CACHE
    bool sync = false;
  };

  static void done(iscsi_context*, int status, void* command_data, void* priv) {
    auto* op = static_cast<Op*>(priv);
    auto* task = static_cast<scsi_task*>(command_data);
    Writer& w = *op->w;
    w.inflight--;
    bool ok = status == SCSI_STATUS_GOOD;
    if (op->sync) {
      w.sync_running = false;
      if (ok) {
        w.syncs_ok++;
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

  bool submit_write() {
    uint32_t slot;
    do slot = rng() % kSlots;
    while (busy[slot]);
    auto* op = new Op{this, slot, ++issued[slot], rng() % 4 == 0, std::vector<uint8_t>(kSlot), {}};
    fill_slot(op->data.data(), slot, op->gen);
    busy[slot] = true;
    inflight++;
    return iscsi_write16_task(c, 1, uint64_t(slot) * (kSlot / 512), op->data.data(), kSlot, 512, 0,
                              0, op->fua, 0, 0, done, op) != nullptr;
  }
  bool submit_sync() {
    auto* op = new Op{this, 0, 0, false, {}, std::move(acked_unsynced), true};
    acked_unsynced.clear();
    sync_running = true;
    inflight++;
    return iscsi_synchronizecache10_task(c, 1, 0, 0, 0, 0, done, op) != nullptr;
  }
};

class CrashConsistency : public ::testing::TestWithParam<bool> {};

TEST_P(CrashConsistency, AcknowledgedDurableWritesSurviveSigkill) {
  bool write_back = GetParam();
  TempDir dir;
  Daemon daemon(dir);
  uint16_t port = free_port();
  daemon.start(config_yaml(port, {{1, dir.file("crash.img"), "16M", write_back}}));
  IscsiPtr s = iscsi_login(port);
  ASSERT_TRUE(s);

  Writer w;
  w.c = s.get();
  constexpr int kDepth = 16;
  auto start = Clock::now();
  auto kill_at = start + std::chrono::milliseconds(1500);
  bool killed = false;
  uint64_t since_sync = 0, last_ok = 0;
  while (Clock::now() < start + std::chrono::seconds(20)) {
    if (!killed && Clock::now() >= kill_at && w.inflight >= kDepth / 2) {
      daemon.kill9();  // mid-stream: commands in flight
      killed = true;
      break;
    }
    while (w.inflight < kDepth) {
      if (since_sync >= 24 && !w.sync_running) {
        ASSERT_TRUE(w.submit_sync());
        since_sync = 0;
      } else {
        ASSERT_TRUE(w.submit_write());
      }
    }
    pollfd p{iscsi_get_fd(s.get()), short(iscsi_which_events(s.get())), 0};
    ASSERT_GE(::poll(&p, 1, 1000), 0);
    ASSERT_EQ(iscsi_service(s.get(), p.revents), 0) << iscsi_get_error(s.get());
    since_sync += w.writes_ok - last_ok;
    last_ok = w.writes_ok;
  }
  ASSERT_TRUE(killed);
  int lost_in_flight = w.inflight;
  uint64_t failures_before_kill = w.failures;
  s.reset();  // cancels the in-flight commands (their callbacks report errors)

  daemon.start_existing();
  IscsiPtr r = iscsi_login(port);
  ASSERT_TRUE(r);
  uint64_t durable_checked = 0, newer_than_durable = 0, acked_not_durable_lost = 0;
  constexpr uint32_t kChunk = 64;  // slots per read
  for (uint32_t first = 0; first < kSlots; first += kChunk) {
    scsi_task* t = iscsi_read16_sync(r.get(), 1, uint64_t(first) * (kSlot / 512), kChunk * kSlot,
                                     512, 0, 0, 0, 0, 0);
    ASSERT_TRUE(scsi_ok(t));
    ASSERT_EQ(t->datain.size, int(kChunk * kSlot));
    for (uint32_t i = 0; i < kChunk; ++i) {
      uint32_t slot = first + i;
      int64_t gen = slot_generation(t->datain.data + size_t(i) * kSlot, slot);
      ASSERT_GE(gen, 0) << "slot " << slot << " is torn or holds another slot's data";
      ASSERT_GE(uint64_t(gen), w.durable[slot])
          << "slot " << slot << ": acknowledged-durable generation " << w.durable[slot]
          << " lost (found " << gen << ")";
      ASSERT_LE(uint64_t(gen), w.issued[slot]);
      if (!write_back) {
        // Write-through: every acknowledged write was stable before its ack.
        ASSERT_GE(uint64_t(gen), w.acked[slot]) << "slot " << slot;
      }
      if (w.durable[slot] > 0) durable_checked++;
      if (uint64_t(gen) > w.durable[slot]) newer_than_durable++;
      if (uint64_t(gen) < w.acked[slot]) acked_not_durable_lost++;
    }
    scsi_free_scsi_task(t);
  }
  std::printf(
      "[ crash %s ] %llu writes acked (%llu FUA), %llu SYNCHRONIZE CACHE, %d in flight at "
      "SIGKILL; %llu slots with a durable generation verified, %llu slots newer than "
      "their durable generation, %llu acked-but-unsynced generations not found\n",
      write_back ? "write-back" : "write-through", (unsigned long long)w.writes_ok,
      (unsigned long long)w.fua_ok, (unsigned long long)w.syncs_ok, lost_in_flight,
      (unsigned long long)durable_checked, (unsigned long long)newer_than_durable,
      (unsigned long long)acked_not_durable_lost);
  EXPECT_GT(w.writes_ok, 100u);
  EXPECT_GT(w.syncs_ok, 0u);
  EXPECT_GT(durable_checked, 100u);
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
