// sharedisk-ocfs2 check-failover and multipath-stanza, run as a program on fixture files:
// exit codes 0 (fits), 1 (does not), 2 (bad input), the --json document, FILE:LINE errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace sharedisk::ocfs2 {
namespace {

using test::run;

std::string data(const std::string& name) {
  return std::string(SHAREDISK_SOURCE_DIR) + "/tests/ocfs2/data/" + name;
}

// Debian's o2cb and iscsid.conf with the given multipath.conf.
std::string check(const std::string& multipath, const std::string& more = "") {
  return std::string(OCFS2_CLI) + " check-failover --o2cb " + data("o2cb.debian") + " --iscsid " +
         data("iscsid.conf.debian") + " " + multipath + " " + more;
}

TEST(FailoverCli, FittingConfigurationExitsZero) {
  const auto r = run(check("--multipath " + data("multipath.conf.fits")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("verdict: fits"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("limit        50 s"), std::string::npos) << r.output;

  const auto j = run(check("--multipath " + data("multipath.conf.fits"), "--json"));
  ASSERT_EQ(j.exit_code, 0);
  const auto doc = nlohmann::json::parse(j.output);
  EXPECT_EQ(doc["command"], "check-failover");
  EXPECT_EQ(doc["fits"], true);
  EXPECT_EQ(doc["verdict"], "fits");
  EXPECT_EQ(doc["total_seconds"], 25);
  EXPECT_EQ(doc["limit_seconds"], 50);
  EXPECT_EQ(doc["heartbeat_dead_seconds"], 60);
  EXPECT_EQ(doc["recovery_governed_by"], "fast_io_fail_tmo");
  EXPECT_EQ(doc["queue_seconds"], 15);
  ASSERT_EQ(doc["terms"].size(), 3u);
  EXPECT_EQ(doc["terms"][0]["name"], "detection");
  EXPECT_EQ(doc["terms"][0]["seconds"], 10);
  EXPECT_EQ(doc["multipath"]["device_entry_line"], 10);
  EXPECT_EQ(doc["multipath"]["no_path_retry"], "3");
}

TEST(FailoverCli, ConfigurationThatRebootsExitsOne) {
  const auto j = run(check("--multipath " + data("multipath.conf.reboots"), "--json"));
  EXPECT_EQ(j.exit_code, 1) << j.output;
  const auto doc = nlohmann::json::parse(j.output);
  EXPECT_EQ(doc["ok"], false);
  EXPECT_EQ(doc["verdict"], "reboots");
  EXPECT_EQ(doc["recovery_governed_by"], "replacement_timeout");
  EXPECT_EQ(doc["total_seconds"], 140);
  bool too_slow = false, forever = false;
  for (const auto& d : doc["diagnostics"]) {
    too_slow |= d["code"] == "failover-too-slow";
    forever |= d["code"] == "queue-forever";
  }
  EXPECT_TRUE(too_slow);
  EXPECT_TRUE(forever);

  // Debian's files without multipath: replacement_timeout 120 decides.
  const auto single = run(check("--no-multipath"));
  EXPECT_EQ(single.exit_code, 1);
  EXPECT_NE(single.output.find("verdict: does not fit"), std::string::npos) << single.output;
  // With docs/deployment.md's single-gateway iscsid.conf and a 1 s restart it fits.
  const auto fast =
      run(std::string(OCFS2_CLI) + " check-failover --no-multipath --o2cb " + data("o2cb.debian") +
          " --iscsid " + data("iscsid.conf.fast") + " --takeover-seconds 1");
  EXPECT_EQ(fast.exit_code, 0) << fast.output;
}

TEST(FailoverCli, BadInputExitsTwoWithFileAndLine) {
  const std::string broken = data("multipath.conf.broken");
  const auto r = run(check("--multipath " + broken));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(broken + ":5: error: unterminated quoted string"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(broken + ":1: error: section 'defaults' is not closed"),
            std::string::npos)
      << r.output;

  const auto j = run(check("--multipath " + broken, "--json"));
  EXPECT_EQ(j.exit_code, 2);
  const auto doc = nlohmann::json::parse(j.output);
  EXPECT_EQ(doc["exit_code"], 2);
  EXPECT_EQ(doc["diagnostics"][0]["file"], broken);
  EXPECT_EQ(doc["diagnostics"][0]["line"], 5);

  test::TempDir dir;
  const std::string iscsid = dir / "iscsid.conf";
  test::spit(iscsid, "node.startup = manual\nnode.conn[0].timeo.noop_out_timeout = five\n");
  const auto bad = run(std::string(OCFS2_CLI) + " check-failover --iscsid " + iscsid + " --o2cb " +
                       data("o2cb.debian"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find(iscsid + ":2: error: node.conn[0].timeo.noop_out_timeout = 'five'"),
            std::string::npos)
      << bad.output;

  const std::string o2cb = dir / "o2cb";
  test::spit(o2cb, "# o2cb\nO2CB_ENABLED=true\nO2CB_HEARTBEAT_THRESHOLD=sixty\n");
  const auto bad_o2cb = run(std::string(OCFS2_CLI) + " check-failover --no-multipath --o2cb " +
                            o2cb + " --iscsid " + data("iscsid.conf.debian"));
  EXPECT_EQ(bad_o2cb.exit_code, 2);
  EXPECT_NE(bad_o2cb.output.find(o2cb + ":3: error: O2CB_HEARTBEAT_THRESHOLD = 'sixty'"),
            std::string::npos)
      << bad_o2cb.output;

  // A file named on the command line must exist.
  EXPECT_EQ(run(check("--multipath " + dir / "missing.conf")).exit_code, 2);
  EXPECT_EQ(run(check("--no-multipath --takeover-seconds ten")).exit_code, 2);
  EXPECT_EQ(run(check("--no-multipath --multipath " + broken)).exit_code, 2);
}

TEST(FailoverCli, StanzaIsAcceptedByCheckFailover) {
  test::TempDir dir;
  const std::string conf = dir / "multipath.conf";
  const auto s = run(std::string(OCFS2_CLI) + " multipath-stanza --o2cb " + data("o2cb.debian") +
                     " --iscsid " + data("iscsid.conf.debian") + " > " + conf);
  ASSERT_EQ(s.exit_code, 0);
  const std::string text = test::slurp(conf);
  EXPECT_NE(text.find("\t\tvendor \"SHAREDSK\"\n\t\tproduct \"VIRTUAL-DISK\"\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("hardware_handler \"1 alua\""), std::string::npos);
  EXPECT_NE(text.find("no_path_retry 3\n"), std::string::npos);

  const auto j = run(check("--multipath " + conf, "--json"));
  EXPECT_EQ(j.exit_code, 0) << j.output;
  const auto doc = nlohmann::json::parse(j.output);
  EXPECT_EQ(doc["fits"], true);
  EXPECT_EQ(doc["multipath"]["device_entry_line"], 7);

  // The JSON form carries the same text; a takeover that cannot fit exits 1.
  const auto sj = run(std::string(OCFS2_CLI) + " multipath-stanza --json --o2cb " +
                      data("o2cb.debian") + " --iscsid " + data("iscsid.conf.debian"));
  ASSERT_EQ(sj.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(sj.output)["stanza"], text);
  EXPECT_EQ(run(std::string(OCFS2_CLI) + " multipath-stanza --takeover-seconds 45 --o2cb " +
                data("o2cb.debian") + " --iscsid " + data("iscsid.conf.debian"))
                .exit_code,
            1);
}

}  // namespace
}  // namespace sharedisk::ocfs2
