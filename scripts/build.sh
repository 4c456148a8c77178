#!/usr/bin/env bash
# Configures and builds sharedisk into BUILD_DIR (default: build).
# Usage: build.sh [ninja targets...]   (default: everything)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
# shellcheck disable=SC2086  # CMAKE_ARGS holds several arguments
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
ninja -C "$build_dir" -j"$(nproc)" "$@"
