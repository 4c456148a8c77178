#!/usr/bin/env bash
# ceph-micro.sh: a throwaway single-host Ceph cluster for tests and benchmarks.
#
# One monitor, one OSD on memstore (RAM), optionally one mgr; cephx on; every
# socket on 127.0.0.1 on ports picked at start; all state (config, keys, data,
# logs, pid files, admin sockets) inside the folder given. Daemons are stopped by
# their recorded pids (SIGTERM, then SIGKILL after a grace period), never by name.
# Needs the Debian 12 packages ceph-mon ceph-osd ceph-common (ceph-mgr for --mgr).
#
# Usage:
#   ceph-micro.sh start DIR [--image-size MiB] [--pool NAME] [--image NAME]
#                           [--osd-mib MiB] [--mgr] [--timeout SEC]
#       Creates DIR (must be absent or empty), starts the cluster, creates the pool
#       and the image (--image-size 0: no image) and writes DIR/env, a shell file
#       with CEPH_CONF CEPH_KEYRING CEPH_CLIENT CEPH_POOL CEPH_IMAGE CEPH_FSID
#       CEPH_MON_ADDR CEPH_MON_PID CEPH_OSD_PID (also printed). Exits 0 once the OSD
#       is up and the image exists; on failure or timeout stops what it started,
#       prints the tail of the daemon logs and exits 1.
#   ceph-micro.sh stop DIR          stop every daemon of DIR (the folder is kept)
#   ceph-micro.sh stop-osd DIR [--kill]
#       stop the OSD (SIGTERM: memstore saves its data to DIR and the OSD tells
#       the monitor it is down; --kill: SIGKILL, memstore data is lost)
#   ceph-micro.sh start-osd DIR     start the OSD again and wait until it is up
#   ceph-micro.sh status DIR        print `ceph -s`
#   ceph-micro.sh pids DIR          print the pids of the running daemons
# Client commands: `source DIR/env; rbd -c "$CEPH_CONF" --id admin ...`.
# The cluster-side settings are in DIR/ceph.conf; client timeouts (rados osd op
# timeout...) are not set there, clients set their own.
set -euo pipefail

CMD_TIMEOUT=${CEPH_MICRO_CMD_TIMEOUT:-30} # outer bound of every ceph/rbd call
STOP_GRACE=10                            # seconds between SIGTERM and SIGKILL

die() {
  echo "ceph-micro: $*" >&2
  exit 1
}
log() { echo "ceph-micro: $*" >&2; }
# start's steps with their elapsed time, in DIR/log/start.log; past the
# deadline, start fails.
step() {
  echo "$(($(date +%s%N) / 1000000 - T0_MS)) ms: $*" >>"$DIR/log/start.log"
  if [ -n "$DEADLINE" ] && [ "$(date +%s)" -ge "$DEADLINE" ]; then
    log "timed out (--timeout) after: $*"
    return 1
  fi
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found (install the Debian packages: scripts/install-deps.sh test)"
}

# The outer bound of one call: CMD_TIMEOUT, or less when start's deadline is nearer.
DEADLINE=""
tmo() {
  local left
  if [ -n "$DEADLINE" ]; then
    left=$((DEADLINE - $(date +%s)))
    [ $left -ge 1 ] || left=1
    [ $left -lt "$CMD_TIMEOUT" ] && {
      echo $left
      return
    }
  fi
  echo "$CMD_TIMEOUT"
}

# ceph CLI with a bounded connect and an outer timeout.
cephc() {
  timeout -k 5 "$(tmo)" ceph -c "$DIR/ceph.conf" --id admin --connect-timeout 10 \
    --rados-mon-op-timeout 20 --rados-osd-op-timeout 20 "$@"
}
rbdc() {
  timeout -k 5 "$(tmo)" rbd -c "$DIR/ceph.conf" --id admin \
    --client-mount-timeout 10 --rados-mon-op-timeout 20 --rados-osd-op-timeout 20 "$@"
}

# Is PID alive and one of DIR's daemons (guards against a recycled pid)?
ours() {
  local pid=$1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/ceph.conf"
}

pid_of() { # daemon name (mon.a osd.0 mgr.x) -> pid if running
  local f="$DIR/run/$1.pid" pid
  [ -r "$f" ] || return 1
  pid=$(tr -dc 0-9 <"$f")
  ours "$pid" || return 1
  echo "$pid"
}

# Gone: no /proc entry left (an exiting process loses its cmdline before it is
# reaped; a zombie counts as gone after 2 s in case nothing reaps it).
gone() {
  local pid=$1 st
  st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 0
  [ "$st" = Z ] && { ZOMBIE_TICKS=$((ZOMBIE_TICKS + 1)); [ $ZOMBIE_TICKS -gt 20 ]; }
}

# SIGTERM, then SIGKILL after GRACE seconds; waits until the pid is gone.
stop_pid() {
  local pid=$1 grace=$2 name=$3 i
  ours "$pid" || return 0
  ZOMBIE_TICKS=0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    gone "$pid" && return 0
    sleep 0.1
  done
  if ours "$pid"; then
    log "$name (pid $pid) still running after ${grace}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  for ((i = 0; i < 50; i++)); do
    gone "$pid" && return 0
    sleep 0.1
  done
  log "$name (pid $pid) did not exit"
  return 1
}

stop_daemon() { # name grace
  local pid
  pid=$(pid_of "$1") || return 0
  stop_pid "$pid" "$2" "$1"
  rm -f "$DIR/run/$1.pid"
}

# Ports: a random block of 40 consecutive ports below the ephemeral range, none
# of them in use on this host; the monitor takes the first two, the OSD and
# the mgr bind inside the rest (ms bind port min/max).
pick_ports() {
  ss -Htan 2>/dev/null | awk -v seed="$RANDOM$$" '
    { n = split($4, a, ":"); used[a[n]] = 1 }
    END {
      srand(seed)
      for (try = 0; try < 200; try++) {
        base = 10000 + int(rand() * 20000); ok = 1
        for (p = base; p < base + 40; p++) if ((p in used) || p == 3260) { ok = 0; break }
        if (ok) { print base; exit 0 }
      }
      exit 1
    }' || die "no free block of 40 ports found"
}

show_logs() {
  local f
  for f in "$DIR"/log/*.log; do
    [ -s "$f" ] || continue
    echo "---- tail of $f" >&2
    tail -n 15 "$f" >&2
  done
}

# A cephx secret as ceph-authtool --gen-print-key makes it: base64 of
# type (u16 1 = AES), creation time (u32 s, u32 ns), length (u16 16), 16 random bytes.
gen_key() {
  local t
  t=$(date +%s)
  {
    printf '\x01\x00'
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((t & 255)) $((t >> 8 & 255)) \
      $((t >> 16 & 255)) $((t >> 24 & 255)))"
    printf '\x00\x00\x00\x00\x10\x00'
    head -c 16 /dev/urandom
  } | base64 -w0
}

keyring() { # file entity caps...
  local f=$1 name=$2 cap
  shift 2
  {
    printf '[%s]\n\tkey = %s\n' "$name" "$(gen_key)"
    for cap in "$@"; do printf '\tcaps %s\n' "$cap"; done
  } >"$f"
}

write_conf() {
  local fsid=$1 base=$2 osd_bytes=$3
  cat >"$DIR/ceph.conf" <<EOF
# Written by scripts/ceph-micro.sh: a throwaway single-host cluster in $DIR.
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$base,v1:127.0.0.1:$((base + 1))]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.1/32
cluster network = 127.0.0.1/32
ms bind ipv4 = true
ms bind ipv6 = false
ms bind port min = $((base + 2))
ms bind port max = $((base + 39))
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring.admin
run dir = $DIR/run
crash dir = $DIR/crash
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
mon osd down out interval = 0
# A client that died loses its watches (and so an RBD exclusive lock it held
# can be broken by the next writer) after this many seconds, not 30: the
# two-gateway failover tests. Gateways ping every second (rbd_cluster.cpp).
osd client watch timeout = 5

[mon]
mon data = $DIR/mon/\$cluster-\$id
keyring = $DIR/keyring.mon

[osd]
osd data = $DIR/osd/\$cluster-\$id
keyring = $DIR/keyring.osd
osd objectstore = memstore
memstore device bytes = $osd_bytes
memstore page set = true
memstore page size = 4096
# memstore writes its contents to osd data only on a clean umount, which the
# default fast shutdown skips: stop-osd/start-osd keep the data. "stop" turns
# fast shutdown back on through the admin socket (the data is thrown away).
osd fast shutdown = false
osd class load list = *
osd class default list = *

[mgr]
mgr data = $DIR/mgr/\$cluster-\$id
keyring = $DIR/keyring.mgr

[client]
log file = /dev/null
admin socket = $DIR/run/\$name.\$pid.asok
EOF
}

write_env() {
  local osd_pid mon_pid
  mon_pid=$(pid_of mon.a || true)
  osd_pid=$(pid_of osd.0 || true)
  cat >"$DIR/env.tmp" <<EOF
CEPH_MICRO_DIR=$DIR
CEPH_CONF=$DIR/ceph.conf
CEPH_KEYRING=$DIR/keyring.admin
CEPH_CLIENT=admin
CEPH_POOL=$POOL
CEPH_IMAGE=$IMAGE
CEPH_IMAGE_SIZE_MIB=$IMAGE_MIB
CEPH_FSID=$FSID
CEPH_MON_ADDR=$MON_ADDR
CEPH_MON_PID=$mon_pid
CEPH_OSD_PID=$osd_pid
EOF
  mv "$DIR/env.tmp" "$DIR/env"
}

wait_osd_up() { # deadline(epoch s)
  local deadline=$1 out
  while :; do
    out=$(cephc osd stat -f json 2>/dev/null || true)
    if grep -q '"num_up_osds":1' <<<"${out// /}"; then
      return 0
    fi
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    pid_of osd.0 >/dev/null || return 1
    sleep 0.5
  done
}

start_osd() { # deadline
  MALLOC_ARENA_MAX=2 ceph-osd -c "$DIR/ceph.conf" -i 0 >>"$DIR/log/osd.0.out" 2>&1 ||
    return 1
  wait_osd_up "$1"
}

cmd_start() {
  local image_mib=1024 pool=rbd image=lun1 osd_mib="" mgr=0 timeout_s=90
  while [ $# -gt 0 ]; do
    case $1 in
      --image-size) image_mib=$2; shift 2 ;;
      --pool) pool=$2; shift 2 ;;
      --image) image=$2; shift 2 ;;
      --osd-mib) osd_mib=$2; shift 2 ;;
      --mgr) mgr=1; shift ;;
      --timeout) timeout_s=$2; shift 2 ;;
      *) die "start: unknown option $1" ;;
    esac
  done
  [[ $image_mib =~ ^[0-9]+$ ]] || die "--image-size must be a number of MiB"
  [[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"
  # memstore keeps every written byte in RAM: room for the whole image plus metadata.
  [ -n "$osd_mib" ] || osd_mib=$((image_mib + image_mib / 4 + 256))
  local t0 deadline base
  t0=$(date +%s)
  T0_MS=$(($(date +%s%N) / 1000000))
  need ceph-mon
  need ceph-osd
  need ceph
  need ceph-authtool
  need monmaptool
  need rbd
  need ss
  [ $mgr = 0 ] || need ceph-mgr
  if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
    die "$DIR exists and is not empty"
  fi
  mkdir -p "$DIR"/{run,crash,log,mon/ceph-a,osd/ceph-0,mgr/ceph-x}
  chmod 700 "$DIR"
  step "checks"
  deadline=$((t0 + timeout_s))
  DEADLINE=$deadline
  POOL=$pool IMAGE=$image IMAGE_MIB=$image_mib
  FSID=$(cat /proc/sys/kernel/random/uuid)
  base=$(pick_ports)
  MON_ADDR="[v2:127.0.0.1:$base,v1:127.0.0.1:$((base + 1))]"
  step "ports"
  write_conf "$FSID" "$base" $((osd_mib * 1024 * 1024))

  # Keys: written here (ceph-authtool takes half a second a call on a busy
  # machine) and all in the monitor's keyring before mkfs: no auth round trips.
  keyring "$DIR/keyring.mon" mon. "mon = \"allow *\""
  keyring "$DIR/keyring.admin" client.admin "mon = \"allow *\"" "osd = \"allow *\"" \
    "mds = \"allow *\"" "mgr = \"allow *\""
  keyring "$DIR/keyring.osd" osd.0 "mon = \"allow profile osd\"" \
    "mgr = \"allow profile osd\"" "osd = \"allow *\""
  keyring "$DIR/keyring.mgr" mgr.x "mon = \"allow profile mgr\"" "osd = \"allow *\"" \
    "mds = \"allow *\""
  cat "$DIR"/keyring.{mon,admin,osd,mgr} >"$DIR/keyring.bootstrap"
  chmod 600 "$DIR"/keyring.*

  set -E # the ERR trap also fires in the functions called below
  trap 'log "start failed after $(($(date +%s) - t0))s"; show_logs; cmd_stop >/dev/null 2>&1 || true; exit 1' ERR
  step "keys"
  monmaptool --create --fsid "$FSID" --addv a "$MON_ADDR" "$DIR/monmap" >/dev/null
  ceph-mon -c "$DIR/ceph.conf" --mkfs -i a --monmap "$DIR/monmap" \
    --keyring "$DIR/keyring.bootstrap" >"$DIR/log/mon.a.mkfs" 2>&1
  step "mon mkfs"
  ceph-mon -c "$DIR/ceph.conf" -i a >>"$DIR/log/mon.a.out" 2>&1
  until cephc mon stat >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ] || ! pid_of mon.a >/dev/null; then
      log "monitor did not answer"
      false
    fi
    sleep 0.3
  done

  step "mon up"
  local uuid
  uuid=$(cat /proc/sys/kernel/random/uuid)
  cephc osd new "$uuid" 0 >/dev/null
  step "osd new"
  ceph-osd -c "$DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" >"$DIR/log/osd.0.mkfs" 2>&1
  step "osd mkfs"
  start_osd "$deadline" || {
    log "OSD did not come up"
    false
  }
  step "osd up"
  if [ $mgr = 1 ]; then
    ceph-mgr -c "$DIR/ceph.conf" -i x >>"$DIR/log/mgr.x.out" 2>&1
  fi

  cephc osd pool create "$pool" 8 8 >/dev/null 2>&1
  step "pool created"
  rbdc pool init "$pool"
  step "pool init"
  if [ "$image_mib" -gt 0 ]; then
    rbdc create --size "${image_mib}M" "$pool/$image"
  fi
  step "image created"
  trap - ERR
  set +E
  DEADLINE=""
  write_env
  log "started in $(($(date +%s) - t0))s: mon $MON_ADDR, pool $pool, image $pool/$image ${image_mib} MiB"
  cat "$DIR/env"
}

load_env() {
  [ -r "$DIR/env" ] || [ -r "$DIR/ceph.conf" ] || die "$DIR is not a ceph-micro folder"
  if [ -r "$DIR/env" ]; then
    # shellcheck disable=SC1091
    . "$DIR/env"
    POOL=$CEPH_POOL IMAGE=$CEPH_IMAGE IMAGE_MIB=$CEPH_IMAGE_SIZE_MIB FSID=$CEPH_FSID
    MON_ADDR=$CEPH_MON_ADDR
  fi
}

cmd_stop() {
  local rc=0
  if pid_of osd.0 >/dev/null && [ -S "$DIR/run/osd.0.asok" ]; then
    timeout 5 ceph --admin-daemon "$DIR/run/osd.0.asok" config set osd_fast_shutdown true \
      >/dev/null 2>&1 || true
  fi
  stop_daemon mgr.x "$STOP_GRACE" || rc=1
  stop_daemon osd.0 "$STOP_GRACE" || rc=1
  stop_daemon mon.a "$STOP_GRACE" || rc=1
  return $rc
}

case ${1:-} in
  start | stop | stop-osd | start-osd | status | pids) ;;
  *) usage ;;
esac
cmd=$1
[ $# -ge 2 ] || usage
DIR=$(realpath -m "$2")
shift 2
case $cmd in
  start) cmd_start "$@" ;;
  stop)
    [ -r "$DIR/ceph.conf" ] || die "$DIR is not a ceph-micro folder"
    cmd_stop
    ;;
  stop-osd)
    load_env
    pid=$(pid_of osd.0) || die "no OSD running in $DIR"
    if [ "${1:-}" = --kill ]; then
      kill -KILL "$pid"
      ZOMBIE_TICKS=0
      for ((i = 0; i < 100; i++)); do gone "$pid" && break; sleep 0.1; done
    else
      # a clean stop saves the memstore contents to DIR: allow it time.
      stop_pid "$pid" 60 osd.0
    fi
    rm -f "$DIR/run/osd.0.pid"
    write_env
    ;;
  start-osd)
    load_env
    ! pid_of osd.0 >/dev/null || die "the OSD of $DIR is already running"
    start_osd $(($(date +%s) + ${CEPH_MICRO_OSD_TIMEOUT:-60})) || {
      show_logs
      die "OSD did not come up"
    }
    write_env
    ;;
  status)
    load_env
    cephc -s
    ;;
  pids)
    for n in mon.a osd.0 mgr.x; do
      pid_of $n || true
    done
    ;;
esac
