#!/usr/bin/env bash
# run.sh BUILD_DIR — the embedded default behind `make run`.
#
# Makes var/ (a development certificate, a VAPID key, Redis data), starts a
# private redis-server on a free loopback port, BUILD_DIR/alertd in front of
# it and BUILD_DIR/alertd-push (the push gateway, Web Push on) beside it,
# waits until both answer /readyz, prints how to publish and follow, and
# stays in the foreground with their logs on the terminal. Ctrl-C or TERM
# stops all three (by pid) and leaves nothing running.
#
# Environment:
#   ALERTD_LISTEN   address alertd serves on (default 127.0.0.1:8443)
#   ALERT_VAR_DIR   state directory instead of var/ (the tests use a temporary one)
#   ALERTD_WORKERS  alertd worker processes (default here: 1)
#   ALERTD_ALLOWED_ORIGIN  browser Origins (default here: its own, https://localhost:PORT
#                   and https://127.0.0.1:PORT)
#   ALERTD_HSTS_MAX_AGE    (default here: 0, no Strict-Transport-Security)
#   ALERTD_PUSH_LISTEN  address of alertd-push's registration API (default:
#                   alertd's port + 1, or a free port if that one is taken)
#   ALERTD_*        every other alertd setting, see alertd --help
set -euo pipefail

usage() {
    echo "usage: scripts/run.sh BUILD_DIR   (normally through 'make run')" >&2
    exit 2
}
[ $# -eq 1 ] || usage

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "run: no such directory: $1" >&2; exit 2; }
VAR=${ALERT_VAR_DIR:-$ROOT/var}
LISTEN=${ALERTD_LISTEN:-127.0.0.1:8443}
PYTHON=$(command -v python3 || true)
READY_TIMEOUT=20 # seconds, each for Redis and for alertd
STOP_TIMEOUT=10  # seconds a process gets to exit after TERM before KILL

say() { echo "run: $*" >&2; }
die() { say "$*"; exit 1; }

for cmd in redis-server redis-cli openssl; do
    command -v "$cmd" >/dev/null || die "$cmd is missing (make deps installs it)"
done
[ -n "$PYTHON" ] || die "python3 is missing (make deps installs it)"
[ -x "$BUILD/alertd" ] || die "$BUILD/alertd is missing: run 'make' first"

# Paths as a developer types them: relative to the repository when inside it.
show() { case $1 in "$ROOT"/*) echo "${1#"$ROOT"/}" ;; *) echo "$1" ;; esac; }

# ---------------------------------------------------------------------------
# The address alertd is to serve on: HOST:PORT or [V6]:PORT
# ---------------------------------------------------------------------------
if [[ $LISTEN =~ ^\[([0-9A-Fa-f:.]+)\]:([0-9]+)$ ]] || [[ $LISTEN =~ ^([^:]+):([0-9]+)$ ]]; then
    LISTEN_HOST=${BASH_REMATCH[1]}
    LISTEN_PORT=${BASH_REMATCH[2]}
else
    die "ALERTD_LISTEN must be HOST:PORT or [IPV6]:PORT, not '$LISTEN'"
fi
case $LISTEN_HOST in
    0.0.0.0 | 127.0.0.1 | localhost) PROBE_HOST=127.0.0.1 ;;
    :: | ::1) PROBE_HOST=::1 ;;
    *) PROBE_HOST=$LISTEN_HOST ;;
esac
case $LISTEN_HOST in
    0.0.0.0 | 127.0.0.1 | localhost | :: | ::1) URL_HOST=localhost ;;
    *:*) URL_HOST="[$LISTEN_HOST]" ;;
    *) URL_HOST=$LISTEN_HOST ;;
esac

# Exits 0 when HOST PORT can be bound right now (nothing listens there).
port_free() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
try:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "busy"
    s.bind((host, port))
    s.close()
except OSError:
    sys.exit(1)
EOF
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if ! port_free "$LISTEN_HOST" "$LISTEN_PORT"; then
    say "$LISTEN is already in use (another 'make run', or an alertd started by hand?)."
    say "Stop whatever listens there, or pick another address, e.g.:"
    say "    ALERTD_LISTEN=127.0.0.1:9443 make run"
    exit 1
fi

# ---------------------------------------------------------------------------
# Processes: started here, stopped by pid
# ---------------------------------------------------------------------------
REDIS_PID=
ALERTD_PID=
PUSH_PID=

# Alive and not a zombie waiting to be reaped.
alive() {
    local stat
    stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $stat != Z* ]]
}

# stop PID NAME: TERM, wait up to STOP_TIMEOUT, then KILL; reaps it.
stop() {
    local pid=$1 name=$2 i
    [ -n "$pid" ] || return 0
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            say "$name (pid $pid) did not stop within ${STOP_TIMEOUT}s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    local status=$?
    trap - EXIT
    trap '' INT TERM # stopping is bounded: let it finish
    [ -n "$ALERTD_PID$REDIS_PID$PUSH_PID" ] && say "stopping"
    stop "$PUSH_PID" alertd-push
    stop "$ALERTD_PID" alertd # before Redis, so that it does not see Redis go away
    stop "$REDIS_PID" redis-server
    rm -f "$VAR/alertd.pid" "$VAR/redis.pid" "$VAR/alertd-push.pid"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 0' INT TERM # Ctrl-C is the ordinary way out; EXIT cleans up

# ---------------------------------------------------------------------------
# var/: the development certificate and Redis's data
# ---------------------------------------------------------------------------
mkdir -p "$VAR/tls" "$VAR/redis"
chmod 700 "$VAR/tls"
CRT=$VAR/tls/localhost.crt
KEY=$VAR/tls/localhost.key
if [ ! -s "$CRT" ] || [ ! -s "$KEY" ] || ! openssl x509 -checkend 86400 -noout -in "$CRT" >/dev/null 2>&1; then
    say "making a development certificate for localhost: $(show "$CRT")"
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -days 825 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
        -addext "extendedKeyUsage=serverAuth" \
        -keyout "$KEY" -out "$CRT" 2>/dev/null) || die "openssl could not make the certificate"
    chmod 644 "$CRT"
fi

# The push gateway's VAPID key: made once, kept (browsers' subscriptions are
# bound to it).
mkdir -p "$VAR/push"
chmod 700 "$VAR/push"
VAPID=$VAR/push/vapid.pem
if [ ! -s "$VAPID" ]; then
    say "making a VAPID key for Web Push: $(show "$VAPID")"
    (umask 077 && openssl ecparam -genkey -name prime256v1 -noout -out "$VAPID" 2>/dev/null) ||
        die "openssl could not make the VAPID key"
fi

# ---------------------------------------------------------------------------
# redis-server on a free loopback port (picked, closed, then taken: another
# program may take it in between, so a few tries)
# ---------------------------------------------------------------------------
start_redis() {
    local i
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
        --dir "$VAR/redis" --appendonly yes --save "" --daemonize no \
        --logfile "$VAR/redis/redis.log" </dev/null &
    REDIS_PID=$!
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        alive "$REDIS_PID" || break
        # While it loads its append-only file it answers LOADING, not PONG.
        [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    stop "$REDIS_PID" redis-server
    REDIS_PID=
    return 1
}
for try in 1 2 3; do
    start_redis && break
    [ "$try" -lt 3 ] || die "redis-server did not start: see $(show "$VAR/redis/redis.log")"
done
echo "$REDIS_PID" >"$VAR/redis.pid"
REDIS_URL=redis://127.0.0.1:$REDIS_PORT

# ---------------------------------------------------------------------------
# alertd, its log on the terminal
# ---------------------------------------------------------------------------
# One worker unless asked: one log stream, and enough for development.
# Browser pages from its own origin only (the demo page, by either name);
# and no HSTS: it would bind localhost, every port of it, to HTTPS in the
# developer's browser, for a year, on the word of a self-signed certificate.
OWN_ORIGINS="https://$URL_HOST:$LISTEN_PORT,https://localhost:$LISTEN_PORT,https://127.0.0.1:$LISTEN_PORT"
ALERTD_WORKERS=${ALERTD_WORKERS:-1} \
    ALERTD_ALLOWED_ORIGIN=${ALERTD_ALLOWED_ORIGIN:-$OWN_ORIGINS} \
    ALERTD_HSTS_MAX_AGE=${ALERTD_HSTS_MAX_AGE:-0} \
    "$BUILD/alertd" --listen "$LISTEN" --redis "$REDIS_URL" --tls-cert "$CRT" --tls-key "$KEY" </dev/null &
ALERTD_PID=$!
echo "$ALERTD_PID" >"$VAR/alertd.pid"

# Exits 0 once https://localhost:PORT/readyz answers 200, verifying the
# certificate as a reader would (its name is localhost, whatever the address).
ready() {
    "$PYTHON" - "$PROBE_HOST" "${1:-$LISTEN_PORT}" "$CRT" <<'EOF'
import http.client, socket, ssl, sys
host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
try:
    sock = socket.create_connection((host, port), timeout=2)
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=2)
    conn.sock = ctx.wrap_socket(sock, server_hostname="localhost")
    conn.request("GET", "/readyz")
    sys.exit(0 if conn.getresponse().status == 200 else 1)
except (OSError, http.client.HTTPException):
    sys.exit(1)
EOF
}
for ((i = 0; ; i++)); do
    alive "$ALERTD_PID" || die "alertd exited before it was ready (its log is above)"
    ready && break
    [ "$i" -lt $((READY_TIMEOUT * 5)) ] || die "alertd did not answer /readyz within ${READY_TIMEOUT}s"
    sleep 0.2
done

# ---------------------------------------------------------------------------
# alertd-push beside it, Web Push on
# ---------------------------------------------------------------------------
PUSH_LINE="alertd-push: not built"
if [ -x "$BUILD/alertd-push" ]; then
    if [ -n "${ALERTD_PUSH_LISTEN:-}" ]; then
        PUSH_LISTEN=$ALERTD_PUSH_LISTEN
        [[ $PUSH_LISTEN =~ :([0-9]+)$ ]] || die "ALERTD_PUSH_LISTEN must be HOST:PORT"
        PUSH_PORT=${BASH_REMATCH[1]}
        port_free "${PUSH_LISTEN%:*}" "$PUSH_PORT" || die "$PUSH_LISTEN is already in use"
    else
        PUSH_PORT=$((LISTEN_PORT + 1))
        port_free "$LISTEN_HOST" "$PUSH_PORT" || PUSH_PORT=$(free_port)
        PUSH_LISTEN=$LISTEN_HOST:$PUSH_PORT
    fi
    "$BUILD/alertd-push" --listen "$PUSH_LISTEN" --redis "$REDIS_URL" --tls-cert "$CRT" \
        --tls-key "$KEY" --vapid-key "$VAPID" </dev/null &
    PUSH_PID=$!
    echo "$PUSH_PID" >"$VAR/alertd-push.pid"
    for ((i = 0; ; i++)); do
        alive "$PUSH_PID" || die "alertd-push exited before it was ready (its log is above)"
        ready "$PUSH_PORT" && break
        [ "$i" -lt $((READY_TIMEOUT * 5)) ] || die "alertd-push did not answer /readyz within ${READY_TIMEOUT}s"
        sleep 0.2
    done
    PUSH_LINE="alertd-push (Web Push) is ready       https://$URL_HOST:$PUSH_PORT/v1/push/vapid"
fi

ALERT=$(show "$BUILD/alert")
cat <<EOF

  alertd is ready                      https://$URL_HOST:$LISTEN_PORT/
  $PUSH_LINE
  Redis (private, data in $(show "$VAR/redis"))   $REDIS_URL

  Publish:  ALERT_REDIS_URL=$REDIS_URL $ALERT push --headline "Test alert" --topic world
  Follow:   $ALERT tail --server wss://$URL_HOST:$LISTEN_PORT --ca $(show "$CRT")
  Stop:     Ctrl-C

EOF

# In the foreground until alertd ends or a signal comes (the trap runs then).
set +e
wait "$ALERTD_PID"
status=$?
set -e
say "alertd exited with status $status"
ALERTD_PID=
exit "$status"
