#include "blockdev/buffered_channel.h"

#include <sys/uio.h>
#include <unistd.h>

#include <climits>

#include <boost/asio/post.hpp>
#include <cerrno>

#include "blockdev/aio_file_device.h"

namespace sharedisk::blockdev {

// ---- IoThreadPool

IoThreadPool::~IoThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void IoThreadPool::push(IoRequest* req, BufferedChannel* channel) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back({req, channel});
    // One more thread while none is idle and fewer than kThreads exist.
    if (jobs_.size() > idle_ && threads_.size() < kThreads)
      threads_.emplace_back([this] { loop(); });
  }
  wake_.notify_one();
}

void IoThreadPool::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty()) return;  // stopping and drained
    Job job = jobs_.front();
    jobs_.pop_front();
    lock.unlock();
    job.channel->execute(*job.req);
    lock.lock();
  }
}

// ---- the blocking calls

namespace {

constexpr int kMaxIov = 64;

// preadv/pwritev2 until `req` is done; 0 or a negative errno.
int transfer(int fd, const IoRequest& req, bool dsync) {
  iovec local[kMaxIov];
  if (req.length == 0) return 0;
  if (req.iovcnt <= 0 || req.iovcnt > kMaxIov) return -EINVAL;
  int count = req.iovcnt;
  for (int i = 0; i < count; ++i) local[i] = req.iov[i];
  iovec* iov = local;
  off_t offset = static_cast<off_t>(req.offset);
  const bool write = req.op == IoOp::kWrite;
  while (count > 0) {
    ssize_t n = write ? ::pwritev2(fd, iov, count, offset, dsync ? RWF_DSYNC : 0)
                      : ::preadv(fd, iov, count, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    // Nothing more: the end of a file that shrank under us, or no space.
    if (n == 0) return write ? -ENOSPC : -EIO;
    offset += n;
    while (count > 0 && static_cast<size_t>(n) >= iov->iov_len) {
      n -= static_cast<ssize_t>(iov->iov_len);
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + n;
      iov->iov_len -= static_cast<size_t>(n);
    }
  }
  return 0;
}

}  // namespace

// ---- BufferedChannel

BufferedChannel::BufferedChannel(AioFileDevice& device, boost::asio::io_context& loop)
    : device_(device), loop_(loop), ready_(loop, *this), results_(256), taking_(256) {}

BufferedChannel::~BufferedChannel() {
  if (destroyed_) *destroyed_ = true;
}

void BufferedChannel::submit(IoRequest& req) {
  ++in_flight_;
  if (int err = device_.check(req); err != 0) {
    ready_.push(req, err);
    return;
  }
  if (req.op == IoOp::kRead && read_from_page_cache(req)) {
    ready_.push(req, 0);
    return;
  }
  if (in_pool_++ == 0) work_.emplace(loop_.get_executor());
  device_.pool().push(&req, this);
}

bool BufferedChannel::read_from_page_cache(IoRequest& req) {
  if (!nowait_reads_ || req.length == 0 || req.iovcnt <= 0 || req.iovcnt > IOV_MAX) return false;
  ssize_t n =
      ::preadv2(device_.fd(), req.iov, req.iovcnt, static_cast<off_t>(req.offset), RWF_NOWAIT);
  if (n == static_cast<ssize_t>(req.length)) return true;
  // EAGAIN: some page is not cached; a short count: part of it. The pool
  // reads the whole request again. A kernel or filesystem without
  // RWF_NOWAIT says so once; the channel stops asking.
  if (n < 0 && errno == EOPNOTSUPP) nowait_reads_ = false;
  return false;
}

void BufferedChannel::execute(IoRequest& req) {
  const int fd = device_.fd();
  int result;
  switch (req.op) {
    case IoOp::kRead:
      result = transfer(fd, req, false);
      break;
    case IoOp::kWrite:
      result = transfer(fd, req, req.fua || device_.cache_mode() == CacheMode::kWriteThrough);
      break;
    case IoOp::kFlush:
      result = device_.sync();
      break;
    case IoOp::kDiscard:
      result = device_.discard(req.offset, req.length);
      break;
    default:
      result = device_.write_zeroes(req.offset, req.length, req.unmap);
      break;
  }
  // The channel is alive: req is in flight until its result is delivered,
  // and only the loop delivers it.
  bool post;
  {
    std::lock_guard lock(results_mutex_);
    results_.push(&req, result);
    post = !results_posted_;
    results_posted_ = true;
  }
  if (post) {
    boost::asio::post(loop_, [this] {
      util::LoopTurn turn;
      on_results();
    });
  }
}

void BufferedChannel::on_results() {
  {
    std::lock_guard lock(results_mutex_);
    results_posted_ = false;
    while (!results_.empty()) {
      auto e = results_.pop();
      taking_.push(e.req, e.result);
    }
  }
  if (in_pool_ -= static_cast<unsigned>(taking_.size()); in_pool_ == 0) work_.reset();
  while (!taking_.empty()) {
    auto e = taking_.pop();
    if (!deliver(*e.req, e.result)) return;
  }
}

bool BufferedChannel::deliver(IoRequest& req, int result) {
  --in_flight_;
  bool destroyed = false;
  destroyed_ = &destroyed;
  req.callback->io_done(req, result);
  if (destroyed) return false;
  destroyed_ = nullptr;
  return true;
}

}  // namespace sharedisk::blockdev
