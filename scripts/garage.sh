#!/usr/bin/env bash
# Installs the Garage S3 server (crates.io, pinned; AGPL-3.0, a test tool we run, never ship)
# once, with `cargo install --locked`, and prints the path of its binary on stdout (progress goes
# to stderr). benches/s3/run.sh --server garage starts it as a single node on 127.0.0.1 with a
# temporary data directory:
#   bash scripts/garage.sh         # -> /…/target/garage/bin/garage
# The install root is $MAPVAULT_GARAGE_ROOT when set, else target/garage. Default features
# (lmdb + sqlite metadata, bundled libsodium/sqlite). The cold build is long (see
# benches/README.md); it runs at low priority (nice 19), one job.
set -euo pipefail
cd "$(dirname "$0")/.."

GARAGE=2.5.0
root="${MAPVAULT_GARAGE_ROOT:-$PWD/target/garage}"
bin="$root/bin/garage"

installed() { "$bin" --version 2>/dev/null | grep -q "^garage cargo:$GARAGE "; }

if ! installed; then
  mkdir -p "$root"
  exec 9>"$root.lock"
  flock 9
  if ! installed; then
    echo "== garage: installing garage $GARAGE into $root (cargo install, a long build)" >&2
    nice -n 19 cargo install --locked --quiet garage --version "$GARAGE" \
      --root "$root" -j 1 --force >&2
  fi
fi
echo "$bin"
