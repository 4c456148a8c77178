#!/usr/bin/env bash
# The README's second command: install, build, and run the whole test suite:
#   1. ctest on the normal build: unit, integration against the real daemon,
#      the full iscsi-test-cu suite (thin and fully provisioned LUNs), OCFS2
#      oracle tests, security, operations, real initiators (QEMU, Linux in a
#      VM), and a short bench/compare smoke;
#   2. the unit, integration and security tests again under ASan + UBSan;
#   3. every libFuzzer target for a bounded time.
# The trees of 2 and 3 compile in the background, at nice 19, during 1.
# Strict: configure has -DSHAREDISK_REQUIRE_ALL=ON (a missing test dependency is
# a configure error naming its Debian package), and ctest runs through
# scripts/ctest-no-skips.sh, so a test that skipped or did not run fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
times=()
# CPU seconds (user + system) of all finished child processes so far, from
# bash's `times`, run in this shell (in a $(...) subshell it would count only
# the subshell's children); on a shared machine CPU time is the steadier measure.
cpu_file=$(mktemp)
background=() # pids of the background builds below
descendants() { # descendants PID: PID and every process under it
  local child
  echo "$1"
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do descendants "$child"; done
}
stop_background() { # on any exit: the background builds this script started, by pid
  local pid
  for pid in "${background[@]}"; do
    # shellcheck disable=SC2046  # one pid per word
    kill $(descendants "$pid") 2>/dev/null || true
  done
}
trap 'stop_background; rm -f "$cpu_file"' EXIT
children_cpu() { # sets cpu to the total
  times >"$cpu_file"
  cpu=$(awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); n += t[1] * 60 + t[2] } printf "%d", n }' "$cpu_file")
}
stage() { # stage NAME COMMAND...: runs it and records its wall and CPU time
  local name=$1 t0 c0
  shift
  t0=$(date +%s)
  children_cpu
  c0=$cpu
  "$@"
  children_cpu
  times+=("$name $(($(date +%s) - t0)) s ($((cpu - c0)) s CPU)")
  echo "run-tests: stage ${times[-1]}"
}
stage install scripts/install-deps.sh test
# All three trees compile their libraries and most programs as unity builds
# (SHAREDISK_UNITY_BUILD, CMakeLists.txt): about half the compile CPU, and the
# whole run is CPU-bound on 2 cores. Incremental builds by hand keep it off.
export CMAKE_ARGS="${CMAKE_ARGS:-} -DSHAREDISK_UNITY_BUILD=ON"
# -g1 (line tables, enough for backtraces) instead of -g: the test build does not
# ship, and full debug info is about a fifth of its compile time.
stage build env CMAKE_ARGS="${CMAKE_ARGS:-} -DSHAREDISK_REQUIRE_ALL=ON" \
  SHAREDISK_OPT_FLAGS="-O2 -g1 -DNDEBUG" scripts/build.sh
log=build/ctest-summary.log
# The sanitized tree (scripts/sanitize-tests.sh) and then the fuzz tree
# (scripts/fuzz.sh) do not depend on the normal one: they compile in the
# background at nice 19 while its ctest runs, which leaves much of the two
# cores idle (tests waiting on daemons, timeouts, Ceph clusters); the sanitized
# stage finishes both before its tests run. At nice 19 a build gets only what the
# tests leave (a nice-0 task is worth 68 of them to the scheduler), so the
# tests' timing is kept. Each build is brought back to nice 0 when its stage
# starts, and the stage waits for it, so its CPU time is counted there.
background_build() { # background_build LOG SCRIPT [PID]: the script's build, niced, in the background, after PID
  local after=${3:-}
  (
    if [ -n "$after" ]; then
      while kill -0 "$after" 2>/dev/null; do sleep 2; done
    fi
    exec nice -n 19 env SHAREDISK_BUILD_ONLY=1 "$2"
  ) >"$1" 2>&1 &
  background+=($!)
}
finish_background_build() { # finish_background_build PID LOG NAME: renice it, wait for it
  local pid=$1 status=0
  # shellcheck disable=SC2046  # one pid per word
  renice -n 0 -p $(descendants "$pid") >/dev/null 2>&1 || true
  wait "$pid" || status=$?
  if [ "$status" != 0 ]; then
    echo "run-tests: the $3 build failed (exit $status); $2:" >&2
    tail -60 "$2" >&2
    return "$status"
  fi
}
background_build build/sanitize-build.log scripts/sanitize-tests.sh
asan_build=$!
background_build build/fuzz-build.log scripts/fuzz.sh "$asan_build"
fuzz_build=$!
# compliance_all is exit-77 (skipped) unless SHAREDISK_COMPLIANCE_ALL=1.
ctest_stage() {
  SHAREDISK_COMPLIANCE_ALL=1 scripts/ctest-no-skips.sh build --output-on-failure --timeout 900 -j2 \
    "$@" | tee "$log"
}
stage ctest ctest_stage "$@"
sanitize_stage() {
  finish_background_build "$asan_build" build/sanitize-build.log sanitized
  # The fuzz tree too, before the sanitized tests start: their timing checks
  # (RawPduTest.AnsweringInitiatorStaysConnected: NOP-In pings every second)
  # ran alone before, and one failed once with the fuzz build beside them.
  finish_background_build "$fuzz_build" build/fuzz-build.log fuzz
  scripts/sanitize-tests.sh
}
stage sanitize sanitize_stage
# 10 s per target: in CI the fuzz stage is a regression smoke from the seed corpus
# (tests/fuzz/corpus, which each target runs through in its first second);
# longer campaigns are run by hand (scripts/fuzz.sh SECONDS, default 20).
fuzz_stage() {
  scripts/fuzz.sh "${SHAREDISK_FUZZ_SECONDS:-10}"
}
stage fuzz fuzz_stage
background=()
echo "run-tests: all stages passed; wall (CPU) time per stage: $(IFS=,; echo "${times[*]}")"
# The normal build's ctest verdict, last, for whoever reads closing lines.
grep -E "tests passed|tests failed|ctest-no-skips: all" "$log" | tail -2
