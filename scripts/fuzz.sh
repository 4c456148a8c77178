#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 20 s; all targets)
# Targets: pdu, text, login, cdb, stream, window (tests/fuzz/fuzz_<name>.cpp). Each run starts
# from the seed corpus tests/fuzz/corpus/<name>/ (read only) and a scratch
# corpus in the build directory. Exits non-zero when a target crashes, leaks,
# hangs or trips ASan/UBSan; the reproducer is left in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pdu text login cdb stream window)
build=${SHAREDISK_FUZZ_BUILD:-build-fuzz}
jobs=${JOBS:-2}

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (Debian: clang, libclang-rt-14-dev)" >&2
  exit 2
fi
# -O1 -g1 as in sanitize-tests.sh: what the sanitizers recommend, with line
# tables for the reports, in far less compile time than -O2 -g.
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DSHAREDISK_FUZZ=ON -DSHAREDISK_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j"$jobs" "${targets[@]/#/fuzz_}"

mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  work="$build/corpus/$t"
  mkdir -p "$work"
  echo "== fuzz_$t for ${seconds}s"
  if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=20000 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
      "$work" "tests/fuzz/corpus/$t" 2>"$build/fuzz_$t.log"; then
    echo "fuzz_$t FAILED; last lines of $build/fuzz_$t.log:" >&2
    tail -40 "$build/fuzz_$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz_$t.log" | tr '\n' ' '
    echo
  fi
done
exit $status
