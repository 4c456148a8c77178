#!/usr/bin/env bash
# ctest install_partial: `cmake --install` works after any partial build. Configures a
# fresh build tree, then installs it into scratch prefixes with nothing built, with only
# the OCFS2 library built, and one component of it; what was built is installed, what was
# not is skipped, everything that needs no build (headers, man pages, unit, config) is there.
# Usage: install_partial.sh SOURCE_DIR WORK_DIR GENERATOR LIBDIR [cmake configure args...]
set -euo pipefail
src=$1 work=$2 generator=$3 libdir=$4
shift 4
rm -rf "$work"
mkdir -p "$work"
build=$work/build
status=0
have() { [[ -e $1 ]] || { echo "FAIL: not installed: $1"; status=1; }; }
lacks() { [[ ! -e $1 ]] || { echo "FAIL: installed without being built: $1"; status=1; }; }
install_to() {
  local prefix=$1
  shift
  if ! cmake --install "$build" --prefix "$prefix" "$@" >"$prefix.log" 2>&1; then
    echo "FAIL: cmake --install --prefix $prefix $* failed:"
    cat "$prefix.log"
    exit 1
  fi
  echo "cmake --install $* into $(basename "$prefix"): $(find "$prefix" -type f | wc -l) files"
}

cmake -S "$src" -B "$build" -G "$generator" -DSHAREDISK_BUILD_TESTS=OFF "$@" >"$work/configure.log"

# 1. Nothing built.
p=$work/nothing
install_to "$p"
have "$p/include/sharedisk/ocfs2/ocfs2.h"
have "$p/$libdir/pkgconfig/sharedisk-ocfs2.pc"
have "$p/$libdir/cmake/sharedisk-ocfs2/sharedisk-ocfs2-config.cmake"
have "$p/share/man/man8/sharedisk-target.8"
have "$p/share/man/man5/lun.yaml.5"
have "$p/etc/sharedisk/lun.yaml"
have "$p/lib/systemd/system/sharedisk-target.service"
lacks "$p/sbin/sharedisk-target"
lacks "$p/$libdir/libsharedisk-ocfs2.so.0"
# A prefix other than /usr keeps /etc and the unit inside it, and the unit names them.
grep -qx "ExecStart=$p/sbin/sharedisk-target --config $p/etc/sharedisk/lun.yaml --admin-socket %t/sharedisk/admin.sock" \
  "$p/lib/systemd/system/sharedisk-target.service" || { echo "FAIL: unit paths not under $p"; status=1; }
grep -q "^prefix=$p\$" "$p/$libdir/pkgconfig/sharedisk-ocfs2.pc" || { echo "FAIL: .pc prefix"; status=1; }

# 2. Only the OCFS2 library built.
cmake --build "$build" --target sharedisk_ocfs2 >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
p=$work/library
install_to "$p"
have "$p/$libdir/libsharedisk-ocfs2.so.0"
have "$p/$libdir/libsharedisk-ocfs2.so"
lacks "$p/sbin/sharedisk-ocfs2"
lacks "$p/sbin/sharedisk-target"
lacks "$p/bin/sharedisk-bench"

# 3. One component of the partial build.
p=$work/component
install_to "$p" --component target
have "$p/etc/sharedisk/lun.yaml"
lacks "$p/sbin/sharedisk-target"
lacks "$p/include"

((status == 0)) && echo "PASS"
exit $status
