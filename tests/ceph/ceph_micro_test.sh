#!/usr/bin/env bash
# ctest ceph_micro: scripts/ceph-micro.sh itself against the real Ceph daemons.
# Starts a cluster in a temporary folder, round-trips random data through an RBD
# image (rbd import / rbd export / cmp), stops the OSD (a client with a short
# osd op timeout then fails in bounded time instead of hanging), starts it again
# (the data is still there), stops the cluster and asserts that none of its
# processes is left. Exit 77 (skip) without the Ceph packages.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
MICRO=$REPO/scripts/ceph-micro.sh
for p in ceph-mon ceph-osd ceph rbd; do
  command -v $p >/dev/null || {
    echo "SKIP: $p not installed (scripts/install-deps.sh test)"
    exit 77
  }
done

T=$(mktemp -d /tmp/ceph-micro-test.XXXXXX)
D=$T/cluster
cleanup() {
  "$MICRO" stop "$D" >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$D"/log/*.log; do [ -s "$f" ] && { echo "---- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}
t0=$(date +%s)
elapsed() { echo "$(($(date +%s) - t0))s"; }

"$MICRO" start "$D" --image-size 64 --image lun1 >/dev/null || fail "start"
# shellcheck disable=SC1091
. "$D/env"
echo "started ($(elapsed)): mon $CEPH_MON_ADDR mon pid $CEPH_MON_PID osd pid $CEPH_OSD_PID"
mon_pid=$CEPH_MON_PID
first_osd=$CEPH_OSD_PID
[ -n "$mon_pid" ] && [ -n "$first_osd" ] || fail "env lacks pids"
grep -q "^CEPH_CONF=$D/ceph.conf$" "$D/env" || fail "env lacks CEPH_CONF"
# every listening socket of the cluster is on 127.0.0.1
if ss -Htlnp | grep -E "pid=($mon_pid|$first_osd)," | awk '{print $4}' | grep -v '^127\.0\.0\.1:'; then
  fail "a daemon listens outside 127.0.0.1"
fi

rbdc() {
  timeout -k 5 "${TMO:-30}" rbd -c "$CEPH_CONF" --id "$CEPH_CLIENT" --client-mount-timeout 10 \
    --rados-mon-op-timeout "${OPT:-20}" --rados-osd-op-timeout "${OPT:-20}" "$@"
}
[ "$(rbdc info --format json "$CEPH_POOL/$CEPH_IMAGE" | tr -d ' ' | grep -o '"size":[0-9]*')" = '"size":67108864' ] ||
  fail "image $CEPH_POOL/$CEPH_IMAGE is not 64 MiB"

# round trip: random data into the created image at an offset, and a new image by import
head -c 8M /dev/urandom >"$T/in"
rbdc import --no-progress "$T/in" "$CEPH_POOL/rt" || fail "rbd import"
rbdc export --no-progress "$CEPH_POOL/rt" "$T/out" || fail "rbd export"
cmp "$T/in" "$T/out" || fail "export differs from import"
rbdc bench --io-type write --io-size 64K --io-threads 4 --io-total 8M --io-pattern seq \
  "$CEPH_POOL/$CEPH_IMAGE" >/dev/null || fail "rbd bench"
echo "round trip ok ($(elapsed))"

# OSD down: a client with a 3 s osd op timeout fails, it does not hang
"$MICRO" stop-osd "$D" || fail "stop-osd"
! kill -0 "$first_osd" 2>/dev/null || fail "OSD pid $first_osd still alive after stop-osd"
s=$(date +%s)
if OPT=3 TMO=20 rbdc export --no-progress "$CEPH_POOL/rt" "$T/out2" 2>/dev/null; then
  fail "export succeeded with the OSD stopped"
fi
rc_time=$(($(date +%s) - s))
[ $rc_time -lt 20 ] || fail "export with the OSD down hung until the outer timeout"
echo "OSD stopped: client failed after ${rc_time}s ($(elapsed))"

"$MICRO" start-osd "$D" || fail "start-osd"
. "$D/env"
[ -n "$CEPH_OSD_PID" ] && [ "$CEPH_OSD_PID" != "$first_osd" ] || fail "env lacks the new OSD pid"
rm -f "$T/out"
rbdc export --no-progress "$CEPH_POOL/rt" "$T/out" || fail "rbd export after start-osd"
cmp "$T/in" "$T/out" || fail "data changed across stop-osd/start-osd"
echo "OSD restarted (pid $CEPH_OSD_PID), data intact ($(elapsed))"

"$MICRO" stop "$D" || fail "stop"
for p in "$mon_pid" "$CEPH_OSD_PID"; do
  ! kill -0 "$p" 2>/dev/null || fail "pid $p left after stop"
done
if grep -lsF "$D/ceph.conf" /proc/[0-9]*/cmdline; then fail "a process of $D is left"; fi
[ -z "$("$MICRO" pids "$D")" ] || fail "pids reports running daemons after stop"
echo "PASS ($(elapsed))"
