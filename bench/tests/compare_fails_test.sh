#!/usr/bin/env bash
# bench/compare must fail when a target cannot serve: here sharedisk-target is
# replaced by /bin/false (it exits at once) while tgt serves a 16 MiB /dev/shm
# LUN for one half-second job. compare must still print tgt's row, then exit 1
# naming the target that could not serve.
#   compare_fails_test.sh PYTHON SOURCE_DIR SHAREDISK_BENCH RESULTS_DIR
set -u -o pipefail
python=$1 src=$2 bench=$3 results=$4
out=$(mktemp "${TMPDIR:-/tmp}/compare-fails.XXXXXX")
trap 'rm -f "$out"' EXIT
"$python" "$src/bench/compare" --targets sharedisk,tgt --target-binary /bin/false --bench "$bench" \
  --jobs 4k-randread-qd1 --backings shm --shm-size 16M --sparse --rounds 1 --runtime 0.5 \
  --ramp 0 --results-dir "$results" >"$out" 2>&1
status=$?
cat "$out"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
[ $status -eq 1 ] || fail "compare exited $status with a target that cannot start (expected 1)"
grep -q "compare: SKIPPING sharedisk" "$out" || fail "no word of sharedisk failing to start"
grep -Eq "^shm +4k-randread-qd1 +tgt +[0-9,]+ " "$out" || fail "tgt did not run (no row with its IOPS)"
grep -q "compare: FAILED: 1 target(s) could not serve (sharedisk), 0 run(s) failed" "$out" ||
  fail "no FAILED summary"
echo "PASS: compare exits 1 when a target cannot serve"
