#!/usr/bin/env bash
# testtools.sh: make sure the tools the suite needs are installed, from
# Debian's packages: a C compiler and libc headers for the race detector
# (`go test -race` needs cgo, and Go turns cgo off where it finds no
# compiler: a machine with only Go fails with "-race requires cgo"),
# promtool (package prometheus) checks and unit-tests the alert rules, node
# checks the k6 scripts' syntax, curl runs the example `make run` prints,
# chromium runs the browser tests (the password form).
# Without them those tests skip or fail, so `make test` installs them rather
# than pass without running.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
command -v promtool >/dev/null || missing+=(prometheus)
command -v node >/dev/null || missing+=(nodejs)
command -v curl >/dev/null || missing+=(curl)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "testtools: installing ${missing[*]} from Debian's packages" >&2
as_root apt-get update -qq >&2
# The prometheus package ships a server too; policy-rc.d keeps its install
# from starting it (exit 101: "action not allowed"), and it is stopped in
# case an init system started it anyway.
policy=/usr/sbin/policy-rc.d
had_policy=0; [ -e $policy ] && had_policy=1
[ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' | as_root tee $policy >/dev/null; as_root chmod +x $policy; }
status=0
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || status=$?
[ $had_policy = 1 ] || as_root rm -f $policy
as_root pkill -x prometheus 2>/dev/null || true
exit $status
