// A fault-injecting backing store, for tests only (the tgt "bs" plug-in idea):
// it wraps another BlockDevice (a file or RAM) and, following a small rule
// set, delays requests, holds them until released, or fails them with an
// errno (EIO, ENOSPC, ...), optionally only in an LBA range or for the next N
// requests. Requests no rule matches go straight to the wrapped store.
//
// Tests drive it either through the C++ API (set_rules) or, in the daemon,
// through a control file that the store re-reads whenever it changes (one
// stat() per request: acceptable here, never on a production store). The
// daemon accepts `fault:` on a LUN only in its test build
// (sharedisk-target-faults); see docs/blockdev.md.
//
// The contract of block_device.h holds: completions run on the submitting
// channel's loop, never inside submit().
//
// Rule text (control file or parse_fault_rules), one rule per line, the first
// rule that matches a request decides; '#' starts a comment:
//
//   <ops> [error=EIO|ENOSPC|EROFS|<errno>] [delay=<ms>] [stuck]
//         [lba=<first>] [blocks=<n>] [count=<n>]
//
//   ops     read, write, flush, discard, write_zeroes or any; several joined
//           with commas (read,write)
//   error   the request completes with -errno without reaching the store
//   delay   the request reaches the store (or fails) this much later, so a
//           delayed write also lands late, as on a slow disk
//   stuck   the request is held until the rules change: set_rules(), or the
//           control file rewritten (best by rename: a new inode is always
//           noticed); then it proceeds (reaches the store, or fails with
//           its `error`)
//   lba/blocks  only requests overlapping these blocks (of
//           FaultOptions::block_size bytes); a flush has no range and only
//           matches rules without one
//   count   only the next <n> matching requests; then the rule is spent
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "blockdev/block_device.h"

namespace sharedisk::blockdev {

struct FaultRule {
  static constexpr uint8_t bit(IoOp op) { return uint8_t(1u << unsigned(op)); }
  static constexpr uint8_t kAnyOp = 0x1F;

  uint8_t ops = kAnyOp;    // FaultRule::bit(IoOp) of the requests it applies to
  uint64_t first_lba = 0;  // with lba_count: only requests overlapping the range
  uint64_t lba_count = 0;  // 0 = any offset
  uint64_t count = 0;      // 0 = every matching request, else the next `count`
  int error = 0;           // positive errno; 0 = none
  uint32_t delay_ms = 0;
  bool stuck = false;
};

// Parses the rule text above. Returns "" and fills `out`, or "line N: reason".
std::string parse_fault_rules(const std::string& text, std::vector<FaultRule>* out);

struct FaultOptions {
  // Re-read whenever it changes (checked on each request and, while requests
  // are held, every 10 ms). Missing or empty: no faults. Empty path: only
  // set_rules() controls the store.
  std::string control_path;
  uint32_t block_size = 512;  // what lba= and blocks= count in
};

class FaultDevice final : public BlockDevice {
 public:
  FaultDevice(std::unique_ptr<BlockDevice> inner, FaultOptions options);
  ~FaultDevice() override;

  const DeviceInfo& info() const override { return inner_->info(); }
  std::unique_ptr<IoChannel> make_channel(boost::asio::io_context& loop) override;
  void set_cache_mode(CacheMode mode) override { inner_->set_cache_mode(mode); }
  CacheMode cache_mode() const override { return inner_->cache_mode(); }

  // Thread-safe. Replaces the rules (and their counts); every held request
  // is released within about 10 ms.
  void set_rules(std::vector<FaultRule> rules);
  // Requests held by a `stuck` rule right now, over all channels.
  uint64_t held() const { return held_.load(std::memory_order_relaxed); }
  // Requests a rule has applied to so far.
  uint64_t injected() const { return injected_.load(std::memory_order_relaxed); }
  // Why the control file's current version was not taken ("" when it was).
  std::string control_error() const;
  const FaultOptions& options() const { return options_; }
  BlockDevice& inner() { return *inner_; }

  // What happens to one request (for the channels).
  struct Decision {
    bool pass = true;  // no rule matched
    int error = 0;
    uint32_t delay_ms = 0;
    bool stuck = false;
    uint64_t generation = 0;  // of the rules that decided
  };
  Decision decide(const IoRequest& req);
  // Re-reads the control file if it changed; returns the rules' generation,
  // which changes whenever they do.
  uint64_t refresh();
  void count_held(int delta) {
    held_.fetch_add(uint64_t(int64_t(delta)), std::memory_order_relaxed);
  }

 private:
  void refresh_locked();
  bool matches(const FaultRule& rule, const IoRequest& req) const;

  std::unique_ptr<BlockDevice> inner_;
  FaultOptions options_;
  mutable std::mutex mutex_;
  struct Active {
    FaultRule rule;
    uint64_t left;  // of rule.count
  };
  std::vector<Active> rules_;
  std::atomic<uint64_t> generation_{0};
  struct FileId {
    bool exists = false;
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const FileId&) const = default;
  };
  FileId control_id_;
  bool control_read_ = false;
  std::string control_error_;
  std::atomic<uint64_t> held_{0};
  std::atomic<uint64_t> injected_{0};
};

// Wraps `inner` (whose channels then stay behind the fault store's).
std::unique_ptr<FaultDevice> make_fault_device(std::unique_ptr<BlockDevice> inner,
                                               FaultOptions options);

}  // namespace sharedisk::blockdev
