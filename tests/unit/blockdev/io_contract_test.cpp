// The IoChannel contract, checked the same way on every backend: data lands
// where it was written, completions arrive exactly once and never from inside
// submit(), depth and threads do not lose requests.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "blockdev_test_support.h"

namespace sharedisk::blockdev::testing {
namespace {

constexpr uint64_t kDeviceSize = 64ull << 20;

// What the descriptor on the backing file must say about O_DIRECT.
enum class Direct {
  kNoFile,     // memory: no backing file
  kRequired,   // O_DIRECT asked for on a disk file system: it must be in effect
  kOff,        // buffered asked for: O_DIRECT must be off
  kAsReported  // asked for where the kernel may refuse it: whatever info() reports
};

struct Backend {
  const char* name;
  std::function<std::unique_ptr<BlockDevice>(const TempDir&)> open;
  const char* parent = "/tmp";
  Direct direct = Direct::kNoFile;
};

// The descriptors this process holds on `path`, found through /proc/self/fd,
// independently of the device under test.
std::vector<int> fds_open_on(const std::string& path) {
  std::vector<int> fds;
  std::error_code ec;
  const auto want = std::filesystem::canonical(path, ec);
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(e.path(), link_ec) == want)
      fds.push_back(std::stoi(e.path().filename().string()));
  }
  return fds;
}

// The "flags:" line of /proc/self/fdinfo/FD (octal, as the kernel prints it); -1 if absent.
long fdinfo_flags(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string key;
  while (in >> key) {
    if (key == "flags:") {
      std::string octal;
      in >> octal;
      return std::stol(octal, nullptr, 8);
    }
    std::getline(in, key);
  }
  return -1;
}

std::unique_ptr<BlockDevice> open_file(const TempDir& dir, bool direct) {
  OpenOptions o;
  o.path = dir.file("disk.img");
  o.create_size = kDeviceSize;
  o.direct = direct;
  return open_aio_file(o);
}

class IoContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (!exists(GetParam().parent)) GTEST_SKIP() << GetParam().parent << " does not exist";
    dir_ = std::make_unique<TempDir>(GetParam().parent);
    ASSERT_TRUE(dir_->ok());
    dev_ = GetParam().open(*dir_);
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

  void write_pattern(uint64_t offset, uint64_t len, uint32_t seed) {
    AlignedBuffer buf(len);
    fill_pattern(buf.data(), len, offset, seed);
    Op op;
    ASSERT_EQ(run(op.write(buf.data(), len, offset)), 0) << "offset " << offset << " len " << len;
  }
  AlignedBuffer read_back(uint64_t offset, uint64_t len) {
    AlignedBuffer buf(len);
    std::memset(buf.data(), 0xAA, len);
    Op op;
    EXPECT_EQ(run(op.read(buf.data(), len, offset)), 0) << "offset " << offset << " len " << len;
    return buf;
  }

  boost::asio::io_context loop_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<BlockDevice> dev_;
  std::unique_ptr<IoChannel> ch_;
};

TEST_P(IoContract, ReportsItsSize) {
  EXPECT_EQ(dev_->info().size_bytes, kDeviceSize);
  EXPECT_FALSE(dev_->info().read_only);
  EXPECT_EQ(dev_->info().buffer_alignment, 4096u);
}

// O_DIRECT in the kernel's own view of the descriptor: fcntl(F_GETFL) and
// /proc/self/fdinfo's flags (040000 is O_DIRECT on x86-64 and arm64), not only
// what the device says about itself.
TEST_P(IoContract, ODirectIsReallyInEffectWhereAskedFor) {
  const Direct want = GetParam().direct;
  if (want == Direct::kNoFile) {
    EXPECT_FALSE(dev_->info().direct_io);
    return;
  }
  const std::string backing = dir_->file("disk.img");
  const std::vector<int> fds = fds_open_on(backing);
  ASSERT_FALSE(fds.empty()) << "no descriptor of this process is open on " << backing;
  for (int fd : fds) {
    const int fl = ::fcntl(fd, F_GETFL);
    ASSERT_GE(fl, 0) << "fcntl(" << fd << ", F_GETFL): " << std::strerror(errno);
    const long proc = fdinfo_flags(fd);
    ASSERT_GE(proc, 0) << "no flags in /proc/self/fdinfo/" << fd;
    const bool direct = (proc & 040000) != 0;
    EXPECT_EQ((fl & O_DIRECT) != 0, direct) << "fd " << fd;
    EXPECT_EQ(dev_->info().direct_io, direct)
        << "fd " << fd << " on " << backing << ": fdinfo flags 0" << std::oct << proc;
    if (want == Direct::kRequired) {
      EXPECT_TRUE(direct) << backing << " is open without O_DIRECT: fdinfo flags 0" << std::oct
                          << proc;
    }
    if (want == Direct::kOff) {
      EXPECT_FALSE(direct) << backing << ": fdinfo flags 0" << std::oct << proc;
    }
  }
}

TEST_P(IoContract, WritesReadBackAtManyOffsetsAndSizes) {
  const uint64_t sizes[] = {512, 4096, 4608, 65536, 1u << 20};
  uint32_t seed = 1;
  for (uint64_t len : sizes) {
    const uint64_t offsets[] = {0, 512, 25 * 512, kDeviceSize / 2 + 512, kDeviceSize - len};
    for (uint64_t off : offsets) {
      write_pattern(off, len, seed);
      auto got = read_back(off, len);
      EXPECT_TRUE(matches_pattern(got.data(), len, off, seed))
          << "offset " << off << " len " << len;
      ++seed;
    }
  }
}

TEST_P(IoContract, NeighboursAreLeftAlone) {
  write_pattern(0, 3 * 4096, 7);
  write_pattern(4096, 4096, 8);
  auto got = read_back(0, 3 * 4096);
  EXPECT_TRUE(matches_pattern(got.data(), 4096, 0, 7));
  EXPECT_TRUE(matches_pattern(got.data() + 4096, 4096, 4096, 8));
  EXPECT_TRUE(matches_pattern(got.data() + 8192, 4096, 8192, 7));
}

TEST_P(IoContract, ScatterGatherSplitsDifferently) {
  const uint64_t off = 1u << 20;
  AlignedBuffer a(512), b(4096), c(1024);
  fill_pattern(a.data(), 512, off, 3);
  fill_pattern(b.data(), 4096, off + 512, 3);
  fill_pattern(c.data(), 1024, off + 4608, 3);
  Op w;
  w.iov[0] = {a.data(), 512};
  w.iov[1] = {b.data(), 4096};
  w.iov[2] = {c.data(), 1024};
  w.req.op = IoOp::kWrite;
  w.req.iov = w.iov;
  w.req.iovcnt = 3;
  w.req.offset = off;
  w.req.length = 5632;
  ASSERT_EQ(run(w), 0);

  AlignedBuffer x(1536), y(4096);
  Op r;
  r.iov[0] = {x.data(), 1536};
  r.iov[1] = {y.data(), 4096};
  r.req.op = IoOp::kRead;
  r.req.iov = r.iov;
  r.req.iovcnt = 2;
  r.req.offset = off;
  r.req.length = 5632;
  ASSERT_EQ(run(r), 0);
  EXPECT_TRUE(matches_pattern(x.data(), 1536, off, 3));
  EXPECT_TRUE(matches_pattern(y.data(), 4096, off + 1536, 3));
}

TEST_P(IoContract, FuaWritesAndFlushesCompleteInBothCacheModes) {
  for (CacheMode mode : {CacheMode::kWriteBack, CacheMode::kWriteThrough}) {
    dev_->set_cache_mode(mode);
    EXPECT_EQ(dev_->cache_mode(), mode);
    AlignedBuffer buf(8192);
    fill_pattern(buf.data(), 8192, 40960, 11);
    Op fua;
    EXPECT_EQ(run(fua.write(buf.data(), 8192, 40960, /*fua=*/true)), 0);
    Op plain;
    EXPECT_EQ(run(plain.write(buf.data(), 4096, 0)), 0);
    Op flush;
    EXPECT_EQ(run(flush.flush()), 0);
    auto got = read_back(40960, 8192);
    EXPECT_TRUE(matches_pattern(got.data(), 8192, 40960, 11));
  }
}

TEST_P(IoContract, OutOfRangeRequestsFailWithEinval) {
  AlignedBuffer buf(8192);
  Op past_end;
  EXPECT_EQ(run(past_end.read(buf.data(), 4096, kDeviceSize)), -EINVAL);
  Op crossing;
  EXPECT_EQ(run(crossing.write(buf.data(), 8192, kDeviceSize - 4096)), -EINVAL);
  Op wrapping;
  EXPECT_EQ(run(wrapping.range(IoOp::kWriteZeroes, ~uint64_t(0) - 511, 1024)), -EINVAL);
}

// kAllocationMap is for stores with an allocation map (RBD); these have
// none: -EOPNOTSUPP, and the range's data stays as it was.
TEST_P(IoContract, AllocationMapIsRefusedWithoutTouchingData) {
  ASSERT_FALSE(dev_->info().supports_allocation_map);
  write_pattern(0, 8192, 52);
  AllocationMap map;
  Op m;
  m.range(IoOp::kAllocationMap, 0, 8192);
  m.iov[0] = {&map, sizeof map};
  m.req.iov = m.iov;
  m.req.iovcnt = 1;
  EXPECT_EQ(run(m), -EOPNOTSUPP);
  EXPECT_EQ(map.runs, 0u);
  auto got = read_back(0, 8192);
  EXPECT_TRUE(matches_pattern(got.data(), 8192, 0, 52));
}

TEST_P(IoContract, EmptyRangesSucceedWithoutTouchingData) {
  write_pattern(0, 4096, 51);
  Op z, d, r;
  EXPECT_EQ(run(z.range(IoOp::kWriteZeroes, 0, 0)), 0);
  int rc = run(d.range(IoOp::kDiscard, 0, 0));
  EXPECT_EQ(rc, dev_->info().supports_discard ? 0 : -EOPNOTSUPP);
  EXPECT_EQ(run(r.range(IoOp::kRead, kDeviceSize, 0)), 0) << "an empty read at the end is in range";
  auto got = read_back(0, 4096);
  EXPECT_TRUE(matches_pattern(got.data(), 4096, 0, 51));
}

TEST_P(IoContract, CompletionsNeverRunInsideSubmitEvenWhenChained) {
  bool in_submit = false;
  bool ran_inline = false;
  int chained = 0;
  AlignedBuffer buf(4096);
  Op op;
  op.then = [&](Op& self) {
    if (in_submit) ran_inline = true;
    if (++chained < 50) {
      self.read(buf.data(), 4096, chained * 4096ull);
      in_submit = true;
      ch_->submit(self.req);  // from inside a completion: must not recurse
      in_submit = false;
    }
  };
  op.read(buf.data(), 4096, 0);
  in_submit = true;
  ch_->submit(op.req);
  in_submit = false;
  EXPECT_EQ(ch_->in_flight(), 1u);
  ASSERT_TRUE(run_until(loop_, [&] { return chained == 50; }));
  EXPECT_FALSE(ran_inline);
  EXPECT_EQ(op.result, 0);

  // Errors are found in submit() already but are still delivered later.
  Op bad;
  in_submit = true;
  bad.then = [&](Op&) { ran_inline = in_submit; };
  ch_->submit(bad.read(buf.data(), 4096, kDeviceSize).req);
  in_submit = false;
  EXPECT_FALSE(bad.done());
  ASSERT_TRUE(run_until(loop_, [&] { return bad.done(); }));
  EXPECT_FALSE(ran_inline);
}

TEST_P(IoContract, ThousandWritesAtDepth64CompleteExactlyOnce) {
  constexpr int kTotal = 1000, kDepth = 64;
  constexpr uint64_t kLen = 4096;
  AlignedBuffer data(kTotal * kLen);
  std::vector<Op> ops(kTotal);
  int next = 0, completed = 0;
  unsigned max_in_flight = 0;
  bool in_submit = false, ran_inline = false;
  auto start = [&](int i) {
    uint64_t off = (static_cast<uint64_t>(i) * 7919 % kTotal) * kLen;  // scattered
    fill_pattern(data.data() + i * kLen, kLen, off, 100 + i);
    ops[i].write(data.data() + i * kLen, kLen, off, /*fua=*/i % 10 == 0);
    ops[i].then = [&](Op& op) {
      ran_inline |= in_submit;
      ++completed;
      EXPECT_EQ(op.result, 0);
      if (next < kTotal) {
        in_submit = true;
        ch_->submit(ops[next++].req);
        in_submit = false;
      }
      max_in_flight = std::max(max_in_flight, ch_->in_flight());
    };
  };
  for (int i = 0; i < kTotal; ++i) start(i);
  for (; next < kDepth; ++next) ch_->submit(ops[next].req);
  ASSERT_TRUE(run_until(loop_, [&] { return completed == kTotal; }));
  EXPECT_FALSE(ran_inline);
  EXPECT_LE(max_in_flight, static_cast<unsigned>(kDepth));
  for (const Op& op : ops) EXPECT_EQ(op.calls, 1);
  EXPECT_EQ(ch_->in_flight(), 0u);

  auto got = read_back(0, kTotal * kLen);
  for (int i = 0; i < kTotal; ++i) {
    uint64_t off = (static_cast<uint64_t>(i) * 7919 % kTotal) * kLen;
    ASSERT_TRUE(matches_pattern(got.data() + off, kLen, off, 100 + i)) << "write " << i;
  }
}

TEST_P(IoContract, BurstLargerThanTheChannelQueuesAndCompletes) {
  constexpr int kTotal = 1000;
  constexpr uint64_t kLen = 512;
  AlignedBuffer data(kTotal * 4096);
  std::vector<Op> ops(kTotal);
  for (int i = 0; i < kTotal; ++i) {
    fill_pattern(data.data() + i * 4096, kLen, i * kLen, 9);
    ch_->submit(ops[i].write(data.data() + i * 4096, kLen, i * kLen).req);
  }
  EXPECT_EQ(ch_->in_flight(), static_cast<unsigned>(kTotal));
  ASSERT_TRUE(run_until(loop_, [&] { return ch_->in_flight() == 0; }));
  for (const Op& op : ops) {
    EXPECT_EQ(op.calls, 1);
    EXPECT_EQ(op.result, 0);
  }
  auto got = read_back(0, kTotal * kLen);
  EXPECT_TRUE(matches_pattern(got.data(), kTotal * kLen, 0, 9));
}

TEST_P(IoContract, WriteZeroesClearsOnlyItsRange) {
  for (bool unmap : {false, true}) {
    const uint64_t off = 8u << 20, len = 1u << 20;
    write_pattern(off, len, 21);
    Op z;
    ASSERT_EQ(run(z.range(IoOp::kWriteZeroes, off + 4096 + 512, 256 << 10, unmap)), 0);
    auto got = read_back(off, len);
    EXPECT_TRUE(matches_pattern(got.data(), 4608, off, 21)) << "unmap " << unmap;
    EXPECT_TRUE(all_zero(got.data() + 4608, 256 << 10)) << "unmap " << unmap;
    const uint64_t tail = 4608 + (256 << 10);
    EXPECT_TRUE(matches_pattern(got.data() + tail, len - tail, off + tail, 21))
        << "unmap " << unmap;
  }
}

TEST_P(IoContract, DiscardDeallocatesWhereSupported) {
  const uint64_t off = 16u << 20, len = 1u << 20;
  write_pattern(off, len, 31);
  Op d;
  int rc = run(d.range(IoOp::kDiscard, off, 512 << 10));
  if (!dev_->info().supports_discard) {
    EXPECT_EQ(rc, -EOPNOTSUPP);
    return;
  }
  ASSERT_EQ(rc, 0);
  auto got = read_back(off, len);
  if (dev_->info().discard_zeroes) {
    EXPECT_TRUE(all_zero(got.data(), 512 << 10));
  }
  EXPECT_TRUE(matches_pattern(got.data() + (512 << 10), 512 << 10, off + (512 << 10), 31));
}

TEST_P(IoContract, TwoLoopsOnTwoThreadsWriteDisjointRanges) {
  constexpr int kWrites = 200, kDepth = 16;
  constexpr uint64_t kLen = 4096;
  std::atomic<int> failures{0};
  auto writer = [&](uint64_t base, uint32_t seed) {
    boost::asio::io_context loop;
    auto ch = dev_->make_channel(loop);
    AlignedBuffer data(kWrites * kLen);
    std::vector<Op> ops(kWrites);
    int next = 0, completed = 0;
    for (int i = 0; i < kWrites; ++i) {
      fill_pattern(data.data() + i * kLen, kLen, base + i * kLen, seed);
      ops[i].write(data.data() + i * kLen, kLen, base + i * kLen);
      ops[i].then = [&](Op& op) {
        if (op.result != 0) ++failures;
        ++completed;
        if (next < kWrites) ch->submit(ops[next++].req);
      };
    }
    for (; next < kDepth; ++next) ch->submit(ops[next].req);
    if (!run_until(loop, [&] { return completed == kWrites; })) ++failures;
    Op flush;
    if (run_op(*ch, loop, flush.flush()) != 0) ++failures;
    for (const Op& op : ops)
      if (op.calls != 1) ++failures;
  };
  std::thread a(writer, 0, 41);
  std::thread b(writer, 32u << 20, 42);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  auto first = read_back(0, kWrites * kLen);
  auto second = read_back(32u << 20, kWrites * kLen);
  EXPECT_TRUE(matches_pattern(first.data(), kWrites * kLen, 0, 41));
  EXPECT_TRUE(matches_pattern(second.data(), kWrites * kLen, 32u << 20, 42));
}

TEST_P(IoContract, ChannelMayBeDestroyedFromItsLastCompletion) {
  AlignedBuffer buf(4096);
  Op op;
  bool destroyed = false;
  op.then = [&](Op&) {
    if (ch_->in_flight() == 0) {
      ch_.reset();
      destroyed = true;
    }
  };
  ch_->submit(op.read(buf.data(), 4096, 0).req);
  ASSERT_TRUE(run_until(loop_, [&] { return destroyed; }));
  loop_.restart();
  loop_.run_for(std::chrono::milliseconds(50));  // leftovers must be harmless
}

TEST_P(IoContract, LoopRunReturnsOnceIdle) {
  AlignedBuffer buf(4096);
  std::vector<Op> ops(20);
  for (int i = 0; i < 20; ++i) ch_->submit(ops[i].read(buf.data(), 4096, i * 4096ull).req);
  auto t0 = std::chrono::steady_clock::now();
  loop_.run_for(std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5))
      << "an idle channel kept the loop busy";
  for (const Op& op : ops) EXPECT_EQ(op.calls, 1);
}

// file_direct lives in /var/tmp, on disk in Debian (where /tmp may be a tmpfs);
// tmpfs takes O_DIRECT from Linux 6.6 on, so there it is whatever the kernel allows.
const Backend kBackends[] = {
    {"memory", [](const TempDir&) { return make_memory(kDeviceSize); }},
    {"file_direct", [](const TempDir& d) { return open_file(d, true); }, "/var/tmp",
     Direct::kRequired},
    {"file_buffered", [](const TempDir& d) { return open_file(d, false); }, "/tmp", Direct::kOff},
    // tmpfs has O_DIRECT since Linux 6.6; before, it is served buffered.
    {"tmpfs",
     [](const TempDir& d) {
       try {
         return open_file(d, true);
       } catch (const OpenError&) {
         return open_file(d, false);
       }
     },
     "/dev/shm", Direct::kAsReported},
};

INSTANTIATE_TEST_SUITE_P(Backends, IoContract, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sharedisk::blockdev::testing
