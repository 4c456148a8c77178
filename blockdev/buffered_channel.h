// Buffered I/O (a LUN with `direct: false`) without blocking the event loop.
//
// Linux AIO is only asynchronous for O_DIRECT: on a buffered descriptor
// io_submit() copies the data, and for an uncached read waits for the disk,
// before it returns, stalling every connection of the loop (issue 11, bug 7).
// So a buffered device never uses io_submit: its channels hand each request
// to a small pool of threads that run preadv/pwritev2/fdatasync/fallocate,
// and the results come back to the loop in batches (one posted handler per
// batch). This costs a lock and a thread hand-off per request, which is why
// O_DIRECT stays the default and the only mode for fast disks.
//
// Reads first try preadv2(RWF_NOWAIT) on the loop: when every page is in the
// page cache the kernel copies it without waiting for a disk, and the read
// completes at the end of the loop's turn without a thread hand-off. Writes
// always go to the pool: a buffered write can wait on dirty-page throttling or
// a page fault on its source even when the target pages are cached.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "blockdev/block_device.h"
#include "blockdev/completion_queue.h"
#include "blockdev/request_queue.h"
#include "util/loop_turn.h"

namespace sharedisk::blockdev {

class AioFileDevice;
class BufferedChannel;

// The device's I/O threads; started on first use, joined (after running
// everything queued) on destruction.
class IoThreadPool {
 public:
  static constexpr unsigned kThreads = 4;

  IoThreadPool() = default;
  ~IoThreadPool();
  IoThreadPool(const IoThreadPool&) = delete;
  IoThreadPool& operator=(const IoThreadPool&) = delete;

  void push(IoRequest* req, BufferedChannel* channel);

 private:
  struct Job {
    IoRequest* req;
    BufferedChannel* channel;
  };
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  size_t idle_ = 0;  // threads waiting for a job
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class BufferedChannel final : public IoChannel, private CompletionQueue::Sink {
 public:
  BufferedChannel(AioFileDevice& device, boost::asio::io_context& loop);
  ~BufferedChannel() override;

  void submit(IoRequest& req) override;
  unsigned in_flight() const override { return in_flight_; }

  // On a pool thread: runs req and hands the result back to the loop.
  void execute(IoRequest& req);

 private:
  void complete(IoRequest& req, int result) override { deliver(req, result); }
  // A read every page of which is in the page cache, done on the loop.
  bool read_from_page_cache(IoRequest& req);
  void on_results();
  bool deliver(IoRequest& req, int result);

  AioFileDevice& device_;
  boost::asio::io_context& loop_;
  // Keeps io_context::run() from returning while the pool holds requests.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  unsigned in_flight_ = 0;
  unsigned in_pool_ = 0;
  CompletionQueue ready_;  // refused, or read from the page cache, on the loop
  bool nowait_reads_ = true;
  bool* destroyed_ = nullptr;

  std::mutex results_mutex_;  // pool threads -> loop
  RequestQueue results_;
  RequestQueue taking_;  // loop only: the batch being delivered
  bool results_posted_ = false;
};

}  // namespace sharedisk::blockdev
