// The BlockDevice behind open_aio_file(): one open descriptor shared by every
// channel, plus the blocking operations that run on its worker thread.
//
// With O_DIRECT, reads, writes and flushes go through each channel's own
// kernel AIO context (aio_channel.h); a buffered device's channels run every
// request on the device's IoThreadPool instead (buffered_channel.h). Discard and write-zeroes have
// no AIO form, so they run on the device's BlockingWorker and their completions are posted back to
// the submitting loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "blockdev/block_device.h"
#include "blockdev/blocking_worker.h"
#include "blockdev/buffered_channel.h"
#include "blockdev/unique_fd.h"

namespace sharedisk::blockdev {

class AioFileDevice final : public BlockDevice {
 public:
  // follow_size: the store exports its whole extent, so refresh_size() re-reads it.
  AioFileDevice(UniqueFd fd, DeviceInfo info, CacheMode mode, bool follow_size = false);
  // Flushes (fdatasync) a writable store before closing it, so a clean
  // shutdown keeps every write that was acknowledged in write-back mode.
  ~AioFileDevice() override;

  const DeviceInfo& info() const override { return info_; }
  std::unique_ptr<IoChannel> make_channel(boost::asio::io_context& loop) override;
  void set_cache_mode(CacheMode mode) override { mode_.store(mode, std::memory_order_relaxed); }
  CacheMode cache_mode() const override { return mode_.load(std::memory_order_relaxed); }
  uint64_t refresh_size() override;

  int fd() const { return fd_.get(); }

  // 0 when req may be executed, else the negative errno it completes with.
  int check(const IoRequest& req) const;

  // IOCB_CMD_FDSYNC is tried first; once the kernel refuses it for this file
  // every later flush runs fdatasync on the worker instead.
  bool aio_fdsync() const { return aio_fdsync_.load(std::memory_order_relaxed); }
  void disable_aio_fdsync() { aio_fdsync_.store(false, std::memory_order_relaxed); }

  BlockingWorker& worker() { return worker_; }
  // Buffered devices (no O_DIRECT) run every request here, never in io_submit.
  IoThreadPool& pool() { return pool_; }

  // Blocking; called on the worker thread. Return 0 or a negative errno.
  int discard(uint64_t offset, uint64_t length);
  int write_zeroes(uint64_t offset, uint64_t length, bool unmap);
  int sync();

 private:
  int punch_hole(uint64_t offset, uint64_t length);
  int write_zero_buffers(uint64_t offset, uint64_t length);
  int sync_if_write_through();

  UniqueFd fd_;  // closed after the worker has been joined
  DeviceInfo info_;
  std::atomic<CacheMode> mode_;
  std::atomic<uint64_t> size_;  // what check() allows; grows with refresh_size()
  bool follow_size_ = false;
  std::atomic<bool> aio_fdsync_{true};
  IoThreadPool pool_;      // joined before the descriptor closes
  BlockingWorker worker_;  // declared last: joined before anything else goes
};

}  // namespace sharedisk::blockdev
