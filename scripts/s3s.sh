#!/usr/bin/env bash
# Installs the s3s-fs S3 server (crates.io, pinned) once, with `cargo install --locked`, and
# prints the path of its binary on stdout (progress goes to stderr). benches/s3/run.sh
# --server s3s starts it on 127.0.0.1 with a temporary root directory:
#   bash scripts/s3s.sh            # -> /…/target/s3s-fs/bin/s3s-fs
# The install root is $MAPVAULT_S3S_ROOT when set, else target/s3s-fs. 0.14.1 is the newest
# s3s-fs whose rust-version (1.92) the pinned toolchain meets (0.15–0.17 ask for 1.96). The
# build takes minutes; it runs at low priority (nice 19), one job.
set -euo pipefail
cd "$(dirname "$0")/.."

S3S=0.14.1
root="${MAPVAULT_S3S_ROOT:-$PWD/target/s3s-fs}"
bin="$root/bin/s3s-fs"

if [ "$("$bin" --version 2>/dev/null || true)" != "s3s-fs $S3S" ]; then
  mkdir -p "$root"
  exec 9>"$root.lock"
  flock 9
  if [ "$("$bin" --version 2>/dev/null || true)" != "s3s-fs $S3S" ]; then
    echo "== s3s-fs: installing s3s-fs $S3S into $root (cargo install, a few minutes)" >&2
    nice -n 19 cargo install --locked --quiet s3s-fs --version "$S3S" --features binary \
      --root "$root" -j 1 --force >&2
  fi
fi
echo "$bin"
