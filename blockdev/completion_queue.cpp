#include "blockdev/completion_queue.h"

#include <boost/asio/post.hpp>

namespace sharedisk::blockdev {

CompletionQueue::CompletionQueue(boost::asio::io_context& loop, Sink& sink)
    : loop_(loop), sink_(sink), alive_(std::make_shared<char>()) {}

CompletionQueue::~CompletionQueue() {
  if (destroyed_) *destroyed_ = true;
}

void CompletionQueue::push(IoRequest& req, int result) {
  queue_.push(&req, result);
  if (scheduled_) return;
  scheduled_ = true;
  if (util::LoopTurn::defer(this)) return;
  boost::asio::post(loop_, [this, alive = std::weak_ptr<char>(alive_)] {
    util::LoopTurn turn;
    if (!alive.expired()) drain();
  });
}

void CompletionQueue::drain() {
  scheduled_ = false;
  // Only the requests queued so far: ones the callbacks submit complete in
  // the next drain.
  bool destroyed = false;
  destroyed_ = &destroyed;
  for (size_t n = queue_.size(); n > 0; --n) {
    auto e = queue_.pop();
    sink_.complete(*e.req, e.result);
    if (destroyed) return;  // a callback destroyed the owning channel
  }
  destroyed_ = nullptr;
}

}  // namespace sharedisk::blockdev
