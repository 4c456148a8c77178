// Two gateways, one disk: examples/gateway-a.yaml and gateway-b.yaml (ports
// rewritten to free ones, the throwaway cluster's ceph.conf) start two
// sharedisk-target daemons on the same RBD image. Through libiscsi, both must
// report the same logical unit (unit serial, NAA, derived from the cluster
// fsid, pool and image), the same REPORT TARGET PORT GROUPS listing (groups 1
// and 2 with their relative ports), and serve the same data; SET TARGET PORT
// GROUPS through one gateway changes what that gateway reports and serves.
#include <tuple>

#include "ceph_cluster.h"
#include "config/config.h"
#include "gateway_pair.h"
#include "raw_iscsi.h"

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

// The TargetPortalGroupTag of a Normal-session login to `port` (raw PDUs, so
// the key itself is seen); -1 when the login fails or does not carry it.
int login_tpgt(uint16_t port) {
  namespace ts = sharedisk::test_support;
  ts::RawIscsiConnection conn;
  if (!conn.connect(port)) return -1;
  ts::LoginHeader h;
  h.isid = 0x800000000077ull;
  ts::Pdu r;
  std::string keys = ts::text_keys({{"InitiatorName", "iqn.2026-01.test:tpgt"},
                                    {"SessionType", "Normal"},
                                    {"TargetName", kGatewayIqn}});
  if (!ts::login_stage(conn, &h, keys, std::chrono::seconds(5), 4, &r)) return -1;
  if (r.opcode() != 0x23 || ts::login_status(r) != 0) return -1;
  const std::string key = "TargetPortalGroupTag=";
  for (size_t at = 0; at < r.data.size();) {
    size_t end = r.data.find('\0', at);
    if (end == std::string::npos) end = r.data.size();
    if (r.data.compare(at, key.size(), key) == 0)
      return std::stoi(r.data.substr(at + key.size(), end - at - key.size()));
    at = end + 1;
  }
  return -1;
}

// The portal group tags SendTargets lists for kGatewayIqn (libiscsi's discovery).
std::vector<int> send_targets_tags(uint16_t port) {
  std::vector<int> out;
  IscsiPtr c(iscsi_create_context("iqn.2026-01.test:discovery"));
  if (!c) return out;
  iscsi_set_session_type(c.get(), ISCSI_SESSION_DISCOVERY);
  iscsi_set_noautoreconnect(c.get(), 1);
  std::string portal = "127.0.0.1:" + std::to_string(port);
  if (iscsi_connect_sync(c.get(), portal.c_str()) != 0 || iscsi_login_sync(c.get()) != 0)
    return out;
  iscsi_discovery_address* da = iscsi_discovery_sync(c.get());
  for (iscsi_discovery_address* a = da; a != nullptr; a = a->next) {
    if (std::string(a->target_name) != kGatewayIqn) continue;
    for (iscsi_target_portal* p = a->portals; p != nullptr; p = p->next) {
      std::string addr = p->portal;
      size_t comma = addr.rfind(',');
      out.push_back(comma == std::string::npos ? -1 : std::stoi(addr.substr(comma + 1)));
    }
  }
  if (da != nullptr) iscsi_free_discovery_data(c.get(), da);
  iscsi_logout_sync(c.get());
  return out;
}

// Device identification VPD of this path: the target port group designator
// (type 5) and the tag of the SCSI target port name ("iqn...,t,0x<hex>", type 8,
// association target port); -1 each when missing.
std::pair<int, int> vpd_port_group(iscsi_context* s) {
  scsi_task* t = iscsi_inquiry_sync(s, 1, 1, 0x83, 1024);
  std::vector<uint8_t> d = data_of(t);
  if (t != nullptr) scsi_free_scsi_task(t);
  int group = -1, name_tag = -1;
  for (size_t at = 4; at + 4 <= d.size() && at + 4 + d[at + 3] <= d.size(); at += 4 + d[at + 3]) {
    const uint8_t assoc = (d[at + 1] >> 4) & 0x3, type = d[at + 1] & 0x0F;
    if (assoc == 1 && type == 5 && d[at + 3] >= 4) group = be16(d, at + 6);
    if (assoc == 1 && type == 8) {
      std::string name(reinterpret_cast<const char*>(&d[at + 4]),
                       strnlen(reinterpret_cast<const char*>(&d[at + 4]), d[at + 3]));
      size_t tag = name.rfind(",t,0x");
      if (tag != std::string::npos) name_tag = int(std::stoul(name.substr(tag + 5), nullptr, 16));
    }
  }
  return {group, name_tag};
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

// The iSCSI target portal group tag is the gateway's target port group: the
// Login answer, SendTargets, the target port name and the target port group
// designator of the device identification VPD, and RTPG all say 1 through A
// and 2 through B (RFC 7143 TargetPortalGroupTag; SPC-4 7.7.3 name string
// "iqn,t,0x<tpgt>").
TEST_F(RbdGateways, PortalGroupTagIsTheGatewaysGroup) {
  ASSERT_EQ(c().rbd({"create", "--size", "16", "--image-feature", "layering", "rbd/tpgt"}), 0)
      << read_file(c().file("rbd.out"));
  GatewayPair pair(c().conf(), "tpgt");
  for (auto [port, group] : {std::pair<uint16_t, int>{pair.port_a, 1}, {pair.port_b, 2}}) {
    SCOPED_TRACE("gateway with group " + std::to_string(group));
    EXPECT_EQ(login_tpgt(port), group);
    EXPECT_EQ(send_targets_tags(port), (std::vector<int>{group}));
    IscsiPtr s = iscsi_login(port, 1, kGatewayIqn);
    ASSERT_TRUE(s);
    EXPECT_EQ(vpd_port_group(s.get()), std::make_pair(group, group));
    std::vector<Group> g = report_groups(s.get());
    ASSERT_FALSE(g.empty());
    EXPECT_EQ(g.front().id, group);  // each path lists its own group first
  }
  pair.stop();
}

// Status (and sense) of a PERSISTENT RESERVE OUT with the basic parameter list.
struct Answer {
  int status = -1;
  int key = 0, ascq = 0;
};
Answer answer(scsi_task* t) {
  Answer a;
  if (t == nullptr) return a;
  a.status = t->status;
  a.key = t->sense.key;
  a.ascq = t->sense.ascq;
  scsi_free_scsi_task(t);
  return a;
}
Answer prout(iscsi_context* s, int sa, int type, uint64_t key, uint64_t sa_key) {
  scsi_persistent_reserve_out_basic p{key, sa_key, 0, 0, 0};
  return answer(iscsi_persistent_reserve_out_sync(s, 1, sa, 0, type, &p));
}
std::vector<uint64_t> read_keys(iscsi_context* s) {
  std::vector<uint64_t> out;
  scsi_task* t = iscsi_persistent_reserve_in_sync(s, 1, SCSI_PERSISTENT_RESERVE_READ_KEYS, 512);
  if (t == nullptr) return out;
  if (t->status == SCSI_STATUS_GOOD)
    if (auto* k = static_cast<scsi_persistent_reserve_in_read_keys*>(scsi_datain_unmarshall(t)))
      out.assign(k->keys, k->keys + k->num_keys);
  scsi_free_scsi_task(t);
  return out;
}
// Test unit ready until no unit attention is left (at most a few).
void clear_attentions(iscsi_context* s) {
  for (int i = 0; i < 8; ++i)
    if (answer(iscsi_testunitready_sync(s, 1)).status == SCSI_STATUS_GOOD) return;
}

// TARGET WARM RESET and TARGET COLD RESET through A reset the shared LU on B
// too, before A answers: node2's next command through B gets the reset's
// unit attention (29/02), as node1's through A does.
TEST_F(RbdGateways, TargetResetReachesTheOtherGateway) {
  ASSERT_EQ(c().rbd({"create", "--size", "16", "--image-feature", "layering", "rbd/treset"}), 0)
      << read_file(c().file("rbd.out"));
  GatewayPair pair(c().conf(), "treset");
  const std::string node1 = "iqn.2026-01.test:node1", node2 = "iqn.2026-01.test:node2";
  IscsiPtr n2b = iscsi_login(pair.port_b, 1, kGatewayIqn, node2, 0x22);
  ASSERT_TRUE(n2b);
  for (bool cold : {false, true}) {
    SCOPED_TRACE(cold ? "cold" : "warm");
    IscsiPtr n1a = iscsi_login(pair.port_a, 1, kGatewayIqn, node1, 0x11);
    ASSERT_TRUE(n1a);
    clear_attentions(n1a.get());
    clear_attentions(n2b.get());
    ASSERT_EQ(answer(iscsi_testunitready_sync(n2b.get(), 1)).status, SCSI_STATUS_GOOD);
    int rc = cold ? iscsi_task_mgmt_target_cold_reset_sync(n1a.get())
                  : iscsi_task_mgmt_target_warm_reset_sync(n1a.get());
    ASSERT_EQ(rc, 0) << iscsi_get_error(n1a.get());
    Answer ua = answer(iscsi_testunitready_sync(n2b.get(), 1));
    EXPECT_EQ(ua.status, SCSI_STATUS_CHECK_CONDITION);
    EXPECT_EQ(ua.key, SCSI_SENSE_UNIT_ATTENTION);
    EXPECT_EQ(ua.ascq >> 8, 0x29);
    EXPECT_EQ(answer(iscsi_testunitready_sync(n2b.get(), 1)).status, SCSI_STATUS_GOOD);
    if (!cold) {
      ua = answer(iscsi_testunitready_sync(n1a.get(), 1));
      EXPECT_EQ(ua.key, SCSI_SENSE_UNIT_ATTENTION);
      EXPECT_EQ(ua.ascq >> 8, 0x29);
    }
  }
  n2b.reset();
  pair.stop();
}

// Unit attentions a gateway missed while its view of the shared state was
// stale: B is frozen (SIGSTOP) until the OSD drops its watch, A then
// preempts node1's registration, releases a registrants-only reservation and
// resets the LU; after SIGCONT, once B has read the state again, node1's
// nexus on B gets REGISTRATIONS PREEMPTED (2A/05) and node3's RESERVATIONS
// RELEASED (2A/04), and both the reset's BUS DEVICE RESET (29/03).
TEST_F(RbdGateways, AttentionsMissedWhileStaleAreDelivered) {
  ASSERT_EQ(c().rbd({"create", "--size", "16", "--image-feature", "layering", "rbd/missed"}), 0)
      << read_file(c().file("rbd.out"));
  GatewayPair pair(c().conf(), "missed");
  const std::string node1 = "iqn.2026-01.test:node1", node2 = "iqn.2026-01.test:node2",
                    node3 = "iqn.2026-01.test:node3";
  IscsiPtr n1b = iscsi_login(pair.port_b, 1, kGatewayIqn, node1, 0x11);
  IscsiPtr n3b = iscsi_login(pair.port_b, 1, kGatewayIqn, node3, 0x33);
  IscsiPtr n2a = iscsi_login(pair.port_a, 1, kGatewayIqn, node2, 0x22);
  ASSERT_TRUE(n1b && n2a && n3b);
  for (iscsi_context* s : {n1b.get(), n2a.get(), n3b.get()}) clear_attentions(s);
  ASSERT_EQ(prout(n1b.get(), 0, 0, 0, 0xA1).status, SCSI_STATUS_GOOD);
  ASSERT_EQ(prout(n3b.get(), 0, 0, 0, 0xC3).status, SCSI_STATUS_GOOD);
  ASSERT_EQ(prout(n2a.get(), 0, 0, 0, 0xB2).status, SCSI_STATUS_GOOD);
  ASSERT_EQ(prout(n2a.get(), 1, 5, 0xB2, 0).status, SCSI_STATUS_GOOD);  // WE, registrants only

  pair.b.signal(SIGSTOP);
  std::this_thread::sleep_for(std::chrono::seconds(12));  // the OSD drops B's watch (10 s)
  ASSERT_EQ(prout(n2a.get(), 4, 5, 0xB2, 0xA1).status, SCSI_STATUS_GOOD);  // PREEMPT node1
  ASSERT_EQ(prout(n2a.get(), 2, 5, 0xB2, 0).status, SCSI_STATUS_GOOD);     // RELEASE
  ASSERT_EQ(iscsi_task_mgmt_lun_reset_sync(n2a.get(), 1), 0) << iscsi_get_error(n2a.get());
  pair.b.signal(SIGCONT);
  // No pause: B's view stopped being proven current while it was frozen, so
  // its first answers are "becoming ready" until it has read the state again.

  // The first answer through B that is not "becoming ready" (02/04/01).
  auto first_answer = [](iscsi_context* s) {
    Answer a;
    auto deadline = Clock::now() + std::chrono::seconds(30);
    do {
      a = answer(iscsi_testunitready_sync(s, 1));
      if (!(a.key == SCSI_SENSE_NOT_READY && a.ascq == 0x0401)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (Clock::now() < deadline);
    return a;
  };
  // Every unit attention up to the first GOOD, in the order reported.
  auto attentions = [&](iscsi_context* s) {
    std::vector<int> seen;
    for (Answer a = first_answer(s); a.status != SCSI_STATUS_GOOD && seen.size() < 8;
         a = answer(iscsi_testunitready_sync(s, 1)))
      seen.push_back(a.key == SCSI_SENSE_UNIT_ATTENTION ? a.ascq : -a.key);
    std::sort(seen.begin(), seen.end());
    return seen;
  };
  EXPECT_EQ(attentions(n1b.get()), (std::vector<int>{0x2903, 0x2A05}));
  EXPECT_EQ(attentions(n3b.get()), (std::vector<int>{0x2903, 0x2A04}));
  // And B enforces the state it read: node1 is no registrant any more.
  std::vector<uint64_t> keys = read_keys(n1b.get());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<uint64_t>{0xB2, 0xC3}));
  n1b.reset();
  n2a.reset();
  n3b.reset();
  pair.stop();
}

// A fenced initiator's write through a gateway that was frozen while it was
// fenced: node1 holds a registrants-only reservation through B; B is frozen
// (SIGSTOP) until the OSD drops its watch, and node2 through A does PREEMPT
// AND ABORT of node1's key (answered: B can no longer acknowledge). node1's
// WRITE, already in B's socket when B resumes, must not be GOOD: B's cached
// view is no longer proven current the moment B runs again (NOT READY 04/01
// until it has read the state, then RESERVATION CONFLICT), and the data on
// the image stays what it was.
TEST_F(RbdGateways, FencedWriteThroughResumedGatewayIsRefused) {
  static int run = 0;  // a new image for each --gtest_repeat
  const std::string image = "fenced" + std::to_string(run++);
  ASSERT_EQ(c().rbd({"create", "--size", "16", "--image-feature", "layering", "rbd/" + image}), 0)
      << read_file(c().file("rbd.out"));
  GatewayPair pair(c().conf(), image);
  const std::string node1 = "iqn.2026-01.test:node1", node2 = "iqn.2026-01.test:node2";
  // Declared before the sessions: libiscsi may call back while they are destroyed.
  struct Done {
    bool done = false;
    int status = -1;
    int key = 0, ascq = 0;
  } late;
  IscsiPtr n1b = iscsi_login(pair.port_b, 1, kGatewayIqn, node1, 0x11);
  IscsiPtr n2a = iscsi_login(pair.port_a, 1, kGatewayIqn, node2, 0x22);
  ASSERT_TRUE(n1b && n2a);
  for (iscsi_context* s : {n1b.get(), n2a.get()}) clear_attentions(s);
  ASSERT_EQ(prout(n1b.get(), 0, 0, 0, 0xA1).status, SCSI_STATUS_GOOD);
  ASSERT_EQ(prout(n2a.get(), 0, 0, 0, 0xB2).status, SCSI_STATUS_GOOD);
  ASSERT_EQ(prout(n1b.get(), 1, 5, 0xA1, 0).status, SCSI_STATUS_GOOD);  // WE, registrants only
  constexpr uint64_t kLba = 40;
  std::vector<uint8_t> before(512, 0x5A), fenced(512, 0xE7);
  scsi_task* t = iscsi_write16_sync(n1b.get(), 1, kLba, before.data(), 512, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  scsi_free_scsi_task(t);

  pair.b.signal(SIGSTOP);
  std::this_thread::sleep_for(std::chrono::seconds(12));  // the OSD drops B's watch (10 s)
  ASSERT_EQ(prout(n2a.get(), 5, 5, 0xB2, 0xA1).status, SCSI_STATUS_GOOD);  // PREEMPT AND ABORT

  // node1's WRITE goes into B's socket while B is stopped; B resumes with it
  // waiting.
  t = iscsi_write16_task(
      n1b.get(), 1, kLba, fenced.data(), 512, 512, 0, 0, 0, 0, 0,
      [](iscsi_context*, int, void* data, void* priv) {
        auto* d = static_cast<Done*>(priv);
        auto* task = static_cast<scsi_task*>(data);
        d->done = true;
        d->status = task->status;
        d->key = task->sense.key;
        d->ascq = task->sense.ascq;
        scsi_free_scsi_task(task);
      },
      &late);
  ASSERT_NE(t, nullptr);
  service_until(
      n1b.get(), [&] { return (iscsi_which_events(n1b.get()) & POLLOUT) == 0; },
      std::chrono::seconds(2));
  pair.b.signal(SIGCONT);
  ASSERT_TRUE(service_until(
      n1b.get(), [&] { return late.done; }, std::chrono::seconds(20)))
      << iscsi_get_error(n1b.get());
  std::printf("fenced write through the resumed gateway: status 0x%02x sense %x/%04x\n",
              late.status, late.key, late.ascq);
  EXPECT_NE(late.status, SCSI_STATUS_GOOD);

  // The image still holds what was there before the fence (read through A by
  // the new reservation holder).
  t = iscsi_read16_sync(n2a.get(), 1, kLba, 512, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  EXPECT_EQ(data_of(t), before);
  scsi_free_scsi_task(t);

  // Once B has read the state again, node1's writes conflict (after the
  // unit attention of its lost registration).
  Answer again;
  auto deadline = Clock::now() + std::chrono::seconds(30);
  do {
    again = answer(iscsi_write16_sync(n1b.get(), 1, kLba, fenced.data(), 512, 512, 0, 0, 0, 0, 0));
    if (again.status != SCSI_STATUS_CHECK_CONDITION) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (Clock::now() < deadline);
  EXPECT_EQ(again.status, SCSI_STATUS_RESERVATION_CONFLICT);
  t = iscsi_read16_sync(n2a.get(), 1, kLba, 512, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  EXPECT_EQ(data_of(t), before);
  scsi_free_scsi_task(t);
  n1b.reset();
  n2a.reset();
  pair.stop();
}

// An iSCSI TransportID (SPC-4 7.6.4.6) of `name`: format 01b (initiator port,
// "iqn,i,0x<isid>") when the name has an ISID part, else 00b (the device).
std::vector<uint8_t> iscsi_transport_id(const std::string& name) {
  size_t len = std::max<size_t>((name.size() + 1 + 3) & ~size_t(3), 20);
  std::vector<uint8_t> t(4 + len, 0);
  t[0] = uint8_t((name.find(",i,0x") != std::string::npos ? 0x40 : 0x00) | 0x05);
  t[2] = uint8_t(len >> 8);
  t[3] = uint8_t(len);
  std::copy(name.begin(), name.end(), t.begin() + 4);
  return t;
}

// PERSISTENT RESERVE OUT REGISTER with SPEC_I_PT=1 (and ALL_TG_PT when
// asked) naming `ids`; `declared` overrides the TRANSPORTID PARAMETER DATA
// LENGTH, `sa` the service action.
Answer register_spec_i_pt(iscsi_context* s, uint64_t key, uint64_t sa_key,
                          const std::vector<std::vector<uint8_t>>& ids, bool all_tg_pt,
                          int declared = -1, int sa = 0) {
  std::vector<uint8_t> p(28, 0);
  for (int i = 0; i < 8; ++i) {
    p[i] = uint8_t(key >> (56 - 8 * i));
    p[8 + i] = uint8_t(sa_key >> (56 - 8 * i));
  }
  p[20] = uint8_t(0x08 | (all_tg_pt ? 0x04 : 0));
  for (const auto& id : ids) p.insert(p.end(), id.begin(), id.end());
  uint32_t tid = declared >= 0 ? uint32_t(declared) : uint32_t(p.size() - 28);
  p[24] = uint8_t(tid >> 24), p[25] = uint8_t(tid >> 16), p[26] = uint8_t(tid >> 8);
  p[27] = uint8_t(tid);
  unsigned char cdb[10] = {0x5F,
                           uint8_t(sa),
                           0,
                           0,
                           0,
                           uint8_t(p.size() >> 24),
                           uint8_t(p.size() >> 16),
                           uint8_t(p.size() >> 8),
                           uint8_t(p.size()),
                           0};
  scsi_task* t = scsi_create_task(10, cdb, SCSI_XFER_WRITE, int(p.size()));
  iscsi_data data{p.size(), p.data()};
  return answer(iscsi_scsi_command_sync(s, 1, t, &data));
}

// READ FULL STATUS: (key, relative target port, TransportID name) of each registration.
std::vector<std::tuple<uint64_t, uint16_t, std::string>> full_status(iscsi_context* s) {
  std::vector<std::tuple<uint64_t, uint16_t, std::string>> out;
  scsi_task* t = iscsi_persistent_reserve_in_sync(s, 1, 3, 4096);
  std::vector<uint8_t> d =
      t != nullptr && t->status == SCSI_STATUS_GOOD ? data_of(t) : std::vector<uint8_t>{};
  if (t != nullptr) scsi_free_scsi_task(t);
  for (size_t at = 8; at + 24 <= d.size();) {
    uint64_t key = 0;
    for (int i = 0; i < 8; ++i) key = key << 8 | d[at + i];
    uint32_t tid = uint32_t(d[at + 20]) << 24 | d[at + 21] << 16 | d[at + 22] << 8 | d[at + 23];
    if (at + 24 + tid > d.size() || tid < 4) break;
    std::string name(reinterpret_cast<const char*>(&d[at + 28]),
                     strnlen(reinterpret_cast<const char*>(&d[at + 28]), tid - 4));
    out.emplace_back(key, be16(d, at + 18), name);
    at += 24 + tid;
  }
  std::sort(out.begin(), out.end());
  return out;
}

// SPEC_I_PT through the shared store: node1 through A registers itself, node2's
// initiator port (TransportID with ISID, format 01b) and node3's device (no
// ISID, format 00b) on every target port (ALL_TG_PT) in one command; gateway B
// enforces it: node2 through B reserves with the key, node3 (any ISID) writes
// under REGISTRANTS ONLY, node4 conflicts. The refusals of SPC-4 6.16.3 change
// nothing (no registration appears, the atomicity of the list).
TEST_F(RbdGateways, RegisterWithSpecIPtNamesOtherInitiatorPorts) {
  ASSERT_EQ(c().rbd({"create", "--size", "16", "--image-feature", "layering", "rbd/specipt"}), 0)
      << read_file(c().file("rbd.out"));
  GatewayPair pair(c().conf(), "specipt");
  const std::string node1 = "iqn.2026-01.test:node1", node2 = "iqn.2026-01.test:node2",
                    node3 = "iqn.2026-01.test:node3", node4 = "iqn.2026-01.test:node4";
  IscsiPtr n1a = iscsi_login(pair.port_a, 1, kGatewayIqn, node1, 0x11);
  IscsiPtr n2b = iscsi_login(pair.port_b, 1, kGatewayIqn, node2, 0x22);
  IscsiPtr n3b = iscsi_login(pair.port_b, 1, kGatewayIqn, node3, 0x33);
  IscsiPtr n4b = iscsi_login(pair.port_b, 1, kGatewayIqn, node4, 0x44);
  ASSERT_TRUE(n1a && n2b && n3b && n4b);
  for (iscsi_context* s : {n1a.get(), n2b.get(), n3b.get(), n4b.get()}) clear_attentions(s);
  // libiscsi's ISID for iscsi_set_isid_random(0x22, 0): 80 00 00 22 00 00.
  const std::string port2 = node2 + ",i,0x800000220000";
  const auto id2 = iscsi_transport_id(port2), id3 = iscsi_transport_id(node3);

  // Refused, and nothing registered: a TransportID of another protocol; a
  // list longer than the parameter data; SPEC_I_PT with REGISTER AND IGNORE
  // EXISTING KEY.
  auto fc = id2;
  fc[0] = 0x40;  // Fibre Channel
  Answer r = register_spec_i_pt(n1a.get(), 0, 0xA1, {id3, fc}, true);
  EXPECT_EQ(r.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(r.ascq, 0x2600);  // INVALID FIELD IN PARAMETER LIST
  r = register_spec_i_pt(n1a.get(), 0, 0xA1, {id2}, true, int(id2.size() + 8));
  EXPECT_EQ(r.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(r.ascq, 0x1A00);  // PARAMETER LIST LENGTH ERROR
  r = register_spec_i_pt(n1a.get(), 0, 0xA1, {id2}, true, -1, 6);
  EXPECT_EQ(r.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(r.ascq, 0x2600);
  EXPECT_TRUE(read_keys(n2b.get()).empty());

  // node1, node2's port and node3 on A's and B's target ports, in one command.
  ASSERT_EQ(register_spec_i_pt(n1a.get(), 0, 0xA1, {id2, id3}, true).status, SCSI_STATUS_GOOD);
  auto full = full_status(n2b.get());
  using Row = std::tuple<uint64_t, uint16_t, std::string>;
  const std::string port1 = node1 + ",i,0x800000110000";
  std::vector<Row> want;
  for (uint16_t port : {1, 2})
    for (const std::string& who : {port1, port2, node3}) want.emplace_back(0xA1, port, who);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(full, want);
  // Registered already: SPEC_I_PT again is refused; naming a registered I_T
  // nexus from an unregistered one too (and nothing of its list is kept).
  r = register_spec_i_pt(n1a.get(), 0xA1, 0xA1, {id2}, false);
  EXPECT_EQ(r.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(r.ascq, 0x2600);
  r = register_spec_i_pt(n4b.get(), 0, 0xD4, {iscsi_transport_id(node4 + ",i,0x1"), id2}, false);
  EXPECT_EQ(r.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(r.ascq, 0x2600);
  EXPECT_EQ(full_status(n1a.get()), full);

  // Gateway B enforces it: node2 (registered by node1) reserves WRITE
  // EXCLUSIVE, REGISTRANTS ONLY; node3's port (any ISID) writes, node4 cannot.
  ASSERT_EQ(prout(n2b.get(), 1, 5, 0xA1, 0).status, SCSI_STATUS_GOOD);
  std::vector<uint8_t> w(4096);
  for (size_t i = 0; i < w.size(); ++i) w[i] = uint8_t(i * 11 + 3);
  auto write = [&](iscsi_context* s) {
    std::vector<uint8_t> copy = w;
    return answer(
        iscsi_write16_sync(s, 1, 16, copy.data(), uint32_t(copy.size()), 512, 0, 0, 1, 0, 0));
  };
  EXPECT_EQ(write(n3b.get()).status, SCSI_STATUS_GOOD);
  EXPECT_EQ(write(n4b.get()).status, SCSI_STATUS_RESERVATION_CONFLICT);
  EXPECT_EQ(write(n1a.get()).status, SCSI_STATUS_GOOD);
  scsi_task* t = iscsi_read16_sync(n4b.get(), 1, 16, 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(t)) << iscsi_get_error(n4b.get());
  EXPECT_EQ(data_of(t), w);
  scsi_free_scsi_task(t);
  // node1 clears it all: every registrant, on both gateways, is told.
  ASSERT_EQ(prout(n1a.get(), 3, 0, 0xA1, 0).status, SCSI_STATUS_GOOD);
  Answer ua = answer(iscsi_testunitready_sync(n3b.get(), 1));
  EXPECT_EQ(ua.key, SCSI_SENSE_UNIT_ATTENTION);
  EXPECT_EQ(ua.ascq, 0x2A03);  // RESERVATIONS PREEMPTED
  EXPECT_EQ(write(n4b.get()).status, SCSI_STATUS_GOOD);
  n1a.reset();
  n2b.reset();
  n3b.reset();
  n4b.reset();
  pair.stop();
}

// Persistent reservations shared through the cluster: what node1 registers
// and reserves through gateway A, gateway B enforces on node2's next command;
// node2's PREEMPT AND ABORT through B reaches node1's nexus on A (unit
// attention, then conflict) before B answers. Data checked both ways.
TEST_F(RbdGateways, ReservationMadeThroughAIsEnforcedByB) {
  // Without exclusive-lock: writes through both gateways would move the lock,
  // and each move gives every session ASYMMETRIC ACCESS STATE CHANGED (2A/06),
  // at a moment the test cannot predict. The lock's own tests are RbdFailover.*.
  ASSERT_EQ(c().rbd({"create", "--size", "16", "--image-feature", "layering", "rbd/shared2"}), 0)
      << read_file(c().file("rbd.out"));
  TempDir dir_a, dir_b;
  uint16_t port_a = uint16_t(free_port()), port_b = uint16_t(free_port());
  Daemon a(dir_a), b(dir_b);
  a.start(replace_all(example_gateway("gateway-a.yaml", port_a, port_b, c().conf(), dir_a),
                      "image: shared1", "image: shared2"));
  b.start(replace_all(example_gateway("gateway-b.yaml", port_a, port_b, c().conf(), dir_b),
                      "image: shared1", "image: shared2"));
  const std::string node1 = "iqn.2026-01.test:node1", node2 = "iqn.2026-01.test:node2";
  // Fixed ISIDs: node2's session after B restarts is the same initiator port.
  IscsiPtr n1a = iscsi_login(port_a, 1, kGatewayIqn, node1, 0x11);
  IscsiPtr n2b = iscsi_login(port_b, 1, kGatewayIqn, node2, 0x22);
  ASSERT_TRUE(n1a && n2b);
  clear_attentions(n1a.get());
  clear_attentions(n2b.get());

  std::vector<uint8_t> w1(4096), w2(4096);
  for (size_t i = 0; i < w1.size(); ++i) w1[i] = uint8_t(i * 13 + 1), w2[i] = uint8_t(i * 7 + 5);
  auto write = [](iscsi_context* s, const std::vector<uint8_t>& w) {
    std::vector<uint8_t> copy = w;
    return answer(
        iscsi_write16_sync(s, 1, 8, copy.data(), uint32_t(copy.size()), 512, 0, 0, 1, 0, 0));
  };
  auto read = [](iscsi_context* s) {
    scsi_task* t = iscsi_read16_sync(s, 1, 8, 4096, 512, 0, 0, 0, 0, 0);
    std::vector<uint8_t> d =
        t != nullptr && t->status == SCSI_STATUS_GOOD ? data_of(t) : std::vector<uint8_t>{};
    if (t != nullptr) scsi_free_scsi_task(t);
    return d;
  };
  ASSERT_EQ(write(n1a.get(), w1).status, SCSI_STATUS_GOOD);

  // node1 through A: REGISTER 0xA1, RESERVE WRITE EXCLUSIVE.
  ASSERT_EQ(prout(n1a.get(), 0, 0, 0, 0xA1).status, SCSI_STATUS_GOOD);
  ASSERT_EQ(prout(n1a.get(), 1, 1, 0xA1, 0).status, SCSI_STATUS_GOOD);
  // node2 through B: its write conflicts, its read is allowed, it sees the key.
  EXPECT_EQ(write(n2b.get(), w2).status, SCSI_STATUS_RESERVATION_CONFLICT);
  EXPECT_EQ(read(n2b.get()), w1);
  EXPECT_EQ(read_keys(n2b.get()), (std::vector<uint64_t>{0xA1}));

  // node2 through B: REGISTER 0xB2, PREEMPT AND ABORT node1's key.
  ASSERT_EQ(prout(n2b.get(), 0, 0, 0, 0xB2).status, SCSI_STATUS_GOOD);
  ASSERT_EQ(prout(n2b.get(), 5, 1, 0xB2, 0xA1).status, SCSI_STATUS_GOOD);
  // node1's nexus on A: REGISTRATIONS PREEMPTED first, then conflicts.
  Answer ua = answer(iscsi_testunitready_sync(n1a.get(), 1));
  EXPECT_EQ(ua.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(ua.key, SCSI_SENSE_UNIT_ATTENTION);
  EXPECT_EQ(ua.ascq, 0x2A05);
  EXPECT_EQ(write(n1a.get(), w1).status, SCSI_STATUS_RESERVATION_CONFLICT);
  EXPECT_EQ(read_keys(n1a.get()), (std::vector<uint64_t>{0xB2}));
  // node2 now holds it: its write lands, and node1 reads it through A.
  ASSERT_EQ(write(n2b.get(), w2).status, SCSI_STATUS_GOOD);
  EXPECT_EQ(read(n1a.get()), w2);
  // SCSI-2 RESERVE is refused on a shared unit.
  Answer r6 = answer(iscsi_reserve6_sync(n1a.get(), 1));
  EXPECT_EQ(r6.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(r6.ascq, 0x2000);
  // The state outlives both gateways: restart B, the reservation holds.
  n2b.reset();
  EXPECT_EQ(b.stop(), 0) << read_file(b.log_path());
  b.start_existing();
  n2b = iscsi_login(port_b, 1, kGatewayIqn, node2, 0x22);
  ASSERT_TRUE(n2b);
  clear_attentions(n2b.get());
  EXPECT_EQ(read_keys(n2b.get()), (std::vector<uint64_t>{0xB2}));
  // CLEAR: answered once gateway A acknowledged it; the B that stopped took its
  // watch with it (a stale watcher would hold the notify for 10 s).
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(prout(n2b.get(), 3, 0, 0xB2, 0).status, SCSI_STATUS_GOOD);
  auto clear_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("CLEAR through the restarted gateway B: %lld ms\n", static_cast<long long>(clear_ms));
  EXPECT_LT(clear_ms, 5000);
  EXPECT_EQ(write(n1a.get(), w1).status, SCSI_STATUS_GOOD);
  EXPECT_EQ(read(n2b.get()), w1);

  // B dies without closing its watch: a change through A waits for B's ack
  // until the OSD drops B's watch (10 s), then is answered; B, restarted,
  // reads the state from the cluster.
  n2b.reset();
  b.kill9();
  t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(prout(n1a.get(), 6, 0, 0, 0xA3).status, SCSI_STATUS_GOOD);  // REGISTER AND IGNORE
  auto dead_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("REGISTER through A with B killed: %lld ms\n", static_cast<long long>(dead_ms));
  EXPECT_LT(dead_ms, 16000);
  b.start_existing();
  n2b = iscsi_login(port_b, 1, kGatewayIqn, node2, 0x22);
  ASSERT_TRUE(n2b);
  clear_attentions(n2b.get());
  EXPECT_EQ(read_keys(n2b.get()), (std::vector<uint64_t>{0xA3}));
  n1a.reset();
  n2b.reset();
  EXPECT_EQ(a.stop(), 0) << read_file(a.log_path());
  EXPECT_EQ(b.stop(), 0) << read_file(b.log_path());
}

// The INFORMATION field of a CHECK CONDITION's sense data (fixed or
// descriptor format; libiscsi keeps it after a two-byte length in datain),
// or -1 when it is not there.
int64_t sense_information(const scsi_task* t) {
  if (t->datain.size < 2 + 8) return -1;
  const unsigned char* d = t->datain.data + 2;
  const int n = t->datain.size - 2;
  if ((d[0] & 0x7F) == 0x70 || (d[0] & 0x7F) == 0x71) {
    if (!(d[0] & 0x80)) return -1;
    return int64_t(d[3]) << 24 | d[4] << 16 | d[5] << 8 | d[6];
  }
  for (int at = 8; at + 12 <= n; at += 2 + d[at + 1])
    if (d[at] == 0x00 && (d[at + 2] & 0x80)) {
      int64_t v = 0;
      for (int i = 4; i < 12; ++i) v = v << 8 | d[at + i];
      return v;
    }
  return -1;
}

// COMPARE AND WRITE as a cluster lock (VMware's ATS heartbeat, a counter):
// two nodes, one through each gateway, each increment a counter in LBA 0
// with read, then COMPARE AND WRITE of what they read, retrying on
// MISCOMPARE. Every GOOD must be one increment: the count in the sector at
// the end equals the GOODs. Emulated (read, compare, write in each gateway)
// the two gateways interleave and increments are lost; the OSD's own
// compare-and-write of one sector is atomic against both. A MISCOMPARE
// reports the first differing byte's offset in INFORMATION.
TEST_F(RbdGateways, CompareAndWriteIsAtomicAcrossGateways) {
  ASSERT_EQ(c().rbd({"create", "--size", "8", "--image-feature", "layering", "rbd/caw1"}), 0)
      << read_file(c().file("rbd.out"));
  TempDir dir_a, dir_b;
  uint16_t port_a = uint16_t(free_port()), port_b = uint16_t(free_port());
  Daemon a(dir_a), b(dir_b);
  a.start(example_gateway("gateway-a.yaml", port_a, port_b, c().conf(), dir_a, "caw1"));
  b.start(example_gateway("gateway-b.yaml", port_a, port_b, c().conf(), dir_b, "caw1"));
  IscsiPtr sa = iscsi_login(port_a, 1, kGatewayIqn, "iqn.2026-01.test:node1", 0x31);
  IscsiPtr sb = iscsi_login(port_b, 1, kGatewayIqn, "iqn.2026-01.test:node2", 0x32);
  ASSERT_TRUE(sa && sb);
  clear_attentions(sa.get());
  clear_attentions(sb.get());

  auto sector_of = [](uint64_t count) {
    std::vector<uint8_t> v(512);
    for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t(count >> (8 * (i % 8)));
    return v;
  };
  // Each node: kIncrements GOODs, at most kAttempts tries, within 60 s.
  constexpr int kIncrements = 40, kAttempts = 2000;
  struct Tally {
    int good = 0, miscompares = 0, errors = 0, bad_info = 0;
  };
  auto node = [&](iscsi_context* s, Tally* t) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (int attempt = 0;
         attempt < kAttempts && t->good < kIncrements && std::chrono::steady_clock::now() < end;
         ++attempt) {
      scsi_task* r = iscsi_read16_sync(s, 1, 0, 512, 512, 0, 0, 0, 0, 0);
      std::vector<uint8_t> seen =
          r != nullptr && r->status == SCSI_STATUS_GOOD ? data_of(r) : std::vector<uint8_t>{};
      if (r != nullptr) scsi_free_scsi_task(r);
      if (seen.size() != 512) {
        ++t->errors;
        continue;
      }
      uint64_t count = 0;
      for (int i = 7; i >= 0; --i) count = count << 8 | seen[i];
      std::vector<uint8_t> both = seen, next = sector_of(count + 1);
      both.insert(both.end(), next.begin(), next.end());
      scsi_task* w = iscsi_compareandwrite_sync(s, 1, 0, both.data(), 1024, 512, 0, 0, 0, 0, 0);
      if (w != nullptr && w->status == SCSI_STATUS_GOOD) {
        ++t->good;
      } else if (w != nullptr && w->sense.key == SCSI_SENSE_MISCOMPARE) {
        ++t->miscompares;
        // The first byte that differs: the counter's, so in its first 8 bytes.
        const int64_t info = sense_information(w);
        if (info < 0 || info >= 8) ++t->bad_info;
      } else {
        ++t->errors;
      }
      if (w != nullptr) scsi_free_scsi_task(w);
    }
  };
  Tally ta, tb;
  std::thread ra(node, sa.get(), &ta), rb(node, sb.get(), &tb);
  ra.join();
  rb.join();
  std::printf(
      "COMPARE AND WRITE across gateways: A %d GOOD %d MISCOMPARE, B %d GOOD %d MISCOMPARE\n",
      ta.good, ta.miscompares, tb.good, tb.miscompares);
  EXPECT_EQ(ta.good, kIncrements);
  EXPECT_EQ(tb.good, kIncrements);
  EXPECT_EQ(ta.errors + tb.errors, 0);
  EXPECT_EQ(ta.bad_info + tb.bad_info, 0);
  scsi_task* r = iscsi_read16_sync(sa.get(), 1, 0, 512, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(r != nullptr && r->status == SCSI_STATUS_GOOD);
  EXPECT_EQ(data_of(r), sector_of(uint64_t(ta.good + tb.good)))
      << "every GOOD is one increment of the counter: none lost";
  scsi_free_scsi_task(r);
  sa.reset();
  sb.reset();
  EXPECT_EQ(a.stop(), 0) << read_file(a.log_path());
  EXPECT_EQ(b.stop(), 0) << read_file(b.log_path());
  c().rbd({"rm", "rbd/caw1"});
}

}  // namespace
}  // namespace ops
