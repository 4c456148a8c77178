#include "blockdev/aio_file_device.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "blockdev/aio_channel.h"

namespace sharedisk::blockdev {

namespace {

int errno_result(int rc) {
  return rc < 0 ? -errno : 0;
}

}  // namespace

AioFileDevice::AioFileDevice(UniqueFd fd, DeviceInfo info, CacheMode mode, bool follow_size)
    : fd_(std::move(fd)),
      info_(std::move(info)),
      mode_(mode),
      size_(info_.size_bytes),
      follow_size_(follow_size) {}

uint64_t AioFileDevice::refresh_size() {
  if (!follow_size_) return size_.load(std::memory_order_relaxed);
  uint64_t bytes = 0;
  if (info_.is_block_device) {
    if (::ioctl(fd(), BLKGETSIZE64, &bytes) != 0) return size_.load(std::memory_order_relaxed);
  } else {
    struct stat st {};
    if (::fstat(fd(), &st) != 0) return size_.load(std::memory_order_relaxed);
    bytes = static_cast<uint64_t>(st.st_size);
  }
  bytes &= ~uint64_t{511};
  if (bytes == 0) return size_.load(std::memory_order_relaxed);  // never shrink to nothing
  size_.store(bytes, std::memory_order_relaxed);
  return bytes;
}

std::unique_ptr<IoChannel> AioFileDevice::make_channel(boost::asio::io_context& loop) {
  // Linux AIO runs buffered I/O synchronously inside io_submit: never on a loop.
  if (!info_.direct_io) return std::make_unique<BufferedChannel>(*this, loop);
  return std::make_unique<AioChannel>(*this, loop);
}

AioFileDevice::~AioFileDevice() {
  if (!info_.read_only) ::fdatasync(fd());
}

int AioFileDevice::check(const IoRequest& req) const {
  switch (req.op) {
    case IoOp::kFlush:
      return 0;
    case IoOp::kRead:
      break;
    case IoOp::kDiscard:
      if (info_.read_only) return -EROFS;
      if (!info_.supports_discard) return -EOPNOTSUPP;
      break;
    case IoOp::kWrite:
    case IoOp::kWriteZeroes:
      if (info_.read_only) return -EROFS;
      break;
    case IoOp::kAllocationMap:
    case IoOp::kWriteSame:
    case IoOp::kCompareAndWrite:
      return -EOPNOTSUPP;
  }
  uint64_t size = size_.load(std::memory_order_relaxed);
  if (req.offset > size || req.length > size - req.offset) return -EINVAL;
  return 0;
}

int AioFileDevice::discard(uint64_t offset, uint64_t length) {
  if (length == 0) return 0;  // fallocate would call it EINVAL
  int rc;
  if (info_.is_block_device) {
    uint64_t range[2] = {offset, length};
    rc = errno_result(::ioctl(fd(), BLKDISCARD, range));
  } else {
    rc = punch_hole(offset, length);
  }
  return rc != 0 ? rc : sync_if_write_through();
}

int AioFileDevice::write_zeroes(uint64_t offset, uint64_t length, bool unmap) {
  if (length == 0) return 0;
  int rc;
  if (info_.is_block_device) {
    // With unmap the kernel may deallocate (REQ_OP_WRITE_ZEROES with unmap,
    // never a fallback write); BLKZEROOUT always works, writing if it must.
    rc = unmap ? errno_result(
                     ::fallocate(fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length))
               : -EOPNOTSUPP;
    if (rc != 0) {
      uint64_t range[2] = {offset, length};
      rc = errno_result(::ioctl(fd(), BLKZEROOUT, range));
    }
  } else if (unmap && info_.supports_discard) {
    rc = punch_hole(offset, length);  // holes read back as zeroes
  } else {
    rc =
        errno_result(::fallocate(fd(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length));
    if (rc == -EOPNOTSUPP) rc = write_zero_buffers(offset, length);
  }
  return rc != 0 ? rc : sync_if_write_through();
}

int AioFileDevice::sync() {
  return errno_result(::fdatasync(fd()));
}

int AioFileDevice::punch_hole(uint64_t offset, uint64_t length) {
  return errno_result(
      ::fallocate(fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length));
}

int AioFileDevice::write_zero_buffers(uint64_t offset, uint64_t length) {
  // Aligned so that it also serves O_DIRECT descriptors (offsets and lengths
  // are multiples of 512 by contract).
  alignas(4096) static const char kZeroes[256 << 10] = {};
  while (length > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(length, sizeof kZeroes));
    ssize_t n = ::pwrite(fd(), kZeroes, chunk, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) return -ENOSPC;
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return 0;
}

int AioFileDevice::sync_if_write_through() {
  return cache_mode() == CacheMode::kWriteThrough ? sync() : 0;
}

}  // namespace sharedisk::blockdev
