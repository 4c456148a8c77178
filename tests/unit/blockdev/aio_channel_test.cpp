// AioChannel internals that the contract tests cannot reach: a kernel ring
// much smaller than the channel's slots, so io_submit answers EAGAIN and the
// channel must hold requests back and resubmit them as completions arrive.
#include "blockdev/aio_channel.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "blockdev/aio_file_device.h"
#include "blockdev_test_support.h"

namespace sharedisk::blockdev::testing {
namespace {

TEST(AioChannel, SmallKernelRingStillCompletesEveryRequestOnce) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  OpenOptions o;
  o.path = dir.file("ring.img");
  o.create_size = 16 << 20;
  auto dev = open_aio_file(o);
  auto* aio = dynamic_cast<AioFileDevice*>(dev.get());
  ASSERT_NE(aio, nullptr);
  boost::asio::io_context loop;
  AioChannel ch(*aio, loop, /*ring_depth=*/16);

  constexpr int kTotal = 2000;
  constexpr uint64_t kLen = 4096;
  AlignedBuffer data(kTotal * kLen);
  std::vector<Op> ops(kTotal);
  for (int i = 0; i < kTotal; ++i) {
    const uint64_t off = (i % 4096) * kLen;
    fill_pattern(data.data() + i * kLen, kLen, off, 60);
    ch.submit(ops[i].write(data.data() + i * kLen, kLen, off).req);
  }
  ASSERT_TRUE(run_until(loop, [&] { return ch.in_flight() == 0; }));
  for (const Op& op : ops) {
    EXPECT_EQ(op.calls, 1);
    EXPECT_EQ(op.result, 0);
  }
  AlignedBuffer back(kTotal * kLen);
  Op r;
  ASSERT_EQ(run_op(ch, loop, r.read(back.data(), kTotal * kLen, 0)), 0);
  EXPECT_TRUE(matches_pattern(back.data(), kTotal * kLen, 0, 60));
}

}  // namespace
}  // namespace sharedisk::blockdev::testing
