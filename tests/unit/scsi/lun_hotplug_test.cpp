// LUNs added, replaced and removed while nexuses are attached (reload).
#include <atomic>
#include <thread>

#include "scsi/sense.h"
#include "scsi_harness.h"

namespace sharedisk::scsi::test {
namespace {

constexpr uint64_t kLunField2 = 0x0002000000000000ull;

std::vector<uint8_t> report_luns_cdb() {
  return {0xA0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0};
}

std::vector<uint64_t> reported(const Result& r) {
  std::vector<uint64_t> out;
  for (size_t i = 8; i + 8 <= r.data.size(); i += 8) out.push_back(r.data[i + 1]);
  return out;
}

bool is_ua(const Result& r, uint8_t asc, uint8_t ascq) {
  return r.status == status::kCheckCondition && r.key == sense_key::kUnitAttention &&
         r.asc == asc && r.ascq == ascq;
}

TEST(LunHotplug, AddedLunIsReportedThroughUnitAttentionAndServes) {
  Harness h;
  h.clear_ua();
  h.add(2, 128, 512);

  // LUN 1 tells the initiator the inventory changed; LUN 2 is new to it.
  auto r = h.run({0x00, 0, 0, 0, 0, 0}, 0);
  EXPECT_TRUE(is_ua(r, 0x3F, 0x0E)) << int(r.asc) << "/" << int(r.ascq);
  r = h.run({0x00, 0, 0, 0, 0, 0}, 0);
  EXPECT_EQ(r.status, status::kGood);
  r = h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, nullptr, kLunField2);
  EXPECT_TRUE(is_ua(r, 0x29, 0x00));

  r = h.run(report_luns_cdb(), 4096);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(reported(r), (std::vector<uint64_t>{1, 2}));

  auto data = pattern(4096, 0x42);
  ASSERT_EQ(h.run(cdb10(0x2A, 16, 8), 4096, data, nullptr, kLunField2).status, status::kGood);
  r = h.run(cdb10(0x28, 16, 8), 4096, {}, nullptr, kLunField2);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data, data);
  // LUN 1 kept its own contents.
  r = h.run(cdb10(0x28, 16, 8), 4096);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_NE(r.data, data);
}

TEST(LunHotplug, ReportLunsClearsTheInventoryAttention) {
  Harness h;
  h.clear_ua();
  h.add(2, 128, 512);
  auto r = h.run(report_luns_cdb(), 4096);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(h.run({0x00, 0, 0, 0, 0, 0}, 0).status, status::kGood);
}

TEST(LunHotplug, EveryNexusIsTold) {
  Harness h;
  Nexus* other = h.dev->attach("iqn.1994-05.com.redhat:b,i,0x23d000000002",
                               "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua();
  h.clear_ua(other);
  h.add(2, 128, 512);
  EXPECT_TRUE(is_ua(h.run({0x00, 0, 0, 0, 0, 0}, 0), 0x3F, 0x0E));
  EXPECT_TRUE(is_ua(h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, other), 0x3F, 0x0E));
  // A nexus that attaches later sees only its power-on attention.
  Nexus* late = h.dev->attach("iqn.1994-05.com.redhat:c,i,0x23d000000003",
                              "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  EXPECT_TRUE(is_ua(h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, late), 0x29, 0x00));
  EXPECT_EQ(h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, late).status, status::kGood);
  h.dev->detach(late);
  h.dev->detach(other);
}

TEST(LunHotplug, RemovedLunIsNotSupportedAndTheOthersSayWhy) {
  Harness h;
  h.add(2, 128, 512);
  h.clear_ua();
  h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, nullptr, kLunField2);  // its power-on attention
  ASSERT_TRUE(h.dev->remove_lun(2));
  EXPECT_FALSE(h.dev->remove_lun(2));
  EXPECT_FALSE(h.dev->has_lun(2));

  auto r = h.run(cdb10(0x28, 0, 1), 512, {}, nullptr, kLunField2);
  EXPECT_EQ(r.status, status::kCheckCondition);
  EXPECT_EQ(r.key, sense_key::kIllegalRequest);
  EXPECT_EQ(r.asc, 0x25);
  EXPECT_TRUE(is_ua(h.run({0x00, 0, 0, 0, 0, 0}, 0), 0x3F, 0x0E));
  r = h.run(report_luns_cdb(), 4096);
  EXPECT_EQ(reported(r), (std::vector<uint64_t>{1}));
  EXPECT_EQ(h.dev->luns(), (std::vector<uint64_t>{1}));
  // The number can be used again.
  h.add(2, 64, 512);
  EXPECT_TRUE(h.dev->has_lun(2));
}

TEST(LunHotplug, ReplacedLunServesTheNewBackingUnderTheSameNumber) {
  Harness h(2048);
  h.clear_ua();
  auto data = pattern(512, 9);
  ASSERT_EQ(h.run(cdb10(0x2A, 0, 1), 512, data).status, status::kGood);

  LunOptions o;
  o.number = 1;
  o.serial = "SER1";
  h.dev->replace_lun(o, blockdev::make_memory(4096 * 512), {&h.io});
  EXPECT_TRUE(is_ua(h.run({0x00, 0, 0, 0, 0, 0}, 0), 0x29, 0x00));
  auto r = h.run({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8);  // READ CAPACITY(10)
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data[2] << 8 | r.data[3], 4095);
  r = h.run(cdb10(0x28, 0, 1), 512);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_NE(r.data, data);

  o.number = 7;
  EXPECT_THROW(h.dev->replace_lun(o, blockdev::make_memory(4096), {&h.io}), std::runtime_error);
  o.number = 1;
  EXPECT_THROW(h.dev->add_lun(o, blockdev::make_memory(4096), {&h.io}), std::runtime_error);
}

// Lookups from other threads while the table changes (run under ASan in CI).
TEST(LunHotplug, LookupsRaceTableChangesSafely) {
  Harness h;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> seen{0};
  std::thread reader([&] {
    for (int i = 0; i < 2'000'000 && !stop.load(); ++i) {
      if (h.dev->has_lun(2)) seen.fetch_add(1, std::memory_order_relaxed);
      auto l = h.dev->luns();
      EXPECT_TRUE(l.size() == 1 || l.size() == 2);
      EXPECT_EQ(l.front(), 1u);
    }
  });
  for (int i = 0; i < 200; ++i) {
    h.add(2, 8, 512);
    ASSERT_TRUE(h.dev->remove_lun(2));
  }
  stop = true;
  reader.join();
  EXPECT_EQ(h.dev->luns(), (std::vector<uint64_t>{1}));
}

}  // namespace
}  // namespace sharedisk::scsi::test
