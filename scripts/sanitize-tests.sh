#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DSHAREDISK_SANITIZE=ON) into build-asan and runs the unit tests and the
# tests that start the (sanitized) daemon: integration, security and the
# 60 s failure-path stress run (label stress; only the sanitized build
# registers stress_60s, the normal build has the 20 s stress_20s).
#   scripts/sanitize-tests.sh [extra ctest arguments]
# SHAREDISK_BUILD_ONLY=1: configure and build only (scripts/run-tests.sh builds
# the tree in the background while the normal build's ctest runs).
# Configured with SHAREDISK_REQUIRE_ALL=ON like scripts/run-tests.sh.
# Any ASan/UBSan report fails the run: the test binaries abort, and the
# daemon's non-zero exit (or a leak report at exit) fails the test that
# stopped it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SHAREDISK_ASAN_BUILD:-build-asan}
jobs=${JOBS:-2}

# -O1 -g1: what the sanitizers recommend, with line tables for the reports;
# compiles in about half the time of -O2 -g. Only the programs the selected
# tests run are built (the sanitized_suite target, tests/CMakeLists.txt).
# shellcheck disable=SC2086  # CMAKE_ARGS holds several arguments
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHAREDISK_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DSHAREDISK_BUILD_BENCH=OFF -DSHAREDISK_REQUIRE_ALL=ON ${CMAKE_ARGS:-} >/dev/null
ninja -C "$build" -j"$jobs" sanitized_suite
[ "${SHAREDISK_BUILD_ONLY:-0}" != 1 ] || exit 0

# A GoogleTest program that was not built shows up as one unlabeled
# <program>_NOT_BUILT test, which the label selection below would silently
# leave out: only the programs whose labels are not selected may be missing.
not_selected='ocfs2_oracle_tests'
missing=$(ctest --test-dir "$build" -N | grep -oE '[A-Za-z0-9_]+_NOT_BUILT' |
  grep -vxE "(${not_selected})_NOT_BUILT" || true)
if [ -n "$missing" ]; then
  echo "sanitize-tests: not built by the sanitized_suite target (tests/CMakeLists.txt):" $missing >&2
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Sanitized code is slower: give the tests' own timeouts room.
# A test that skipped or did not run fails the stage (scripts/ctest-no-skips.sh).
scripts/ctest-no-skips.sh "$build" -L 'unit|integration|security|stress' --output-on-failure -j"$jobs" \
  --timeout 900 "$@"
