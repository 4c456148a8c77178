// Discovery and access control seen from a real initiator: SendTargets lists
// the targets this initiator may use, each with the portal; targets closed by
// network or by initiator name are hidden and refuse the login; a read-only
// LUN answers writes with DATA PROTECT / WRITE PROTECTED.
#include <map>
#include <set>

#include "itest_support.h"

namespace sharedisk::itest {
namespace {

constexpr const char* kOpen = "iqn.2024-01.test.sharedisk:open";
constexpr const char* kByNetwork = "iqn.2024-01.test.sharedisk:lan-only";
constexpr const char* kByName = "iqn.2024-01.test.sharedisk:named";
constexpr const char* kOtherInitiator = "iqn.2024-01.test.sharedisk:other-host";

std::string access_yaml() {
  return preamble() +
         "targets:\n"
         "  - iqn: iqn.2024-01.test.sharedisk:open\n"
         "    luns:\n"
         "      - number: 1\n"
         "        type: memory\n"
         "        size: 4M\n"
         "      - number: 2\n"
         "        type: memory\n"
         "        size: 4M\n"
         "        read_only: true\n"
         "  - iqn: iqn.2024-01.test.sharedisk:lan-only\n"
         "    luns:\n"
         "      - number: 1\n"
         "        type: memory\n"
         "        size: 4M\n"
         "    access:\n"
         "      networks: [10.0.0.0/8]\n"
         "  - iqn: iqn.2024-01.test.sharedisk:named\n"
         "    luns:\n"
         "      - number: 1\n"
         "        type: memory\n"
         "        size: 4M\n"
         "    access:\n"
         "      initiators: [iqn.2024-01.test.sharedisk:other-host]\n";
}

// SendTargets=All through a discovery session: target name -> portals.
std::map<std::string, std::set<std::string>> discover(const std::string& portal,
                                                      const std::string& initiator,
                                                      std::string* error) {
  std::map<std::string, std::set<std::string>> out;
  iscsi_context* ctx = iscsi_create_context(initiator.c_str());
  iscsi_set_session_type(ctx, ISCSI_SESSION_DISCOVERY);
  iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_timeout(ctx, 20);
  iscsi_set_noautoreconnect(ctx, 1);
  if (iscsi_connect_sync(ctx, portal.c_str()) != 0 || iscsi_login_sync(ctx) != 0) {
    *error = iscsi_get_error(ctx);
    iscsi_destroy_context(ctx);
    return out;
  }
  iscsi_discovery_address* list = iscsi_discovery_sync(ctx);
  if (list == nullptr) *error = iscsi_get_error(ctx);
  for (iscsi_discovery_address* a = list; a != nullptr; a = a->next) {
    auto& portals = out[a->target_name];
    for (iscsi_target_portal* p = a->portals; p != nullptr; p = p->next) portals.insert(p->portal);
  }
  if (list != nullptr) iscsi_free_discovery_data(ctx, list);
  iscsi_logout_sync(ctx);
  iscsi_destroy_context(ctx);
  return out;
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override { START_DAEMON(daemon_); }
  TempDir dir_;
  Daemon daemon_{dir_, access_yaml()};
};

TEST_F(AccessTest, DiscoveryListsOnlyAllowedTargetsWithThePortal) {
  std::string error;
  auto targets = discover(daemon_.portal(), kInitiator, &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_EQ(targets.size(), 1u) << "an initiator on 127.0.0.1 named " << kInitiator
                                << " may see only " << kOpen;
  ASSERT_EQ(targets.count(kOpen), 1u);
  EXPECT_EQ(targets[kOpen], std::set<std::string>{daemon_.portal() + ",1"});
}

TEST_F(AccessTest, DiscoveryByAllowedNameShowsTheNamedTarget) {
  std::string error;
  auto targets = discover(daemon_.portal(), kOtherInitiator, &error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(targets.count(kOpen), 1u);
  EXPECT_EQ(targets.count(kByName), 1u);
  EXPECT_EQ(targets.count(kByNetwork), 0u) << "127.0.0.1 is not in 10.0.0.0/8";
}

TEST_F(AccessTest, LoginRefusedOutsideTheAllowedNetwork) {
  std::string error;
  auto s = Session::open(daemon_.portal(), kByNetwork, 1, LoginOptions{}, &error);
  EXPECT_EQ(s, nullptr);
  // libiscsi reports the Login Response status: 0x0202 authorization failure.
  EXPECT_NE(error.find("(514)"), std::string::npos) << error;
}

TEST_F(AccessTest, LoginRefusedForAnInitiatorNotListed) {
  std::string error;
  auto s = Session::open(daemon_.portal(), kByName, 1, LoginOptions{}, &error);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(error.find("(514)"), std::string::npos) << error;
  LoginOptions listed;
  listed.initiator = kOtherInitiator;
  OPEN_SESSION(ok, daemon_, kByName, 1, listed);
  EXPECT_TRUE(ok->test_unit_ready().good());
}

TEST_F(AccessTest, UnknownTargetIsNotFound) {
  std::string error;
  auto s = Session::open(daemon_.portal(), "iqn.2024-01.test.sharedisk:absent", 1, LoginOptions{},
                         &error);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(error.find("(515)"), std::string::npos) << error;  // 0x0203
}

TEST_F(AccessTest, ReadOnlyLunRefusesWrites) {
  OPEN_SESSION(s, daemon_, kOpen, 2, LoginOptions{});
  auto data = pattern(5, 0, 8, 512);
  ScsiResult w = s->write16(0, data, 512);
  EXPECT_EQ(w.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(w.sense_key, SCSI_SENSE_DATA_PROTECTION);
  EXPECT_EQ(w.ascq, 0x2700) << "WRITE PROTECTED";
  w = s->write10(0, data, 512);
  EXPECT_EQ(w.sense_key, SCSI_SENSE_DATA_PROTECTION);
  ScsiResult r = s->read16(0, 4096, 512);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data, std::vector<uint8_t>(4096, 0)) << "the refused write left no trace";
  // The writable LUN of the same target still takes writes.
  OPEN_SESSION(rw, daemon_, kOpen, 1, LoginOptions{});
  EXPECT_TRUE(rw->write16(0, data, 512).good());
}

}  // namespace
}  // namespace sharedisk::itest
