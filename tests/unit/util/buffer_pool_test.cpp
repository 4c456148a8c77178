// BufferPool: size classes, reuse without allocation, and (under ASan) the
// poisoning of free buffers that makes a write by a former owner visible.
#include "util/buffer_pool.h"

#include <gtest/gtest.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#endif
#endif

namespace sharedisk::util {
namespace {

bool poisoned(const void* p) {
#if defined(__SANITIZE_ADDRESS__)
  return __asan_address_is_poisoned(p) != 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return __asan_address_is_poisoned(p) != 0;
#else
  (void)p;
  return false;
#endif
#else
  (void)p;
  return false;
#endif
}

TEST(BufferPool, RoundsUpToASizeClassAlignedFor4k) {
  BufferPool pool;
  Buffer b = pool.get(5000);
  ASSERT_TRUE(b);
  EXPECT_EQ(b.capacity(), 8192u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % BufferPool::kAlignment, 0u);
  EXPECT_FALSE(pool.get(BufferPool::kMaxBuffer + 1));
}

TEST(BufferPool, ReusesAReturnedBufferWithoutAllocating) {
  BufferPool pool;
  uint8_t* first;
  {
    Buffer b = pool.get(256 * 1024);
    first = b.data();
    b.data()[0] = 1;
  }
  EXPECT_EQ(pool.allocations(), 1u);
  Buffer again = pool.get(200 * 1024);
  EXPECT_EQ(again.data(), first);
  EXPECT_EQ(pool.allocations(), 1u);
}

// A buffer back in the pool is unreachable to its former owner: ASan builds
// poison it until it is handed out again (CI runs this suite under ASan too).
TEST(BufferPool, FreeBuffersArePoisonedUnderAsan) {
  BufferPool pool;
  uint8_t* p;
  {
    Buffer b = pool.get(64 * 1024);
    p = b.data();
    EXPECT_FALSE(poisoned(p));
    EXPECT_FALSE(poisoned(p + 64 * 1024 - 1));
  }
  EXPECT_EQ(poisoned(p), BufferPool::kPoisonsFreeBuffers);
  EXPECT_EQ(poisoned(p + 32 * 1024), BufferPool::kPoisonsFreeBuffers);
  Buffer b = pool.get(64 * 1024);
  ASSERT_EQ(b.data(), p);
  EXPECT_FALSE(poisoned(p + 32 * 1024));
}

}  // namespace
}  // namespace sharedisk::util
