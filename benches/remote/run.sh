#!/usr/bin/env bash
# `mapvault verify URL` on loopback: 500 real-chunk scripts served by nginx, timed against curl
# fetching the same URLs. See benches/remote/bench.py.
#   bash benches/remote/run.sh [--assets N] [--runs N] [--work DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked --release --quiet
exec python3 benches/remote/bench.py "$PWD/target/release/mapvault" "$@"
