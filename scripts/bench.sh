#!/usr/bin/env bash
# bench.sh BUILD_DIR — `make bench` (issue #5): alertd against nginx + nchan
# and the Node.js ws server, interleaved, in one session on this machine.
#
# Installs what is missing (scripts/deps.sh, scripts/bench-deps.sh), makes a
# bench certificate (ECDSA P-256) and starts a private redis-server under a
# temporary directory, runs alert-bench's TLS-write-limit microbenchmark,
# then for each N runs every server on a fresh start (server on one core,
# alert-bench on the other), then the mobile-reader measurement and the push
# runs (issue #14: one flash through alertd-push to nghttpd, a million APNs
# registrations and 100,000 Web Push subscriptions), and writes
# bench/results/<timestamp>/: one JSON
# per run (alert-bench --json) with a .meta.json beside it, summary.json,
# table.md and chart.svg; bench/results/latest.md and latest.svg are copies
# of the newest table and chart. Every process it starts is stopped by pid
# when it ends (normally, on error, or on Ctrl-C).
#
# Environment (defaults in brackets):
#   BENCH_N             client counts for every server ["1000 10000 20000 50000"]
#   BENCH_N_ALERTD      further client counts for alertd only ["100000"]; empty: none
#   BENCH_RECEIPTS_N    client counts (of BENCH_N) at which alertd also runs with
#                       receipts off (--receipts-days 0), right after its run
#                       with them on (the default), to compare server CPU per
#                       delivery ["10000"]; empty: none
#   BENCH_WIRE_N        client counts (of BENCH_N) at which alertd also runs with
#                       readers asking for compact alerts (alertd-compact:
#                       alert-bench --fields), offering permessage-deflate
#                       (alertd-deflate: --deflate) and both
#                       (alertd-deflate-compact), and nchan with
#                       nchan_deflate_message_for_websocket (nchan-deflate), each
#                       right after the plain run, to compare bytes on the wire
#                       per alert, CPU per delivery and RSS per idle connection
#                       ["10000"]; empty: none
#   BENCH_FIELDS        the fields= of the compact runs; keeps ext, which carries
#                       alert-bench's tag ["headline,urgency,url,ext"]
#   BENCH_SERVERS       which servers ["alertd nchan node"]
#   BENCH_ALERTS        alerts per run [20]
#   BENCH_ALERT_RATE    alerts per second [10]
#   BENCH_SIZE          bytes of each message a client receives [600]
#   BENCH_CONNECT_RATE  connections started per second [2000]
#   BENCH_PER_WORKER    clients per server process: each server gets
#                       ceil(N / this) workers (open files: 20,000 a process) [15000]
#   BENCH_TLS_WRITE_N   connections for the TLS-write-limit run; 0 skips it [10000]
#   BENCH_SERVER_CPU    the core servers are pinned to [0]
#   BENCH_CLIENT_CPU    the core alert-bench and redis-server are pinned to [1]
#   BENCH_RUN_TIMEOUT   seconds one alert-bench run may take [600]
#   BENCH_DEADLINE      seconds for the whole session; runs that would start
#                       later are skipped and listed as such [3600]
#   BENCH_OUT           results directory [bench/results/<UTC timestamp>]
#   BENCH_EXTRA         further alert-bench options for every run []
#   BENCH_MOBILE_WINDOW seconds the heartbeat measurement keeps its idle
#                       connections (scripts/bench-mobile.py: wake-ups per idle
#                       connection per hour at the default heartbeat and the
#                       maximum, from the time between wake-ups); at least the
#                       maximum (300 s) for that one to be measured; 0 skips
#                       it [320]
#   BENCH_PUSH_N        registrations (APNs) one flash goes to through
#                       alertd-push, on BENCH_SERVER_CPU, to nghttpd standing in
#                       for APNs on BENCH_CLIENT_CPU (scripts/bench-push.py);
#                       0 skips it [1000000]
#   BENCH_PUSH_WEBPUSH_N the same for Web Push subscriptions (RFC 8291
#                       encryption per message); 0 skips it [100000]
#   BENCH_PUSH_TIMEOUT  seconds a push run may take from the flash [600]
#   BENCH_PUSH_VERIFY   1: nghttpd logs each request's path and every
#                       registration must have been requested exactly once;
#                       auto: for runs of at most 200,000 (its verbose log is
#                       ~2 KB a request, which at a million makes the stand-in's
#                       core the bound); 0: never (the gateway's counters still
#                       must show N accepted, none retried or refused) [auto]
#   BENCH_PUSH_PROFILE  1: perf samples the gateway, push-*.profile.txt [1]
set -euo pipefail

usage() {
    echo "usage: scripts/bench.sh BUILD_DIR   (normally through 'make bench')" >&2
    exit 2
}
[ $# -eq 1 ] || usage

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no such directory: $1" >&2; exit 2; }
PYTHON=/usr/bin/python3

BENCH_N=${BENCH_N-1000 10000 20000 50000}
BENCH_N_ALERTD=${BENCH_N_ALERTD-100000}
BENCH_RECEIPTS_N=${BENCH_RECEIPTS_N-10000}
BENCH_WIRE_N=${BENCH_WIRE_N-10000}
BENCH_FIELDS=${BENCH_FIELDS:-headline,urgency,url,ext}
BENCH_SERVERS=${BENCH_SERVERS-alertd nchan node}
BENCH_ALERTS=${BENCH_ALERTS:-20}
BENCH_ALERT_RATE=${BENCH_ALERT_RATE:-10}
BENCH_SIZE=${BENCH_SIZE:-600}
BENCH_CONNECT_RATE=${BENCH_CONNECT_RATE:-2000}
BENCH_PER_WORKER=${BENCH_PER_WORKER:-15000}
BENCH_TLS_WRITE_N=${BENCH_TLS_WRITE_N:-10000}
BENCH_SERVER_CPU=${BENCH_SERVER_CPU:-0}
BENCH_CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
BENCH_RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-600}
BENCH_DEADLINE=${BENCH_DEADLINE:-3600}
BENCH_EXTRA=${BENCH_EXTRA:-}
BENCH_MOBILE_WINDOW=${BENCH_MOBILE_WINDOW:-320}
BENCH_PUSH_N=${BENCH_PUSH_N:-1000000}
BENCH_PUSH_WEBPUSH_N=${BENCH_PUSH_WEBPUSH_N:-100000}
BENCH_PUSH_TIMEOUT=${BENCH_PUSH_TIMEOUT:-600}
BENCH_PUSH_VERIFY=${BENCH_PUSH_VERIFY:-auto}
BENCH_PUSH_PROFILE=${BENCH_PUSH_PROFILE:-1}
export BENCH_SERVER_CPU BENCH_CLIENT_CPU BENCH_ALERTS BENCH_ALERT_RATE BENCH_SIZE \
    BENCH_CONNECT_RATE BENCH_PER_WORKER
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$ROOT/bench/results/$STAMP}
READY_TIMEOUT=30 # seconds a server (or Redis) gets to become ready
STOP_TIMEOUT=15  # seconds a process gets to exit after TERM before KILL
CHANNEL=alerts   # nchan's channel; alertd and Node use alert:live

START=$SECONDS
say() { printf '[bench %02d:%02d] %s\n' $(((SECONDS - START) / 60)) $(((SECONDS - START) % 60)) "$*" >&2; }
die() { say "$*"; exit 1; }

num='^[0-9]+$'
for v in BENCH_ALERTS BENCH_SIZE BENCH_CONNECT_RATE BENCH_PER_WORKER BENCH_TLS_WRITE_N \
         BENCH_SERVER_CPU BENCH_CLIENT_CPU BENCH_RUN_TIMEOUT BENCH_DEADLINE BENCH_MOBILE_WINDOW \
         BENCH_PUSH_N BENCH_PUSH_WEBPUSH_N BENCH_PUSH_TIMEOUT; do
    [[ ${!v} =~ $num ]] || die "$v must be a whole number, not '${!v}'"
done
for n in $BENCH_N $BENCH_N_ALERTD $BENCH_RECEIPTS_N $BENCH_WIRE_N; do
    if ! [[ $n =~ $num ]] || [ "$n" -eq 0 ]; then
        die "BENCH_N, BENCH_N_ALERTD, BENCH_RECEIPTS_N and BENCH_WIRE_N take client counts, not '$n'"
    fi
done
for s in $BENCH_SERVERS; do
    case $s in alertd | nchan | node) ;; *) die "BENCH_SERVERS: unknown server '$s'" ;; esac
done
case $BENCH_PUSH_VERIFY in 0 | 1 | auto) ;; *) die "BENCH_PUSH_VERIFY must be 0, 1 or auto" ;; esac
case $BENCH_PUSH_PROFILE in 0 | 1) ;; *) die "BENCH_PUSH_PROFILE must be 0 or 1" ;; esac
[[ $BENCH_FIELDS =~ ^[a-z_,]+$ ]] || die "BENCH_FIELDS takes field names separated by commas"
if [ "$BENCH_PER_WORKER" -lt 1000 ] || [ "$BENCH_PER_WORKER" -gt 19000 ]; then
    die "BENCH_PER_WORKER must be 1000..19000 (a process holds fewer than 20,000 files)"
fi

# ---------------------------------------------------------------------------
# Dependencies and the programs under test
# ---------------------------------------------------------------------------
"$ROOT/scripts/deps.sh"
"$ROOT/scripts/bench-deps.sh"
for cmd in redis-server redis-cli openssl taskset curl gnuplot nghttpd "$PYTHON"; do
    command -v "$cmd" >/dev/null || die "$cmd is missing (scripts/deps.sh and scripts/bench-deps.sh install it)"
done
if [ ! -x "$BUILD/alertd" ] || [ ! -x "$BUILD/alert" ]; then
    die "$BUILD/alertd or $BUILD/alert missing: run 'make' first"
fi
[ -x "$BUILD/alert-bench" ] || die "$BUILD/alert-bench missing: run 'make' first (src/bench/)"
[ -x "$BUILD/alertd-push" ] || die "$BUILD/alertd-push missing: run 'make' first"
BENCH_HELP=$("$BUILD/alert-bench" --help 2>&1 || true)

cpus=$(nproc)
if [ "$BENCH_SERVER_CPU" -ge "$cpus" ] || [ "$BENCH_CLIENT_CPU" -ge "$cpus" ]; then
    die "BENCH_SERVER_CPU/BENCH_CLIENT_CPU must be below $cpus (the CPUs available)"
fi
[ "$BENCH_SERVER_CPU" -ne "$BENCH_CLIENT_CPU" ] ||
    say "warning: server and alert-bench share CPU $BENCH_SERVER_CPU: CPU figures mix both"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# A benchmark on a busy machine measures the machine: say so, and record it.
LOADAVG=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOADAVG" 'BEGIN { exit !(l > 0.5) }'; then
    say "warning: load average $LOADAVG before starting: other work on this machine skews every figure"
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/alertd-bench.XXXXXX")
mkdir -p "$OUT/logs"

# ---------------------------------------------------------------------------
# Processes: every one started here is recorded and stopped by pid
# ---------------------------------------------------------------------------
STARTED=() # pids still to stop, in start order

alive() {
    local stat
    stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $stat != Z* ]]
}

# The pids of PID's descendants (children first, then theirs).
descendants() {
    local kids k
    kids=$(ps -o pid= --ppid "$1" 2>/dev/null || true)
    for k in $kids; do
        echo "$k"
        descendants "$k"
    done
}

# stop PID NAME: TERM, up to STOP_TIMEOUT, then KILL it and the descendants
# it had (a killed nginx master would leave its workers running); reaps it.
stop() {
    local pid=$1 name=$2 i kids
    if alive "$pid"; then
        kids=$(descendants "$pid")
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            say "$name (pid $pid) did not stop within ${STOP_TIMEOUT}s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        for k in $kids; do # by pid, only those it had started
            for ((i = 0; i < 50; i++)); do alive "$k" || break; sleep 0.1; done
            alive "$k" && { say "$name's child $k outlived it: killing it"; kill -KILL "$k" 2>/dev/null || true; }
        done
    fi
    wait "$pid" 2>/dev/null || true
    local keep=() p
    for p in "${STARTED[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    STARTED=("${keep[@]+"${keep[@]}"}")
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    local status=$? i
    trap - EXIT
    trap '' INT TERM
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
        stop "${STARTED[i]}" "process"
    done
    rm -rf "$TMP"
    [ "$status" -eq 0 ] || say "stopped (status $status); partial results in $OUT"
    exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for NAME PID SECONDS COMMAND...: until COMMAND succeeds, PID dies, or time is up.
wait_for() {
    local name=$1 pid=$2 secs=$3 i
    shift 3
    for ((i = 0; i < secs * 10; i++)); do
        alive "$pid" || { say "$name (pid $pid) exited while starting"; return 1; }
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    say "$name (pid $pid) not ready after ${secs}s"
    return 1
}

# ---------------------------------------------------------------------------
# Certificate and Redis
# ---------------------------------------------------------------------------
CRT=$TMP/tls/bench.crt
KEY=$TMP/tls/bench.key
mkdir -p "$TMP/tls" "$TMP/redis"
(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -addext "extendedKeyUsage=serverAuth" -keyout "$KEY" -out "$CRT" 2>/dev/null) ||
    die "openssl could not make the bench certificate"
chmod 644 "$CRT"

redis() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis_up() { [ "$(redis PING 2>/dev/null)" = PONG ]; }
REDIS_PID=
for try in 1 2 3; do
    REDIS_PORT=$(free_port)
    taskset -c "$BENCH_CLIENT_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --protected-mode yes --dir "$TMP/redis" --save "" --appendonly no --daemonize no \
        --logfile "$OUT/logs/redis.log" </dev/null &
    REDIS_PID=$!
    STARTED+=("$REDIS_PID")
    wait_for redis-server "$REDIS_PID" 10 redis_up && break
    stop "$REDIS_PID" redis-server
    REDIS_PID=
    [ "$try" -lt 3 ] || die "redis-server did not start: see $OUT/logs/redis.log"
done
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
say "redis-server pid $REDIS_PID on $REDIS_URL (CPU $BENCH_CLIENT_CPU); results in $OUT"

# ---------------------------------------------------------------------------
# Versions, for the record
# ---------------------------------------------------------------------------
dirty=false
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=true
STAMP=$STAMP CPUS=$cpus DIRTY=$dirty LOADAVG=$LOADAVG \
ALERTD_V=$("$BUILD/alertd" --version 2>&1 | head -1) NGINX_V=$(nginx -v 2>&1 | head -1) \
NCHAN_V=$(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || true) \
NODE_V=$(node --version 2>/dev/null || true) OPENSSL_V=$(openssl version) \
REDIS_V=$(redis-server --version | head -1) KERNEL_V=$(uname -r) \
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown) \
    "$PYTHON" - "$OUT/session.json" <<'EOF'
import json, os, sys
e = os.environ
json.dump({
    "started_utc": e["STAMP"], "commit": e["COMMIT"], "dirty": e["DIRTY"] == "true",
    "kernel": e["KERNEL_V"], "cpus": int(e["CPUS"]), "loadavg_at_start": float(e["LOADAVG"]),
    "server_cpu": int(e["BENCH_SERVER_CPU"]), "client_cpu": int(e["BENCH_CLIENT_CPU"]),
    "alerts": int(e["BENCH_ALERTS"]), "alert_rate": float(e["BENCH_ALERT_RATE"]),
    "size": int(e["BENCH_SIZE"]), "connect_rate": int(e["BENCH_CONNECT_RATE"]),
    "per_worker": int(e["BENCH_PER_WORKER"]),
    "versions": {"alertd": e["ALERTD_V"], "nginx": e["NGINX_V"], "nchan": e["NCHAN_V"],
                 "node": e["NODE_V"], "openssl": e["OPENSSL_V"], "redis": e["REDIS_V"]},
}, open(sys.argv[1], "w"), indent=1)
EOF

# ---------------------------------------------------------------------------
# The servers: start_SERVER N sets SERVER_PID, URL, MODE_ARGS (and
# READER_ARGS: how alert-bench's readers connect), or returns 1
# ---------------------------------------------------------------------------
workers_for() { echo $((($1 + BENCH_PER_WORKER - 1) / BENCH_PER_WORKER)); }

numsub() { redis PUBSUB NUMSUB "$1" 2>/dev/null | sed -n 2p; }
subscribed() { [ "$(numsub "$1")" -ge "$2" ] 2>/dev/null; }
https_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$CRT" "$1")" = 200 ]; }
nchan_ready() {
    local code subs
    subs=$(redis CLIENT LIST 2>/dev/null | grep -c ' sub=1 ' || true)
    [ "$subs" -ge "$2" ] || return 1
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/pub/ready")
    [ "$code" != 000 ] && [ "$code" != 503 ]
}

# alertd-noreceipts: alertd counting no receipts, to compare with alertd
# (receipts on, its default) at the same N.
start_alertd-noreceipts() { start_alertd "$1" --receipts-days 0; }

# The mobile readers' variants (BENCH_WIRE_N): the same alertd, read compact,
# compressed, or both.
start_alertd-compact() { start_alertd "$1" && READER_ARGS=(--fields "$BENCH_FIELDS"); }
start_alertd-deflate() { start_alertd "$1" && READER_ARGS=(--deflate); }
start_alertd-deflate-compact() { start_alertd "$1" && READER_ARGS=(--deflate --fields "$BENCH_FIELDS"); }
start_nchan-deflate() { start_nchan "$1" --deflate && READER_ARGS=(--deflate); }

start_alertd() {
    local n=$1 w port
    w=$(workers_for "$n")
    port=$(free_port)
    # --max-per-ip: alert-bench spreads clients over many 127.0.X.Y sources,
    # but a per-address limit must never be what a benchmark measures.
    taskset -c "$BENCH_SERVER_CPU" "$BUILD/alertd" --listen "127.0.0.1:$port" --redis "$REDIS_URL" \
        --tls-cert "$CRT" --tls-key "$KEY" --workers "$w" --max-per-ip 200000 --log-level warn \
        "${@:2}" </dev/null >"$LOG" 2>&1 &
    SERVER_PID=$!
    STARTED+=("$SERVER_PID")
    WORKERS=$w
    URL="wss://127.0.0.1:$port/v1/ws"
    MODE_ARGS=(--publish-mode alertd --alert-bin "$BUILD/alert" --subprotocol alert.v1)
    wait_for alertd "$SERVER_PID" "$READY_TIMEOUT" https_ready "https://127.0.0.1:$port/readyz" &&
        wait_for alertd "$SERVER_PID" "$READY_TIMEOUT" subscribed alert:live "$w"
}

start_nchan() {
    local n=$1 w port pub
    if ! grep -q 'nchan-http' <<<"$BENCH_HELP"; then
        say "skipping nchan: this alert-bench has no '--publish-mode nchan-http' (bench/README.md)"
        return 2
    fi
    w=$(workers_for "$n")
    port=$(free_port)
    pub=$(free_port)
    taskset -c "$BENCH_SERVER_CPU" "$ROOT/bench/peers/nchan/start.sh" --port "$port" --pub-port "$pub" \
        --redis-port "$REDIS_PORT" --cert "$CRT" --key "$KEY" --dir "$TMP/nchan-$n" --workers "$w" \
        "${@:2}" </dev/null >"$LOG" 2>&1 &
    SERVER_PID=$!
    STARTED+=("$SERVER_PID")
    WORKERS=$w
    URL="wss://127.0.0.1:$port/sub/$CHANNEL"
    MODE_ARGS=(--publish-mode nchan-http --publish-url "http://127.0.0.1:$pub/pub/$CHANNEL")
    wait_for nchan "$SERVER_PID" "$READY_TIMEOUT" nchan_ready "$pub" "$w"
}

start_node() {
    local n=$1 w port
    w=$(workers_for "$n")
    port=$(free_port)
    taskset -c "$BENCH_SERVER_CPU" "$ROOT/bench/peers/node/start.sh" --port "$port" \
        --redis-port "$REDIS_PORT" --cert "$CRT" --key "$KEY" --workers "$w" \
        </dev/null >"$LOG" 2>&1 &
    SERVER_PID=$!
    STARTED+=("$SERVER_PID")
    WORKERS=$w
    URL="wss://127.0.0.1:$port/"
    MODE_ARGS=(--publish-mode publish --channel alert:live)
    wait_for node "$SERVER_PID" "$READY_TIMEOUT" subscribed alert:live "$w" &&
        wait_for node "$SERVER_PID" "$READY_TIMEOUT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
}

# bench_run LOGFILE ARGS...: alert-bench under a timeout, as a recorded
# background process (so that an interrupted session stops it too), its
# output followed on the terminal. Returns its exit status (124/137: timeout).
bench_run() {
    local log=$1 pid tpid rc=0
    shift
    : >"$log" # before tail opens it: the redirection below may come later
    timeout -k 10 "$BENCH_RUN_TIMEOUT" "$BUILD/alert-bench" "$@" </dev/null >"$log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    tail -n +1 -f --pid="$pid" "$log" >&2 &
    tpid=$!
    STARTED+=("$tpid")
    wait "$pid" || rc=$?
    wait "$tpid" 2>/dev/null || true
    stop "$tpid" tail
    stop "$pid" alert-bench
    return "$rc"
}

# ---------------------------------------------------------------------------
# The plan: the TLS write limit, then for each N every server, the order
# rotating with N so that no server always runs first (or last)
# ---------------------------------------------------------------------------
PLAN=()
read -r -a servers <<<"$BENCH_SERVERS"
i=0
for n in $BENCH_N; do
    for ((k = 0; k < ${#servers[@]}; k++)); do
        s=${servers[(i + k) % ${#servers[@]}]}
        PLAN+=("$s:$n")
        if [ "$s" = alertd ] && [[ " $BENCH_RECEIPTS_N " == *" $n "* ]]; then
            PLAN+=("alertd-noreceipts:$n")
        fi
        if [[ " $BENCH_WIRE_N " == *" $n "* ]]; then
            case $s in
                alertd) PLAN+=("alertd-compact:$n" "alertd-deflate:$n" "alertd-deflate-compact:$n") ;;
                nchan) PLAN+=("nchan-deflate:$n") ;;
            esac
        fi
    done
    i=$((i + 1))
done
if [[ " $BENCH_SERVERS " == *" alertd "* ]]; then
    for n in $BENCH_N_ALERTD; do PLAN+=("alertd:$n"); done
fi
TOTAL=${#PLAN[@]}
SKIPPED=()

if [ "$BENCH_TLS_WRITE_N" -gt 0 ]; then
    if grep -q -- '--tls-write-limit' <<<"$BENCH_HELP"; then
        say "TLS write limit: $BENCH_TLS_WRITE_N connections, $BENCH_SIZE-byte records, CPU $BENCH_SERVER_CPU"
        rc=0
        bench_run "$OUT/logs/tls-write-limit.log" --tls-write-limit "$BENCH_TLS_WRITE_N" \
            --size "$BENCH_SIZE" --cpu "$BENCH_SERVER_CPU" --json "$OUT/tls-write-limit.json" || rc=$?
        [ "$rc" -eq 0 ] || say "TLS write limit: alert-bench exited $rc (see $OUT/logs/tls-write-limit.log)"
    else
        say "skipping the TLS write limit: this alert-bench has no --tls-write-limit"
    fi
fi

run=0
for item in "${PLAN[@]}"; do
    run=$((run + 1))
    server=${item%%:*}
    n=${item#*:}
    name=$server-$n
    if [ $((SECONDS - START)) -ge "$BENCH_DEADLINE" ]; then
        say "deadline (${BENCH_DEADLINE}s) passed: skipping $name"
        SKIPPED+=("$name")
        continue
    fi
    LOG=$OUT/logs/$name.server.log
    redis FLUSHALL >/dev/null # every server starts on an empty Redis
    say "run $run/$TOTAL: $server, N=$n"
    rc=0
    READER_ARGS=()
    "start_$server" "$n" || rc=$?
    if [ "$rc" -ne 0 ]; then
        [ "$rc" -eq 2 ] || say "$server did not become ready: see $LOG"
        [ -z "${SERVER_PID:-}" ] || stop "$SERVER_PID" "$server"
        SERVER_PID=
        SKIPPED+=("$name")
        continue
    fi
    say "$server pid $SERVER_PID, $WORKERS worker(s), $URL"
    rc=0
    # shellcheck disable=SC2086 # BENCH_EXTRA is a list of options
    bench_run "$OUT/logs/$name.bench.log" --url "$URL" --ca "$CRT" \
        --clients "$n" --rate "$BENCH_CONNECT_RATE" --resume \
        --alerts "$BENCH_ALERTS" --alert-rate "$BENCH_ALERT_RATE" --size "$BENCH_SIZE" \
        --redis "$REDIS_URL" "${MODE_ARGS[@]}" \
        --server-pid "$SERVER_PID" --cpu "$BENCH_CLIENT_CPU" "${READER_ARGS[@]+"${READER_ARGS[@]}"}" \
        --json "$OUT/$name.json" --label "$server" $BENCH_EXTRA || rc=$?
    alive "$SERVER_PID" && server_alive=true || server_alive=false
    stop "$SERVER_PID" "$server"
    SERVER_PID=
    [ ! -f "$TMP/nchan-$n/error.log" ] || mv "$TMP/nchan-$n/error.log" "$OUT/logs/$name.nginx-error.log"
    rm -rf "$TMP/nchan-$n" # nchan-deflate at this N starts afresh
    "$PYTHON" - "$OUT/$name.meta.json" "$server" "$n" "$WORKERS" "$rc" "$server_alive" <<'EOF'
import json, sys
path, server, n, workers, rc, alive = sys.argv[1:]
json.dump({"server": server, "clients": int(n), "workers": int(workers),
           "bench_exit": int(rc), "server_alive_after": alive == "true"},
          open(path, "w"), indent=1)
EOF
    case $rc in
        0) ;;
        1) say "$name: not every client got every alert exactly once (kept: see the JSON)" ;;
        124 | 137) say "$name: alert-bench timed out after ${BENCH_RUN_TIMEOUT}s" ;;
        *) say "$name: alert-bench exited $rc (see $OUT/logs/$name.bench.log)" ;;
    esac
    [ "$server_alive" = true ] || say "$name: the server had died by the end of the run: see $LOG"
done

# ---------------------------------------------------------------------------
# Mobile readers: heartbeat wake-ups per hour (bytes per alert: the runs)
# ---------------------------------------------------------------------------
if [ "$BENCH_MOBILE_WINDOW" -gt 0 ]; then
    say "mobile readers: idle connections for ${BENCH_MOBILE_WINDOW}s at the default and the maximum heartbeat"
    redis FLUSHALL >/dev/null
    rc=0
    timeout -k 10 $((BENCH_MOBILE_WINDOW + 180)) taskset -c "$BENCH_SERVER_CPU" \
        "$PYTHON" "$ROOT/scripts/bench-mobile.py" --build "$BUILD" --redis "$REDIS_URL" \
        --cert "$CRT" --key "$KEY" --window "$BENCH_MOBILE_WINDOW" \
        --json "$OUT/mobile.json" --md "$OUT/mobile.md" </dev/null >"$OUT/logs/mobile.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    wait "$pid" || rc=$?
    stop "$pid" bench-mobile
    [ "$rc" -eq 0 ] || say "mobile readers: bench-mobile.py exited $rc (see $OUT/logs/mobile.log)"
fi

# ---------------------------------------------------------------------------
# Push: one flash to N registrations through alertd-push (issue #14)
# ---------------------------------------------------------------------------
PUSH_JSON=()
for spec in "apns:$BENCH_PUSH_N" "webpush:$BENCH_PUSH_WEBPUSH_N"; do
    provider=${spec%%:*}
    n=${spec#*:}
    [ "$n" -gt 0 ] || continue
    name=push-$provider-$n
    if [ $((SECONDS - START)) -ge "$BENCH_DEADLINE" ]; then
        say "deadline (${BENCH_DEADLINE}s) passed: skipping $name"
        SKIPPED+=("$name")
        continue
    fi
    redis FLUSHALL >/dev/null
    args=(--build "$BUILD" --redis "$REDIS_URL" --cert "$CRT" --key "$KEY" --n "$n"
          --provider "$provider" --server-cpu "$BENCH_SERVER_CPU" --client-cpu "$BENCH_CLIENT_CPU"
          --timeout "$BENCH_PUSH_TIMEOUT" --json "$OUT/$name.json")
    if [ "$BENCH_PUSH_VERIFY" = 1 ] || { [ "$BENCH_PUSH_VERIFY" = auto ] && [ "$n" -le 200000 ]; }; then
        args+=(--verify)
    fi
    if [ "$BENCH_PUSH_PROFILE" = 1 ]; then
        if command -v perf >/dev/null; then
            args+=(--profile "$OUT/$name.profile.txt")
        else
            say "perf is missing: $name runs without a profile"
        fi
    fi
    say "push: one flash to $n $provider registrations, alertd-push on CPU $BENCH_SERVER_CPU, nghttpd on CPU $BENCH_CLIENT_CPU"
    rc=0
    # Loading the registry and stopping come on top of the run's own bound.
    timeout -k 10 $((BENCH_PUSH_TIMEOUT + 600)) "$PYTHON" "$ROOT/scripts/bench-push.py" "${args[@]}" \
        </dev/null >"$OUT/logs/$name.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    wait "$pid" || rc=$?
    stop "$pid" bench-push
    rm -f "$OUT/$name.profile.txt.data" # perf's samples: large, and the table is kept
    if [ -f "$OUT/$name.json" ]; then
        PUSH_JSON+=("$OUT/$name.json")
    fi
    [ "$rc" -eq 0 ] || say "$name: bench-push.py exited $rc (see $OUT/logs/$name.log)"
done
redis FLUSHALL >/dev/null

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
printf '%s\n' "${SKIPPED[@]+"${SKIPPED[@]}"}" >"$OUT/skipped.txt"
"$PYTHON" "$ROOT/scripts/bench-report.py" "$OUT"
if [ -f "$OUT/mobile.md" ]; then
    printf '\nIdle mobile readers: heartbeat wake-ups (scripts/bench-mobile.py):\n\n' >>"$OUT/table.md"
    cat "$OUT/mobile.md" >>"$OUT/table.md"
fi
if [ ${#PUSH_JSON[@]} -gt 0 ]; then
    printf '\nPush: one flash through alertd-push to nghttpd (scripts/bench-push.py):\n\n' >>"$OUT/table.md"
    "$PYTHON" "$ROOT/scripts/bench-push.py" --table "${PUSH_JSON[@]}" >>"$OUT/table.md"
    for j in "${PUSH_JSON[@]}"; do
        prof=${j%.json}.profile.txt
        [ -f "$prof" ] || continue
        {
            printf '\nWhere the gateway'"'"'s CPU went, %s (perf, %s):\n\n```\n' \
                "$(basename "${j%.json}")" "$(basename "$prof")"
            head -n 44 "$prof"
            printf '```\n'
        } >>"$OUT/table.md"
    done
fi
mkdir -p "$ROOT/bench/results"
sed 's|(chart\.svg)|(latest.svg)|' "$OUT/table.md" >"$ROOT/bench/results/latest.md"
[ ! -f "$OUT/chart.svg" ] || cp "$OUT/chart.svg" "$ROOT/bench/results/latest.svg"
say "done in $((SECONDS - START))s: $OUT/table.md, bench/results/latest.md"
cat "$OUT/table.md"
