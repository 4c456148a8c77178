// check_iscsi_name(): RFC 3720 section 3.2.6 naming rules.
#include <gtest/gtest.h>

#include "config/config.h"

namespace sharedisk::config {
namespace {

TEST(IscsiName, AcceptsValidNames) {
  const char* good[] = {
      "iqn.2019-02.lb2:odcfs2",
      "iqn.1993-08.org.debian:01:8a3b2c1d4e5f",
      "iqn.2003-01.org.linux-iscsi.host.x8664:sn.0123456789ab",
      "iqn.2001-04.com.example",  // no identifier after the authority
      "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309",
      "eui.02004567A425678D",  // RFC 3720's own example, uppercase hex
      "eui.0123456789abcdef",
      "naa.52004567BA64678D",
      "naa.62004567BA64678D0123456789ABCDEF",
  };
  for (const char* name : good) EXPECT_EQ(check_iscsi_name(name), "") << name;
}

TEST(IscsiName, AcceptsExactly223Bytes) {
  std::string name = "iqn.2019-02.lb2:";
  name += std::string(223 - name.size(), 'x');
  EXPECT_EQ(check_iscsi_name(name), "");
  EXPECT_NE(check_iscsi_name(name + "x").find("223"), std::string::npos);
}

TEST(IscsiName, RejectsBadNamesWithAReason) {
  struct Case {
    const char* name;
    const char* reason;
  } bad[] = {
      {"", "empty"},
      {"iqn.2019-02.LB2:odcfs2", "lowercase"},
      {"IQN.2019-02.lb2:odcfs2", "prefix must be lowercase"},
      {"iqn.2019-2.lb2:x", "iqn.yyyy-mm"},
      {"iqn.19-02.lb2:x", "iqn.yyyy-mm"},
      {"iqn.2019-13.lb2:x", "month 13"},
      {"iqn.2019-00.lb2:x", "month 00"},
      {"iqn.2019-02.:x", "naming authority"},
      {"iqn.2019-02.lb2..x:y", "empty label"},
      {"iqn.2019-02.lb2:", "nothing after ':'"},
      {"iqn.2019-02.lb2:odc fs2", "0x20 at offset 19"},  // invisible bytes shown in hex
      {"iqn.2019-02.lb2:odc_fs2", "'_' at offset 19"},
      {"iqn.2019-02.lb2:caf\xc3\xa9", "0xc3"},
      {"eui.0123456789abcde", "exactly 16"},
      {"eui.0123456789abcdeg", "hex digits only"},
      {"naa.0123456789abcdef01", "16 or 32"},
      {"lb2:odcfs2", "must start with"},
      {"iqn", "must start with"},
  };
  for (const auto& c : bad) {
    std::string got = check_iscsi_name(c.name);
    EXPECT_NE(got, "") << c.name;
    EXPECT_NE(got.find(c.reason), std::string::npos) << c.name << " -> " << got;
  }
}

}  // namespace
}  // namespace sharedisk::config
