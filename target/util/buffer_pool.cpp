#include "util/buffer_pool.h"

#include <bit>
#include <cstdlib>

namespace sharedisk::util {

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
  for (auto& list : free_)
    for (uint8_t* p : list) std::free(p);
}

Buffer BufferPool::get(size_t bytes) {
  if (bytes > kMaxBuffer) return {};
  int cls = size_class(bytes);
  size_t capacity = kMinBuffer << cls;
  auto& list = free_[cls];
  if (!list.empty()) {
    uint8_t* p = list.back();
    list.pop_back();
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
    list.push_back(data);
  } else {
    std::free(data);
  }
}

}  // namespace sharedisk::util
