#include "blockdev/buffered_channel.h"

#include <sys/uio.h>
#include <unistd.h>

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
    : device_(device), loop_(loop), alive_(std::make_shared<char>()), results_(256), taking_(256) {}

BufferedChannel::~BufferedChannel() {
  if (destroyed_) *destroyed_ = true;
}

void BufferedChannel::submit(IoRequest& req) {
  ++in_flight_;
  if (int err = device_.check(req); err != 0) {
    refused_.push(&req, err);
    if (refused_scheduled_) return;
    refused_scheduled_ = true;
    if (util::LoopTurn::defer(this)) return;
    boost::asio::post(loop_, [this, alive = std::weak_ptr<char>(alive_)] {
      util::LoopTurn turn;
      if (!alive.expired()) run_refused();
    });
    return;
  }
  if (in_pool_++ == 0) work_.emplace(loop_.get_executor());
  device_.pool().push(&req, this);
}

void BufferedChannel::run_refused() {
  refused_scheduled_ = false;
  for (size_t n = refused_.size(); n > 0; --n) {
    auto e = refused_.pop();
    if (!deliver(*e.req, e.result)) return;
  }
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
