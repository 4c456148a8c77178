// /etc/default/o2cb parsing and timeout rules.
#include <gtest/gtest.h>

#include "sharedisk/ocfs2/o2cb_defaults.h"

namespace sharedisk::ocfs2 {
namespace {

TEST(O2cbDefaults, ReadsTheDebianFile) {
  O2cbDefaultsResult r = parse_o2cb_defaults(
      "# comment\nO2CB_ENABLED=true\nO2CB_BOOTCLUSTER=ocfs2\nO2CB_HEARTBEAT_THRESHOLD=61\n"
      "O2CB_IDLE_TIMEOUT_MS=\"60000\"\nexport O2CB_KEEPALIVE_DELAY_MS=4000\n"
      "O2CB_RECONNECT_DELAY_MS=\n");
  EXPECT_TRUE(r.diagnostics.empty());
  EXPECT_TRUE(r.values.enabled);
  EXPECT_EQ(r.values.boot_cluster, "ocfs2");
  EXPECT_EQ(r.values.timeouts.heartbeat_dead_threshold, 61u);
  EXPECT_EQ(r.values.timeouts.idle_timeout_ms, 60000u);
  EXPECT_EQ(r.values.timeouts.keepalive_delay_ms, 4000u);
  EXPECT_FALSE(r.values.timeouts.reconnect_delay_ms.has_value());
  EXPECT_TRUE(validate_timeouts(r.values.timeouts).empty());
}

TEST(O2cbDefaults, BadValuesCarryTheirLine) {
  O2cbDefaultsResult r = parse_o2cb_defaults("\nO2CB_IDLE_TIMEOUT_MS=30s\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 2);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::error);
}

TEST(O2cbDefaults, TimeoutRules) {
  O2cbTimeouts t = O2cbTimeouts::defaults();
  EXPECT_TRUE(validate_timeouts(t).empty());
  t.keepalive_delay_ms = 30000;
  EXPECT_EQ(validate_timeouts(t).size(), 1u);
  t = O2cbTimeouts::defaults();
  t.heartbeat_dead_threshold = 3;
  t.idle_timeout_ms = 1000;  // also below the keepalive delay
  EXPECT_EQ(validate_timeouts(t).size(), 3u);
}

TEST(O2cbDefaults, MissingFileGivesDefaults) {
  O2cbDefaultsResult r = load_o2cb_defaults("/nonexistent/o2cb");
  EXPECT_EQ(r.values.timeouts.idle_timeout_ms, 30000u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::info);
}

}  // namespace
}  // namespace sharedisk::ocfs2
