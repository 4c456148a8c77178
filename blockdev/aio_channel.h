// One event loop's path to an AioFileDevice through its own kernel AIO context.
//
// submit() only prepares an iocb in a preallocated slot and queues it; a single
// io_submit() sends the whole batch from a handler posted to the loop (or at
// the end of the completion handler, when callbacks submitted more). The kernel
// signals completions on an eventfd that the loop watches; the handler reaps
// them with io_getevents in batches and runs the callbacks. Nothing on this
// path takes a lock or allocates: slots, the submit batch and the event array
// are sized at construction, and the overflow queues only grow.
//
// More requests than slots wait in a FIFO and take slots as completions free
// them; if the kernel answers EAGAIN they stay queued and are retried on the
// next completion (or on a short timer when nothing is in flight).
#pragma once

#include <libaio.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "blockdev/aio_file_device.h"
#include "blockdev/request_queue.h"
#include "util/loop_turn.h"

namespace sharedisk::blockdev {

class AioChannel final : public IoChannel, private util::Deferred {
 public:
  static constexpr unsigned kDepth = 256;      // iocb slots and kernel ring size
  static constexpr unsigned kReapBatch = 128;  // events per io_getevents call

  // ring_depth: the kernel ring asked for; smaller than kDepth only in tests,
  // to exercise the EAGAIN path.
  AioChannel(AioFileDevice& device, boost::asio::io_context& loop, unsigned ring_depth = kDepth);
  ~AioChannel() override;

  void submit(IoRequest& req) override;
  unsigned in_flight() const override { return in_flight_; }

 private:
  struct Slot {
    iocb cb;
    IoRequest* req;
  };

  void prepare(IoRequest& req);
  void run_on_worker(IoRequest& req);
  void schedule_kick();
  void kick();
  void run_deferred() override { kick(); }
  void arm_wait();
  void arm_retry();
  void on_ready();
  // Each returns false when the channel was destroyed by a callback.
  bool reap(unsigned& got);
  bool run_done(size_t max);
  // Gives queued requests to the kernel; with `arm`, waits on the eventfd
  // while the kernel holds any.
  void submit_pending(bool arm = true);
  bool finish(IoRequest& req, int result);
  void release(Slot* slot) { free_[free_count_++] = slot; }

  AioFileDevice& device_;
  boost::asio::io_context& loop_;
  io_context_t ctx_ = nullptr;
  boost::asio::posix::stream_descriptor eventfd_;
  boost::asio::steady_timer retry_timer_;

  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<Slot*[]> free_;
  unsigned free_count_ = 0;
  std::unique_ptr<iocb*[]> pending_;  // prepared, not yet given to io_submit
  unsigned pending_count_ = 0;
  RequestQueue waiting_;  // no free slot yet
  RequestQueue done_;     // finished without reaching the kernel
  io_event events_[kReapBatch];

  unsigned in_flight_ = 0;
  unsigned kernel_in_flight_ = 0;
  bool kick_scheduled_ = false;
  bool dispatching_ = false;  // inside callbacks; submit_pending runs afterwards
  bool armed_ = false;        // an eventfd wait is outstanding
  bool retry_armed_ = false;
  bool* destroyed_ = nullptr;  // set while a callback runs, see finish()
  // Posted handlers hold a weak reference, so one that runs after the channel
  // was destroyed does nothing.
  std::shared_ptr<char> alive_;
};

}  // namespace sharedisk::blockdev
