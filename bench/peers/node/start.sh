#!/usr/bin/env bash
# Starts the Node.js peer (server.js: https + ws + redis) in the foreground.
#
#   start.sh --port P --redis-port R --cert C --key K
#            [--channel CH] [--workers W] [--host ADDR]
#
# Readers:    wss://ADDR:P/ (any path; TLS, WebSocket)
# Publishers: PUBLISH CH MESSAGE on the Redis at 127.0.0.1:R (CH defaults to
#             alert:live, alertd's live channel, so `alert push` and
#             alert-bench's normal publishing feed it); each message is sent
#             to every client verbatim, one text frame.
# Prints "node pid PID" and execs node, so PID is the server (the cluster
# primary with --workers W > 1): SIGTERM stops it (and its workers).
# Installs the pinned npm modules (npm ci) when node_modules is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port='' redis_port='' cert='' key='' channel=alert:live workers=1 host=127.0.0.1

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port=$2; shift 2 ;;
        --redis-port) redis_port=$2; shift 2 ;;
        --cert) cert=$2; shift 2 ;;
        --key) key=$2; shift 2 ;;
        --channel) channel=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --host) host=$2; shift 2 ;;
        -h|--help) usage ;;
        *) echo "node/start.sh: unknown argument $1" >&2; usage ;;
    esac
done
for v in port redis_port cert key; do
    [ -n "${!v}" ] || { echo "node/start.sh: --${v/_/-} is required" >&2; usage; }
done
num='^[0-9]+$'
[[ $port =~ $num && $redis_port =~ $num && $workers =~ $num ]] || {
    echo "node/start.sh: --port, --redis-port and --workers take numbers" >&2; exit 2; }
case "$host" in 127.*) ;; *) echo "node/start.sh: --host must be a loopback address" >&2; exit 2 ;; esac
command -v node >/dev/null || { echo "node/start.sh: node missing: run scripts/bench-deps.sh" >&2; exit 3; }
if [ ! -r "$cert" ] || [ ! -r "$key" ]; then echo "node/start.sh: cannot read $cert / $key" >&2; exit 2; fi

if [ ! -d "$here/node_modules/ws" ] || [ ! -d "$here/node_modules/redis" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

echo "node pid $$ subscribe wss://$host:$port/ publish redis://127.0.0.1:$redis_port PUBLISH $channel workers $workers"
exec node "$here/server.js" --port "$port" --host "$host" --redis "redis://127.0.0.1:$redis_port" \
    --channel "$channel" --cert "$cert" --key "$key" --workers "$workers"
