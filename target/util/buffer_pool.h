// Aligned I/O buffers recycled per event loop.
//
// Each event loop owns one BufferPool and uses it from its own thread only, so
// getting and returning a buffer takes no lock and, once the pool is warm, no
// allocation. Buffers are aligned to 4096 bytes (usable for O_DIRECT) and come
// in power-of-two size classes from 4 KiB up to kMaxBuffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace sharedisk::util {

class BufferPool;

// Move-only handle; returns its memory to the pool it came from on destruction.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { reset(); }

  uint8_t* data() const { return data_; }
  size_t capacity() const { return capacity_; }
  explicit operator bool() const { return data_ != nullptr; }
  void reset();

 private:
  friend class BufferPool;
  Buffer(uint8_t* d, size_t cap, BufferPool* pool) : data_(d), capacity_(cap), pool_(pool) {}
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
  BufferPool* pool_ = nullptr;
};

class BufferPool {
 public:
  static constexpr size_t kMinBuffer = 4096;
  static constexpr size_t kMaxBuffer = 32u << 20;
  static constexpr size_t kAlignment = 4096;

  // keep_per_class: how many free buffers of each size class are kept for reuse.
  explicit BufferPool(size_t keep_per_class = 256) : keep_(keep_per_class) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of at least `bytes` (at least kMinBuffer). Returns an empty Buffer
  // when bytes > kMaxBuffer or memory is exhausted.
  Buffer get(size_t bytes);

  size_t allocations() const { return allocations_; }  // fresh allocations so far

  // True in AddressSanitizer builds: free buffers are poisoned (see .cpp).
  static const bool kPoisonsFreeBuffers;

 private:
  friend class Buffer;
  static constexpr int kClasses = 14;  // 4 KiB << 0 .. 4 KiB << 13 = 32 MiB
  void put(uint8_t* data, size_t capacity);
  size_t keep_;
  size_t allocations_ = 0;
  std::vector<uint8_t*> free_[kClasses];
};

}  // namespace sharedisk::util
