// iscsid.conf parsing: open-iscsi's defaults, comments, the last setting winning, bad lines.
#include <gtest/gtest.h>

#include "sharedisk/ocfs2/iscsid_conf.h"

namespace sharedisk::ocfs2 {
namespace {

TEST(IscsidConf, EmptyFileGivesOpenIscsiDefaults) {
  IscsidConfResult r = parse_iscsid_conf("# nothing set\n\n");
  EXPECT_TRUE(r.diagnostics.empty());
  EXPECT_EQ(r.values.replacement_timeout, 120u);
  EXPECT_EQ(r.values.noop_out_interval, 5u);
  EXPECT_EQ(r.values.noop_out_timeout, 5u);
  EXPECT_EQ(r.values.replacement_timeout_line, 0);
}

TEST(IscsidConf, ReadsTheThreeTimeoutsWithTheirLines) {
  IscsidConfResult r = parse_iscsid_conf(
      "#node.session.timeo.replacement_timeout = 5\n"    // 1: a comment
      "node.session.timeo.replacement_timeout = 120\n"   // 2
      "  node.session.timeo.replacement_timeout=15  \n"  // 3: last one wins
      "node.conn[0].timeo.noop_out_interval = 2\n"       // 4
      "node.conn[1].timeo.noop_out_interval = 9\n"       // 5: another connection
      "node.conn[0].timeo.noop_out_timeout =3\n"         // 6
      "node.session.cmds_max = 128\n");                  // 7: not ours
  EXPECT_TRUE(r.diagnostics.empty());
  EXPECT_EQ(r.values.replacement_timeout, 15u);
  EXPECT_EQ(r.values.replacement_timeout_line, 3);
  EXPECT_EQ(r.values.noop_out_interval, 2u);
  EXPECT_EQ(r.values.noop_out_interval_line, 4);
  EXPECT_EQ(r.values.noop_out_timeout, 3u);
  EXPECT_EQ(r.values.noop_out_timeout_line, 6);
}

TEST(IscsidConf, BadLinesCarryTheirLine) {
  IscsidConfResult r = parse_iscsid_conf(
      "node.startup = manual\n"
      "node.session.timeo.replacement_timeout\n"        // 2: no value, warning
      "node.session.timeo.replacement_timeout = 20s\n"  // 3: error
      "node.conn[0].timeo.noop_out_timeout = =\n");     // 4: no value either
  ASSERT_EQ(r.diagnostics.size(), 3u);
  EXPECT_EQ(r.diagnostics[0].line, 2);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::warning);
  EXPECT_EQ(r.diagnostics[1].line, 3);
  EXPECT_EQ(r.diagnostics[1].severity, Severity::error);
  EXPECT_EQ(r.diagnostics[1].code, "iscsid-not-a-number");
  EXPECT_NE(r.diagnostics[1].message.find(
                "'20s' is not a whole number of seconds (iscsid would read 20)"),
            std::string::npos)
      << r.diagnostics[1].message;
  EXPECT_EQ(r.diagnostics[2].line, 4);
  EXPECT_EQ(r.values.replacement_timeout, 120u);  // the bad value is not taken
}

TEST(IscsidConf, NameAndValueWithoutEquals) {
  // idbm splits at the first blank or '=', so this sets the value as well.
  IscsidConfResult r = parse_iscsid_conf("node.session.timeo.replacement_timeout 15\n");
  EXPECT_TRUE(r.diagnostics.empty());
  EXPECT_EQ(r.values.replacement_timeout, 15u);
}

TEST(IscsidConf, DebianFile) {
  IscsidConfResult r =
      load_iscsid_conf(std::string(SHAREDISK_SOURCE_DIR) + "/tests/ocfs2/data/iscsid.conf.debian");
  ASSERT_TRUE(r.found);
  EXPECT_TRUE(r.diagnostics.empty());
  EXPECT_EQ(r.values.replacement_timeout, 120u);
  EXPECT_EQ(r.values.replacement_timeout_line, 5);
  EXPECT_EQ(r.values.noop_out_interval_line, 8);
}

TEST(IscsidConf, MissingFileGivesDefaults) {
  IscsidConfResult r = load_iscsid_conf("/nonexistent/iscsid.conf");
  EXPECT_FALSE(r.found);
  EXPECT_EQ(r.values.replacement_timeout, 120u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::info);
}

}  // namespace
}  // namespace sharedisk::ocfs2
