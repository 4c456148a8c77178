#!/usr/bin/env bash
# The README's first command: install, build, and serve the embedded demo
# target (LUN 1 of iqn.2019-02.lb2:odcfs2 on 127.0.0.1:3260, a sparse 1 GiB
# file in /var/tmp/sharedisk). Try it from another shell:
#   iscsi-ls -s iscsi://127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh sharedisk-target
exec build/target/sharedisk-target "$@"
