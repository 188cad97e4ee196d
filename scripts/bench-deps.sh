#!/usr/bin/env bash
# Installs what `make bench` and the peers' smoke test need on top of
# scripts/deps.sh: nginx + nchan, gnuplot, nghttpd (the push run's APNs and
# Web Push stand-in) and perf (its profile) from Debian, Node.js and npm if
# absent, and the Node peer's pinned npm modules (npm ci). Installs only what
# is missing: quiet and quick when everything is already there.
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(nginx libnginx-mod-nchan gnuplot-nox util-linux nghttp2-server linux-perf)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

"$scripts/apt-install.sh" bench-deps "${packages[@]}"

node_dir=$root/bench/peers/node
if [ ! -d "$node_dir/node_modules/ws" ] || [ ! -d "$node_dir/node_modules/redis" ] ||
   [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    echo "bench-deps: npm ci in bench/peers/node" >&2
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
