#!/usr/bin/env bash
# sharedisk-bench's command line (CLI11): --version, usage errors exit 2 naming the option,
# "--opt value" and "--opt=value", job options (--KEY=VALUE) checked strictly.
# Usage: cli_test.sh SHAREDISK_BENCH VERSION
set -uo pipefail
bench=$1 version=$2
fail=0
check() {  # check NAME WANT_CODE WANT_TEXT ARGS...
  local name=$1 want=$2 text=$3
  shift 3
  local out code
  out=$(timeout 30 "$bench" "$@" 2>&1)
  code=$?
  if [ "$code" != "$want" ] || ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL $name: exit $code (want $want), output:"
    echo "$out" | head -5
    fail=1
  else
    echo "ok   $name"
  fi
}
out=$("$bench" --version)
[ "$out" = "sharedisk-bench $version" ] || { echo "FAIL --version: '$out'"; fail=1; }
check "unknown format" 2 "--output-format" --output-format=xml --name=j --filename=iscsi://127.0.0.1:1/iqn.2019-02.x:y/1
check "format, space form" 2 "--output-format" --output-format xml --name=j
check "iodepth not a number" 2 "iodepth" --name=j --iodepth=x --filename=iscsi://127.0.0.1:1/iqn.2019-02.x:y/1
check "job option without =" 2 "not-a-job-file" not-a-job-file
check "help" 0 "--output-format" --help
# Parsed fine (both spellings), then the run fails to connect: exit 1, not 2. Port 1 on
# 127.0.0.1 refuses at once.
check "run fails, exit 1" 1 "sharedisk-bench" --output-format json --name=j --rw=read --runtime=1 \
  --filename=iscsi://127.0.0.1:1/iqn.2019-02.x:y/1
exit $fail
