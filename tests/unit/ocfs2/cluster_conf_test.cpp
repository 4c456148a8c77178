// cluster.conf parsing and formatting.
#include <gtest/gtest.h>

#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/conf_edit.h"
#include "test_data.h"

namespace sharedisk::ocfs2 {
namespace {

TEST(ClusterConfParse, DeploymentFileGivesTheModel) {
  ParseResult r = parse_cluster_conf(test::kDeploymentConf);
  ASSERT_TRUE(r.diagnostics.empty()) << r.diagnostics.front().to_string();
  ASSERT_EQ(r.conf.clusters.size(), 1u);
  const Cluster& c = r.conf.clusters[0];
  EXPECT_EQ(c.name, "ocfs2");
  EXPECT_EQ(c.heartbeat_mode, "local");
  EXPECT_EQ(c.node_count, 2u);
  EXPECT_EQ(c.lines.stanza, 1);
  EXPECT_EQ(c.lines.of("name"), 3);
  ASSERT_EQ(r.conf.nodes.size(), 2u);
  const Node& n = r.conf.nodes[1];
  EXPECT_EQ(n.name, "odoo2");
  EXPECT_EQ(n.number, 2u);
  EXPECT_EQ(n.ip_address, "192.168.55.112");
  EXPECT_EQ(n.ip_port, 7777u);
  EXPECT_EQ(n.cluster, "ocfs2");
  EXPECT_EQ(n.lines.stanza, 12);
  EXPECT_EQ(n.lines.of("ip_address"), 14);
}

TEST(ClusterConfParse, CommentsSpacesAndSeveralClusters) {
  const char* text =
      "# managed by hand\n"
      "cluster:\n"
      "  name = a\n"
      "# a comment in column 0 does not end the stanza\n"
      "    node_count = 1\n"
      "\theartbeat_mode = Global\n"
      "\n"
      "cluster:\n"
      "\tname = b\n"
      "\tnode_count = 0\n"
      "   \t \n"
      "heartbeat:\n"
      "\tregion = 0123456789ABCDEF0123456789ABCDEF\n"
      "\tcluster = a\n"
      "node:\n"
      "\tname = n0\n"
      "\tnumber = 0\n"
      "\tip_address = 10.0.0.1\n"
      "\tip_port = 7777\n"
      "\tcluster = a\n";
  ParseResult r = parse_cluster_conf(text);
  ASSERT_TRUE(r.diagnostics.empty()) << r.diagnostics.front().to_string();
  ASSERT_EQ(r.conf.clusters.size(), 2u);
  EXPECT_EQ(r.conf.clusters[0].node_count, 1u);
  EXPECT_EQ(r.conf.clusters[0].heartbeat_mode, "Global");
  EXPECT_EQ(r.conf.clusters[1].name, "b");
  ASSERT_EQ(r.conf.regions_of("a").size(), 1u);
  EXPECT_EQ(r.conf.nodes_of("a").size(), 1u);
  EXPECT_TRUE(r.conf.nodes_of("b").empty());
}

TEST(ClusterConfParse, ValueKeepsTrailingBlanksAndContinuesAfterBackslash) {
  ParseResult r = parse_cluster_conf("cluster:\n\tname = ocfs2  \n\tnode_count = 0\n");
  ASSERT_EQ(r.conf.clusters.size(), 1u);
  EXPECT_EQ(r.conf.clusters[0].name, "ocfs2  ");

  r = parse_cluster_conf("weird:\n\tkey = one\\\ntwo\n");
  EXPECT_EQ(r.diagnostics.size(), 1u);  // only the unknown-stanza warning
  EXPECT_EQ(r.diagnostics[0].code, "stanza-unknown");
}

TEST(ClusterConfParse, EmptyTextIsAnEmptyConfiguration) {
  ParseResult r = parse_cluster_conf("");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.conf.clusters.empty());
  EXPECT_EQ(format_cluster_conf(r.conf), "");
}

TEST(ClusterConfParse, DuplicateAttributeKeepsLastValueWithWarning) {
  ParseResult r = parse_cluster_conf("cluster:\n\tname = a\n\tname = b\n\tnode_count = 0\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].code, "attribute-duplicate");
  EXPECT_EQ(r.diagnostics[0].severity, Severity::warning);
  EXPECT_EQ(r.diagnostics[0].line, 3);
  EXPECT_EQ(r.conf.clusters[0].name, "b");
}

TEST(ClusterConfFormat, HandWrittenFileComesOutAsO2cbWritesIt) {
  ParseResult r = parse_cluster_conf(test::kDeploymentConf);
  EXPECT_EQ(format_cluster_conf(r.conf), test::kO2cbWrittenConf);
}

TEST(ClusterConfFormat, O2cbFileRoundTripsByteForByte) {
  ParseResult r = parse_cluster_conf(test::kO2cbWrittenConf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(format_cluster_conf(r.conf), test::kO2cbWrittenConf);
}

TEST(ClusterConfFormat, StanzaGroupOrderFollowsWhatO2cbAddsFirst) {
  ClusterConf conf;
  ASSERT_TRUE(add_cluster(conf, "a", "global").empty());
  ASSERT_TRUE(add_heartbeat_region(conf, "a", "0123456789ABCDEF0123456789ABCDEF").empty());
  ASSERT_TRUE(add_node(conf, {"a", "n1", "10.0.0.1", 1, 7777}).empty());
  std::string text = format_cluster_conf(conf);
  EXPECT_LT(text.find("heartbeat:"), text.find("node:"));

  ClusterConf other;
  ASSERT_TRUE(add_cluster(other, "b").empty());
  ASSERT_TRUE(add_node(other, {"b", "n1", "10.0.0.1", 1, 7777}).empty());
  ASSERT_TRUE(add_cluster(other, "a", "global").empty());
  ASSERT_TRUE(add_heartbeat_region(other, "a", "0123456789ABCDEF0123456789ABCDEF").empty());
  text = format_cluster_conf(other);
  EXPECT_LT(text.find("node:"), text.find("heartbeat:"));
  EXPECT_EQ(text.find("cluster:"), 0u);
}

TEST(ClusterConfFormat, NodesWithoutADefinedClusterAreDroppedAsO2cbDoes) {
  ParseResult r = parse_cluster_conf(
      "cluster:\n\tname = a\n\tnode_count = 0\n\nnode:\n\tname = x\n\tnumber = 1\n"
      "\tip_address = 10.0.0.1\n\tip_port = 7777\n\tcluster = b\n");
  EXPECT_EQ(format_cluster_conf(r.conf),
            "cluster:\n\tname = a\n\theartbeat_mode = local\n\tnode_count = 0\n\n");
}

TEST(ClusterConfEdit, AddAndRemoveNodeKeepNodeCountInStep) {
  ClusterConf conf;
  ASSERT_TRUE(add_cluster(conf, "ocfs2").empty());
  ASSERT_TRUE(add_node(conf, {"ocfs2", "odoo1", "192.168.55.111", 1, 7777}).empty());
  ASSERT_TRUE(add_node(conf, {"ocfs2", "odoo2", "192.168.55.112", 2, 7777}).empty());
  EXPECT_EQ(format_cluster_conf(conf), test::kO2cbWrittenConf);
  ASSERT_TRUE(remove_node(conf, "ocfs2", "odoo1").empty());
  EXPECT_EQ(conf.find_cluster("ocfs2")->node_count, 1u);
  EXPECT_FALSE(remove_node(conf, "ocfs2", "odoo1").empty());
}

TEST(ClusterConfEdit, RejectedEditLeavesConfigurationUnchanged) {
  ClusterConf conf;
  ASSERT_TRUE(add_cluster(conf, "ocfs2").empty());
  ASSERT_TRUE(add_node(conf, {"ocfs2", "odoo1", "192.168.55.111", 1, 7777}).empty());
  const std::string before = format_cluster_conf(conf);
  Diagnostics d = add_node(conf, {"ocfs2", "odoo2", "192.168.55.111", 1, 0});
  EXPECT_EQ(d.size(), 3u);  // number taken, address taken, port 0
  EXPECT_EQ(format_cluster_conf(conf), before);
  EXPECT_FALSE(add_cluster(conf, "ocfs2").empty());
  EXPECT_FALSE(add_cluster(conf, "bad_name").empty());
  EXPECT_FALSE(add_node(conf, {"nope", "x", "10.0.0.9", std::nullopt, 7777}).empty());
}

TEST(ClusterConfEdit, NodeNumberDefaultsToLowestFree) {
  ClusterConf conf;
  ASSERT_TRUE(add_cluster(conf, "c").empty());
  ASSERT_TRUE(add_node(conf, {"c", "a", "10.0.0.1", 0, 7777}).empty());
  ASSERT_TRUE(add_node(conf, {"c", "b", "10.0.0.2", 2, 7777}).empty());
  ASSERT_TRUE(add_node(conf, {"c", "d", "10.0.0.3", std::nullopt, 7777}).empty());
  EXPECT_EQ(conf.find_node("c", "d")->number, 1u);
}

}  // namespace
}  // namespace sharedisk::ocfs2
