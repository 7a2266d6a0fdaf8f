#!/usr/bin/env bash
# Installs the Azurite Azure Storage emulator (npm package `azurite`, pinned below) into a
# directory under target/, once, and prints the path of its `azurite-blob` on stdout (progress
# goes to stderr). The Azure remote-vault tests (tests/it/azurite.rs) start it on 127.0.0.1;
# scripts/test.sh runs this before `cargo test`.
#   bash scripts/azurite.sh          # -> /…/target/azurite-3.37.0/node_modules/.bin/azurite-blob
# The directory is $MAPVAULT_AZURITE_DIR when set, else target/azurite-$AZURITE. A stamp file
# (the pinned version) is written last, so a half-done install is made again. Concurrent callers
# wait on one lock, so only one installs.
set -euo pipefail
cd "$(dirname "$0")/.."

AZURITE=3.37.0
dir="${MAPVAULT_AZURITE_DIR:-$PWD/target/azurite-$AZURITE}"
bin="$dir/node_modules/.bin/azurite-blob"
stamp="$dir/mapvault-azurite-version"

ready() { [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$AZURITE" ]; }

if ! ready; then
  mkdir -p "$(dirname "$dir")"
  exec 9>"$dir.lock"
  flock 9
  if ! ready; then
    echo "== azurite: installing azurite@$AZURITE (npm) into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    printf '{"name":"mapvault-azurite","private":true}\n' >"$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --save-exact \
      "azurite@$AZURITE" >&2)
    echo "$AZURITE" >"$stamp"
  fi
fi
echo "$bin"
