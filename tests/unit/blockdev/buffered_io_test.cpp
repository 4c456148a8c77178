// Buffered I/O (direct: false) must never block the event loop (issue 11,
// bug 7). Linux AIO on a buffered descriptor does the copy, and for uncached
// data the disk read, synchronously inside io_submit(); a LUN on such a
// backing stalled every connection of its loop for as long as its I/O took.
//
// To make an I/O slow on purpose, the write buffer is a page registered with
// userfaultfd: whoever copies from it (the kernel, on behalf of io_submit or
// pwritev) sleeps until this test supplies the page. Meanwhile a RAM LUN's
// read, submitted on the same loop, must complete at once.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "blockdev/buffered_channel.h"
#include "blockdev_test_support.h"

namespace sharedisk::blockdev::testing {
namespace {

using Clock = std::chrono::steady_clock;

// One anonymous page whose first touch blocks until resolve() (or until
// `limit` has passed since the fault, so a broken build fails instead of
// hanging).
class StalledPage {
 public:
  StalledPage() {
    page_ = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uffd_ = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
    if (page_ == MAP_FAILED || uffd_ < 0) {
      error_ = std::string("userfaultfd: ") + std::strerror(errno);
      return;
    }
    uffdio_api api{};
    api.api = UFFD_API;
    uffdio_register reg{};
    reg.range.start = reinterpret_cast<uintptr_t>(page_);
    reg.range.len = 4096;
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (::ioctl(uffd_, UFFDIO_API, &api) != 0 || ::ioctl(uffd_, UFFDIO_REGISTER, &reg) != 0)
      error_ = std::string("UFFDIO_API/REGISTER: ") + std::strerror(errno);
  }
  ~StalledPage() {
    resolve();
    if (thread_.joinable()) thread_.join();
    if (uffd_ >= 0) ::close(uffd_);
    if (page_ != MAP_FAILED) ::munmap(page_, 4096);
  }

  const std::string& error() const { return error_; }
  void* data() const { return page_; }
  bool faulted() const { return faulted_.load(); }

  // Serves the fault on a thread: once it happens, waits for resolve() or
  // `limit`, then maps `contents` in.
  void start(const uint8_t* contents, std::chrono::milliseconds limit) {
    std::memcpy(contents_.data(), contents, 4096);
    thread_ = std::thread([this, limit] {
      auto give_up = Clock::now() + std::chrono::seconds(20);
      pollfd p{uffd_, POLLIN, 0};
      while (Clock::now() < give_up && ::poll(&p, 1, 50) == 0) {
      }
      uffd_msg msg{};
      if (::read(uffd_, &msg, sizeof msg) != sizeof msg) return;
      faulted_ = true;
      auto deadline = Clock::now() + limit;
      while (!resolve_.load() && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      uffdio_copy copy{};
      copy.dst = reinterpret_cast<uintptr_t>(page_);
      copy.src = reinterpret_cast<uintptr_t>(contents_.data());
      copy.len = 4096;
      ::ioctl(uffd_, UFFDIO_COPY, &copy);
    });
  }
  void resolve() { resolve_ = true; }

 private:
  void* page_ = MAP_FAILED;
  int uffd_ = -1;
  std::string error_;
  AlignedBuffer contents_{4096};
  std::atomic<bool> faulted_{false}, resolve_{false};
  std::thread thread_;
};

TEST(BufferedIo, AStalledBufferedWriteDoesNotDelayAnotherLunOnTheSameLoop) {
  TempDir dir("/var/tmp");
  ASSERT_TRUE(dir.ok());
  StalledPage page;
  if (!page.error().empty()) GTEST_SKIP() << page.error() << " (needs root or CAP_SYS_PTRACE)";
  AlignedBuffer pattern(4096);
  fill_pattern(pattern.data(), 4096, 8192, 7);
  constexpr auto kStall = std::chrono::milliseconds(1500);
  page.start(pattern.data(), kStall);

  OpenOptions o;
  o.path = dir.file("buffered.img");
  o.create_size = 1 << 20;
  o.direct = false;
  auto slow = open_aio_file(o);
  ASSERT_FALSE(slow->info().direct_io);
  auto fast = make_memory(1 << 20);
  boost::asio::io_context loop;
  auto slow_ch = slow->make_channel(loop);
  auto fast_ch = fast->make_channel(loop);

  // Warm up both paths first (threads, handler memory, the RAM page): the
  // stalled thread holds the page fault, and whatever else in this process
  // needs the address-space lock (a thread's stack, a heap that grows)
  // would wait for it too, which is not what this test is about.
  AlignedBuffer back(4096), warm(4096);
  for (int i = 0; i < 2; ++i) {
    Op w0, r0;
    ASSERT_EQ(run_op(*slow_ch, loop, w0.write(warm.data(), 4096, 0)), 0);
    ASSERT_EQ(run_op(*fast_ch, loop, r0.read(back.data(), 4096, 0)), 0);
  }

  // The stalled write first, then the RAM read, as two initiators' commands
  // arriving on one loop.
  Op write, read;
  slow_ch->submit(write.write(page.data(), 4096, 8192).req);
  auto t0 = Clock::now();
  fast_ch->submit(read.read(back.data(), 4096, 0).req);
  ASSERT_TRUE(run_until(
      loop, [&] { return read.done(); }, std::chrono::seconds(10)));
  auto fast_latency = Clock::now() - t0;
  bool write_was_stalled = !write.done();
  page.resolve();
  ASSERT_TRUE(run_until(
      loop, [&] { return write.done(); }, std::chrono::seconds(10)));

  EXPECT_EQ(read.result, 0);
  EXPECT_TRUE(write_was_stalled) << "the write completed before its buffer was supplied";
  EXPECT_LT(fast_latency, std::chrono::milliseconds(500))
      << "the RAM LUN's read waited "
      << std::chrono::duration_cast<std::chrono::milliseconds>(fast_latency).count()
      << " ms behind the buffered LUN's write: the loop was blocked";
  EXPECT_TRUE(page.faulted());

  // And the stalled write still lands, with the data supplied late.
  ASSERT_EQ(write.result, 0);
  Op check;
  AlignedBuffer got(4096);
  ASSERT_EQ(run_op(*slow_ch, loop, check.read(got.data(), 4096, 8192)), 0);
  EXPECT_TRUE(matches_pattern(got.data(), 4096, 8192, 7));
}

// A read whose pages are all in the page cache is copied on the loop
// (preadv2 with RWF_NOWAIT) and does not wait for an I/O thread: here every
// thread of the pool is held by a write, the first of which waits for its
// source page, and the pool runs its queue in order.
TEST(BufferedIo, ACachedReadDoesNotWaitForBusyIoThreads) {
  TempDir dir("/var/tmp");
  ASSERT_TRUE(dir.ok());
  std::vector<std::unique_ptr<StalledPage>> pages;
  AlignedBuffer pattern(4096);
  fill_pattern(pattern.data(), 4096, 8192, 9);
  for (unsigned i = 0; i < IoThreadPool::kThreads; ++i) {
    pages.push_back(std::make_unique<StalledPage>());
    if (!pages.back()->error().empty())
      GTEST_SKIP() << pages.back()->error() << " (needs root or CAP_SYS_PTRACE)";
    pages.back()->start(pattern.data(), std::chrono::milliseconds(5000));
  }

  OpenOptions o;
  o.path = dir.file("buffered.img");
  o.create_size = 1 << 20;
  o.direct = false;
  auto dev = open_aio_file(o);
  ASSERT_FALSE(dev->info().direct_io);
  boost::asio::io_context loop;
  auto ch = dev->make_channel(loop);

  // Written through the channel, so the block is in the page cache.
  AlignedBuffer data(4096), back(4096);
  fill_pattern(data.data(), 4096, 0, 3);
  Op w0;
  ASSERT_EQ(run_op(*ch, loop, w0.write(data.data(), 4096, 0)), 0);
  // Start every thread of the pool before any fault (see the test above):
  // twice as many concurrent writes as threads.
  for (int round = 0; round < 2; ++round) {
    std::vector<Op> warm(2 * IoThreadPool::kThreads);
    for (auto& w : warm) ch->submit(w.write(data.data(), 4096, 4096).req);
    ASSERT_TRUE(run_until(
        loop,
        [&] {
          for (auto& w : warm)
            if (!w.done()) return false;
          return true;
        },
        std::chrono::seconds(10)));
  }

  std::vector<Op> writes(IoThreadPool::kThreads);
  for (unsigned i = 0; i < writes.size(); ++i)
    ch->submit(writes[i].write(pages[i]->data(), 4096, 8192 + 4096 * i).req);
  // The first write holds the file's inode lock while its source page is
  // missing, so the others wait for it on their threads (or, if a thread had
  // not taken them yet, in the pool's queue ahead of the read).
  ASSERT_TRUE(run_until(
      loop, [&] { return pages[0]->faulted(); }, std::chrono::seconds(10)))
      << "the first write never touched its source page";

  Op read;
  ch->submit(read.read(back.data(), 4096, 0).req);
  ASSERT_TRUE(run_until(
      loop, [&] { return read.done(); }, std::chrono::seconds(3)))
      << "the cached read waited for an I/O thread";
  unsigned writes_done = 0;
  for (auto& w : writes) writes_done += w.done() ? 1 : 0;
  EXPECT_EQ(writes_done, 0u) << "a stalled write finished before the read: nothing was proven";
  ASSERT_EQ(read.result, 0);
  EXPECT_TRUE(matches_pattern(back.data(), 4096, 0, 3));

  for (auto& p : pages) p->resolve();
  ASSERT_TRUE(run_until(
      loop,
      [&] {
        for (auto& w : writes)
          if (!w.done()) return false;
        return true;
      },
      std::chrono::seconds(10)));
  for (unsigned i = 0; i < writes.size(); ++i) {
    ASSERT_EQ(writes[i].result, 0);
    Op check;
    AlignedBuffer got(4096);
    ASSERT_EQ(run_op(*ch, loop, check.read(got.data(), 4096, 8192 + 4096 * i)), 0);
    EXPECT_TRUE(matches_pattern(got.data(), 4096, 8192, 9)) << "write " << i;
  }
}

}  // namespace
}  // namespace sharedisk::blockdev::testing
