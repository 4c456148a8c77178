// type: rbd LUNs: what loads, what is refused (file, line, key), and the example.
#include <gtest/gtest.h>

#include "config/config.h"

namespace sharedisk::config {
namespace {

#define HEAD "portals: [127.0.0.1:3260]\ntargets:\n  - iqn: iqn.2019-02.lb2:odcfs2\n    luns:\n"

TEST(RbdLun, LoadsWithDefaults) {
  Config c = load_string(HEAD
                         "      - number: 1\n        type: rbd\n        pool: rbd\n"
                         "        image: disk1\n",
                         "t.yaml");
  const Lun& l = c.targets[0].luns[0];
  EXPECT_EQ(l.type, BackingType::kRbd);
  EXPECT_STREQ(to_string(l.type), "rbd");
  EXPECT_TRUE(l.path.empty());
  EXPECT_FALSE(l.size.has_value());
  EXPECT_EQ(l.rbd.pool, "rbd");
  EXPECT_EQ(l.rbd.image, "disk1");
  EXPECT_EQ(l.rbd.ns, "");
  EXPECT_EQ(l.rbd.ceph_conf, "/etc/ceph/ceph.conf");
  EXPECT_EQ(l.rbd.client, "admin");
  EXPECT_EQ(l.rbd.keyring, "");
  EXPECT_EQ(l.rbd.timeout_s, 20u);
  // Errors of keys not given point at the LUN entry.
  EXPECT_EQ(l.rbd.at_cluster.line, 5);
  EXPECT_EQ(l.rbd.at_cluster.key, "targets[0].luns[0]");
  EXPECT_EQ(l.rbd.at_image.line, 8);
  EXPECT_EQ(l.rbd.at_image.key, "targets[0].luns[0].image");
  EXPECT_EQ(l.rbd.at_pool.line, 7);
}

TEST(RbdLun, LoadsEveryKey) {
  Config c = load_string(HEAD
                         "      - number: 1\n        type: rbd\n        pool: p1\n"
                         "        image: i1\n        namespace: ns1\n"
                         "        ceph_conf: /etc/ceph/other.conf\n        client: client.gw\n"
                         "        keyring: /etc/ceph/gw.keyring\n        rbd_timeout: 7\n"
                         "        read_only: true\n",
                         "t.yaml");
  const Lun& l = c.targets[0].luns[0];
  EXPECT_EQ(l.rbd.ns, "ns1");
  EXPECT_EQ(l.rbd.ceph_conf, "/etc/ceph/other.conf");
  EXPECT_EQ(l.rbd.client, "gw");
  EXPECT_EQ(l.rbd.keyring, "/etc/ceph/gw.keyring");
  EXPECT_EQ(l.rbd.timeout_s, 7u);
  EXPECT_TRUE(l.read_only);
  EXPECT_EQ(l.rbd.at_pool.key, "targets[0].luns[0].namespace");
  EXPECT_EQ(l.rbd.at_cluster.key, "targets[0].luns[0].ceph_conf");
  EXPECT_EQ(l.rbd.at_auth.key, "targets[0].luns[0].keyring");
  EXPECT_EQ(l.rbd.at_auth.line, 12);
}

TEST(RbdLun, ExampleLoads) {
  Config c = load_file(std::string(SHAREDISK_SOURCE_DIR) + "/examples/rbd.yaml");
  ASSERT_EQ(c.targets.size(), 1u);
  const Lun& l = c.targets[0].luns[0];
  EXPECT_EQ(l.type, BackingType::kRbd);
  EXPECT_EQ(l.rbd.client, "iscsi-gw");
}

struct Broken {
  const char* name;
  const char* luns;  // after HEAD (line 5 = first LUN)
  int line;
  const char* key;
  const char* fragment;
};

const Broken kBroken[] = {
    {"pool missing", "      - number: 1\n        type: rbd\n        image: a\n", 5,
     "targets[0].luns[0].pool", "is required"},
    {"image missing", "      - number: 1\n        type: rbd\n        pool: a\n", 5,
     "targets[0].luns[0].image", "is required"},
    {"size refused",
     "      - number: 1\n        type: rbd\n        pool: a\n        image: b\n        size: 1G\n",
     9, "targets[0].luns[0].size", "size of its image"},
    {"path refused",
     "      - number: 1\n        type: rbd\n        path: /x\n        pool: a\n        image: b\n",
     7, "targets[0].luns[0].path", "has no path"},
    {"direct refused",
     "      - number: 1\n        type: rbd\n        pool: a\n        image: b\n        direct: "
     "false\n",
     9, "targets[0].luns[0].direct", "file and block LUNs only"},
    {"pool on a file LUN", "      - number: 1\n        path: /tmp/x\n        pool: a\n", 7,
     "targets[0].luns[0].pool", "rbd LUNs only"},
    {"slash in image",
     "      - number: 1\n        type: rbd\n        pool: a\n        image: b/c\n", 8,
     "targets[0].luns[0].image", "without spaces"},
    {"timeout zero",
     "      - number: 1\n        type: rbd\n        pool: a\n        image: b\n        "
     "rbd_timeout: 0\n",
     9, "targets[0].luns[0].rbd_timeout", "between 1 and 3600"},
    {"same image twice",
     "      - number: 1\n        type: rbd\n        pool: a\n        image: b\n"
     "      - number: 2\n        type: rbd\n        pool: a\n        image: b\n",
     12, "targets[0].luns[1].image", "RBD image 'a/b' is already used by targets[0].luns[0].image"},
    {"bad type", "      - number: 1\n        type: ceph\n", 6, "targets[0].luns[0].type",
     "file, block, memory or rbd"},
};

class RbdLunBroken : public ::testing::TestWithParam<Broken> {};

TEST_P(RbdLunBroken, FailsPrecisely) {
  const Broken& b = GetParam();
  try {
    load_string(std::string(HEAD) + b.luns, "t.yaml");
    FAIL() << "loaded";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), b.line) << e.what();
    EXPECT_EQ(e.key(), b.key) << e.what();
    EXPECT_NE(e.message().find(b.fragment), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, RbdLunBroken, ::testing::ValuesIn(kBroken), [](const auto& info) {
  std::string n = info.param.name;
  for (char& ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
});

}  // namespace
}  // namespace sharedisk::config
