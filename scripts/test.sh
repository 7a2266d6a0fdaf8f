#!/usr/bin/env bash
# The whole test suite, from a fresh machine (Rust toolchain, Node/npm and Python present):
#   bash scripts/test.sh
# 1. installs the pinned npm tools some tests compare against (tests/tools, never global), and
#    the pinned moto S3 server the remote-vault tests run against (scripts/moto.sh, a venv) and
#    the pinned Azurite Azure Blob server (scripts/azurite.sh, npm ci under target/),
# 2. runs cargo fmt/clippy checks, the module-cycle check (scripts/modcycles.py) and `cargo test`
#    (unit, integration, property, conformance),
# 3. runs the outside contract checks from ../shared/tools on every fixture when ../shared is
#    present (CI always has it): roundtrip.py, and a bounded killtest.py;
# 4. runs the README recipes (scripts/recipes.sh), the npm packages end to end in fresh Vite,
#    webpack and Rollup apps plus the arm64 binary under qemu (scripts/npm-e2e.sh), and
#    actionlint on the Action and workflows (scripts/actionlint.sh).
# 0. first installs the Debian packages some steps need (scripts/ci-deps.sh: only what is
#    missing, with sudo when not root), so this one command is the whole set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# The release binary the checks below run (recipes, roundtrip/killtest, the npm packages) is
# built without fat LTO: the same program, and on a cold 2-core clone the mapvault crate builds
# in ~1 min instead of ~3.5. Published binaries (.github/workflows/release.yml, npm-pack.sh)
# and benches/ keep Cargo.toml's release profile. Set either variable to override.
export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-false}"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-16}"

echo "== Debian packages (scripts/ci-deps.sh)"
bash scripts/ci-deps.sh

if [ -f tests/tools/package.json ]; then
  echo "== npm tools (pinned in tests/tools/package-lock.json)"
  (cd tests/tools && npm ci --no-audit --no-fund --loglevel=error)
fi

# The remote-vault tests start moto (an S3 server) from this venv; with CI set they fail rather
# than skip without it. Once per machine: ~15-30 s and 140 MB under target/; a no-op after.
echo "== moto S3 server for the remote-vault tests (scripts/moto.sh)"
bash scripts/moto.sh

# The Azure remote-vault tests start Azurite from target/ (npm ci of scripts/azurite/); with CI
# set they fail rather than skip without it. Once per machine: ~30-50 s and ~360 MB; a no-op after.
echo "== Azurite Azure Blob server for the remote-vault tests (scripts/azurite.sh)"
bash scripts/azurite.sh

echo "== cargo fmt --check, clippy"
cargo fmt --all -- --check
cargo clippy --locked --all-targets --features failpoints --quiet -- -D warnings

echo "== the Windows port compiles: clippy --target x86_64-pc-windows-gnu (scripts/windows-test.sh runs it under wine)"
rustup target list --installed | grep -qx x86_64-pc-windows-gnu || rustup target add x86_64-pc-windows-gnu
cargo clippy --locked --all-targets --features failpoints --quiet --target x86_64-pc-windows-gnu -- -D warnings

echo "== module graph: no import cycle (scripts/modcycles.py; its self-test plants one)"
python3 scripts/modcycles.py --self-test
python3 scripts/modcycles.py

echo "== cargo test"
cargo test --locked --features failpoints

echo "== reflink copies out of the vault on XFS (scripts/reflink-test.sh)"
bash scripts/reflink-test.sh

shared="../shared"
if [ -d "$shared/tools" ]; then
  echo "== outside checks: ../shared/tools/roundtrip.py on every fixture"
  cargo build --locked --release --quiet
  bin="$PWD/target/release/mapvault"
  for d in vite vite-compressed webpack-source-map webpack-hidden-source-map webpack-inline-source-map rollup esbuild wasm; do
    [ -d "fixtures/$d" ] || continue
    python3 "$shared/tools/roundtrip.py" "$bin" "fixtures/$d"
  done
  python3 "$shared/tools/roundtrip.py" "$bin" fixtures/esbuild --run node-main.js
  python3 "$shared/tools/roundtrip.py" "$bin" fixtures/rollup --run node-main.cjs
  python3 "$shared/tools/roundtrip.py" "$bin" fixtures/webpack-eval-source-map --expect-seal 1
  python3 "$shared/tools/roundtrip.py" "$bin" "$shared/conformance/tc39-source-map-tests/resources"

  echo "== outside checks: bounded killtest (SIGKILL seal/unseal at random moments)"
  big="$(mktemp -d "${TMPDIR:-/tmp}/mapvault-kill.XXXXXX")"
  trap 'rm -rf "$big"' EXIT
  for i in $(seq 1 25); do
    for d in vite-compressed webpack-source-map webpack-inline-source-map rollup esbuild wasm; do
      mkdir -p "$big/c$i" && cp -r "fixtures/$d" "$big/c$i/$d"
    done
  done
  python3 "$shared/tools/killtest.py" "$bin" "$big" "${KILL_TRIALS:-12}"
else
  echo "== ../shared not found: outside checks (roundtrip.py, killtest.py) skipped"
fi
bash scripts/recipes.sh
bash scripts/npm-e2e.sh
bash scripts/actionlint.sh
echo "== all tests passed"
