#!/usr/bin/env bash
# Debian packages CI needs beyond Rust, Node/npm and Python (.ci/run calls this before
# scripts/test.sh). Idempotent: installs only what is missing, with sudo only when not root.
# Add your own group below with a comment saying which script needs it.
#   bash scripts/ci-deps.sh
set -euo pipefail

packages=(
  # scripts/npm-pack.sh / npm-e2e.sh: `file` checks each binary's architecture; the linux arm64
  # package is cross-built (gcc-aarch64-linux-gnu: linker and C compiler for zstd-sys, with
  # its libc) and its binary runs the fixture round-trip under qemu-user.
  file gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
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
[ "$(id -u)" = 0 ] || sudo=(sudo)
echo "ci-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
