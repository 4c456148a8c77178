// One background thread per device for the syscalls that block by design.
//
// fallocate (punch hole / zero range), BLKDISCARD, BLKZEROOUT and the fdatasync
// fallback have no asynchronous form, and running them on an event-loop thread
// would stall every connection of that loop for as long as the disk takes. The
// worker runs them in submission order; each job posts its own completion back
// to the loop that asked. These operations are rare next to reads and writes,
// so a mutex and one allocation per job are fine here.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace sharedisk::blockdev {

class BlockingWorker {
 public:
  BlockingWorker() = default;
  // Runs every queued job, then joins the thread.
  ~BlockingWorker();
  BlockingWorker(const BlockingWorker&) = delete;
  BlockingWorker& operator=(const BlockingWorker&) = delete;

  // Thread-safe. The thread is started on first use.
  void run(std::function<void()> job);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sharedisk::blockdev
