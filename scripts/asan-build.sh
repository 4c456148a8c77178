#!/usr/bin/env bash
# Configures the one clang ASan + UBSan tree (SHAREDISK_ASAN_BUILD, default
# build-asan) that both scripts/sanitize-tests.sh and scripts/fuzz.sh use, and
# builds the given ninja targets in it.
#   scripts/asan-build.sh TARGET...
# -DSHAREDISK_SANITIZE=ON instruments everything with ASan + UBSan;
# -DSHAREDISK_FUZZ=ON adds libFuzzer's coverage (-fsanitize=fuzzer-no-link) to
# the project libraries and defines the fuzz_* targets (linked with
# -fsanitize=fuzzer). The test programs link the same instrumented libraries
# without libFuzzer (the ASan runtime supplies the coverage callbacks), so one
# compile of the libraries serves the sanitized tests and the fuzzers: CI
# builds once with clang instead of once with gcc for the tests and once with
# clang for the fuzzers.
# -O1 -g1: what the sanitizers recommend, with line tables for the reports, in
# about half the compile time of -O2 -g.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SHAREDISK_ASAN_BUILD:-build-asan}
jobs=${JOBS:-2}
if ! command -v clang++ >/dev/null; then
  echo "asan-build.sh: clang++ not found (Debian: clang, libclang-rt-14-dev)" >&2
  exit 2
fi
# A tree configured with another compiler (gcc, before this script existed)
# cannot switch compilers in place.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$build/CMakeCache.txt"; then
  echo "asan-build.sh: $build was configured with another compiler; reconfiguring it from scratch"
  rm -rf "$build"
fi
# shellcheck disable=SC2086  # CMAKE_ARGS holds several arguments
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHAREDISK_SANITIZE=ON -DSHAREDISK_FUZZ=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DSHAREDISK_BUILD_BENCH=OFF -DSHAREDISK_REQUIRE_ALL=ON ${CMAKE_ARGS:-} >/dev/null
ninja -C "$build" -j"$jobs" "$@"
