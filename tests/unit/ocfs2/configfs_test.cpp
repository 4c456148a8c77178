// configfs registration against a temporary directory standing in for /sys/kernel/config.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "sharedisk/ocfs2/configfs.h"
#include "test_data.h"

namespace sharedisk::ocfs2 {
namespace {

namespace fs = std::filesystem;

class Configfs : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ocfs2-configfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directory(root_ / "cluster");
    conf_ = parse_cluster_conf(test::kDeploymentConf).conf;
    options_.root = root_;
    options_.local_node = "odoo1";
    options_.timeouts = O2cbTimeouts::defaults();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string read(const fs::path& rel) {
    std::ifstream in(root_ / rel);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path root_;
  ClusterConf conf_;
  ConfigfsOptions options_;
};

TEST_F(Configfs, RegisterWritesTheTreeInO2cbOrder) {
  ConfigfsResult r = register_cluster(conf_, "ocfs2", options_);
  ASSERT_TRUE(r.ok()) << r.diagnostics.front().to_string();
  const std::string c = (root_ / "cluster" / "ocfs2").string();
  const std::vector<std::string> expected = {
      "mkdir " + c,
      "mkdir " + c + "/node",
      "mkdir " + c + "/heartbeat",
      "write " + c + "/heartbeat/mode = local",
      "mkdir " + c + "/node/odoo1",
      "write " + c + "/node/odoo1/ipv4_port = 7777",
      "write " + c + "/node/odoo1/ipv4_address = 192.168.55.111",
      "write " + c + "/node/odoo1/num = 1",
      "write " + c + "/node/odoo1/local = 1",
      "mkdir " + c + "/node/odoo2",
      "write " + c + "/node/odoo2/ipv4_port = 7777",
      "write " + c + "/node/odoo2/ipv4_address = 192.168.55.112",
      "write " + c + "/node/odoo2/num = 2",
      "write " + c + "/node/odoo2/local = 0",
      "write " + c + "/heartbeat/dead_threshold = 31",
      "write " + c + "/idle_timeout_ms = 30000",
      "write " + c + "/keepalive_delay_ms = 2000",
      "write " + c + "/reconnect_delay_ms = 2000",
  };
  EXPECT_EQ(r.actions, expected);
  // libo2cb writes attributes without a newline; the init script's echo adds one.
  EXPECT_EQ(read("cluster/ocfs2/node/odoo2/ipv4_address"), "192.168.55.112");
  EXPECT_EQ(read("cluster/ocfs2/node/odoo1/local"), "1");
  EXPECT_EQ(read("cluster/ocfs2/heartbeat/mode"), "local");
  EXPECT_EQ(read("cluster/ocfs2/idle_timeout_ms"), "30000\n");
}

TEST_F(Configfs, RegisterIsIdempotentAndReplacesChangedNodes) {
  ASSERT_TRUE(register_cluster(conf_, "ocfs2", options_).ok());
  ConfigfsResult again = register_cluster(conf_, "ocfs2", options_);
  ASSERT_TRUE(again.ok());
  for (const auto& a : again.actions) EXPECT_EQ(a.rfind("mkdir", 0), std::string::npos) << a;

  conf_.nodes[1].ip_address = "192.168.55.113";
  ConfigfsResult changed = register_cluster(conf_, "ocfs2", options_);
  ASSERT_TRUE(changed.ok());
  const std::string n2 = (root_ / "cluster/ocfs2/node/odoo2").string();
  EXPECT_NE(std::find(changed.actions.begin(), changed.actions.end(), "rmdir " + n2),
            changed.actions.end());
  EXPECT_EQ(read("cluster/ocfs2/node/odoo2/ipv4_address"), "192.168.55.113");
  EXPECT_TRUE(fs::exists(root_ / "cluster/ocfs2/node/odoo1/num"));
}

TEST_F(Configfs, FailedStepRollsBackWhatItCreated) {
  // A file where odoo2's directory must go makes its mkdir fail after odoo1 was created.
  fs::create_directories(root_ / "cluster/ocfs2/node");
  std::ofstream(root_ / "cluster/ocfs2/node/odoo2") << "in the way";
  ConfigfsResult r = register_cluster(conf_, "ocfs2", options_);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(root_ / "cluster/ocfs2/node/odoo1"));
  EXPECT_TRUE(fs::exists(root_ / "cluster/ocfs2/node/odoo2"));  // not ours: left alone
  EXPECT_TRUE(fs::exists(root_ / "cluster/ocfs2"));             // existed before
}

TEST_F(Configfs, FailedWriteRemovesOnlyWhatThisCallCreated) {
  ConfigfsResult first = register_cluster(conf_, "ocfs2", options_);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(unregister_cluster("ocfs2", options_).ok());
  ASSERT_FALSE(fs::exists(root_ / "cluster/ocfs2"));
  // heartbeat/mode as a directory cannot be written; cluster/ocfs2 and heartbeat/ were made
  // by someone else, node/ by this call.
  fs::create_directories(root_ / "cluster/ocfs2/heartbeat/mode");
  ConfigfsResult r = register_cluster(conf_, "ocfs2", options_);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(root_ / "cluster/ocfs2/node"));
  EXPECT_TRUE(fs::exists(root_ / "cluster/ocfs2/heartbeat/mode"));
}

TEST_F(Configfs, RefusesInvalidConfigurationAndMissingStack) {
  conf_.nodes[1].number = 1;
  EXPECT_FALSE(register_cluster(conf_, "ocfs2", options_).ok());
  EXPECT_TRUE(fs::is_empty(root_ / "cluster"));
  conf_.nodes[1].number = 2;
  options_.local_node = "lb2";  // this host is not in the cluster
  EXPECT_FALSE(register_cluster(conf_, "ocfs2", options_).ok());
  options_.local_node = "odoo1";
  fs::remove(root_ / "cluster");
  ConfigfsResult r = register_cluster(conf_, "ocfs2", options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.back().code, "configfs-not-ready");
}

TEST_F(Configfs, OneClusterAtATime) {
  fs::create_directories(root_ / "cluster/other");
  ConfigfsResult r = register_cluster(conf_, "ocfs2", options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.back().code, "another-cluster-registered");
}

TEST_F(Configfs, UnregisterRemovesEverythingAndIsIdempotent) {
  ASSERT_TRUE(register_cluster(conf_, "ocfs2", options_).ok());
  ConfigfsResult r = unregister_cluster("ocfs2", options_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(fs::is_empty(root_ / "cluster"));
  EXPECT_TRUE(unregister_cluster("ocfs2", options_).ok());
}

TEST_F(Configfs, UnregisterRefusesWhileAHeartbeatRegionIsActive) {
  ASSERT_TRUE(register_cluster(conf_, "ocfs2", options_).ok());
  fs::create_directories(root_ / "cluster/ocfs2/heartbeat/5A16B65EB33B4613973D62036FA52E9F");
  ConfigfsResult r = unregister_cluster("ocfs2", options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.back().code, "heartbeat-active");
  EXPECT_TRUE(fs::exists(root_ / "cluster/ocfs2/node/odoo1"));
}

TEST_F(Configfs, UnsetTimeoutsAreNotWritten) {
  options_.timeouts = {};
  ASSERT_TRUE(register_cluster(conf_, "ocfs2", options_).ok());
  EXPECT_FALSE(fs::exists(root_ / "cluster/ocfs2/idle_timeout_ms"));
}

}  // namespace
}  // namespace sharedisk::ocfs2
