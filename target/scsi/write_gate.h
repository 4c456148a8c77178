// The per-LUN gate that makes COMPARE AND WRITE atomic against every other
// write to its blocks, from any session and loop.
//
// Ordinary writes pay one atomic increment/decrement while no COMPARE AND
// WRITE is in progress (the "unchecked" fast path). While one is, writes
// register their byte range under a mutex and wait if it overlaps a locked
// range. A COMPARE AND WRITE locks its range exclusively once no overlapping
// registered write is active and every unchecked write has drained (no new
// unchecked write can start while it waits, so it cannot starve).
// Waiters are resumed on their own task's event loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace sharedisk::scsi {

class Lun;
class Task;

class WriteGate {
 public:
  // Called on the task's loop once the gate is granted.
  using Resume = void (*)(Task& task, Lun& lun);

  WriteGate(Lun& lun, std::vector<boost::asio::io_context*> loops)
      : lun_(lun), loops_(std::move(loops)) {}

  // True: go ahead now. False: queued, `resume` runs later. Idempotent once granted.
  bool enter(Task& task, uint64_t offset, uint64_t length, bool exclusive, Resume resume);
  void leave(Task& task);
  bool busy() const { return exclusive_.load(std::memory_order_relaxed) != 0; }

 private:
  struct Range {
    Task* task;
    uint64_t offset;
    uint64_t length;
    bool exclusive;
    Resume resume;
  };
  static bool overlap(const Range& a, const Range& b) {
    return a.offset < b.offset + b.length && b.offset < a.offset + a.length;
  }
  bool can_run(const Range& r, size_t waiting_before) const;  // under mutex_
  void wake();                                                // under mutex_

  Lun& lun_;
  std::vector<boost::asio::io_context*> loops_;
  std::atomic<uint32_t> unchecked_{0};  // fast-path writes in flight
  std::atomic<uint32_t> exclusive_{0};  // COMPARE AND WRITEs active or waiting
  std::mutex mutex_;
  std::vector<Range> active_;
  std::deque<Range> waiting_;
};

// Plain writes: gate on task.io's byte range.
bool write_gate_enter(Lun& lun, Task& task, void (*resume)(Task&, Lun&));
void write_gate_leave(Lun& lun, Task& task);

}  // namespace sharedisk::scsi
