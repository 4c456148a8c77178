// The sharedisk-ocfs2 command line: exit codes 0/1/2, --json, and the files it writes
// compared with the ones o2cb writes.
#include <gtest/gtest.h>

#include "sharedisk/ocfs2/version.h"
#include "test_support.h"

namespace sharedisk::ocfs2 {
namespace {

using test::run;

class Cli : public testing::Test {
 protected:
  std::string cli(const std::string& args) {
    return std::string(OCFS2_CLI) + " --config " + conf_ + " " + args;
  }
  test::TempDir dir_;
  std::string conf_ = dir_ / "cluster.conf";
};

TEST_F(Cli, BuildsTheDeploymentFileExactlyAsO2cbDoes) {
  ASSERT_EQ(run(cli("init ocfs2")).exit_code, 0);
  ASSERT_EQ(run(cli("add-node ocfs2 odoo1 --ip 192.168.55.111 --port 7777 --number 1")).exit_code,
            0);
  ASSERT_EQ(run(cli("add-node ocfs2 odoo2 --ip 192.168.55.112 --number 2")).exit_code, 0);
  const std::string ours = test::slurp(conf_);

  const std::string o2cb = test::find_tool("o2cb");
  if (o2cb.empty()) GTEST_SKIP() << "o2cb (ocfs2-tools) is not installed";
  const std::string theirs = dir_ / "o2cb.conf";
  ASSERT_EQ(run(o2cb + " --config-file=" + theirs + " add-cluster ocfs2").exit_code, 0);
  ASSERT_EQ(run(o2cb + " --config-file=" + theirs +
                " add-node ocfs2 odoo1 --ip 192.168.55.111 --port 7777 --number 1")
                .exit_code,
            0);
  ASSERT_EQ(run(o2cb + " --config-file=" + theirs +
                " add-node ocfs2 odoo2 --ip 192.168.55.112 --port 7777 --number 2")
                .exit_code,
            0);
  EXPECT_EQ(ours, test::slurp(theirs));
}

TEST_F(Cli, ExitCodesAndJson) {
  ASSERT_EQ(run(cli("init ocfs2")).exit_code, 0);
  ASSERT_EQ(run(cli("add-node ocfs2 odoo1 --ip 192.168.55.111 --number 1")).exit_code, 0);
  EXPECT_EQ(run(cli("validate --local-node odoo1")).exit_code, 0);
  EXPECT_EQ(run(cli("validate --local-node lb2")).exit_code, 1);
  EXPECT_EQ(run(cli("add-node ocfs2 odoo2 --ip 192.168.55.111 --number 1")).exit_code, 1);
  EXPECT_EQ(run(cli("add-node ocfs2 odoo2")).exit_code, 2);  // --ip missing
  EXPECT_EQ(run(cli("frobnicate")).exit_code, 2);
  EXPECT_EQ(run(cli("validate --bogus")).exit_code, 2);

  const auto json = run(cli("--json validate --local-node lb2"));
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_EQ(json.output.rfind("{\"command\":\"validate\",\"ok\":false,\"exit_code\":1,", 0), 0u)
      << json.output;
  EXPECT_NE(json.output.find("\"code\":\"local-node-missing\""), std::string::npos);
  EXPECT_NE(json.output.find("\"line\":1,\"severity\":\"error\""), std::string::npos);
  EXPECT_NE(json.output.find("\"ip_address\":\"192.168.55.111\""), std::string::npos);

  const auto usage = run(cli("--json frobnicate"));
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.output.find("\"error\":\"usage\""), std::string::npos);
}

TEST_F(Cli, ValidateReportsFileLineAndSeverity) {
  test::spit(conf_, "cluster:\n\tname = ocfs2\n\tnode_count = 3\n");
  const auto r = run(cli("validate --no-local-check"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(conf_ + ":3: error: cluster 'ocfs2' says node_count = 3"),
            std::string::npos)
      << r.output;
}

TEST_F(Cli, FormatRewritesHandWrittenFiles) {
  test::spit(conf_, "cluster:\n    name = ocfs2\n    node_count = 0\n");
  EXPECT_EQ(run(cli("format --check")).exit_code, 1);
  EXPECT_EQ(run(cli("format")).exit_code, 0);
  EXPECT_EQ(test::slurp(conf_),
            "cluster:\n\tname = ocfs2\n\theartbeat_mode = local\n\tnode_count = 0\n\n");
  EXPECT_EQ(run(cli("format --check")).exit_code, 0);
  test::spit(conf_, "cluster :\n");
  EXPECT_EQ(run(cli("format")).exit_code, 1);
  EXPECT_EQ(test::slurp(conf_), "cluster :\n");  // never rewrites what it cannot read
}

TEST_F(Cli, RegisterAndUnregisterInATemporaryConfigfs) {
  ASSERT_EQ(run(cli("init ocfs2")).exit_code, 0);
  ASSERT_EQ(run(cli("add-node ocfs2 odoo1 --ip 192.168.55.111 --number 1")).exit_code, 0);
  ASSERT_EQ(run(cli("add-node ocfs2 odoo2 --ip 192.168.55.112 --number 2")).exit_code, 0);
  const std::string root = dir_ / "configfs";
  std::filesystem::create_directories(root + "/cluster");
  const std::string defaults = dir_ / "o2cb";
  test::spit(defaults,
             "O2CB_ENABLED=true\nO2CB_HEARTBEAT_THRESHOLD=61\nO2CB_IDLE_TIMEOUT_MS=60000\n");
  const std::string args = " --configfs-root " + root + " --local-node odoo2";
  auto r = run(cli("register ocfs2 --defaults " + defaults + args));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::slurp(root + "/cluster/ocfs2/node/odoo2/local"), "1");
  EXPECT_EQ(test::slurp(root + "/cluster/ocfs2/heartbeat/dead_threshold"), "61\n");
  EXPECT_FALSE(std::filesystem::exists(root + "/cluster/ocfs2/keepalive_delay_ms"));
  EXPECT_EQ(run(cli("register ocfs2 --defaults " + defaults + args)).exit_code, 0);
  EXPECT_EQ(run(cli("unregister ocfs2 --configfs-root " + root)).exit_code, 0);
  EXPECT_TRUE(std::filesystem::is_empty(root + "/cluster"));
}

TEST_F(Cli, ProbeAndCheckOnAnImage) {
  const std::string mkfs = test::find_tool("mkfs.ocfs2");
  if (mkfs.empty()) GTEST_SKIP() << "mkfs.ocfs2 (ocfs2-tools) is not installed";
  if (!std::filesystem::exists("/sbin/modprobe"))
    GTEST_SKIP() << "mkfs.ocfs2 needs /sbin/modprobe (Debian package kmod)";
  const std::string img = dir_ / "lun.img";
  run("truncate -s 128M " + img);
  ASSERT_EQ(run(mkfs +
                " -q -F --cluster-stack=o2cb --cluster-name=ocfs2 -N 2 -L Odoo_Cluster "
                "-b 4K -C 128K " +
                img + " </dev/null")
                .exit_code,
            0);
  ASSERT_EQ(run(cli("init ocfs2")).exit_code, 0);
  ASSERT_EQ(run(cli("add-node ocfs2 odoo1 --ip 192.168.55.111 --number 1")).exit_code, 0);
  ASSERT_EQ(run(cli("add-node ocfs2 odoo2 --ip 192.168.55.112 --number 2")).exit_code, 0);

  auto probe = run(cli("--json probe " + img));
  EXPECT_EQ(probe.exit_code, 0);
  EXPECT_NE(probe.output.find("\"cluster_size\":131072"), std::string::npos) << probe.output;
  EXPECT_NE(probe.output.find("\"label\":\"Odoo_Cluster\""), std::string::npos);

  auto check = run(cli("check " + img + " --mount-point /var/lib/odoo"));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find(" /var/lib/odoo ocfs2 defaults,_netdev 0 0"), std::string::npos);

  ASSERT_EQ(run(cli("add-node ocfs2 odoo3 --ip 192.168.55.113 --number 3")).exit_code, 0);
  check = run(cli("--json check " + img));
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.output.find("volume-too-few-slots"), std::string::npos);

  const auto foreign = run(cli("probe " + conf_));
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.output.find("not an OCFS2 volume"), std::string::npos);
}

// CLI11: numbers are whole numbers or a usage error naming the option; "--opt value" and
// "--opt=value" mean the same; global options go before or after the command.
TEST_F(Cli, StrictNumbersBothSpellingsAndVersion) {
  ASSERT_EQ(run(cli("init ocfs2")).exit_code, 0);
  for (const char* bad : {"--port x", "--port=7777x", "--number -1", "--number 0x2", "--port"}) {
    const auto r = run(cli(std::string("add-node ocfs2 odoo1 --ip 192.168.55.111 ") + bad), true);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.output;
    EXPECT_NE(r.output.find(std::string(bad).substr(0, 6)), std::string::npos) << r.output;
  }
  EXPECT_EQ(run(cli("add-node ocfs2 odoo1 --ip=192.168.55.111 --port=7777 --number=1")).exit_code,
            0);
  EXPECT_EQ(run(std::string(OCFS2_CLI) +
                " add-node ocfs2 odoo2 --ip 192.168.55.112 --number 2 "
                "--config=" +
                conf_)
                .exit_code,
            0);
  const auto list = run(cli("list --json"));
  EXPECT_NE(list.output.find("\"name\":\"odoo2\",\"number\":2"), std::string::npos) << list.output;
  const auto version = run(std::string(OCFS2_CLI) + " --version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.output, std::string("sharedisk-ocfs2 ") + SHAREDISK_OCFS2_VERSION + "\n");
  const auto help = run(std::string(OCFS2_CLI) + " add-node --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--number"), std::string::npos) << help.output;
}

// --json is JSON whatever bytes cluster.conf holds: what is not UTF-8 becomes U+FFFD.
TEST_F(Cli, JsonIsValidWhenTheFileIsNotUtf8) {
  test::spit(conf_,
             "cluster:\n\tname = oc\xff\xfe"
             "fs2\n\tnode_count = 1\n\nnode:\n\tname = "
             "odoo\xe9\n\tcluster = oc\xff\xfe"
             "fs2\n\tnumber = 1\n\tip_address = 10.0.0.1\n"
             "\tip_port = 7777\n");
  const auto r = run(cli("--json validate --no-local-check"));
  EXPECT_NE(r.exit_code, 2) << r.output;
  std::string json = dir_ / "out.json";
  test::spit(json, r.output);
  const auto parsed =
      run("python3 -c 'import json,sys; d=json.load(sys.stdin); "
          "print(d[\"command\"], len(d[\"diagnostics\"]) >= 0)' < " +
              json,
          true);
  EXPECT_EQ(parsed.exit_code, 0) << r.output << "\n" << parsed.output;
  EXPECT_EQ(parsed.output, "validate True\n") << r.output;
  EXPECT_NE(r.output.find("\xef\xbf\xbd"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sharedisk::ocfs2
