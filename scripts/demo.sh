#!/usr/bin/env bash
# The main job on a bundled fixture, without touching the repository: builds mapvault, seals a
# copy of a real Vite build (fixtures/vite) into a fresh temp dir with its own vault, verifies
# it, shows the vault, then unseals and checks every byte came back.
#   bash scripts/demo.sh [FIXTURE]     (default: vite; any directory under fixtures/)
set -euo pipefail
cd "$(dirname "$0")/.."
fixture="fixtures/${1:-vite}"
[ -d "$fixture" ] || { echo "no such fixture: $fixture" >&2; exit 2; }

cargo build --release --quiet
bin="$PWD/target/release/mapvault"
work="$(mktemp -d "${TMPDIR:-/tmp}/mapvault-demo.XXXXXX")"
echo "== working in $work (the repository is not modified)"

echo; echo "== mapvault verify $fixture   (the raw build leaks; exit 1 expected)"
"$bin" verify "$fixture" || true

echo; echo "== mapvault seal $fixture --out $work/dist --vault $work/vault -v"
"$bin" seal "$fixture" --out "$work/dist" --vault "$work/vault" -v

echo; echo "== mapvault verify $work/dist   (exit 0)"
"$bin" verify "$work/dist"

echo; echo "== the vault"
(cd "$work/vault" && find . -type f | sort)

echo; echo "== mapvault unseal, then compare with the original fixture"
"$bin" unseal "$work/dist" --vault "$work/vault"
diff -r "$fixture" "$work/dist" && echo "unseal restored every byte"
echo; echo "done; remove $work when you have looked around"
