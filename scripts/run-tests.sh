#!/usr/bin/env bash
# The README's second command: install, build, and run the whole test suite
# (unit, integration against the real daemon, OCFS2 oracle tests, iscsi-test-cu).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 -j2 "$@"
