#include "util/buffer_pool.h"

#include <bit>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SHAREDISK_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define SHAREDISK_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define SHAREDISK_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define SHAREDISK_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef SHAREDISK_POISON
#define SHAREDISK_POISON(p, n) ((void)(p), (void)(n))
#define SHAREDISK_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace sharedisk::util {

// Under AddressSanitizer a buffer back in the pool is poisoned until it is
// handed out again, so a write into it by its former owner (or by the kernel
// through recv) is reported, though the memory itself is never freed.
#if defined(__SANITIZE_ADDRESS__)
const bool BufferPool::kPoisonsFreeBuffers = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
const bool BufferPool::kPoisonsFreeBuffers = true;
#else
const bool BufferPool::kPoisonsFreeBuffers = false;
#endif
#else
const bool BufferPool::kPoisonsFreeBuffers = false;
#endif

namespace {
int size_class(size_t bytes) {
  size_t rounded = std::bit_ceil(bytes < BufferPool::kMinBuffer ? BufferPool::kMinBuffer : bytes);
  return std::countr_zero(rounded) - std::countr_zero(BufferPool::kMinBuffer);
}
}  // namespace

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    reset();
    data_ = std::exchange(o.data_, nullptr);
    capacity_ = std::exchange(o.capacity_, 0);
    pool_ = std::exchange(o.pool_, nullptr);
  }
  return *this;
}

void Buffer::reset() {
  if (data_ != nullptr) pool_->put(data_, capacity_);
  data_ = nullptr;
  capacity_ = 0;
  pool_ = nullptr;
}

BufferPool::~BufferPool() {
  for (int cls = 0; cls < kClasses; ++cls)
    for (uint8_t* p : free_[cls]) {
      SHAREDISK_UNPOISON(p, kMinBuffer << cls);
      std::free(p);
    }
}

Buffer BufferPool::get(size_t bytes) {
  if (bytes > kMaxBuffer) return {};
  int cls = size_class(bytes);
  size_t capacity = kMinBuffer << cls;
  auto& list = free_[cls];
  if (!list.empty()) {
    uint8_t* p = list.back();
    list.pop_back();
    SHAREDISK_UNPOISON(p, capacity);
    return Buffer(p, capacity, this);
  }
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(kAlignment, capacity));
  if (p == nullptr) return {};
  ++allocations_;
  return Buffer(p, capacity, this);
}

void BufferPool::put(uint8_t* data, size_t capacity) {
  auto& list = free_[size_class(capacity)];
  if (list.size() < keep_) {
    SHAREDISK_POISON(data, capacity);
    list.push_back(data);
  } else {
    std::free(data);
  }
}

}  // namespace sharedisk::util
