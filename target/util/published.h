// A small value that readers on any thread load without a lock or a reference
// count while a rare writer (start-up, reload) replaces it.
//
// Every version ever published is kept until the Published itself is
// destroyed, so a reference returned by get() stays valid for the owner's
// whole life. That makes reads as cheap as one acquire load, and is right only
// for values that are small and change rarely: the LUN table of a target, not
// per-I/O state.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

namespace sharedisk::util {

template <class T>
class Published {
 public:
  explicit Published(T initial = T{}) { current_.store(keep(std::move(initial))); }
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  const T& get() const { return *current_.load(std::memory_order_acquire); }

  // Writers are serialised; `change` edits a copy of the current value, which
  // then becomes current. Returns what change() returned.
  template <class F>
  auto update(F change) {
    std::lock_guard lock(writer_);
    T next = *current_.load(std::memory_order_relaxed);
    if constexpr (std::is_void_v<decltype(change(next))>) {
      change(next);
      current_.store(keep(std::move(next)), std::memory_order_release);
    } else {
      auto result = change(next);
      current_.store(keep(std::move(next)), std::memory_order_release);
      return result;
    }
  }

  void publish(T next) {
    update([&](T& v) { v = std::move(next); });
  }

 private:
  T* keep(T value) {
    versions_.push_back(std::make_unique<T>(std::move(value)));
    return versions_.back().get();
  }

  std::mutex writer_;
  std::vector<std::unique_ptr<T>> versions_;  // under writer_ (or in the constructor)
  std::atomic<T*> current_{nullptr};
};

}  // namespace sharedisk::util
