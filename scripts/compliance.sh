#!/usr/bin/env bash
# Runs libiscsi's compliance suite (iscsi-test-cu) against sharedisk-target.
#
#   scripts/compliance.sh BUILD_DIR [FAMILIES]
#
# FAMILIES is iscsi-test-cu's -t argument: a comma-separated list of
# FAMILY[.SUITE[.TEST]] (default ALL). For each LUN kind (a thin-provisioned
# file on a filesystem that can punch holes, and a fully provisioned one,
# thin: off) the script starts the daemon from BUILD_DIR on a free 127.0.0.1
# port, runs `iscsi-test-cu --dataloss -v -t FAMILIES URL URL` (the same LUN
# twice, for the multipath tests; rbd-pair: one URL per gateway) and
# classifies every test:
#
#   PASS  CUnit reported it passed and it printed no [SKIPPED]
#   SKIP  it passed but printed [SKIPPED] (a feature the suite found missing)
#   FAIL  CUnit reported FAILED, or it never ran, or the run crashed or hung
#         while it was in progress (then the remaining tests are run again in
#         a new invocation, so one hang costs one test, not the rest)
#
# It prints one line per test, a per-suite table and "N passed, N failed, N
# skipped", and exits 1 when any test failed (2 on a usage or set-up error).
#
# Environment:
#   COMPLIANCE_LUNS     LUN kinds to run, default "thin full" (also: readonly, rbd,
#                       rbd-pair: two gateways, gw-a and gw-b with `gateway`
#                       sections, exporting the same image; the first URL goes to
#                       gw-a, the second to gw-b, so the multipath and reservation
#                       tests cross gateways)
#   COMPLIANCE_CEPH_CONF  rbd: ceph.conf of an existing cluster, with
#                       COMPLIANCE_RBD_POOL (default rbd) and COMPLIANCE_RBD_IMAGE
#                       (its data is overwritten). Unset: the script starts a
#                       throwaway cluster with scripts/ceph-micro.sh (an image of
#                       COMPLIANCE_SIZE) and stops it at the end.
#   COMPLIANCE_TIMEOUT  seconds for one iscsi-test-cu invocation (default 1200)
#   COMPLIANCE_STALL    seconds without new output before it counts as hung (default 90)
#   COMPLIANCE_LOG_DIR  where the logs go (default BUILD_DIR/compliance-logs)
#   COMPLIANCE_SIZE     LUN size (default 256M)
#   COMPLIANCE_BLOCK    logical block size, 512 or 4096 (default 512)
#   COMPLIANCE_GATEWAY  1: the daemon's lun.yaml has a `gateway` section (this
#                       gateway group 1, one peer, group 2), as a gateway of a
#                       pair runs (ALUA: two target port groups)
#   COMPLIANCE_PAIR_LOCK  1: rbd-pair keeps the image's exclusive-lock (implicit
#                       ALUA and the owner dwell in play; see pair_without_lock)
set -u -o pipefail

usage() {
  sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
[[ $1 == -h || $1 == --help ]] && usage

BUILD_DIR=$(cd "$1" 2>/dev/null && pwd) || {
  echo "compliance: no build directory $1" >&2
  exit 2
}
FAMILIES=${2:-ALL}
DAEMON=$BUILD_DIR/target/sharedisk-target
LUNS=${COMPLIANCE_LUNS:-thin full}
RUN_TIMEOUT=${COMPLIANCE_TIMEOUT:-1200}
STALL=${COMPLIANCE_STALL:-90}
LOG_DIR=${COMPLIANCE_LOG_DIR:-$BUILD_DIR/compliance-logs}
SIZE=${COMPLIANCE_SIZE:-256M}
BLOCK=${COMPLIANCE_BLOCK:-512}
MAX_RESUMES=20
# shellcheck source=scripts/daemon-lib.sh
source "$(dirname "$0")/daemon-lib.sh"

[[ -x $DAEMON ]] || {
  echo "compliance: $DAEMON not built (ninja -C $BUILD_DIR sharedisk-target)" >&2
  exit 2
}
command -v iscsi-test-cu >/dev/null || {
  echo "compliance: iscsi-test-cu not found (apt-get install libiscsi-bin)" >&2
  exit 2
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sharedisk-compliance.XXXXXX") || exit 2
mkdir -p "$LOG_DIR" || exit 2
rm -f "$LOG_DIR"/thin-*.log "$LOG_DIR"/full-*.log "$LOG_DIR"/rbd-*.log
TESTCU_PID=
PEER_PID=   # rbd-pair: gateway B (DAEMON_PID is gateway A)
URL2=

# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  [[ -n $TESTCU_PID ]] && kill -KILL "$TESTCU_PID" 2>/dev/null
  daemon_stop
  stop_peer
  [[ -n ${CEPH_STARTED:-} ]] && "$(dirname "$0")/ceph-micro.sh" stop "$WORK/ceph" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Can the filesystem of $1 punch holes? (thin LUNs need it for UNMAP.)
punch_hole_works() {
  local f=$1/punch-probe
  command -v fallocate >/dev/null || return 1
  head -c 65536 /dev/zero >"$f" 2>/dev/null || return 1
  fallocate --punch-hole --keep-size --offset 0 --length 4096 "$f" 2>/dev/null
  local rc=$?
  rm -f "$f"
  return $rc
}

# shellcheck disable=SC2317  # called through daemon_start
write_config() {  # kind port
  local kind=$1 port=$2 thin=off read_only=false
  [[ $kind == thin || $kind == rbd || $kind == rbd-pair ]] && thin=on
  if [[ $kind == readonly ]]; then
    # A write-protected LUN (libiscsi's ReadOnly family); it is never created by the daemon.
    read_only=true
    [[ -e $WORK/$kind.img ]] || truncate -s "$SIZE" "$WORK/$kind.img"
  fi
  local backing="path: $WORK/$kind.img
        size: $SIZE"
  [[ $kind == rbd || $kind == rbd-pair ]] && backing="type: rbd
        pool: $RBD_POOL
        image: $RBD_IMAGE
        ceph_conf: $RBD_CONF"
  local gateway=
  [[ ${COMPLIANCE_GATEWAY:-} == 1 ]] && gateway="gateway:
  name: gw-a
  group: 1
  peers:
    - name: gw-b
      group: 2
      portal: 127.0.0.1:3261"
  local file=$WORK/$kind.yaml
  if [[ $kind == rbd-pair ]]; then
    # Gateway $PAIR_SIDE of the pair: group 1 (a) or 2 (b), the other its peer.
    local me=1 peer=2
    [[ $PAIR_SIDE == b ]] && me=2 peer=1
    file=$WORK/$kind-$PAIR_SIDE.yaml
    gateway="gateway:
  name: gw-$PAIR_SIDE
  group: $me
  peers:
    - name: gw-peer
      group: $peer"
  fi
  cat >"$file" <<EOF
$gateway
log_level: info
threads: 2
admin_socket: $WORK/$kind${PAIR_SIDE:+-$PAIR_SIDE}-admin.sock
portals: [127.0.0.1:$port]
iscsi:
  nop_interval: 0
targets:
  - iqn: iqn.2024-01.test.sharedisk:$kind
    luns:
      - number: 1
        $backing
        block_size: $BLOCK
        thin: $thin
        read_only: $read_only
EOF
}

# The cluster of the rbd kind: the one given, or a throwaway one of ceph-micro.sh.
CEPH_STARTED=
setup_rbd() {
  if [[ -n ${COMPLIANCE_CEPH_CONF:-} ]]; then
    RBD_CONF=$COMPLIANCE_CEPH_CONF RBD_POOL=${COMPLIANCE_RBD_POOL:-rbd}
    RBD_IMAGE=${COMPLIANCE_RBD_IMAGE:?COMPLIANCE_RBD_IMAGE must name the image to overwrite}
    return 0
  fi
  local mib
  mib=$(numfmt --from=iec "$SIZE") || return 1
  mib=$((mib / 1048576))
  CEPH_STARTED=1
  "$(dirname "$0")/ceph-micro.sh" start "$WORK/ceph" --image-size "$mib" \
    >"$LOG_DIR/rbd-ceph-start.log" 2>&1 || {
    echo "compliance: the throwaway Ceph cluster did not start (see $LOG_DIR/rbd-ceph-start.log)" >&2
    return 1
  }
  # shellcheck disable=SC1091
  source "$WORK/ceph/env"
  RBD_CONF=$CEPH_CONF RBD_POOL=$CEPH_POOL RBD_IMAGE=$CEPH_IMAGE
}

# rbd-pair on the throwaway cluster: the image without exclusive-lock. With the
# lock, every write through the other gateway moves it, and each move gives
# every session ASYMMETRIC ACCESS STATE CHANGED (2A/06, SPC-4 implicit ALUA),
# which iscsi-test-cu's two-path tests do not expect (9 of its 24 multipath and
# reservation tests failed so). The lock-driven ALUA has its own tests
# (rbd_tests: RbdFailover.*, RbdGateways.ExamplePairReportsOneUnitTwoGroups).
pair_without_lock() {
  [[ -n ${CEPH_STARTED:-} && ${COMPLIANCE_PAIR_LOCK:-0} != 1 ]] || return 0
  rbd -c "$RBD_CONF" feature disable "$RBD_POOL/$RBD_IMAGE" fast-diff object-map exclusive-lock \
    >>"$LOG_DIR/rbd-ceph-start.log" 2>&1 || {
    echo "compliance: cannot disable exclusive-lock on $RBD_POOL/$RBD_IMAGE" >&2
    return 1
  }
}

# Starts the daemon for `kind` on a free port; sets DAEMON_PID and PORT
# (rbd-pair: gateway A there, gateway B in PEER_PID, its URL in URL2).
start_daemon() {
  CONFIG_KIND=$1
  if [[ $1 == rbd-pair ]]; then
    PAIR_SIDE=b
    daemon_start "$DAEMON" "$WORK/$1-b.yaml" "$LOG_DIR/$1-b-daemon.log" write_kind_config ||
      return 1
    PEER_PID=$DAEMON_PID
    # shellcheck disable=SC2153  # PORT: set by daemon_start
    URL2=iscsi://127.0.0.1:$PORT/iqn.2024-01.test.sharedisk:$1/1
    DAEMON_PID=
    PAIR_SIDE=a
    daemon_start "$DAEMON" "$WORK/$1-a.yaml" "$LOG_DIR/$1-a-daemon.log" write_kind_config
    return
  fi
  daemon_start "$DAEMON" "$WORK/$1.yaml" "$LOG_DIR/$1-daemon.log" write_kind_config
}
# shellcheck disable=SC2317  # also called through the EXIT trap
stop_peer() {
  stop_pid "$PEER_PID"
  PEER_PID=
}
daemons_alive() {
  kill -0 "$DAEMON_PID" 2>/dev/null && { [[ -z $PEER_PID ]] || kill -0 "$PEER_PID" 2>/dev/null; }
}
# shellcheck disable=SC2317  # called through daemon_start
write_kind_config() { # port
  write_config "$CONFIG_KIND" "$1"
}

# Expands FAMILIES into the full test names iscsi-test-cu knows, one per line
# as FAMILY.SUITE.TEST.
expected_tests() {
  local list
  list=$(iscsi-test-cu -l 2>/dev/null | grep -E '^[^.]+\.[^.]+\.[^.]+$')
  local IFS=,
  for f in $FAMILIES; do
    printf '%s\n' "$list" | awk -v f="$f" 'index($0, f ".") == 1 || $0 == f'
  done | awk -F. '!seen[$2 "." $3]++'
}

# Parses one iscsi-test-cu log into "SUITE.TEST RESULT" lines, RESULT being
# PASS, SKIP, FAIL or RUNNING (started, no verdict: the run died in it).
parse_log() {
  # CUnit prints the verdict ("passed"/"FAILED") unindented right after the
  # test's own output, which is indented; teardown messages of the suite may
  # follow on the same line, so only text before the verdict counts.
  awk '
    function close_test() {
      if (name == "") return
      if (verdict == "") print name, "RUNNING"
      else if (verdict == "FAILED") print name, "FAIL"
      else if (skipped) print name, "SKIP"
      else print name, "PASS"
      name = ""
    }
    function take(text) {
      if (verdict != "") return
      if (match(text, /^(passed|FAILED)([ \t]|$)/)) { verdict = substr(text, 1, 6); return }
      if (text ~ /\[SKIPPED\]/) skipped = 1
    }
    /^Suite: / { close_test(); suite = $2; next }
    /^  Test: / {
      close_test()
      name = suite "." $2; verdict = ""; skipped = 0
      rest = $0; sub(/^  Test: [^ ]+ \.\.\./, "", rest)
      take(rest)
      next
    }
    /^Run Summary:/ { close_test(); next }
    name != "" { take($0) }
    END { close_test() }
  ' "$1"
}

# Runs iscsi-test-cu on `tests` (comma list) with a timeout and a stall
# watchdog. Returns its exit status (124/137 when it was stopped).
run_testcu() {
  local url=$1 tests=$2 log=$3 url2=${4:-$1}
  timeout -k 5 "$RUN_TIMEOUT" iscsi-test-cu --dataloss -v -t "$tests" "$url" "$url2" \
    >"$log" 2>&1 </dev/null &
  TESTCU_PID=$!
  local last_size=-1 still=0
  while kill -0 "$TESTCU_PID" 2>/dev/null; do
    sleep 1
    local size
    size=$(stat -c %s "$log" 2>/dev/null || echo 0)
    if [[ $size == "$last_size" ]]; then
      still=$((still + 1))
      if ((still >= STALL)); then
        echo "compliance: no output for ${STALL}s, stopping iscsi-test-cu" >>"$log"
        kill -KILL "$TESTCU_PID" 2>/dev/null
      fi
    else
      still=0
      last_size=$size
    fi
  done
  wait "$TESTCU_PID" 2>/dev/null
  local rc=$?
  TESTCU_PID=
  return $rc
}

TOTAL_PASS=0 TOTAL_FAIL=0 TOTAL_SKIP=0
ALL_RESULTS=$WORK/all-results

run_kind() {
  local kind=$1
  local results=$WORK/$kind-results
  : >"$results"
  [[ -n ${EXPECTED:-} ]] || return 1
  if [[ $kind == thin ]] && ! punch_hole_works "$WORK"; then
    echo "compliance: warning: $WORK cannot punch holes; thin provisioning tests will not run"
  fi
  start_daemon "$kind" || return 1
  local url=iscsi://127.0.0.1:$PORT/iqn.2024-01.test.sharedisk:$kind/1
  echo "== $kind LUN: $url ${URL2:+and $URL2 }(families $FAMILIES)"

  local remaining=$EXPECTED attempt=0
  while [[ -n $remaining ]]; do
    attempt=$((attempt + 1))
    local log=$LOG_DIR/$kind-run$attempt.log tests
    if ((attempt == 1)); then tests=$FAMILIES; else tests=$(printf '%s\n' "$remaining" | paste -sd,); fi
    run_testcu "$url" "$tests" "$log" "$URL2"
    local rc=$?
    local parsed
    parsed=$(parse_log "$log")
    # The verdicts of this run, the test that was running when it died, if any.
    local dead
    dead=$(printf '%s\n' "$parsed" | awk '$2 == "RUNNING" { print $1 }')
    printf '%s\n' "$parsed" | awk '$2 != "RUNNING" && NF == 2' >>"$results"
    if [[ -n $dead ]]; then
      local why="crash or hang (iscsi-test-cu exit $rc)"
      daemons_alive || why="the daemon died (see $LOG_DIR/$kind-*daemon.log)"
      echo "$dead FAIL $why" >>"$results"
    fi
    # What is still to run: expected tests without a verdict.
    remaining=$(printf '%s\n' "$remaining" | awk 'NR == FNR { done[$1] = 1; next }
                              { split($0, n, "."); if (!((n[2] "." n[3]) in done)) print }' \
      "$results" -)
    local summary_seen=0
    grep -q '^Run Summary:' "$log" && summary_seen=1
    if [[ -n $remaining ]]; then
      if ((summary_seen)) && [[ -z $dead ]]; then
        break  # finished normally: the rest never ran
      fi
      if ((attempt > MAX_RESUMES)); then
        break
      fi
      if ! daemons_alive; then
        echo "compliance: the daemon died; restarting it for the remaining tests"
        daemon_stop
        stop_peer
        start_daemon "$kind" || break
        url=iscsi://127.0.0.1:$PORT/iqn.2024-01.test.sharedisk:$kind/1
      fi
      echo "compliance: run $attempt ended early (exit $rc); resuming with $(printf '%s\n' "$remaining" | wc -l) tests"
    fi
  done
  if [[ -n $remaining ]]; then
    printf '%s\n' "$remaining" | awk '{ split($0, n, "."); print n[2] "." n[3], "FAIL", "never ran" }' \
      >>"$results"
  fi
  daemon_stop
  stop_peer
  URL2=

  # One line per test, in the order of the suite list.
  local p=0 f=0 s=0
  while read -r name result why; do
    printf '%-4s %-5s %s%s\n' "$result" "$kind" "$name" "${why:+  ($why)}"
    case $result in
      PASS) p=$((p + 1)) ;;
      FAIL) f=$((f + 1)) ;;
      SKIP) s=$((s + 1)) ;;
    esac
    echo "$kind $name $result" >>"$ALL_RESULTS"
  done < <(printf '%s\n' "$EXPECTED" | awk 'NR == FNR { r[$1] = $0; next }
                  { split($0, n, "."); k = n[2] "." n[3]; if (k in r) print r[k] }' "$results" -)
  echo "== $kind: $p passed, $f failed, $s skipped"
  TOTAL_PASS=$((TOTAL_PASS + p)) TOTAL_FAIL=$((TOTAL_FAIL + f)) TOTAL_SKIP=$((TOTAL_SKIP + s))
}

EXPECTED=$(expected_tests)
if [[ -z $EXPECTED ]]; then
  echo "compliance: no iscsi-test-cu test matches '$FAMILIES'" >&2
  exit 2
fi
: >"$ALL_RESULTS"
status=0
for kind in $LUNS; do
  case $kind in
    thin | full | readonly) run_kind "$kind" || status=2 ;;
    rbd) { setup_rbd && run_kind "$kind"; } || status=2 ;;
    rbd-pair) { setup_rbd && pair_without_lock && run_kind "$kind"; } || status=2 ;;
    *)
      echo "compliance: unknown LUN kind '$kind' (thin, full, readonly, rbd, rbd-pair)" >&2
      exit 2
      ;;
  esac
done

echo
echo "Per suite (pass/fail/skip):"
awk '{ split($2, a, "."); k = $1 " " a[1]; n[k]++; c[k, $3]++ }
     END { for (k in n) printf "  %-40s %3d %3d %3d\n", k, c[k, "PASS"], c[k, "FAIL"], c[k, "SKIP"] }' \
  "$ALL_RESULTS" | sort
echo
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
echo "(logs in $LOG_DIR)"
((status != 0)) && exit "$status"
((TOTAL_FAIL == 0)) || exit 1
exit 0
