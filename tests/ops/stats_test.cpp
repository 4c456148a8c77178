// Counters and renderers behind `status` and /metrics, without a daemon.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "blockdev/block_device.h"
#include "blockdev/rbd_stats.h"
#include "daemon/metrics.h"
#include "daemon/status.h"
#include "iscsi/io_stats.h"

namespace {

using namespace std::chrono_literals;
using sharedisk::iscsi::IoKind;

TEST(LunIoStats, SumsPerLoopSlotsWrittenConcurrently) {
  sharedisk::iscsi::LunIoStats s(4);
  std::vector<std::thread> loops;
  for (unsigned l = 0; l < 4; ++l)
    loops.emplace_back([&s, l] {
      for (int i = 0; i < 10000; ++i) {
        s.record(l, IoKind::kRead, 4096, false, 80us);
        s.record(l, IoKind::kWrite, 512, i % 100 == 0, 3ms);
      }
    });
  for (auto& t : loops) t.join();
  auto t = s.totals();
  EXPECT_EQ(t.ops[0], 40000u);
  EXPECT_EQ(t.bytes[0], 40000u * 4096);
  EXPECT_EQ(t.ops[1], 40000u);
  EXPECT_EQ(t.bytes[1], 40000u * 512);
  EXPECT_EQ(t.errors, 400u);
  EXPECT_EQ(t.latency_buckets[1], 40000u);  // 80 us: le 100 us
  EXPECT_EQ(t.latency_buckets[6], 40000u);  // 3 ms: le 5 ms
  EXPECT_EQ(t.latency_sum_us, 40000u * 80 + 40000u * 3000);
}

class Rendered : public ::testing::Test {
 protected:
  Rendered() : state(sharedisk::config::Config{}, context) {
    state.config.source = "test.yaml";
    auto node = std::make_shared<sharedisk::iscsi::TargetNode>();
    node->iqn = "iqn.2019-02.lb2:odcfs2";
    sharedisk::config::Network net;
    net.text = "192.168.55.0/24";
    node->set_access({}, {net});
    sharedisk::iscsi::LunInfo l;
    l.number = 1;
    l.type = "block";
    l.backing = "/dev/sdb";
    l.size_bytes = 10737418240;
    l.stats = std::make_shared<sharedisk::iscsi::LunIoStats>(2);
    l.stats->record(0, IoKind::kRead, 4096, false, 200us);
    l.stats->record(1, IoKind::kWrite, 8192, false, 2ms);
    l.stats->record(1, IoKind::kOther, 0, true, 20ms);
    node->set_luns({l});
    context.registry.add(node);
    context.login_failures = 3;
  }
  sharedisk::iscsi::ServerContext context;
  sharedisk::daemon::DaemonState state;
};

TEST_F(Rendered, MetricsHaveCountersAndCumulativeHistogram) {
  std::string m = sharedisk::daemon::render_metrics(state);
  const std::string L = "target=\"iqn.2019-02.lb2:odcfs2\",lun=\"1\"";
  for (const std::string& line : std::vector<std::string>{
           "sharedisk_login_failures_total 3\n",
           "sharedisk_sessions{target=\"iqn.2019-02.lb2:odcfs2\"} 0\n",
           "sharedisk_lun_size_bytes{" + L + "} 10737418240\n",
           "sharedisk_lun_io_ops_total{" + L + ",op=\"read\"} 1\n",
           "sharedisk_lun_io_ops_total{" + L + ",op=\"write\"} 1\n",
           "sharedisk_lun_io_bytes_total{" + L + ",op=\"write\"} 8192\n",
           "sharedisk_lun_io_errors_total{" + L + "} 1\n",
           "sharedisk_lun_io_latency_seconds_bucket{" + L + ",le=\"0.0001\"} 0\n",
           "sharedisk_lun_io_latency_seconds_bucket{" + L + ",le=\"0.00025\"} 1\n",
           "sharedisk_lun_io_latency_seconds_bucket{" + L + ",le=\"0.0025\"} 2\n",
           "sharedisk_lun_io_latency_seconds_bucket{" + L + ",le=\"+Inf\"} 3\n",
           "sharedisk_lun_io_latency_seconds_count{" + L + "} 3\n",
           "sharedisk_lun_io_latency_seconds_sum{" + L + "} 0.0222\n",
           "# TYPE sharedisk_lun_io_latency_seconds histogram\n",
       })
    EXPECT_NE(m.find(line), std::string::npos) << line << "\n" << m;
}

TEST_F(Rendered, StatusTextAndJson) {
  std::string text = sharedisk::daemon::status_text(state);
  EXPECT_NE(text.find("target iqn.2019-02.lb2:odcfs2"), std::string::npos) << text;
  EXPECT_NE(text.find("/dev/sdb  10.0 GiB (10737418240 bytes)"), std::string::npos) << text;
  EXPECT_NE(text.find("networks 192.168.55.0/24"), std::string::npos) << text;
  EXPECT_NE(text.find("reads 1 (4.0 KiB)  writes 1 (8.0 KiB)  other 1  errors 1"),
            std::string::npos)
      << text;
  std::string json = sharedisk::daemon::status_json(state);
  EXPECT_NE(json.find(R"("backing":"/dev/sdb","size_bytes":10737418240)"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("read_ops":1,"read_bytes":4096,"write_ops":1,"write_bytes":8192)"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("networks":["192.168.55.0/24"])"), std::string::npos) << json;
  auto parsed = nlohmann::json::parse(json);  // throws on anything that is not JSON
  EXPECT_EQ(parsed["targets"][0]["luns"][0]["io"]["write_bytes"], 8192);
}

// An RBD LUN on gateway gw-a whose exclusive lock peer gw-b holds: status
// names the holder, the metrics count the transitions and failovers.
TEST_F(Rendered, LockOwnerInStatusAndMetrics) {
  sharedisk::config::Gateway gw;
  gw.name = "gw-a";
  gw.group = 1;
  gw.peers.push_back({"gw-b", 2, {2}, std::nullopt, 0});
  state.config.gateway = gw;
  auto rbd = std::make_shared<sharedisk::blockdev::RbdStats>();
  rbd->owner_watched = true;
  rbd->owner_holder = uint8_t(sharedisk::blockdev::LockOwner::Holder::kPeer);
  rbd->owner_group = 2;
  rbd->owner_changes = 3;
  rbd->lock_acquired = 1;
  rbd->lock_dwell_ms = 200;
  rbd->held_now = 2;
  rbd->held_total = 7;
  auto node = context.registry.find("iqn.2019-02.lb2:odcfs2");
  ASSERT_NE(node, nullptr);
  std::vector<sharedisk::iscsi::LunInfo> luns = node->luns();
  luns[0].type = "rbd";
  luns[0].rbd = rbd;
  node->set_luns(luns);
  std::string text = sharedisk::daemon::status_text(state);
  EXPECT_NE(text.find("lock owner: gw-b group 2  (owner changes 3, taken by this gateway 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("owner dwell: 200 ms  (writes held now 2, held since start 7)"),
            std::string::npos)
      << text;
  auto json = nlohmann::json::parse(sharedisk::daemon::status_json(state));
  EXPECT_EQ(json["targets"][0]["luns"][0]["lock"]["dwell_ms"], 200);
  EXPECT_EQ(json["targets"][0]["luns"][0]["lock"]["held"], 2);
  EXPECT_EQ(json["targets"][0]["luns"][0]["lock"]["held_total"], 7);
  EXPECT_EQ(json["targets"][0]["luns"][0]["lock"]["owner_group"], 2);
  EXPECT_EQ(json["targets"][0]["luns"][0]["lock"]["this_gateway"], false);
  std::string m = sharedisk::daemon::render_metrics(state);
  const std::string L = "target=\"iqn.2019-02.lb2:odcfs2\",lun=\"1\"";
  for (const std::string& line : std::vector<std::string>{
           "sharedisk_lun_alua_transitions_total{" + L + "} 3\n",
           "sharedisk_lun_alua_failovers_total{" + L + "} 1\n",
           "sharedisk_lun_lock_dwell_held_total{" + L + "} 7\n",
           "sharedisk_lun_alua_lock_owner{" + L + "} 0\n",
       })
    EXPECT_NE(m.find(line), std::string::npos) << line << "\n" << m;
  rbd->owner_holder = uint8_t(sharedisk::blockdev::LockOwner::Holder::kThisGateway);
  rbd->owner_group = 1;
  EXPECT_NE(sharedisk::daemon::status_text(state).find("lock owner: this gateway (gw-a, group 1)"),
            std::string::npos);
  EXPECT_NE(
      sharedisk::daemon::render_metrics(state).find("sharedisk_lun_alua_lock_owner{" + L + "} 1\n"),
      std::string::npos);
}

// Names come from configuration files and initiators: bytes that are not UTF-8 (and
// control characters) still give a document every JSON parser reads.
TEST_F(Rendered, StatusJsonStaysValidWithBytesThatAreNotUtf8) {
  auto node = std::make_shared<sharedisk::iscsi::TargetNode>();
  node->iqn = "iqn.2019-02.lb2:other";
  node->alias = std::string("caf\xe9 \xff\xfe \"q\" \x01 end");
  state.context.registry.add(node);
  std::string json = sharedisk::daemon::status_json(state);
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(json)) << json;
  EXPECT_EQ(parsed["targets"][1]["alias"],
            "caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd \"q\" \x01 end");
}

}  // namespace
