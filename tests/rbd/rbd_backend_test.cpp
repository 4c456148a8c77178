// The RBD backend against a real (throwaway) Ceph cluster: the IoChannel
// contract (data where it was written, each completion exactly once, on the
// loop thread, never inside submit), discard and write-zeroes reading back
// zeroes, a shared cluster connection, and bounded, precise open errors.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "blockdev/rbd_device.h"
#include "blockdev_test_support.h"
#include "ceph_cluster.h"
#include "ports.h"

namespace sharedisk::blockdev::testing {
namespace {

using Clock = std::chrono::steady_clock;

RbdOptions options() {
  RbdOptions o;
  o.pool = "rbd";
  o.image = "lun1";
  o.ceph_conf = rbdtest::cluster().conf();
  o.client = "admin";
  o.io_timeout_s = 10;
  o.connect_timeout_s = 5;
  return o;
}

class RbdBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_CLUSTER();
    dev_ = open_rbd(options());
    ch_ = dev_->make_channel(loop_);
  }
  void TearDown() override {
    if (ch_) {
      EXPECT_EQ(ch_->in_flight(), 0u);
    }
    ch_.reset();
    dev_.reset();
  }
  int run(Op& op) { return run_op(*ch_, loop_, op); }
  void write_pattern(uint64_t offset, uint64_t len, uint32_t seed, bool fua = false) {
    AlignedBuffer buf(len);
    fill_pattern(buf.data(), len, offset, seed);
    Op op;
    ASSERT_EQ(run(op.write(buf.data(), len, offset, fua)), 0) << "offset " << offset;
  }
  AlignedBuffer read_back(uint64_t offset, uint64_t len) {
    AlignedBuffer buf(len);
    std::memset(buf.data(), 0xAA, len);
    Op op;
    EXPECT_EQ(run(op.read(buf.data(), len, offset)), 0) << "offset " << offset;
    return buf;
  }

  boost::asio::io_context loop_;
  std::unique_ptr<BlockDevice> dev_;
  std::unique_ptr<IoChannel> ch_;
};

TEST_F(RbdBackend, ReportsTheImageSize) {
  EXPECT_EQ(dev_->info().size_bytes, 256ull << 20);
  EXPECT_EQ(dev_->info().path, "rbd:rbd/lun1");
  EXPECT_TRUE(dev_->info().supports_discard);
  EXPECT_TRUE(dev_->info().discard_zeroes);
}

TEST_F(RbdBackend, WritesReadBackAtManyOffsetsAndSizes) {
  const uint64_t size = dev_->info().size_bytes;
  const uint64_t sizes[] = {512, 4096, 4608, 65536, 1u << 20};
  uint32_t seed = 11;
  for (uint64_t len : sizes) {
    // 4 MiB objects: crossing an object boundary splits the request in librbd.
    const uint64_t offsets[] = {0, 512, (4ull << 20) - 512, size / 2 + 512, size - len};
    for (uint64_t off : offsets) {
      ++seed;
      write_pattern(off, len, seed, seed % 2 == 0);
      AlignedBuffer got = read_back(off, len);
      EXPECT_TRUE(matches_pattern(got.data(), len, off, seed))
          << "offset " << off << " len " << len;
    }
  }
}

TEST_F(RbdBackend, ScatterGatherBothWays) {
  AlignedBuffer a(4096), b(8192), c(512);
  fill_pattern(a.data(), 4096, 1 << 20, 5);
  fill_pattern(b.data(), 8192, (1 << 20) + 4096, 5);
  fill_pattern(c.data(), 512, (1 << 20) + 12288, 5);
  Op w;
  w.write(a.data(), 4096, 1 << 20);
  w.iov[1] = {b.data(), 8192};
  w.iov[2] = {c.data(), 512};
  w.req.iovcnt = 3;
  w.req.length = 4096 + 8192 + 512;
  ASSERT_EQ(run(w), 0);
  AlignedBuffer x(512), y(12288);
  Op r;
  r.read(x.data(), 512, 1 << 20);
  r.iov[1] = {y.data(), 12288};
  r.req.iovcnt = 2;
  r.req.length = 512 + 12288;
  ASSERT_EQ(run(r), 0);
  EXPECT_TRUE(matches_pattern(x.data(), 512, 1 << 20, 5));
  EXPECT_TRUE(matches_pattern(y.data(), 12288, (1 << 20) + 512, 5));
}

TEST_F(RbdBackend, FlushCompletes) {
  write_pattern(8 << 20, 65536, 3);
  Op f;
  EXPECT_EQ(run(f.flush()), 0);
}

TEST_F(RbdBackend, DiscardAndWriteZeroesReadBackZeroes) {
  // Whole objects and parts of objects (rbd_skip_partial_discard is off).
  const uint64_t base = 16ull << 20;
  write_pattern(base, 12ull << 20, 9);
  Op d;
  ASSERT_EQ(run(d.range(IoOp::kDiscard, base + 4096, (8ull << 20) - 8192)), 0);
  AlignedBuffer got = read_back(base, 12ull << 20);
  EXPECT_TRUE(matches_pattern(got.data(), 4096, base, 9));
  EXPECT_TRUE(all_zero(got.data() + 4096, (8ull << 20) - 8192));
  EXPECT_TRUE(matches_pattern(got.data() + (8 << 20) - 4096, 4096, base + (8 << 20) - 4096, 9));

  for (bool unmap : {true, false}) {
    write_pattern(base, 1 << 20, 10);
    Op z;
    ASSERT_EQ(run(z.range(IoOp::kWriteZeroes, base + 512, 65536, unmap)), 0);
    AlignedBuffer after = read_back(base, 1 << 20);
    EXPECT_TRUE(matches_pattern(after.data(), 512, base, 10));
    EXPECT_TRUE(all_zero(after.data() + 512, 65536)) << "unmap " << unmap;
    EXPECT_TRUE(matches_pattern(after.data() + 512 + 65536, 4096, base + 512 + 65536, 10));
  }
}

TEST_F(RbdBackend, OutOfRangeFailsWithoutReachingTheCluster) {
  AlignedBuffer buf(4096);
  Op op;
  EXPECT_EQ(run(op.read(buf.data(), 4096, dev_->info().size_bytes)), -EINVAL);
}

// 256 writes in flight at once, each completing exactly once, on the loop's
// thread and never from inside submit(); then every block reads back.
TEST_F(RbdBackend, DeepQueueCompletesEachOnceOnTheLoopThread) {
  constexpr int kOps = 256;
  constexpr uint64_t kLen = 4096;
  std::vector<AlignedBuffer> bufs;
  std::vector<Op> ops(kOps);
  const auto loop_thread = std::this_thread::get_id();
  bool in_submit = false;
  int wrong_thread = 0, inline_calls = 0;
  for (int i = 0; i < kOps; ++i) {
    bufs.emplace_back(kLen);
    uint64_t off = (32ull << 20) + uint64_t(i) * 8192;
    fill_pattern(bufs.back().data(), kLen, off, 77);
    ops[i].write(bufs.back().data(), kLen, off);
    ops[i].then = [&](Op&) {
      if (std::this_thread::get_id() != loop_thread) ++wrong_thread;
      if (in_submit) ++inline_calls;
    };
  }
  for (auto& op : ops) {
    in_submit = true;
    ch_->submit(op.req);
    in_submit = false;
  }
  EXPECT_GT(ch_->in_flight(), 0u);
  ASSERT_TRUE(run_until(
      loop_, [&] { return ch_->in_flight() == 0; }, std::chrono::seconds(60)));
  for (auto& op : ops) {
    EXPECT_EQ(op.calls, 1);
    EXPECT_EQ(op.result, 0);
  }
  EXPECT_EQ(wrong_thread, 0);
  EXPECT_EQ(inline_calls, 0);
  for (int i = 0; i < kOps; i += 17) {
    uint64_t off = (32ull << 20) + uint64_t(i) * 8192;
    AlignedBuffer got = read_back(off, kLen);
    EXPECT_TRUE(matches_pattern(got.data(), kLen, off, 77)) << i;
  }
}

// Two loops on two threads share one image, each through its own channel.
TEST_F(RbdBackend, TwoLoopsOnTwoThreads) {
  std::atomic<int> failures{0};
  auto worker = [&](uint32_t seed, uint64_t base) {
    boost::asio::io_context loop;
    auto ch = dev_->make_channel(loop);
    for (int i = 0; i < 40; ++i) {
      AlignedBuffer buf(8192);
      uint64_t off = base + uint64_t(i) * 8192;
      fill_pattern(buf.data(), 8192, off, seed);
      Op w;
      if (run_op(*ch, loop, w.write(buf.data(), 8192, off)) != 0) ++failures;
      AlignedBuffer got(8192);
      Op r;
      if (run_op(*ch, loop, r.read(got.data(), 8192, off)) != 0 ||
          !matches_pattern(got.data(), 8192, off, seed))
        ++failures;
    }
  };
  std::thread a(worker, 21, 64ull << 20), b(worker, 22, 96ull << 20);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(RbdCluster, LunsOfOneClusterShareOneConnection) {
  REQUIRE_CLUSTER();
  RbdOptions o = options();
  ClusterKey key{o.ceph_conf, o.client, o.keyring, o.io_timeout_s, o.connect_timeout_s};
  auto first = open_rbd(o);
  auto a = connect_cluster(key);
  auto second = open_rbd(o);
  auto b = connect_cluster(key);
  EXPECT_EQ(a.get(), b.get());
  key.op_timeout_s += 1;  // another timeout is another connection
  EXPECT_NE(connect_cluster(key).get(), a.get());
}

// Each way of failing names its cause, within a bounded time.
class RbdOpenErrors : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_CLUSTER(); }
  RbdFailure expect_failure(const RbdOptions& o, const std::string& text, double max_s) {
    auto t0 = Clock::now();
    try {
      open_rbd(o);
    } catch (const RbdOpenError& e) {
      double s = std::chrono::duration<double>(Clock::now() - t0).count();
      EXPECT_LT(s, max_s) << e.what();
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
      return e.failure();
    }
    ADD_FAILURE() << "open_rbd succeeded";
    return RbdFailure::kCluster;
  }
};

TEST_F(RbdOpenErrors, MissingPool) {
  RbdOptions o = options();
  o.pool = "nosuchpool";
  EXPECT_EQ(expect_failure(o, "no such pool", 10), RbdFailure::kPool);
}

TEST_F(RbdOpenErrors, MissingImage) {
  RbdOptions o = options();
  o.image = "nosuchimage";
  EXPECT_EQ(expect_failure(o, "no such image", 10), RbdFailure::kImage);
}

TEST_F(RbdOpenErrors, MissingNamespace) {
  RbdOptions o = options();
  o.ns = "nosuchns";
  EXPECT_EQ(expect_failure(o, "namespace 'nosuchns'", 10), RbdFailure::kPool);
}

TEST_F(RbdOpenErrors, WrongKey) {
  RbdOptions o = options();
  o.keyring = rbdtest::cluster().file("wrong.keyring");
  std::ofstream(o.keyring) << "[client.admin]\n\tkey = AQBzvjRnAAAAABAAqJSqKOpUu1dmgQQPImtc3A==\n";
  EXPECT_EQ(expect_failure(o, "client.admin", 12), RbdFailure::kAuth);
}

TEST_F(RbdOpenErrors, UnreachableMonitors) {
  // The cluster's ceph.conf with the monitor moved to a port nobody listens on.
  std::string conf = sharedisk::test_support::read_file(rbdtest::cluster().conf());
  std::string mon = rbdtest::cluster().env("CEPH_MON_ADDR");
  auto at = conf.find(mon);
  ASSERT_NE(at, std::string::npos) << conf;
  uint16_t p1 = sharedisk::test_support::free_port(), p2 = sharedisk::test_support::free_port();
  conf.replace(at, mon.size(),
               "[v2:127.0.0.1:" + std::to_string(p1) + ",v1:127.0.0.1:" + std::to_string(p2) + "]");
  RbdOptions o = options();
  o.ceph_conf = rbdtest::cluster().file("unreachable.conf");
  sharedisk::test_support::write_file(o.ceph_conf, conf);
  o.connect_timeout_s = 3;
  EXPECT_EQ(expect_failure(o, "did not answer", 10), RbdFailure::kCluster);
}

TEST_F(RbdOpenErrors, MissingCephConf) {
  RbdOptions o = options();
  o.ceph_conf = rbdtest::cluster().file("absent.conf");
  EXPECT_EQ(expect_failure(o, "cannot read", 5), RbdFailure::kCluster);
}

}  // namespace
}  // namespace sharedisk::blockdev::testing
