#!/usr/bin/env bash
# End-to-end benchmark: mapvault seal / verify vs sentry-cli vs find+sed vs reading every byte
# once, on a big dist generated from real bundler output. See benches/README.md.
#
#   bash benches/e2e/run.sh [--size 1g|200m|small] [--runs N] [--rev REV] [--seed N]
#                           [--jobs 1,2] [--keep-dup-maps] [--no-sentry] [--work DIR]
#                           [--prepare-only] [--history N]
#
# --history N: instead of the comparison, seal into a vault holding N earlier releases of the dist
# vs into an empty vault (issue 13; benches/vault/history1g.py), results in
# results-history<N>-<size>.md / .json.
#
# Everything it makes lives under --work (default /tmp/mapvault-bench, or $MAPVAULT_BENCH_DIR):
# the pinned tools, the real builds, the generated master dists (reused while their inputs are
# unchanged), the per-run copies and the results (results-<size>.md / .json).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SENTRY_VERSION=3.8.0

SIZE=1g
RUNS=5
REV=
SEED=42
JOBS=1,2
SENTRY=1
PREPARE_ONLY=0
DUPS=
HISTORY=
WORK=${MAPVAULT_BENCH_DIR:-/tmp/mapvault-bench}

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --rev) REV=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --no-sentry) SENTRY=0; shift ;;
    --prepare-only) PREPARE_ONLY=1; shift ;;
    --keep-dup-maps) DUPS=--keep-dup-maps; shift ;;
    --history) HISTORY=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done
if [ -n "$HISTORY" ]; then SENTRY=0; fi  # the history mode runs mapvault only
case "$SIZE" in 1g|200m|small) ;; *) echo "run.sh: --size must be 1g, 200m or small" >&2; exit 2 ;; esac
case "$WORK" in "$REPO"|"$REPO"/*) echo "run.sh: --work must be outside the repository" >&2; exit 2 ;; esac
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

# --- 1. mapvault, release build ------------------------------------------------------------
if [ -n "$REV" ]; then
  SHA=$(git -C "$REPO" rev-parse --verify "$REV^{commit}")
  SRC="$WORK/src-${SHA:0:12}"
  if [ ! -f "$SRC/Cargo.toml" ]; then
    log "exporting $REV ($SHA) to $SRC"
    mkdir -p "$SRC.tmp" && git -C "$REPO" archive "$SHA" | tar -x -C "$SRC.tmp" && mv "$SRC.tmp" "$SRC"
  fi
  MV_REV=${SHA:0:12}
else
  SRC=$REPO
  MV_REV=$(git -C "$REPO" rev-parse --short=12 HEAD)
  if [ -n "$(git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock)" ]; then
    MV_REV="$MV_REV+uncommitted"
  fi
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WORK/target}
log "building mapvault ($MV_REV) in $CARGO_TARGET_DIR"
cargo build --release --quiet --manifest-path "$SRC/Cargo.toml" --bin mapvault
MAPVAULT="$CARGO_TARGET_DIR/release/mapvault"

# --- 2. sentry-cli, pinned, from npm ------------------------------------------------------
SENTRY_BIN=
if [ "$SENTRY" = 1 ]; then
  TOOLS="$WORK/tools"
  SENTRY_BIN="$TOOLS/node_modules/.bin/sentry-cli"
  if [ "$("$SENTRY_BIN" --version 2>/dev/null || true)" != "sentry-cli $SENTRY_VERSION" ]; then
    log "installing @sentry/cli@$SENTRY_VERSION into $TOOLS"
    mkdir -p "$TOOLS"
    echo '{"private": true}' > "$TOOLS/package.json"
    (cd "$TOOLS" && npm install --no-audit --no-fund --loglevel=error --save-exact "@sentry/cli@$SENTRY_VERSION")
  fi
fi

# --- 3. seed: real bundler output ----------------------------------------------------------
# The committed fixtures, plus a larger real build (benches/e2e/realbuild: React, three.js, d3,
# lodash-es) made with the same pinned Vite and esbuild as fixtures/bundlers.
FIXTURES="vite webpack-source-map webpack-hidden-source-map webpack-inline-source-map webpack-eval-source-map rollup esbuild"
SEED_KEY=$(cd "$REPO" && find benches/e2e/realbuild $(printf 'fixtures/%s ' $FIXTURES) -type f -print0 \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
SEEDDIR="$WORK/seed-$SEED_KEY"
if [ ! -f "$SEEDDIR/.done" ]; then
  RB="$WORK/realbuild"
  log "building the seed output in $RB (npm ci, vite build, esbuild)"
  mkdir -p "$RB"
  rm -rf "$RB/src" "$RB/d3entries" "$SEEDDIR.tmp"
  cp -R "$HERE/realbuild/." "$RB/"
  if ! cmp -s "$RB/package-lock.json" "$RB/node_modules/.package-lock.json.copy" 2>/dev/null; then
    (cd "$RB" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$RB/package-lock.json" "$RB/node_modules/.package-lock.json.copy"
  fi
  mkdir -p "$SEEDDIR.tmp/fixtures"
  (cd "$RB" && OUT_DIR="$SEEDDIR.tmp/app" ./node_modules/.bin/vite build >/dev/null)
  (cd "$RB" && ./node_modules/.bin/esbuild $(ls node_modules/lodash-es/*.js | grep -v '/_' | sort) \
      --bundle --splitting --format=esm --minify --sourcemap --log-level=warning \
      --outdir="$SEEDDIR.tmp/lodash")
  mkdir -p "$RB/d3entries"
  for p in $(cd "$RB/node_modules" && ls -d d3-* | sort); do
    echo "export * from '$p';" > "$RB/d3entries/$p.js"
  done
  (cd "$RB" && ./node_modules/.bin/esbuild $(ls d3entries/*.js | sort) \
      --bundle --splitting --format=esm --minify --sourcemap --log-level=warning \
      --outdir="$SEEDDIR.tmp/fixtures/d3")
  for f in $FIXTURES; do cp -R "$REPO/fixtures/$f" "$SEEDDIR.tmp/fixtures/$f"; done
  touch "$SEEDDIR.tmp/.done"
  rm -rf "$SEEDDIR" && mv "$SEEDDIR.tmp" "$SEEDDIR"
fi

# --- 4. the master dist ---------------------------------------------------------------------
GEN_KEY=$( (echo "$SEED_KEY $SIZE $SEED $DUPS"; cat "$HERE/gendist.py") | sha256sum | cut -c1-12)
MASTER="$WORK/dist-$SIZE${DUPS:+-dups}-h$GEN_KEY"
if [ ! -f "$MASTER.json" ]; then
  rm -rf "$MASTER" "$WORK/dist-$SIZE${DUPS:+-dups}"-h*
  log "generating the $SIZE dist in $MASTER (seed $SEED)"
  python3 "$HERE/gendist.py" --seed-dir "$SEEDDIR" --out "$MASTER" --size "$SIZE" --seed "$SEED" $DUPS > "$MASTER.json.tmp"
  mv "$MASTER.json.tmp" "$MASTER.json"
fi
log "dist: $(cat "$MASTER.json")"
if [ "$PREPARE_ONLY" = 1 ]; then
  echo "MAPVAULT=$MAPVAULT"
  echo "MASTER=$MASTER"
  exit 0
fi
if [ -n "$HISTORY" ]; then
  log "seal into a vault of $HISTORY releases vs an empty vault, $RUNS alternating rounds"
  python3 "$REPO/benches/vault/history1g.py" --mapvault "$MAPVAULT" --master "$MASTER" \
    --run-dir "$WORK/run-history" --history "$HISTORY" --runs "$RUNS" \
    --label "$SIZE dist ($(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join(f"{k} {d[k]:,}" for k in ("files", "maps", "bytes")))' "$MASTER.json")), mapvault $MV_REV" \
    --json-out "$WORK/results-history$HISTORY-$SIZE.json" --md-out "$WORK/results-history$HISTORY-$SIZE.md"
  log "results in $WORK/results-history$HISTORY-$SIZE.md and .json"
  exit 0
fi

# --- 5. measure -----------------------------------------------------------------------------
VERSIONS=$(python3 - "$MV_REV" "$SENTRY_BIN" <<'EOF'
import json, subprocess, sys
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"
v = {"mapvault": sys.argv[1], "rustc": out("rustc", "--version").split(" ")[1]}
if sys.argv[2]:
    v["sentry-cli"] = out(sys.argv[2], "--version").replace("sentry-cli ", "")
v["coreutils"] = out("cat", "--version").splitlines()[0].split()[-1]
print(json.dumps(v))
EOF
)
GOAL=2
LABEL="1 GB dist (real Vite/webpack/Rollup/esbuild output)"
case "$SIZE" in
  200m) GOAL=3; LABEL="200 MB dist of many small files" ;;
  small) LABEL="50 MB smoke-test dist" ;;
esac
[ -n "$DUPS" ] && LABEL="$LABEL, with the real output's repeated maps kept"
log "running $RUNS alternating rounds"
python3 "$HERE/bench.py" --master "$MASTER" --run-dir "$WORK/run" --mapvault "$MAPVAULT" \
  --sentry "$SENTRY_BIN" --runs "$RUNS" --jobs "$JOBS" --seal-goal "$GOAL" --label "$LABEL" \
  --dist-stats "$(cat "$MASTER.json")" --versions "$VERSIONS" \
  --json-out "$WORK/results-$SIZE.json" --md-out "$WORK/results-$SIZE.md"
log "results in $WORK/results-$SIZE.md and .json"
