#!/usr/bin/env bash
# The README's second command: install, build, and run the whole test suite:
#   1. ctest on the normal build: unit, integration against the real daemon,
#      the full iscsi-test-cu suite (thin and fully provisioned LUNs), OCFS2
#      oracle tests, security, operations, real initiators (QEMU, Linux in a
#      VM), and a short bench/compare smoke;
#   2. the unit, integration and security tests again under ASan + UBSan;
#   3. every libFuzzer target for a bounded time.
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
trap 'rm -f "$cpu_file"' EXIT
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
}
stage install scripts/install-deps.sh test
# -g1 (line tables, enough for backtraces) instead of -g: the test build does not
# ship, and full debug info is about a fifth of its compile time.
stage build env CMAKE_ARGS="${CMAKE_ARGS:-} -DSHAREDISK_REQUIRE_ALL=ON" \
  SHAREDISK_OPT_FLAGS="-O2 -g1 -DNDEBUG" scripts/build.sh
log=build/ctest-summary.log
# compliance_all is exit-77 (skipped) unless SHAREDISK_COMPLIANCE_ALL=1.
ctest_stage() {
  SHAREDISK_COMPLIANCE_ALL=1 scripts/ctest-no-skips.sh build --output-on-failure --timeout 900 -j2 \
    "$@" | tee "$log"
}
stage ctest ctest_stage "$@"
stage sanitize scripts/sanitize-tests.sh
stage fuzz scripts/fuzz.sh "${SHAREDISK_FUZZ_SECONDS:-20}"
echo "run-tests: all stages passed; wall (CPU) time per stage: $(IFS=,; echo "${times[*]}")"
# The normal build's ctest verdict, last, for whoever reads closing lines.
grep -E "tests passed|tests failed|ctest-no-skips: all" "$log" | tail -2
