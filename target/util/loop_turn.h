// Work deferred to the end of the current event-loop handler (a "turn"), so
// that what one handler produces leaves together: one io_submit for every
// command one recv carried, one gather write for every response one batch of
// completions produced. The kernel's block plug, for an event loop.
//
// A handler that wants batching opens a LoopTurn on its stack; code below it
// calls LoopTurn::defer(). When the outermost LoopTurn of the thread closes,
// it runs everything deferred, in order, including what those runs defer.
// Without an open turn defer() returns false and the caller posts to its
// io_context instead (one more trip through the scheduler, same result).
//
// Thread-local and allocation-free once warm. A Deferred must outlive its
// queued run or be destroyed on the thread that queued it (its destructor
// takes it out of that thread's queue).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace sharedisk::util {

class Deferred {
 public:
  virtual void run_deferred() = 0;

 protected:
  Deferred() = default;
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;
  ~Deferred();

 private:
  friend class LoopTurn;
  bool queued_ = false;
};

class LoopTurn {
 public:
  LoopTurn() : outermost_(!state().open) { state().open = true; }
  ~LoopTurn() {
    if (!outermost_) return;
    State& s = state();
    // Index loop: runs may append.
    for (size_t i = 0; i < s.queue.size(); ++i) {
      Deferred* d = s.queue[i];
      if (d == nullptr) continue;  // destroyed while queued
      s.queue[i] = nullptr;
      d->queued_ = false;
      d->run_deferred();
    }
    s.queue.clear();
    s.open = false;
  }
  LoopTurn(const LoopTurn&) = delete;
  LoopTurn& operator=(const LoopTurn&) = delete;

  // Queues `d` (once) for the end of this thread's open turn; false when none is open.
  static bool defer(Deferred* d) {
    State& s = state();
    if (!s.open) return false;
    if (!d->queued_) {
      d->queued_ = true;
      s.queue.push_back(d);
    }
    return true;
  }

 private:
  friend class Deferred;
  struct State {
    bool open = false;
    std::vector<Deferred*> queue;
  };
  static State& state() {
    static thread_local State s;
    return s;
  }
  bool outermost_;
};

inline Deferred::~Deferred() {
  if (!queued_) return;
  auto& q = LoopTurn::state().queue;
  std::replace(q.begin(), q.end(), static_cast<Deferred*>(this), static_cast<Deferred*>(nullptr));
}

}  // namespace sharedisk::util
