#!/usr/bin/env bash
# apt-missing.sh PACKAGE... — prints, one per line, the Debian packages
# named that are not installed (deps.sh and bench-deps.sh install those).
for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || echo "$p"
done
