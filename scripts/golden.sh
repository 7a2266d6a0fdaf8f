#!/usr/bin/env bash
# Golden outputs of one mapvault binary, for refactors that must not change behaviour:
#   bash scripts/golden.sh BIN OUTDIR
#   bash scripts/golden.sh target/release/mapvault /tmp/golden-new && diff -r /tmp/golden-old /tmp/golden-new
#
# Every fixture directory (fixtures/*, fixtures/tricky/dist with the links and outside map its
# test creates), the tc39 conformance corpus (../shared/conformance/tc39-source-map-tests/
# resources, when present) and a few generated dists (integrity/ngsw rehash, stale-hash lists,
# compressed copies with notes) are each copied to a fresh temp dir, then:
#   verify (json, human) · seal --dry-run (json, human) · seal (json) · the sealed tree's hashes,
#   the vault's objects and manifest · verify after (json, human) · unseal (json) · the restored
#   tree's hashes · and on a second copy seal --verbose / unseal in human form;
#   plus seal --debug-ids (and =sentry) on the bundler fixtures.
# Each run's stdout, stderr and exit code go to OUTDIR/<case>/<nn-what>.{out,err,code}, with
# elapsed times, timestamps, seal/unseal ids and the temp dir masked, so two binaries that
# behave the same produce identical trees.
set -euo pipefail
bin="$(realpath "$1")"
out="$2"
repo="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$out"
mkdir -p "$out"
work="$(mktemp -d "${TMPDIR:-/tmp}/mapvault-golden.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export NO_COLOR=1 LC_ALL=C

mask() {
  sed -E \
    -e "s#$work#<TMP>#g" \
    -e 's#"elapsed_ms":[0-9]+#"elapsed_ms":0#g' \
    -e 's#"sealed_at": ?"[^"]*"#"sealed_at":"<T>"#g' \
    -e 's#seal-[0-9]{8}T[0-9]{6}(\.[0-9]{3})?Z-[0-9a-f]{8}#seal-<ID>#g' \
    -e 's#"unsealed_at": ?"[^"]*"#"unsealed_at":"<T>"#g' \
    -e 's#unseal-[0-9a-f]{12}#unseal-<ID>#g' \
    -e 's#in [0-9]+\.[0-9]+s#in <T>s#g'
}
# Generated files get new mtimes on every run: mask them in the manifest.
mask_mtime() {
  sed -E -e 's#"(mtime|mtime_nsec)": [0-9]+#"\1": 0#g'
}

# run CASE NAME ARGS...: run the binary in the case dir, keep stdout, stderr, exit code.
run() {
  local case="$1" name="$2"
  shift 2
  local d="$out/$case"
  mkdir -p "$d"
  local code=0
  (cd "$work/$case" && "$bin" "$@" >"$d/$name.out.raw" 2>"$d/$name.err.raw") || code=$?
  mask <"$d/$name.out.raw" >"$d/$name.out"
  mask <"$d/$name.err.raw" >"$d/$name.err"
  rm -f "$d/$name.out.raw" "$d/$name.err.raw"
  echo "$code" >"$d/$name.code"
}

# tree CASE NAME DIR: every entry under DIR with its type, mode and content hash.
tree() {
  local case="$1" name="$2" dir="$3"
  (cd "$work/$case" && find "$dir" -mindepth 1 -printf '%y %m %P -> %l\n' | sort &&
    find "$dir" -type f -printf '%P\0' | sort -z | (cd "$dir" && xargs -0 -r sha256sum)) \
    | mask >"$out/$case/$name.tree"
}

# manifest CASE NAME: the vault's objects and seal records (ids and times masked).
manifest() {
  local case="$1" name="$2" v="$work/$case/vault"
  {
    if [ -d "$v" ]; then (cd "$v" && find . -mindepth 1 -not -path './tmp*' -not -name lock -printf '%y %m %P\n' | sort); fi
    if [ -f "$v/manifest.json" ]; then python3 -m json.tool --sort-keys "$v/manifest.json"; fi
    if [ -d "$v/seals" ]; then for r in "$v"/seals/*.json; do python3 -m json.tool --sort-keys "$r"; done; fi
  } | mask | mask_mtime >"$out/$case/$name.vault"
}

# golden CASE: the full sequence on $work/CASE/dist (prepared by the caller), twice.
golden() {
  local case="$1"
  shift
  local extra=("$@")
  cp -a "$work/$case/dist" "$work/$case/pristine"
  run "$case" 01-verify-json verify dist --format json
  run "$case" 02-verify-human verify dist
  run "$case" 03-dry-json seal dist --vault vault --dry-run --format json "${extra[@]}"
  run "$case" 04-dry-human seal dist --vault vault --dry-run "${extra[@]}"
  run "$case" 05-seal-json seal dist --vault vault --format json "${extra[@]}"
  tree "$case" 06-sealed dist
  manifest "$case" 07-vault
  run "$case" 08-verify-after-json verify dist --format json
  run "$case" 09-verify-after-human verify dist
  run "$case" 10-unseal-json unseal dist --vault vault --format json
  tree "$case" 11-unsealed dist
  manifest "$case" 12-vault-after
  # The human forms, on a fresh copy with a fresh vault.
  rm -rf "$work/$case/dist" "$work/$case/vault"
  cp -a "$work/$case/pristine" "$work/$case/dist"
  run "$case" 13-seal-human seal dist --vault vault --verbose "${extra[@]}"
  run "$case" 14-seal-again-human seal dist --vault vault "${extra[@]}"
  run "$case" 15-unseal-human unseal dist --vault vault
  run "$case" 16-unseal-again-human unseal dist --vault vault
  tree "$case" 17-restored dist
}

prepare_copy() { # CASE SRC
  mkdir -p "$work/$1"
  cp -a "$2" "$work/$1/dist"
}

for f in "$repo"/fixtures/*/; do
  name="$(basename "$f")"
  [ "$name" = tricky ] && continue
  prepare_copy "$name" "$f"
  golden "$name"
done

# The hand-made tricky dist, with what its test creates beside it.
prepare_copy tricky "$repo/fixtures/tricky/dist"
printf '%s' '{"version":3,"sources":["outside.ts"],"names":[],"mappings":"AAAA"}' >"$work/tricky/outside.map"
mkdir -p "$work/tricky/secret"
printf '%s' '{"version":3,"sources":["secret.ts"],"names":[],"mappings":"AAAA"}' >"$work/tricky/secret/real.js.map"
ln -s ../secret/real.js.map "$work/tricky/dist/linked.js.map"
ln -s ../secret "$work/tricky/dist/linked-dir"
golden tricky

# Archives given to verify directly.
mkdir -p "$work/npm-pack-files"
cp -a "$repo"/fixtures/npm-pack/*.tgz "$work/npm-pack-files/"
for t in "$work"/npm-pack-files/*.tgz; do
  b="$(basename "$t")"
  run npm-pack-files "verify-$b-json" verify "$b" --format json
  run npm-pack-files "verify-$b-human" verify "$b"
  run npm-pack-files "verify-$b-sarif" verify "$b" --format sarif
done

conf="$repo/../shared/conformance/tc39-source-map-tests/resources"
if [ -d "$conf" ]; then
  prepare_copy tc39 "$conf"
  golden tc39
  run tc39 20-verify-sarif verify pristine --format sarif
fi

# Debug IDs on every bundler output.
for name in vite vite-compressed esbuild rollup webpack-source-map webpack-hidden-source-map webpack-inline-source-map wasm; do
  [ -d "$repo/fixtures/$name" ] || continue
  prepare_copy "debugids-$name" "$repo/fixtures/$name"
  golden "debugids-$name" --debug-ids
  prepare_copy "sentry-$name" "$repo/fixtures/$name"
  golden "sentry-$name" --debug-ids=sentry
done

# Generated dists: integrity/ngsw rehash, stale hashes, notes inside compressed copies, --allow.
python3 - "$work" <<'PY'
import base64, gzip, hashlib, json, os, sys
work = sys.argv[1]

def write(case, rel, data):
    p = os.path.join(work, case, "dist", rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)

def sri(alg, b):
    return alg + "-" + base64.b64encode(hashlib.new(alg, b).digest()).decode()

MAP = '{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}'
js = b"console.log(1);\n//# sourceMappingURL=app.js.map\n"
css = b"a{}\n/*# sourceMappingURL=app.css.map */\n"
plain = b"console.log(2);\n"
c = "rehash"
write(c, "assets/app.js", js)
write(c, "assets/app.css", css)
write(c, "assets/plain.js", plain)
write(c, "assets/app.js.map", MAP)
write(c, "assets/app.css.map", MAP.replace("a.ts", "a.css"))
write(c, "index.html",
      '<!doctype html>\n<script type="module" src="/assets/app.js" integrity="%s"></script>\n'
      '<link rel=stylesheet href="assets/app.css" integrity="%s %s">\n'
      '<script src="assets/plain.js" integrity="%s"></script>\n'
      '<script src="assets/app.js" integrity="%s"></script>\n'
      % (sri("sha384", js), sri("sha256", css), sri("sha512", css), sri("sha384", plain),
         sri("sha256", b"wrong")))
write(c, "ngsw.json", json.dumps({"configVersion": 1, "hashTable": {
    "/assets/app.js": hashlib.sha1(js).hexdigest(),
    "/assets/app.css": "0" * 40,
    "/assets/plain.js": hashlib.sha1(plain).hexdigest()}}, indent=2) + "\n")

c = "stale"
write(c, "assets/app.js", js)
write(c, "assets/plain.js", plain)
write(c, "assets/app.js.map", MAP)
md5 = lambda b: hashlib.md5(b).hexdigest()
write(c, "sw.js", 'importScripts("workbox-sw.js");\nworkbox.precaching.precacheAndRoute([\n'
      '{"revision":"%s","url":"assets/app.js"},\n{"revision":"%s","url":"assets/plain.js"}\n]);\n'
      % (md5(js), md5(plain)))
write(c, "asset-manifest.json", '{\n  "files": {\n    "app.js": { "sha256": "%s" }\n  }\n}\n'
      % hashlib.sha256(js).hexdigest())
write(c, "precache-many.json", json.dumps(
    [{"url": "assets/app.js", "n": i, "md5": md5(js)} for i in range(25)], indent=1) + "\n")

# Notes in files seal also edits, and inside compressed copies (wasm DWARF sections, parser
# fallbacks), so seal's notes can be compared with verify's.
c = "notes"
wasm = bytearray(b"\0asm\1\0\0\0")
def section(name, payload):
    body = bytes([len(name)]) + name + payload
    return bytes([0, len(body)]) + body
wasm += section(b".debug_info", b"\1\2\3")
wasm += section(b"sourceMappingURL", bytes([len(b"m.wasm.map")]) + b"m.wasm.map")
wasm += b"\0\x7f"  # a section cut short: a second note
write(c, "m.wasm", bytes(wasm))
write(c, "m.wasm.gz", gzip.compress(bytes(wasm), mtime=0))
write(c, "m.wasm.map", MAP)
bad = b'var s = "sourceMappingURL"; let x = ;\n//# sourceMappingURL=bad.js.map\n'
write(c, "bad.js", bad)
write(c, "bad.js.map", MAP.replace("a.ts", "bad.ts"))
write(c, "bad.js.gz", gzip.compress(bad, mtime=0))
write(c, "ok.js", b"ok();\n//# sourceMappingURL=ok.js.map\n")
write(c, "ok.js.gz", gzip.compress(b"ok();\n//# sourceMappingURL=ok.js.map\n", mtime=0))
write(c, "ok.js.map", MAP.replace("a.ts", "ok.ts"))
write(c, "stale.js.gz", gzip.compress(b"older();\n//# sourceMappingURL=ok.js.map\n", mtime=0))
write(c, "stale.js", b"newer();\n")

c = "allow"
write(c, "public/v.js", b"v();\n//# sourceMappingURL=v.js.map\n")
write(c, "public/v.js.map", MAP)
write(c, "app.js", b"a();\n//# sourceMappingURL=public/v.js.map\n")
write(c, "b.js", b"b();\n//# sourceMappingURL=app.js\n")
PY
golden rehash
golden stale
golden notes
golden allow --allow 'public/**'

echo "golden outputs of $bin in $out"
