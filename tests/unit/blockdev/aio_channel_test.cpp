// AioChannel internals that the contract tests cannot reach: a kernel ring
// much smaller than the channel's slots, so io_submit answers EAGAIN and the
// channel must hold requests back and resubmit them as completions arrive.
#include "blockdev/aio_channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <thread>

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

// Worker-thread results (discard, write-zeroes, the fdatasync fallback) must be
// delivered on the loop that submitted them, not on the worker.
TEST(AioChannel, WorkerCompletionsRunOnTheSubmittingLoopThread) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  OpenOptions o;
  o.path = dir.file("worker.img");
  o.create_size = 4 << 20;
  auto dev = open_aio_file(o);
  auto* aio = dynamic_cast<AioFileDevice*>(dev.get());
  ASSERT_NE(aio, nullptr);
  ASSERT_TRUE(aio->aio_fdsync());
  aio->disable_aio_fdsync();  // as if the kernel had refused IOCB_CMD_FDSYNC

  boost::asio::io_context loop;
  auto guard = boost::asio::make_work_guard(loop);
  std::thread runner([&] { loop.run(); });
  const std::thread::id loop_thread = runner.get_id();
  auto ch = dev->make_channel(loop);

  Op flush, zero, discard;
  std::atomic<int> done{0};
  std::thread::id seen[3];
  Op* ops[3] = {&flush.flush(), &zero.range(IoOp::kWriteZeroes, 0, 1 << 20),
                &discard.range(IoOp::kDiscard, 1 << 20, 1 << 20)};
  for (int i = 0; i < 3; ++i) {
    ops[i]->then = [&, i](Op&) {
      seen[i] = std::this_thread::get_id();
      ++done;
    };
  }
  // Channels are used from their loop's thread only: submit from there.
  boost::asio::post(loop, [&] {
    for (Op* op : ops) ch->submit(op->req);
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (done < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  boost::asio::post(loop, [&] { ch.reset(); });
  guard.reset();
  runner.join();
  ASSERT_EQ(done.load(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ops[i]->result, 0) << i;
    EXPECT_EQ(seen[i], loop_thread) << i;
    EXPECT_EQ(ops[i]->calls, 1) << i;
  }
}

}  // namespace
}  // namespace sharedisk::blockdev::testing
