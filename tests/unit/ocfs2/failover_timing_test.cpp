// The failover timing model: the verdicts for a fitting configuration, one that reboots the
// nodes, Debian's default files, and the multipath stanza read back by the parser.
#include <gtest/gtest.h>

#include <algorithm>

#include "sharedisk/ocfs2/failover_timing.h"

namespace sharedisk::ocfs2 {
namespace {

std::string data(const char* name) {
  return std::string(SHAREDISK_SOURCE_DIR) + "/tests/ocfs2/data/" + name;
}

bool has_code(const FailoverVerdict& v, const std::string& code) {
  return std::any_of(v.diagnostics.begin(), v.diagnostics.end(),
                     [&](const Diagnostic& d) { return d.code == code; });
}

MultipathSettings resolve(const std::string& text) {
  MultipathConfResult r = parse_multipath_conf(text);
  EXPECT_FALSE(has_errors(r.diagnostics));
  Diagnostics d;
  return resolve_multipath_settings(r.conf, kTargetVendor, kTargetProduct, d);
}

TEST(FailoverTiming, HeartbeatDeadTime) {
  O2cbTimeouts t = O2cbTimeouts::defaults();
  EXPECT_EQ(heartbeat_dead_seconds(t), 60u);  // 31 -> (31 - 1) x 2 s
  t.heartbeat_dead_threshold = 61;
  EXPECT_EQ(heartbeat_dead_seconds(t), 120u);
  t.heartbeat_dead_threshold.reset();  // not written: the kernel's 31
  EXPECT_EQ(heartbeat_dead_seconds(t), 60u);
}

TEST(FailoverTiming, FittingMultipathConfiguration) {
  FailoverInputs in;
  in.multipath = resolve(
      "devices {\n device {\n  vendor SHAREDSK\n  product VIRTUAL-DISK\n"
      "  no_path_retry 3\n  fast_io_fail_tmo 5\n }\n}\n");
  const FailoverVerdict v = check_failover(in);
  EXPECT_TRUE(v.fits);
  ASSERT_EQ(v.terms.size(), 3u);
  EXPECT_EQ(v.terms[0].name, "detection");
  EXPECT_EQ(v.terms[0].seconds, 10u);  // 5 + 5
  EXPECT_EQ(v.terms[1].name, "io-failover");
  EXPECT_EQ(v.terms[1].seconds, 5u);  // fast_io_fail_tmo, not replacement_timeout 120
  EXPECT_EQ(v.recovery_governed_by, "fast_io_fail_tmo");
  EXPECT_EQ(v.terms[2].seconds, 10u);
  EXPECT_EQ(v.total_seconds, 25u);
  EXPECT_EQ(v.heartbeat_dead_seconds, 60u);
  EXPECT_EQ(v.limit_seconds, 50u);
  EXPECT_EQ(v.queue_seconds, 15u);
  EXPECT_FALSE(has_errors(v.diagnostics));
  EXPECT_FALSE(has_warnings(v.diagnostics));
}

TEST(FailoverTiming, FastIoFailOffLetsReplacementTimeoutRebootTheNodes) {
  FailoverInputs in;  // Debian's iscsid.conf: replacement_timeout 120
  in.multipath = resolve(
      "devices {\n device {\n  vendor SHAREDSK\n  product .\n  no_path_retry 3\n"
      "  fast_io_fail_tmo off\n }\n}\n");
  const FailoverVerdict v = check_failover(in);
  EXPECT_FALSE(v.fits);
  EXPECT_EQ(v.recovery_governed_by, "replacement_timeout");
  EXPECT_EQ(v.total_seconds, 140u);
  EXPECT_TRUE(has_code(v, "failover-too-slow"));
  EXPECT_TRUE(has_code(v, "fast-io-fail-off"));
}

TEST(FailoverTiming, FastIoFailNotBelowDevLossIsTurnedOff) {
  FailoverInputs in;
  in.iscsid.replacement_timeout = 20;
  in.multipath =
      resolve("defaults {\n fast_io_fail_tmo 30\n dev_loss_tmo 30\n no_path_retry 2\n}\n");
  const FailoverVerdict v = check_failover(in);
  EXPECT_EQ(v.recovery_governed_by, "replacement_timeout");
  EXPECT_EQ(v.terms[1].seconds, 20u);
  EXPECT_TRUE(has_code(v, "fast-io-fail-turned-off"));
  EXPECT_TRUE(v.fits);  // 10 + 20 + 10 = 40 <= 50
}

TEST(FailoverTiming, DebianDefaultsWithoutMultipathReboot) {
  FailoverInputs in;
  in.o2cb = load_o2cb_defaults(data("o2cb.debian")).values.timeouts;
  in.iscsid = load_iscsid_conf(data("iscsid.conf.debian")).values;
  const FailoverVerdict v = check_failover(in);  // no multipath: one gateway
  EXPECT_FALSE(v.fits);
  EXPECT_EQ(v.total_seconds, 10u + 120u + 10u);
  EXPECT_EQ(v.limit_seconds, 50u);
  EXPECT_TRUE(has_code(v, "failover-too-slow"));

  // docs/deployment.md's single-gateway values: replacement_timeout 20.
  in.iscsid = load_iscsid_conf(data("iscsid.conf.fast")).values;
  in.takeover_seconds = 1;  // a restart
  const FailoverVerdict fast = check_failover(in);
  EXPECT_TRUE(fast.fits);
  EXPECT_EQ(fast.total_seconds, 31u);
}

TEST(FailoverTiming, DebianDefaultsWithMultipathDefaultsDoNotQueue) {
  FailoverInputs in;
  in.o2cb = load_o2cb_defaults(data("o2cb.debian")).values.timeouts;
  in.iscsid = load_iscsid_conf(data("iscsid.conf.debian")).values;
  in.multipath = resolve("");  // multipathd's built-in values
  const FailoverVerdict v = check_failover(in);
  EXPECT_EQ(v.total_seconds, 25u);  // in time...
  EXPECT_FALSE(v.fits);             // ...but no_path_retry fail lets errors reach OCFS2
  EXPECT_TRUE(has_code(v, "no-queueing"));
  EXPECT_FALSE(has_code(v, "failover-too-slow"));
}

TEST(FailoverTiming, QueueingFlags) {
  FailoverInputs in;
  in.multipath = resolve("defaults {\n no_path_retry queue\n}\n");
  FailoverVerdict v = check_failover(in);
  EXPECT_TRUE(v.fits);  // a warning: hangs when every gateway is down
  EXPECT_TRUE(has_code(v, "queue-forever"));

  in.multipath = resolve("defaults {\n no_path_retry 1\n}\n");  // 5 s < 10 s takeover
  v = check_failover(in);
  EXPECT_TRUE(has_code(v, "queueing-shorter-than-takeover"));

  in.multipath = resolve("defaults {\n no_path_retry 12\n}\n");  // 15 + 60 > 50
  v = check_failover(in);
  EXPECT_TRUE(has_code(v, "queueing-outlasts-heartbeat"));
  EXPECT_EQ(v.queue_seconds, 60u);
}

TEST(FailoverTiming, NopOutDisabledCannotBeBounded) {
  FailoverInputs in;
  in.iscsid.noop_out_interval = 0;
  in.multipath = resolve("defaults {\n no_path_retry 3\n}\n");
  const FailoverVerdict v = check_failover(in);
  EXPECT_FALSE(v.fits);
  EXPECT_TRUE(has_code(v, "nop-out-disabled"));
}

TEST(FailoverTiming, LongerHeartbeatAndTakeover) {
  FailoverInputs in;
  in.o2cb.heartbeat_dead_threshold = 61;  // 120 s, what o2cb.sysconfig(5) suggests for multipath
  in.iscsid.replacement_timeout = 60;
  in.takeover_seconds = 40;
  in.multipath = resolve("defaults {\n no_path_retry 10\n fast_io_fail_tmo off\n}\n");
  const FailoverVerdict v = check_failover(in);
  EXPECT_EQ(v.total_seconds, 110u);
  EXPECT_EQ(v.limit_seconds, 110u);
  EXPECT_TRUE(v.fits);
  in.takeover_seconds = 41;
  EXPECT_FALSE(check_failover(in).fits);
}

TEST(MultipathStanza, ParsesAndPassesTheCheck) {
  StanzaOptions o;
  o.o2cb = load_o2cb_defaults(data("o2cb.debian")).values.timeouts;
  o.iscsid = load_iscsid_conf(data("iscsid.conf.debian")).values;
  const StanzaResult s = multipath_stanza(o);
  ASSERT_FALSE(s.text.empty());
  EXPECT_TRUE(s.diagnostics.empty());
  EXPECT_EQ(s.no_path_retry, 3u);  // (10 s takeover + one 5 s check) / 5 s

  MultipathConfResult r = parse_multipath_conf(s.text);
  ASSERT_TRUE(r.diagnostics.empty()) << r.diagnostics[0].to_string();
  ASSERT_EQ(r.conf.sections.size(), 1u);
  const MultipathSection& dev = r.conf.sections[0].subsections.at(0);
  EXPECT_EQ(dev.find("path_grouping_policy")->value, "group_by_prio");
  EXPECT_EQ(dev.find("prio")->value, "alua");
  EXPECT_EQ(dev.find("hardware_handler")->value, "1 alua");
  EXPECT_EQ(dev.find("path_checker")->value, "tur");
  EXPECT_EQ(dev.find("failback")->value, "manual");
  Diagnostics d;
  FailoverInputs in;
  in.o2cb = o.o2cb;
  in.iscsid = o.iscsid;
  in.multipath = resolve_multipath_settings(r.conf, kTargetVendor, kTargetProduct, d);
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(in.multipath->device_entry_found);
  const FailoverVerdict v = check_failover(in);
  EXPECT_TRUE(v.fits);
  EXPECT_TRUE(v.diagnostics.size() == 1 && v.diagnostics[0].severity == Severity::info);
  EXPECT_EQ(v.total_seconds, 25u);

  // A product with regular-expression characters still matches itself only.
  o.product = "DISK.(1)";
  const StanzaResult p = multipath_stanza(o);
  r = parse_multipath_conf(p.text);
  ASSERT_FALSE(has_errors(r.diagnostics));
  EXPECT_TRUE(resolve_multipath_settings(r.conf, kTargetVendor, "DISK.(1)", d).device_entry_found);
  EXPECT_FALSE(resolve_multipath_settings(r.conf, kTargetVendor, "DISKx(1)", d).device_entry_found);
}

TEST(MultipathStanza, RefusesWhatCannotFit) {
  StanzaOptions o;
  o.takeover_seconds = 45;  // 10 + 5 + 45 > 50
  StanzaResult s = multipath_stanza(o);
  EXPECT_TRUE(s.text.empty());
  ASSERT_EQ(s.diagnostics.size(), 1u);
  EXPECT_EQ(s.diagnostics[0].code, "failover-too-slow");

  o.takeover_seconds = 33;  // 48 fits, but 35 s left cannot hold 33 + a 5 s check: trims to 7
  s = multipath_stanza(o);
  EXPECT_EQ(s.no_path_retry, 7u);
}

}  // namespace
}  // namespace sharedisk::ocfs2
