# shellcheck shell=bash
# Starting and stopping sharedisk-target for the script-driven tests
# (compliance.sh, qemu-initiator.sh, kernel-initiator.sh); sourced, not run.
# Only the daemon started here is ever signalled, by pid; every wait is bounded.
#
#   build_dir_arg ARGS...         the scripts' one argument, BUILD_DIR: sets BUILD_DIR
#                                 (absolute) and DAEMON, or prints the script's header
#                                 comment as usage and exits 2
#   skip_test MESSAGE             print "SKIP: MESSAGE" and exit 77 (ctest SKIP)
#   daemon_start DAEMON CONFIG LOG WRITE_CONFIG
#                                 picks a free-looking 127.0.0.1 port, runs
#                                 `WRITE_CONFIG PORT` (which writes CONFIG for that
#                                 port, log_level info or lower), starts
#                                 `DAEMON --config CONFIG` with its output appended
#                                 to LOG and waits until the daemon itself logs that
#                                 it listens there (another daemon may hold a port
#                                 that merely accepts). Retries other ports. Sets
#                                 DAEMON_PID and PORT; returns 1 on failure.
#   daemon_stop                   SIGTERM (a clean shutdown flushes the LUNs), then KILL
#   daemon_restart                stop, then start again with the same binary,
#                                 configuration and port, as an upgrade would
#   daemon_start_file_luns DAEMON WORK IQN SIZE LUN_FILE...
#                                 one target, LUN n = the n-th file (SIZE each, 512-byte
#                                 blocks, write-back), config WORK/lun.yaml, log
#                                 WORK/daemon.log, admin socket WORK/admin.sock
#   check DESCRIPTION COMMAND...  one verification: ok/FAIL (its output, from
#                                 $WORK/step.log, shown on FAIL); counts $failures
#
# The caller owns its temporary directory and should call daemon_stop from its
# EXIT trap.

DAEMON_PID=
PORT=
DAEMON_BIN=
DAEMON_CONFIG=
DAEMON_LOG=

build_dir_arg() {
  [[ $# -eq 1 ]] || {
    sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//' >&2
    exit 2
  }
  BUILD_DIR=$(cd "$1" 2>/dev/null && pwd) || {
    echo "$(basename "$0" .sh): no build directory $1" >&2
    exit 2
  }
  # shellcheck disable=SC2034  # for the caller
  DAEMON=$BUILD_DIR/target/sharedisk-target
}

skip_test() {
  echo "SKIP: $*"
  exit 77
}

# SIGTERM to a daemon this script started, SIGKILL if it is still there after
# 10 s, then reaped. An empty pid does nothing.
stop_pid() { # pid
  [[ -z $1 ]] && return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

daemon_stop() {
  stop_pid "$DAEMON_PID"
  DAEMON_PID=
}

# Starts DAEMON_BIN on PORT with DAEMON_CONFIG; waits (about 10 s) for its own
# "listening on" line beyond the first `before` ones. Returns 1 when it exits
# (most likely the port was taken) or does not come up.
daemon_launch() {
  local before=$1
  "$DAEMON_BIN" --config "$DAEMON_CONFIG" >>"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 100); do
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
      wait "$DAEMON_PID" 2>/dev/null
      DAEMON_PID=
      return 1
    fi
    if [[ $(grep -cF "listening on 127.0.0.1:$PORT" "$DAEMON_LOG" 2>/dev/null) -gt $before ]]; then
      return 0
    fi
    sleep 0.1
  done
  daemon_stop
  return 1
}

daemon_start() {
  DAEMON_BIN=$1 DAEMON_CONFIG=$2 DAEMON_LOG=$3
  local write_config=$4 before
  : >>"$DAEMON_LOG"
  for _ in $(seq 20); do
    PORT=$((20000 + RANDOM % 40000))
    "$write_config" "$PORT" || return 1
    before=$(grep -cF "listening on 127.0.0.1:$PORT" "$DAEMON_LOG")
    daemon_launch "$before" && return 0
  done
  echo "the daemon did not start; last lines of $DAEMON_LOG:" >&2
  tail -n 20 "$DAEMON_LOG" >&2
  return 1
}

daemon_restart() {
  local before
  daemon_stop
  before=$(grep -cF "listening on 127.0.0.1:$PORT" "$DAEMON_LOG")
  for _ in $(seq 10); do
    daemon_launch "$before" && return 0
    sleep 0.5 # the old socket may linger for a moment
  done
  echo "the daemon did not restart on port $PORT; last lines of $DAEMON_LOG:" >&2
  tail -n 20 "$DAEMON_LOG" >&2
  return 1
}

daemon_start_file_luns() {
  local daemon=$1 work=$2 iqn=$3 size=$4
  shift 4
  local n=0 f
  FILE_LUNS_YAML=
  for f in "$@"; do
    n=$((n + 1))
    FILE_LUNS_YAML+="
      - number: $n
        path: $f
        size: $size
        block_size: 512
        write_cache: true"
  done
  FILE_LUNS_WORK=$work FILE_LUNS_IQN=$iqn
  : >"$work/daemon.log"
  daemon_start "$daemon" "$work/lun.yaml" "$work/daemon.log" write_file_luns_config
}

# shellcheck disable=SC2317  # called through daemon_start
write_file_luns_config() { # port
  cat >"$FILE_LUNS_WORK/lun.yaml" <<EOF2
log_level: info
threads: 2
admin_socket: $FILE_LUNS_WORK/admin.sock
portals: [127.0.0.1:$1]
targets:
  - iqn: $FILE_LUNS_IQN
    luns:$FILE_LUNS_YAML
EOF2
}

# shellcheck disable=SC2153  # WORK is the caller's
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
