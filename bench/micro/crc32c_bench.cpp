// CRC32C throughput: portable slicing-by-8 vs SSE4.2, over the sizes iSCSI
// digests see (48-byte BHS, 4 KiB and 8 KiB data segments, 256 KiB bursts).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "util/crc32c.h"

namespace {

std::vector<uint8_t> random_buffer(size_t n) {
  std::mt19937 rng(1);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void BM_Crc32cPortable(benchmark::State& state) {
  const auto buf = random_buffer(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(sharedisk::util::crc32c_portable(buf.data(), buf.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Crc32cSse42(benchmark::State& state) {
  if (!sharedisk::util::crc32c_sse42_available()) {
    state.SkipWithError("no SSE4.2");
    return;
  }
  const auto buf = random_buffer(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(sharedisk::util::crc32c_sse42(buf.data(), buf.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

BENCHMARK(BM_Crc32cPortable)->Arg(48)->Arg(4096)->Arg(8192)->Arg(262144);
BENCHMARK(BM_Crc32cSse42)->Arg(48)->Arg(4096)->Arg(8192)->Arg(262144);

}  // namespace

BENCHMARK_MAIN();
