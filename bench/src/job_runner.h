// One fio job clone driven over one iSCSI session with libiscsi's async API.
//
// Contract: run() logs in to the iscsi:// URL of the spec, reads the LUN's
// capacity, waits at the shared start gate until every clone is logged in,
// then keeps `iodepth` READ(16)/WRITE(16) commands in flight from a poll()
// loop on its own thread until the runtime or the byte budget is reached (or
// the stop flag is set, or an error occurs), drains what is in flight and logs
// out. Every wait has a deadline, so run() always returns. Per I/O it neither
// allocates nor locks: buffers and iovecs belong to preallocated slots and
// latency goes into a fixed-size histogram. With verify=crc32c every written
// block carries a CRC header (verify_block.h), reads check it, and write-only
// jobs read back what they wrote at the end.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <latch>
#include <string>
#include <vector>

#include "job_file.h"
#include "latency_histogram.h"

namespace sharedisk::bench {

struct DirectionStats {
  uint64_t ios = 0;
  uint64_t bytes = 0;
  LatencyHistogram lat;
  std::vector<uint64_t> bytes_per_second;  // one sample per whole second measured
  std::vector<uint64_t> ios_per_second;
};

// fio's I/O depth distributions (iodepth_level, iodepth_submit, iodepth_complete):
// 7 counters each, bucketed as fio's io_u_mark_depth/_submit/_complete do.
using DepthMap = std::array<uint64_t, 7>;
// Commands in flight when one is queued: 1, 2-3, 4-7, 8-15, 16-31, 32-63, >=64.
constexpr int depth_bucket(unsigned in_flight) {
  if (in_flight >= 64) return 6;
  if (in_flight <= 1) return 0;
  return std::bit_width(in_flight) - 1;
}
// Commands per submission or per completion batch: 0, 1-4, 5-8, 9-16, 17-32, 33-64, >64.
constexpr int batch_bucket(unsigned n) {
  if (n == 0) return 0;
  if (n <= 4) return 1;
  if (n > 64) return 6;
  return std::bit_width(n - 1) - 1;
}

struct JobResult {
  std::string name;
  unsigned clone = 0;
  const JobSpec* spec = nullptr;
  DirectionStats read, write;
  uint64_t runtime_ns = 0;                  // first measured submission to last counted completion
  double usr_seconds = 0, sys_seconds = 0;  // this job's thread, over the measured time
  uint64_t context_switches = 0;
  uint64_t minor_faults = 0, major_faults = 0;  // this job's thread, over the measured time
  uint64_t elapsed_ns = 0;                      // the job's wall time, login to logout
  // Measured phase only, counted as fio counts them. submit: one count per batch of
  // commands queued in one pass before the socket is written, by its size; depth: each
  // command of a batch counts at the number of commands in flight after the batch;
  // complete: one count per socket read (poll woke for POLLIN), by the number of
  // completions it delivered.
  DepthMap depth{}, submit{}, complete{};
  uint64_t all_ios = 0;  // including ramp and read-back verification, for CPU per I/O
  uint64_t verified_chunks = 0;
  uint64_t unwritten_chunks = 0;
  uint32_t block_size = 0;
  uint64_t capacity_bytes = 0;
  int error = 0;  // 0 or an errno-like code
  std::string error_text;
};

// Counters the progress line reads while the job runs (single writer each).
struct LiveCounters {
  enum State : int { kConnecting, kRamp, kRunning, kDone };
  std::atomic<int> state{kConnecting};
  std::atomic<uint64_t> read_ios{0}, write_ios{0}, read_bytes{0}, write_bytes{0};
  std::atomic<uint64_t> measure_start_ns{0};
};

struct RunnerOptions {
  std::string initiator_name;
  bool header_digest = false;
  uint64_t connect_timeout_ns = 10'000'000'000;
  uint64_t drain_timeout_ns = 30'000'000'000;
};

JobResult run_job(const JobSpec& spec, unsigned clone, const RunnerOptions& options,
                  LiveCounters& live, std::latch& start_gate, const std::atomic<bool>& stop);

uint64_t monotonic_ns();

}  // namespace sharedisk::bench
