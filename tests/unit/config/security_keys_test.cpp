// The security keys of lun.yaml: auth (secrets file, discovery and per-target
// mode), access.read_only_initiators, iscsi.digests and limits.
#include <gtest/gtest.h>

#include "config/config.h"

namespace sharedisk::config {
namespace {

#define HEAD "portals: [127.0.0.1:3260]\n"

TEST(SecurityKeys, DefaultsAreOpenWithDigestsAllowed) {
  Config c = load_string(HEAD "targets:\n  - iqn: iqn.2019-02.lb2:odcfs2\n    luns: []\n", "t");
  EXPECT_TRUE(c.auth.secrets_file.empty());
  EXPECT_EQ(c.auth.discovery, AuthMode::kNone);
  EXPECT_EQ(c.targets[0].auth, AuthMode::kNone);
  EXPECT_TRUE(c.targets[0].read_only_initiators.empty());
  EXPECT_TRUE(c.iscsi.digests);
  EXPECT_EQ(c.limits.max_connections, 1024u);
  EXPECT_EQ(c.limits.max_connections_per_address, 128u);
  EXPECT_EQ(c.limits.max_sessions_per_initiator, 128u);
  EXPECT_EQ(c.limits.max_login_text, 65536u);
  EXPECT_EQ(c.limits.max_immediate_commands, 64u);
}

TEST(SecurityKeys, EveryKeyIsRead) {
  Config c =
      load_string(HEAD
                  "auth:\n"
                  "  secrets_file: /etc/sharedisk/chap.secrets\n"
                  "  discovery: chap\n"
                  "iscsi:\n"
                  "  digests: false\n"
                  "limits:\n"
                  "  max_connections: 100\n"
                  "  max_connections_per_address: 5\n"
                  "  max_sessions_per_initiator: 3\n"
                  "  max_login_text: 16384\n"
                  "  max_immediate_commands: 8\n"
                  "targets:\n"
                  "  - iqn: iqn.2019-02.lb2:odcfs2\n"
                  "    auth: mutual\n"
                  "    access:\n"
                  "      initiators: [iqn.1993-08.org.debian:01:a, iqn.1993-08.org.debian:01:b]\n"
                  "      read_only_initiators: [iqn.1993-08.org.debian:01:b]\n"
                  "    luns: []\n",
                  "t");
  EXPECT_EQ(c.auth.secrets_file, "/etc/sharedisk/chap.secrets");
  EXPECT_EQ(c.auth.discovery, AuthMode::kChap);
  EXPECT_FALSE(c.iscsi.digests);
  EXPECT_EQ(c.limits.max_connections, 100u);
  EXPECT_EQ(c.limits.max_connections_per_address, 5u);
  EXPECT_EQ(c.limits.max_sessions_per_initiator, 3u);
  EXPECT_EQ(c.limits.max_login_text, 16384u);
  EXPECT_EQ(c.limits.max_immediate_commands, 8u);
  EXPECT_EQ(c.targets[0].auth, AuthMode::kMutual);
  ASSERT_EQ(c.targets[0].read_only_initiators.size(), 1u);
  EXPECT_EQ(c.targets[0].read_only_initiators[0], "iqn.1993-08.org.debian:01:b");
  EXPECT_STREQ(to_string(AuthMode::kMutual), "mutual");
}

struct Broken {
  const char* yaml;
  int line;
  const char* key;
  const char* fragment;
};

TEST(SecurityKeys, BrokenSecurityConfigsNameLineAndKey) {
  const Broken cases[] = {
      {HEAD "targets:\n  - iqn: iqn.2019-02.lb2:odcfs2\n    auth: chap\n    luns: []\n", 4,
       "targets[0].auth", "needs auth.secrets_file"},
      {HEAD "auth:\n  discovery: mutual\n", 3, "auth.discovery", "needs auth.secrets_file"},
      {HEAD "auth:\n  secrets_file: /x\n  discovery: md5\n", 4, "auth.discovery",
       "none, chap, mutual"},
      {HEAD "auth:\n  secrets_file: /x\ntargets:\n  - iqn: iqn.2019-02.lb2:odcfs2\n    auth: "
            "yes\n    luns: []\n",
       6, "targets[0].auth", "none, chap, mutual"},
      {HEAD "auth:\n  secrets_file: \"\"\n", 3, "auth.secrets_file", "must not be empty"},
      {HEAD "auth:\n  secret_file: /x\n", 3, "auth.secret_file", "did you mean 'secrets_file'"},
      {HEAD "limits:\n  max_connections: 0\n", 3, "limits.max_connections", "between 1"},
      {HEAD "limits:\n  max_login_text: 100\n", 3, "limits.max_login_text", "between 8192"},
      {HEAD "iscsi:\n  digests: crc\n", 3, "iscsi.digests", ""},
      {HEAD "targets:\n  - iqn: iqn.2019-02.lb2:odcfs2\n    access:\n      initiators: "
            "[iqn.1993-08.org.debian:01:a]\n      read_only_initiators: "
            "[iqn.1993-08.org.debian:01:b]\n    luns: []\n",
       6, "targets[0].access.read_only_initiators[0]", "could never log in"},
      {HEAD "targets:\n  - iqn: iqn.2019-02.lb2:odcfs2\n    access:\n      "
            "read_only_initiators: [not-a-name]\n    luns: []\n",
       5, "targets[0].access.read_only_initiators[0]", ""},
  };
  for (const Broken& b : cases) {
    SCOPED_TRACE(b.yaml);
    try {
      load_string(b.yaml, "lun.yaml");
      ADD_FAILURE() << "accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.line(), b.line) << e.what();
      EXPECT_EQ(e.key(), b.key) << e.what();
      EXPECT_NE(std::string(e.what()).find(b.fragment), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sharedisk::config
