// Per-LUN I/O counters for `status` and the Prometheus metrics.
//
// Each event loop writes only its own cache-line-aligned slot, with relaxed
// loads and stores (a single writer needs no read-modify-write), so the I/O
// path takes no lock and shares no cache line; readers sum the slots and may
// see a command counted in `ops` before its bytes (harmless for monitoring).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace sharedisk::iscsi {

// Upper bounds of the latency histogram buckets, in microseconds (+Inf implied).
inline constexpr std::array<uint32_t, 16> kLatencyBucketsUs = {
    50,    100,   250,    500,    1000,   2500,    5000,    10000,
    25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000};

enum class IoKind : uint8_t { kRead = 0, kWrite = 1, kOther = 2 };

struct IoTotals {
  uint64_t ops[3] = {};    // by IoKind
  uint64_t bytes[3] = {};  // data moved, by IoKind
  uint64_t errors = 0;     // commands that ended with a status other than GOOD
  uint64_t latency_sum_us = 0;
  std::array<uint64_t, kLatencyBucketsUs.size() + 1> latency_buckets{};  // last = +Inf
};

class LunIoStats {
 public:
  explicit LunIoStats(unsigned loops) : slots_(loops == 0 ? 1 : loops) {}

  // Called by event loop `loop` only, once per completed command.
  void record(unsigned loop, IoKind kind, uint64_t bytes, bool error,
              std::chrono::steady_clock::duration latency) {
    Slot& s = slots_[loop < slots_.size() ? loop : 0];
    auto bump = [](std::atomic<uint64_t>& c, uint64_t by) {
      c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    };
    auto k = static_cast<unsigned>(kind);
    bump(s.ops[k], 1);
    bump(s.bytes[k], bytes);
    if (error) bump(s.errors, 1);
    uint64_t us = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(latency).count());
    bump(s.latency_sum_us, us);
    size_t b = 0;
    while (b < kLatencyBucketsUs.size() && us > kLatencyBucketsUs[b]) ++b;
    bump(s.buckets[b], 1);
  }

  // Any thread: the sum over every loop (buckets not cumulative).
  IoTotals totals() const {
    IoTotals t;
    for (const Slot& s : slots_) {
      for (int k = 0; k < 3; ++k) {
        t.ops[k] += s.ops[k].load(std::memory_order_relaxed);
        t.bytes[k] += s.bytes[k].load(std::memory_order_relaxed);
      }
      t.errors += s.errors.load(std::memory_order_relaxed);
      t.latency_sum_us += s.latency_sum_us.load(std::memory_order_relaxed);
      for (size_t b = 0; b < t.latency_buckets.size(); ++b)
        t.latency_buckets[b] += s.buckets[b].load(std::memory_order_relaxed);
    }
    return t;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> ops[3] = {};
    std::atomic<uint64_t> bytes[3] = {};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> latency_sum_us{0};
    std::array<std::atomic<uint64_t>, kLatencyBucketsUs.size() + 1> buckets{};
  };
  std::vector<Slot> slots_;
};

}  // namespace sharedisk::iscsi
