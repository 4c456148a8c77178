// Fixed-size log-linear latency histogram (nanoseconds).
//
// Contract: record() is O(1), allocates nothing and never fails; values below
// 128 ns are exact, larger ones land in one of 64 linear buckets per power of
// two, so a percentile is off by at most 1/64 (1.6 %) of its value. Values above
// 2^40 ns (~18 minutes) are clamped. min, max, mean and stddev are exact.
// Histograms of several jobs merge by adding buckets.
//
// The bucket scheme is fio's (FIO_IO_U_PLAT_BITS = 6: plat_val_to_idx and
// plat_idx_to_val in fio's stat.c), so bin_value() of a bucket is the key fio's
// json+ writes for it ("bins" : {"31104" : 1, ...}); fio stops at 29 groups
// (~17 s), this one goes on to 2^40 ns. record() also counts each value into
// fio's 32 latency ranges (latency_ns 2..1000, latency_us 2..1000, latency_ms
// 2..2000 and >=2000 in fio's JSON), exactly, not from the buckets.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace sharedisk::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;  // 64 sub-buckets per power of two
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kMaxExponent = 40;
  static constexpr int kBuckets = (kMaxExponent - kSubBits + 2) * kSub;

  void record(uint64_t ns) {
    ++buckets_[index_of(ns)];
    ++count_;
    sum_ += ns;
    sum_sq_ += static_cast<double>(ns) * static_cast<double>(ns);
    if (ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
    ++ranges_[range_of(ns)];
  }

  void merge(const LatencyHistogram& o) {
    for (int i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    sum_sq_ += o.sum_sq_;
    if (o.min_ < min_) min_ = o.min_;
    if (o.max_ > max_) max_ = o.max_;
    for (int i = 0; i < kRanges; ++i) ranges_[i] += o.ranges_[i];
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  double stddev() const {
    if (count_ < 2) return 0.0;
    const double m = mean();
    const double var = (sum_sq_ - m * m * count_) / (count_ - 1);
    return var > 0 ? std::sqrt(var) : 0.0;
  }

  // The value at or below which `pct` percent of samples lie (0 < pct <= 100),
  // reported as the midpoint of its bucket and kept within [min, max].
  uint64_t percentile(double pct) const;

  uint64_t bucket_count(int index) const { return buckets_[index]; }

  // fio's latency ranges: 10 in ns, 10 in us, 12 in ms. Range i holds values v
  // with kRangeBounds[i-1] <= v < kRangeBounds[i] (ns); fio labels each range by
  // its upper bound in its unit ("2" for [1000, 2000) ns in latency_us), the last
  // one ">=2000" (ms).
  static constexpr int kRanges = 32;
  static constexpr std::array<uint64_t, kRanges - 1> kRangeBounds = {2,
                                                                     4,
                                                                     10,
                                                                     20,
                                                                     50,
                                                                     100,
                                                                     250,
                                                                     500,
                                                                     750,
                                                                     1'000,
                                                                     2'000,
                                                                     4'000,
                                                                     10'000,
                                                                     20'000,
                                                                     50'000,
                                                                     100'000,
                                                                     250'000,
                                                                     500'000,
                                                                     750'000,
                                                                     1'000'000,
                                                                     2'000'000,
                                                                     4'000'000,
                                                                     10'000'000,
                                                                     20'000'000,
                                                                     50'000'000,
                                                                     100'000'000,
                                                                     250'000'000,
                                                                     500'000'000,
                                                                     750'000'000,
                                                                     1'000'000'000,
                                                                     2'000'000'000};
  static int range_of(uint64_t ns) {
    return static_cast<int>(std::upper_bound(kRangeBounds.begin(), kRangeBounds.end(), ns) -
                            kRangeBounds.begin());
  }
  uint64_t range_count(int range) const { return ranges_[range]; }

  // The value fio's json+ names a bucket by: its midpoint (the value itself below 128 ns).
  static uint64_t bin_value(int index) { return bucket_low(index) + bucket_width(index) / 2; }

  static int index_of(uint64_t ns) {
    if (ns < 2 * kSub) return static_cast<int>(ns);
    const int e = std::min(63 - std::countl_zero(ns), kMaxExponent);
    if (e == kMaxExponent && (ns >> kMaxExponent) > 1) return kBuckets - 1;
    const int shift = e - kSubBits;
    return shift * kSub + static_cast<int>(ns >> shift);
  }
  static uint64_t bucket_low(int index) {
    if (index < 2 * kSub) return static_cast<uint64_t>(index);
    const int shift = index / kSub - 1;
    return static_cast<uint64_t>(index % kSub + kSub) << shift;
  }
  static uint64_t bucket_width(int index) {
    return index < 2 * kSub ? 1 : uint64_t{1} << (index / kSub - 1);
  }

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  std::array<uint64_t, kRanges> ranges_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  double sum_sq_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace sharedisk::bench
