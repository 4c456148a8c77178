#!/usr/bin/env bash
# The Linux kernel iSCSI initiator (iscsi_tcp + sd) against sharedisk-target,
# in a throw-away QEMU VM, so it runs where the host has no kernel modules.
#
#   scripts/kernel-initiator.sh BUILD_DIR
#
# 1. Starts the daemon from BUILD_DIR on a free 127.0.0.1 port with two 64 MiB
#    file LUNs (iqn.2019-02.lb2:odcfs2 LUN 1 and 2); 1 MiB of random data is
#    seeded into LUN 1's backing file at 40 MiB and at 44 MiB first.
# 2. Builds an initramfs: static busybox, the kernel's iSCSI/SCSI/virtio/ext4
#    and OCFS2 modules with their dependencies (modules.dep), open-iscsi's
#    iscsid and iscsiadm, mke2fs, mkfs.ocfs2, sg3-utils' tools and Debian's
#    fio with their shared libraries (fio's, for its rbd, gluster... engines,
#    make most of the initramfs's ~100 MB), tests/kernel/guest_init.sh as
#    /init, a random 2 MiB /pattern.bin and /test.env.
# 3. Boots the distribution kernel (/boot/vmlinuz-*) on it with
#    qemu-system-x86_64. Networking is QEMU user mode with restrict=on: the
#    guest reaches nothing but one guestfwd address, 10.0.2.100:3260, whose
#    every connection QEMU hands to `busybox nc 127.0.0.1 PORT`. A second
#    serial port (ttyS1) carries fio's JSON reports to the host.
# 4. The guest runs iscsid, discovers the target (SendTargets) and logs in
#    with iscsiadm, checks vendor and capacity of the disks the kernel
#    attaches, reads the seeded data, discards the 44 MiB one when the disk
#    offers UNMAP (it must read back as zeros), writes the pattern (O_DIRECT
#    at 48 MiB, page cache at an odd sector), makes ext4 on the first 32 MiB
#    and a local-mode OCFS2 on LUN 2, copies the pattern into both. It asks
#    for a LUN 3, which the host adds to lun.yaml with SIGHUP; the kernel must
#    find it with a rescan on the same session and read back what it wrote.
#    fio (libaio, O_DIRECT, iodepth 16) writes 8 MiB of random 4 KiB blocks
#    at 8 MiB on LUN 3 with crc32c verify headers and reads them all back
#    (--do_verify). Then it rewrites 1 MiB at 60 MiB in 64 KiB chunks,
#    reading each back, while the host restarts the daemon (on the guest's
#    RESTART-TARGET-NOW line): the kernel must log in again and finish the
#    queued I/O; the same fio job with --verify_only then reads the 8 MiB
#    again (acknowledged data survived the restart). With the RBD LUN (below)
#    the same reload adds LUN 4 on a Ceph RBD image; the guest checks its
#    capacity, writes the pattern at 0 (O_DIRECT), runs the same fio verify job
#    on 4 MiB at 8 MiB and prints the md5 of the first 12 MiB it reads back
#    ("RBD-MD5"). Then a second session
#    (its own iface and InitiatorName, as a second node) logs in, so LUN 1 is
#    attached twice; session 1 writes 64 KiB O_DIRECT chunks at 52 MiB for
#    about 15 s while session 2 sends 5 LOGICAL UNIT RESETs (sg_reset -d).
#    With TAS=1 the target answers session 1's aborted writes TASK ABORTED
#    and the kernel retries them at once: no write may stall 5 s ("writer max
#    stall X ms across N LUN resets"). Both sessions read the region back. It
#    logs out and prints a PASS/FAIL marker.
# 5. The host stops the daemon and checks the backing files: the pattern at
#    48 MiB, at 60 MiB and at the odd sector, the seeded data untouched, the ext4 and
#    OCFS2 files equal to the pattern (debugfs, debugfs.ocfs2), both file
#    systems clean (e2fsck, fsck.ocfs2), the last pass of the writes across
#    the LUN resets at 52 MiB, the daemon's log of the writes the resets
#    aborted, and sharedisk-ocfs2 probe reads the guest's OCFS2 superblock
#    (when BUILD_DIR has sharedisk-ocfs2). It prints the figures of fio's two
#    JSON reports and requires error 0, 8 MiB written and 8 MiB read and
#    verified in each; then runs the same fio job with --verify_only on LUN 3's
#    backing file (psync): every block must be there, header and checksum,
#    and the same run on a copy with one block overwritten must fail.
#    With the RBD LUN: `rbd export` of the image must hold the pattern at 0,
#    match the guest's RBD-MD5 and pass the same fio --verify_only.
# 6. The RBD LUN: a throwaway Ceph cluster (scripts/ceph-micro.sh: one
#    monitor, one memstore OSD, 127.0.0.1 only, state in the work folder) starts
#    in the background at the beginning, while the initramfs is built and the
#    guest boots; the host waits for it only when the guest asks for LUN 3 and
#    4. It is stopped by pid at the end (EXIT trap).
#
# Exits 0 on success, 1 on a failure, 77 (skip) when a needed package is
# missing. Logs (console, daemon) go to BUILD_DIR/initiator-logs/.
# Environment:
#   KERNEL_INITIATOR_ACCEL    tcg (default) or kvm. KVM is opt-in: in nested
#                             containers /dev/kvm can exist and still hang.
#   KERNEL_INITIATOR_TIMEOUT  seconds for the VM (default 240)
#   KERNEL_INITIATOR_KERNEL   vmlinuz to boot (default: newest /boot/vmlinuz-*
#                             whose modules are installed)
#   KERNEL_INITIATOR_RBD      auto (default): the RBD LUN when ceph-mon, ceph-osd
#                             and rbd are installed, else left out with a note;
#                             1: required (missing packages fail the test; ctest
#                             sets it under SHAREDISK_REQUIRE_ALL); 0: left out
#   KERNEL_INITIATOR_TAS      1 (default) or 0: session 2 clears TAS (MODE
#                             SELECT of the Control page) before its resets;
#                             the writer's stall is then only reported (for a
#                             comparison; the kernel waits out its 30 s command
#                             timeout), and the VM timeout defaults to 480 s.
set -u -o pipefail

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/daemon-lib.sh
source "$SRC_DIR/scripts/daemon-lib.sh"
# shellcheck source=scripts/vm-lib.sh
source "$SRC_DIR/scripts/vm-lib.sh"
build_dir_arg "$@"
GUEST_INIT=$SRC_DIR/tests/kernel/guest_init.sh
ACCEL=${KERNEL_INITIATOR_ACCEL:-tcg}
RESET_TAS=${KERNEL_INITIATOR_TAS:-1}
[[ $RESET_TAS == 0 || $RESET_TAS == 1 ]] || {
  echo "kernel-initiator: KERNEL_INITIATOR_TAS must be 0 or 1" >&2
  exit 2
}
VM_TIMEOUT=${KERNEL_INITIATOR_TIMEOUT:-$((RESET_TAS == 1 ? 240 : 480))}
RBD=${KERNEL_INITIATOR_RBD:-auto}
[[ $RBD == 0 || $RBD == 1 || $RBD == auto ]] || {
  echo "kernel-initiator: KERNEL_INITIATOR_RBD must be auto, 0 or 1" >&2
  exit 2
}
LOG_DIR=$BUILD_DIR/initiator-logs
vm_need qemu-system-x86_64 qemu-system-x86
vm_need iscsid open-iscsi
vm_need iscsiadm open-iscsi
vm_need mke2fs e2fsprogs
vm_need debugfs e2fsprogs
vm_need mkfs.ocfs2 ocfs2-tools
vm_need debugfs.ocfs2 ocfs2-tools
vm_need fsck.ocfs2 ocfs2-tools
vm_need cpio cpio
vm_need sg_reset sg3-utils
vm_need sg_wr_mode sg3-utils
vm_need sg_modes sg3-utils
vm_need fio fio
vm_need python3 python3
BUSYBOX=/bin/busybox
vm_find_kernel
[[ -x $DAEMON ]] || {
  echo "kernel-initiator: $DAEMON not built" >&2
  exit 2
}
[[ -f $GUEST_INIT ]] || {
  echo "kernel-initiator: $GUEST_INIT missing" >&2
  exit 2
}
if [[ $RBD != 0 ]]; then
  missing=
  for p in ceph-mon ceph-osd rbd; do command -v "$p" >/dev/null || missing+=" $p"; done
  if [[ -z $missing ]]; then
    RBD=1
  elif [[ $RBD == 1 ]]; then
    echo "kernel-initiator: KERNEL_INITIATOR_RBD=1 but not installed:$missing (scripts/install-deps.sh test)" >&2
    exit 1
  else
    echo "note the RBD LUN is left out: not installed:$missing (scripts/install-deps.sh test)"
    RBD=0
  fi
fi
vm_accel_args

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sharedisk-kernel-initiator.XXXXXX") || exit 2
QEMU_PID=
CEPH_DIR=$WORK/ceph
CEPH_START_PID=
# The cluster's daemons by the pids ceph-micro.sh recorded; after the target,
# whose shutdown flushes and closes the RBD image.
CEPH_STOP_PID=
ceph_stop_begin() { # in the background, while the host checks; ceph_stop waits for it
  [[ -r $CEPH_DIR/ceph.conf ]] || return 0
  "$SRC_DIR/scripts/ceph-micro.sh" stop "$CEPH_DIR" >/dev/null 2>&1 &
  CEPH_STOP_PID=$!
}
ceph_stop() {
  if [[ -n $CEPH_START_PID ]]; then
    kill -TERM "$CEPH_START_PID" 2>/dev/null
    wait "$CEPH_START_PID" 2>/dev/null
    CEPH_START_PID=
  fi
  if [[ -n $CEPH_STOP_PID ]]; then
    wait "$CEPH_STOP_PID" 2>/dev/null
    CEPH_STOP_PID=
  fi
  [[ -r $CEPH_DIR/ceph.conf ]] && "$SRC_DIR/scripts/ceph-micro.sh" stop "$CEPH_DIR" >/dev/null 2>&1
  [[ -f $WORK/ceph-start.log ]] && cp "$WORK/ceph-start.log" "$LOG_DIR/kernel-ceph-start.log"
  rm -f "$CEPH_DIR/ceph.conf" # stopped: a second call does nothing
}
cleanup() {
  [[ -n $QEMU_PID ]] && kill -KILL "$QEMU_PID" 2>/dev/null
  daemon_stop
  ceph_stop
  [[ -f $WORK/daemon.log ]] && cp "$WORK/daemon.log" "$LOG_DIR/kernel-daemon.log"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$LOG_DIR" || exit 2
START=$SECONDS
elapsed() { echo "[$((SECONDS - START)) s] $*"; }
# The RBD LUN's cluster starts now and comes up while the initramfs is built
# and the guest boots; nothing waits for it before the guest asks for LUN 4.
RBD_IMAGE=vm
RBD_MIB=32
if [[ $RBD == 1 ]]; then
  "$SRC_DIR/scripts/ceph-micro.sh" start "$CEPH_DIR" --image-size "$RBD_MIB" --image "$RBD_IMAGE" \
    --timeout 120 >"$WORK/ceph-start.log" 2>&1 &
  CEPH_START_PID=$!
fi

MiB=$((1024 * 1024))
LUN_BYTES=$((64 * MiB))
HOST_OFF=$((40 * MiB))
DISCARD_OFF=$((44 * MiB))
GUEST_OFF=$((48 * MiB))
ODD_SECTOR=$((56 * MiB / 512 + 3))
RESTART_OFF=$((60 * MiB))
RESET_OFF=$((52 * MiB))
RESETS=5
FS_MIB=32
# fio's verify job on LUN 3, clear of the 2 MiB pattern at its start. The
# runtime cap bounds it; a capped run writes less than FIO_MIB and fails.
FIO_OFF=$((8 * MiB))
FIO_MIB=8
FIO_BYTES=$((FIO_MIB * MiB))
FIO_JOB="--rw=randwrite --bs=4k --offset=$FIO_OFF --size=$FIO_BYTES --verify=crc32c --verify_fatal=1 --verify_state_save=0 --runtime=40"
FIO_ARGS="--ioengine=libaio --direct=1 --iodepth=16 $FIO_JOB"
# The same job on the RBD LUN, on 4 MiB (TCG makes the guest the bottleneck:
# about 2.5 s a MiB for write and verify).
RBD_FIO_MIB=4
RBD_FIO_BYTES=$((RBD_FIO_MIB * MiB))
RBD_FIO_JOB="--rw=randwrite --bs=4k --offset=$FIO_OFF --size=$RBD_FIO_BYTES --verify=crc32c --verify_fatal=1 --verify_state_save=0 --runtime=40"
RBD_FIO_ARGS="--ioengine=libaio --direct=1 --iodepth=16 $RBD_FIO_JOB"
RBD_MD5_MIB=$(((FIO_OFF + RBD_FIO_BYTES) / MiB)) # what the guest wrote, from block 0
IQN=iqn.2019-02.lb2:odcfs2
INITIATOR_IQN=iqn.2026-11.test:guest
INITIATOR_IQN2=iqn.2026-11.test:guest-node2
LUN_FILE=$WORK/lun1.img
LUN2_FILE=$WORK/lun2.img
LUN3_FILE=$WORK/lun3.img
OCFS2_LABEL=sharedisk-kvm

# --- initramfs -------------------------------------------------------------
ROOT=$WORK/root
vm_root "$ROOT" "$GUEST_INIT"
vm_copy_with_libs "$ROOT" "$(command -v iscsid)" "$(command -v iscsiadm)" "$(command -v mke2fs)" \
  "$(command -v mkfs.ocfs2)" "$(command -v sg_reset)" "$(command -v sg_wr_mode)" \
  "$(command -v sg_modes)" "$(command -v fio)"
# Modules in load order: each one's dependencies (modules.dep) first.
vm_modules "$ROOT" "virtio_pci virtio_net unix crc32c_generic scsi_transport_iscsi libiscsi
libiscsi_tcp iscsi_tcp sd_mod ext4 ocfs2"

head -c $((2 * MiB)) /dev/urandom >"$ROOT/pattern.bin"
head -c "$MiB" /dev/urandom >"$WORK/seed.bin"
HOST_MD5=$(md5sum <"$WORK/seed.bin")
HOST_MD5=${HOST_MD5%% *}
cat >"$ROOT/test.env" <<EOF
TARGET_ADDR=10.0.2.100
TARGET_PORT=3260
TARGET_IQN=$IQN
INITIATOR_IQN=$INITIATOR_IQN
LUN_BYTES=$LUN_BYTES
HOST_OFF=$HOST_OFF
HOST_MD5=$HOST_MD5
DISCARD_OFF=$DISCARD_OFF
GUEST_OFF=$GUEST_OFF
ODD_SECTOR=$ODD_SECTOR
RESTART_OFF=$RESTART_OFF
FS_MIB=$FS_MIB
OCFS2_LABEL=$OCFS2_LABEL
INITIATOR_IQN2=$INITIATOR_IQN2
RESET_OFF=$RESET_OFF
RESETS=$RESETS
RESET_SECS=$((RESET_TAS == 1 ? 40 : 200))
RESET_TAS=$RESET_TAS
FIO_ARGS="$FIO_ARGS"
FIO_MIB=$FIO_MIB
DIRECT_PORT=@PORT@
RBD=$RBD
RBD_BYTES=$((RBD_MIB * MiB))
RBD_FIO_ARGS="$RBD_FIO_ARGS"
RBD_MD5_MIB=$RBD_MD5_MIB
EOF
# --- target ------------------------------------------------------------------
truncate -s "$LUN_BYTES" "$LUN_FILE" "$LUN2_FILE"
dd if="$WORK/seed.bin" of="$LUN_FILE" bs=1M seek=$((HOST_OFF / MiB)) conv=notrunc status=none
dd if="$WORK/seed.bin" of="$LUN_FILE" bs=1M seek=$((DISCARD_OFF / MiB)) conv=notrunc status=none
daemon_start_file_luns "$DAEMON" "$WORK" "$IQN" 64M "$LUN_FILE" "$LUN2_FILE" || exit 1
elapsed "daemon pid $DAEMON_PID on 127.0.0.1:$PORT"
sed -i "s/@PORT@/$PORT/" "$ROOT/test.env"

vm_pack "$ROOT" "$WORK/initramfs.cpio" || exit 2
elapsed "initramfs: $(du -h "$WORK/initramfs.cpio" | cut -f1), kernel $KVER, modules: $(tr '\n' ' ' <"$ROOT/modules.load" | sed 's#[^ ]*/##g')"

# --- VM ----------------------------------------------------------------------
CONSOLE=$LOG_DIR/kernel-console.log
FIO_LOG=$LOG_DIR/kernel-fio.log # the guest's second serial port: fio's JSON reports
rm -f "$CONSOLE" "$FIO_LOG" # a previous run's RESTART-TARGET-NOW must not trigger the restart
timeout -k 5 "$VM_TIMEOUT" qemu-system-x86_64 "${ACCEL_ARGS[@]}" -M q35 -m 512 -smp 1 \
  -nodefaults -nographic -no-reboot -serial "file:$CONSOLE" \
  -serial "file:$FIO_LOG" -monitor none \
  -kernel "$KERNEL" -initrd "$WORK/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 quiet loglevel=6" \
  -netdev "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:3260-cmd:$BUSYBOX nc 127.0.0.1 $PORT" \
  -device virtio-net-pci,netdev=n0 >"$WORK/qemu.log" 2>&1 &
QEMU_PID=$!
# Add LUN 3 by reload, then restart the daemon once, each when the guest asks.
restarted=0
hotadded=0
while kill -0 "$QEMU_PID" 2>/dev/null; do
  if [[ $hotadded -eq 0 ]] && grep -aq 'guest: ADD-LUN-3-NOW' "$CONSOLE" 2>/dev/null; then
    printf '%s\n' "      - number: 3" "        path: $LUN3_FILE" "        size: 64M" >>"$WORK/lun.yaml"
    what="LUN 3"
    if [[ $RBD == 1 ]]; then
      wait "$CEPH_START_PID"
      ceph_rc=$?
      CEPH_START_PID=
      if [[ $ceph_rc -ne 0 ]]; then
        elapsed "the Ceph cluster did not start (status $ceph_rc): stopping the VM"
        tail -n 30 "$WORK/ceph-start.log"
        kill -KILL "$QEMU_PID" 2>/dev/null
        break
      fi
      printf '%s\n' "      - number: 4" "        type: rbd" "        pool: rbd" "        image: $RBD_IMAGE" \
        "        ceph_conf: $CEPH_DIR/ceph.conf" >>"$WORK/lun.yaml"
      what="LUN 3 and the RBD LUN 4 ($(grep -o 'started in [0-9]*s' "$WORK/ceph-start.log"))"
    fi
    kill -HUP "$DAEMON_PID"
    hotadded=1
    elapsed "$what added to lun.yaml, daemon reloaded (SIGHUP)"
  fi
  if [[ $restarted -eq 0 ]] && grep -aq 'guest: RESTART-TARGET-NOW' "$CONSOLE" 2>/dev/null; then
    sleep 1 # let some of the guest's chunks go through first
    if daemon_restart; then
      restarted=1
      elapsed "daemon restarted: pid $DAEMON_PID on 127.0.0.1:$PORT"
    else
      restarted=2
    fi
  fi
  sleep 0.2
done
wait "$QEMU_PID"
qemu_rc=$?
QEMU_PID=
elapsed "VM exited with status $qemu_rc"
cat "$WORK/qemu.log"

failures=0

echo "--- guest console (kernel sd/iSCSI lines and the guest's steps) ---"
grep -aE 'scsi|sd |sd[a-z]|iscsi|guest:|SHAREDISK-KERNEL-INITIATOR|EXT4|ocfs2|OCFS2|Kernel panic' "$CONSOLE" | tr -d '\r'
echo "---"
[[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]] && echo "FAIL the VM did not finish in $VM_TIMEOUT s" && failures=$((failures + 1))
check "guest reported PASS" grep -aq 'SHAREDISK-KERNEL-INITIATOR: PASS' "$CONSOLE"
NLUNS=$((RBD == 1 ? 4 : 3))
check "kernel attached $((2 * NLUNS)) SHAREDSK disks (LUN 3$( ((RBD)) && echo " and 4") hot-added, then $NLUNS on session 2)" \
  test "$(grep -acE 'scsi .*Direct-Access +SHAREDSK' "$CONSOLE")" -eq $((2 * NLUNS))
# One reload adds LUN 3 and 4: "added LUN 3; added LUN 4 (sessions kept)".
check "the reload added LUN 3 in place" grep -qE "added LUN 3(;.*)? \(sessions kept\)" "$WORK/daemon.log"
if [[ $RBD == 1 ]]; then
  check "the Ceph cluster started (in the background, $(grep -o 'started in [0-9]*s' "$WORK/ceph-start.log"))" \
    grep -q 'ceph-micro: started in' "$WORK/ceph-start.log"
  check "the reload added the RBD LUN 4 in place" grep -q "added LUN 4 (sessions kept)" "$WORK/daemon.log"
fi
check "the daemon was restarted while the guest was logged in" test "$restarted" -eq 1
check "three normal sessions (login, login again after the restart, second node)" \
  test "$(grep -c 'normal session' "$WORK/daemon.log")" -eq 3
check "the second node logged in with its own InitiatorName" \
  grep -q "normal session .* for $INITIATOR_IQN2 " "$WORK/daemon.log"
# Each connection the daemon accepted is accounted for by the guest's
# discovery and its three logins: the guest could not go around the forward.
check "the daemon saw exactly four connections" \
  test "$(grep -c 'connection from' "$WORK/daemon.log")" -eq 4
STALL=$(grep -ao 'guest: writer max stall [0-9]* ms across [0-9]* LUN resets' "$CONSOLE" | tail -n 1)
STALL_MS=$(sed -n 's/.*stall \([0-9]*\) ms.*/\1/p' <<<"$STALL")
N_RESETS=$(sed -n 's/.*across \([0-9]*\) LUN.*/\1/p' <<<"$STALL")
N_DD=$(grep -ao 'guest: RESET-WRITES [0-9]* x 8 writes' "$CONSOLE" | tail -n 1 | grep -o '[0-9]*' | head -n 1)
ABORTED=$(grep -F "($INITIATOR_IQN): " "$WORK/daemon.log" | grep -o '[0-9]* task(s) on LUN 1 aborted by' |
  awk '{n += $1} END {print n + 0}')
echo "writer max stall ${STALL_MS:-?} ms across ${N_RESETS:-?} LUN resets (TAS=$RESET_TAS), $((${N_DD:-0} * 8)) writes of 64 KiB, $ABORTED of them aborted by the resets"
check "session 2 sent $RESETS LUN resets while session 1 wrote" test "${N_RESETS:-0}" -eq "$RESETS"
if [[ $RESET_TAS == 1 ]]; then
  check "no write of session 1 stalled 5 s across the LUN resets" test "${STALL_MS:-99999}" -lt 5000
  # A reset finds a write in flight at the target in about a third of the
  # tries under TCG (most of a write's time is spent in the guest): a note.
  [[ $ABORTED -eq 0 ]] && echo "note no reset found a write of session 1 in flight at the target"
fi

# fio's JSON reports, each after a line "@@ NAME" in FILE: prints the figures of
# report NAME and writes "error write-bytes read-bytes" to RESULT ("none" when
# the report is missing or is not fio's JSON). A --verify_only job (4th
# argument verify-only) counts the writes it replays, without doing them, in
# write-bytes: only its reads are printed.
fio_report() { # file name result [verify-only]
  python3 - "$@" <<'PY'
import json, sys
path, name, result = sys.argv[1:4]
verify_only = sys.argv[4:] == ["verify-only"]
open(result, "w").write("none")
lines, cur = {}, None
try:
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\r\n")
        if line.startswith("@@ "):
            cur = line[3:]
            lines[cur] = []
        elif cur is not None:
            lines[cur].append(line)
    text = "\n".join(lines[name])
    job = json.loads(text[text.index("{"):])["jobs"][0]  # after any notes fio printed
except (OSError, KeyError, ValueError, IndexError) as e:
    print(f"fio {name}: no JSON report ({type(e).__name__}: {e})")
    sys.exit(0)
def side(d):
    clat = d["clat_ns"]
    p = clat.get("percentile", {})
    return (f"{d['io_bytes']} bytes in {d['total_ios']} I/Os, {d['iops']:.0f} IOPS, "
            f"{d['bw'] / 1024:.2f} MiB/s, clat mean {clat['mean'] / 1000:.0f} us, "
            f"p99 {p.get('99.000000', 0) / 1000:.0f} us")
w, r = job["write"], job["read"]
print(f"fio {name}: error {job['error']}, job runtime {job['job_runtime']} ms")
if not verify_only:
    print(f"  written:           {side(w)}")
print(f"  read and verified: {side(r)}")
open(result, "w").write(f"{job['error']} {w['io_bytes']} {r['io_bytes']}")
PY
}
fio_report "$FIO_LOG" fio-write "$WORK/fio-write.res"
check "fio in the guest: $FIO_MIB MiB of 4 KiB random writes on LUN 3, error 0, all read back and verified" \
  test "$(cat "$WORK/fio-write.res")" = "0 $FIO_BYTES $FIO_BYTES"
fio_report "$FIO_LOG" fio-verify-after-restart "$WORK/fio-verify.res" verify-only
check "fio --verify_only in the guest after the daemon restart: error 0, the $FIO_MIB MiB read and verified again" \
  test "$(cut -d' ' -f1,3 "$WORK/fio-verify.res")" = "0 $FIO_BYTES"
if [[ $RBD == 1 ]]; then
  fio_report "$FIO_LOG" fio-rbd-write "$WORK/fio-rbd.res"
  check "fio in the guest on the RBD LUN 4: $RBD_FIO_MIB MiB of 4 KiB random writes, error 0, all read back and verified" \
    test "$(cat "$WORK/fio-rbd.res")" = "0 $RBD_FIO_BYTES $RBD_FIO_BYTES"
fi

daemon_stop
# The RBD LUN's image, read from the cluster with `rbd export` (the target's
# shutdown flushed and closed it); the cluster then stops in the background
# while the host checks the export and the backing files.
if [[ $RBD == 1 ]]; then
  rbd_export() { # file
    timeout -k 5 60 rbd -c "$CEPH_DIR/ceph.conf" --id admin --client-mount-timeout 10 \
      --rados-mon-op-timeout 20 --rados-osd-op-timeout 20 export --no-progress "rbd/$RBD_IMAGE" "$1"
  }
  check "rbd export of the RBD LUN's image ($RBD_MIB MiB)" rbd_export "$WORK/rbd.img"
  elapsed "daemon stopped, RBD image exported"
  ceph_stop_begin
fi
region() { tail -c +$(($1 + 1)) "$LUN_FILE" | head -c "$2"; }
check "backing file: guest's 2 MiB at $GUEST_OFF" cmp "$ROOT/pattern.bin" <(region "$GUEST_OFF" $((2 * MiB)))
check "backing file: guest's 7 sectors at sector $ODD_SECTOR" \
  cmp <(head -c 3584 "$ROOT/pattern.bin") <(region $((ODD_SECTOR * 512)) 3584)
check "backing file: sectors around them still zero" \
  cmp <(head -c 1024 /dev/zero) <(region $((ODD_SECTOR * 512 - 512)) 512; region $((ODD_SECTOR * 512 + 3584)) 512)
check "backing file: the 1 MiB rewritten across the restart at $RESTART_OFF" \
  cmp <(head -c "$MiB" "$ROOT/pattern.bin") <(region "$RESTART_OFF" "$MiB")
check "backing file: host's seeded 1 MiB untouched" cmp "$WORK/seed.bin" <(region "$HOST_OFF" "$MiB")
if grep -aq 'guest: DISCARDED' "$CONSOLE"; then
  check "backing file: the discarded 1 MiB at $DISCARD_OFF reads as zeros" \
    cmp <(head -c "$MiB" /dev/zero) <(region "$DISCARD_OFF" "$MiB")
else
  echo "note the kernel did not see UNMAP support: discard left out"
fi
# dd i wrote slots 8 * (i % 4) + 0..7 from pattern chunks 8 * ((i + i / 4) % 4) + 0..7.
if [[ -n $N_DD && $N_DD -ge 4 ]]; then
  : >"$WORK/reset-expect.bin"
  for g in 0 1 2 3; do
    j=$(((N_DD - 1) - ((N_DD - 1 - g) % 4)))
    dd if="$ROOT/pattern.bin" of="$WORK/reset-expect.bin" bs=64K skip=$((8 * ((j + j / 4) % 4))) \
      seek=$((8 * g)) count=8 conv=notrunc status=none
  done
  check "backing file: the last pass of $((N_DD * 8)) writes across the LUN resets at $RESET_OFF" \
    cmp "$WORK/reset-expect.bin" <(region "$RESET_OFF" $((2 * MiB)))
else
  check "the guest wrote at least one pass across the LUN resets" false
fi
check "backing file: guest's 2 MiB on the hot-added LUN 3" \
  cmp "$ROOT/pattern.bin" <(head -c $((2 * MiB)) "$LUN3_FILE")
# The same fio job, verify only, on the host: LUN 3's backing file read with
# fio's psync engine must hold every block the guest wrote, at its offset, with
# its verify header and checksum.
# Report NAME (default host-verify) goes to $WORK/fio-NAME.log, fio's stderr to stdout.
host_fio_verify() { # image [name job-options]
  local name=${2:-host-verify} job=${3:-$FIO_JOB}
  # shellcheck disable=SC2086  # job holds the job's options
  (cd "$WORK" && fio --name=verify --filename="$1" --ioengine=psync $job --verify_only \
    --output-format=json >"$WORK/fio-$name.json" 2>"$WORK/fio-$name.err")
  local rc=$?
  cat "$WORK/fio-$name.err"
  { echo "@@ $name"; cat "$WORK/fio-$name.json"; } >"$WORK/fio-$name.log"
  return $rc
}
host_fio_verify "$LUN3_FILE" || echo "fio --verify_only on the host failed"
fio_report "$WORK/fio-host-verify.log" host-verify "$WORK/fio-host.res" verify-only
check "fio --verify_only on the host: LUN 3's backing file holds the guest's $FIO_MIB MiB (headers, crc32c)" \
  test "$(cut -d' ' -f1,3 "$WORK/fio-host.res")" = "0 $FIO_BYTES"
# The same check must fail on a copy with one of those blocks overwritten.
cp "$LUN3_FILE" "$WORK/lun3-bad.img" &&
  dd if=/dev/urandom of="$WORK/lun3-bad.img" bs=4k seek=$(((FIO_OFF + FIO_BYTES / 2) / 4096)) count=1 \
    conv=notrunc status=none
host_fio_verify_fails() { # image
  ! host_fio_verify "$1" >"$WORK/fio-bad.err" && cat "$WORK/fio-bad.err" &&
    grep -qE 'verify: bad|verify failed' "$WORK/fio-bad.err"
}
check "fio --verify_only on the host fails on a copy with one block of the region overwritten" \
  host_fio_verify_fails "$WORK/lun3-bad.img"
# The RBD LUN as `rbd export` read it from the cluster.
if [[ $RBD == 1 ]]; then
  rbd_region() { tail -c +$(($1 + 1)) "$WORK/rbd.img" | head -c "$2"; }
  check "rbd export: the guest's 2 MiB pattern at 0" cmp "$ROOT/pattern.bin" <(rbd_region 0 $((2 * MiB)))
  check "rbd export: the 1 MiB the guest discarded at 4 MiB reads as zeros" \
    cmp <(head -c "$MiB" /dev/zero) <(rbd_region $((4 * MiB)) "$MiB")
  check "rbd export: the pattern's second MiB at 5 MiB" \
    cmp <(tail -c "$MiB" "$ROOT/pattern.bin") <(rbd_region $((5 * MiB)) "$MiB")
  RBD_MD5=$(grep -ao 'guest: RBD-MD5 [0-9a-f]*' "$CONSOLE" | tail -n 1 | cut -d' ' -f3)
  EXPORT_MD5=$(head -c $((RBD_MD5_MIB * MiB)) "$WORK/rbd.img" | md5sum | cut -d' ' -f1)
  echo "RBD LUN: md5 of the first $RBD_MD5_MIB MiB: guest read ${RBD_MD5:-?}, rbd export $EXPORT_MD5"
  check "rbd export: the first $RBD_MD5_MIB MiB match the md5 the guest read back" \
    test "${RBD_MD5:-none}" = "$EXPORT_MD5"
  host_fio_verify "$WORK/rbd.img" host-verify-rbd "$RBD_FIO_JOB" ||
    echo "fio --verify_only on the rbd export failed"
  fio_report "$WORK/fio-host-verify-rbd.log" host-verify-rbd "$WORK/fio-rbd-host.res" verify-only
  check "fio --verify_only on the host: the rbd export holds the guest's $RBD_FIO_MIB MiB (headers, crc32c)" \
    test "$(cut -d' ' -f1,3 "$WORK/fio-rbd-host.res")" = "0 $RBD_FIO_BYTES"
fi
check "e2fsck: guest's ext4 is clean" e2fsck -fn "$LUN_FILE"
check "debugfs: /guest.bin equals the pattern" \
  bash -c "debugfs -R 'dump /guest.bin $WORK/guest.bin' '$LUN_FILE' && cmp '$ROOT/pattern.bin' '$WORK/guest.bin'"
check "fsck.ocfs2: guest's OCFS2 is clean" fsck.ocfs2 -fn "$LUN2_FILE"
check "debugfs.ocfs2: /guest.bin equals the pattern" \
  bash -c "debugfs.ocfs2 -R 'dump /guest.bin $WORK/guest2.bin' '$LUN2_FILE' && cmp '$ROOT/pattern.bin' '$WORK/guest2.bin'"
OCFS2_CLI=$BUILD_DIR/ocfs2/sharedisk-ocfs2
if [[ -x $OCFS2_CLI ]]; then
  check "sharedisk-ocfs2 probe: the guest's superblock (label, local, 1 slot, 64 MiB)" \
    bash -c "'$OCFS2_CLI' --json probe '$LUN2_FILE' | tee /dev/stderr | grep -q '\"label\":\"$OCFS2_LABEL\".*\"node_slots\":1,.*\"size_bytes\":$LUN_BYTES,.*\"local\"'"
else
  echo "note $OCFS2_CLI not built: probe check left out"
fi

if [[ $RBD == 1 ]]; then
  ceph_stop
  elapsed "Ceph cluster stopped"
fi
elapsed "done"
if [[ $failures -ne 0 ]]; then
  echo "kernel-initiator: $failures check(s) failed; console: $CONSOLE; daemon log:"
  tail -n 30 "$WORK/daemon.log"
  exit 1
fi
echo "kernel-initiator: all checks passed"
