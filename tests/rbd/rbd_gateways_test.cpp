// Two gateways, one disk: examples/gateway-a.yaml and gateway-b.yaml (ports
// rewritten to free ones, the throwaway cluster's ceph.conf) start two
// sharedisk-target daemons on the same RBD image. Through libiscsi, both must
// report the same logical unit (unit serial, NAA, derived from the cluster
// fsid, pool and image), the same REPORT TARGET PORT GROUPS listing (groups 1
// and 2 with their relative ports), and serve the same data; SET TARGET PORT
// GROUPS through one gateway changes what that gateway reports and serves.
#include "ceph_cluster.h"
#include "config/config.h"
#include "gateway_pair.h"

namespace ops {
namespace {

// SET TARGET PORT GROUPS with one descriptor; the SCSI status.
int set_group(iscsi_context* s, uint16_t group, uint8_t state) {
  unsigned char cdb[12] = {0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0};
  unsigned char params[8] = {0, 0, 0, 0, state, 0, uint8_t(group >> 8), uint8_t(group)};
  scsi_task* t = scsi_create_task(12, cdb, SCSI_XFER_WRITE, 8);
  iscsi_data data{8, params};
  t = iscsi_scsi_command_sync(s, 1, t, &data);
  int status = t != nullptr ? t->status : -1;
  if (t != nullptr) scsi_free_scsi_task(t);
  return status;
}

std::string vpd_serial(iscsi_context* s) {
  scsi_task* t = iscsi_inquiry_sync(s, 1, 1, 0x80, 255);
  std::vector<uint8_t> d = data_of(t);
  if (t != nullptr) scsi_free_scsi_task(t);
  if (d.size() < 4) return {};
  return std::string(d.begin() + 4, d.begin() + 4 + std::min<size_t>(d[3], d.size() - 4));
}

// The NAA designator of the logical unit (VPD 0x83, association 0, type 3), as hex.
std::string vpd_naa(iscsi_context* s) {
  scsi_task* t = iscsi_inquiry_sync(s, 1, 1, 0x83, 1024);
  std::vector<uint8_t> d = data_of(t);
  if (t != nullptr) scsi_free_scsi_task(t);
  for (size_t at = 4; at + 4 <= d.size(); at += 4 + d[at + 3]) {
    if ((d[at + 1] & 0x3F) != 0x03 || at + 4 + d[at + 3] > d.size()) continue;
    std::string hex;
    for (int i = 0; i < d[at + 3]; ++i) {
      char b[3];
      std::snprintf(b, sizeof b, "%02x", d[at + 4 + i]);
      hex += b;
    }
    return hex;
  }
  return {};
}

class RbdGateways : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_CLUSTER(); }
  rbdtest::CephCluster& c() { return rbdtest::cluster(); }
};

TEST_F(RbdGateways, ExamplePairReportsOneUnitTwoGroups) {
  ASSERT_EQ(c().rbd({"create", "--size", "32", "rbd/shared1"}), 0)
      << read_file(c().file("rbd.out"));
  GatewayPair pair(c().conf(), "shared1");
  IscsiPtr sa = iscsi_login(pair.port_a, 1, kGatewayIqn);
  IscsiPtr sb = iscsi_login(pair.port_b, 1, kGatewayIqn);
  ASSERT_TRUE(sa && sb);

  // One logical unit: the identity derived from the cluster fsid, pool and image.
  const std::string fsid = c().env("CEPH_FSID");
  ASSERT_FALSE(fsid.empty());
  EXPECT_EQ(vpd_serial(sa.get()), sharedisk::config::rbd_serial(fsid, "rbd", "", "shared1"));
  EXPECT_EQ(vpd_serial(sb.get()), vpd_serial(sa.get()));
  EXPECT_EQ(vpd_naa(sa.get()), sharedisk::config::rbd_naa(fsid, "rbd", "", "shared1"));
  EXPECT_EQ(vpd_naa(sb.get()), vpd_naa(sa.get()));

  // TPGS 11b in the standard INQUIRY data of both.
  for (iscsi_context* s : {sa.get(), sb.get()}) {
    scsi_task* t = iscsi_inquiry_sync(s, 1, 0, 0, 96);
    std::vector<uint8_t> d = data_of(t);
    if (t != nullptr) scsi_free_scsi_task(t);
    ASSERT_GE(d.size(), 6u);
    EXPECT_EQ(d[5] & 0x30, 0x30);
  }

  // The same two groups with the same states on both paths (each gateway
  // first lists its own): nobody holds the exclusive lock yet, so the lowest
  // group is the optimized one on both.
  const Group g1_ao{0x0, 1, {1}}, g2_ano{0x1, 2, {2}};
  EXPECT_EQ(await_groups({sa.get(), sb.get()}, {g1_ao, g2_ano}, std::chrono::seconds(10)),
            (std::vector<Group>{g1_ao, g2_ano}));
  std::vector<Group> ga = report_groups(sa.get()), gb = report_groups(sb.get());
  EXPECT_EQ(ga, (std::vector<Group>{g1_ao, g2_ano}));
  EXPECT_EQ(gb, (std::vector<Group>{g2_ano, g1_ao}));

  // The same data: written through A, read back through B.
  std::vector<uint8_t> w(8192);
  for (size_t i = 0; i < w.size(); ++i) w[i] = uint8_t(i * 31 + 7);
  scsi_task* t =
      iscsi_write16_sync(sa.get(), 1, 64, w.data(), uint32_t(w.size()), 512, 0, 0, 1, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << iscsi_get_error(sa.get());
  scsi_free_scsi_task(t);
  t = iscsi_read16_sync(sb.get(), 1, 64, uint32_t(w.size()), 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << iscsi_get_error(sb.get());
  EXPECT_EQ(data_of(t), w);
  scsi_free_scsi_task(t);

  // Explicit ALUA through A: A's group to standby. A reports and enforces it
  // (until the lock owner moves), B (which has no way to know) still serves
  // and reports its own view.
  ASSERT_EQ(set_group(sa.get(), 1, 0x2), SCSI_STATUS_GOOD);
  EXPECT_EQ(report_groups(sa.get()), (std::vector<Group>{{0x2, 1, {1}}, g2_ano}));
  EXPECT_EQ(report_groups(sb.get()), gb);
  t = iscsi_read16_sync(sa.get(), 1, 64, 512, 512, 0, 0, 0, 0, 0);
  ASSERT_NE(t, nullptr) << iscsi_get_error(sa.get());
  EXPECT_EQ(t->status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(t->sense.key, SCSI_SENSE_NOT_READY);
  EXPECT_EQ(t->sense.ascq, 0x040B);  // TARGET PORT IN STANDBY STATE
  scsi_free_scsi_task(t);
  t = iscsi_read16_sync(sb.get(), 1, 64, 512, 512, 0, 0, 0, 0, 0);
  EXPECT_TRUE(scsi_ok(t)) << iscsi_get_error(sb.get());
  if (t != nullptr) scsi_free_scsi_task(t);
  // A peer's group is not A's to set.
  EXPECT_EQ(set_group(sa.get(), 2, 0x2), SCSI_STATUS_CHECK_CONDITION);
  // Back to active/optimized: A serves again.
  ASSERT_EQ(set_group(sa.get(), 1, 0x0), SCSI_STATUS_GOOD);
  EXPECT_EQ(report_groups(sa.get()), ga);
  t = iscsi_read16_sync(sa.get(), 1, 64, uint32_t(w.size()), 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << iscsi_get_error(sa.get());
  EXPECT_EQ(data_of(t), w);
  scsi_free_scsi_task(t);
  sa.reset();
  sb.reset();
  pair.stop();
}

}  // namespace
}  // namespace ops
