#!/usr/bin/env bash
# Proves that CI cannot go green on a skipped test:
#  1. a tiny CTest project (configured and built in WORK) with a passing test,
#     a test that exits 77 (SKIP_RETURN_CODE) and a GoogleTest test that calls
#     GTEST_SKIP (registered by gtest_discover_tests): ctest itself exits 0 on
#     it, scripts/ctest-no-skips.sh must exit non-zero and name both skipped
#     tests with their reasons; on the passing test alone it must exit 0;
#  2. configuring this source tree with -DSHAREDISK_REQUIRE_ALL=ON while a test
#     dependency is missing (Google Benchmark hidden with
#     CMAKE_DISABLE_FIND_PACKAGE_benchmark) must fail and name the Debian package.
#   ctest_no_skips_test.sh SOURCE_DIR WORK CMAKE CTEST CXX GENERATOR
set -u -o pipefail
src=$1 work=$2 cmake=$3 ctest=$4 cxx=$5 generator=$6
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
rm -rf "$work"
mkdir -p "$work/project"
cat >"$work/project/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(skips CXX)
enable_testing()
find_package(GTest REQUIRED)
include(GoogleTest)
add_test(NAME passes COMMAND true)
add_test(NAME exits_77 COMMAND sh -c "echo 'SKIP: the peer this test needs is missing'; exit 77")
set_tests_properties(exits_77 PROPERTIES SKIP_RETURN_CODE 77)
add_executable(gtest_skips gtest_skips.cpp)
target_link_libraries(gtest_skips PRIVATE GTest::gtest_main)
gtest_discover_tests(gtest_skips)
CMAKE
cat >"$work/project/gtest_skips.cpp" <<'CPP'
#include <gtest/gtest.h>
TEST(Skips, Deliberately) { GTEST_SKIP() << "deliberately skipped to prove CI fails"; }
CPP
"$cmake" -S "$work/project" -B "$work/build" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
  >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "tiny project: configure"; }
"$cmake" --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "tiny project: build"; }

export CTEST=$ctest
echo "== ctest alone on the tiny project (passes, exits_77, Skips.Deliberately)"
"$ctest" --test-dir "$work/build" >"$work/ctest.log" 2>&1
ctest_status=$?
cat "$work/ctest.log"
[ $ctest_status -eq 0 ] || fail "ctest itself exited $ctest_status (expected 0: it counts skips as passed)"

echo "== scripts/ctest-no-skips.sh on the same tests"
"$src/scripts/ctest-no-skips.sh" "$work/build" >"$work/checker.log" 2>&1
checker_status=$?
cat "$work/checker.log"
[ $checker_status -ne 0 ] || fail "ctest-no-skips.sh exited 0 although two tests skipped"
grep -q "FAILED: 2 of 3 test(s) did not run" "$work/checker.log" || fail "no count of the skipped tests"
grep -q "^  exits_77 (SKIP_RETURN_CODE=77)" "$work/checker.log" || fail "exits_77 not named"
grep -q "SKIP: the peer this test needs is missing" "$work/checker.log" || fail "exits_77's reason not shown"
grep -q "^  Skips.Deliberately (SKIP_REGULAR_EXPRESSION_MATCHED)" "$work/checker.log" ||
  fail "Skips.Deliberately not named"
grep -q "deliberately skipped to prove CI fails" "$work/checker.log" || fail "GTEST_SKIP's message not shown"

echo "== scripts/ctest-no-skips.sh on the passing test alone"
"$src/scripts/ctest-no-skips.sh" "$work/build" -R '^passes$' >"$work/checker-pass.log" 2>&1 ||
  { cat "$work/checker-pass.log"; fail "ctest-no-skips.sh failed a run where every test ran"; }
grep -q "all 1 test(s) ran" "$work/checker-pass.log" || fail "no success line"

echo "== configure with SHAREDISK_REQUIRE_ALL=ON and Google Benchmark hidden"
if "$cmake" -S "$src" -B "$work/strict" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
    -DSHAREDISK_REQUIRE_ALL=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON >"$work/strict.log" 2>&1; then
  cat "$work/strict.log"
  fail "configure succeeded with a missing test dependency under SHAREDISK_REQUIRE_ALL=ON"
fi
grep -A3 "SHAREDISK_REQUIRE_ALL=ON and test dependencies are missing" "$work/strict.log" ||
  { cat "$work/strict.log"; fail "configure failed, but not for the missing dependency"; }
grep -q "Google Benchmark (Debian package: libbenchmark-dev)" "$work/strict.log" ||
  fail "the Debian package is not named"
rm -rf "$work"
echo "PASS: skipped tests fail the run; a missing dependency fails configure under SHAREDISK_REQUIRE_ALL"
