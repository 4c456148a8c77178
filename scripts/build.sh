#!/usr/bin/env bash
# Configures and builds sharedisk into BUILD_DIR (default: build).
# Usage: build.sh [ninja targets...]   (default: everything)
# SHAREDISK_OPT_FLAGS, when set, replaces RelWithDebInfo's "-O2 -g -DNDEBUG".
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
opt=()
if [ -n "${SHAREDISK_OPT_FLAGS:-}" ]; then
  opt=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$SHAREDISK_OPT_FLAGS" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$SHAREDISK_OPT_FLAGS")
fi
# shellcheck disable=SC2086  # CMAKE_ARGS holds several arguments
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${opt[@]}" ${CMAKE_ARGS:-} >/dev/null
ninja -C "$build_dir" -j"$(nproc)" "$@"
