#!/usr/bin/env bash
# Installs the Debian 12 packages sharedisk needs. Usage: install-deps.sh [build|test]
#   build: compiler, CMake and the libraries the daemon and tools link
#   test:  build + the real peers the tests use (libiscsi tools, tgt, istgt, ocfs2-tools, fio,
#          gnuplot for bench/compare's charts,
#          QEMU, a kernel, losetup...): everything -DSHAREDISK_REQUIRE_ALL=ON requires,
#          and what the package tests run (dpkg-shlibdeps, groff, man),
#          and a throwaway Ceph cluster (scripts/ceph-micro.sh) with tgt's RBD backing store
set -euo pipefail
what=${1:-build}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

build_pkgs=(build-essential cmake ninja-build pkg-config clang-format lld
  libboost-dev libaio-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libiscsi-dev libiscsi-bin
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev libcli11-dev nlohmann-json3-dev)
test_pkgs=(tgt istgt ocfs2-tools kmod mount fio clang libclang-rt-14-dev python3 procps iproute2 qemu-utils qemu-block-extra qemu-system-x86 busybox-static open-iscsi linux-image-amd64 e2fsprogs cpio
  dpkg-dev groff-base man-db sg3-utils gnuplot-nox multipath-tools
  ceph-mon ceph-osd ceph-common librbd-dev tgt-rbd)

pkgs=("${build_pkgs[@]}")
pkgs+=(librbd-dev librados-dev) # the RBD backing store (blockdev/rbd_device.cpp) links librbd
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d keeps package scripts from starting tgtd/istgt services on port 3260
  # or ceph daemons.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
