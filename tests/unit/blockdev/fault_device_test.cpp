// The fault-injecting store (blockdev/fault_device.h) through its C++ API and
// its control file: errors only where and as often as asked, delays that make
// a write land late, held requests that do not hold up anything else, and
// completions never inside submit().
#include "blockdev/fault_device.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "blockdev_test_support.h"

namespace sharedisk::blockdev::testing {
namespace {

using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;
constexpr uint64_t kSize = 1 << 20;

std::vector<FaultRule> rules(const std::string& text) {
  std::vector<FaultRule> out;
  std::string err = parse_fault_rules(text, &out);
  EXPECT_EQ(err, "") << text;
  return out;
}

// Written whole under another name and renamed, as tests should.
void write_control(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

class FaultDeviceIo : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inner = make_memory(kSize);
    raw_ = inner.get();
    dev_ = make_fault_device(std::move(inner), {});
    ch_ = dev_->make_channel(loop_);
    raw_ch_ = raw_->make_channel(loop_);
  }

  boost::asio::io_context loop_;
  BlockDevice* raw_ = nullptr;  // the wrapped RAM disk, seen without faults
  std::unique_ptr<FaultDevice> dev_;
  std::unique_ptr<IoChannel> ch_, raw_ch_;
};

TEST(FaultRules, ParseAndRefuse) {
  auto r = rules(
      "# comment\nread,write error=EIO lba=8 blocks=4 count=2\n\nany delay=50\nflush stuck\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].ops, FaultRule::bit(IoOp::kRead) | FaultRule::bit(IoOp::kWrite));
  EXPECT_EQ(r[0].error, EIO);
  EXPECT_EQ(r[0].first_lba, 8u);
  EXPECT_EQ(r[0].lba_count, 4u);
  EXPECT_EQ(r[0].count, 2u);
  EXPECT_EQ(r[1].delay_ms, 50u);
  EXPECT_TRUE(r[2].stuck);
  EXPECT_EQ(rules("write error=ENOSPC")[0].error, ENOSPC);

  std::vector<FaultRule> out;
  EXPECT_THAT(parse_fault_rules("reed error=EIO", &out), HasSubstr("line 1: 'reed'"));
  EXPECT_THAT(parse_fault_rules("\nread error=EXYZ", &out), HasSubstr("line 2: error=EXYZ"));
  EXPECT_THAT(parse_fault_rules("read lba=5", &out), HasSubstr("does nothing"));
  EXPECT_THAT(parse_fault_rules("read delay=-1", &out), HasSubstr("'delay=-1'"));
}

TEST_F(FaultDeviceIo, ErrorsOnlyInTheRangeAndNeverInsideSubmit) {
  dev_->set_rules(rules("read error=EIO lba=16 blocks=8\nwrite error=EIO lba=16 blocks=8"));
  AlignedBuffer buf(4096);
  fill_pattern(buf.data(), 4096, 0, 1);
  Op before, inside, write_in, write_out;
  ch_->submit(inside.read(buf.data(), 4096, 12 * 512).req);  // blocks 12-19: overlaps
  EXPECT_FALSE(inside.done()) << "completed inside submit()";
  ASSERT_TRUE(run_until(loop_, [&] { return inside.done(); }));
  EXPECT_EQ(inside.result, -EIO);
  EXPECT_EQ(run_op(*ch_, loop_, before.read(buf.data(), 4096, 8 * 512)), 0);  // blocks 8-15
  EXPECT_EQ(run_op(*ch_, loop_, write_in.write(buf.data(), 512, 23 * 512)), -EIO);
  EXPECT_EQ(run_op(*ch_, loop_, write_out.write(buf.data(), 512, 24 * 512)), 0);
  EXPECT_EQ(dev_->injected(), 2u);

  // The failed write never reached the store; the other one did.
  AlignedBuffer back(1024);
  Op r;
  ASSERT_EQ(run_op(*raw_ch_, loop_, r.read(back.data(), 1024, 23 * 512)), 0);
  EXPECT_TRUE(all_zero(back.data(), 512));
  EXPECT_EQ(std::memcmp(back.data() + 512, buf.data(), 512), 0);
}

TEST_F(FaultDeviceIo, CountFailsOnlyTheNextRequests) {
  dev_->set_rules(rules("write error=ENOSPC count=2"));
  AlignedBuffer buf(4096);
  std::vector<int> results;
  for (int i = 0; i < 4; ++i) {
    Op w;
    results.push_back(run_op(*ch_, loop_, w.write(buf.data(), 4096, 0)));
  }
  EXPECT_EQ(results, (std::vector<int>{-ENOSPC, -ENOSPC, 0, 0}));
}

TEST_F(FaultDeviceIo, DelayedWriteLandsLate) {
  dev_->set_rules(rules("write delay=150"));
  AlignedBuffer buf(4096), back(4096);
  fill_pattern(buf.data(), 4096, 65536, 9);
  Op w, peek, after;
  auto t0 = Clock::now();
  ch_->submit(w.write(buf.data(), 4096, 65536).req);
  // Meanwhile reads go through at once and still see the old data.
  ASSERT_EQ(run_op(*ch_, loop_, peek.read(back.data(), 4096, 65536)), 0);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(100));
  EXPECT_TRUE(all_zero(back.data(), 4096));
  EXPECT_FALSE(w.done());
  ASSERT_TRUE(run_until(loop_, [&] { return w.done(); }));
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(150));
  EXPECT_EQ(w.result, 0);
  ASSERT_EQ(run_op(*ch_, loop_, after.read(back.data(), 4096, 65536)), 0);
  EXPECT_TRUE(matches_pattern(back.data(), 4096, 65536, 9));
}

TEST_F(FaultDeviceIo, StuckRequestsWaitForTheRulesToChangeWhileOthersRun) {
  dev_->set_rules(rules("write stuck lba=0 blocks=8"));
  auto other = make_memory(kSize);
  auto other_ch = other->make_channel(loop_);
  AlignedBuffer buf(4096), back(4096);
  fill_pattern(buf.data(), 4096, 0, 3);
  Op held;
  ch_->submit(held.write(buf.data(), 4096, 0).req);
  // Another LUN on the same loop, and this one outside the range, keep going.
  for (int i = 0; i < 50; ++i) {
    Op a, b;
    auto t0 = Clock::now();
    ASSERT_EQ(run_op(*other_ch, loop_, a.write(buf.data(), 4096, 8192)), 0);
    ASSERT_EQ(run_op(*ch_, loop_, b.read(back.data(), 4096, 8192)), 0);
    EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(held.done());
  EXPECT_EQ(dev_->held(), 1u);
  EXPECT_EQ(ch_->in_flight(), 1u);
  dev_->set_rules({});
  ASSERT_TRUE(run_until(
      loop_, [&] { return held.done(); }, std::chrono::seconds(2)));
  EXPECT_EQ(held.result, 0);
  EXPECT_EQ(dev_->held(), 0u);
  Op r;
  ASSERT_EQ(run_op(*raw_ch_, loop_, r.read(back.data(), 4096, 0)), 0);
  EXPECT_TRUE(matches_pattern(back.data(), 4096, 0, 3));
}

TEST(FaultControlFile, IsReReadWhenItChanges) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string control = dir.file("faults");
  FaultOptions o;
  o.control_path = control;
  o.block_size = 4096;
  auto dev = make_fault_device(make_memory(kSize), o);
  boost::asio::io_context loop;
  auto ch = dev->make_channel(loop);
  AlignedBuffer buf(4096);
  auto read_at = [&](uint64_t lba) {
    Op r;
    return run_op(*ch, loop, r.read(buf.data(), 4096, lba * 4096));
  };
  EXPECT_EQ(read_at(3), 0);  // no file: no faults
  write_control(control, "read error=EIO lba=3 blocks=1\n");
  EXPECT_EQ(read_at(3), -EIO);
  EXPECT_EQ(read_at(4), 0);
  write_control(control, "read error=EIO lba=3 blocks=1 oops\n");  // refused: rules unchanged
  EXPECT_EQ(read_at(3), -EIO);
  EXPECT_THAT(dev->control_error(), HasSubstr("line 1: 'oops'"));
  write_control(control, "read stuck\n");
  Op held;
  ch->submit(held.read(buf.data(), 4096, 0).req);
  EXPECT_FALSE(run_until(
      loop, [&] { return held.done(); }, std::chrono::milliseconds(100)));
  write_control(control, "");  // releases it
  ASSERT_TRUE(run_until(
      loop, [&] { return held.done(); }, std::chrono::seconds(2)));
  EXPECT_EQ(held.result, 0);
  EXPECT_EQ(dev->control_error(), "");
}

}  // namespace
}  // namespace sharedisk::blockdev::testing
