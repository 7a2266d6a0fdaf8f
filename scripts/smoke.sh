#!/usr/bin/env bash
# A built mapvault binary against a real Vite build (fixtures/vite), with no other tool than
# bash, cp and diff, so it runs on every release runner (Linux, macOS, Windows Git Bash):
# verify flags the raw dist (exit 1), seal cleans it (0), verify passes (0), unseal restores
# every byte (diff -r), verify flags it again (1).
#   bash scripts/smoke.sh path/to/mapvault[.exe]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$1"
work="$(mktemp -d "${TMPDIR:-/tmp}/mapvault-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -R fixtures/vite "$work/dist"

step() { # CODE CMD...: run CMD, require exit CODE
  local want="$1" code=0
  shift
  "$@" || code=$?
  if [ "$code" != "$want" ]; then echo "smoke: \`$*\` exited $code, expected $want" >&2; exit 1; fi
}
"$bin" --version
step 1 "$bin" verify "$work/dist" --quiet
step 0 "$bin" seal "$work/dist" --vault "$work/vault"
step 0 "$bin" verify "$work/dist"
step 0 "$bin" unseal "$work/dist" --vault "$work/vault"
diff -r fixtures/vite "$work/dist"
step 1 "$bin" verify "$work/dist" --quiet
echo "smoke: ok"
