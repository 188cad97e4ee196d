#!/usr/bin/env bash
# Starts nginx + nchan for alert-bench in the foreground (issue #5).
#
#   start.sh --port P --redis-port R --cert C --key K --dir D
#            [--pub-port Q] [--workers W] [--host ADDR] [--deflate]
#
# --deflate: nchan_deflate_message_for_websocket on: each message is also
# stored compressed, once, for readers that negotiate permessage-deflate.
# Readers:    wss://ADDR:P/sub/CHANNEL   (TLS 1.3, WebSocket)
# Publishers: POST http://127.0.0.1:Q/pub/CHANNEL with the message as body
#             (Q defaults to P+1). nchan with Redis storage cannot be fed by a
#             Redis PUBLISH: its Redis data are written by its own Lua scripts.
# D holds the rendered nginx.conf, nginx.pid, error.log and temp files.
# Prints "nchan pid PID" and execs nginx (daemon off), so PID is the nginx
# master: SIGTERM (or SIGINT) stops it and its workers; it removes D/nginx.pid.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port='' redis_port='' cert='' key='' dir='' pub_port='' workers=1 host=127.0.0.1 deflate=off

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port=$2; shift 2 ;;
        --redis-port) redis_port=$2; shift 2 ;;
        --cert) cert=$2; shift 2 ;;
        --key) key=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --pub-port) pub_port=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --host) host=$2; shift 2 ;;
        --deflate) deflate=on; shift ;;
        -h|--help) usage ;;
        *) echo "nchan/start.sh: unknown argument $1" >&2; usage ;;
    esac
done
for v in port redis_port cert key dir; do
    [ -n "${!v}" ] || { echo "nchan/start.sh: --${v/_/-} is required" >&2; usage; }
done
num='^[0-9]+$'
[[ $port =~ $num && $redis_port =~ $num && $workers =~ $num ]] || {
    echo "nchan/start.sh: --port, --redis-port and --workers take numbers" >&2; exit 2; }
[ -n "$pub_port" ] || pub_port=$((port + 1))
case "$host" in 127.*) ;; *) echo "nchan/start.sh: --host must be a loopback address" >&2; exit 2 ;; esac

if ! command -v nginx >/dev/null || [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
    echo "nchan/start.sh: nginx or libnginx-mod-nchan missing: run scripts/bench-deps.sh" >&2
    exit 3
fi
if [ ! -r "$cert" ] || [ ! -r "$key" ]; then echo "nchan/start.sh: cannot read $cert / $key" >&2; exit 2; fi

mkdir -p "$dir/tmp"
dir=$(cd "$dir" && pwd)
cert=$(cd "$(dirname "$cert")" && pwd)/$(basename "$cert")
key=$(cd "$(dirname "$key")" && pwd)/$(basename "$key")

# Only the characters a path may bring into sed's replacement need escaping.
esc() { printf '%s' "$1" | sed 's/[\\&|]/\\&/g'; }
sed -e "s|@DIR@|$(esc "$dir")|g" -e "s|@CERT@|$(esc "$cert")|g" -e "s|@KEY@|$(esc "$key")|g" \
    -e "s|@HOST@|$host|g" -e "s|@PORT@|$port|g" -e "s|@PUB_PORT@|$pub_port|g" \
    -e "s|@REDIS_PORT@|$redis_port|g" -e "s|@WORKERS@|$workers|g" -e "s|@DEFLATE@|$deflate|g" \
    "$here/nginx.conf.in" >"$dir/nginx.conf"

nginx -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"

echo "nchan pid $$ subscribe wss://$host:$port/sub/CHANNEL publish http://127.0.0.1:$pub_port/pub/CHANNEL workers $workers deflate $deflate"
exec nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
