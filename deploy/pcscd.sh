#!/usr/bin/env bash
# Start, stop or check pcscd, the PC/SC daemon the terminal talks to chip cards through
# (docs: ../shared/notes/smartcards.md). Idempotent and quiet, like ensure-infra.sh.
#
#   deploy/pcscd.sh start    start pcscd unless it answers already, then wait until it does
#   deploy/pcscd.sh stop     stop it (SIGTERM: it cleans /run/pcscd, card emulators see EOF)
#   deploy/pcscd.sh status   exit 0 if it answers, 1 if not
#
# Never --auto-exit: it quits after 60 s idle, under a terminal waiting for a customer.
set -euo pipefail

SOCKET=/run/pcscd/pcscd.comm
PIDFILE=/run/pcscd/pcscd.pid

die() {
    echo "pcscd.sh: ERROR: $*" >&2
    exit 1
}

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
else
    SUDO=(sudo)
fi

# Answers = its socket accepts a connection (a stale socket file from a killed pcscd does not).
answers() {
    [[ -S $SOCKET ]] || return 1
    python3 - "$SOCKET" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(1)
s.connect(sys.argv[1])
EOF
}

pcscd_pid() {
    local pid
    # pcscd ends its pid file with a NUL byte: keep the digits only.
    [[ -f $PIDFILE ]] || return 1
    pid=$(tr -dc '0-9' <"$PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && echo "$pid"
}

# A killed pcscd nobody reaped (containers whose init does not) is a zombie: kill -0 says it
# exists, but it is dead, and its pid file must not stop a new pcscd.
alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

start() {
    answers && return 0
    command -v pcscd >/dev/null || [[ -x /usr/sbin/pcscd ]] ||
        die "pcscd is not installed (deploy/ensure-infra.sh installs it)"
    [[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ]] ||
        die "the virtual reader driver is missing (apt-get install vsmartcard-vpcd)"
    if ! pcscd_pid >/dev/null; then
        # Left over by a pcscd that was killed: it would refuse to start over them.
        "${SUDO[@]}" rm -f "$SOCKET" "$PIDFILE"
    fi
    local out
    # pcscd is a server of the machine like PostgreSQL: it keeps the real time even when
    # started from a suite run under libfaketime (make test-dates), whose faked monotonic
    # clock would stop its polling of the virtual reader.
    if ! out=$("${SUDO[@]}" env -u LD_PRELOAD -u FAKETIME -u FAKETIME_DONT_RESET \
        "$(command -v pcscd || echo /usr/sbin/pcscd)" 2>&1); then
        echo "$out" >&2
        die "pcscd did not start"
    fi
    local i
    for ((i = 0; i < 100; i++)); do
        answers && return 0
        sleep 0.1
    done
    die "pcscd started but does not answer on $SOCKET"
}

stop() {
    local pid i
    pid=$(pcscd_pid) || return 0
    "${SUDO[@]}" kill -TERM "$pid"
    for ((i = 0; i < 50; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    die "pcscd (pid $pid) did not stop within 5 s"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) answers ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
