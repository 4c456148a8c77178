#!/bin/sh
# /init of the throw-away VM scripts/kernel-initiator.sh boots: busybox, the
# Linux iSCSI modules, open-iscsi's iscsid + iscsiadm and a few tools (mke2fs,
# mkfs.ocfs2, sg3-utils, fio), nothing else. It
# discovers sharedisk-target and logs in with the kernel initiator as a server
# would, exercises the disks the kernel attaches, rides out a restart of the
# target (the host restarts it when it reads RESTART-TARGET-NOW), logs out and
# adds a LUN while logged in (the host reloads the target on ADD-LUN-3-NOW),
# runs a fio verify job on that LUN before the restart and --verify_only after
# it (the JSON reports go to the host on /dev/ttyS1),
# reports on the serial console with one marker line,
#   SHAREDISK-KERNEL-INITIATOR: PASS   or   SHAREDISK-KERNEL-INITIATOR: FAIL <why>
# then powers the VM off. /test.env (written by the host script) supplies:
#   TARGET_ADDR TARGET_PORT TARGET_IQN INITIATOR_IQN  where to log in
#   LUN_BYTES            expected capacity
#   HOST_OFF HOST_MD5    1 MiB the host seeded at byte HOST_OFF (the guest reads it)
#   DISCARD_OFF          1 MiB the host seeded there too, which the guest discards
#                        (UNMAP) when the disk offers it, then expects zeros
#   GUEST_OFF            where /pattern.bin (2 MiB) goes with O_DIRECT
#   RESTART_OFF          1 MiB rewritten in 64 KiB chunks while the target restarts
#   ODD_SECTOR           512-byte sector (not 4 KiB aligned) for /pattern.bin's first 7 sectors
#   DIRECT_PORT          the daemon's real port on the host, which must stay unreachable
#   FS_MIB               size of the ext4 filesystem made at the start of LUN 1
#   OCFS2_LABEL          label of the local-mode OCFS2 made on LUN 2
#   INITIATOR_IQN2       InitiatorName of the second session (a second node)
#   RESET_OFF RESETS     2 MiB on LUN 1 written while the second session sends
#                        RESETS LOGICAL UNIT RESETs
#   RESET_SECS           bound of that write loop
#   RESET_TAS            1: a write may not stall 5 s; 0: clear TAS first
#                        (MODE SELECT) and only report the stall
#   FIO_ARGS FIO_MIB     fio's job options for its verify job on LUN 3 (region,
#                        engine, pattern, runtime cap) and the MiB it covers
# Every wait is bounded; the host's timeout is the last resort.

/bin/busybox --install -s /bin
export PATH=/usr/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -s /proc/mounts /etc/mtab # mkfs.ocfs2 checks it for mounted devices
# shellcheck source=/dev/null
. /test.env

marker() { echo "SHAREDISK-KERNEL-INITIATOR: $*"; }
finish() {
  sync
  poweroff -f
  sleep 5 # poweroff -f does not return; this only covers a failure of it
}
fail() {
  marker "FAIL $*"
  [ -f /tmp/iscsid.log ] && tail -n 20 /tmp/iscsid.log
  dmesg | tail -n 20
  finish
}
step() { echo "guest: $*"; }

# Mounts DEV (file system FSTYPE) on /mnt, copies /pattern.bin in, unmounts,
# drops the caches, mounts it read-only and compares.
fs_roundtrip() { # fstype dev
  mkdir -p /mnt
  mount -t "$1" "$2" /mnt || fail "mount $1"
  cp /pattern.bin /mnt/guest.bin || fail "write to $1"
  sync
  umount /mnt || fail "umount $1"
  echo 3 >/proc/sys/vm/drop_caches
  mount -t "$1" -o ro "$2" /mnt || fail "second $1 mount"
  got=$(md5sum </mnt/guest.bin)
  [ "$got" = "$(md5sum </pattern.bin)" ] || fail "$1 file read back differs"
  umount /mnt || fail "second $1 umount"
}

step "loading modules"
while read -r m; do
  insmod "/lib/modules/$(uname -r)/$m" || fail "insmod $m"
done </modules.load

ip link set lo up
ip link set eth0 up || fail "no eth0"
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

# The VM's network is restricted to the one forwarded address: a direct
# connection to the host's port must not get through (the host counts the
# connections its daemon accepted).
step "probing 10.0.2.2:$DIRECT_PORT directly (must not connect)"
timeout 2 nc 10.0.2.2 "$DIRECT_PORT" </dev/null >/dev/null 2>&1

portal=$TARGET_ADDR:$TARGET_PORT
mkdir -p /etc/iscsi /var/lib/iscsi /run/lock/iscsi
# iscsid accepts commands only from a peer whose uid getpwuid() names "root".
echo 'root:x:0:0:root:/:/bin/sh' >/etc/passwd
echo 'root:x:0:' >/etc/group
echo "InitiatorName=$INITIATOR_IQN" >/etc/iscsi/initiatorname.iscsi
printf '%s\n' 'node.startup = manual' 'node.session.timeo.replacement_timeout = 60' \
  'node.conn[0].timeo.noop_out_interval = 5' 'node.conn[0].timeo.noop_out_timeout = 10' \
  >/etc/iscsi/iscsid.conf
step "iscsid"
iscsid -f -d 1 >/tmp/iscsid.log 2>&1 &
for _ in $(seq 50); do
  [ -S /run/iscsid.sock ] || grep -q iscsid /proc/net/unix 2>/dev/null && break
  sleep 0.1
done
step "iscsiadm sendtargets discovery at $portal"
iscsiadm -m discovery -t sendtargets -p "$portal" >/tmp/discovery 2>&1
rc=$?
cat /tmp/discovery
[ $rc -eq 0 ] || fail "discovery exit status $rc"
grep -q " $TARGET_IQN\$" /tmp/discovery || fail "discovery did not list $TARGET_IQN"
# The target names its own portal (127.0.0.1 on the host), which the guest
# cannot reach: log in through the forwarded address instead.
iscsiadm -m node -o delete >/dev/null 2>&1
iscsiadm -m node -o new -T "$TARGET_IQN" -p "$portal" >/dev/null || fail "iscsiadm -o new"
step "iscsiadm login $TARGET_IQN at $portal"
iscsiadm -m node -T "$TARGET_IQN" -p "$portal" --login || fail "login exit status $?"

# The disk of LUN n: its SCSI address H:C:T:L ends in :n.
lun_disk() {
  for d in /sys/block/sd*; do
    [ -e "$d/device" ] || continue
    case $(readlink "$d/device") in *:"$1") [ -b "/dev/${d##*/}" ] && echo "${d##*/}" ;; esac
  done
}
for _ in $(seq 300); do
  disk=$(lun_disk 1)
  disk2=$(lun_disk 2)
  [ -n "$disk" ] && [ -n "$disk2" ] && break
  sleep 0.1
done
if [ -z "$disk" ] || [ -z "$disk2" ]; then fail "LUN 1 and 2 did not both appear after the login"; fi
dev=/dev/$disk
sysdev=/sys/block/$disk/device
step "disk $dev: vendor '$(cat "$sysdev/vendor")' model '$(cat "$sysdev/model")' rev '$(cat "$sysdev/rev")'"
bytes=$(($(cat "/sys/block/$disk/size") * 512))
[ "$bytes" -eq "$LUN_BYTES" ] || fail "capacity $bytes bytes, expected $LUN_BYTES"
step "capacity $bytes bytes, logical block $(cat "/sys/block/$disk/queue/logical_block_size")"
grep -q SHAREDSK "$sysdev/vendor" || fail "vendor is not SHAREDSK"

step "reading the 1 MiB the host seeded at byte $HOST_OFF"
sum=$(dd if="$dev" bs=1M skip=$((HOST_OFF / 1048576)) count=1 iflag=direct 2>/dev/null | md5sum)
[ "${sum%% *}" = "$HOST_MD5" ] || fail "host data read back as ${sum%% *}, expected $HOST_MD5"

step "writing 2 MiB at byte $GUEST_OFF with O_DIRECT"
dd if=/pattern.bin of="$dev" bs=1M seek=$((GUEST_OFF / 1048576)) oflag=direct conv=fsync 2>/dev/null ||
  fail "dd write at $GUEST_OFF"
step "writing 7 sectors at sector $ODD_SECTOR through the page cache"
dd if=/pattern.bin of="$dev" bs=512 count=7 seek="$ODD_SECTOR" conv=fsync 2>/dev/null ||
  fail "dd write at sector $ODD_SECTOR"
echo 3 >/proc/sys/vm/drop_caches
want=$(md5sum </pattern.bin)
got=$(dd if="$dev" bs=1M skip=$((GUEST_OFF / 1048576)) count=2 iflag=direct 2>/dev/null | md5sum)
[ "$got" = "$want" ] || fail "2 MiB read back differs"
want=$(head -c 3584 /pattern.bin | md5sum)
got=$(dd if="$dev" bs=512 skip="$ODD_SECTOR" count=7 2>/dev/null | md5sum)
[ "$got" = "$want" ] || fail "7 sectors read back differ"

# A path, not a name: this busybox shell prefers its own (ext2-only) mke2fs applet.
qdir=/sys/block/$disk/queue
step "provisioning_mode $(cat "$sysdev"/scsi_disk/*/provisioning_mode), discard_max_bytes $(cat "$qdir"/discard_max_bytes), write_zeroes_max_bytes $(cat "$qdir"/write_zeroes_max_bytes)"
if [ "$(cat "$qdir"/discard_max_bytes)" -gt 0 ]; then
  blkdiscard -o "$DISCARD_OFF" -l 1048576 "$dev" || fail "blkdiscard"
  got=$(dd if="$dev" bs=1M skip=$((DISCARD_OFF / 1048576)) count=1 iflag=direct 2>/dev/null | md5sum)
  [ "$got" = "$(head -c 1048576 /dev/zero | md5sum)" ] || fail "discarded 1 MiB does not read as zeros"
  step "DISCARDED 1 MiB at $DISCARD_OFF, reads back as zeros"
fi

step "mkfs.ext4 on the first $FS_MIB MiB, mount, write, remount, read"
/usr/sbin/mke2fs -q -F -t ext4 -L sharedisk "$dev" "${FS_MIB}M" || fail "mke2fs"
fs_roundtrip ext4 "$dev"

step "mkfs.ocfs2 (local mode) on LUN 2 /dev/$disk2, mount, write, remount, read"
/usr/sbin/mkfs.ocfs2 -q -F -M local -b 4K -C 4K -N 1 -L "$OCFS2_LABEL" "/dev/$disk2" ||
  fail "mkfs.ocfs2"
fs_roundtrip ocfs2 "/dev/$disk2"

# The host adds LUN 3 to lun.yaml and reloads the daemon (SIGHUP) when it sees
# this line: the session stays up, the kernel hears REPORTED LUNS DATA HAS
# CHANGED, and a rescan attaches the new disk without a new login.
step "ADD-LUN-3-NOW"
# With RBD=1 the same reload adds LUN 4, on a Ceph RBD image.
sessions=$(ls /sys/class/iscsi_session)
disk3=
disk4=
for _ in $(seq 60); do
  sleep 1
  iscsiadm -m session -R >/dev/null 2>&1
  disk3=$(lun_disk 3)
  disk4=$(lun_disk 4)
  [ -n "$disk3" ] && { [ "$RBD" != 1 ] || [ -n "$disk4" ]; } && break
done
[ -n "$disk3" ] || fail "LUN 3 did not appear after the reload and a rescan"
[ "$RBD" != 1 ] || [ -n "$disk4" ] || fail "the RBD LUN 4 did not appear after the reload and a rescan"
[ "$(ls /sys/class/iscsi_session)" = "$sessions" ] || fail "the session changed at the reload"
dmesg | grep -q 'detected conn error' && fail "the connection dropped at the reload"
step "HOTADDED LUN 3 as /dev/$disk3; writing 2 MiB with O_DIRECT and reading it back"
dd if=/pattern.bin of="/dev/$disk3" bs=1M oflag=direct conv=fsync 2>/dev/null || fail "dd write to LUN 3"
got=$(dd if="/dev/$disk3" bs=1M count=2 iflag=direct 2>/dev/null | md5sum)
[ "$got" = "$(md5sum </pattern.bin)" ] || fail "LUN 3 read back differs"

# Debian's fio writes FIO_MIB MiB of random 4 KiB blocks on LUN 3 (FIO_ARGS:
# the region, libaio, O_DIRECT, 16 in flight), each with a crc32c verify header,
# then reads every block back and checks it; after the target restart the same job
# runs again with --verify_only. Each JSON report goes to the host on the
# second serial port (/dev/ttyS1), after a line "@@ NAME".
stty -F /dev/ttyS1 raw -echo 2>/dev/null
fio_job() { # name disk job-options more-options...
  name=$1
  fdisk=$2
  fargs=$3
  shift 3
  # shellcheck disable=SC2086  # fargs holds the job's options
  fio --name=verify --filename="/dev/$fdisk" $fargs "$@" --output-format=json \
    >"/tmp/$name.json" 2>"/tmp/$name.err"
  rc=$?
  { echo "@@ $name"; cat "/tmp/$name.json"; } >/dev/ttyS1
  [ $rc -eq 0 ] || fail "fio $name exit status $rc: $(tail -n 5 "/tmp/$name.err")"
}
step "FIO write+verify: $FIO_ARGS on /dev/$disk3"
fio_job fio-write "$disk3" "$FIO_ARGS" --do_verify=1
step "FIO write+verify done"

# The RBD LUN: its capacity is the image's; the pattern at 0 and at 4 MiB,
# then 1 MiB at 4 MiB discarded (reads back as zeros); the fio job on its
# region; after the target restart the guest prints the md5 of what it reads
# back, which the host compares with `rbd export`.
if [ "$RBD" = 1 ]; then
  bytes4=$(($(cat "/sys/block/$disk4/size") * 512))
  [ "$bytes4" -eq "$RBD_BYTES" ] || fail "RBD LUN 4 capacity $bytes4 bytes, expected $RBD_BYTES"
  step "RBD LUN 4 is /dev/$disk4, $bytes4 bytes: the pattern at 0 and 4 MiB with O_DIRECT"
  for mib in 0 4; do
    dd if=/pattern.bin of="/dev/$disk4" bs=1M seek=$mib oflag=direct conv=fsync 2>/dev/null ||
      fail "dd write to the RBD LUN at $mib MiB"
    got=$(dd if="/dev/$disk4" bs=1M skip=$mib count=2 iflag=direct 2>/dev/null | md5sum)
    [ "$got" = "$(md5sum </pattern.bin)" ] || fail "the RBD LUN read back at $mib MiB differs"
  done
  blkdiscard -o $((4 * 1048576)) -l 1048576 "/dev/$disk4" || fail "blkdiscard on the RBD LUN"
  got=$(dd if="/dev/$disk4" bs=1M skip=4 count=1 iflag=direct 2>/dev/null | md5sum)
  [ "$got" = "$(head -c 1048576 /dev/zero | md5sum)" ] || fail "the RBD LUN's discarded 1 MiB does not read as zeros"
  step "FIO write+verify on the RBD LUN: $RBD_FIO_ARGS on /dev/$disk4"
  fio_job fio-rbd-write "$disk4" "$RBD_FIO_ARGS" --do_verify=1
  step "FIO write+verify on the RBD LUN done"
fi

# The host restarts the daemon when it sees this line; iscsid must log in
# again and the I/O queued meanwhile must complete. Every chunk is read back.
step "RESTART-TARGET-NOW"
start=$(date +%s)
i=0
seen=0
after=0
while [ $(($(date +%s) - start)) -lt 60 ]; do
  slot=$((i % 16))
  dd if=/pattern.bin of="$dev" bs=65536 skip="$slot" seek=$((RESTART_OFF / 65536 + slot)) count=1 \
    oflag=direct 2>/dev/null || fail "write $i during the restart"
  want=$(dd if=/pattern.bin bs=65536 skip="$slot" count=1 2>/dev/null | md5sum)
  got=$(dd if="$dev" bs=65536 skip=$((RESTART_OFF / 65536 + slot)) count=1 iflag=direct 2>/dev/null | md5sum)
  [ "$got" = "$want" ] || fail "chunk $i read back differs during the restart"
  i=$((i + 1))
  if [ $seen = 0 ] && dmesg | grep -q 'detected conn error'; then
    seen=1
    step "connection loss seen after chunk $i:$(dmesg | grep -m1 'detected conn error' | sed 's/^[^]]*]//')"
  fi
  [ $seen = 1 ] && after=$((after + 1))
  [ $after -ge 20 ] && [ $i -ge 16 ] && break
done
[ $seen = 1 ] || fail "the target restart was never seen"
[ $after -ge 20 ] || fail "I/O did not resume after the target restart ($after chunks)"
grep -q LOGGED_IN /sys/class/iscsi_session/session*/state || fail "session not LOGGED_IN again"
step "$i chunks written and read back across the target restart"
step "FIO verify-only after the restart: the $FIO_MIB MiB fio wrote to /dev/$disk3"
fio_job fio-verify-after-restart "$disk3" "$FIO_ARGS" --verify_only
step "FIO verify-only done"
if [ "$RBD" = 1 ]; then
  sum=$(dd if="/dev/$disk4" bs=1M count="$RBD_MD5_MIB" iflag=direct 2>/dev/null | md5sum)
  step "RBD-MD5 ${sum%% *} (the first $RBD_MD5_MIB MiB of the RBD LUN, read after the restart)"
fi

# A second node: session 2 (iface node2, its own InitiatorName) logs in to the
# same target, so LUN 1 is attached twice. Session 1 writes 64 KiB O_DIRECT
# chunks to RESET_OFF while session 2 sends LOGICAL UNIT RESETs (sg_reset -d),
# as the SCSI error handler of one OCFS2 node does. The reset aborts session
# 1's write in flight; with TAS=1 the target answers it TASK ABORTED and the
# kernel retries it at once, instead of waiting out its 30 s command timeout.
# One dd writes 8 chunks (8 WRITEs, one after the other, so that a write is
# nearly always in flight): dd i writes slots 8 * (i % 4) + 0..7 from pattern
# chunks 8 * ((i + i / 4) % 4) + 0..7, so every pass of 4 leaves other data;
# the host checks the last pass in the backing file.
step "second session: iface node2, InitiatorName $INITIATOR_IQN2"
mkdir -p /etc/iscsi/ifaces
iscsiadm -m iface -I node2 -o new >/dev/null || fail "iscsiadm iface node2"
iscsiadm -m iface -I node2 -o update -n iface.initiatorname -v "$INITIATOR_IQN2" >/dev/null ||
  fail "iscsiadm iface node2 initiatorname"
iscsiadm -m node -o new -T "$TARGET_IQN" -p "$portal" -I node2 >/dev/null || fail "iscsiadm -o new -I node2"
iscsiadm -m node -T "$TARGET_IQN" -p "$portal" -I node2 --login || fail "second login exit status $?"
host_of() { readlink "/sys/block/$1/device" | sed 's#.*/\([0-9]*\):[0-9]*:[0-9]*:[0-9]*$#\1#'; }
host1=$(host_of "$disk")
nluns=3
[ "$RBD" = 1 ] && nluns=4
rdisk=
for _ in $(seq 300); do
  others=0
  for d in /sys/block/sd*; do
    [ -b "/dev/${d##*/}" ] && [ "$(host_of "${d##*/}")" != "$host1" ] && others=$((others + 1))
  done
  for d in $(lun_disk 1); do
    [ "$(host_of "$d")" != "$host1" ] && rdisk=$d
  done
  [ -n "$rdisk" ] && [ "$others" -ge "$nluns" ] && break
  sleep 0.1
done
[ -n "$rdisk" ] || fail "LUN 1 did not appear on the second session"
[ "$others" -ge "$nluns" ] || fail "the second session attached $others disks, expected $nluns"
step "LUN 1 is /dev/$disk (session 1, host$host1) and /dev/$rdisk (session 2, host$(host_of "$rdisk"))"
if [ "$RESET_TAS" = 0 ]; then
  # MODE SELECT of the Control page, TAS bit (byte 5, 0x40) cleared.
  sg_wr_mode -p a -c 0a,0a,0,0,0,0 -m 0,0,0,0,0,40 "/dev/$rdisk" || fail "sg_wr_mode TAS=0"
fi
# MODE SENSE(10) of the Control page; sg_modes -r prints either the whole
# response (8-byte header, block descriptors, page) or the page alone.
# shellcheck disable=SC2046  # one word per byte
set -- $(sg_modes -p 0xa -r "/dev/$rdisk" 2>/tmp/sg_modes.err | od -An -tu1)
if [ $# -ge 8 ] && [ "$1 $2" != "10 10" ]; then
  [ $# -ge $((8 + $7 * 256 + $8 + 6)) ] && shift $((8 + $7 * 256 + $8))
fi
if [ $# -lt 6 ] || [ "$1" != 10 ]; then fail "sg_modes -p 0xa /dev/$rdisk: $* $(cat /tmp/sg_modes.err)"; fi
tas=$((($6 & 64) / 64))
step "Control mode page: TAS=$tas"
[ "$tas" = "$RESET_TAS" ] || fail "TAS is $tas, expected $RESET_TAS"

# Uptime in ms (10 ms steps) without a fork: busybox date has no %N.
now() {
  read -r up _ </proc/uptime
  now=$((${up%.*} * 1000 + 1${up#*.} * 10 - 1000))
}
rm -f /tmp/resets /tmp/resets.done
(
  sleep 3
  k=0
  while [ $k -lt "${RESETS:?}" ]; do
    now
    t0=$now
    sg_reset -d "/dev/$rdisk" >/tmp/sg_reset.log 2>&1 || {
      echo "guest: sg_reset -d /dev/$rdisk failed: $(cat /tmp/sg_reset.log)"
      break
    }
    now
    k=$((k + 1))
    echo $k >/tmp/resets
    step "LOGICAL UNIT RESET $k from session 2 took $((now - t0)) ms"
    sleep 2
  done
  : >/tmp/resets.done
) &
resetter=$!
step "RESET-WRITES: session 1 writes 64 KiB chunks at $RESET_OFF while session 2 resets LUN 1 $RESETS times"
now
begin=$now
last=$now
maxgap=0
maxat=0
i=0
while [ ! -e /tmp/resets.done ] && [ $((now - begin)) -lt $((RESET_SECS * 1000)) ]; do
  dd if=/pattern.bin of="$dev" bs=65536 skip=$((8 * ((i + i / 4) % 4))) \
    seek=$((RESET_OFF / 65536 + 8 * (i % 4))) count=8 oflag=direct 2>/dev/null ||
    fail "write $i during the LUN resets"
  now
  [ $((now - last)) -gt $maxgap ] && maxgap=$((now - last)) && maxat=$i
  last=$now
  i=$((i + 1))
done
wait "$resetter"
nresets=$(cat /tmp/resets 2>/dev/null || echo 0)
step "RESET-WRITES $i x 8 writes in $((now - begin)) ms; slowest: dd $maxat"
step "writer max stall $maxgap ms across $nresets LUN resets (TAS=$RESET_TAS)"
[ "$nresets" -eq "$RESETS" ] || fail "only $nresets of $RESETS LUN resets succeeded"
[ $i -ge 4 ] || fail "only $i x 8 writes during the LUN resets (fewer than one pass)"
if [ "$RESET_TAS" = 1 ] && [ $maxgap -ge 5000 ]; then
  fail "a write stalled $maxgap ms across the LUN resets (TAS=1)"
fi
# Both sessions read the last pass back (O_DIRECT, from the target).
rm -f /tmp/expect.bin
g=0
while [ $g -lt 4 ]; do
  j=$(((i - 1) - ((i - 1 - g) % 4)))
  dd if=/pattern.bin of=/tmp/expect.bin bs=65536 skip=$((8 * ((j + j / 4) % 4))) seek=$((8 * g)) count=8 \
    conv=notrunc 2>/dev/null
  g=$((g + 1))
done
want=$(md5sum </tmp/expect.bin)
for d in "$disk" "$rdisk"; do
  got=$(dd if="/dev/$d" bs=65536 skip=$((RESET_OFF / 65536)) count=32 iflag=direct 2>/dev/null | md5sum)
  [ "$got" = "$want" ] || fail "the 2 MiB written across the LUN resets read back differs on /dev/$d"
done
for d in /sys/block/sd*; do
  [ "$(host_of "${d##*/}")" != "$host1" ] && echo 1 >"$d/device/delete"
done
iscsiadm -m node -T "$TARGET_IQN" -p "$portal" -I node2 --logout || fail "second logout exit status $?"

# Detach cleanly: the kernel sends SYNCHRONIZE CACHE for a write-back disk;
# then an iSCSI Logout.
echo 1 >"$sysdev/delete"
echo 1 >"/sys/block/$disk2/device/delete"
echo 1 >"/sys/block/$disk3/device/delete"
[ -n "$disk4" ] && echo 1 >"/sys/block/$disk4/device/delete"
iscsiadm -m node -T "$TARGET_IQN" -p "$portal" --logout || fail "logout exit status $?"
marker PASS
finish
