#!/usr/bin/env bash
# Seal into a remote vault vs into a local one: the benchmark dist (benches/e2e, real bundler
# output) sealed with `--vault s3://bench/round-N` into an S3 server on 127.0.0.1 (moto,
# s3s-fs, the default, or Garage) and with a local `--vault DIR`, alternating, N rounds, one
# run: the ratio of median wall times, CPU time and peak RSS (/usr/bin/time -v). Issue 16's
# goals: within 2x, at most 200 MB. See benches/s3/bench.py.
#
#   bash benches/s3/run.sh [--server moto|s3s|garage] [--garage-fsync] [--size 1g|200m|small]
#                          [--runs N] [--work DIR] [--vault-option KEY=VALUE]…
# (--vault-option goes to the s3 seal, e.g. aws_unsigned_payload=true; each seal runs with
# MAPVAULT_PHASES=1 and the report has the median of each phase. --garage-fsync: Garage with
# metadata_fsync and data_fsync on, both off by default.)
#
# The release build and the master dist come from benches/e2e/run.sh --prepare-only (same --work,
# default /tmp/mapvault-bench, so both benchmarks share them); moto (and boto3, for the checks)
# from scripts/moto.sh, s3s-fs from scripts/s3s.sh, Garage from scripts/garage.sh. Results:
# WORK/results-s3[-s3s|-garage|-garage-fsync]-<size>.md and .json. Not run by CI.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SIZE=1g
RUNS=3
SERVER=s3s
VOPTS=()
GFSYNC=()
WORK=${MAPVAULT_BENCH_DIR:-/tmp/mapvault-bench}

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --server) SERVER=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --vault-option) VOPTS+=(--vault-option "$2"); shift 2 ;;
    --garage-fsync) GFSYNC=(--garage-fsync); shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done
case "$SERVER" in moto|s3s|garage) ;; *) echo "run.sh: --server must be moto, s3s or garage" >&2; exit 2 ;; esac
[ -x /usr/bin/time ] || { echo "run.sh: needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }

prep=$(bash "$REPO/benches/e2e/run.sh" --prepare-only --no-sentry --size "$SIZE" --work "$WORK")
MAPVAULT=$(sed -n 's/^MAPVAULT=//p' <<<"$prep")
MASTER=$(sed -n 's/^MASTER=//p' <<<"$prep")
VENV=$(bash "$REPO/scripts/moto.sh")
S3S=()
OUT=results-s3-$SIZE
if [ "$SERVER" = s3s ]; then
  S3S=(--s3s "$(bash "$REPO/scripts/s3s.sh")")
  OUT=results-s3-s3s-$SIZE
elif [ "$SERVER" = garage ]; then
  S3S=(--garage "$(bash "$REPO/scripts/garage.sh")" "${GFSYNC[@]}")
  OUT=results-s3-garage${GFSYNC:+-fsync}-$SIZE
fi
WORK=$(cd "$WORK" && pwd)

label="$SIZE dist ($(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join(f"{k} {v}" for k, v in d.items() if k in ("files", "maps", "bytes")))' "$MASTER.json" 2>/dev/null || echo "$MASTER")), mapvault $(git -C "$REPO" rev-parse --short=12 HEAD)"
# cwd = the run dir (bench.py): a build that took `s3://…` for a path would write there.
exec python3 "$HERE/bench.py" --mapvault "$MAPVAULT" --master "$MASTER" --venv "$VENV" \
  --server "$SERVER" "${S3S[@]}" "${VOPTS[@]}" --run-dir "$WORK/run-s3" --runs "$RUNS" --label "$label" \
  --json-out "$WORK/$OUT.json" --md-out "$WORK/$OUT.md"
