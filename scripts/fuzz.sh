#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 20 s; all targets)
# Targets: pdu, text, login, cdb, stream, window, engine (tests/fuzz/fuzz_<name>.cpp). Each run starts
# from the seed corpus tests/fuzz/corpus/<name>/ (read only) and a scratch
# corpus in the build directory. Exits non-zero when a target crashes, leaks,
# hangs or trips ASan/UBSan; the reproducer is left in build-fuzz/artifacts/.
# SHAREDISK_BUILD_ONLY=1: configure and build the targets only, run nothing
# (scripts/run-tests.sh builds them in the background while other tests run).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pdu text login cdb stream window engine)
build=${SHAREDISK_FUZZ_BUILD:-build-fuzz}
jobs=${JOBS:-2}

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (Debian: clang, libclang-rt-14-dev)" >&2
  exit 2
fi
# shellcheck disable=SC2086  # CMAKE_ARGS holds several arguments
# -O1 -g1 as in sanitize-tests.sh: what the sanitizers recommend, with line
# tables for the reports, in far less compile time than -O2 -g.
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DSHAREDISK_FUZZ=ON -DSHAREDISK_BUILD_BENCH=OFF ${CMAKE_ARGS:-} >/dev/null
ninja -C "$build" -j"$jobs" "${targets[@]/#/fuzz_}"
[ "${SHAREDISK_BUILD_ONLY:-0}" != 1 ] || exit 0

mkdir -p "$build/artifacts"
# Each libFuzzer run is one process on one core: JOBS (default 2) of them run at
# once, each for the full SECONDS, so the stage takes ceil(targets / JOBS) x
# SECONDS instead of targets x SECONDS with the same time per target.
fuzz_one() { # fuzz_one TARGET: exit status of the run; output in $build/fuzz_TARGET.log
  local t=$1 work="$build/corpus/$1"
  mkdir -p "$work"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=20000 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
    "$work" "tests/fuzz/corpus/$t" 2>"$build/fuzz_$t.log"
}
declare -A pid_of
status=0
report() { # report TARGET: waits for its run and prints its verdict
  local t=$1
  if ! wait "${pid_of[$t]}"; then
    echo "fuzz_$t FAILED; last lines of $build/fuzz_$t.log:" >&2
    tail -40 "$build/fuzz_$t.log" >&2
    status=1
  else
    echo "== fuzz_$t for ${seconds}s: $(grep -E "stat::number_of_executed_units|stat::peak_rss_mb" \
      "$build/fuzz_$t.log" | tr '\n' ' ')"
  fi
}
running=()
for t in "${targets[@]}"; do
  if [ ${#running[@]} -ge "$jobs" ]; then
    report "${running[0]}"
    running=("${running[@]:1}")
  fi
  fuzz_one "$t" &
  pid_of[$t]=$!
  running+=("$t")
done
for t in "${running[@]}"; do
  report "$t"
done
exit $status
