#!/usr/bin/env bash
# Installs every build and test dependency from Debian packages, only when one
# is missing: quiet and quick when everything is already there.
set -euo pipefail

packages=(
    build-essential pkg-config
    libwebsockets-dev libwebsockets-evlib-uv libuv1-dev
    libhiredis-dev libjansson-dev libssl-dev zlib1g-dev openssl
    redis-server
    python3 python3-pytest python3-websockets python3-redis
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
