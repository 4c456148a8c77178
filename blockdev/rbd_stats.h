// Counters of one RBD image's requests, for `status` and the metrics. Written
// by the event loops once per batch of completions (relaxed atomics), read by
// anyone; shared with the daemon's LUN table, so a reader never outlives them.
#pragma once

#include <atomic>
#include <cstdint>

namespace sharedisk::blockdev {

struct RbdStats {
  std::atomic<uint64_t> ops{0};         // requests librbd completed
  std::atomic<uint64_t> errors{0};      // of which failed
  std::atomic<uint64_t> timeouts{0};    // of which with -ETIMEDOUT (rbd_timeout)
  std::atomic<uint64_t> latency_ns{0};  // submit to completion on the loop, summed
  // The exclusive lock, as the owner watch (RbdDevice::watch_owner) last saw it.
  std::atomic<uint64_t> owner_changes{0};  // holder changes seen (ALUA transitions)
  std::atomic<uint64_t> lock_acquired{0};  // of which to this gateway (failovers, failbacks)
  std::atomic<uint8_t> owner_holder{0};    // LockOwner::Holder
  std::atomic<uint16_t> owner_group{0};    // LockOwner::group
  std::atomic<bool> owner_watched{false};  // false: no exclusive lock, or not watched
  // Owner dwell (lun.yaml gateway.lock_dwell_ms; RbdDevice::set_lock_dwell).
  // The event loops read lock_dwell_ms, lock_mine and lock_moved_ns on every
  // write: relaxed loads, no lock.
  std::atomic<uint32_t> lock_dwell_ms{0};  // 0: off
  std::atomic<bool> lock_mine{false};      // this gateway holds the lock, as last seen
  std::atomic<uint64_t> lock_moved_ns{0};  // CLOCK_MONOTONIC of the last move seen; 0: none
  std::atomic<uint64_t> held_now{0};       // writes held for the dwell right now
  std::atomic<uint64_t> held_total{0};     // writes ever held for the dwell
};

}  // namespace sharedisk::blockdev
