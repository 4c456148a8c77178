// sharedisk-target serving a LUN on an RBD image of a throwaway cluster:
// data written through iSCSI (plain, FUA, then SYNCHRONIZE CACHE) is what
// `rbd export` reads from the cluster; UNMAP reads back zeroes; GET LBA STATUS
// tells written blocks from unmapped and never-written ones; WRITE SAME is one
// rbd_aio_writesame; and a cluster
// that cannot be reached, a wrong key, a missing pool or image make --check
// and start-up exit 2 within a bounded time, naming the lun.yaml line; a
// SIGKILL mid-stream loses no acknowledged FUA or synchronized write.
#include <regex>

#include "ceph_cluster.h"
#include "crash_writer.h"
#include "ops_support.h"

namespace ops {
namespace {

std::string rbd_yaml(uint16_t port, const std::string& dir, const std::string& image,
                     const std::string& conf, const std::string& extra_lun = "",
                     const std::string& pool = "rbd") {
  return "portals: [127.0.0.1:" + std::to_string(port) + "]\n" + "state_dir: " + dir +
         "/state\n"
         "targets:\n"
         "  - iqn: " +
         kIqn +
         "\n"
         "    luns:\n"
         "      - number: 1\n"
         "        type: rbd\n"
         "        pool: " +
         pool +
         "\n"
         "        image: " +
         image +
         "\n"
         "        ceph_conf: " +
         conf + "\n" + extra_lun;
}

std::vector<uint8_t> pattern(size_t len, uint32_t seed) {
  std::vector<uint8_t> v(len);
  uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (size_t i = 0; i < len; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(&v[i], &x, 8);
  }
  return v;
}

class RbdDaemon : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_CLUSTER(); }
  rbdtest::CephCluster& c() { return rbdtest::cluster(); }

  // A daemon on an ephemeral port serving a new image as LUN 1, and a session to it.
  struct Served {
    TempDir dir;
    Daemon d{dir};
    uint16_t port = uint16_t(free_port());
    IscsiPtr s;
  };
  void serve_new_image(Served* x, const std::string& image, unsigned size_mib,
                       unsigned rbd_timeout) {
    ASSERT_EQ(c().rbd({"create", "--size", std::to_string(size_mib), "rbd/" + image}), 0);
    x->d.start(rbd_yaml(x->port, x->dir.path(), image, c().conf(),
                        "        rbd_timeout: " + std::to_string(rbd_timeout) + "\n"));
    x->s = iscsi_login(x->port);
    ASSERT_TRUE(x->s) << read_file(x->d.log_path());
  }
};

TEST_F(RbdDaemon, WritesThroughTheTargetAreWhatRbdExportReads) {
  Served x;
  ASSERT_NO_FATAL_FAILURE(serve_new_image(&x, "e2e", 64, 15));
  TempDir& dir = x.dir;
  Daemon& d = x.d;
  IscsiPtr& s = x.s;

  scsi_task* cap = iscsi_readcapacity16_sync(s.get(), 1);
  ASSERT_TRUE(scsi_ok(cap));
  auto* rc16 = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(cap));
  ASSERT_NE(rc16, nullptr);
  EXPECT_EQ((rc16->returned_lba + 1) * rc16->block_length, 64ull << 20);
  EXPECT_EQ(rc16->lbpme, 1);  // thin provisioning on
  scsi_free_scsi_task(cap);

  // Regions: 1 MiB plain at 0, 256 KiB FUA crossing the 4 MiB object
  // boundary, 64 KiB plain at the end; then SYNCHRONIZE CACHE.
  struct Region {
    uint64_t lba;
    uint32_t bytes;
    bool fua;
  };
  const Region regions[] = {{0, 1 << 20, false},
                            {((4u << 20) - (128u << 10)) / 512, 256 << 10, true},
                            {((64u << 20) - (64u << 10)) / 512, 64 << 10, false},
                            {(10u << 20) / 512, 4096, true}};
  uint32_t seed = 0;
  for (const Region& r : regions) {
    std::vector<uint8_t> data = pattern(r.bytes, ++seed);
    for (uint32_t off = 0; off < r.bytes; off += 256 << 10) {
      uint32_t n = std::min<uint32_t>(256 << 10, r.bytes - off);
      scsi_task* t = iscsi_write16_sync(s.get(), 1, r.lba + off / 512, data.data() + off, n, 512, 0,
                                        0, r.fua, 0, 0);
      ASSERT_TRUE(scsi_ok(t)) << (t ? iscsi_get_error(s.get()) : "no task");
      scsi_free_scsi_task(t);
    }
  }
  scsi_task* sync = iscsi_synchronizecache10_sync(s.get(), 1, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(sync));
  scsi_free_scsi_task(sync);

  // Read back through the target.
  seed = 0;
  for (const Region& r : regions) {
    std::vector<uint8_t> want = pattern(r.bytes, ++seed);
    for (uint32_t off = 0; off < r.bytes; off += 256 << 10) {
      uint32_t n = std::min<uint32_t>(256 << 10, r.bytes - off);
      scsi_task* t = iscsi_read16_sync(s.get(), 1, r.lba + off / 512, n, 512, 0, 0, 0, 0, 0);
      ASSERT_TRUE(scsi_ok(t));
      ASSERT_EQ(t->datain.size, int(n));
      EXPECT_EQ(std::memcmp(t->datain.data, want.data() + off, n), 0) << "lba " << r.lba;
      scsi_free_scsi_task(t);
    }
  }

  // And straight from the cluster, while the target still serves the image.
  std::string out = dir.file("export.img");
  ASSERT_EQ(c().rbd({"export", "rbd/e2e", out}), 0) << read_file(c().file("rbd.out"));
  std::string img = read_file(out);
  ASSERT_EQ(img.size(), 64u << 20);
  seed = 0;
  for (const Region& r : regions) {
    std::vector<uint8_t> want = pattern(r.bytes, ++seed);
    EXPECT_EQ(std::memcmp(img.data() + r.lba * 512, want.data(), r.bytes), 0) << "lba " << r.lba;
  }
  // Never written: zeroes.
  EXPECT_EQ(img.substr(20 << 20, 4096), std::string(4096, '\0'));

  // UNMAP of part of the first region reads back zeroes, from the target and the cluster.
  unmap_list range{64, 128};
  scsi_task* u = iscsi_unmap_sync(s.get(), 1, 0, 0, &range, 1);
  ASSERT_TRUE(scsi_ok(u));
  scsi_free_scsi_task(u);
  scsi_task* t = iscsi_read16_sync(s.get(), 1, 0, 256 * 512, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  std::vector<uint8_t> first = pattern(1 << 20, 1);
  EXPECT_EQ(std::memcmp(t->datain.data, first.data(), 64 * 512), 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(t->datain.data) + 64 * 512, 128 * 512),
            std::string(128 * 512, '\0'));
  EXPECT_EQ(std::memcmp(t->datain.data + 192 * 512, first.data() + 192 * 512, 64 * 512), 0);
  scsi_free_scsi_task(t);

  s.reset();
  EXPECT_EQ(d.stop(), 0);
  ASSERT_EQ(c().rbd({"export", "rbd/e2e", out + "2"}), 0);
  std::string after = read_file(out + "2");
  ASSERT_EQ(after.size(), 64u << 20);
  EXPECT_EQ(after.substr(64 * 512, 128 * 512), std::string(128 * 512, '\0'));
  EXPECT_EQ(std::memcmp(after.data() + 1024 * 512 * 0 + 192 * 512, first.data() + 192 * 512,
                        (1 << 20) - 192 * 512),
            0);
  c().rbd({"rm", "rbd/e2e"});
}

// GET LBA STATUS on an RBD LUN answers from rbd_diff_iterate2 (the blocks
// outside the image's data extents are deallocated without a read) and from
// reading what it reports (a block UNMAP zeroed inside an object counts as
// deallocated): written blocks mapped, unmapped and never-written ones
// deallocated, to the block. At most as many descriptors as the allocation
// length holds, and at most 1 MiB of data read per command.
struct LbaRun {
  uint64_t lba;
  uint32_t blocks;
  bool mapped;
  bool operator==(const LbaRun&) const = default;
};
std::ostream& operator<<(std::ostream& o, const LbaRun& r) {
  return o << "{" << r.lba << ", " << r.blocks << (r.mapped ? ", mapped}" : ", deallocated}");
}

std::vector<LbaRun> lba_status(iscsi_context* s, uint64_t lba, uint32_t alloc) {
  std::vector<LbaRun> runs;
  scsi_task* t = iscsi_get_lba_status_sync(s, 1, lba, alloc);
  EXPECT_TRUE(scsi_ok(t)) << outcome(t);
  if (!scsi_ok(t)) {
    if (t) scsi_free_scsi_task(t);
    return runs;
  }
  auto* st = static_cast<scsi_get_lba_status*>(scsi_datain_unmarshall(t));
  EXPECT_NE(st, nullptr);
  for (uint32_t i = 0; st && i < st->num_descriptors; ++i)
    runs.push_back({st->descriptors[i].lba, st->descriptors[i].num_blocks,
                    st->descriptors[i].provisioning == SCSI_PROVISIONING_TYPE_MAPPED});
  scsi_free_scsi_task(t);
  return runs;
}

TEST_F(RbdDaemon, GetLbaStatusReportsMappedAndDeallocatedBlocks) {
  Served x;
  ASSERT_NO_FATAL_FAILURE(serve_new_image(&x, "lbas", 16, 15));
  iscsi_context* s = x.s.get();
  const uint32_t total = (16u << 20) / 512;
  // A new image: all deallocated, in one descriptor.
  EXPECT_EQ(lba_status(s, 0, 1024), (std::vector<LbaRun>{{0, total, false}}));

  auto write = [&](uint64_t lba, uint32_t blocks, uint32_t seed) {
    std::vector<uint8_t> data = pattern(blocks * 512, seed);
    scsi_task* t = iscsi_write16_sync(s, 1, lba, data.data(), blocks * 512, 512, 0, 0, 0, 0, 0);
    ASSERT_TRUE(scsi_ok(t)) << outcome(t);
    scsi_free_scsi_task(t);
  };
  ASSERT_NO_FATAL_FAILURE(write(0, 64, 1));
  ASSERT_NO_FATAL_FAILURE(write(8192, 8, 2));  // the second 4 MiB object
  ASSERT_NO_FATAL_FAILURE(write(16484, 1, 3));
  unmap_list ranges[2] = {{10, 10}, {8194, 2}};
  scsi_task* u = iscsi_unmap_sync(s, 1, 0, 0, ranges, 2);
  ASSERT_TRUE(scsi_ok(u)) << outcome(u);
  scsi_free_scsi_task(u);

  const std::vector<LbaRun> all = {{0, 10, true},    {10, 10, false},
                                   {20, 44, true},   {64, 8128, false},
                                   {8192, 2, true},  {8194, 2, false},
                                   {8196, 4, true},  {8200, 8284, false},
                                   {16484, 1, true}, {16485, total - 16485, false}};
  EXPECT_EQ(lba_status(s, 0, 8 + 16 * 64), all);
  // As many descriptors as the allocation length has room for.
  EXPECT_EQ(lba_status(s, 0, 8 + 16 * 3), std::vector<LbaRun>(all.begin(), all.begin() + 3));
  // From inside a run: it starts at the LBA asked for.
  EXPECT_EQ(lba_status(s, 15, 24), (std::vector<LbaRun>{{15, 5, false}}));
  EXPECT_EQ(lba_status(s, 8193, 8 + 16 * 2),
            (std::vector<LbaRun>{{8193, 1, true}, {8194, 2, false}}));
  EXPECT_EQ(lba_status(s, 16484, 8 + 16 * 4),
            (std::vector<LbaRun>{{16484, 1, true}, {16485, total - 16485, false}}));

  // 2 MiB of data: one command reads at most 1 MiB of it, and says so by
  // ending its answer there; the next command goes on.
  ASSERT_NO_FATAL_FAILURE(write(20480, 2048, 4));
  ASSERT_NO_FATAL_FAILURE(write(22528, 2048, 5));
  EXPECT_EQ(lba_status(s, 20480, 8 + 16 * 64), (std::vector<LbaRun>{{20480, 2048, true}}));
  EXPECT_EQ(lba_status(s, 22528, 8 + 16 * 64),
            (std::vector<LbaRun>{{22528, 2048, true}, {24576, total - 24576, false}}));

  // The blocks it reports deallocated read back as zeroes (LBPRZ).
  scsi_task* t = iscsi_read16_sync(s, 1, 10, 10 * 512, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(t->datain.data), 10 * 512),
            std::string(10 * 512, '\0'));
  scsi_free_scsi_task(t);
  x.s.reset();
  EXPECT_EQ(x.d.stop(), 0);
  c().rbd({"rm", "rbd/lbas"});
}

// The daemon's count of requests sent to librbd for LUN 1 (status).
uint64_t rbd_requests(Daemon& d) {
  std::string status = d.admin("status").body;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(status, m, std::regex("rbd: requests ([0-9]+)"))) << status;
  return m.empty() ? 0 : std::stoull(m[1]);
}

// WRITE SAME with a non-zero block is one rbd_aio_writesame: one request to
// librbd for 6 MiB across two objects (emulated, it was 6 writes of 1 MiB),
// and `rbd export` holds the block in every LBA of the range and nothing
// outside it.
TEST_F(RbdDaemon, WriteSameIsOneNativeRequest) {
  Served x;
  ASSERT_NO_FATAL_FAILURE(serve_new_image(&x, "wsame", 16, 15));
  iscsi_context* s = x.s.get();
  std::vector<uint8_t> block = pattern(512, 61), other = pattern(512, 62);
  const uint64_t lba = (4u << 20) / 512 - 2048;  // 1 MiB before the second object
  const uint32_t blocks = (6u << 20) / 512;
  uint64_t before = rbd_requests(x.d);
  scsi_task* t = iscsi_writesame16_sync(s, 1, lba, block.data(), 512, blocks, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  scsi_free_scsi_task(t);
  // The loop counts a completion right after answering it: wait for the count.
  uint64_t sent = 0;
  for (auto end = Clock::now() + std::chrono::seconds(2);
       (sent = rbd_requests(x.d) - before) == 0 && Clock::now() < end;)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(sent, 1u) << "WRITE SAME of 6 MiB is one librbd request";
  // WRITE SAME(10) of 3 blocks just past the range.
  t = iscsi_writesame10_sync(s, 1, uint32_t(lba + blocks), other.data(), 512, 3, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  scsi_free_scsi_task(t);
  // Through the target.
  t = iscsi_read16_sync(s, 1, lba + blocks - 1, 4 * 512, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  EXPECT_EQ(std::memcmp(t->datain.data, block.data(), 512), 0);
  for (int i = 1; i < 4; ++i)
    EXPECT_EQ(std::memcmp(t->datain.data + 512 * i, other.data(), 512), 0) << i;
  scsi_free_scsi_task(t);
  x.s.reset();
  EXPECT_EQ(x.d.stop(), 0);
  // From the cluster.
  std::string out = x.dir.file("wsame.img");
  ASSERT_EQ(c().rbd({"export", "rbd/wsame", out}), 0) << read_file(c().file("rbd.out"));
  std::string img = read_file(out);
  ASSERT_EQ(img.size(), 16u << 20);
  uint64_t bad = 0;
  for (uint64_t b = lba; b < lba + blocks; ++b)
    bad += std::memcmp(img.data() + b * 512, block.data(), 512) != 0;
  EXPECT_EQ(bad, 0u) << "blocks of the WRITE SAME(16) range that differ from its block";
  for (uint64_t b = lba + blocks; b < lba + blocks + 3; ++b)
    EXPECT_EQ(std::memcmp(img.data() + b * 512, other.data(), 512), 0) << "lba " << b;
  EXPECT_EQ(img.substr(0, lba * 512), std::string(lba * 512, '\0'));
  const uint64_t tail = (lba + blocks + 3) * 512;
  EXPECT_EQ(img.substr(tail), std::string(img.size() - tail, '\0'));
  c().rbd({"rm", "rbd/wsame"});
}

// COMPARE AND WRITE of one 512-byte block is one rbd_aio_compare_and_write
// (the OSD compares and writes atomically, against other gateways too); a
// miscompare leaves the block as it was and answers MISCOMPARE. Two blocks
// are beyond what Ceph 16 compares: read and write inside the write gate.
TEST_F(RbdDaemon, CompareAndWriteOfOneBlockIsOneNativeRequest) {
  Served x;
  ASSERT_NO_FATAL_FAILURE(serve_new_image(&x, "caw", 8, 15));
  iscsi_context* s = x.s.get();
  std::vector<uint8_t> a = pattern(512, 71), b = pattern(512, 72), zero(512, 0);
  auto caw = [&](uint64_t lba, std::vector<uint8_t> verify, const std::vector<uint8_t>& write) {
    verify.insert(verify.end(), write.begin(), write.end());
    return iscsi_compareandwrite_sync(s, 1, lba, verify.data(), uint32_t(verify.size()), 512, 0, 0,
                                      0, 0, 0);
  };
  auto requests_since = [&](uint64_t before) {
    uint64_t sent = 0;
    for (auto end = Clock::now() + std::chrono::seconds(2);
         (sent = rbd_requests(x.d) - before) == 0 && Clock::now() < end;)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return sent;
  };
  uint64_t before = rbd_requests(x.d);
  scsi_task* t = caw(9, zero, a);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  scsi_free_scsi_task(t);
  EXPECT_EQ(requests_since(before), 1u) << "one block: one librbd request";
  // Compared against zeroes again: the block holds `a` now.
  t = caw(9, zero, b);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(t->sense.key, SCSI_SENSE_MISCOMPARE);
  EXPECT_EQ(t->sense.ascq, 0x1D00);
  scsi_free_scsi_task(t);
  // Two blocks: emulated, and still right.
  std::vector<uint8_t> two = a, ab = a;
  two.insert(two.end(), zero.begin(), zero.end());  // blocks 9 and 10 hold a, 0
  ab.insert(ab.end(), b.begin(), b.end());
  t = caw(9, two, ab);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  scsi_free_scsi_task(t);
  t = iscsi_read16_sync(s, 1, 8, 4 * 512, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  EXPECT_EQ(std::memcmp(t->datain.data, zero.data(), 512), 0);
  EXPECT_EQ(std::memcmp(t->datain.data + 512, a.data(), 512), 0);
  EXPECT_EQ(std::memcmp(t->datain.data + 1024, b.data(), 512), 0);
  EXPECT_EQ(std::memcmp(t->datain.data + 1536, zero.data(), 512), 0);
  scsi_free_scsi_task(t);
  x.s.reset();
  EXPECT_EQ(x.d.stop(), 0);
  c().rbd({"rm", "rbd/caw"});
}

// Reload adds an RBD LUN (opened before anything changes) and removes it.
TEST_F(RbdDaemon, ReloadAddsAndRemovesAnRbdLun) {
  ASSERT_EQ(c().rbd({"create", "--size", "32", "rbd/second"}), 0);
  TempDir dir;
  Daemon d(dir);
  uint16_t port = uint16_t(free_port());
  const std::string one = rbd_yaml(port, dir.path(), "lun1", c().conf());
  d.start(one);
  EXPECT_EQ(d.admin("status").body.find("rbd:rbd/second"), std::string::npos);
  // A second LUN whose image is missing: refused, nothing changes.
  write_file(d.config_path(), one +
                                  "      - number: 2\n        type: rbd\n        pool: rbd\n"
                                  "        image: absent\n        ceph_conf: " +
                                  c().conf() + "\n");
  auto refused = d.admin("reload");
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.body.find("luns[1].image"), std::string::npos) << refused.body;
  write_file(d.config_path(), one +
                                  "      - number: 2\n        type: rbd\n        pool: rbd\n"
                                  "        image: second\n        ceph_conf: " +
                                  c().conf() + "\n");
  auto added = d.admin("reload");
  EXPECT_TRUE(added.ok) << added.body;
  EXPECT_NE(d.admin("status").body.find("rbd:rbd/second"), std::string::npos);
  IscsiPtr s = iscsi_login(port, 2);
  ASSERT_TRUE(s);
  scsi_task* cap = iscsi_readcapacity16_sync(s.get(), 2);
  ASSERT_TRUE(scsi_ok(cap));
  auto* rc16 = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(cap));
  ASSERT_NE(rc16, nullptr);
  EXPECT_EQ((rc16->returned_lba + 1) * rc16->block_length, 32ull << 20);
  scsi_free_scsi_task(cap);
  s.reset();
  write_file(d.config_path(), one);
  auto removed = d.admin("reload");
  EXPECT_TRUE(removed.ok) << removed.body;
  EXPECT_NE(removed.body.find("removed LUN 2"), std::string::npos) << removed.body;
  EXPECT_EQ(d.admin("status").body.find("rbd:rbd/second"), std::string::npos);
  EXPECT_EQ(d.stop(), 0);
  c().rbd({"rm", "rbd/second"});
}

// `rbd resize` under a logged-in session, no reload: librbd's header watch
// tells the daemon, every nexus gets CAPACITY DATA HAS CHANGED (2A/09), READ
// CAPACITY gives the new size, and the grown blocks take writes that read back.
TEST_F(RbdDaemon, ResizedImageReportsCapacityChangedAndServesTheNewBlocks) {
  ASSERT_EQ(c().rbd({"create", "--size", "32", "rbd/grow"}), 0);
  TempDir dir;
  Daemon d(dir);
  uint16_t port = uint16_t(free_port());
  d.start(rbd_yaml(port, dir.path(), "grow", c().conf()));
  IscsiPtr s = iscsi_login(port);
  ASSERT_TRUE(s);
  // The power-on unit attention first.
  for (int i = 0; i < 3 && tur(s.get(), 1) != "good"; ++i) {
  }
  ASSERT_EQ(tur(s.get(), 1), "good");

  ASSERT_EQ(c().rbd({"resize", "--size", "48", "rbd/grow"}), 0);
  std::string seen;
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline && (seen = tur(s.get(), 1)) == "good")
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(seen, "6/2a/09") << "CAPACITY DATA HAS CHANGED after rbd resize";

  scsi_task* t = iscsi_readcapacity16_sync(s.get(), 1);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  auto* cap = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(t));
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ((cap->returned_lba + 1) * cap->block_length, 48ull << 20);
  scsi_free_scsi_task(t);

  // The last block of the grown image: written through the target, read back.
  const uint32_t last = (48u << 20) / 512 - 8;
  std::vector<uint8_t> data = pattern(4096, 11);
  t = iscsi_write16_sync(s.get(), 1, last, data.data(), 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  scsi_free_scsi_task(t);
  t = iscsi_read16_sync(s.get(), 1, last, 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  ASSERT_EQ(t->datain.size, 4096);
  EXPECT_EQ(std::memcmp(t->datain.data, data.data(), 4096), 0);
  scsi_free_scsi_task(t);
  s.reset();
  EXPECT_EQ(d.stop(), 0);
  c().rbd({"rm", "rbd/grow"});
}

// SIGTERM while the cluster does not answer: closing the image cannot finish
// (librbd would release the exclusive lock through the OSD), so the daemon
// leaves without closing it 10 s after its last connection closed, with exit
// status 1 and a line that says why; what was acknowledged is in the image.
TEST_F(RbdDaemon, StopEndsInBoundedTimeWhenTheClusterStopsAnswering) {
  Served x;
  // The default rbd_timeout: closing would wait it out step after step.
  ASSERT_NO_FATAL_FAILURE(serve_new_image(&x, "gone", 16, 20));
  std::vector<uint8_t> a = pattern(8192, 51);
  scsi_task* t = iscsi_write16_sync(x.s.get(), 1, 16, a.data(), 8192, 512, 0, 0, 1, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  scsi_free_scsi_task(t);
  x.s.reset();
  ASSERT_EQ(c().control("stop-osd"), 0);
  const auto t0 = Clock::now();
  const int code = x.d.stop();  // SIGTERM; SIGKILL after 20 s
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  ASSERT_EQ(c().control("start-osd"), 0);
  std::printf("SIGTERM with the OSD stopped: exit %d after %lld ms\n", code,
              static_cast<long long>(ms));
  EXPECT_TRUE(code == 0 || code == 1) << "exit status " << code << " (-9: it had to be killed)";
  EXPECT_LT(ms, 15000);
  if (code == 1) {
    EXPECT_NE(read_file(x.d.log_path()).find("exiting without closing it"), std::string::npos);
  }
  std::string out = x.dir.file("gone.img");
  ASSERT_EQ(c().rbd({"export", "rbd/gone", out}), 0) << read_file(c().file("rbd.out"));
  std::string img = read_file(out);
  ASSERT_EQ(img.size(), 16u << 20);
  EXPECT_EQ(std::memcmp(img.data() + 16 * 512, a.data(), a.size()), 0);
  c().rbd({"rm", "rbd/gone"});
}

// The OSD stops under I/O: a write the cluster cannot answer fails after
// rbd_timeout with ABORTED COMMAND / TIMEOUT ON LOGICAL UNIT (retryable), the
// session stays up (NOP-Ins), and once the OSD is back the retried write
// succeeds and everything acknowledged reads back.
TEST_F(RbdDaemon, OsdStopFailsRetryablyAndIoResumes) {
  Served x;
  ASSERT_NO_FATAL_FAILURE(serve_new_image(&x, "fault", 64, 3));
  Daemon& d = x.d;
  IscsiPtr& s = x.s;
  std::vector<uint8_t> a = pattern(65536, 41), b = pattern(4096, 42);
  scsi_task* t = iscsi_write16_sync(s.get(), 1, 0, a.data(), 65536, 512, 0, 0, 1, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  scsi_free_scsi_task(t);

  ASSERT_EQ(c().control("stop-osd"), 0);
  auto t0 = Clock::now();
  t = iscsi_write16_sync(s.get(), 1, 1024, b.data(), 4096, 512, 0, 0, 1, 0, 0);
  double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_NE(t, nullptr) << iscsi_get_error(s.get());
  EXPECT_EQ(t->status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(int(t->sense.key), 0x0B);  // ABORTED COMMAND
  EXPECT_EQ(t->sense.ascq, 0x3E02);    // TIMEOUT ON LOGICAL UNIT
  EXPECT_GE(waited, 2.0);
  EXPECT_LT(waited, 15.0);
  scsi_free_scsi_task(t);

  ASSERT_EQ(c().control("start-osd", std::chrono::seconds(90)), 0);
  // The same session: retried as an initiator would, until the OSD has peered.
  bool written = false;
  for (auto end = Clock::now() + std::chrono::seconds(60); !written && Clock::now() < end;) {
    t = iscsi_write16_sync(s.get(), 1, 1024, b.data(), 4096, 512, 0, 0, 1, 0, 0);
    ASSERT_NE(t, nullptr) << "session lost: " << iscsi_get_error(s.get());
    written = scsi_ok(t);
    if (!written) {
      EXPECT_EQ(int(t->sense.key), 0x0B);
    }
    scsi_free_scsi_task(t);
  }
  ASSERT_TRUE(written);
  t = iscsi_read16_sync(s.get(), 1, 0, 65536, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  EXPECT_EQ(std::memcmp(t->datain.data, a.data(), 65536), 0);
  scsi_free_scsi_task(t);
  t = iscsi_read16_sync(s.get(), 1, 1024, 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  EXPECT_EQ(std::memcmp(t->datain.data, b.data(), 4096), 0);
  scsi_free_scsi_task(t);

  // The timeout is counted where operators look.
  std::string status = d.admin("status").body;
  EXPECT_NE(status.find("rbd: requests"), std::string::npos) << status;
  EXPECT_EQ(status.find("timeouts 0 "), std::string::npos) << status;
  s.reset();
  EXPECT_EQ(d.stop(), 0);
  c().rbd({"rm", "rbd/fault"});
}

// librbd dispatches on the event loop (rbd_non_blocking_aio off), so nothing
// in it may wait for the cluster. With the OSD frozen and more reads in
// flight than librados lets through by default (1024), the one event loop
// still answers a third session at once; every read then completes with the
// data written before.
TEST_F(RbdDaemon, LoopKeepsAnsweringWithMoreRequestsStuckThanLibradosThrottles) {
  constexpr int kPerSession = 640;  // 2 x 640 > objecter_inflight_ops (1024)
  constexpr size_t kRegion = 1 << 20;
  ASSERT_EQ(c().rbd({"create", "--size", "16", "rbd/stuck"}), 0);
  TempDir dir;
  Daemon d(dir);
  uint16_t port = uint16_t(free_port());
  d.start("iscsi:\n  queue_depth: 1024\n" +
              rbd_yaml(port, dir.path(), "stuck", c().conf(), "        rbd_timeout: 60\n"),
          /*threads=*/1);
  IscsiPtr a = iscsi_login(port, 1, kIqn, "iqn.2026-01.test:stuck-a");
  IscsiPtr b = iscsi_login(port, 1, kIqn, "iqn.2026-01.test:stuck-b");
  IscsiPtr probe = iscsi_login(port, 1, kIqn, "iqn.2026-01.test:stuck-probe");
  ASSERT_TRUE(a && b && probe) << read_file(d.log_path());
  std::vector<uint8_t> data = pattern(kRegion, 61);
  scsi_task* t = iscsi_write16_sync(a.get(), 1, 0, data.data(), kRegion, 512, 0, 0, 1, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  scsi_free_scsi_task(t);

  struct Tally {
    const uint8_t* data;  // what the region holds
    int done = 0, bad = 0;
  } tally{data.data()};
  struct Read {
    Tally* tally;
    uint64_t lba;
  };
  auto on_read = [](iscsi_context*, int status, void* command_data, void* private_data) {
    auto* r = static_cast<Read*>(private_data);
    auto* task = static_cast<scsi_task*>(command_data);
    ++r->tally->done;
    if (status != SCSI_STATUS_GOOD || task->datain.size != 4096 ||
        std::memcmp(task->datain.data, r->tally->data + r->lba * 512, 4096) != 0)
      ++r->tally->bad;
    scsi_free_scsi_task(task);
  };
  std::vector<Read> reads;
  reads.reserve(2 * kPerSession);
  for (int i = 0; i < 2 * kPerSession; ++i)
    reads.push_back({&tally, uint64_t(i % (kRegion / 4096)) * 8});

  const pid_t osd = pid_t(std::stol(c().env("CEPH_OSD_PID")));
  ASSERT_EQ(::kill(osd, SIGSTOP), 0);
  struct Thaw {  // the OSD runs again whatever happens below
    pid_t pid;
    ~Thaw() { ::kill(pid, SIGCONT); }
  } thaw{osd};
  for (int i = 0; i < 2 * kPerSession; ++i) {
    iscsi_context* s = (i % 2 ? b : a).get();
    ASSERT_NE(iscsi_read16_task(s, 1, reads[i].lba, 4096, 512, 0, 0, 0, 0, 0, on_read, &reads[i]),
              nullptr);
  }
  // Every command on the wire, and time for the target to hand them to librbd.
  for (iscsi_context* s : {a.get(), b.get()})
    ASSERT_TRUE(service_until(
        s, [&] { return !(iscsi_which_events(s) & POLLOUT); }, std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(tally.done, 0) << "reads completed with the OSD stopped";

  auto t0 = Clock::now();
  EXPECT_EQ(tur(probe.get(), 1), "good");
  double answered = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(answered, 2.0) << "the event loop waited inside librbd";
  std::string status = d.admin("status").body;
  EXPECT_NE(status.find("rbd: requests"), std::string::npos) << status;

  ASSERT_EQ(::kill(osd, SIGCONT), 0);
  const auto resumed = Clock::now();
  while (tally.done < 2 * kPerSession && Clock::now() < resumed + std::chrono::seconds(60)) {
    pollfd p[2] = {{iscsi_get_fd(a.get()), short(iscsi_which_events(a.get())), 0},
                   {iscsi_get_fd(b.get()), short(iscsi_which_events(b.get())), 0}};
    ASSERT_GE(::poll(p, 2, 100), 0);
    ASSERT_EQ(iscsi_service(a.get(), p[0].revents), 0) << iscsi_get_error(a.get());
    ASSERT_EQ(iscsi_service(b.get(), p[1].revents), 0) << iscsi_get_error(b.get());
  }
  std::printf(
      "[ stuck ] TUR answered in %.3f s with the OSD frozen; %d reads done %.1f s after it ran "
      "again\n",
      answered, tally.done, std::chrono::duration<double>(Clock::now() - resumed).count());
  EXPECT_EQ(tally.done, 2 * kPerSession);
  EXPECT_EQ(tally.bad, 0);
  a.reset();
  b.reset();
  probe.reset();
  EXPECT_EQ(d.stop(), 0);
  c().rbd({"rm", "rbd/stuck"});
}

// The cluster blocklists the gateway's client: writes fail (never acknowledged),
// and what failed is not on the image.
TEST_F(RbdDaemon, BlocklistedClientGetsErrorsNotAcknowledgements) {
  Served x;
  ASSERT_NO_FATAL_FAILURE(serve_new_image(&x, "fenced", 16, 5));
  TempDir& dir = x.dir;
  Daemon& d = x.d;
  IscsiPtr& s = x.s;
  std::vector<uint8_t> a = pattern(4096, 51), b = pattern(4096, 52);
  scsi_task* t = iscsi_write16_sync(s.get(), 1, 0, a.data(), 4096, 512, 0, 0, 1, 0, 0);
  ASSERT_TRUE(scsi_ok(t));
  scsi_free_scsi_task(t);
  // The daemon's client address, from the image's watcher.
  ASSERT_EQ(c().rbd({"status", "rbd/fenced"}), 0);
  std::string st = read_file(c().file("rbd.out"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(st, m, std::regex("watcher=([0-9.]+:[0-9]+/[0-9]+)"))) << st;
  const std::string addr = m[1];
  ASSERT_EQ(c().ceph({"osd", "blocklist", "add", addr}), 0) << read_file(c().file("ceph.out"));
  for (int i = 0; i < 2; ++i) {
    auto t0 = Clock::now();
    t = iscsi_write16_sync(s.get(), 1, 0, b.data(), 4096, 512, 0, 0, 1, 0, 0);
    double waited = std::chrono::duration<double>(Clock::now() - t0).count();
    ASSERT_NE(t, nullptr) << iscsi_get_error(s.get());
    EXPECT_EQ(t->status, SCSI_STATUS_CHECK_CONDITION) << "write acknowledged while blocklisted";
    EXPECT_TRUE(int(t->sense.key) == 0x02 || int(t->sense.key) == 0x0B)
        << "sense key " << int(t->sense.key) << " ascq " << std::hex << t->sense.ascq;
    EXPECT_LT(waited, 20.0);
    scsi_free_scsi_task(t);
  }
  c().ceph({"osd", "blocklist", "rm", addr});
  s.reset();
  d.stop();
  std::string out = dir.file("fenced.img");
  ASSERT_EQ(c().rbd({"export", "rbd/fenced", out}), 0);
  std::string img = read_file(out);
  EXPECT_EQ(std::memcmp(img.data(), a.data(), 4096), 0) << "the refused write reached the image";
  c().rbd({"rm", "rbd/fenced"});
}

// SIGKILL of the daemon mid-stream (the verifying writer of
// tests/ops/crash_writer.h: FUA writes and writes covered by SYNCHRONIZE CACHE,
// 16 in flight): every acknowledged-durable write is on the image whole, read
// straight from the cluster with `rbd export` (no daemon involved) and through
// a restarted daemon. rbd_cache is off, so every acknowledged write counts.
TEST_F(RbdDaemon, AcknowledgedDurableWritesSurviveSigkill) {
  Served x;
  ASSERT_NO_FATAL_FAILURE(serve_new_image(&x, "crash", 16, 15));

  crash::Writer w;
  ASSERT_TRUE(
      crash::run_until_kill(w, x.s.get(), std::chrono::milliseconds(2000), [&] { x.d.kill9(); }));
  int in_flight = w.inflight;
  uint64_t failures_before_kill = w.failures;
  x.s.reset();  // cancels the in-flight commands

  // From the cluster, without the daemon.
  std::string out = x.dir.file("crash.img");
  ASSERT_EQ(c().rbd({"export", "rbd/crash", out}), 0) << read_file(c().file("rbd.out"));
  std::string img = read_file(out);
  ASSERT_EQ(img.size(), 16u << 20);
  crash::Verdict from_export;
  ASSERT_TRUE(crash::check_slots(w, reinterpret_cast<const uint8_t*>(img.data()), 0, crash::kSlots,
                                 true, &from_export));

  // Through a restarted daemon.
  x.d.start_existing();
  IscsiPtr r = iscsi_login(x.port);
  ASSERT_TRUE(r) << read_file(x.d.log_path());
  crash::Verdict from_target;
  ASSERT_TRUE(crash::verify_through_iscsi(w, r.get(), true, &from_target));
  std::printf(
      "[ rbd crash ] %llu writes acked: %llu FUA, %llu made durable by %llu SYNCHRONIZE CACHE; "
      "%d in flight at SIGKILL; %llu slots with a durable generation verified by rbd export "
      "and %llu through the restarted target (%llu newer than durable), 0 lost\n",
      (unsigned long long)w.writes_ok, (unsigned long long)w.fua_ok,
      (unsigned long long)w.synced_writes, (unsigned long long)w.syncs_ok, in_flight,
      (unsigned long long)from_export.durable_checked,
      (unsigned long long)from_target.durable_checked,
      (unsigned long long)from_target.newer_than_durable);
  EXPECT_GT(w.fua_ok, 20u);
  EXPECT_GT(w.synced_writes, 20u);
  EXPECT_GT(from_export.durable_checked, 50u);
  EXPECT_EQ(failures_before_kill, 0u);
  r.reset();
  EXPECT_EQ(x.d.stop(), 0);
  // The image stays: `rbd rm` would wait out the killed daemon's watch
  // (osd_client_watch_timeout, 30 s); the cluster goes with the binary.
}

// One bad configuration: --check and a start-up both exit 2 within `limit`,
// naming lun.yaml, the line and the key.
void expect_config_error(const TempDir& dir, const std::string& yaml, const std::string& key,
                         const std::string& text, std::chrono::seconds limit) {
  std::string path = dir.file("lun.yaml");
  write_file(path, yaml);
  int key_line = 0, n = 0;
  for (size_t pos = 0; pos < yaml.size(); pos = yaml.find('\n', pos) + 1) {
    ++n;
    std::string line = yaml.substr(pos, yaml.find('\n', pos) - pos);
    if (line.find(" " + key + ":") != std::string::npos) key_line = n;
  }
  ASSERT_GT(key_line, 0) << key;
  for (bool check : {true, false}) {
    std::string log = dir.file(check ? "check.log" : "start.log");
    std::vector<std::string> argv = {SHAREDISK_TARGET_BIN, "--config", path, "--admin-socket",
                                     dir.file("admin.sock")};
    if (check) argv.push_back("--check");
    auto t0 = Clock::now();
    pid_t pid =
        sharedisk::test_support::spawn(argv, {.output_path = log, .cwd = "", .as_nobody = false});
    int code = sharedisk::test_support::reap(pid, limit + std::chrono::seconds(20));
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::string out = read_file(log);
    EXPECT_EQ(code, 2) << out;
    EXPECT_LT(s, double(limit.count())) << out;
    std::string where = path + ":" + std::to_string(key_line) + ": targets[0].luns[0]." + key;
    EXPECT_NE(out.find(where), std::string::npos) << "want '" << where << "' in:\n" << out;
    EXPECT_NE(out.find(text), std::string::npos) << "want '" << text << "' in:\n" << out;
  }
}

TEST_F(RbdDaemon, MissingImageIsAConfigError) {
  TempDir dir;
  expect_config_error(dir, rbd_yaml(uint16_t(free_port()), dir.path(), "nosuchimage", c().conf()),
                      "image", "no such image", std::chrono::seconds(15));
}

TEST_F(RbdDaemon, MissingPoolIsAConfigError) {
  TempDir dir;
  expect_config_error(
      dir, rbd_yaml(uint16_t(free_port()), dir.path(), "lun1", c().conf(), "", "nosuchpool"),
      "pool", "no such pool", std::chrono::seconds(15));
}

TEST_F(RbdDaemon, WrongKeyIsAConfigError) {
  TempDir dir;
  std::string keyring = dir.file("wrong.keyring");
  write_file(keyring, "[client.admin]\n\tkey = AQBzvjRnAAAAABAAqJSqKOpUu1dmgQQPImtc3A==\n");
  expect_config_error(dir,
                      rbd_yaml(uint16_t(free_port()), dir.path(), "lun1", c().conf(),
                               "        keyring: " + keyring + "\n"),
                      "keyring", "refused the key", std::chrono::seconds(15));
}

TEST_F(RbdDaemon, UnreachableMonitorsAreAConfigError) {
  TempDir dir;
  std::string conf = read_file(c().conf());
  std::string mon = c().env("CEPH_MON_ADDR");
  auto at = conf.find(mon);
  ASSERT_NE(at, std::string::npos);
  int p1 = free_port(), p2 = free_port();
  conf.replace(at, mon.size(),
               "[v2:127.0.0.1:" + std::to_string(p1) + ",v1:127.0.0.1:" + std::to_string(p2) + "]");
  std::string path = dir.file("unreachable.conf");
  write_file(path, conf);
  expect_config_error(dir, rbd_yaml(uint16_t(free_port()), dir.path(), "lun1", path), "ceph_conf",
                      "did not answer", std::chrono::seconds(15));
}

}  // namespace
}  // namespace ops
