// What a reload changes, decided from the two configurations alone: the
// gateway section (ALUA target port groups) needs a restart, and an rbd LUN
// whose serial/naa start or stop being pinned is a different logical unit.
#include <gtest/gtest.h>

#include <algorithm>

#include "config/config.h"
#include "daemon/reload.h"

namespace sharedisk::daemon {
namespace {

const std::string kHead = "portals: [127.0.0.1:3260]\n";
const std::string kGateway =
    "gateway:\n  name: gw-a\n  group: 1\n  peers:\n    - name: gw-b\n      group: 2\n";
const std::string kRbdLun =
    "targets:\n  - iqn: iqn.2019-02.lb2:odcfs2\n    luns:\n      - number: 1\n"
    "        type: rbd\n        pool: rbd\n        image: shared1\n";

bool restarts(const ReloadPlan& plan, const std::string& key) {
  return std::find(plan.restart.begin(), plan.restart.end(), key) != plan.restart.end();
}

TEST(ReloadPlan, GatewayChangesNeedARestart) {
  config::Config none = config::load_string(kHead, "a.yaml");
  config::Config one = config::load_string(kHead + kGateway, "b.yaml");
  config::Config other_peer = config::load_string(
      kHead + "gateway:\n  name: gw-a\n  group: 1\n  peers:\n    - name: gw-c\n      group: 2\n",
      "c.yaml");
  EXPECT_TRUE(restarts(plan_reload(none, one), "gateway"));
  EXPECT_TRUE(restarts(plan_reload(one, none), "gateway"));
  EXPECT_TRUE(restarts(plan_reload(one, other_peer), "gateway"));
  EXPECT_FALSE(
      restarts(plan_reload(one, config::load_string(kHead + kGateway, "d.yaml")), "gateway"));
  EXPECT_TRUE(plan_reload(none, none).restart.empty());
}

TEST(ReloadPlan, PinningAnRbdLunsIdentityReplacesTheLun) {
  config::Config derived = config::load_string(kHead + kRbdLun, "a.yaml");
  // The pinned values equal the IQN-based defaults the loader fills in, so
  // only the pinning itself differs.
  const config::Lun& l = derived.targets[0].luns[0];
  config::Config pinned = config::load_string(
      kHead + kRbdLun + "        serial: " + l.serial + "\n        naa: " + l.naa + "\n", "b.yaml");
  ReloadPlan plan = plan_reload(derived, pinned);
  ASSERT_EQ(plan.luns.size(), 1u);
  ASSERT_EQ(plan.luns[0].replaced.size(), 1u);
  EXPECT_TRUE(plan_reload(derived, derived).luns.empty());
}

}  // namespace
}  // namespace sharedisk::daemon
