// Helpers shared by the blockdev unit tests: aligned buffers, a request that
// records its completions, and bounded ways to run an io_context.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "blockdev/block_device.h"

namespace sharedisk::blockdev::testing {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// 4 KiB-aligned memory, usable for O_DIRECT.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t size)
      : size_(size), data_(static_cast<uint8_t*>(std::aligned_alloc(4096, round(size)))) {
    std::memset(data_.get(), 0, round(size));
  }
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  static size_t round(size_t n) { return (std::max<size_t>(n, 1) + 4095) & ~size_t(4095); }
  size_t size_;
  std::unique_ptr<uint8_t, FreeDeleter> data_;
};

// Bytes that depend on where they belong and on a seed, so misplaced or stale
// data is caught.
inline void fill_pattern(uint8_t* p, size_t len, uint64_t offset, uint32_t seed) {
  for (size_t i = 0; i < len; ++i) {
    uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;
    p[i] = static_cast<uint8_t>((x >> 29) ^ (x >> 47));
  }
}

inline bool matches_pattern(const uint8_t* p, size_t len, uint64_t offset, uint32_t seed) {
  std::vector<uint8_t> want(len);
  fill_pattern(want.data(), len, offset, seed);
  return std::memcmp(p, want.data(), len) == 0;
}

inline bool all_zero(const uint8_t* p, size_t len) {
  for (size_t i = 0; i < len; ++i)
    if (p[i] != 0) return false;
  return true;
}

// One request with its callback; counts its completions.
struct Op final : IoCallback {
  IoRequest req;
  iovec iov[4]{};
  int result = 1;  // 1 = not completed yet
  int calls = 0;
  std::function<void(Op&)> then;  // runs inside io_done

  Op() { req.callback = this; }
  void io_done(IoRequest&, int r) override {
    ++calls;
    result = r;
    if (then) then(*this);
  }
  bool done() const { return calls > 0; }

  Op& read(void* buf, uint64_t len, uint64_t offset) { return rw(IoOp::kRead, buf, len, offset); }
  Op& write(const void* buf, uint64_t len, uint64_t offset, bool fua = false) {
    rw(IoOp::kWrite, const_cast<void*>(buf), len, offset);
    req.fua = fua;
    return *this;
  }
  Op& range(IoOp op, uint64_t offset, uint64_t len, bool unmap = false) {
    reset(op);
    req.offset = offset;
    req.length = len;
    req.unmap = unmap;
    return *this;
  }
  Op& flush() { return range(IoOp::kFlush, 0, 0); }

 private:
  Op& rw(IoOp op, void* buf, uint64_t len, uint64_t offset) {
    reset(op);
    iov[0] = {buf, static_cast<size_t>(len)};
    req.iov = iov;
    req.iovcnt = 1;
    req.offset = offset;
    req.length = len;
    return *this;
  }
  void reset(IoOp op) {
    req = IoRequest{};
    req.callback = this;
    req.op = op;
    result = 1;
    calls = 0;
  }
};

// Runs handlers until pred() holds or the deadline passes; returns pred().
inline bool run_until(boost::asio::io_context& loop, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    if (loop.stopped()) loop.restart();
    loop.run_one_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// Submits and waits; returns the result (1 if it never completed).
inline int run_op(IoChannel& ch, boost::asio::io_context& loop, Op& op) {
  ch.submit(op.req);
  run_until(loop, [&] { return op.done(); });
  return op.result;
}

// A fresh directory removed with everything in it at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& parent = "/tmp") {
    std::string tmpl = parent + "/sharedisk-blockdev-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace sharedisk::blockdev::testing
