// A table of broken cluster.conf files, each with the problem it must be reported as: the
// code, the line and the severity. Each case edits the valid deployment file.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/validate.h"
#include "test_data.h"

namespace sharedisk::ocfs2 {
namespace {

struct BrokenCase {
  const char* name;
  const char* find;     // text of the valid file to replace ("" = append)
  const char* replace;  // replacement
  const char* code;     // expected diagnostic
  int line;
  Severity severity = Severity::error;
  const char* local_node = nullptr;  // runs the local-node check as this host
};

std::string edited(const BrokenCase& c) {
  std::string text = test::kDeploymentConf;
  if (std::string(c.find).empty()) return text + c.replace;
  const auto pos = text.find(c.find);
  EXPECT_NE(pos, std::string::npos) << c.name;
  text.replace(pos, std::string(c.find).size(), c.replace);
  return text;
}

Diagnostics all_diagnostics(const std::string& text, const char* local_node) {
  ParseResult p = parse_cluster_conf(text);
  ValidateOptions o;
  o.check_local_node = local_node != nullptr;
  if (local_node) o.local_node = local_node;
  Diagnostics d = p.diagnostics;
  for (auto& x : validate_cluster_conf(p.conf, o)) d.push_back(x);
  return d;
}

std::string dump(const Diagnostics& d) {
  std::string s;
  for (const auto& x : d) s += "  " + x.to_string() + "\n";
  return s;
}

class BrokenConf : public testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenConf, ReportsTheExpectedProblem) {
  const BrokenCase& c = GetParam();
  const Diagnostics d = all_diagnostics(edited(c), c.local_node);
  bool found = false;
  for (const auto& x : d)
    found = found || (x.code == c.code && x.line == c.line && x.severity == c.severity);
  EXPECT_TRUE(found) << "expected " << c.code << " on line " << c.line << ", got:\n" << dump(d);
  for (const auto& x : d) EXPECT_FALSE(x.message.empty());
}

const BrokenCase kCases[] = {
    {"attribute_not_indented", "\tname = odoo2", "name = odoo2", "attribute-not-indented", 16},
    {"blank_line_inside_stanza", "\tnumber = 2\n", "\n\tnumber = 2\n", "attribute-outside-stanza",
     16},
    {"space_before_colon", "node:\n\tip_port = 7777\n\tip_address = 192.168.55.112",
     "node :\n\tip_port = 7777\n\tip_address = 192.168.55.112", "stanza-header-invalid", 12},
    {"text_after_colon", "cluster:\n", "cluster: ocfs2\n", "stanza-header-trailing", 1},
    {"indented_comment", "\tnumber = 2\n", "\tnumber = 2\n\t# second node\n", "comment-indented",
     16},
    {"windows_line_endings", "cluster:\n", "cluster:\r\n", "line-ending-crlf", 1},
    {"missing_equals", "\tname = odoo2", "\tname odoo2", "attribute-missing-equals", 16},
    {"bad_first_character", "", "[global]\n", "line-invalid-start", 18},
    {"unknown_stanza", "", "\nnodes:\n\tname = x\n", "stanza-unknown", 19, Severity::warning},
    {"unknown_attribute", "\tnumber = 2\n", "\tnumber = 2\n\tweight = 3\n", "attribute-unknown", 16,
     Severity::warning},
    {"missing_ip_address", "\tip_address = 192.168.55.112\n", "", "attribute-missing", 12},
    {"number_not_numeric", "number = 2", "number = two", "attribute-not-a-number", 15},
    {"number_trailing_blank", "number = 2", "number = 2 ", "attribute-not-a-number", 15},
    {"node_count_too_high", "node_count = 2", "node_count = 3", "node-count-mismatch", 2},
    {"node_count_too_low", "node_count = 2", "node_count = 1", "node-count-mismatch", 2},
    {"node_number_duplicate", "number = 2", "number = 1", "node-number-duplicate", 15},
    {"node_number_out_of_range", "number = 2", "number = 255", "node-number-out-of-range", 15},
    {"node_name_duplicate", "name = odoo2", "name = odoo1", "node-name-duplicate", 16},
    {"node_name_with_space", "name = odoo2", "name = odoo 2", "node-name-invalid", 16},
    {"node_name_too_long", "name = odoo2",
     "name = odoo2-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     "node-name-invalid", 16},
    {"address_invalid", "192.168.55.112", "192.168.55.300", "node-address-invalid", 14},
    {"address_hostname", "192.168.55.112", "odoo2.lan", "node-address-invalid", 14},
    {"address_zero", "192.168.55.112", "0.0.0.0", "node-address-invalid", 14},
    {"address_loopback", "192.168.55.112", "127.0.0.1", "node-address-loopback", 14,
     Severity::warning},
    {"endpoint_duplicate", "192.168.55.112", "192.168.55.111", "node-endpoint-duplicate", 14},
    {"address_duplicate_other_port", "\tip_port = 7777\n\tip_address = 192.168.55.112",
     "\tip_port = 7778\n\tip_address = 192.168.55.111", "node-address-duplicate", 14},
    {"port_zero", "\tip_port = 7777\n\tip_address = 192.168.55.112",
     "\tip_port = 0\n\tip_address = 192.168.55.112", "node-port-out-of-range", 13},
    {"port_too_high", "\tip_port = 7777\n\tip_address = 192.168.55.112",
     "\tip_port = 65535\n\tip_address = 192.168.55.112", "node-port-out-of-range", 13},
    {"node_cluster_undefined", "\tname = odoo2\n\tcluster = ocfs2",
     "\tname = odoo2\n\tcluster = ocfs", "node-cluster-undefined", 17},
    {"node_cluster_trailing_blank", "\tname = odoo2\n\tcluster = ocfs2",
     "\tname = odoo2\n\tcluster = ocfs2 ", "node-cluster-undefined", 17},
    {"cluster_name_too_long", "name = ocfs2", "name = odooclusterprod19", "cluster-name-invalid",
     3},
    {"cluster_name_dash", "name = ocfs2", "name = odoo-cl", "cluster-name-invalid", 3},
    {"cluster_name_missing", "\tname = ocfs2\n", "", "attribute-missing", 1},
    {"cluster_duplicate", "", "\ncluster:\n\tname = ocfs2\n\tnode_count = 0\n", "cluster-duplicate",
     20},
    {"heartbeat_mode_invalid", "\tname = ocfs2\n", "\tname = ocfs2\n\theartbeat_mode = disk\n",
     "heartbeat-mode-invalid", 4},
    {"global_without_regions", "\tname = ocfs2\n", "\tname = ocfs2\n\theartbeat_mode = global\n",
     "heartbeat-global-without-regions", 4},
    {"region_not_uuid", "", "\nheartbeat:\n\tregion = sdb1\n\tcluster = ocfs2\n",
     "heartbeat-region-invalid", 20},
    {"region_lowercase", "",
     "\nheartbeat:\n\tregion = 0123456789abcdef0123456789abcdef\n\tcluster = ocfs2\n",
     "heartbeat-region-invalid", 20},
    {"region_cluster_undefined", "",
     "\nheartbeat:\n\tregion = 0123456789ABCDEF0123456789ABCDEF\n\tcluster = other\n",
     "heartbeat-cluster-undefined", 21},
    {"regions_with_local_heartbeat", "",
     "\nheartbeat:\n\tregion = 0123456789ABCDEF0123456789ABCDEF\n\tcluster = ocfs2\n",
     "heartbeat-regions-unused", 19, Severity::warning},
    {"host_not_in_cluster", "", "", "local-node-missing", 1, Severity::error, "lb2"},
    {"host_matches_two_nodes", "name = odoo2", "name = ODOO1", "local-node-ambiguous", 16,
     Severity::error, "odoo1.example.com"},
};

INSTANTIATE_TEST_SUITE_P(Table, BrokenConf, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<BrokenCase>& i) {
                           return std::string(i.param.name);
                         });

TEST(ValidConf, DeploymentFileHasNoProblemOnEitherNode) {
  for (const char* host : {"odoo1", "odoo2", "ODOO2.example.com"}) {
    const Diagnostics d = all_diagnostics(test::kDeploymentConf, host);
    EXPECT_TRUE(d.empty()) << host << "\n" << dump(d);
  }
}

TEST(ValidConf, EveryProblemIsReportedAtOnce) {
  std::string text = test::kDeploymentConf;
  text.replace(text.find("node_count = 2"), 14, "node_count = 5");
  text.replace(text.find("number = 2"), 10, "number = 1");
  text.replace(text.find("192.168.55.112"), 14, "192.168.55.999");
  const Diagnostics d = all_diagnostics(text, nullptr);
  EXPECT_EQ(d.size(), 3u) << dump(d);
  EXPECT_EQ(d[0].line, 2);  // sorted by line
  EXPECT_EQ(d[1].line, 14);
  EXPECT_EQ(d[2].line, 15);
}

TEST(ValidConf, HostMatchingFollowsO2cb) {
  EXPECT_TRUE(node_matches_host("odoo1", "odoo1"));
  EXPECT_TRUE(node_matches_host("odoo1", "ODOO1.lan"));
  EXPECT_FALSE(node_matches_host("odoo1", "odoo10"));
  EXPECT_FALSE(node_matches_host("odoo1.lan", "odoo1"));
  EXPECT_FALSE(node_matches_host("", "odoo1"));
}

}  // namespace
}  // namespace sharedisk::ocfs2
