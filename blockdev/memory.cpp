// make_memory(): a RAM disk behind the BlockDevice interface, for tests and
// benchmarks.
//
// The data lives in one anonymous private mapping (zero pages until written,
// so a large disk costs only what is used). Every channel copies straight into
// it without a lock: like a real disk, concurrent writes to the same bytes
// have no defined order. The copy happens in submit(); the completion waits
// in a CompletionQueue for the end of the loop's turn.
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <memory>

#include "blockdev/block_device.h"
#include "blockdev/completion_queue.h"

namespace sharedisk::blockdev {

namespace {

constexpr uint64_t kPage = 4096;

class MemoryDevice;

class MemoryChannel final : public IoChannel, private CompletionQueue::Sink {
 public:
  MemoryChannel(MemoryDevice& device, boost::asio::io_context& loop)
      : device_(device), done_(loop, *this) {}

  void submit(IoRequest& req) override;
  unsigned in_flight() const override { return in_flight_; }

 private:
  void complete(IoRequest& req, int result) override {
    --in_flight_;
    req.callback->io_done(req, result);
  }

  MemoryDevice& device_;
  CompletionQueue done_;
  unsigned in_flight_ = 0;
};

class MemoryDevice final : public BlockDevice {
 public:
  explicit MemoryDevice(uint64_t size) {
    size_t mapped = static_cast<size_t>(std::max<uint64_t>(size, 1));
    void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw OpenError("memory: " + std::string(std::strerror(errno)));
    data_ = static_cast<uint8_t*>(p);
    mapped_ = mapped;
    info_.path = "memory";
    info_.size_bytes = size;
    info_.physical_block_size = kPage;
    info_.supports_discard = true;
    info_.discard_zeroes = true;
    info_.supports_write_zeroes = true;
  }
  ~MemoryDevice() override { ::munmap(data_, mapped_); }

  const DeviceInfo& info() const override { return info_; }
  std::unique_ptr<IoChannel> make_channel(boost::asio::io_context& loop) override {
    return std::make_unique<MemoryChannel>(*this, loop);
  }
  void set_cache_mode(CacheMode mode) override { mode_.store(mode, std::memory_order_relaxed); }
  CacheMode cache_mode() const override { return mode_.load(std::memory_order_relaxed); }

  int execute(const IoRequest& req) {
    if (req.op == IoOp::kFlush) return 0;
    if (req.op == IoOp::kAllocationMap || req.op == IoOp::kWriteSame ||
        req.op == IoOp::kCompareAndWrite)
      return -EOPNOTSUPP;
    if (req.offset > info_.size_bytes || req.length > info_.size_bytes - req.offset) return -EINVAL;
    uint8_t* at = data_ + req.offset;
    switch (req.op) {
      case IoOp::kRead:
        for (int i = 0; i < req.iovcnt; ++i) {
          std::memcpy(req.iov[i].iov_base, at, req.iov[i].iov_len);
          at += req.iov[i].iov_len;
        }
        return 0;
      case IoOp::kWrite:
        for (int i = 0; i < req.iovcnt; ++i) {
          std::memcpy(at, req.iov[i].iov_base, req.iov[i].iov_len);
          at += req.iov[i].iov_len;
        }
        return 0;
      default:  // kDiscard, kWriteZeroes
        zero(req.offset, req.length);
        return 0;
    }
  }

 private:
  // Whole pages are handed back to the kernel (they read as zeroes again and
  // stop costing memory); the partial pages at either end are cleared.
  void zero(uint64_t offset, uint64_t length) {
    uint64_t end = offset + length;
    uint64_t first = (offset + kPage - 1) & ~(kPage - 1);
    uint64_t last = end & ~(kPage - 1);
    if (first >= last || ::madvise(data_ + first, last - first, MADV_DONTNEED) != 0) {
      std::memset(data_ + offset, 0, length);
      return;
    }
    std::memset(data_ + offset, 0, first - offset);
    std::memset(data_ + last, 0, end - last);
  }

  uint8_t* data_ = nullptr;
  size_t mapped_ = 0;
  DeviceInfo info_;
  std::atomic<CacheMode> mode_{CacheMode::kWriteBack};
};

void MemoryChannel::submit(IoRequest& req) {
  ++in_flight_;
  done_.push(req, device_.execute(req));
}

}  // namespace

std::unique_ptr<BlockDevice> make_memory(uint64_t size_bytes) {
  return std::make_unique<MemoryDevice>(size_bytes);
}

}  // namespace sharedisk::blockdev
