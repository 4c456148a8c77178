// open_aio_file() on a real block device: a loop device over a sparse file.
// Needs root and a usable /dev/loop-control; skipped otherwise.
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>

#include "blockdev_test_support.h"

namespace sharedisk::blockdev::testing {
namespace {

constexpr uint64_t kSize = 64ull << 20;

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

class LoopDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "loop devices need root";
    ASSERT_TRUE(dir_.ok());
    backing_ = dir_.file("backing.img");
    { auto created = open_aio_file(OpenOptions{backing_, kSize}); }
    dev_path_ = run_command("losetup --find --show " + backing_ + " 2>/dev/null");
    if (dev_path_.rfind("/dev/loop", 0) != 0) GTEST_SKIP() << "losetup unavailable here";
  }
  void TearDown() override {
    if (dev_path_.rfind("/dev/loop", 0) == 0) run_command("losetup -d " + dev_path_);
  }

  uint64_t backing_allocated() const {
    struct stat st {};
    EXPECT_EQ(::stat(backing_.c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  TempDir dir_;
  std::string backing_;
  std::string dev_path_;
};

TEST_F(LoopDevice, SizeAndGeometryComeFromTheDevice) {
  auto dev = open_aio_file(OpenOptions{dev_path_});
  EXPECT_TRUE(dev->info().is_block_device);
  EXPECT_EQ(dev->info().size_bytes, kSize);
  EXPECT_GE(dev->info().physical_block_size, 512u);
  EXPECT_TRUE(dev->info().direct_io);
  EXPECT_FALSE(dev->info().discard_zeroes);
}

TEST_F(LoopDevice, ASizeIsRefusedForABlockDevice) {
  try {
    open_aio_file(OpenOptions{dev_path_, 1 << 20});
    FAIL() << "opened";
  } catch (const OpenError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(dev_path_));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("block device"));
  }
}

TEST_F(LoopDevice, ReadWriteZeroAndDiscard) {
  auto dev = open_aio_file(OpenOptions{dev_path_});
  boost::asio::io_context loop;
  auto ch = dev->make_channel(loop);
  const uint64_t len = 8 << 20;
  AlignedBuffer buf(len);
  fill_pattern(buf.data(), len, 0, 12);
  Op w, f, r;
  ASSERT_EQ(run_op(*ch, loop, w.write(buf.data(), len, 0, /*fua=*/true)), 0);
  ASSERT_EQ(run_op(*ch, loop, f.flush()), 0);
  ASSERT_EQ(run_op(*ch, loop, r.read(buf.data(), len, 0)), 0);
  ASSERT_TRUE(matches_pattern(buf.data(), len, 0, 12));

  for (bool unmap : {false, true}) {
    fill_pattern(buf.data(), len, 0, 13);
    Op w2, z, r2;
    ASSERT_EQ(run_op(*ch, loop, w2.write(buf.data(), len, 0)), 0);
    ASSERT_EQ(run_op(*ch, loop, z.range(IoOp::kWriteZeroes, 1 << 20, 1 << 20, unmap)), 0);
    ASSERT_EQ(run_op(*ch, loop, r2.read(buf.data(), len, 0)), 0);
    EXPECT_TRUE(all_zero(buf.data() + (1 << 20), 1 << 20)) << "unmap " << unmap;
    EXPECT_TRUE(matches_pattern(buf.data(), 1 << 20, 0, 13));
    EXPECT_TRUE(matches_pattern(buf.data() + (2 << 20), 1 << 20, 2 << 20, 13));
  }

  Op f1;
  ASSERT_EQ(run_op(*ch, loop, f1.flush()), 0);
  const uint64_t before = backing_allocated();
  EXPECT_GE(before, len - (2 << 20)) << "the last zeroing may have unmapped 1 MiB";
  Op d;
  int rc = run_op(*ch, loop, d.range(IoOp::kDiscard, 0, len));
  if (!dev->info().supports_discard) {
    EXPECT_EQ(rc, -EOPNOTSUPP);
    return;
  }
  ASSERT_EQ(rc, 0);
  Op f2;
  ASSERT_EQ(run_op(*ch, loop, f2.flush()), 0);
  // A loop device passes the discard to its file as a punched hole.
  EXPECT_LT(backing_allocated(), before) << "before " << before;
}

TEST_F(LoopDevice, ReadOnlyRejectsWrites) {
  OpenOptions o{dev_path_};
  o.read_only = true;
  auto dev = open_aio_file(o);
  boost::asio::io_context loop;
  auto ch = dev->make_channel(loop);
  AlignedBuffer buf(4096);
  Op w, r;
  EXPECT_EQ(run_op(*ch, loop, w.write(buf.data(), 4096, 0)), -EROFS);
  EXPECT_EQ(run_op(*ch, loop, r.read(buf.data(), 4096, 0)), 0);
}

}  // namespace
}  // namespace sharedisk::blockdev::testing
