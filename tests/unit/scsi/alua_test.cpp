// ALUA across gateways: the target port groups of this gateway and its peers
// in REPORT TARGET PORT GROUPS and VPD 0x83, SET TARGET PORT GROUPS (explicit
// ALUA) on this gateway's group, standby enforcement, and the implicit
// owner interface (Alua::set_owner) the RBD lock will drive.
#include <gtest/gtest.h>

#include <tuple>

#include "scsi/alua.h"
#include "scsi_harness.h"

namespace sharedisk::scsi::test {
namespace {

uint16_t be16(const std::vector<uint8_t>& v, size_t at) {
  return uint16_t(v[at] << 8 | v[at + 1]);
}

// This gateway is group 2 (relative port 2); peers: group 1 (port 1) and
// group 3 (ports 7 and 8).
AluaTopology three_gateways() {
  AluaTopology t;
  t.local = {2, {2}};
  t.peers = {{1, {1}}, {3, {7, 8}}};
  return t;
}

class AluaTest : public ::testing::Test {
 protected:
  AluaTest() {
    h.dev = make_device("iqn.2019-02.lb2:odcfs2", three_gateways());
    h.add(1, 2048, 512);
    h.nexus = h.dev->attach("iqn.x:a,i,0x1", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
    other = h.dev->attach("iqn.x:b,i,0x1", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
    h.clear_ua();
    h.clear_ua(other);
  }
  ~AluaTest() override {
    h.dev->detach(other);
    h.dev->detach(h.nexus);
  }

  struct Group {
    uint8_t state, status;
    bool pref;
    uint16_t id;
    std::vector<uint16_t> ports;
  };
  std::vector<Group> rtpg(Nexus* via = nullptr) {
    auto r = h.run({0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 256, {}, via);
    EXPECT_EQ(r.status, status::kGood) << int(r.key) << "/" << int(r.asc) << "/" << int(r.ascq);
    std::vector<Group> out;
    if (r.data.size() < 4) return out;
    EXPECT_EQ((size_t(r.data[0]) << 24 | r.data[1] << 16 | r.data[2] << 8 | r.data[3]) + 4,
              r.data.size());
    for (size_t at = 4; at + 8 <= r.data.size();) {
      Group g{uint8_t(r.data[at] & 0x0F),
              r.data[at + 5],
              bool(r.data[at] & 0x80),
              be16(r.data, at + 2),
              {}};
      EXPECT_EQ(r.data[at + 1], 0x07);  // S_SUP, AN_SUP, AO_SUP
      for (int i = 0; i < r.data[at + 7]; ++i) g.ports.push_back(be16(r.data, at + 8 + 4 * i + 2));
      at += 8 + 4 * g.ports.size();
      out.push_back(g);
    }
    return out;
  }
  Result stpg(std::vector<uint8_t> params, Nexus* via = nullptr) {
    auto n = uint8_t(params.size());
    return h.run({0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, n, 0, 0}, n, params, via);
  }

  Harness h;
  Nexus* other = nullptr;
};

TEST_F(AluaTest, InquiryReportsImplicitAndExplicitAlua) {
  auto r = h.run({0x12, 0, 0, 0, 96, 0}, 96);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data[5] & 0x30, 0x30);
}

TEST_F(AluaTest, ReportListsEveryGatewayIdenticallyOnEveryPath) {
  auto groups = rtpg();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].id, 2);
  EXPECT_EQ(groups[0].state, 0x0);  // this gateway: active/optimized
  EXPECT_EQ(groups[0].ports, std::vector<uint16_t>{2});
  EXPECT_EQ(groups[1].id, 1);
  EXPECT_EQ(groups[1].state, 0x1);  // peers: active/non-optimized
  EXPECT_EQ(groups[1].ports, std::vector<uint16_t>{1});
  EXPECT_EQ(groups[2].id, 3);
  EXPECT_EQ(groups[2].state, 0x1);
  EXPECT_EQ((groups[2].ports), (std::vector<uint16_t>{7, 8}));
  for (const Group& g : groups) EXPECT_FALSE(g.pref);
  auto again = rtpg(other);
  ASSERT_EQ(again.size(), groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    EXPECT_EQ(again[i].id, groups[i].id);
    EXPECT_EQ(again[i].state, groups[i].state);
    EXPECT_EQ(again[i].ports, groups[i].ports);
  }
}

TEST_F(AluaTest, DeviceIdentificationNamesThisGatewaysPortAndGroup) {
  auto r = h.run({0x12, 1, 0x83, 1, 0, 0}, 256);
  ASSERT_EQ(r.status, status::kGood);
  int rtpi = -1, tpg = -1;
  for (size_t at = 4; at + 4 <= r.data.size(); at += 4 + r.data[at + 3]) {
    uint8_t type = r.data[at + 1] & 0x0F;
    if (type == 0x4) rtpi = be16(r.data, at + 6);
    if (type == 0x5) tpg = be16(r.data, at + 6);
  }
  EXPECT_EQ(rtpi, 2);
  EXPECT_EQ(tpg, 2);
}

TEST_F(AluaTest, SetToStandbyRefusesMediaAccessUntilActiveAgain) {
  auto r = stpg({0, 0, 0, 0, 0x02, 0, 0, 2});  // group 2 -> standby
  ASSERT_EQ(r.status, status::kGood);
  auto groups = rtpg();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].state, 0x2);
  EXPECT_EQ(groups[0].status, 0x01);  // altered by SET TARGET PORT GROUPS
  EXPECT_EQ(groups[1].state, 0x1);    // the peers are not this gateway's to change
  // Reads and TEST UNIT READY: NOT READY, TARGET PORT IN STANDBY STATE.
  r = h.run(cdb10(0x28, 0, 1), 512);
  EXPECT_EQ(r.status, status::kCheckCondition);
  EXPECT_EQ(std::make_tuple(r.key, r.asc, r.ascq), std::make_tuple(0x2, 0x04, 0x0B));
  r = h.run({0x00, 0, 0, 0, 0, 0}, 0);
  EXPECT_EQ(std::make_tuple(r.key, r.asc, r.ascq), std::make_tuple(0x2, 0x04, 0x0B));
  EXPECT_EQ(h.run({0x12, 0, 0, 0, 96, 0}, 96).status, status::kGood);
  // The other nexus learns of the change first (ASYMMETRIC ACCESS STATE CHANGED).
  r = h.run(cdb10(0x28, 0, 1), 512, {}, other);
  EXPECT_EQ(std::make_tuple(r.key, r.asc, r.ascq), std::make_tuple(0x6, 0x2A, 0x06));
  // Back to active/non-optimized: served again.
  ASSERT_EQ(stpg({0, 0, 0, 0, 0x01, 0, 0, 2}, other).status, status::kGood);
  ASSERT_EQ(rtpg(other).size(), 3u);
  EXPECT_EQ(rtpg(other)[0].state, 0x1);
  r = h.run(cdb10(0x28, 0, 1), 512, {}, other);
  EXPECT_EQ(r.status, status::kGood);
  r = h.run(cdb10(0x28, 0, 1), 512);  // the first nexus: its unit attention, then data
  EXPECT_EQ(std::make_tuple(r.key, r.asc, r.ascq), std::make_tuple(0x6, 0x2A, 0x06));
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512).status, status::kGood);
  ASSERT_EQ(stpg({0, 0, 0, 0, 0x00, 0, 0, 2}).status, status::kGood);
  ASSERT_EQ(rtpg().size(), 3u);
  EXPECT_EQ(rtpg()[0].state, 0x0);
}

TEST_F(AluaTest, BadParameterListsPointAtTheField) {
  auto check = [&](std::vector<uint8_t> params, int byte, int bit) {
    auto r = stpg(params);
    EXPECT_EQ(std::make_tuple(r.key, r.asc, r.ascq), std::make_tuple(0x5, 0x26, 0x00));
    EXPECT_EQ(field_pointer(r), std::make_tuple(false, byte, bit));
  };
  check({0, 0, 0, 0, 0x03, 0, 0, 2}, 4, 3);                 // unavailable: not supported
  check({0, 0, 0, 0, 0x0F, 0, 0, 2}, 4, 3);                 // transitioning: not settable
  check({0, 0, 0, 0, 0x00, 0, 0, 1}, 6, -1);                // a peer's group
  check({0, 0, 0, 0, 0x00, 0, 0, 9}, 6, -1);                // no such group
  check({0, 0, 0, 0, 0x00, 0, 0, 2, 0x02, 0, 0, 2}, 8, 3);  // two states for one group
  auto r = stpg({0, 0, 0, 0, 0x00, 0, 0});                  // not a whole descriptor
  EXPECT_EQ(std::make_tuple(r.key, r.asc, r.ascq), std::make_tuple(0x5, 0x1A, 0x00));
  ASSERT_EQ(rtpg().size(), 3u);
  EXPECT_EQ(rtpg()[0].state, 0x0);  // nothing changed
  // An empty list changes nothing.
  EXPECT_EQ(h.run({0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0).status, status::kGood);
}

TEST_F(AluaTest, SupportedOperationCodesListSetTargetPortGroups) {
  auto r = h.run({0xA3, 0x0C, 0x02, 0xA4, 0, 0x0A, 0, 0, 1, 0, 0, 0}, 256);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data[1] & 0x07, 0x03);  // supported as in the standard
  EXPECT_EQ(be16(r.data, 2), 12);
  EXPECT_EQ(r.data[4], 0xA4);
}

// Implicit ALUA as the RBD exclusive lock drives it (Device::set_alua_owner):
// the holder's group optimized, the rest non-optimized, every nexus told.
TEST_F(AluaTest, LockOwnerDrivesEveryGroupAndTellsEveryNexus) {
  EXPECT_TRUE(h.dev->set_alua_owner(1, 3));
  for (Nexus* via : {h.nexus, other}) {
    auto r = h.run(cdb10(0x28, 0, 1), 512, {}, via);
    EXPECT_EQ(std::make_tuple(r.key, r.asc, r.ascq), std::make_tuple(0x6, 0x2A, 0x06));
    auto groups = rtpg(via);
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(groups[0].state, 0x1);    // this gateway (2)
    EXPECT_EQ(groups[1].state, 0x1);    // 1
    EXPECT_EQ(groups[2].state, 0x0);    // 3 holds the lock
    EXPECT_EQ(groups[2].status, 0x02);  // implicit
  }
  // The same owner again changes nothing and tells nobody.
  EXPECT_FALSE(h.dev->set_alua_owner(1, 3));
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512).status, status::kGood);
  // Nobody (0, the lock between two holders) or an unknown group after an
  // owner: the last owner's states stay, and nobody is told anything.
  EXPECT_FALSE(h.dev->set_alua_owner(1, 0));
  EXPECT_FALSE(h.dev->set_alua_owner(1, 99));
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512).status, status::kGood);
  auto groups = rtpg();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[2].state, 0x0);            // 3 still
  EXPECT_FALSE(h.dev->set_alua_owner(7, 3));  // no such LUN
}

// Before any owner is known, nobody holding the lock makes the lowest group
// optimized, the same on every gateway.
TEST_F(AluaTest, NobodyBeforeAnyOwnerPrefersTheLowestGroup) {
  EXPECT_TRUE(h.dev->set_alua_owner(1, 0));
  h.clear_ua();
  auto groups = rtpg();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[1].id, 1);
  EXPECT_EQ(groups[1].state, 0x0);
  EXPECT_EQ(groups[0].state, 0x1);
  EXPECT_EQ(groups[2].state, 0x1);
  EXPECT_FALSE(h.dev->set_alua_owner(1, 0));
}

// The interface the RBD exclusive lock drives (implicit ALUA).
TEST(AluaState, OwnerIsOptimizedEveryOtherGroupNonOptimized) {
  Alua a(three_gateways());
  EXPECT_EQ(a.local_state(), AluaState::kActiveOptimized);
  EXPECT_TRUE(a.set_owner(3));
  EXPECT_EQ(a.local_state(), AluaState::kActiveNonOptimized);
  auto g = a.groups();
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].state, AluaState::kActiveNonOptimized);
  EXPECT_EQ(g[1].state, AluaState::kActiveNonOptimized);
  EXPECT_EQ(g[2].state, AluaState::kActiveOptimized);
  for (const auto& x : g) EXPECT_EQ(x.status, AluaStatus::kImplicit);
  EXPECT_FALSE(a.set_owner(1));  // this gateway stays non-optimized
  EXPECT_TRUE(a.set_owner(2));
  EXPECT_EQ(a.local_state(), AluaState::kActiveOptimized);
  EXPECT_EQ(a.groups()[2].state, AluaState::kActiveNonOptimized);
  EXPECT_FALSE(a.set_local_state(AluaState::kUnavailable));
  EXPECT_EQ(a.local_state(), AluaState::kActiveOptimized);
  // An explicit state holds until the owner moves.
  EXPECT_TRUE(a.set_local_state(AluaState::kStandby));
  EXPECT_FALSE(a.set_owner(2));
  EXPECT_EQ(a.local_state(), AluaState::kStandby);
  EXPECT_TRUE(a.set_owner(1));
  EXPECT_EQ(a.local_state(), AluaState::kActiveNonOptimized);
  EXPECT_EQ(a.preferred_group(), 1);
}

}  // namespace
}  // namespace sharedisk::scsi::test
