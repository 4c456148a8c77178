#!/usr/bin/env bash
# The README's second command: install, build, and run the whole test suite:
#   1. ctest on the normal build: unit, integration against the real daemon,
#      the full iscsi-test-cu suite (thin and fully provisioned LUNs), OCFS2
#      oracle tests, security, operations, real initiators (QEMU, Linux in a
#      VM), and a short bench/compare smoke;
#   2. the unit, integration and security tests again under ASan + UBSan;
#   3. every libFuzzer target for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/build.sh
start=$(date +%s)
log=build/ctest-summary.log
(cd build && SHAREDISK_COMPLIANCE_ALL=1 ctest --output-on-failure --timeout 900 -j2 "$@") | tee "$log"
echo "run-tests: ctest took $(($(date +%s) - start)) s"
scripts/sanitize-tests.sh
scripts/fuzz.sh "${SHAREDISK_FUZZ_SECONDS:-20}"
echo "run-tests: all stages passed ($(($(date +%s) - start)) s after the build)"
# The normal build's ctest verdict, last, for whoever reads closing lines.
grep -E "tests passed|tests failed" "$log" | tail -1
