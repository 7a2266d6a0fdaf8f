#!/usr/bin/env bash
# The Windows port run here: mapvault cross-built for x86_64-pc-windows-gnu (mingw-w64; the same
# Rust code paths as the msvc build the release runner makes) and run under wine — the fixture
# round-trip scripts/test.sh runs with the host binary (../shared/tools/roundtrip.py: verify flags
# the raw dist, seal cleans it, maps land in the vault, unseal restores every byte; a leaky
# fixture makes seal exit 1), then, unless --no-unit, the library's unit tests under wine.
#   bash scripts/windows-test.sh [--no-unit]
# ../shared/tools/roundtrip.py (MAPVAULT_SHARED=DIR for another place of shared/).
# Needs gcc-mingw-w64-x86-64 (bash scripts/ci-deps.sh installs it) and wine64 (apt-get install
# wine64; not in CI: the cold cross build alone takes ~14 min) and the rustup target
# x86_64-pc-windows-gnu. Exit 0 when everything passed, 1 when a check failed,
# 2 when a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
unit=1
[ "${1:-}" = --no-unit ] && unit=0

t=x86_64-pc-windows-gnu
profile=ci-cross
missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
wine=""
for w in wine64 /usr/lib/wine/wine64 wine; do
  if command -v "$w" >/dev/null; then wine="$(command -v "$w")"; break; fi
done
[ -n "$wine" ] || missing+=(wine64)
if [ "${#missing[@]}" != 0 ]; then
  echo "windows-test: missing ${missing[*]} (bash scripts/ci-deps.sh)" >&2
  exit 2
fi
rustup target list --installed | grep -qx "$t" || rustup target add "$t"

# A wine prefix of our own, made once (wineboot: ~15 s), quiet.
export WINEPREFIX="${WINEPREFIX:-$PWD/target/wine-prefix}" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -d "$WINEPREFIX/drive_c/windows/system32" ]; then
  echo "== windows-test: a wine prefix in $WINEPREFIX"
  "$wine" wineboot --init >/dev/null 2>&1 || true
fi
# Rust's std asks bcryptprimitives.dll's ProcessPrng for random bytes; wine 8.0 (bookworm) has
# no such DLL, so the prefix gets a stand-in built from scripts/wine/ (test-only, never shipped).
shim="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$shim" ] || [ scripts/wine/bcryptprimitives.c -nt "$shim" ]; then
  x86_64-w64-mingw32-gcc -shared -O2 -o "$shim" scripts/wine/bcryptprimitives.c -ladvapi32
fi

fails=0
start=$SECONDS
echo "== windows-test: cargo build --profile $profile --target $t"
cargo build --locked --quiet --profile "$profile" --target "$t"
exe="$PWD/target/$t/$profile/mapvault.exe"
echo "   built in $((SECONDS - start)) s: $(file -b "$exe" 2>/dev/null || echo "$exe")"

# roundtrip.py runs BIN directly: this wrapper puts wine in front of the .exe. Unix absolute
# paths reach it as \tmp\… on wine's Z: drive (the whole file system), which is the current one.
# Now and then (2 runs in about 70 here) wine 8.0 kills a finished process with SIGKILL as it
# exits, after its output is complete: the wrapper runs such a command once more and logs it
# (counted at the end), so that wine's flake is not taken for mapvault's exit code.
tmp="$(mktemp -d "${TMPDIR:-/tmp}/mapvault-wintest.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
run_exe="$(printf '%q %q' "$wine" "$exe")"
# shellcheck disable=SC2016 # the $ are the wrapper's, written as they are
{
  echo '#!/bin/sh'
  echo "$run_exe \"\$@\""
  echo 'rc=$?'
  echo 'if [ "$rc" = 137 ]; then'
  echo '  echo "windows-test: wine killed mapvault $1 at exit (SIGKILL); running it again" >&2'
  echo "  echo \"\$1\" >>$(printf '%q' "$tmp/killed")"
  echo "  exec $run_exe \"\$@\""
  echo 'fi'
  echo 'exit "$rc"'
} >"$tmp/mapvault"
chmod +x "$tmp/mapvault"

check() { # DESC CMD...: run CMD, say ok or FAIL with its output
  local desc="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    echo "   ok: $desc"
  else
    echo "   FAIL: $desc"
    # shellcheck disable=SC2001 # one indent per line
    sed 's/^/     /' <<<"$out" | tail -20
    fails=$((fails + 1))
  fi
}

want="mapvault $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
# shellcheck disable=SC2016 # the inner shell expands them
check "--version says $want" sh -c '[ "$("$1" --version | tr -d "\r")" = "$2" ]' _ "$tmp/mapvault" "$want"

rt="${MAPVAULT_SHARED:-../shared}/tools/roundtrip.py"
if [ -f "$rt" ]; then
  start=$SECONDS
  for d in vite vite-compressed webpack-source-map webpack-hidden-source-map \
    webpack-inline-source-map rollup esbuild wasm; do
    check "round-trip: $d" python3 "$rt" "$tmp/mapvault" "fixtures/$d"
  done
  check "round-trip: esbuild, node runs the sealed bundle" \
    python3 "$rt" "$tmp/mapvault" fixtures/esbuild --run node-main.js
  check "round-trip: webpack-eval-source-map (seal refuses, exit 1)" \
    python3 "$rt" "$tmp/mapvault" fixtures/webpack-eval-source-map --expect-seal 1
  echo "   round-trips under wine: $((SECONDS - start)) s"
else
  echo "windows-test: $rt is missing (the shared tools beside the repository)" >&2
  exit 2
fi

if [ "$unit" = 1 ]; then
  start=$SECONDS
  echo "== windows-test: unit tests under wine"
  # Skipped: the SARIF schema tests find the schema through `cargo metadata`, a Linux program
  # a Windows process under wine cannot start (Invalid handle); on Windows they run as they are.
  check "cargo test --lib --target $t (under wine)" env CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$wine" \
    cargo test --locked --quiet --features failpoints --target "$t" --lib -- --skip report::sarif::schema
  echo "   unit tests: $((SECONDS - start)) s"
fi

if [ -f "$tmp/killed" ]; then
  echo "   wine killed $(wc -l <"$tmp/killed") finished run(s) at exit, each run again: $(sort "$tmp/killed" | uniq -c | tr -s ' \n' ' ')"
fi
if [ "$fails" != 0 ]; then
  echo "windows-test: $fails check(s) failed"
  exit 1
fi
echo "windows-test: ok"
