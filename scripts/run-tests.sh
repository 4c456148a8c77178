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
scripts/install-deps.sh test
CMAKE_ARGS="${CMAKE_ARGS:-} -DSHAREDISK_REQUIRE_ALL=ON" scripts/build.sh
start=$(date +%s)
log=build/ctest-summary.log
# compliance_all is exit-77 (skipped) unless SHAREDISK_COMPLIANCE_ALL=1.
SHAREDISK_COMPLIANCE_ALL=1 scripts/ctest-no-skips.sh build --output-on-failure --timeout 900 -j2 \
  "$@" | tee "$log"
echo "run-tests: ctest took $(($(date +%s) - start)) s"
scripts/sanitize-tests.sh
scripts/fuzz.sh "${SHAREDISK_FUZZ_SECONDS:-20}"
echo "run-tests: all stages passed ($(($(date +%s) - start)) s after the build)"
# The normal build's ctest verdict, last, for whoever reads closing lines.
grep -E "tests passed|tests failed|ctest-no-skips: all" "$log" | tail -2
