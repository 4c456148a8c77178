// A FIFO of requests, each with a result: finished requests waiting for their
// callbacks to run, or requests waiting for a free submission slot.
//
// Channels never complete a request from inside submit(); they park it here
// and run the callbacks later from their event loop. The storage is a
// power-of-two ring that only grows, so once it has reached the channel's
// working depth pushing and popping never allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "blockdev/block_device.h"

namespace sharedisk::blockdev {

class RequestQueue {
 public:
  struct Entry {
    IoRequest* req;
    int result;
  };

  explicit RequestQueue(size_t initial_capacity = 64) { grow(round_up(initial_capacity)); }

  bool empty() const { return head_ == tail_; }
  size_t size() const { return tail_ - head_; }

  void push(IoRequest* req, int result) {
    if (size() == capacity_) grow(capacity_ * 2);
    slots_[tail_++ & (capacity_ - 1)] = Entry{req, result};
  }

  Entry pop() { return slots_[head_++ & (capacity_ - 1)]; }

 private:
  static size_t round_up(size_t n) {
    size_t c = 1;
    while (c < n) c <<= 1;
    return c;
  }

  void grow(size_t capacity) {
    auto bigger = std::make_unique<Entry[]>(capacity);
    size_t n = size();
    for (size_t i = 0; i < n; ++i) bigger[i] = slots_[(head_ + i) & (capacity_ - 1)];
    slots_ = std::move(bigger);
    capacity_ = capacity;
    head_ = 0;
    tail_ = n;
  }

  std::unique_ptr<Entry[]> slots_;
  size_t capacity_ = 0;
  uint64_t head_ = 0;
  uint64_t tail_ = 0;
};

}  // namespace sharedisk::blockdev
