#!/bin/sh
# /init of the two guests (odoo1, odoo2) scripts/two-node-failover.sh boots:
# busybox, the Linux iSCSI, SCSI ALUA and dm-multipath modules, open-iscsi,
# multipath-tools and fio. Each guest logs in to gateway A (PORTAL_A) and
# gateway B (PORTAL_B), 10.0.2.2:PORT in QEMU user networking (the host's
# 127.0.0.1:PORT), which export one RBD image as one logical
# unit; multipathd makes one dm-multipath device of the two paths, grouped by
# ALUA priority. cluster.conf is registered with sharedisk-ocfs2 register,
# odoo1 formats OCFS2 on the device's first OCFS2_MIB MiB, both mount it in
# cluster mode (o2cb) and read each other's files. Then, on its own region of that device, fio writes with crc32c
# verify headers (rate-limited so that it spans the failover) and reads back,
# while a writer loop writes 4 KiB O_DIRECT blocks and reports each completed
# one on /dev/ttyS1 ("W seq uptime_ms latency_ms"), which the host timestamps.
# The host SIGKILLs gateway A when both guests printed IO-STARTED and starts it
# again when both printed FIO-DONE; the guest then waits for A's path to be
# reinstated (failback, required within FAILBACK_SECS; "FAILBACK" on
# /dev/ttyS1 when it is), prints the md5 of both nodes' regions and reads
# them again through A's path alone. One marker line ends it:
#   SHAREDISK-TWO-NODE odooN: PASS   or   SHAREDISK-TWO-NODE odooN: FAIL <why>
# /test.env (written by the host) supplies NODE (1 or 2), TARGET_IQN,
# INITIATOR_IQN, LUN_BYTES, PEER_IP, MY_IP, FIO_ARGS, FIO_OFF_1, FIO_OFF_2,
# WRITER_OFF, REGION_MIB, FAILBACK_SECS, OCFS2_MIB, PORTAL_A, PORTAL_B. Every
# wait is bounded; the host's
# timeout is the last resort.

/bin/busybox --install -s /bin
export PATH=/usr/sbin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /run/multipathd /etc/multipath
ln -s /proc/mounts /etc/mtab
# shellcheck source=/dev/null
. /test.env
NAME=odoo$NODE
hostname "$NAME"

marker() { echo "SHAREDISK-TWO-NODE $NAME: $*"; }
finish() {
  sync
  poweroff -f
  sleep 5
}
fail() {
  marker "FAIL $*"
  [ -f /tmp/iscsid.log ] && tail -n 20 /tmp/iscsid.log
  [ -f /tmp/multipathd.log ] && tail -n 30 /tmp/multipathd.log
  dmesg | tail -n 30
  finish
}
step() { echo "guest: $*"; }
# Uptime in ms (10 ms steps) without a fork.
now() {
  read -r up _ </proc/uptime
  now=$((${up%.*} * 1000 + 1${up#*.} * 10 - 1000))
}

step "loading modules"
while read -r m; do
  insmod "/lib/modules/$(uname -r)/$m" || fail "insmod $m"
done </modules.load

ip link set lo up
ip link set eth0 up || fail "no eth0"
# QEMU user networking runs with restrict=off (so that a connection to a dead
# gateway is refused, as on a real network, instead of accepted and closed):
# the guest must not send anything beyond the host's gateways. No default
# route and no subnet route: one host route to 10.0.2.2, the host's loopback.
ip addr add 10.0.2.15/32 dev eth0
ip route add 10.0.2.2/32 dev eth0
# The private link between the nodes (o2cb's network), a QEMU socket netdev.
ip link set eth1 up || fail "no eth1"
ip addr add "$MY_IP/24" dev eth1

mkdir -p /etc/iscsi /var/lib/iscsi /run/lock/iscsi
echo 'root:x:0:0:root:/:/bin/sh' >/etc/passwd
echo 'root:x:0:' >/etc/group
echo "InitiatorName=$INITIATOR_IQN" >/etc/iscsi/initiatorname.iscsi
cp /iscsid.conf /etc/iscsi/iscsid.conf
cp /multipath.conf /etc/multipath.conf
step "iscsid"
iscsid -f -d 1 >/tmp/iscsid.log 2>&1 &
for _ in $(seq 50); do
  grep -q iscsid /proc/net/unix 2>/dev/null && break
  sleep 0.1
done
disks() { ls -d /sys/block/sd* 2>/dev/null | wc -l; }
login() { # portal disks-expected
  iscsiadm -m node -o new -T "$TARGET_IQN" -p "$1" >/dev/null || fail "iscsiadm -o new $1"
  step "iscsiadm login $TARGET_IQN at $1"
  iscsiadm -m node -T "$TARGET_IQN" -p "$1" --login || fail "login at $1: exit status $?"
  for _ in $(seq 300); do
    [ "$(disks)" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "no disk $2 after the login at $1"
}
# Gateway A first, and one write through it: A takes the image's exclusive
# lock, so its path is the active/optimized one when B's path comes.
login "$PORTAL_A" 1
for d in /sys/block/sd*; do adisk=${d##*/}; done
head -c 4096 /pattern.bin >/tmp/block
dd if=/tmp/block of="/dev/$adisk" bs=4096 seek=$((WRITER_OFF / 4096)) count=1 oflag=direct 2>/dev/null ||
  fail "the first write through gateway A (/dev/$adisk)"
login "$PORTAL_B" 2
for d in /sys/block/sd*; do
  step "path /dev/${d##*/}: $(cat "$d/device/vendor") $(cat "$d/device/model"), $(($(cat "$d/size") * 512)) bytes, $(readlink "$d/device" | sed 's#.*/##'), dh $(cat "$d/device/dh_state" 2>/dev/null)"
done

# No udevd here: multipathd takes only the block devices udev's database
# calls initialized, and device-mapper makes its own nodes (DM_DISABLE_UDEV).
# A database entry per path: ID_SERIAL is the WWID multipath groups paths by
# ("3" and the NAA identifier of VPD page 0x83).
mkdir -p /run/udev/data
for d in /sys/block/sd*; do
  wwid=$(cat "$d/device/wwid")
  printf 'I:1\nE:ID_SERIAL=3%s\nE:ID_WWN=0x%s\nE:SCSI_IDENT_LUN_NAA_REGEXT=%s\nE:ID_BUS=scsi\n' \
    "${wwid#naa.}" "${wwid#naa.}" "${wwid#naa.}" >"/run/udev/data/b$(cat "$d/dev")"
done
export DM_DISABLE_UDEV=1
step "multipath: creating the map"
timeout 30 multipath -v3 >/tmp/multipath.log 2>&1
echo "multipath exit status $?"
grep -vE '\(setting: |loading /lib' /tmp/multipath.log | head -n 60
step "multipathd"
multipathd -d -s -v2 >/tmp/multipathd.log 2>&1 &
mp=
for _ in $(seq 100); do
  for d in /sys/block/dm-*; do
    [ -e "$d/dm/uuid" ] || continue
    case $(cat "$d/dm/uuid") in mpath-*) [ "$(ls "$d/slaves" | wc -l)" -ge 2 ] && mp=/dev/${d##*/} ;; esac
  done
  [ -n "$mp" ] && break
  sleep 0.2
done
[ -n "$mp" ] || {
  grep -vE 'tur checker|alua prio' /tmp/multipathd.log | tail -n 40
  fail "no dm-multipath device with two paths"
}
# The path groups: the lock holder's path alone in the active/optimized group.
mpll() { multipathd show topology 2>/dev/null || multipath -ll 2>/dev/null; }
groups_ok() { # wants two groups, prio 50 (optimized) and 10 (non-optimized), a path each
  t=$(mpll)
  echo "$t" | grep -q 'prio=50' && echo "$t" | grep -q 'prio=10' &&
    [ "$(echo "$t" | grep -c 'active ready running')" -ge 2 ]
}
for _ in $(seq 100); do
  groups_ok && break
  sleep 0.2
done
mpll
groups_ok || fail "multipath: not two ALUA path groups (prio 50 and 10) with a ready path each"
[ "$(($(cat "/sys/block/${mp#/dev/}/size") * 512))" -eq "$LUN_BYTES" ] || fail "$mp is not $LUN_BYTES bytes"
step "MPATH-READY $mp: two paths, ALUA groups prio 50 and 10"
for d in /sys/class/iscsi_session/session*; do
  step "${d##*/} recovery_tmo $(cat "$d/recovery_tmo") (multipathd's fast_io_fail_tmo)"
done

step "ping $PEER_IP over the private link"
ok=0
for _ in $(seq 30); do
  ping -c 1 -W 1 "$PEER_IP" >/dev/null 2>&1 && ok=1 && break
  sleep 1
done
[ $ok = 1 ] || fail "the peer $PEER_IP does not answer on the private link"
step "PEER-REACHABLE $PEER_IP"

# OCFS2 in cluster mode (o2cb, local heartbeat) on the first OCFS2_MIB MiB of
# the multipath device: cluster.conf (written on the host with sharedisk-ocfs2)
# registered in configfs with sharedisk-ocfs2 register; odoo1 formats, both
# mount, each writes a file and reads the other's.
mount -t configfs none /sys/kernel/config || fail "mount configfs"
step "cluster.conf: $(tr -s '\t\n' ' ' </etc/ocfs2/cluster.conf)"
sharedisk-ocfs2 register ocfs2 --local-node "$NAME" || fail "sharedisk-ocfs2 register ocfs2"
step "O2CB-REGISTERED $(ls /sys/kernel/config/cluster/ocfs2/node | tr '\n' ' ')"
sb_seen() { dd if="$mp" bs=4096 skip=2 count=1 iflag=direct 2>/dev/null | grep -q OCFSV2; }
if [ "$NODE" = 1 ]; then
  step "mkfs.ocfs2 -b 4K -C 128K -L Odoo_Cluster -N 2 on the first $OCFS2_MIB MiB of $mp"
  mkfs.ocfs2 -q -F -b 4K -C 128K -L Odoo_Cluster -N 2 --cluster-stack=o2cb --cluster-name=ocfs2 \
    "$mp" $((OCFS2_MIB * 256)) >/tmp/mkfs.log 2>&1 || fail "mkfs.ocfs2: $(tail -n 5 /tmp/mkfs.log)"
else
  for _ in $(seq 120); do
    sb_seen && break
    sleep 1
  done
fi
sb_seen || fail "no OCFS2 superblock on $mp"
mkdir -p /mnt/odoo
mount.ocfs2 "$mp" /mnt/odoo >/tmp/mount.log 2>&1 || fail "mount.ocfs2 (cluster mode): $(tail -n 5 /tmp/mount.log)"
step "OCFS2-MOUNTED $(grep ' /mnt/odoo ' /proc/mounts)"
peer=$((3 - NODE))
# 256 KiB slices of /pattern.bin: odooN writes slice N-1 first, N+1 after the failover.
slice() { dd if=/pattern.bin bs=262144 skip="$1" count=1 2>/dev/null; }
slice $((NODE - 1)) >"/mnt/odoo/from-odoo$NODE.bin" || fail "write /mnt/odoo/from-odoo$NODE.bin"
sync
want=$(slice $((peer - 1)) | md5sum)
got=
for _ in $(seq 120); do
  if [ -f "/mnt/odoo/from-odoo$peer.bin" ]; then
    got=$(md5sum <"/mnt/odoo/from-odoo$peer.bin")
    [ "$got" = "$want" ] && break
  fi
  sleep 1
done
[ "$got" = "$want" ] || fail "odoo$peer's file on OCFS2 reads ${got%% *}, expected ${want%% *}"
step "OCFS2-PEER-FILE from-odoo$peer.bin md5 ${got%% *} as written by odoo$peer"
ls -l /mnt/odoo

myoff=$FIO_OFF_1
[ "$NODE" = 2 ] && myoff=$FIO_OFF_2
stty -F /dev/ttyS1 raw -echo 2>/dev/null
rm -f /tmp/fio.done
(
  # shellcheck disable=SC2086  # FIO_ARGS holds the job's options
  fio --name=verify --filename="$mp" --offset="$myoff" $FIO_ARGS --do_verify=1 \
    --output-format=json >/tmp/fio.json 2>/tmp/fio.err
  echo $? >/tmp/fio.done
) &
step "IO-STARTED fio $FIO_ARGS at $myoff on $mp, writer at $WRITER_OFF"
wseek=$((WRITER_OFF / 4096))
i=0
now
begin=$now
maxlat=0
while [ ! -e /tmp/fio.done ] && [ $((now - begin)) -lt 150000 ]; do
  t0=$now
  dd if=/tmp/block of="$mp" bs=4096 seek=$((wseek + i % 64)) count=1 oflag=direct 2>/dev/null ||
    fail "writer: write $i failed"
  now
  lat=$((now - t0))
  [ $lat -gt $maxlat ] && maxlat=$lat
  echo "W $i $now $lat" >/dev/ttyS1
  i=$((i + 1))
done
for _ in $(seq 300); do
  [ -e /tmp/fio.done ] && break
  sleep 0.5
done
[ -e /tmp/fio.done ] || fail "fio did not finish"
rc=$(cat /tmp/fio.done)
err=$(grep -m1 '"error"' /tmp/fio.json | tr -dc 0-9)
step "fio exit status $rc, error ${err:-?}; writer: $i writes, the slowest $maxlat ms"
grep -E 'verify|fail|error' /tmp/fio.err | head -n 5
{ [ "$rc" = 0 ] && [ "$err" = 0 ]; } || fail "fio: exit status $rc: $(tail -n 5 /tmp/fio.err)"
step "FIO-DONE"
dmesg | grep -E 'alua|multipath|detected conn error|session recovery|device-mapper' | tail -n 20

# The host restarts gateway A on FIO-DONE of both nodes: iscsid, whose
# reconnects were refused while A was dead, logs in again and multipathd's
# path checker reinstates the path. Required (checked at the end, after the
# rest ran, so that the logs show everything): the host times it from the
# "FAILBACK" line on /dev/ttyS1.
# "REINSTATED" when both paths are ready again, "FAILBACK" when the ALUA
# groups settled as well (prio 50 and 10: both nodes' I/O on one gateway).
ok=0
rdy=0
# (10 s more than the host's limit, which decides.)
for _ in $(seq $((FAILBACK_SECS * 2 + 20))); do
  groups_ok && ok=1
  if [ $rdy = 0 ] && [ "$(echo "$t" | grep -c 'active ready running')" -ge 2 ]; then
    rdy=1
    echo "REINSTATED" >/dev/ttyS1
  fi
  if [ $ok = 1 ]; then
    echo "FAILBACK" >/dev/ttyS1
    break
  fi
  sleep 0.5
done
mpll
if [ $ok = 1 ]; then
  step "FAILBACK both paths active ready again, ALUA groups prio 50 and 10"
else
  timeout 5 iscsiadm -m session -P 1 2>&1 | grep -E 'Current Portal|iSCSI Session State|Internal iscsid'
  grep -E 'bind conn|connect to|Connection refused' /tmp/iscsid.log | tail -n 3
  step "FAILBACK-MISSING gateway A's path was not reinstated within $FAILBACK_SECS s"
fi
# OCFS2 after the failover: both nodes alive and mounted, a second file each,
# read by the other.
grep -q ' /mnt/odoo ocfs2 ' /proc/mounts || fail "OCFS2 no longer mounted"
slice $((NODE + 1)) >"/mnt/odoo/after-odoo$NODE.bin" || fail "write after-odoo$NODE.bin"
sync
want=$(slice $((peer + 1)) | md5sum)
got=
for _ in $(seq 90); do
  if [ -f "/mnt/odoo/after-odoo$peer.bin" ]; then
    got=$(md5sum <"/mnt/odoo/after-odoo$peer.bin")
    [ "$got" = "$want" ] && break
  fi
  sleep 1
done
[ "$got" = "$want" ] || fail "odoo$peer's file after the failover reads ${got%% *}, expected ${want%% *}"
step "OCFS2-AFTER-FAILOVER after-odoo$peer.bin md5 ${got%% *} as written by odoo$peer"
dmesg | grep -E 'o2net|o2hb|o2dlm|ocfs2' | tail -n 15
sum1=$(dd if="$mp" bs=1M skip=$((FIO_OFF_1 / 1048576)) count="$REGION_MIB" iflag=direct 2>/dev/null | md5sum)
sum2=$(dd if="$mp" bs=1M skip=$((FIO_OFF_2 / 1048576)) count="$REGION_MIB" iflag=direct 2>/dev/null | md5sum)
step "REGION-MD5 1 ${sum1%% *}"
step "REGION-MD5 2 ${sum2%% *}"
# The same regions through gateway A's path alone (its SCSI disk, kept by the
# session's recovery): the restarted gateway serves what B wrote. Reads do not
# move the RBD lock.
if [ $ok = 1 ]; then
  a1=$(dd if="/dev/$adisk" bs=1M skip=$((FIO_OFF_1 / 1048576)) count="$REGION_MIB" iflag=direct 2>/dev/null | md5sum)
  a2=$(dd if="/dev/$adisk" bs=1M skip=$((FIO_OFF_2 / 1048576)) count="$REGION_MIB" iflag=direct 2>/dev/null | md5sum)
  if [ "$a1" = "$sum1" ] && [ "$a2" = "$sum2" ]; then
    step "A-PATH-READ matches: /dev/$adisk (gateway A) reads both regions as the multipath device"
  else
    step "A-PATH-READ differs: /dev/$adisk reads ${a1%% *} ${a2%% *}"
  fi
fi
# Where the I/O goes now, and multipathd's path group switches since the
# failover (a switch back to A's group moves the RBD lock back to A).
mpll
grep -aiE 'switch|reinstat|prio (changed|to)|failback' /tmp/multipathd.log | tail -n 20
sync
# odoo2 unmounts first; odoo1 waits for it (its slot marked clean) so the
# host's fsck sees a clean volume.
if [ "$NODE" = 2 ]; then
  umount /mnt/odoo || fail "umount OCFS2"
else
  sleep 3
  for _ in $(seq 30); do
    dmesg | grep -q 'ocfs2: Unmounting\|o2dlm: Node 2 leaves' && break
    sleep 1
  done
  umount /mnt/odoo || fail "umount OCFS2"
fi
[ $ok = 1 ] || fail "failback: gateway A's path was not reinstated within $FAILBACK_SECS s"
marker PASS
finish
