// Log-linear histogram: bucket boundaries, percentile accuracy against exact
// sorted data, merge, and the exact summary statistics.
#include "latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <vector>

namespace sharedisk::bench {
namespace {

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGaps) {
  uint64_t expected_low = 0;
  for (int i = 0; i < LatencyHistogram::kBuckets; ++i) {
    ASSERT_EQ(LatencyHistogram::bucket_low(i), expected_low) << i;
    ASSERT_EQ(LatencyHistogram::index_of(expected_low), i);
    const uint64_t last = expected_low + LatencyHistogram::bucket_width(i) - 1;
    ASSERT_EQ(LatencyHistogram::index_of(last), i);
    expected_low += LatencyHistogram::bucket_width(i);
  }
  EXPECT_EQ(LatencyHistogram::index_of(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogram, PercentilesWithinTwoPercentOfExact) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> dist(11.0, 1.0);  // ~60 us median, long tail
  std::vector<uint64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) {
    const auto rank = static_cast<size_t>(std::ceil(p / 100 * values.size())) - 1;
    const double exact = static_cast<double>(values[rank]);
    EXPECT_NEAR(static_cast<double>(h.percentile(p)), exact, exact * 0.02) << "p" << p;
  }
  double sum = 0, sq = 0;
  for (auto v : values) sum += v;
  const double mean = sum / values.size();
  for (auto v : values) sq += (v - mean) * (v - mean);
  EXPECT_NEAR(h.mean(), mean, 1e-6 * mean);
  EXPECT_NEAR(h.stddev(), std::sqrt(sq / (values.size() - 1)), 1e-3 * mean);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, both;
  for (uint64_t v = 1000; v < 50000; v += 37) {
    (v % 2 ? a : b).record(v);
    both.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.min(), both.min());
  EXPECT_EQ(a.max(), both.max());
  for (double p : {10.0, 50.0, 99.0}) EXPECT_EQ(a.percentile(p), both.percentile(p));
}

TEST(LatencyHistogram, BucketsAreFiosPlatBuckets) {
  // fio's stat.c plat_val_to_idx() and plat_idx_to_val() with FIO_IO_U_PLAT_BITS 6 and
  // 29 groups (1856 buckets), written out here: json+ bins must name the same values.
  auto fio_idx = [](uint64_t val) -> unsigned {
    const unsigned msb = val == 0 ? 0 : 63 - std::countl_zero(val);
    if (msb <= 6) return static_cast<unsigned>(val);
    const unsigned error_bits = msb - 6;
    const unsigned base = (error_bits + 1) << 6;
    const unsigned offset = 63 & static_cast<unsigned>(val >> error_bits);
    return std::min(base + offset, 1855u);
  };
  auto fio_val = [](unsigned idx) -> uint64_t {
    if (idx < 128) return idx;
    const unsigned error_bits = (idx >> 6) - 1;
    const uint64_t base = uint64_t{1} << (error_bits + 6);
    const unsigned k = idx % 64;
    return base + static_cast<uint64_t>((k + 0.5) * static_cast<double>(uint64_t{1} << error_bits));
  };
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t v = rng() >> (30 + rng() % 34);  // 0 .. 2^34, every magnitude
    if (fio_idx(v) == 1855u) continue;              // fio clamps from ~17 s on
    ASSERT_EQ(static_cast<unsigned>(LatencyHistogram::index_of(v)), fio_idx(v)) << v;
  }
  for (unsigned idx = 0; idx < 1855; ++idx) {
    ASSERT_EQ(LatencyHistogram::bin_value(static_cast<int>(idx)), fio_val(idx)) << idx;
  }
}

TEST(LatencyHistogram, FioLatencyRanges) {
  // latency_ns 2,4,10,...,1000 then latency_us the same, then latency_ms to 2000 and >=2000.
  EXPECT_EQ(LatencyHistogram::range_of(0), 0);
  EXPECT_EQ(LatencyHistogram::range_of(1), 0);
  EXPECT_EQ(LatencyHistogram::range_of(2), 1);
  EXPECT_EQ(LatencyHistogram::range_of(999), 9);
  EXPECT_EQ(LatencyHistogram::range_of(1'000), 10);  // latency_us "2": 1 us
  EXPECT_EQ(LatencyHistogram::range_of(1'999), 10);
  EXPECT_EQ(LatencyHistogram::range_of(2'000), 11);    // latency_us "4"
  EXPECT_EQ(LatencyHistogram::range_of(999'999), 19);  // latency_us "1000"
  EXPECT_EQ(LatencyHistogram::range_of(1'000'000), 20);
  EXPECT_EQ(LatencyHistogram::range_of(1'999'999'999), 30);  // latency_ms "2000"
  EXPECT_EQ(LatencyHistogram::range_of(2'000'000'000), 31);  // latency_ms ">=2000"
  EXPECT_EQ(LatencyHistogram::range_of(UINT64_MAX), 31);
  LatencyHistogram a, b;
  a.record(50);
  b.record(50);
  b.record(3'000'000);
  a.merge(b);
  EXPECT_EQ(a.range_count(5), 2u);   // [50, 100) ns
  EXPECT_EQ(a.range_count(21), 1u);  // [2, 4) ms
}

TEST(LatencyHistogram, EmptyIsAllZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.stddev(), 0.0);
}

}  // namespace
}  // namespace sharedisk::bench
