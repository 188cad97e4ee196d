#!/usr/bin/env bash
# Installs what `make bench` and the peers' smoke test need on top of
# scripts/deps.sh: nginx + nchan and gnuplot from Debian, Node.js and npm if
# absent, and the Node peer's pinned npm modules (npm ci). Installs only what
# is missing: quiet and quick when everything is already there.
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(nginx libnginx-mod-nchan gnuplot-nox util-linux)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

mapfile -t missing < <("$scripts/apt-missing.sh" "${packages[@]}")
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench-deps: installing ${missing[*]}" >&2
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    # nginx's package would start a system nginx on port 80 where an init
    # system runs; the bench starts its own, so keep the package's from starting.
    policy=/usr/sbin/policy-rc.d
    made_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod 0755 "$policy"
        made_policy=1
    fi
    rc=0
    { $sudo apt-get update -qq &&
      $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
    [ -z "$made_policy" ] || $sudo rm -f "$policy"
    [ $rc -eq 0 ] || exit $rc
fi

node_dir=$root/bench/peers/node
if [ ! -d "$node_dir/node_modules/ws" ] || [ ! -d "$node_dir/node_modules/redis" ] ||
   [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    echo "bench-deps: npm ci in bench/peers/node" >&2
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
