// ConnectionGate: total and per-address bounds, places given back by tickets.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "iscsi/connection_gate.h"

namespace sharedisk::iscsi {
namespace {

TEST(ConnectionGate, PerAddressAndTotalBoundsWithTicketsReleasing) {
  ConnectionGate gate;
  gate.configure(3, 2);
  const char* why = nullptr;
  std::vector<std::unique_ptr<ConnectionGate::Ticket>> held;
  held.push_back(gate.enter("10.0.0.1", &why));
  held.push_back(gate.enter("10.0.0.1", &why));
  ASSERT_TRUE(held[0] && held[1]);
  EXPECT_EQ(gate.enter("10.0.0.1", &why), nullptr);
  EXPECT_STREQ(why, "limits.max_connections_per_address reached");
  held.push_back(gate.enter("fd00::1", &why));
  ASSERT_TRUE(held[2]);
  EXPECT_EQ(gate.total(), 3u);
  EXPECT_EQ(gate.enter("10.0.0.2", &why), nullptr);
  EXPECT_STREQ(why, "limits.max_connections reached");
  held.erase(held.begin());  // one of 10.0.0.1's connections ends
  EXPECT_EQ(gate.from("10.0.0.1"), 1u);
  auto again = gate.enter("10.0.0.1", &why);
  EXPECT_NE(again, nullptr);
  again.reset();
  held.clear();
  EXPECT_EQ(gate.total(), 0u);
  EXPECT_EQ(gate.from("10.0.0.1"), 0u);
  EXPECT_EQ(gate.from("fd00::1"), 0u);
}

}  // namespace
}  // namespace sharedisk::iscsi
