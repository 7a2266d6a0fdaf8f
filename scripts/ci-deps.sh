#!/usr/bin/env bash
# Debian packages the test suite needs beyond Rust, Node/npm and Python, installed only when
# missing (so a second run does nothing). `.ci/run` calls it before scripts/test.sh.
#   nginx    a real static host for `verify https://…` (tests/it/remote.rs starts its own, as
#            the user running the tests, on a free port with a temp prefix)
#   openssl  a self-signed certificate for the HTTPS test
# Uses sudo only when not root. Installing nginx must not start the distribution's own
# server on port 80: service starts are refused while apt runs (policy-rc.d, the Debian way
# for chroots and containers), unless a policy is already in place.
set -euo pipefail

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ "${#need[@]}" -eq 0 ]; then
  echo "ci-deps: nothing to install"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ci-deps: need root or sudo to install ${need[*]}" >&2; exit 2; }
  sudo="sudo"
fi

policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT

echo "ci-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "ci-deps: done"
