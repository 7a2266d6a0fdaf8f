#!/usr/bin/env bash
# Installs the Azurite Azure Storage emulator (npm `azurite`, pinned with every dependency in
# scripts/azurite/package-lock.json) into a directory under target/, once, with `npm ci`, and
# prints the path of its `azurite-blob` on stdout (progress goes to stderr). The Azure
# remote-vault tests (tests/it/azurite.rs) start it on 127.0.0.1; scripts/test.sh runs this
# before `cargo test`.
#   bash scripts/azurite.sh          # -> /…/target/azurite-3.37.0/node_modules/.bin/azurite-blob
# The directory is $MAPVAULT_AZURITE_DIR when set, else target/azurite-$AZURITE. It is
# reinstalled when the lock file changes (a copy is kept there as the stamp, written last, so a
# half-done install is made again). Concurrent callers wait on one lock; only one installs.
set -euo pipefail
cd "$(dirname "$0")/.."

AZURITE=3.37.0
src="$PWD/scripts/azurite"
dir="${MAPVAULT_AZURITE_DIR:-$PWD/target/azurite-$AZURITE}"
bin="$dir/node_modules/.bin/azurite-blob"
stamp="$dir/mapvault-package-lock.json"

ready() { [ -x "$bin" ] && cmp -s "$src/package-lock.json" "$stamp"; }

if ! ready; then
  mkdir -p "$(dirname "$dir")"
  # flock (util-linux) serialises installers; the second one finds the install ready.
  exec 9>"$dir.lock"
  flock 9
  if ! ready; then
    echo "== azurite: installing azurite $AZURITE (scripts/azurite/package-lock.json) into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$src/package.json" "$src/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$src/package-lock.json" "$stamp"
  fi
fi
echo "$bin"
