# shellcheck shell=bash
# Shared by the real-initiator tests (qemu-initiator.sh, kernel-initiator.sh);
# sourced, not run. Starts sharedisk-target on a free 127.0.0.1 port with one
# file LUN or a few and stops it again.
#
#   initiator_skip MESSAGE        print "SKIP: MESSAGE" and exit 77 (ctest SKIP)
#   initiator_start_daemon DAEMON WORK IQN SIZE LUN_FILE...
#                                 one target, LUN n = the n-th file (SIZE each,
#                                 512-byte blocks, write-back); sets DAEMON_PID
#                                 and PORT; returns 1 on failure
#   initiator_stop_daemon         SIGTERM (clean shutdown flushes the LUN), then KILL
#
# The caller owns WORK (a private temporary directory) and should call
# initiator_stop_daemon from its EXIT trap.

DAEMON_PID=
PORT=

initiator_skip() {
  echo "SKIP: $*"
  exit 77
}

initiator_stop_daemon() {
  [[ -z $DAEMON_PID ]] && return 0
  kill -TERM "$DAEMON_PID" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$DAEMON_PID" 2>/dev/null
  wait "$DAEMON_PID" 2>/dev/null
  DAEMON_PID=
}

# Stops the daemon and starts it again with the same configuration and port
# (what an upgrade does); its log is appended to. Returns 1 when it does not
# come back listening within about 10 s.
initiator_restart_daemon() {
  local daemon=$1 work=$2
  local log=$work/daemon.log before
  initiator_stop_daemon
  before=$(grep -cF "listening on 127.0.0.1:$PORT" "$log")
  for _ in $(seq 10); do
    "$daemon" --config "$work/lun.yaml" >>"$log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 50); do
      if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
        break
      fi
      if [[ $(grep -cF "listening on 127.0.0.1:$PORT" "$log") -gt $before ]]; then
        return 0
      fi
      sleep 0.1
    done
    initiator_stop_daemon
    sleep 0.5
  done
  echo "the daemon did not restart on port $PORT; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

initiator_start_daemon() {
  local daemon=$1 work=$2 iqn=$3 size=$4
  shift 4
  local log=$work/daemon.log luns="" n=0 f
  for f in "$@"; do
    n=$((n + 1))
    luns+="
      - number: $n
        path: $f
        size: $size
        block_size: 512
        write_cache: true"
  done
  for _ in $(seq 20); do
    : >"$log"
    PORT=$((20000 + RANDOM % 40000))
    cat >"$work/lun.yaml" <<EOF
log_level: info
threads: 2
admin_socket: $work/admin.sock
portals: [127.0.0.1:$PORT]
targets:
  - iqn: $iqn
    luns:$luns
EOF
    "$daemon" --config "$work/lun.yaml" >>"$log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 100); do
      if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
        break # most likely the port was taken: try another one
      fi
      # Our own daemon's log line, not merely an open port (another test's
      # daemon may hold the same port).
      if grep -qF "listening on 127.0.0.1:$PORT" "$log" 2>/dev/null; then
        return 0
      fi
      sleep 0.1
    done
    initiator_stop_daemon
  done
  echo "the daemon did not start; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

# check DESCRIPTION COMMAND...: runs one host-side verification, prints ok/FAIL
# (with the command's output indented) and counts failures in $failures.
# Needs $WORK for the step log.
check() {
  local what=$1
  shift
  if "$@" >"$WORK/step.log" 2>&1; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    sed 's/^/     /' "$WORK/step.log"
    failures=$((failures + 1))
  fi
}
