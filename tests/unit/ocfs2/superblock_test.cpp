// Superblock probe on synthetic volumes held in memory.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "sharedisk/ocfs2/check.h"
#include "sharedisk/ocfs2/superblock.h"
#include "test_data.h"

namespace sharedisk::ocfs2 {
namespace {

void put16(std::vector<std::uint8_t>& v, std::size_t off, std::uint16_t x) {
  v[off] = x & 0xff;
  v[off + 1] = x >> 8;
}
void put32(std::vector<std::uint8_t>& v, std::size_t off, std::uint32_t x) {
  for (int i = 0; i < 4; ++i) v[off + i] = (x >> (8 * i)) & 0xff;
}

// A volume with just a superblock, laid out as mkfs.ocfs2 does.
std::vector<std::uint8_t> volume(std::uint32_t block_bits, std::uint32_t cluster_bits,
                                 std::uint16_t slots, const char* cluster_name = "ocfs2") {
  const std::size_t bs = std::size_t{1} << block_bits;
  std::vector<std::uint8_t> v(8 * bs, 0);
  const std::size_t sb = 2 * bs;
  std::memcpy(&v[sb], "OCFSV2", 7);
  put32(v, sb + 0x14, 1024);  // clusters
  put32(v, sb + 0x2C, 0x31);  // valid | system | superblock
  put32(v, sb + 0x50, 2);     // blkno
  const std::size_t s = sb + 0xC0;
  put16(v, s + 0x02, 90);
  put32(v, s + 0x1C, 0x3);
  put32(v, s + 0x20, 0x4000 | 0x0010);  // clusterinfo | sparse
  put32(v, s + 0x24, 0x1);
  put32(v, s + 0x38, block_bits);
  put32(v, s + 0x3C, cluster_bits);
  put16(v, s + 0x40, slots);
  std::memcpy(&v[s + 0x50], "Odoo_Cluster", 12);
  for (int i = 0; i < 16; ++i) v[s + 0x90 + i] = static_cast<std::uint8_t>(0x10 * i + i);
  std::memcpy(&v[s + 0xA0], "o2cb", 4);
  std::memcpy(&v[s + 0xA8], cluster_name, std::strlen(cluster_name));
  return v;
}

ProbeResult probe(std::vector<std::uint8_t> bytes) {
  MemoryBlockReader r(std::move(bytes));
  return probe_superblock(r);
}

TEST(Superblock, ReadsEveryBlockSize) {
  for (std::uint32_t bits = 9; bits <= 12; ++bits) {
    ProbeResult p = probe(volume(bits, 17, 4));
    ASSERT_TRUE(p.ok()) << p.message;
    EXPECT_EQ(p.info.block_size, 1u << bits);
    EXPECT_EQ(p.info.cluster_size, 128u * 1024);
    EXPECT_EQ(p.info.node_slots, 4u);
    EXPECT_EQ(p.info.label, "Odoo_Cluster");
    EXPECT_EQ(p.info.uuid, "00112233-4455-6677-8899-aabbccddeeff");
    EXPECT_EQ(p.info.uuid_hex, "00112233445566778899AABBCCDDEEFF");
    EXPECT_EQ(p.info.cluster_stack, "o2cb");
    EXPECT_EQ(p.info.cluster_name, "ocfs2");
    EXPECT_EQ(p.info.size_bytes(), 1024ull * 128 * 1024);
    const std::vector<std::string> features = {"backup-super", "strict-journal-super", "sparse",
                                               "clusterinfo", "unwritten"};
    EXPECT_EQ(p.info.features, features);
  }
}

TEST(Superblock, NotOcfs2SaysWhatItIs) {
  ProbeResult p = probe(std::vector<std::uint8_t>(1 << 20, 0));
  EXPECT_EQ(p.status, ProbeStatus::not_ocfs2);
  EXPECT_NE(p.message.find("blank"), std::string::npos);

  std::vector<std::uint8_t> ext(1 << 20, 0x41);
  ext[1080] = 0x53;
  ext[1081] = 0xef;
  p = probe(ext);
  EXPECT_EQ(p.status, ProbeStatus::not_ocfs2);
  EXPECT_NE(p.message.find("ext"), std::string::npos);

  p = probe(std::vector<std::uint8_t>(100, 1));
  EXPECT_EQ(p.status, ProbeStatus::not_ocfs2);
}

TEST(Superblock, InconsistentFieldsAreDamage) {
  auto v = volume(12, 30, 2);  // cluster size 1 GiB
  EXPECT_EQ(probe(v).status, ProbeStatus::damaged);
  v = volume(12, 12, 0);  // no slots
  EXPECT_EQ(probe(v).status, ProbeStatus::damaged);
  v = volume(12, 12, 2);
  put32(v, 2 * 4096 + 0x50, 7);  // wrong block number
  EXPECT_EQ(probe(v).status, ProbeStatus::damaged);
  v = volume(12, 12, 2);
  put32(v, 2 * 4096 + 0xC0 + 0x20, 0x4000 | 0x0800);  // metaecc without a valid checksum
  ProbeResult p = probe(v);
  EXPECT_EQ(p.status, ProbeStatus::damaged);
  EXPECT_NE(p.message.find("checksum"), std::string::npos);
}

TEST(Superblock, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    auto v = volume(9 + round % 4, 12 + round % 9, static_cast<std::uint16_t>(1 + round % 8));
    const std::size_t sb = 2u << (9 + round % 4);
    for (int k = 0; k < 8; ++k) v[sb + rng() % 512] = static_cast<std::uint8_t>(rng());
    ProbeResult p = probe(v);
    if (p.ok()) {
      EXPECT_GE(p.info.cluster_size, 4096u);
      EXPECT_LE(p.info.cluster_size, 1u << 20);
      EXPECT_GE(p.info.node_slots, 1u);
    } else {
      EXPECT_FALSE(p.message.empty());
    }
  }
}

TEST(DiskCheck, MatchingVolumeGivesTheFstabLine) {
  const ClusterConf conf = parse_cluster_conf(test::kDeploymentConf).conf;
  CheckResult c = check_volume(conf, probe(volume(12, 17, 2)));
  EXPECT_TRUE(c.diagnostics.empty()) << c.diagnostics.front().to_string();
  EXPECT_EQ(c.fstab_line,
            "UUID=00112233-4455-6677-8899-aabbccddeeff /var/lib/odoo ocfs2 defaults,_netdev 0 0");
}

TEST(DiskCheck, TooFewSlotsAndWrongClusterAreErrors) {
  const ClusterConf conf = parse_cluster_conf(test::kDeploymentConf).conf;
  CheckResult c = check_volume(conf, probe(volume(12, 17, 1, "other")));
  ASSERT_EQ(c.diagnostics.size(), 2u);
  EXPECT_EQ(c.diagnostics[0].code, "volume-too-few-slots");
  EXPECT_EQ(c.diagnostics[1].code, "volume-cluster-mismatch");
  EXPECT_FALSE(c.ok());

  CheckResult bad = check_volume(conf, probe(std::vector<std::uint8_t>(65536, 0)));
  ASSERT_EQ(bad.diagnostics.size(), 1u);
  EXPECT_EQ(bad.diagnostics[0].code, "volume-not-ocfs2");
  EXPECT_TRUE(bad.fstab_line.empty());
}

}  // namespace
}  // namespace sharedisk::ocfs2
