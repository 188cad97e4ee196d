#!/usr/bin/env bash
# apt-install.sh WHO PACKAGE... — installs, quietly, those of the Debian
# packages named that are missing (none missing: does nothing). WHO names
# the caller in its one progress line. Packages that come with a service
# (nginx, haproxy) would start a system copy where an init system runs; the
# tests and the bench start their own, so policy-rc.d keeps those from
# starting during the install.
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
who=$1
shift

mapfile -t missing < <("$scripts/apt-missing.sh" "$@")
[ ${#missing[@]} -gt 0 ] || exit 0
echo "$who: installing ${missing[*]}" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
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
exit $rc
