// The login state machine (RFC 7143 §6.3, §11.12-13) without sockets: Login
// Requests in, Login Responses out, against a registry with one real SCSI
// device (no LUNs) and a fake session admission. Covers the stage
// transitions, AuthMethod=None, target lookup and access control, discovery,
// continued text, unknown keys, the version check and the failure statuses.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "iscsi/login.h"
#include "scsi/device.h"

namespace sharedisk::iscsi {
namespace {

constexpr const char* kTarget = "iqn.2024-01.test.sharedisk:disk";
constexpr const char* kInitiator = "iqn.2024-01.test.sharedisk:host1";
constexpr uint64_t kIsid = 0x80123456789aull;

class FakeAdmission : public SessionAdmission {
 public:
  uint16_t admit(const Login& login, uint16_t* status) override {
    ++calls;
    last_isid = login.isid();
    last_initiator = login.initiator_name();
    if (refuse != 0) {
      *status = refuse;
      return 0;
    }
    return tsih;
  }
  int calls = 0;
  uint16_t tsih = 0x0042;
  uint16_t refuse = 0;
  uint64_t last_isid = 0;
  std::string last_initiator;
};

std::string text(const std::vector<std::pair<std::string, std::string>>& keys) {
  std::string s;
  for (const auto& [k, v] : keys) append_key(s, k, v);
  return s;
}

std::map<std::string, std::string> keys_of(const Login::Reply& r) {
  std::vector<KeyValue> keys;
  std::string error;
  EXPECT_TRUE(
      parse_text(reinterpret_cast<const uint8_t*>(r.data.data()), r.data.size(), &keys, &error))
      << error;
  std::map<std::string, std::string> out;
  for (const KeyValue& kv : keys) out[kv.key] = kv.value;
  return out;
}

uint16_t status_of(const Login::Reply& r) {
  return uint16_t(r.bhs.b[36] << 8 | r.bhs.b[37]);
}

class LoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto node = std::make_unique<TargetNode>();
    node->iqn = kTarget;
    node->alias = "disk-alias";
    node->queue_depth = 32;
    node->device = scsi::make_device(kTarget);
    node_ = node.get();
    registry_.add(std::move(node));
    config::Endpoint portal;
    portal.address = "127.0.0.1";
    portal.port = 3261;
    registry_.set_portals({portal});
  }

  std::unique_ptr<Login> make(const std::string& peer = "127.0.0.1") {
    return std::make_unique<Login>(registry_, limits_, peer, admission_);
  }

  // A Login Request PDU: CSG/NSG/T/C, ISID, TSIH, ITT, CID, CmdSN, ExpStatSN.
  static Bhs request(uint8_t csg, uint8_t nsg, bool transit, bool cont = false,
                     size_t data_length = 0) {
    Bhs h;
    h.b[0] = flag::kImmediate | op::kLoginRequest;
    h.b[1] = uint8_t((transit ? flag::kTransit : 0) | (cont ? flag::kContinue : 0) | csg << 2 |
                     (transit ? nsg : 0));
    h.b[2] = 0;  // Version-max
    h.b[3] = 0;  // Version-min
    h.set_data_length(uint32_t(data_length));
    put_be64(&h.b[8], kIsid << 16);  // ISID, TSIH 0
    h.set_itt(0x1000);
    put_be16(&h.b[20], 1);  // CID
    h.set32(24, 100);      // CmdSN
    h.set32(28, 7);        // ExpStatSN
    return h;
  }

  static Login::Reply send(Login& l, const Bhs& h, const std::string& data) {
    Bhs copy = h;
    copy.set_data_length(uint32_t(data.size()));
    return l.handle(copy, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }

  std::string security_keys() const {
    return text({{"InitiatorName", kInitiator},
                 {"TargetName", kTarget},
                 {"SessionType", "Normal"},
                 {"AuthMethod", "None"}});
  }

  TargetRegistry registry_;
  TargetNode* node_ = nullptr;
  TargetLimits limits_;
  FakeAdmission admission_;
};

TEST_F(LoginTest, SecurityThenOperationalThenFullFeature) {
  auto login = make();
  Login::Reply r = send(*login, request(0, 1, true), security_keys());
  EXPECT_EQ(r.bhs.opcode(), op::kLoginResponse);
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_FALSE(r.close);
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(r.bhs.transit());
  EXPECT_EQ(r.bhs.csg(), 0);
  EXPECT_EQ(r.bhs.nsg(), 1);
  EXPECT_EQ(r.bhs.itt(), 0x1000u);
  EXPECT_EQ(r.bhs.isid(), kIsid);
  EXPECT_EQ(r.bhs.tsih(), 0);  // assigned only in the final response
  auto k = keys_of(r);
  EXPECT_EQ(k["AuthMethod"], "None");
  EXPECT_EQ(k["TargetPortalGroupTag"], "1");
  EXPECT_EQ(k["TargetAlias"], "disk-alias");
  EXPECT_EQ(admission_.calls, 0);

  r = send(*login, request(1, 3, true),
           text({{"HeaderDigest", "None"},
                 {"DataDigest", "None"},
                 {"MaxRecvDataSegmentLength", "65536"},
                 {"ImmediateData", "Yes"},
                 {"InitialR2T", "No"}}));
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.close);
  EXPECT_TRUE(r.bhs.transit());
  EXPECT_EQ(r.bhs.csg(), 1);
  EXPECT_EQ(r.bhs.nsg(), 3);
  EXPECT_EQ(r.bhs.tsih(), 0x0042);
  k = keys_of(r);
  EXPECT_EQ(k["HeaderDigest"], "None");
  EXPECT_EQ(k["MaxRecvDataSegmentLength"], std::to_string(limits_.max_recv_data_segment_length));
  EXPECT_EQ(admission_.calls, 1);
  EXPECT_EQ(admission_.last_isid, kIsid);
  EXPECT_EQ(admission_.last_initiator, kInitiator);

  EXPECT_EQ(login->session_type(), SessionType::kNormal);
  EXPECT_EQ(login->initiator_name(), kInitiator);
  EXPECT_EQ(login->target(), node_);
  EXPECT_EQ(login->isid(), kIsid);
  EXPECT_EQ(login->cid(), 1);
  EXPECT_EQ(login->params().initiator_mrdsl, 65536u);
  EXPECT_FALSE(login->params().initial_r2t);
}

TEST_F(LoginTest, SequenceNumbersFollowTheRequest) {
  auto login = make();
  Login::Reply r = send(*login, request(0, 1, true), security_keys());
  EXPECT_EQ(r.bhs.field32(24), 7u);    // StatSN = the initiator's ExpStatSN
  EXPECT_EQ(r.bhs.field32(28), 100u);  // ExpCmdSN = CmdSN (login is immediate)
  EXPECT_EQ(r.bhs.field32(32), 100u + node_->queue_depth - 1);  // MaxCmdSN: the window
  Bhs next = request(1, 3, true);
  next.set32(28, 8);
  r = send(*login, next, "");
  EXPECT_EQ(r.bhs.field32(24), 8u);
  EXPECT_EQ(login->exp_cmdsn(), 100u);
  EXPECT_EQ(login->next_statsn(), 9u);
}

TEST_F(LoginTest, SecurityStraightToFullFeature) {
  auto login = make();
  Login::Reply r = send(*login, request(0, 3, true), security_keys());
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.bhs.nsg(), 3);
  EXPECT_EQ(keys_of(r).count("MaxRecvDataSegmentLength"), 1u);
}

TEST_F(LoginTest, OperationalStageFirstWithoutAuthMethod) {
  auto login = make();
  Login::Reply r = send(*login, request(1, 3, true),
                        text({{"InitiatorName", kInitiator}, {"TargetName", kTarget}}));
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(keys_of(r)["TargetPortalGroupTag"], "1");
}

TEST_F(LoginTest, StaysInStageWithoutTransit) {
  auto login = make();
  Login::Reply r = send(*login, request(0, 0, false), security_keys());
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_FALSE(r.bhs.transit());
  EXPECT_EQ(r.bhs.csg(), 0);
  r = send(*login, request(0, 1, true), "");
  EXPECT_TRUE(r.bhs.transit());
  EXPECT_EQ(r.bhs.nsg(), 1);
  r = send(*login, request(1, 3, true), "");
  EXPECT_TRUE(r.complete);
}

TEST_F(LoginTest, MissingInitiatorNameIs0207) {
  auto login = make();
  Login::Reply r =
      send(*login, request(0, 1, true), text({{"TargetName", kTarget}, {"AuthMethod", "None"}}));
  EXPECT_EQ(status_of(r), login_status::kMissingParameter);
  EXPECT_TRUE(r.close);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.bhs.opcode(), op::kLoginResponse);
  EXPECT_FALSE(r.bhs.transit());
}

TEST_F(LoginTest, EmptyInitiatorNameIs0207) {
  auto login = make();
  Login::Reply r =
      send(*login, request(0, 1, true), text({{"InitiatorName", ""}, {"TargetName", kTarget}}));
  EXPECT_EQ(status_of(r), login_status::kMissingParameter);
}

TEST_F(LoginTest, NormalSessionWithoutTargetNameIs0207) {
  auto login = make();
  Login::Reply r = send(*login, request(0, 1, true), text({{"InitiatorName", kInitiator}}));
  EXPECT_EQ(status_of(r), login_status::kMissingParameter);
  EXPECT_TRUE(r.close);
}

TEST_F(LoginTest, UnknownTargetIs0203) {
  auto login = make();
  Login::Reply r =
      send(*login, request(0, 1, true),
           text({{"InitiatorName", kInitiator}, {"TargetName", "iqn.2024-01.test:nothere"}}));
  EXPECT_EQ(status_of(r), login_status::kNotFound);
  EXPECT_TRUE(r.close);
}

TEST_F(LoginTest, TargetNameComparesIgnoringCase) {
  auto login = make();
  Login::Reply r = send(
      *login, request(0, 1, true),
      text({{"InitiatorName", kInitiator}, {"TargetName", "IQN.2024-01.TEST.SHAREDISK:DISK"}}));
  EXPECT_EQ(status_of(r), login_status::kSuccess);
}

TEST_F(LoginTest, InitiatorNotInAccessListIs0202) {
  node_->set_access({"iqn.2024-01.test.sharedisk:other"}, {});
  auto login = make();
  Login::Reply r = send(*login, request(0, 1, true), security_keys());
  EXPECT_EQ(status_of(r), login_status::kAuthorizationFailure);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(admission_.calls, 0);
}

TEST_F(LoginTest, AddressOutsideAllowedNetworksIs0202) {
  config::Network net;
  ASSERT_EQ(config::parse_network("10.0.0.0/8", net), "");
  node_->set_access({}, {net});
  auto refused = make("127.0.0.1");
  EXPECT_EQ(status_of(send(*refused, request(0, 1, true), security_keys())),
            login_status::kAuthorizationFailure);
  auto allowed = make("10.1.2.3");
  EXPECT_EQ(status_of(send(*allowed, request(0, 1, true), security_keys())),
            login_status::kSuccess);
}

TEST_F(LoginTest, AllowedInitiatorNameMatchesIgnoringCase) {
  node_->set_access({"IQN.2024-01.TEST.SHAREDISK:HOST1"}, {});
  auto login = make();
  EXPECT_EQ(status_of(send(*login, request(0, 1, true), security_keys())), login_status::kSuccess);
}

TEST_F(LoginTest, DiscoveryWithoutTargetName) {
  auto login = make();
  Login::Reply r = send(
      *login, request(0, 1, true),
      text({{"InitiatorName", kInitiator}, {"SessionType", "Discovery"}, {"AuthMethod", "None"}}));
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_EQ(login->session_type(), SessionType::kDiscovery);
  EXPECT_EQ(login->target(), nullptr);
  r = send(*login, request(1, 3, true),
           text({{"MaxBurstLength", "262144"},
                 {"HeaderDigest", "None"},
                 {"MaxRecvDataSegmentLength", "32768"}}));
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_TRUE(r.complete);
  auto k = keys_of(r);
  EXPECT_EQ(k["MaxBurstLength"], "Irrelevant");
  EXPECT_EQ(k["HeaderDigest"], "None");
  EXPECT_EQ(login->params().initiator_mrdsl, 32768u);
}

TEST_F(LoginTest, DiscoveryIgnoresAccessListsAtLogin) {
  // Discovery itself is open; SendTargets filters what it shows.
  node_->set_access({"iqn.2024-01.test.sharedisk:other"}, {});
  auto login = make();
  Login::Reply r = send(*login, request(0, 3, true),
                        text({{"InitiatorName", kInitiator}, {"SessionType", "Discovery"}}));
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_TRUE(r.complete);
}

TEST_F(LoginTest, UnsupportedSessionTypeIs0209) {
  auto login = make();
  Login::Reply r = send(*login, request(0, 1, true),
                        text({{"InitiatorName", kInitiator}, {"SessionType", "Bulk"}}));
  EXPECT_EQ(status_of(r), login_status::kSessionTypeNotSupported);
  EXPECT_TRUE(r.close);
}

TEST_F(LoginTest, ContinuedTextIsAssembledBeforeParsing) {
  auto login = make();
  std::string all = security_keys();
  size_t cut = all.find("TargetName") + 4;  // split inside a key
  Login::Reply r = send(*login, request(0, 1, false, true), all.substr(0, cut));
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_FALSE(r.close);
  EXPECT_FALSE(r.bhs.transit());
  EXPECT_TRUE(r.data.empty());  // only asks for the rest
  r = send(*login, request(0, 1, true), all.substr(cut));
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_TRUE(r.bhs.transit());
  auto k = keys_of(r);
  EXPECT_EQ(k["AuthMethod"], "None");
  EXPECT_EQ(k["TargetPortalGroupTag"], "1");  // the first-PDU keys were acted on
  EXPECT_EQ(login->initiator_name(), kInitiator);
  EXPECT_EQ(login->target(), node_);
}

TEST_F(LoginTest, ContinuedFirstPduStillChecksInitiatorName) {
  auto login = make();
  std::string keys = text({{"TargetName", kTarget}, {"AuthMethod", "None"}});
  ASSERT_EQ(status_of(send(*login, request(0, 1, false, true), keys.substr(0, 5))), 0);
  Login::Reply r = send(*login, request(0, 1, true), keys.substr(5));
  EXPECT_EQ(status_of(r), login_status::kMissingParameter);
  EXPECT_TRUE(r.close);
}

TEST_F(LoginTest, ContinueTogetherWithTransitIsAnError) {
  auto login = make();
  Login::Reply r = send(*login, request(0, 1, true, true), security_keys());
  EXPECT_EQ(status_of(r), login_status::kInitiatorError);
  EXPECT_TRUE(r.close);
}

TEST_F(LoginTest, OverlongContinuedTextIsOutOfResources) {
  auto login = make();
  std::string chunk(8192, 'a');
  Login::Reply r;
  size_t sent = 0;
  for (int i = 0; i < 20 && status_of(r) == 0; ++i) {
    r = send(*login, request(0, 1, false, true), chunk);
    sent += chunk.size();
  }
  EXPECT_EQ(status_of(r), login_status::kOutOfResources);
  EXPECT_GT(sent, Login::kMaxLoginText);
  EXPECT_TRUE(r.close);
}

TEST_F(LoginTest, UnknownKeysAnsweredNotUnderstood) {
  auto login = make();
  std::string keys = security_keys() + text({{"X-com.example.Feature", "on"}, {"Fancy", "1"}});
  Login::Reply r = send(*login, request(0, 1, true), keys);
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  auto k = keys_of(r);
  EXPECT_EQ(k["X-com.example.Feature"], "NotUnderstood");
  EXPECT_EQ(k["Fancy"], "NotUnderstood");
  EXPECT_EQ(k.count("InitiatorName"), 0u);  // declarations are not echoed
  r = send(*login, request(1, 3, true), text({{"AlsoUnknown", "x"}}));
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(keys_of(r)["AlsoUnknown"], "NotUnderstood");
}

TEST_F(LoginTest, VersionMinAboveZeroIs0205) {
  auto login = make();
  Bhs h = request(0, 1, true);
  h.b[3] = 1;  // Version-min
  Login::Reply r = send(*login, h, security_keys());
  EXPECT_EQ(status_of(r), login_status::kUnsupportedVersion);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(r.bhs.b[2], 0);  // Version-max we support
}

TEST_F(LoginTest, AuthMethodWithoutNoneFailsAuthentication) {
  auto login = make();
  Login::Reply r =
      send(*login, request(0, 1, true),
           text({{"InitiatorName", kInitiator}, {"TargetName", kTarget}, {"AuthMethod", "CHAP"}}));
  EXPECT_EQ(status_of(r), login_status::kAuthenticationFailure);
  EXPECT_TRUE(r.close);
}

TEST_F(LoginTest, AuthMethodListPicksNone) {
  auto login = make();
  Login::Reply r = send(
      *login, request(0, 1, true),
      text({{"InitiatorName", kInitiator}, {"TargetName", kTarget}, {"AuthMethod", "CHAP,None"}}));
  EXPECT_EQ(status_of(r), login_status::kSuccess);
  EXPECT_EQ(keys_of(r)["AuthMethod"], "None");
}

TEST_F(LoginTest, AuthMethodInOperationalStageIsAnError) {
  auto login = make();
  ASSERT_EQ(status_of(send(*login, request(0, 1, true),
                           text({{"InitiatorName", kInitiator}, {"TargetName", kTarget}}))),
            0);
  Login::Reply r = send(*login, request(1, 3, true), text({{"AuthMethod", "None"}}));
  EXPECT_EQ(status_of(r), login_status::kInitiatorError);
  EXPECT_TRUE(r.close);
}

TEST_F(LoginTest, AdmissionRefusalFailsTheLogin) {
  admission_.refuse = login_status::kTooManyConnections;
  auto login = make();
  ASSERT_EQ(status_of(send(*login, request(0, 1, true), security_keys())), 0);
  Login::Reply r = send(*login, request(1, 3, true), "");
  EXPECT_EQ(status_of(r), login_status::kTooManyConnections);
  EXPECT_TRUE(r.close);
  EXPECT_FALSE(r.complete);
}

TEST_F(LoginTest, InvalidStageTransitions) {
  {
    auto login = make();  // NSG 2 is reserved
    EXPECT_EQ(status_of(send(*login, request(0, 2, true), security_keys())),
              login_status::kInvalidDuringLogin);
  }
  {
    auto login = make();  // backwards: operational -> security
    EXPECT_EQ(status_of(send(*login, request(1, 0, true), security_keys())),
              login_status::kInvalidDuringLogin);
  }
  {
    auto login = make();  // CSG must be the stage the target is in
    ASSERT_EQ(status_of(send(*login, request(0, 0, false), security_keys())), 0);
    EXPECT_EQ(status_of(send(*login, request(1, 3, true), "")), login_status::kInvalidDuringLogin);
  }
  {
    auto login = make();  // CSG 3 is not a login stage
    EXPECT_EQ(status_of(send(*login, request(3, 3, true), security_keys())),
              login_status::kInvalidDuringLogin);
  }
}

TEST_F(LoginTest, IsidOrCidMustNotChangeDuringLogin) {
  auto login = make();
  ASSERT_EQ(status_of(send(*login, request(0, 1, true), security_keys())), 0);
  Bhs h = request(1, 3, true);
  h.b[13] ^= 1;
  EXPECT_EQ(status_of(send(*login, h, "")), login_status::kInvalidDuringLogin);

  auto other = make();
  ASSERT_EQ(status_of(send(*other, request(0, 1, true), security_keys())), 0);
  h = request(1, 3, true);
  put_be16(&h.b[20], 9);
  EXPECT_EQ(status_of(send(*other, h, "")), login_status::kInvalidDuringLogin);
}

TEST_F(LoginTest, MalformedTextIsInitiatorError) {
  auto login = make();
  std::string bad = security_keys() + std::string("garbage\0", 8);
  Login::Reply r = send(*login, request(0, 1, true), bad);
  EXPECT_EQ(status_of(r), login_status::kInitiatorError);
  EXPECT_TRUE(r.close);
}

TEST_F(LoginTest, OperationalKeyRenegotiatedIsInitiatorError) {
  auto login = make();
  ASSERT_EQ(status_of(send(*login, request(0, 1, true),
                           security_keys() + text({{"MaxBurstLength", "65536"}}))),
            0);
  Login::Reply r = send(*login, request(1, 3, true), text({{"MaxBurstLength", "65536"}}));
  EXPECT_EQ(status_of(r), login_status::kInitiatorError);
}

TEST_F(LoginTest, ReinstatementRequestKeepsTheTsihAsked) {
  auto login = make();
  Bhs h = request(0, 3, true);
  put_be16(&h.b[14], 0x0042);
  Login::Reply r = send(*login, h, security_keys());
  EXPECT_EQ(login->requested_tsih(), 0x0042);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.bhs.tsih(), 0x0042);
}

TEST(SendTargets, ListsAllowedTargetsWithEveryPortal) {
  TargetRegistry registry;
  for (const char* iqn : {"iqn.2024-01.t:open", "iqn.2024-01.t:closed"}) {
    auto node = std::make_unique<TargetNode>();
    node->iqn = iqn;
    if (std::string(iqn).ends_with("closed")) {
      config::Network net;
      ASSERT_EQ(config::parse_network("10.0.0.0/8", net), "");
      node->set_access({}, {net});
    }
    registry.add(std::move(node));
  }
  config::Endpoint a, b, any;
  ASSERT_EQ(config::parse_endpoint("127.0.0.1:3261", 3260, a), "");
  ASSERT_EQ(config::parse_endpoint("[::1]:3262", 3260, b), "");
  ASSERT_EQ(config::parse_endpoint("0.0.0.0:3263", 3260, any), "");
  registry.set_portals({a, b, any});

  std::string st = registry.send_targets(kInitiator, "127.0.0.1", "192.0.2.7", "");
  // TargetAddress repeats (parse_text would refuse that), so split the raw pairs.
  std::vector<std::string> pairs;
  for (size_t pos = 0; pos < st.size();) {
    size_t end = st.find('\0', pos);
    pairs.push_back(st.substr(pos, end - pos));
    pos = end + 1;
  }
  std::vector<std::string> expected = {
      "TargetName=iqn.2024-01.t:open", "TargetAddress=127.0.0.1:3261,1",
      "TargetAddress=[::1]:3262,1", "TargetAddress=192.0.2.7:3263,1"};
  EXPECT_EQ(pairs, expected);

  std::string from_inside = registry.send_targets(kInitiator, "10.9.9.9", "10.0.0.1", "");
  EXPECT_NE(from_inside.find("TargetName=iqn.2024-01.t:closed"), std::string::npos);
  std::string only =
      registry.send_targets(kInitiator, "10.9.9.9", "10.0.0.1", "iqn.2024-01.t:open");
  EXPECT_EQ(only.find("closed"), std::string::npos);
  EXPECT_NE(only.find("TargetName=iqn.2024-01.t:open"), std::string::npos);
}

}  // namespace
}  // namespace sharedisk::iscsi
