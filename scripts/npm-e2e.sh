#!/usr/bin/env bash
# The npm packages end to end, as a user gets them (issue 17's "What it must show"):
#   0. the JS side's unit tests (npm/mapvault/test, node --test);
#   1. packs every package this machine builds (scripts/npm-pack.sh: this platform's binary, plus
#      linux arm64 unless MAPVAULT_E2E_ARM64=0) and runs the arm64 binary under qemu-user on
#      the fixture round-trip (../shared/tools/roundtrip.py);
#   2. in a temp dir, a fresh Vite app (with vite-plugin-compression2) and a fresh webpack 5 app
#      (with compression-webpack-plugin, and Rollup) install their bundlers from the registry at
#      pinned versions and mapvault from the packed tarballs;
#   3. with no cargo/rustc/rustup on PATH: each build seals its dist through the plugin, the vault
#      fills, `npx mapvault verify dist` exits 0, `npx mapvault --version` matches Cargo.toml,
#      the binary run is the one inside @mapvault/<platform>; webpack with
#      devtool 'eval-source-map' fails with mapvault's message; the JS API (ESM and CommonJS)
#      returns the report objects and rejects on exit 2; the types compile with tsc; a missing
#      platform package is named.
# Usage: bash scripts/npm-e2e.sh   (reuses target/release/mapvault when it is fresh)
#   MAPVAULT_E2E_ARM64=0 skips step 1's arm64 part; MAPVAULT_E2E_KEEP=1 keeps the temp dir.
# Cost: the arm64 build dominates (profile ci-cross, no fat LTO: 5.4 min from scratch on the
# shared 2-core VM, ~1 min when only mapvault changed); the qemu round-trips take ~15 s, each
# npm install ~15 s, the builds and checks ~30 s. It runs in every CI run: a 64-bit ARM build
# that compiles but misbehaves would otherwise only show in a release.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
version="$(sed -n '/^\[package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"

# Pinned versions of everything the test apps install from the registry.
VITE=8.3.8
VITE_COMPRESSION=2.5.3
WEBPACK=5.112.2
WEBPACK_CLI=6.0.1
WEBPACK_COMPRESSION=12.0.0
ROLLUP=4.68.8
TYPESCRIPT=7.0.2
TYPES_NODE=22.20.7

tmp="$(mktemp -d "${TMPDIR:-/tmp}/mapvault-npm-e2e.XXXXXX")"
if [ -n "${MAPVAULT_E2E_KEEP:-}" ]; then echo "npm-e2e: keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false \
  npm_config_loglevel=error
source scripts/lib/checks.sh

host="$(rustc -vV | sed -n 's/^host: //p')"
host_pkg="$(node -e '
  const p = require(process.argv[1]).find((p) => p.triple === process.argv[2]);
  if (!p) { console.error(`no platform package for ${process.argv[2]}`); process.exit(2); }
  console.log(p.package);
' "$repo/npm/mapvault/lib/platforms.json" "$host")"
tarball_of() { # @mapvault/linux-x64-gnu -> mapvault-linux-x64-gnu-VERSION.tgz
  local n="${1#@}"
  echo "${n//\//-}-$version.tgz"
}

echo "== npm-e2e: unit tests of the JS side (node --test, a fake binary)"
expect 0 "node --test npm/mapvault/test" node --test npm/mapvault/test/api.test.cjs
grep -E '^# (pass|fail) ' "$tmp/last.log" | sed 's/^/   /'

echo "== npm-e2e: pack ($host)"
packs="$tmp/packs"
bash scripts/npm-pack.sh "$packs"
for f in "mapvault-$version.tgz" "$(tarball_of "$host_pkg")"; do
  if [ -f "$packs/$f" ]; then ok "packed $f"; else bad "no $f in $(ls "$packs")"; fi
done

arm=aarch64-unknown-linux-gnu
if [ "${MAPVAULT_E2E_ARM64:-1}" != 0 ] && [ "$host" != "$arm" ]; then
  echo "== npm-e2e: $arm (cross-built, run under qemu-user)"
  if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
    need "qemu-aarch64 and aarch64-linux-gnu-gcc (bash scripts/ci-deps.sh)"
  else
    start=$SECONDS
    bash scripts/npm-pack.sh "$tmp/packs-arm64" --target "$arm" --profile ci-cross
    echo "   cross build + pack: $((SECONDS - start)) s"
    if [ -f "$tmp/packs-arm64/mapvault-linux-arm64-gnu-$version.tgz" ]; then ok "packed mapvault-linux-arm64-gnu"
    else bad "no arm64 package"; fi
    mkdir -p "$tmp/arm64" && tar -xzf "$tmp/packs-arm64/mapvault-linux-arm64-gnu-$version.tgz" -C "$tmp/arm64"
    # roundtrip.py runs BIN directly: this wrapper puts qemu in front of the packed binary.
    printf '#!/bin/sh\nexec qemu-aarch64 -L /usr/aarch64-linux-gnu %q "$@"\n' \
      "$tmp/arm64/package/bin/mapvault" >"$tmp/mapvault-arm64"
    chmod +x "$tmp/mapvault-arm64"
    expect 0 "the arm64 binary runs under qemu (--version)" "$tmp/mapvault-arm64" --version
    grep -qx "mapvault $version" "$tmp/last.log" || bad "arm64 --version said: $(cat "$tmp/last.log")"
    if [ -d ../shared/tools ]; then
      start=$SECONDS
      # The fixtures scripts/test.sh round-trips with the host binary.
      for d in vite vite-compressed webpack-source-map webpack-hidden-source-map \
        webpack-inline-source-map rollup esbuild wasm; do
        expect 0 "arm64 round-trip: $d" python3 ../shared/tools/roundtrip.py "$tmp/mapvault-arm64" "fixtures/$d"
      done
      expect 0 "arm64 round-trip: esbuild, node runs the sealed bundle" \
        python3 ../shared/tools/roundtrip.py "$tmp/mapvault-arm64" fixtures/esbuild --run node-main.js
      expect 0 "arm64 round-trip: webpack-eval-source-map (seal refuses, exit 1)" \
        python3 ../shared/tools/roundtrip.py "$tmp/mapvault-arm64" fixtures/webpack-eval-source-map --expect-seal 1
      echo "   round-trips under qemu: $((SECONDS - start)) s"
    else
      need "../shared/tools/roundtrip.py for the arm64 round-trip"
    fi
  fi
fi

# PATH without any Rust toolchain directory, so a build can only use the packaged binary.
clean_path=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  if [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || [ -e "$d/rustup" ]; then continue; fi
  clean_path="${clean_path:+$clean_path:}$d"
done
node_dir="$(dirname "$(command -v node)")"
if ! PATH="$clean_path" command -v node >/dev/null; then
  # node shares a directory with cargo: link just the node tools.
  mkdir -p "$tmp/node-bin"
  for t in node npm npx; do ln -s "$node_dir/$t" "$tmp/node-bin/$t"; done
  clean_path="$tmp/node-bin:$clean_path"
fi
# user: run a command in an app as a user without Rust would (no toolchain, no override).
user() {
  env -u MAPVAULT_BINARY -u CARGO -u CARGO_HOME -u RUSTUP_HOME -u RUSTUP_TOOLCHAIN PATH="$clean_path" "$@"
}
if user sh -c 'command -v cargo || command -v rustc || command -v rustup'; then
  bad "a Rust toolchain is still on the test PATH"
else
  ok "no cargo, rustc or rustup on the apps' PATH"
fi

# app NAME DEPS_JSON: a fresh project depending on DEPS plus the packed mapvault tarballs.
app() {
  local d="$tmp/$1"
  mkdir -p "$d"
  node -e '
    const [file, deps, packs, main, plat] = process.argv.slice(1);
    const pkg = { name: require("path").basename(require("path").dirname(file)), private: true,
      devDependencies: { ...JSON.parse(deps), mapvault: `file:${packs}/${main}` } };
    pkg.devDependencies[plat.split(" ")[0]] = `file:${packs}/${plat.split(" ")[1]}`;
    require("fs").writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
  ' "$d/package.json" "$2" "$packs" "mapvault-$version.tgz" "$host_pkg $(tarball_of "$host_pkg")"
  echo "$d"
}

# The source both apps bundle: an entry with a dynamic import, a module and a stylesheet.
write_src() {
  mkdir -p "$1/src"
  cat >"$1/src/main.js" <<'EOF'
import { greet } from './greet.js';
import './style.css';
document.querySelector('#app').textContent = greet('mapvault');
import('./lazy.js').then((m) => m.later());
EOF
  echo "export const greet = (name) => \`hello, \${name}\`;" >"$1/src/greet.js"
  echo "export function later() { console.log('later'); }" >"$1/src/lazy.js"
  printf '#app {\n  color: rebeccapurple;\n}\n' >"$1/src/style.css"
}

# sealed APP DIST: the checks every sealed build must pass.
sealed() {
  local a="$1" dist="$1/$2"
  if [ -z "$(find "$dist" -name '*.map' -print -quit)" ] && [ -n "$(find "$dist" -name '*.js' -print -quit)" ]; then
    ok "$2 has bundles and no .map file"
  else bad "$2: maps left or no bundles"; find "$dist" | sed 's/^/    | /'; fi
  local maps
  maps="$(find "$a/.mapvault/maps" -name '*.map' 2>/dev/null | wc -l)"
  if [ -n "$(ls "$a/.mapvault/seals" 2>/dev/null)" ] && [ "$maps" -gt 0 ]; then ok "the vault holds $maps maps and a seal record"
  else bad "the vault is empty"; fi
  expect 0 "npx mapvault verify $2" indir "$a" user npx --no-install mapvault verify "$2"
}

echo "== npm-e2e: Vite $VITE app (vite-plugin-compression2 $VITE_COMPRESSION)"
v="$(app vite-app "{\"vite\": \"$VITE\", \"vite-plugin-compression2\": \"$VITE_COMPRESSION\", \"typescript\": \"$TYPESCRIPT\", \"@types/node\": \"$TYPES_NODE\"}")"
write_src "$v"
cat >"$v/index.html" <<'EOF'
<!doctype html>
<html><head><title>app</title></head><body><div id="app"></div><script type="module" src="/src/main.js"></script></body></html>
EOF
cat >"$v/vite.config.js" <<'EOF'
import fs from 'node:fs';
import { defineConfig } from 'vite';
import { compression } from 'vite-plugin-compression2';
import mapvault from 'mapvault/vite';

// Writes a bundle and its map in closeBundle, as plugins that post-process the dist do:
// mapvault must still come after it (without its hook's order: 'post', late.js stays leaky).
const lateWriter = {
  name: 'late-writer',
  enforce: 'post',
  closeBundle() {
    fs.writeFileSync('dist/late.js', 'console.log("late");\n//# sourceMappingURL=late.js.map\n');
    fs.writeFileSync('dist/late.js.map', '{"version":3,"sources":["late.src.js"],"names":[],"mappings":"AAAA"}');
  },
};

// mapvault is listed first on purpose: it must still run after the other plugins.
export default defineConfig({
  build: { sourcemap: true },
  plugins: [mapvault({ vault: process.env.VAULT }), compression({ threshold: 0 }), lateWriter],
});
EOF
start=$SECONDS
expect 0 "npm install (vite app)" indir "$v" user npm install --no-audit --no-fund
echo "   npm install: $((SECONDS - start)) s"
expect 0 "vite build with mapvault/vite" indir "$v" user npx --no-install vite build
grep -q 'sealed: ' "$tmp/last.log" && ok "the build log shows mapvault's summary" ||
  bad "no mapvault summary in the vite build log"
sealed "$v" dist
if [ -n "$(find "$v/dist" -name '*.js.gz' -print -quit)" ] && [ -n "$(find "$v/dist" -name '*.js.br' -print -quit)" ]; then
  ok "compressed copies are there (and verify found no map in them)"
else bad "vite-plugin-compression2 wrote no .gz/.br"; fi
if [ -f "$v/dist/late.js" ] && ! grep -q sourceMappingURL "$v/dist/late.js"; then
  ok "a file another plugin wrote at closeBundle was sealed too (mapvault ran last)"
else bad "dist/late.js missing or still referencing its map"; fi
expect 1 "vite build fails when mapvault fails (a vault inside the dist: exit 2)" \
  indir "$v" user env VAULT=dist/vault npx --no-install vite build
if grep -q "mapvault: sealing .*dist failed (exit 2)" "$tmp/last.log" && grep -q "is inside the dist" "$tmp/last.log"; then
  ok "the Vite error is mapvault's message"
else bad "no mapvault message in the failed vite build"; fi
expect 0 "vite build again (clean)" indir "$v" user npx --no-install vite build
expect 0 "npx mapvault --version" indir "$v" user npx --no-install mapvault --version
if grep -qx "mapvault $version" "$tmp/last.log"; then ok "--version is $version, as in Cargo.toml"
else bad "--version said $(cat "$tmp/last.log"), Cargo.toml says $version"; fi
bin_used="$(cd "$v" && user node -e 'console.log(require("mapvault").binaryPath())')"
if [ "$bin_used" = "$v/node_modules/$host_pkg/bin/mapvault" ] && [ ! -L "$bin_used" ] &&
  cmp -s "$bin_used" target/release/mapvault; then
  ok "the binary run is node_modules/$host_pkg/bin/mapvault (a copy, not a link to target/)"
else bad "binary used: $bin_used"; fi

echo "== npm-e2e: the JS API (ESM and CommonJS) on the Vite app"
cp -R fixtures/vite "$v/raw"
cat >"$v/api.mjs" <<'EOF'
import assert from 'node:assert/strict';
import { seal, verify, unseal, MapvaultError } from 'mapvault';

const before = await verify('raw');
assert.equal(before.clean, false, 'exit 1 is a result: clean false');
assert.ok(before.leaks.some((l) => l.kind === 'source-map'), 'leaks listed');
const sealed = await seal('raw', { vault: 'api-vault' });
assert.equal(sealed.clean, true);
assert.ok(sealed.maps_moved > 0 && sealed.references_stripped > 0, 'seal counts');
assert.ok(sealed.actions.some((a) => a.action === 'move'), 'seal actions');
assert.equal((await verify(['raw', 'dist'])).clean, true, 'several paths');
const restored = await unseal('raw', { vault: 'api-vault' });
assert.ok(restored.files_restored > 0 && restored.errors.length === 0, 'unseal report');
await assert.rejects(verify('no-such-dir'), (e) => {
  assert.ok(e instanceof MapvaultError && e.exitCode === 2, `exit 2 rejects: ${e}`);
  assert.match(e.message, /no-such-dir: cannot read/);
  return true;
});
await assert.rejects(seal('raw', { vault: 'raw/vault' }), /inside the dist/);
console.log('api.mjs: ok');
EOF
cat >"$v/api.cjs" <<'EOF'
const assert = require('node:assert/strict');
const { verify, seal } = require('mapvault');
const vite = require('mapvault/vite');
const webpack = require('mapvault/webpack');
const rollup = require('mapvault/rollup');

(async () => {
  assert.equal((await verify('dist')).clean, true);
  assert.equal((await seal('raw', { dryRun: true, vault: 'dry-vault' })).dry_run, true);
  assert.equal(typeof vite, 'function');
  assert.equal(vite().name, 'mapvault');
  assert.equal(typeof webpack().apply, 'function');
  assert.equal(rollup().name, 'mapvault');
  assert.throws(() => vite({ failOn: 'sometimes' }), /failOn must be one of/);
  console.log('api.cjs: ok');
})().catch((e) => { console.error(e); process.exit(1); });
EOF
expect 0 "JS API from ESM: reports, exit 1 as result, exit 2 rejects" indir "$v" user node api.mjs
expect 0 "JS API and plugin entry points from CommonJS" indir "$v" user node api.cjs

cat >"$v/types.mts" <<'EOF'
import { defineConfig, type Plugin } from 'vite';
import mapvault from 'mapvault/vite';
import { seal, verify, MapvaultError, type SealReport } from 'mapvault';

// Typed as Vite's own Plugin: defineConfig's plugin list alone accepts looser shapes.
const plugin: Plugin = mapvault({ failOn: 'error', allow: ['public/**'], debugIds: 'sentry' });
export default defineConfig({ plugins: [plugin] });
const report: SealReport = await seal('dist', { vault: '.mapvault' });
const leaks: number = report.leaks.length + (await verify(['a', 'b'])).files_scanned;
const code: number | null = new Error() instanceof MapvaultError ? 2 : null;
// @ts-expect-error failOn takes 'leak' | 'error' | 'never'
mapvault({ failOn: 'sometimes' });
export { leaks, code };
EOF
cat >"$v/types.cts" <<'EOF'
import webpackPlugin = require('mapvault/webpack');
import rollupPlugin = require('mapvault/rollup');
import api = require('mapvault');
const plugins = [webpackPlugin({ vault: 'v' }), rollupPlugin()];
const pending: Promise<api.VerifyReport> = api.verify('dist');
export = { plugins, pending };
EOF
cat >"$v/tsconfig.json" <<'EOF'
{ "compilerOptions": { "module": "nodenext", "target": "es2022", "lib": ["esnext", "dom"],
  "strict": true, "noEmit": true, "skipLibCheck": false, "types": ["node"] },
  "files": ["types.mts", "types.cts"] }
EOF
expect 0 "the TypeScript types compile (tsc $TYPESCRIPT, nodenext, ESM and CJS)" indir "$v" user npx --no-install tsc -p .

echo "== npm-e2e: a missing platform package, and MAPVAULT_BINARY"
mv "$v/node_modules/$host_pkg" "$tmp/hidden-platform"
expect 2 "without $host_pkg the shim exits 2" indir "$v" user npx --no-install mapvault --version
if grep -q "package $host_pkg is not installed" "$tmp/last.log"; then ok "the message names $host_pkg"
else bad "the message does not name $host_pkg"; fi
expect 0 "MAPVAULT_BINARY overrides the package" indir "$v" \
  env PATH="$clean_path" MAPVAULT_BINARY="$tmp/hidden-platform/bin/mapvault" npx --no-install mapvault --version
mv "$tmp/hidden-platform" "$v/node_modules/$host_pkg"

echo "== npm-e2e: webpack $WEBPACK app (compression-webpack-plugin $WEBPACK_COMPRESSION) and Rollup $ROLLUP"
w="$(app webpack-app "{\"webpack\": \"$WEBPACK\", \"webpack-cli\": \"$WEBPACK_CLI\", \"compression-webpack-plugin\": \"$WEBPACK_COMPRESSION\", \"rollup\": \"$ROLLUP\"}")"
write_src "$w"
cat >"$w/webpack.config.js" <<'EOF'
const path = require('node:path');
const CompressionPlugin = require('compression-webpack-plugin');
const mapvault = require('mapvault/webpack');

module.exports = {
  mode: process.env.MODE || 'production',
  entry: './src/main.js',
  devtool: process.env.DEVTOOL || 'source-map',
  output: { path: path.resolve(__dirname, 'dist'), clean: true },
  module: { rules: [{ test: /\.css$/, type: 'asset/resource' }] },
  plugins: [mapvault(), new CompressionPlugin({ threshold: 0, minRatio: Infinity })],
};
EOF
cat >"$w/rollup.config.mjs" <<'EOF'
import mapvault from 'mapvault/rollup';

export default {
  input: 'src/greet.js',
  output: { dir: 'rollup-dist', format: 'es', sourcemap: true },
  plugins: [mapvault({ vault: 'rollup-vault' })],
};
EOF
start=$SECONDS
expect 0 "npm install (webpack app)" indir "$w" user npm install --no-audit --no-fund
echo "   npm install: $((SECONDS - start)) s"
expect 0 "webpack with mapvault/webpack (devtool source-map)" indir "$w" user npx --no-install webpack
sealed "$w" dist
if [ -n "$(find "$w/dist" -name '*.js.gz' -print -quit)" ]; then ok "compression-webpack-plugin's .gz copies are there"
else bad "no .gz copies in the webpack dist"; fi
expect 1 "webpack with devtool 'eval-source-map' fails the build" indir "$w" \
  user env DEVTOOL=eval-source-map MODE=development npx --no-install webpack
if grep -q "eval-map" "$tmp/last.log" && grep -q "set devtool to 'source-map'" "$tmp/last.log" &&
  grep -q "main.js" "$tmp/last.log"; then
  ok "the failure is mapvault's message, naming main.js"
else bad "no mapvault eval-map message in the webpack output"; fi
expect 0 "rollup -c with mapvault/rollup" indir "$w" user npx --no-install rollup -c
if [ -z "$(find "$w/rollup-dist" -name '*.map' -print -quit)" ] && [ -n "$(ls "$w/rollup-vault/seals" 2>/dev/null)" ]; then
  ok "rollup-dist sealed into rollup-vault"
else bad "rollup-dist not sealed"; fi

summary npm-e2e
