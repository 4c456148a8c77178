// cluster.conf against ocfs2-tools' own o2cb: files o2cb writes parse and format back to
// identical bytes, and files we write are read back by o2cb with the same content.
#include <gtest/gtest.h>

#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/conf_edit.h"
#include "sharedisk/ocfs2/validate.h"
#include "test_support.h"

namespace sharedisk::ocfs2 {
namespace {

using test::run;
using test::slurp;

class O2cbOracle : public testing::Test {
 protected:
  void SetUp() override {
    o2cb_ = test::find_tool("o2cb");
    if (o2cb_.empty()) GTEST_SKIP() << "o2cb (ocfs2-tools) is not installed";
    file_ = dir_ / "cluster.conf";
  }

  // Runs one o2cb edit on the test file and checks our round trip of the result.
  void o2cb(const std::string& args) {
    const auto r = run(o2cb_ + " --config-file=" + file_ + " " + args, true);
    ASSERT_EQ(r.exit_code, 0) << "o2cb " << args << ": " << r.output;
    const std::string written = slurp(file_);
    ParseResult p = parse_cluster_conf(written);
    ASSERT_TRUE(p.diagnostics.empty())
        << "after o2cb " << args << ": " << p.diagnostics.front().to_string();
    EXPECT_EQ(format_cluster_conf(p.conf), written) << "after o2cb " << args;
  }

  std::string o2cb_;
  test::TempDir dir_;
  std::string file_;
};

TEST_F(O2cbOracle, FilesWrittenByO2cbRoundTripByteForByte) {
  o2cb("add-cluster ocfs2");
  o2cb("add-node ocfs2 odoo1 --ip 192.168.55.111 --port 7777 --number 1");
  o2cb("add-node ocfs2 odoo2 --ip 192.168.55.112 --port 7777 --number 2");
  o2cb("add-cluster backup");
  o2cb("add-node backup b5 --ip 10.0.0.5 --number 5");
  o2cb("add-node backup b0 --ip 10.0.0.6 --port 7000");
  o2cb("add-heartbeat backup 0123456789ABCDEF0123456789ABCDEF");
  o2cb("heartbeat-mode backup global");
  o2cb("remove-node ocfs2 odoo1");
  o2cb("remove-cluster ocfs2");  // heartbeat stanzas now come before node stanzas
  o2cb("add-cluster later");
  o2cb("add-node later l1 --ip 10.1.0.1 --number 254");
}

TEST_F(O2cbOracle, O2cbReadsWhatWeWriteWithTheSameNodes) {
  ClusterConf conf;
  ASSERT_TRUE(add_cluster(conf, "ocfs2").empty());
  ASSERT_TRUE(add_node(conf, {"ocfs2", "odoo1", "192.168.55.111", 1, 7777}).empty());
  ASSERT_TRUE(add_node(conf, {"ocfs2", "odoo2", "192.168.55.112", 2, 7777}).empty());
  ASSERT_TRUE(add_cluster(conf, "gcl", "global").empty());
  ASSERT_TRUE(add_heartbeat_region(conf, "gcl", "5A16B65EB33B4613973D62036FA52E9F").empty());
  ASSERT_TRUE(add_node(conf, {"gcl", "g7", "10.9.9.7", 7, 7100}).empty());
  ASSERT_EQ(write_cluster_conf(file_, conf), "");

  const auto clusters = run(o2cb_ + " --config-file=" + file_ + " list-clusters");
  ASSERT_EQ(clusters.exit_code, 0);
  EXPECT_EQ(clusters.output, "ocfs2\ngcl\n");

  for (const auto& c : conf.clusters) {
    // list-cluster prints the cluster's stanzas in cluster.conf syntax.
    const auto listed = run(o2cb_ + " --config-file=" + file_ + " list-cluster " + c.name);
    ASSERT_EQ(listed.exit_code, 0) << listed.output;
    ParseResult p = parse_cluster_conf(listed.output);
    ASSERT_TRUE(p.ok()) << p.diagnostics.front().to_string();
    ASSERT_EQ(p.conf.clusters.size(), 1u);
    EXPECT_EQ(p.conf.clusters[0].name, c.name);
    EXPECT_EQ(p.conf.clusters[0].heartbeat_mode, c.heartbeat_mode);
    EXPECT_EQ(p.conf.clusters[0].node_count, c.node_count);
    const auto ours = conf.nodes_of(c.name);
    const auto theirs = p.conf.nodes_of(c.name);
    ASSERT_EQ(theirs.size(), ours.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const Node* mine = conf.find_node(c.name, theirs[i]->name);
      ASSERT_NE(mine, nullptr) << theirs[i]->name;
      EXPECT_EQ(theirs[i]->number, mine->number);
      EXPECT_EQ(theirs[i]->ip_address, mine->ip_address);
      EXPECT_EQ(theirs[i]->ip_port, mine->ip_port);
    }
    EXPECT_EQ(p.conf.regions_of(c.name).size(), conf.regions_of(c.name).size());
  }
}

TEST_F(O2cbOracle, SameEditGivesTheSameBytesAsO2cb) {
  // Start from a hand-written file, apply one edit with o2cb and the same edit with our
  // library: the two files must be identical.
  const std::string hand =
      "# odoo cluster\ncluster:\n\tnode_count = 2\n\tname = ocfs2\n\n"
      "node:\n\tip_port = 7777\n\tip_address = 192.168.55.111\n\tnumber = 1\n\tname = odoo1\n"
      "\tcluster = ocfs2\n\nnode:\n    ip_port = 7777\n    ip_address = 192.168.55.112\n"
      "    number = 2\n    name = odoo2\n    cluster = ocfs2\n";
  test::spit(file_, hand);
  const auto r = run(o2cb_ + " --config-file=" + file_ +
                         " add-node ocfs2 odoo3 --ip 192.168.55.113 --port 7777 --number 3",
                     true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string by_o2cb = slurp(file_);

  ParseResult p = parse_cluster_conf(hand);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(add_node(p.conf, {"ocfs2", "odoo3", "192.168.55.113", 3, 7777}).empty());
  EXPECT_EQ(format_cluster_conf(p.conf), by_o2cb);
}

TEST_F(O2cbOracle, FilesO2cbRejectsAreErrorsForUs) {
  // Each of these makes o2cb fail to load the file; we must report an error too.
  const char* broken[] = {
      "cluster:\n\tname = ocfs2\n\n\tnode_count = 0\n",          // attribute after blank line
      "cluster :\n\tname = ocfs2\n\tnode_count = 0\n",           // space before ':'
      "cluster:\n\tname = ocfs2\n\tnode_count = zero\n",         // not a number
      "cluster:\n\tname = ocfs2\n\tnode_count = 0\n\t# note\n",  // indented comment
      "cluster:\nname = ocfs2\n\tnode_count = 0\n",              // attribute not indented
      "cluster:\n\tname = ocfs2\n\tnode_count = 1\n\nnode:\n\tname = n\n\tnumber = 1\n"
      "\tip_address = 10.0.0.300\n\tip_port = 7777\n\tcluster = ocfs2\n",  // bad address
  };
  for (const char* text : broken) {
    test::spit(file_, text);
    const auto r = run(o2cb_ + " --config-file=" + file_ + " list-clusters", true);
    EXPECT_NE(r.exit_code, 0) << "o2cb accepted:\n" << text;
    ParseResult p = parse_cluster_conf(text);
    Diagnostics d = p.diagnostics;
    ValidateOptions vo;
    vo.check_local_node = false;
    for (auto& x : validate_cluster_conf(p.conf, vo)) d.push_back(x);
    EXPECT_TRUE(has_errors(d)) << "we accepted:\n" << text;
  }
}

}  // namespace
}  // namespace sharedisk::ocfs2
