// multipath.conf parsing (multipath.conf(5) syntax) and the settings multipathd picks for
// the target's vendor and product.
#include <gtest/gtest.h>

#include "sharedisk/ocfs2/failover_timing.h"
#include "sharedisk/ocfs2/multipath_conf.h"

namespace sharedisk::ocfs2 {
namespace {

MultipathSettings settings(const MultipathConfResult& r, Diagnostics* d = nullptr) {
  Diagnostics local;
  auto m = resolve_multipath_settings(r.conf, kTargetVendor, kTargetProduct, d ? *d : local);
  return m;
}

TEST(MultipathConf, NoFileMeansMultipathdDefaults) {
  MultipathConfResult r = load_multipath_conf("/nonexistent/multipath.conf");
  EXPECT_FALSE(r.found);
  const MultipathSettings m = settings(r);
  EXPECT_EQ(m.polling_interval, 5u);
  EXPECT_EQ(m.no_path_retry, NoPathRetry::fail);
  EXPECT_EQ(m.fast_io_fail, FastIoFail::seconds);
  EXPECT_EQ(m.fast_io_fail_tmo, 5u);
  EXPECT_FALSE(m.dev_loss_tmo.has_value());
  EXPECT_FALSE(m.device_entry_found);
  EXPECT_EQ(m.no_path_retry_from.describe(), "multipathd default");
}

TEST(MultipathConf, CommentsQuotesAndBraces) {
  MultipathConfResult r = parse_multipath_conf(
      "# comment\n"                          // 1
      "defaults {   ! another comment\n"     // 2
      "\tpolling_interval 3 # trailing\n"    // 3
      "\tno_path_retry \"4\"\n"              // 4
      "}\n"                                  // 5
      "blacklist {\n"                        // 6
      "\tdevnode \"^(ram|loop)[0-9]*#!\"\n"  // 7: # and ! inside quotes
      "\tdevice {\n"                         // 8
      "\t\tvendor \"2.5\"\" SSD\"\n"         // 9: "" is a quote
      "\t\tproduct X\n"                      // 10
      "\t}\n"                                // 11
      "}\n");                                // 12
  EXPECT_TRUE(r.diagnostics.empty()) << r.diagnostics[0].to_string();
  ASSERT_EQ(r.conf.sections.size(), 2u);
  EXPECT_EQ(r.conf.sections[1].find("devnode")->value, "^(ram|loop)[0-9]*#!");
  EXPECT_EQ(r.conf.sections[1].subsections[0].find("vendor")->value, "2.5\" SSD");
  const MultipathSettings m = settings(r);
  EXPECT_EQ(m.polling_interval, 3u);
  EXPECT_EQ(m.polling_interval_from.line, 3);
  EXPECT_EQ(m.no_path_retry, NoPathRetry::count);
  EXPECT_EQ(m.no_path_retry_count, 4u);
  EXPECT_EQ(m.no_path_retry_from.describe(), "multipath.conf line 4 (defaults)");
}

TEST(MultipathConf, PrecedenceOverridesDeviceDefaults) {
  MultipathConfResult r = parse_multipath_conf(
      "defaults {\n"               // 1
      "\tno_path_retry queue\n"    // 2
      "\tfast_io_fail_tmo 20\n"    // 3
      "\tdev_loss_tmo 30\n"        // 4
      "}\n"                        // 5
      "devices {\n"                // 6
      "\tdevice {\n"               // 7
      "\t\tvendor \"SHAREDSK\"\n"  // 8
      "\t\tproduct \".*\"\n"       // 9
      "\t\tno_path_retry 2\n"      // 10
      "\t\tfast_io_fail_tmo 7\n"   // 11
      "\t}\n"                      // 12
      "\tdevice {\n"               // 13: later entry wins
      "\t\tvendor \"^SHARE\"\n"    // 14
      "\t\tproduct \"VIRTUAL\"\n"  // 15
      "\t\tno_path_retry 6\n"      // 16
      "\t}\n"                      // 17
      "\tdevice {\n"               // 18: does not match
      "\t\tvendor \"LIO-ORG\"\n"   // 19
      "\t\tproduct \".*\"\n"       // 20
      "\t\tno_path_retry fail\n"   // 21
      "\t}\n"                      // 22
      "}\n"                        // 23
      "overrides {\n"              // 24
      "\tfast_io_fail_tmo off\n"   // 25
      "}\n");                      // 26
  ASSERT_TRUE(r.diagnostics.empty());
  const MultipathSettings m = settings(r);
  EXPECT_TRUE(m.device_entry_found);
  EXPECT_EQ(m.device_entry_line, 13);
  EXPECT_EQ(m.no_path_retry, NoPathRetry::count);
  EXPECT_EQ(m.no_path_retry_count, 6u);
  EXPECT_EQ(m.no_path_retry_from.line, 16);
  EXPECT_EQ(m.fast_io_fail, FastIoFail::off);
  EXPECT_EQ(m.fast_io_fail_from.section, "overrides");
  EXPECT_EQ(m.dev_loss_tmo, 30u);
  EXPECT_EQ(m.dev_loss_from.line, 4);
}

TEST(MultipathConf, RepeatedSectionsMergeKeyByKey) {
  MultipathConfResult r = parse_multipath_conf(
      "defaults {\n\tpolling_interval 2\n\tno_path_retry 4\n}\n"  // lines 1-4
      "defaults {\n\tpolling_interval 3\n}\n");                   // lines 5-7
  ASSERT_TRUE(r.diagnostics.empty());
  const MultipathSettings m = settings(r);
  EXPECT_EQ(m.polling_interval, 3u);
  EXPECT_EQ(m.polling_interval_from.line, 6);
  EXPECT_EQ(m.no_path_retry_count, 4u);
  EXPECT_EQ(m.no_path_retry_from.line, 3);
}

TEST(MultipathConf, QueueIfNoPathFeatureQueuesForever) {
  MultipathConfResult r =
      parse_multipath_conf("defaults {\n\tfeatures \"1 queue_if_no_path\"\n}\n");
  ASSERT_TRUE(r.diagnostics.empty());
  EXPECT_EQ(settings(r).no_path_retry, NoPathRetry::queue);
  // no_path_retry wins over the feature.
  r = parse_multipath_conf("defaults {\n\tfeatures \"1 queue_if_no_path\"\n\tno_path_retry 0\n}\n");
  EXPECT_EQ(settings(r).no_path_retry, NoPathRetry::fail);
}

TEST(MultipathConf, SyntaxErrorsCarryTheirLine) {
  MultipathConfResult r = parse_multipath_conf(
      "defaults\n"                     // 1: brace not on the line
      "{\n"                            // 2: a line cannot start with {
      "}\n"                            // 3: nothing open
      "devices {\n"                    // 4: never closed
      "\tdevice {\n"                   // 5
      "\t\tvendor \"SHAREDSK\n"        // 6: unterminated quote
      "\t\tno_path_retry sometimes\n"  // 7: bad value
      "\t\tfast_io_fail_tmo\n"         // 8: no value
      "\t} extra\n"                    // 9: } not alone
      "\tpolling_interval 0\n");       // 10: bad value
  std::vector<int> lines;
  for (const auto& d : r.diagnostics)
    if (d.severity == Severity::error) lines.push_back(d.line);
  EXPECT_EQ(lines, (std::vector<int>{1, 2, 3, 6, 7, 8, 9, 10, 4})) << [&] {
    std::string all;
    for (const auto& d : r.diagnostics) all += d.to_string("multipath.conf") + "\n";
    return all;
  }();
}

TEST(MultipathConf, WarningsForWhatMultipathdIgnores) {
  Diagnostics d;
  MultipathConfResult r = parse_multipath_conf(
      "frobs {\n}\n"                                        // 1: unknown section
      "devices {\n"                                         // 3
      "\tdevice {\n\t\tvendor SHAREDSK\n\t}\n"              // 4: no product
      "\tdevice {\n\t\tvendor \"(\"\n\t\tproduct x\n\t}\n"  // 7: bad regex on line 8
      "\tpolling_interval 2\n"                              // 11: only in defaults
      "}\n");
  ASSERT_EQ(r.diagnostics.size(), 2u);
  EXPECT_EQ(r.diagnostics[0].line, 1);
  EXPECT_EQ(r.diagnostics[0].code, "multipath-unknown-section");
  EXPECT_EQ(r.diagnostics[1].line, 11);
  EXPECT_EQ(r.diagnostics[1].code, "multipath-misplaced");
  settings(r, &d);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].line, 4);
  EXPECT_EQ(d[0].severity, Severity::warning);
  EXPECT_EQ(d[1].line, 8);
  EXPECT_EQ(d[1].code, "multipath-bad-regex");
  EXPECT_EQ(d[1].severity, Severity::error);
}

}  // namespace
}  // namespace sharedisk::ocfs2
