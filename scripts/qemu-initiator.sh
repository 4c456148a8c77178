#!/usr/bin/env bash
# QEMU's own iSCSI initiator (the libiscsi-based iscsi:// block driver of
# qemu-io and qemu-img) against sharedisk-target.
#
#   scripts/qemu-initiator.sh BUILD_DIR
#
# Starts the daemon from BUILD_DIR on a free 127.0.0.1 port with a 64 MiB file
# LUN, then:
#   1. qemu-io writes 1 MiB of 0xab at 0 and 512 bytes of 0x5c at byte 3 MiB +
#      512 (not 4 KiB aligned), reads both back with pattern checks;
#   2. qemu-img convert copies a random 16 MiB raw image onto the LUN and back
#      into a new file; cmp must find the copy identical;
#   3. after a clean daemon shutdown, the LUN's backing file must hold the
#      image at offset 0 and, beyond it, still the 0x5c sectors qemu-io wrote.
# Exits 0 on success, 1 on a failure, 77 (skip) when qemu-io/qemu-img or their
# iscsi block driver (Debian: qemu-utils, qemu-block-extra) are missing.
set -u -o pipefail

# shellcheck source=scripts/daemon-lib.sh
source "$(dirname "$0")/daemon-lib.sh"
build_dir_arg "$@"

command -v qemu-io >/dev/null || skip_test "qemu-io not found (apt-get install qemu-utils qemu-block-extra)"
command -v qemu-img >/dev/null || skip_test "qemu-img not found (apt-get install qemu-utils qemu-block-extra)"
qemu-img --help 2>/dev/null | grep -q 'Supported formats:.* iscsi' ||
  skip_test "qemu-img has no iscsi block driver (apt-get install qemu-block-extra)"
[[ -x $DAEMON ]] || {
  echo "qemu-initiator: $DAEMON not built" >&2
  exit 2
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sharedisk-qemu-initiator.XXXXXX") || exit 2
cleanup() {
  daemon_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

IQN=iqn.2019-02.lb2:odcfs2
LUN_FILE=$WORK/lun1.img
MiB=$((1024 * 1024))
failures=0
# qemu-io reports a failed read or pattern mismatch in its output, not always
# in its exit status.
qemu_io() {
  local out
  out=$(qemu-io -f raw "$@" 2>&1)
  local rc=$?
  printf '%s\n' "$out"
  [[ $rc -eq 0 ]] && ! grep -qiE 'fail|error|mismatch|pattern verification' <<<"$out"
}

daemon_start_file_luns "$DAEMON" "$WORK" "$IQN" 64M "$LUN_FILE" || exit 1
URL=iscsi://127.0.0.1:$PORT/$IQN/1
echo "daemon pid $DAEMON_PID on 127.0.0.1:$PORT, LUN $URL"

check "qemu-io: write 1 MiB of 0xab at 0, read it back" \
  qemu_io "$URL" -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M'
UNALIGNED=$((3 * MiB + 512))
check "qemu-io: write 512 bytes of 0x5c at $UNALIGNED (not 4 KiB aligned), read back" \
  qemu_io "$URL" -c "write -P 0x5c $UNALIGNED 512" -c "read -P 0x5c $UNALIGNED 512" \
  -c "read -P 0xab 0 1M"
check "qemu-img info reports the LUN's 64 MiB" \
  sh -c "qemu-img info --output=json '$URL' | grep -q '\"virtual-size\": $((64 * MiB))'"

head -c $((16 * MiB)) /dev/urandom >"$WORK/random.img"
check "qemu-img convert: random 16 MiB image onto the LUN" \
  qemu-img convert -n -f raw -O raw "$WORK/random.img" "$URL"
check "qemu-img convert: the LUN's first 16 MiB back into a file" \
  sh -c "qemu-img convert -f raw -O raw '$URL' '$WORK/whole.img' &&
         head -c $((16 * MiB)) '$WORK/whole.img' >'$WORK/back.img'"
check "cmp: the copy read back equals the image" cmp "$WORK/random.img" "$WORK/back.img"
check "qemu-img compare: LUN prefix vs image" \
  sh -c "qemu-img compare -f raw -F raw '$WORK/random.img' '$URL' | grep -q 'Images are identical'"
# The 0x5c sector at 3 MiB + 512 was overwritten by the image copy; write one
# beyond the image, where the host can find it in the backing file.
check "qemu-io: 512 bytes of 0x5c at 20 MiB + 512" \
  qemu_io "$URL" -c "write -P 0x5c $((20 * MiB + 512)) 512" -c "read -P 0 $((20 * MiB)) 512"

daemon_stop
check "backing file: image at offset 0" \
  cmp -n $((16 * MiB)) "$WORK/random.img" "$LUN_FILE"
check "backing file: 0x5c sector at 20 MiB + 512, zeros around it" \
  bash -c "cmp <(head -c 512 /dev/zero | tr '\\0' '\\134') <(tail -c +$((20 * MiB + 512 + 1)) '$LUN_FILE' | head -c 512) &&
         cmp <(head -c 512 /dev/zero) <(tail -c +$((20 * MiB + 1)) '$LUN_FILE' | head -c 512)"

if [[ $failures -ne 0 ]]; then
  echo "qemu-initiator: $failures check(s) failed; daemon log:"
  tail -n 30 "$WORK/daemon.log"
  exit 1
fi
echo "qemu-initiator: all checks passed"
