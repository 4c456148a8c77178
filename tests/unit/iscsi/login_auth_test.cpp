// Login with a SecurityPolicy: CHAP one-way and mutual through Login::handle,
// the authentication failures (0x0201) an initiator can provoke, discovery
// CHAP, read-only initiators, the login text bound, and the secrets file
// (format, mode and owner checks, secrets never in messages).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>

#include "iscsi/login.h"
#include "scsi/device.h"

namespace sharedisk::iscsi {
namespace {

constexpr const char* kTarget = "iqn.2024-01.test.sharedisk:disk";
constexpr const char* kInitiator = "iqn.2024-01.test.sharedisk:host1";

class Admit : public SessionAdmission {
 public:
  uint16_t admit(const Login&, uint16_t*) override { return 7; }
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
      parse_text(reinterpret_cast<const uint8_t*>(r.data.data()), r.data.size(), &keys, &error));
  std::map<std::string, std::string> out;
  for (const KeyValue& kv : keys) out[kv.key] = kv.value;
  return out;
}

uint16_t status_of(const Login::Reply& r) {
  return uint16_t(r.bhs.b[36] << 8 | r.bhs.b[37]);
}

Bhs request(uint8_t csg, uint8_t nsg, bool transit) {
  Bhs h;
  h.b[0] = flag::kImmediate | op::kLoginRequest;
  h.b[1] = uint8_t((transit ? flag::kTransit : 0) | csg << 2 | (transit ? nsg : 0));
  put_be64(&h.b[8], 0x123456789abcull << 16);
  h.set_itt(1);
  return h;
}

std::vector<uint8_t> iota16() {
  std::vector<uint8_t> c(16);
  for (int i = 0; i < 16; ++i) c[i] = uint8_t(0xa0 + i);
  return c;
}

std::string answer(uint8_t id, const std::string& secret, const std::vector<uint8_t>& c) {
  auto r = chap::response(id, secret, c.data(), c.size());
  return chap::encode_hex(r.data(), r.size());
}

class LoginAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto node = std::make_unique<TargetNode>();
    node->iqn = kTarget;
    node->device = scsi::make_device(kTarget);
    registry_.add(std::move(node));
    config_.auth.secrets_file = "unused";
    config::Target t;
    t.iqn = kTarget;
    t.auth = AuthMode::kChap;
    t.read_only_initiators = {"IQN.2024-01.test.sharedisk:reader"};
    config_.targets.push_back(t);
    secrets_ = parse_chap_secrets(
        "# comment\n" + std::string(kTarget) +
            " in alice alice-secret-123\n"
            "iqn.2024-01.test.sharedisk:disk out tgt target-secret-89  # mutual\n"
            "discovery in disc discovery-secret\n",
        "secrets");
  }
  std::unique_ptr<Login> make(uint32_t max_text = 65536) {
    auto l = std::make_unique<Login>(registry_, limits_, "192.0.2.7", admit_);
    l->set_security(build_security_policy(config_, secrets_), max_text);
    l->set_fixed_chap_challenge(42, iota16());
    return l;
  }
  static Login::Reply send(Login& l, Bhs h, const std::string& data) {
    h.set_data_length(uint32_t(data.size()));
    return l.handle(h, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  std::string first(const std::string& auth, const std::string& initiator = kInitiator) {
    return text({{"InitiatorName", initiator}, {"TargetName", kTarget}, {"AuthMethod", auth}});
  }

  TargetRegistry registry_;
  TargetLimits limits_;
  Admit admit_;
  config::Config config_;
  std::vector<ChapSecretLine> secrets_;
};

TEST_F(LoginAuthTest, OneWayChapLogsIn) {
  auto l = make();
  auto r = send(*l, request(0, 1, true), first("CHAP,None"));
  EXPECT_EQ(status_of(r), 0);
  EXPECT_FALSE(r.bhs.transit()) << "must stay in security until CHAP is done";
  EXPECT_EQ(keys_of(r)["AuthMethod"], "CHAP");
  r = send(*l, request(0, 1, true), text({{"CHAP_A", "5"}}));
  auto k = keys_of(r);
  EXPECT_EQ(k["CHAP_I"], "42");
  EXPECT_EQ(k["CHAP_C"], chap::encode_hex(iota16().data(), 16));
  EXPECT_FALSE(r.bhs.transit());
  r = send(*l, request(0, 1, true),
           text({{"CHAP_N", "alice"}, {"CHAP_R", answer(42, "alice-secret-123", iota16())}}));
  EXPECT_EQ(status_of(r), 0);
  EXPECT_TRUE(r.bhs.transit());
  EXPECT_EQ(r.bhs.nsg(), 1);
  r = send(*l, request(1, 3, true), text({{"HeaderDigest", "None"}}));
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(l->read_only());
}

TEST_F(LoginAuthTest, MutualChapAnswersTheInitiator) {
  config_.targets[0].auth = AuthMode::kMutual;
  auto l = make();
  send(*l, request(0, 1, false), first("CHAP"));
  send(*l, request(0, 1, false), text({{"CHAP_A", "5"}}));
  std::vector<uint8_t> mine = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
  auto r = send(*l, request(0, 1, true),
                text({{"CHAP_N", "alice"},
                      {"CHAP_R", answer(42, "alice-secret-123", iota16())},
                      {"CHAP_I", "200"},
                      {"CHAP_C", chap::encode_hex(mine.data(), mine.size())}}));
  EXPECT_EQ(status_of(r), 0);
  auto k = keys_of(r);
  EXPECT_EQ(k["CHAP_N"], "tgt");
  EXPECT_EQ(k["CHAP_R"], answer(200, "target-secret-89", mine));
  EXPECT_TRUE(r.bhs.transit());
}

TEST_F(LoginAuthTest, AuthenticationFailuresAre0201AndClose) {
  struct Case {
    const char* name;
    std::vector<std::pair<Bhs, std::string>> pdus;
    const char* reason;
  };
  std::vector<Case> cases = {
      {"None only while CHAP is required", {{request(0, 1, true), first("None")}}, "required"},
      {"skips the security stage",
       {{request(1, 3, true), text({{"InitiatorName", kInitiator}, {"TargetName", kTarget}})}},
       "skipped the security stage"},
      {"leaves security without AuthMethod",
       {{request(0, 1, true), text({{"InitiatorName", kInitiator}, {"TargetName", kTarget}})}},
       "without authenticating"},
      {"wrong response",
       {{request(0, 1, false), first("CHAP")},
        {request(0, 1, false), text({{"CHAP_A", "5"}})},
        {request(0, 1, true),
         text({{"CHAP_N", "alice"}, {"CHAP_R", answer(42, "not-the-secret", iota16())}})}},
       "wrong CHAP_N/CHAP_R"},
      {"reflection",
       {{request(0, 1, false), first("CHAP")},
        {request(0, 1, false), text({{"CHAP_A", "5"}})},
        {request(0, 1, true), text({{"CHAP_N", "alice"},
                                    {"CHAP_R", answer(42, "alice-secret-123", iota16())},
                                    {"CHAP_I", "42"},
                                    {"CHAP_C", chap::encode_hex(iota16().data(), 16)}})}},
       "reflected"},
      {"unsupported algorithm",
       {{request(0, 1, false), first("CHAP")}, {request(0, 1, false), text({{"CHAP_A", "6"}})}},
       "CHAP_A"},
      {"CHAP keys without AuthMethod=CHAP",
       {{request(0, 1, false),
         text({{"InitiatorName", kInitiator}, {"TargetName", kTarget}, {"CHAP_A", "5"}})}},
       "without AuthMethod=CHAP"},
      {"unknown method", {{request(0, 1, false), first("SRP,KRB5")}}, "AuthMethod=SRP,KRB5"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto l = make();
    Login::Reply r;
    for (const auto& [h, d] : c.pdus) {
      r = send(*l, h, d);
      if (r.close) break;
    }
    EXPECT_TRUE(r.close);
    EXPECT_EQ(status_of(r), login_status::kAuthenticationFailure);
    EXPECT_NE(r.reason.find(c.reason), std::string::npos) << r.reason;
    EXPECT_EQ(r.reason.find("secret-"), std::string::npos) << r.reason;
  }
}

TEST_F(LoginAuthTest, OpenTargetStillAcceptsNoneAndChapIsOffered) {
  config_.targets[0].auth = AuthMode::kNone;
  auto l = make();
  auto r = send(*l, request(0, 1, true), first("None"));
  EXPECT_EQ(keys_of(r)["AuthMethod"], "None");
  EXPECT_TRUE(r.bhs.transit());
  // An initiator preferring CHAP gets it (credentials exist for the target).
  auto l2 = make();
  r = send(*l2, request(0, 1, true), first("CHAP,None"));
  EXPECT_EQ(keys_of(r)["AuthMethod"], "CHAP");
}

TEST_F(LoginAuthTest, DiscoveryChap) {
  config_.auth.discovery = AuthMode::kChap;
  auto l = make();
  std::string d =
      text({{"InitiatorName", kInitiator}, {"SessionType", "Discovery"}, {"AuthMethod", "None"}});
  auto r = send(*l, request(0, 1, true), d);
  EXPECT_EQ(status_of(r), login_status::kAuthenticationFailure);
  auto l2 = make();
  d = text({{"InitiatorName", kInitiator}, {"SessionType", "Discovery"}, {"AuthMethod", "CHAP"}});
  send(*l2, request(0, 1, false), d);
  send(*l2, request(0, 1, false), text({{"CHAP_A", "5"}}));
  r = send(*l2, request(0, 1, true),
           text({{"CHAP_N", "disc"}, {"CHAP_R", answer(42, "discovery-secret", iota16())}}));
  EXPECT_EQ(status_of(r), 0);
  EXPECT_TRUE(r.bhs.transit());
  // The target's credentials do not open discovery.
  auto l3 = make();
  send(*l3, request(0, 1, false), d);
  send(*l3, request(0, 1, false), text({{"CHAP_A", "5"}}));
  r = send(*l3, request(0, 1, true),
           text({{"CHAP_N", "alice"}, {"CHAP_R", answer(42, "alice-secret-123", iota16())}}));
  EXPECT_EQ(status_of(r), login_status::kAuthenticationFailure);
}

TEST_F(LoginAuthTest, ReadOnlyInitiatorIgnoresCase) {
  config_.targets[0].auth = AuthMode::kNone;
  auto l = make();
  send(*l, request(0, 1, true), first("None", "iqn.2024-01.test.sharedisk:READER"));
  auto r = send(*l, request(1, 3, true), {});
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(l->read_only());
}

TEST_F(LoginAuthTest, LoginTextBound) {
  auto l = make(8192);
  Bhs h = request(0, 1, false);
  h.b[1] |= flag::kContinue;
  std::string chunk(8000, 'a');
  send(*l, h, chunk);
  auto r = send(*l, h, chunk);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(status_of(r), login_status::kOutOfResources);
}

TEST(ChapSecrets, FormatErrorsNameTheLineNotTheSecret) {
  struct Case {
    const char* text;
    const char* fragment;
  };
  const Case cases[] = {
      {"discovery in user\n", ":1: expected"},
      {"\n\ndiscovery sideways user abcdefghijkl\n", ":3: direction"},
      {"discovery in user short\n", "12 to 255 bytes"},
      {"not_a_name in user abcdefghijklmn\n", "scope"},
      {"* in u abcdefghijklmn\n* in u abcdefghijklmo\n", "listed twice"},
      {"* out u abcdefghijklmn\n* out v abcdefghijklmo\n", "second 'out'"},
      {"* in u abcdefghijklmn\n* out t abcdefghijklmn\n", "must differ"},
  };
  for (const Case& c : cases) {
    try {
      parse_chap_secrets(c.text, "chap.secrets");
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("abcdefghijklmn"), std::string::npos) << e.what();
    }
  }
}

TEST(ChapSecrets, PolicyNeedsCredentialsForRequiredAuth) {
  config::Config c;
  config::Target t;
  t.iqn = kTarget;
  t.auth = AuthMode::kMutual;
  c.targets.push_back(t);
  auto in_only = parse_chap_secrets("* in u abcdefghijklmn\n", "s");
  EXPECT_THROW(build_security_policy(c, in_only), std::runtime_error);  // no 'out'
  EXPECT_THROW(build_security_policy(c, {}), std::runtime_error);
  auto both = parse_chap_secrets("* in u abcdefghijklmn\n* out t zyxwvutsrqponm\n", "s");
  auto p = build_security_policy(c, both);
  ASSERT_NE(p->find("IQN.2024-01.TEST.SHAREDISK:DISK"), nullptr);
  EXPECT_EQ(p->find(kTarget)->auth.incoming.size(), 1u);
  c.auth.discovery = AuthMode::kChap;  // "*" never covers discovery
  EXPECT_THROW(build_security_policy(c, both), std::runtime_error);
}

TEST(ChapSecrets, FileModeAndTypeChecked) {
  char dir[] = "/tmp/sd-chap-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/chap.secrets";
  {
    std::ofstream f(path);
    f << "discovery in disc discovery-secret\n";
  }
  ::chmod(path.c_str(), 0644);
  try {
    load_chap_secrets(path);
    ADD_FAILURE() << "0644 accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("mode 0644"), std::string::npos) << e.what();
  }
  ::chmod(path.c_str(), 0600);
  EXPECT_EQ(load_chap_secrets(path).size(), 1u);
  ::chmod(path.c_str(), 0400);
  EXPECT_EQ(load_chap_secrets(path).size(), 1u);
  std::string link = std::string(dir) + "/link";
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  EXPECT_THROW(load_chap_secrets(link), std::runtime_error);  // O_NOFOLLOW
  EXPECT_THROW(load_chap_secrets(dir), std::runtime_error);   // not a regular file
  EXPECT_THROW(load_chap_secrets(std::string(dir) + "/missing"), std::runtime_error);
  ::unlink(link.c_str());
  ::unlink(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace sharedisk::iscsi
