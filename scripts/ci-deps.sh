#!/usr/bin/env bash
# Debian packages the test suite needs beyond Rust, Node/npm and Python. scripts/test.sh calls
# this first (so does .ci/run). Idempotent: installs only what is missing, with sudo only when
# not root. Add your own group below with a comment saying which script needs it.
#   bash scripts/ci-deps.sh
set -euo pipefail

packages=(
  # scripts/npm-pack.sh / npm-e2e.sh: `file` checks each binary's architecture; the linux arm64
  # package is cross-built (gcc-aarch64-linux-gnu: linker and C compiler for zstd-sys, with
  # its libc) and its binary runs the fixture round-trip under qemu-user.
  file gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  # tests/it/remote.rs: nginx is a real static host for `verify https://…` (the tests start their
  # own, as the user running them, on a free port with a temp prefix); openssl makes the
  # self-signed certificate of the HTTPS test.
  nginx openssl
  # tests/it/seal.rs: setpriv (essential on Debian, listed for slimmer images) runs
  # `seal --out` as an unprivileged user when the tests run as root.
  util-linux
  # scripts/test.sh: clippy for x86_64-pc-windows-gnu (the Windows port must keep compiling);
  # zstd-sys and ring build C for that target with mingw-w64's compiler. scripts/windows-test.sh
  # also needs wine64, which CI does not install (see docs/platforms.md).
  gcc-mingw-w64-x86-64
  # scripts/reflink-test.sh: an XFS image (reflink=1) on a loop device, for the reflink path
  # of copies out of the vault (skipped where loop devices cannot be mounted).
  xfsprogs
)

missing=()
for p in "${packages[@]}"; do
  # `dpkg-query` prints "install ok installed" only for a package that is fully installed.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" = 0 ]; then
  echo "ci-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ci-deps: need root or sudo to install ${missing[*]}" >&2; exit 2; }
  sudo=(sudo)
fi

# Installing nginx must not start the distribution's own server on port 80: service starts are
# refused while apt runs (policy-rc.d, the Debian way for chroots and containers), unless a
# policy is already in place.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

echo "ci-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "ci-deps: done"
