#include "blockdev/aio_channel.h"

#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

namespace sharedisk::blockdev {

namespace {

// Turns an io_event result into the 0 / -errno the contract promises.
int to_result(const IoRequest& req, long res) {
  if (res < 0) return static_cast<int>(res);
  if (req.op != IoOp::kRead && req.op != IoOp::kWrite) return 0;
  if (static_cast<uint64_t>(res) == req.length) return 0;
  // Short transfers only happen past the end of a file that shrank under us,
  // or when a write ran out of space.
  return req.op == IoOp::kWrite ? -ENOSPC : -EIO;
}

}  // namespace

AioChannel::AioChannel(AioFileDevice& device, boost::asio::io_context& loop, unsigned ring_depth)
    : device_(device),
      loop_(loop),
      eventfd_(loop),
      retry_timer_(loop),
      slots_(std::make_unique<Slot[]>(kDepth)),
      free_(std::make_unique<Slot*[]>(kDepth)),
      pending_(std::make_unique<iocb*[]>(kDepth)),
      waiting_(kDepth),
      done_(64),
      alive_(std::make_shared<char>()) {
  // Each context reserves about twice its depth of fs.aio-max-nr. When the
  // system is short, a smaller ring still works: io_submit then answers EAGAIN
  // sooner and the extra requests wait in the channel.
  int rc = -EAGAIN;
  for (unsigned depth = ring_depth; depth >= 16 && rc == -EAGAIN; depth /= 4)
    rc = io_setup(depth, &ctx_);
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_setup");
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    int err = errno;
    io_destroy(ctx_);
    throw std::system_error(err, std::generic_category(), "eventfd");
  }
  eventfd_.assign(efd);
  for (unsigned i = 0; i < kDepth; ++i) free_[free_count_++] = &slots_[i];
}

AioChannel::~AioChannel() {
  if (destroyed_) *destroyed_ = true;
  // Waits for anything still in the kernel, so no iocb outlives its slot.
  io_destroy(ctx_);
}

void AioChannel::submit(IoRequest& req) {
  ++in_flight_;
  int err = device_.check(req);
  if (err != 0) {
    done_.push(&req, err);
  } else if (req.op == IoOp::kDiscard || req.op == IoOp::kWriteZeroes ||
             (req.op == IoOp::kFlush && !device_.aio_fdsync())) {
    run_on_worker(req);
    return;
  } else if (free_count_ > 0 && waiting_.empty()) {
    prepare(req);
  } else {
    waiting_.push(&req, 0);
  }
  schedule_kick();
}

void AioChannel::prepare(IoRequest& req) {
  Slot* slot = free_[--free_count_];
  slot->req = &req;
  iocb* cb = &slot->cb;
  const int fd = device_.fd();
  switch (req.op) {
    case IoOp::kRead:
      if (req.iovcnt == 1)
        io_prep_pread(cb, fd, req.iov[0].iov_base, req.iov[0].iov_len, req.offset);
      else
        io_prep_preadv(cb, fd, req.iov, req.iovcnt, req.offset);
      break;
    case IoOp::kWrite:
      if (req.iovcnt == 1)
        io_prep_pwrite(cb, fd, req.iov[0].iov_base, req.iov[0].iov_len, req.offset);
      else
        io_prep_pwritev(cb, fd, req.iov, req.iovcnt, req.offset);
      // FUA and write-through: durable before the completion, as O_DSYNC would.
      if (req.fua || device_.cache_mode() == CacheMode::kWriteThrough) cb->aio_rw_flags = RWF_DSYNC;
      break;
    default:  // kFlush; discard and write-zeroes never get here
      io_prep_fdsync(cb, fd);
      break;
  }
  io_set_eventfd(cb, eventfd_.native_handle());
  cb->data = slot;
  pending_[pending_count_++] = cb;
}

void AioChannel::run_on_worker(IoRequest& req) {
  AioFileDevice* device = &device_;
  boost::asio::io_context* loop = &loop_;
  std::weak_ptr<char> alive = alive_;
  IoRequest* r = &req;
  device_.worker().run([this, device, loop, alive, r] {
    int result;
    switch (r->op) {
      case IoOp::kDiscard:
        result = device->discard(r->offset, r->length);
        break;
      case IoOp::kWriteZeroes:
        result = device->write_zeroes(r->offset, r->length, r->unmap);
        break;
      default:
        result = device->sync();
        break;
    }
    boost::asio::post(*loop, [this, alive, r, result] {
      util::LoopTurn turn;
      if (alive.expired()) return;
      dispatching_ = true;
      if (!finish(*r, result)) return;
      dispatching_ = false;
      submit_pending();
      if (!done_.empty()) schedule_kick();
    });
  });
}

void AioChannel::schedule_kick() {
  if (kick_scheduled_ || dispatching_) return;
  kick_scheduled_ = true;
  if (util::LoopTurn::defer(this)) return;
  boost::asio::post(loop_, [this, alive = std::weak_ptr<char>(alive_)] {
    util::LoopTurn turn;
    if (!alive.expired()) kick();
  });
}

void AioChannel::kick() {
  kick_scheduled_ = false;
  // Buffered I/O (and a fast device) has often completed inside io_submit:
  // reap it now, and arm the eventfd wait only for what is still in the
  // kernel, so such an I/O costs neither a wake-up nor an eventfd read. An
  // empty ring costs no syscall.
  submit_pending(false);
  if (kernel_in_flight_ > 0) {
    unsigned got = 0;
    if (!reap(got)) return;
  }
  // Only what was already done: callbacks that fail again wait for the next turn.
  if (!run_done(done_.size())) return;
  submit_pending();
  if (armed_) {
    // What completed between the reap above and the arming is in the ring;
    // anything later is signalled to the armed wait.
    unsigned got = 0;
    if (!reap(got)) return;
    if (got > 0) submit_pending();
  }
  if (!done_.empty()) schedule_kick();
}

void AioChannel::arm_wait() {
  armed_ = true;
  eventfd_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                      [this](const boost::system::error_code& ec) {
                        // Aborted: cancelled below, or the channel is gone.
                        if (ec) return;
                        util::LoopTurn turn;
                        on_ready();
                      });
}

void AioChannel::on_ready() {
  armed_ = false;
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(eventfd_.native_handle(), &count, sizeof count);
  // The loop's reactor is edge-triggered and our wait is armed only while the
  // kernel holds requests, so a completion signalled while no wait was armed
  // might not wake us. submit_pending() re-arms first and the ring is checked
  // again afterwards; the last, empty check costs no syscall (libaio reads the
  // ring in user space when the timeout is zero). kick() does the same.
  for (;;) {
    unsigned got = 0;
    if (!reap(got)) return;
    submit_pending();
    if (got == 0) break;
  }
  if (armed_ && kernel_in_flight_ == 0) {
    // Nothing more can complete; let io_context::run() return when idle.
    armed_ = false;
    eventfd_.cancel();
  }
  if (!done_.empty()) schedule_kick();
}

bool AioChannel::reap(unsigned& got) {
  timespec no_wait{};
  dispatching_ = true;
  for (;;) {
    int n = io_getevents(ctx_, 0, kReapBatch, events_, &no_wait);
    if (n == -EINTR) continue;
    if (n <= 0) break;
    kernel_in_flight_ -= n;
    got += n;
    for (int i = 0; i < n; ++i) {
      Slot* slot = static_cast<Slot*>(events_[i].data);
      IoRequest& req = *slot->req;
      release(slot);
      if (!finish(req, to_result(req, static_cast<long>(events_[i].res)))) return false;
    }
    if (n < static_cast<int>(kReapBatch)) break;
  }
  dispatching_ = false;
  return true;
}

bool AioChannel::run_done(size_t max) {
  dispatching_ = true;
  for (size_t i = 0; i < max && !done_.empty(); ++i) {
    auto entry = done_.pop();
    if (!finish(*entry.req, entry.result)) return false;
  }
  dispatching_ = false;
  return true;
}

bool AioChannel::finish(IoRequest& req, int result) {
  --in_flight_;
  bool destroyed = false;
  destroyed_ = &destroyed;
  req.callback->io_done(req, result);
  if (destroyed) return false;  // the callback destroyed this channel
  destroyed_ = nullptr;
  return true;
}

void AioChannel::submit_pending(bool arm) {
  for (;;) {
    while (free_count_ > 0 && !waiting_.empty()) prepare(*waiting_.pop().req);
    if (pending_count_ == 0) break;
    int n = io_submit(ctx_, pending_count_, pending_.get());
    if (n > 0) {
      kernel_in_flight_ += n;
      pending_count_ -= n;
      if (pending_count_ > 0)
        std::memmove(&pending_[0], &pending_[n], pending_count_ * sizeof(iocb*));
      continue;
    }
    if (n == -EINTR) continue;
    if (n == 0 || n == -EAGAIN) {
      // Kernel resources exhausted: retry when something completes, or on a
      // timer when nothing is in flight to complete.
      if (kernel_in_flight_ == 0) arm_retry();
      break;
    }
    // The first iocb was refused; the rest are fine.
    Slot* slot = static_cast<Slot*>(pending_[0]->data);
    --pending_count_;
    std::memmove(&pending_[0], &pending_[1], pending_count_ * sizeof(iocb*));
    IoRequest& req = *slot->req;
    const bool fdsync = slot->cb.aio_lio_opcode == IO_CMD_FDSYNC;
    release(slot);
    if (fdsync && n == -EINVAL) {
      device_.disable_aio_fdsync();  // no aio fsync for this file: fdatasync instead
      run_on_worker(req);
    } else {
      done_.push(&req, n);
    }
  }
  if (arm && kernel_in_flight_ > 0 && !armed_) arm_wait();
}

void AioChannel::arm_retry() {
  if (retry_armed_) return;
  retry_armed_ = true;
  retry_timer_.expires_after(std::chrono::milliseconds(1));
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // the channel is gone
    util::LoopTurn turn;
    retry_armed_ = false;
    submit_pending();
    if (!done_.empty()) schedule_kick();
  });
}

}  // namespace sharedisk::blockdev
