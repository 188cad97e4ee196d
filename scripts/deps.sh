#!/usr/bin/env bash
# Installs every build and test dependency, only when one is missing: quiet
# and quick when everything is already there. Debian packages for the build,
# Redis, HAProxy, groff and man (the manual pages' test) and the Python
# tests (python3-yaml reads the Kubernetes manifests; python3-cryptography
# checks signed alerts independently; valgrind runs the signing paths;
# python3-h2, python3-cryptography and python3-jwt make the push
# providers' stand-ins); clang and its runtime libraries (libFuzzer, the
# sanitizers) for `make fuzz`; Debian's Chromium and playwright-core (npm)
# for the browser tests of the widget.
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
cd "$(dirname "$0")/.."

packages=(
    build-essential pkg-config clang libclang-rt-14-dev
    libwebsockets-dev libwebsockets-evlib-uv libuv1-dev
    libhiredis-dev libjansson-dev libssl-dev zlib1g-dev openssl libcurl4-openssl-dev
    redis-server haproxy
    groff-base man-db
    python3 python3-pytest python3-websockets python3-redis python3-yaml
    python3-cryptography python3-h2 python3-jwt valgrind
    chromium
)
# Node.js for the browser tests: Debian's, unless one is installed already.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

"$scripts/apt-install.sh" deps "${packages[@]}"

# playwright-core, pinned by tests/browser/package-lock.json; never a browser
# download (the tests drive Debian's /usr/bin/chromium).
browser=tests/browser
if [ ! -f "$browser/node_modules/.package-lock.json" ] ||
    [ "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]; then
    echo "deps: npm ci in $browser" >&2
    (cd "$browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
