// Log-linear histogram: bucket boundaries, percentile accuracy against exact
// sorted data, merge, and the exact summary statistics.
#include "latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
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

TEST(LatencyHistogram, EmptyIsAllZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.stddev(), 0.0);
}

}  // namespace
}  // namespace sharedisk::bench
