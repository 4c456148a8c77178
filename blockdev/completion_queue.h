// Requests a channel has finished on its own loop (refused by a check, done
// in memory, read from the page cache, failed before reaching the store),
// waiting for their callbacks.
//
// The IoChannel contract says a request never completes inside submit(): its
// callback runs at the end of the submitter's loop turn (util::LoopTurn), or,
// outside a turn, in a handler posted to the loop. This queue keeps that
// promise for every channel. Callbacks may submit more requests (they run in
// a later drain) or destroy the channel that owns the queue (the drain stops).
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>

#include "blockdev/block_device.h"
#include "blockdev/request_queue.h"
#include "util/loop_turn.h"

namespace sharedisk::blockdev {

class CompletionQueue final : private util::Deferred {
 public:
  // Receives each request in order: the channel's accounting, then
  // req.callback->io_done(req, result).
  class Sink {
   public:
    virtual void complete(IoRequest& req, int result) = 0;

   protected:
    ~Sink() = default;
  };

  CompletionQueue(boost::asio::io_context& loop, Sink& sink);
  ~CompletionQueue();
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  // Queues req's result and schedules a drain on the loop.
  void push(IoRequest& req, int result);
  bool empty() const { return queue_.empty(); }

 private:
  void run_deferred() override { drain(); }
  void drain();

  boost::asio::io_context& loop_;
  Sink& sink_;
  RequestQueue queue_;
  bool scheduled_ = false;
  bool* destroyed_ = nullptr;    // set while a drain runs callbacks
  std::shared_ptr<char> alive_;  // posted drains hold a weak reference
};

}  // namespace sharedisk::blockdev
