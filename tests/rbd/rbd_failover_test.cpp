// Failover between two gateways of one RBD image (examples/gateway-{a,b}.yaml)
// under a verified write load, and the implicit ALUA that follows the RBD
// exclusive lock.
//
// FailoverUnderVerifiedLoad: a writer stamps every 4 KiB block it writes with
// a new generation (a counter over all writes) and remembers the generation
// of each acknowledged block. Each round it writes through gateway A (which
// then holds the exclusive lock), SIGKILLs A while writes are in flight,
// reconnects to B and goes on; B breaks the dead gateway's lock (librbd
// blocklists A's client). Then every block must read back, through B, with
// its last acknowledged generation; A is started again and everything is
// read again through both gateways (a write A had in flight must not land
// late), and the writer fails back to A. Both paths must report the same
// REPORT TARGET PORT GROUPS at each step: the lock holder's group
// active/optimized, the other active/non-optimized. Prints the failover
// times (kill -> first write completed through B). Rounds:
// SHAREDISK_FAILOVER_ROUNDS (default 3).
//
// FrozenGatewaysStaleWriteNeverLands: A stopped (SIGSTOP) while holding the
// lock with a write queued; B breaks the lock and blocklists A; A's write,
// run once A continues, never lands.
//
// BothPathsWriting: writers on both gateways at once with the owner dwell
// off (gateway.lock_dwell_ms 0), the lock moving at nearly every write that
// lands on the other gateway; prints the lock moves per second and the
// writes per second of each path, and checks every block.
//
// OwnerDwellCapsLockMoves: the same with lock_dwell_ms 200 (or
// SHAREDISK_LOCK_DWELL_MS): the moves per second must stay under twice
// 1000/dwell, both paths still write, every
// block reads back through both gateways and in `rbd export`.
//
// HeldWriteAbortedOrSessionLostNeverLands: a write held for the dwell is
// dropped by ABORT TASK and by another initiator's LOGICAL UNIT RESET (each
// answered well before the dwell ends) and by the loss of its session; past
// the dwell it has not landed anywhere.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "ceph_cluster.h"
#include "gateway_pair.h"

namespace ops {
namespace {

constexpr uint32_t kBlock = 4096;
constexpr uint32_t kBlocks = 256;  // 1 MiB of the image, block i at byte i * 4096
constexpr uint32_t kSector = 512;

// Block `index` written with generation `gen`: both in the first 16 bytes,
// the rest a pattern of both (a torn or stale block does not match).
void fill(std::vector<uint8_t>& b, uint32_t index, uint64_t gen) {
  b.resize(kBlock);
  std::memcpy(b.data(), &gen, 8);
  uint64_t idx = index;
  std::memcpy(b.data() + 8, &idx, 8);
  for (uint32_t i = 16; i < kBlock; ++i) b[i] = uint8_t(gen * 131 + index * 7 + i);
}

// The generation a block carries, or ~0 when it is not a whole block of ours.
uint64_t generation_of(const uint8_t* p, uint32_t index) {
  uint64_t gen, idx;
  std::memcpy(&gen, p, 8);
  std::memcpy(&idx, p + 8, 8);
  if (gen == 0 && idx == 0) return 0;  // never written
  std::vector<uint8_t> want;
  fill(want, index, gen);
  return idx == index && std::memcmp(p, want.data(), kBlock) == 0 ? gen : ~uint64_t(0);
}

bool unit_attention(scsi_task* t) {
  return t != nullptr && t->status == SCSI_STATUS_CHECK_CONDITION &&
         t->sense.key == SCSI_SENSE_UNIT_ATTENTION;
}

// One 4 KiB write; a unit attention (2A/06 when the lock moved) is retried.
// "good", or what failed.
std::string write_block(iscsi_context* s, uint32_t index, const std::vector<uint8_t>& data) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    scsi_task* t =
        iscsi_write16_sync(s, 1, uint64_t(index) * (kBlock / kSector),
                           const_cast<uint8_t*>(data.data()), kBlock, kSector, 0, 0, 0, 0, 0);
    const bool ua = unit_attention(t);
    std::string out = t == nullptr ? std::string("no answer: ") + iscsi_get_error(s) : outcome(t);
    if (t != nullptr) scsi_free_scsi_task(t);
    if (!ua) return out;
  }
  return "unit attention four times";
}

// Every block through `s`; the generations (~0: not ours, empty: the read failed).
std::vector<uint64_t> read_generations(iscsi_context* s) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    scsi_task* t = iscsi_read16_sync(s, 1, 0, kBlocks * kBlock, kSector, 0, 0, 0, 0, 0);
    if (unit_attention(t)) {
      scsi_free_scsi_task(t);
      continue;
    }
    std::vector<uint64_t> out;
    if (scsi_ok(t) && t->datain.size == int(kBlocks * kBlock))
      for (uint32_t i = 0; i < kBlocks; ++i)
        out.push_back(generation_of(t->datain.data + size_t(i) * kBlock, i));
    if (t != nullptr) scsi_free_scsi_task(t);
    return out;
  }
  return {};
}

// Blocks whose generation is not the acknowledged one, as "block: read/acked".
std::string mismatches(const std::vector<uint64_t>& read, const std::vector<uint64_t>& acked) {
  if (read.size() != acked.size()) return "read failed";
  std::string out;
  int shown = 0;
  for (size_t i = 0; i < acked.size(); ++i)
    if (read[i] != acked[i] && shown++ < 8)
      out +=
          std::to_string(i) + ": " + std::to_string(read[i]) + "/" + std::to_string(acked[i]) + " ";
  return out;
}

// Every block as `rbd export` of rbd/`image` reads it (empty if it failed).
std::vector<uint64_t> exported_generations(rbdtest::CephCluster& c, const std::string& image) {
  const std::string out = c.file(image + ".img");
  ::unlink(out.c_str());
  if (c.rbd({"export", "rbd/" + image, out}) != 0) return {};
  std::ifstream f(out, std::ios::binary);
  std::vector<uint8_t> data(size_t(kBlocks) * kBlock);
  if (!f.read(reinterpret_cast<char*>(data.data()), std::streamsize(data.size()))) return {};
  std::vector<uint64_t> gens;
  for (uint32_t i = 0; i < kBlocks; ++i)
    gens.push_back(generation_of(data.data() + size_t(i) * kBlock, i));
  return gens;
}

IscsiPtr login_with_timeout(uint16_t port) {
  IscsiPtr s = iscsi_login(port, 1, kGatewayIqn);
  // A write that waits for the lock of a dead gateway is bounded.
  if (s) iscsi_set_timeout(s.get(), 60);
  return s;
}

// The first counter `key` in `status --json` (LUN 1 of the gateway target).
uint64_t status_counter(Daemon& d, const std::string& key) {
  std::string body = d.admin("status --json").body;
  size_t at = body.find("\"" + key + "\":");
  return at == std::string::npos ? 0
                                 : std::strtoull(body.c_str() + at + key.size() + 3, nullptr, 10);
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class RbdFailover : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_CLUSTER(); }
  rbdtest::CephCluster& c() { return rbdtest::cluster(); }
};

const Group kG1Opt{0x0, 1, {1}}, kG2NonOpt{0x1, 2, {2}}, kG2Opt{0x0, 2, {2}},
    kG1NonOpt{0x1, 1, {1}};

TEST_F(RbdFailover, FailoverUnderVerifiedLoad) {
  const char* env = std::getenv("SHAREDISK_FAILOVER_ROUNDS");
  const int rounds = env != nullptr ? std::max(1, std::atoi(env)) : 3;
  ASSERT_EQ(c().rbd({"create", "--size", "16", "rbd/failover1"}), 0)
      << read_file(c().file("rbd.out"));
  GatewayPair pair(c().conf(), "failover1");
  Daemon &a = pair.a, &b = pair.b;
  const uint16_t port_a = pair.port_a, port_b = pair.port_b;
  IscsiPtr sb = login_with_timeout(port_b);  // B's reader (and the writer's path after a kill)
  ASSERT_TRUE(sb);

  std::vector<uint64_t> acked(kBlocks, 0);
  uint64_t gen = 0;
  uint32_t next = 0;
  std::vector<uint8_t> buf;
  std::vector<double> failover_ms, failback_ms;
  uint64_t writes = 0;

  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Fail back (or start) on A: the lock moves to A, cooperatively.
    IscsiPtr sa = login_with_timeout(port_a);
    ASSERT_TRUE(sa);
    auto back0 = Clock::now();
    fill(buf, next, ++gen);
    ASSERT_EQ(write_block(sa.get(), next, buf), "good");
    failback_ms.push_back(ms_between(back0, Clock::now()));
    acked[next] = gen;
    next = (next + 1) % kBlocks;
    EXPECT_EQ(await_groups({sa.get(), sb.get()}, {kG1Opt, kG2NonOpt}, std::chrono::seconds(10)),
              (std::vector<Group>{kG1Opt, kG2NonOpt}))
        << "both paths: A's group optimized while A holds the lock";

    // Writes through A; a second thread SIGKILLs A after 300-700 ms.
    std::atomic<bool> killed{false};
    Clock::time_point kill_at;
    std::thread killer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300 + 100 * (round % 5)));
      kill_at = Clock::now();
      killed = true;  // before the signal: the writer may see the loss at once
      ::kill(a.pid(), SIGKILL);
    });
    iscsi_context* path = sa.get();
    bool on_b = false;
    auto phase_end = Clock::now() + std::chrono::seconds(30);
    int after_failover = 0;
    std::string failure;
    while (Clock::now() < phase_end && after_failover < 50) {
      fill(buf, next, ++gen);
      std::string r = write_block(path, next, buf);
      if (r == "good") {
        ++writes;
        acked[next] = gen;
        next = (next + 1) % kBlocks;
        if (on_b && after_failover++ == 0) failover_ms.push_back(ms_between(kill_at, Clock::now()));
        continue;
      }
      // Not acknowledged: the block keeps its acknowledged generation (or
      // this one, should the write have reached the cluster: never later).
      if (on_b || !killed.load()) {
        failure =
            (on_b ? "write through B failed: " : "write through A failed before the kill: ") + r;
        break;
      }
      path = sb.get();  // the same block again, with a new generation
      on_b = true;
    }
    killer.join();
    ASSERT_EQ(failure, "");
    a.kill9();  // reaps it
    sa.reset();
    ASSERT_TRUE(on_b) << "A was killed but every write went through";
    ASSERT_EQ(after_failover, 50) << "B did not take over within 30 s";

    // Every acknowledged block, with its last generation, through B.
    std::vector<uint64_t> seen = read_generations(sb.get());
    EXPECT_EQ(mismatches(seen, acked), "") << "through B after the kill";
    EXPECT_EQ(await_groups({sb.get()}, {kG1NonOpt, kG2Opt}, std::chrono::seconds(10)),
              (std::vector<Group>{kG1NonOpt, kG2Opt}));

    // A comes back: it must report B as the owner, and nothing A had in
    // flight may land now.
    a.start_existing();
    IscsiPtr sa2 = login_with_timeout(port_a);
    ASSERT_TRUE(sa2);
    EXPECT_EQ(await_groups({sa2.get(), sb.get()}, {kG1NonOpt, kG2Opt}, std::chrono::seconds(10)),
              (std::vector<Group>{kG1NonOpt, kG2Opt}))
        << "both paths: B's group optimized while B holds the lock";
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(mismatches(read_generations(sb.get()), acked), "") << "through B after A is back";
    EXPECT_EQ(mismatches(read_generations(sa2.get()), acked), "") << "through A after it is back";
    EXPECT_GE(status_counter(b, "acquired"), 1u) << read_file(b.log_path());
    // The admin view names the holder on both gateways.
    EXPECT_NE(b.admin("status").body.find("lock owner: this gateway (gw-b, group 2)"),
              std::string::npos)
        << b.admin("status").body;
    EXPECT_NE(a.admin("status").body.find("lock owner: gw-b group 2"), std::string::npos)
        << a.admin("status").body;
  }

  // The cluster's own view of the image (`rbd export`), once at the end.
  EXPECT_EQ(mismatches(exported_generations(c(), "failover1"), acked), "") << "rbd export";

  std::sort(failover_ms.begin(), failover_ms.end());
  std::sort(failback_ms.begin(), failback_ms.end());
  if (!failover_ms.empty())
    std::printf(
        "failover (SIGKILL A -> first write completed through B), %zu kills, %llu writes: "
        "min %.0f ms, median %.0f ms, max %.0f ms; failback to A (first write): median %.0f ms\n",
        failover_ms.size(), static_cast<unsigned long long>(writes), failover_ms.front(),
        failover_ms[failover_ms.size() / 2], failover_ms.back(),
        failback_ms[failback_ms.size() / 2]);
  sb.reset();
  pair.stop();
}

// A gateway that freezes (SIGSTOP: a partition, a stalled host) while it
// holds the lock and has a write queued: B breaks the lock once the cluster
// times out A's watch and blocklists A's client, so when A runs again its
// stale write cannot overwrite what B wrote meanwhile.
TEST_F(RbdFailover, FrozenGatewaysStaleWriteNeverLands) {
  ASSERT_EQ(c().rbd({"create", "--size", "16", "rbd/frozen1"}), 0)
      << read_file(c().file("rbd.out"));
  GatewayPair pair(c().conf(), "frozen1");
  IscsiPtr sa = login_with_timeout(pair.port_a), sb = login_with_timeout(pair.port_b);
  ASSERT_TRUE(sa && sb);
  std::vector<uint8_t> buf;
  fill(buf, 7, 1);
  ASSERT_EQ(write_block(sa.get(), 7, buf), "good");  // A holds the lock

  ::kill(pair.a.pid(), SIGSTOP);
  // A write to A that A only reads once it runs again: the initiator gives up.
  iscsi_set_timeout(sa.get(), 2);
  fill(buf, 7, 2);
  EXPECT_NE(write_block(sa.get(), 7, buf), "good");
  sa.reset();
  // Through B: it waits for A's watch to time out, breaks the lock, goes on.
  auto t0 = Clock::now();
  fill(buf, 7, 3);
  EXPECT_EQ(write_block(sb.get(), 7, buf), "good");
  const double takeover = ms_between(t0, Clock::now());
  ::kill(pair.a.pid(), SIGCONT);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // A runs what it had
  std::vector<uint64_t> acked(kBlocks, 0);
  acked[7] = 3;
  EXPECT_EQ(mismatches(read_generations(sb.get()), acked), "") << read_file(pair.a.log_path());
  EXPECT_EQ(mismatches(exported_generations(c(), "frozen1"), acked), "") << "rbd export";
  // What A made of its stale write (it may also have seen the connection
  // close first): its LUN's error count.
  std::printf(
      "frozen holder: B's first write completed after %.0f ms; A's failed commands after it "
      "ran again: %llu\n",
      takeover, static_cast<unsigned long long>(status_counter(pair.a, "errors")));
  sb.reset();
  pair.a.kill9();  // blocklisted: its client is of no use any more
  EXPECT_EQ(pair.b.stop(), 0) << read_file(pair.b.log_path());
}

// Writers on both gateways at once for `seconds` (A the even blocks, B the
// odd ones, each at queue depth 1) after A alone for 1 s, with
// gateway.lock_dwell_ms = `dwell_ms` on both; every block read back through
// both paths and checked. Prints the lock moves per second and the writes
// per second of each path.
struct BothPaths {
  double seconds = 0, alone = 0, moves_per_s = 0, iops_a = 0, iops_b = 0;
  uint64_t moves = 0, changes = 0, held_a = 0, held_b = 0;
};
BothPaths both_paths_writing(rbdtest::CephCluster& c, const std::string& image, int dwell_ms,
                             int seconds) {
  BothPaths out;
  EXPECT_EQ(c.rbd({"create", "--size", "16", "rbd/" + image}), 0) << read_file(c.file("rbd.out"));
  GatewayPair pair(c.conf(), image, dwell_ms);
  Daemon &a = pair.a, &b = pair.b;
  IscsiPtr sa = login_with_timeout(pair.port_a), sb = login_with_timeout(pair.port_b);
  EXPECT_TRUE(sa && sb);
  if (!sa || !sb) return out;

  std::vector<uint64_t> acked(kBlocks, 0);
  std::atomic<uint64_t> gen{0};
  uint64_t count[2] = {0, 0};
  std::string failed[2];
  auto start = Clock::now(), end = start + std::chrono::seconds(1);
  auto writer = [&](int who, iscsi_context* s) {
    std::vector<uint8_t> buf;
    for (uint32_t i = uint32_t(who); Clock::now() < end; i = (i + 2) % kBlocks) {
      uint64_t g = ++gen;
      fill(buf, i, g);
      std::string r = write_block(s, i, buf);
      if (r != "good") {
        failed[who] = r;
        return;
      }
      acked[i] = g;  // each writer owns its blocks
      ++count[who];
    }
  };
  writer(0, sa.get());
  out.alone = double(count[0]) / (ms_between(start, Clock::now()) / 1000);
  count[0] = 0;
  const uint64_t changes_a0 = status_counter(a, "owner_changes"),
                 changes_b0 = status_counter(b, "owner_changes"),
                 acquired0 = status_counter(a, "acquired") + status_counter(b, "acquired");
  start = Clock::now();
  end = start + std::chrono::seconds(seconds);
  std::thread ta(writer, 0, sa.get()), tb(writer, 1, sb.get());
  ta.join();
  tb.join();
  out.seconds = ms_between(start, Clock::now()) / 1000;
  EXPECT_EQ(failed[0], "");
  EXPECT_EQ(failed[1], "");
  EXPECT_GT(count[0], 0u);
  EXPECT_GT(count[1], 0u);
  EXPECT_EQ(mismatches(read_generations(sa.get()), acked), "");
  EXPECT_EQ(mismatches(read_generations(sb.get()), acked), "");
  // Both paths agree on the owner once the writes stop.
  std::vector<Group> ga =
      await_groups({sa.get()}, sorted_groups(sb.get()), std::chrono::seconds(10));
  EXPECT_EQ(ga, sorted_groups(sb.get()));
  // A move is one gateway taking the lock: the acquisitions both saw. (A
  // gateway's owner changes count a move twice when it sees the lock free in
  // between, holder -> nobody -> new holder.)
  out.moves = status_counter(a, "acquired") + status_counter(b, "acquired") - acquired0;
  out.changes = std::max(status_counter(a, "owner_changes") - changes_a0,
                         status_counter(b, "owner_changes") - changes_b0);
  out.moves_per_s = double(out.moves) / out.seconds;
  out.iops_a = double(count[0]) / out.seconds;
  out.iops_b = double(count[1]) / out.seconds;
  out.held_a = status_counter(a, "held_total");
  out.held_b = status_counter(b, "held_total");
  std::printf(
      "lock_dwell_ms %d: one path writing: %.0f writes/s; both paths writing for %.1f s: %.0f "
      "writes/s through A, %.0f through B; %llu lock moves (%.1f/s; owner changes seen %.1f/s); "
      "writes held A %llu, B %llu\n",
      dwell_ms, out.alone, out.seconds, out.iops_a, out.iops_b,
      static_cast<unsigned long long>(out.moves), out.moves_per_s,
      double(out.changes) / out.seconds, static_cast<unsigned long long>(out.held_a),
      static_cast<unsigned long long>(out.held_b));
  EXPECT_EQ(mismatches(exported_generations(c, image), acked), "") << "rbd export";
  sa.reset();
  sb.reset();
  pair.stop();
  return out;
}

// Without the owner dwell (lock_dwell_ms 0): the lock moves at nearly every
// write that lands on the other gateway. The "before" of the dwell.
TEST_F(RbdFailover, BothPathsWriting) {
  BothPaths r = both_paths_writing(c(), "pingpong1", 0, 3);
  EXPECT_EQ(r.held_a + r.held_b, 0u) << "nothing is held with the dwell off";
}

// With the owner dwell: the lock moves at most about once per dwell, and
// both paths still make progress with every block intact.
TEST_F(RbdFailover, OwnerDwellCapsLockMoves) {
  // SHAREDISK_LOCK_DWELL_MS measures another dwell (docs/deployment.md).
  const char* env = std::getenv("SHAREDISK_LOCK_DWELL_MS");
  const int kDwellMs = env != nullptr ? std::clamp(std::atoi(env), 1, 5000) : 200;
  BothPaths r = both_paths_writing(c(), "dwell1", kDwellMs, 5);
  // Each gateway holds its writes for the dwell after every move it sees:
  // about 1000/dwell moves a second; twice that is the bound.
  EXPECT_LT(r.moves_per_s, 2.0 * 1000 / kDwellMs) << r.moves << " moves in " << r.seconds << " s";
  // Each move is seen as at most two owner changes (through "nobody").
  EXPECT_LT(double(r.changes) / r.seconds, 4.0 * 1000 / kDwellMs) << r.changes << " changes";
  EXPECT_GT(r.held_a + r.held_b, 0u) << "the non-owner's writes were held";
  EXPECT_GT(r.iops_b, 1.0);
  EXPECT_GT(r.iops_a, 1.0);
}

// A write held for the dwell is still inside the SCSI layer: ABORT TASK
// drops it (the TMF is answered before the dwell is over, the write never
// lands), and so do a LOGICAL UNIT RESET from another initiator (TAS: the
// write is answered TASK ABORTED) and the loss of the session.
TEST_F(RbdFailover, HeldWriteAbortedOrSessionLostNeverLands) {
  constexpr int kDwellMs = 2500;
  ASSERT_EQ(c().rbd({"create", "--size", "16", "rbd/dwellabort1"}), 0)
      << read_file(c().file("rbd.out"));
  GatewayPair pair(c().conf(), "dwellabort1", kDwellMs);
  IscsiPtr sa = login_with_timeout(pair.port_a), sb = login_with_timeout(pair.port_b);
  ASSERT_TRUE(sa && sb);
  std::vector<uint8_t> buf;
  std::vector<uint64_t> acked(kBlocks, 0);

  // Another initiator on B, whose LOGICAL UNIT RESET aborts the held write.
  IscsiPtr other = iscsi_login(pair.port_b, 1, kGatewayIqn, "iqn.2024-01.test:resetter");
  ASSERT_TRUE(other);
  const char* kRound[] = {"abort", "reset", "loss"};
  for (int round = 0; round < 3; ++round) {
    const bool abort = round == 0, reset = round == 1;
    if (round > 0) {
      // B takes the lock (its last move is more than the dwell ago), so
      // that A's write below moves it again.
      fill(buf, 4, 20);
      ASSERT_EQ(write_block(sb.get(), 4, buf), "good");
      acked[4] = 20;
      ASSERT_TRUE(eventually([&] { return status_counter(pair.b, "owner_group") == 2; },
                             std::chrono::seconds(5)));
    }
    // A writes (and takes the lock): B sees the lock move.
    fill(buf, 3, 10 + round);
    ASSERT_EQ(write_block(sa.get(), 3, buf), "good");
    acked[3] = 10 + round;
    ASSERT_TRUE(eventually([&] { return status_counter(pair.b, "owner_group") == 1; },
                           std::chrono::seconds(5)));
    // B's session was told the states changed (2A/06): take that first.
    for (int i = 0; i < 3 && tur(sb.get(), 1) != "good"; ++i) {
    }
    const uint64_t held0 = status_counter(pair.b, "held_total");
    // B's write to the same block is held for the dwell.
    std::vector<uint8_t> stale;
    fill(stale, 3, 99);
    struct Done {
      bool called = false;
      int status = -1;
    } done;
    scsi_task* w = iscsi_write16_task(
        sb.get(), 1, 3 * (kBlock / kSector), stale.data(), kBlock, kSector, 0, 0, 0, 0, 0,
        [](iscsi_context*, int status, void*, void* p) {
          static_cast<Done*>(p)->called = true;
          static_cast<Done*>(p)->status = status;
        },
        &done);
    ASSERT_NE(w, nullptr);
    ASSERT_TRUE(eventually(
        [&] {
          service_until(
              sb.get(), [] { return false; }, std::chrono::milliseconds(20));
          return status_counter(pair.b, "held") == 1;
        },
        std::chrono::seconds(2)))
        << "the write through B is held";
    EXPECT_EQ(status_counter(pair.b, "held_total"), held0 + 1);
    const auto t0 = Clock::now();
    if (abort) {
      EXPECT_EQ(iscsi_task_mgmt_abort_task_sync(sb.get(), w), 0) << iscsi_get_error(sb.get());
      const double took = ms_between(t0, Clock::now());
      std::printf("ABORT TASK of a write held for a %d ms dwell answered after %.0f ms\n", kDwellMs,
                  took);
      EXPECT_LT(took, kDwellMs / 2) << "the held write was dropped, not waited for";
      EXPECT_FALSE(done.called && done.status == SCSI_STATUS_GOOD);
      iscsi_scsi_cancel_task(sb.get(), w);
      scsi_free_scsi_task(w);
    } else if (reset) {
      EXPECT_EQ(iscsi_task_mgmt_lun_reset_sync(other.get(), 1), 0) << iscsi_get_error(other.get());
      const double took = ms_between(t0, Clock::now());
      std::printf("LOGICAL UNIT RESET with a write held for a %d ms dwell answered after %.0f ms\n",
                  kDwellMs, took);
      EXPECT_LT(took, kDwellMs / 2) << "the held write was dropped, not waited for";
      // TAS: the held write is answered TASK ABORTED.
      EXPECT_TRUE(service_until(
          sb.get(), [&] { return done.called; }, std::chrono::seconds(2)));
      EXPECT_EQ(done.status, SCSI_STATUS_TASK_ABORTED);
      scsi_free_scsi_task(w);
    } else {
      sb.reset();  // the session is lost with the write held
      scsi_free_scsi_task(w);
      sb = login_with_timeout(pair.port_b);
      ASSERT_TRUE(sb);
    }
    EXPECT_TRUE(
        eventually([&] { return status_counter(pair.b, "held") == 0; }, std::chrono::seconds(2)));
    // Past the dwell: the dropped write never lands, through either path.
    std::this_thread::sleep_for(std::chrono::milliseconds(kDwellMs + 500) - (Clock::now() - t0));
    EXPECT_EQ(mismatches(read_generations(sa.get()), acked), "") << kRound[round];
    EXPECT_EQ(mismatches(read_generations(sb.get()), acked), "") << kRound[round];
  }
  EXPECT_EQ(mismatches(exported_generations(c(), "dwellabort1"), acked), "") << "rbd export";
  sa.reset();
  sb.reset();
  pair.stop();
}

}  // namespace
}  // namespace ops
