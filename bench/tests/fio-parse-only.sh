#!/bin/sh
# fio --parse-only on one bench/jobs file, as real fio users run it (the job
# files say filename=${SHAREDISK_BENCH_DEV}). Fails on a non-zero exit and on
# anything fio prints: it warns about options it ignores on stderr.
#   bench/tests/fio-parse-only.sh FIO JOB_FILE
set -u
fio=$1
job=$2
SHAREDISK_BENCH_DEV=${SHAREDISK_BENCH_DEV:-/dev/sdX}
export SHAREDISK_BENCH_DEV
out=$("$fio" --parse-only "$job" 2>&1)
status=$?
if [ $status -ne 0 ] || [ -n "$out" ]; then
  printf '%s\n' "$out"
  echo "fio-parse-only: $job: fio exited $status$([ -n "$out" ] && echo ', with the output above')" >&2
  exit 1
fi
echo "fio-parse-only: $job parses"
