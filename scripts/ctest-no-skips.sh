#!/usr/bin/env bash
# Runs ctest and fails when any test did not run: ctest itself counts a test
# that skipped (GTEST_SKIP through gtest_discover_tests, exit 77 through
# SKIP_RETURN_CODE), was disabled, or could not start (missing executable or
# REQUIRED_FILES) as "not run" and may still say "100% tests passed". CI must
# not go green on such a run, so this lists each of them with its reason and
# exits 1.
#   scripts/ctest-no-skips.sh BUILD_DIR [ctest arguments...]
# (CTEST=/path/to/ctest picks the ctest binary.) A run in which no test ran at
# all fails too.
# Exit status: ctest's own when it failed, else 1 when a test did not run, else 0.
# The JUnit report ctest writes is kept as BUILD_DIR/ctest-junit.xml.
set -uo pipefail
if [ $# -lt 1 ] || [ ! -f "$1/CTestTestfile.cmake" ]; then
  echo "usage: ctest-no-skips.sh BUILD_DIR [ctest arguments...] (BUILD_DIR has no CTestTestfile.cmake)" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
shift
junit=$build/ctest-junit.xml
rm -f "$junit"
"${CTEST:-ctest}" --test-dir "$build" --output-junit "$junit" "$@"
status=$?
if [ ! -s "$junit" ]; then
  echo "ctest-no-skips: ctest wrote no $junit (exit status $status)" >&2
  exit $((status == 0 ? 1 : status))
fi

# ctest's JUnit: one <testcase name=".." status="run|notrun|disabled"> per test,
# a <skipped message=".."/> child saying why, and the test's output in
# <system-out>; for those that did not run, keep the lines that say why
# (GoogleTest: "file:line: Skipped" then the message; scripts: "SKIP: ..."),
# or else the test's last line of output.
not_run=$(awk '
  function unxml(s) {
    gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&quot;/, "\"", s);
    gsub(/&apos;/, "\x27", s); gsub(/&amp;/, "\\&", s); return s
  }
  function attr(line, key,    m) {
    if (match(line, key "=\"[^\"]*\"")) return unxml(substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 3))
    return ""
  }
  /<testcase / {
    name = attr($0, "name"); status = attr($0, "status"); bad = (status != "run"); why = ""; said = ""; next_too = 0
    if (bad && status == "disabled") why = "disabled"
    next
  }
  bad && /<skipped / { why = attr($0, "message"); next }
  bad && /<\/testcase>/ {
    if (said == "" && last != "") said = "\n      " last
    printf "  %s (%s)%s\n", name, why == "" ? status : why, said
    bad = 0; last = ""; next
  }
  bad {
    line = unxml($0); sub(/^[ \t]*(<system-out>)?/, "", line); sub(/<\/system-out>$/, "", line)
    if (line ~ /[^ \t]/ && line !~ /^\[/) last = line
    if (next_too) { said = said "\n      " line; next_too = 0 }
    if (line ~ /: Skipped$/) { next_too = 1 }
    else if (line ~ /(^|[^A-Za-z])SKIP(PED)?[: ]/ && line !~ /^\[  SKIPPED \]/) said = said "\n      " line
  }
' "$junit")

total=$(grep -c '<testcase ' "$junit")
if [ "$total" -eq 0 ]; then
  echo "ctest-no-skips: FAILED: no test ran (ctest arguments: $*)"
  exit $((status == 0 ? 1 : status))
fi
if [ -n "$not_run" ]; then
  count=$(grep -c '^  [^ ]' <<<"$not_run")
  echo
  echo "ctest-no-skips: FAILED: $count of $total test(s) did not run (skipped, disabled or not started):"
  echo "$not_run"
  echo "ctest-no-skips: install what they need (scripts/install-deps.sh test) or fix why they skip;"
  echo "ctest-no-skips: a skipped test is a failed test in CI."
  exit $((status == 0 ? 1 : status))
fi
echo "ctest-no-skips: all $total test(s) ran (none skipped, disabled or not started)"
exit $status
