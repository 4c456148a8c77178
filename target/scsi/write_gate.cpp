#include "scsi/write_gate.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "scsi/lun.h"
#include "scsi/task.h"

namespace sharedisk::scsi {

namespace {
constexpr uint8_t kNone = 0, kUnchecked = 1, kRegistered = 2;
}

bool WriteGate::enter(Task& task, uint64_t offset, uint64_t length, bool exclusive, Resume resume) {
  uint8_t& state = task.work.gate;
  if (state != kNone) return true;  // granted earlier (resumed from the queue)
  if (!exclusive) {
    unchecked_.fetch_add(1, std::memory_order_seq_cst);
    if (exclusive_.load(std::memory_order_seq_cst) == 0) {
      state = kUnchecked;
      return true;
    }
    unchecked_.fetch_sub(1, std::memory_order_seq_cst);
  } else {
    exclusive_.fetch_add(1, std::memory_order_seq_cst);
  }
  std::lock_guard lock(mutex_);
  Range r{&task, offset, length, exclusive, resume};
  if (waiting_.empty() && can_run(r, 0)) {
    active_.push_back(r);
    state = kRegistered;
    return true;
  }
  waiting_.push_back(r);
  // The unchecked writes this one waits for may all have finished already;
  // if so wake() grants it now and posts its resume like any other waiter.
  wake();
  return false;
}

bool WriteGate::can_run(const Range& r, size_t waiting_before) const {
  for (const auto& a : active_)
    if ((a.exclusive || r.exclusive) && overlap(a, r)) return false;
  for (size_t i = 0; i < waiting_before; ++i)
    if ((waiting_[i].exclusive || r.exclusive) && overlap(waiting_[i], r)) return false;
  if (r.exclusive && unchecked_.load(std::memory_order_seq_cst) != 0) return false;
  return true;
}

void WriteGate::wake() {
  for (size_t i = 0; i < waiting_.size();) {
    Range r = waiting_[i];
    if (!can_run(r, i)) {
      ++i;
      continue;
    }
    waiting_.erase(waiting_.begin() + static_cast<long>(i));
    active_.push_back(r);
    r.task->work.gate = kRegistered;
    Lun* lun = &lun_;
    boost::asio::post(*loops_[r.task->loop], [r, lun] { r.resume(*r.task, *lun); });
  }
}

void WriteGate::leave(Task& task) {
  uint8_t& state = task.work.gate;
  if (state == kUnchecked) {
    state = kNone;
    unchecked_.fetch_sub(1, std::memory_order_seq_cst);
    if (exclusive_.load(std::memory_order_seq_cst) != 0) {
      std::lock_guard lock(mutex_);
      wake();
    }
    return;
  }
  if (state != kRegistered) return;
  state = kNone;
  std::lock_guard lock(mutex_);
  for (auto it = active_.begin(); it != active_.end(); ++it) {
    if (it->task == &task) {
      if (it->exclusive) exclusive_.fetch_sub(1, std::memory_order_seq_cst);
      active_.erase(it);
      break;
    }
  }
  wake();
}

bool write_gate_enter(Lun& lun, Task& task, void (*resume)(Task&, Lun&)) {
  return lun.gate().enter(task, task.io.offset, task.io.length, false, resume);
}

void write_gate_leave(Lun& lun, Task& task) {
  lun.gate().leave(task);
}

}  // namespace sharedisk::scsi
