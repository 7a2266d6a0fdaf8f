#!/usr/bin/env bash
# Installs the moto S3 server (PyPI, every package pinned in scripts/moto-requirements.txt) into
# a venv, once, and prints the venv's path on stdout (progress goes to stderr). The remote-vault
# tests (tests/it/s3.rs) start `$venv/bin/moto_server` on 127.0.0.1 and talk to it through
# `$venv/bin/python tests/tools/s3ctl.py` (boto3); scripts/test.sh runs this before `cargo test`.
#   bash scripts/moto.sh            # -> /…/target/moto-venv-5.2.5
# The venv is $MAPVAULT_MOTO_VENV when set, else target/moto-venv-$MOTO. It is reinstalled when
# the requirements file changes (a copy is kept in the venv as the stamp). Concurrent callers
# (parallel tests that each find the venv missing) wait on one lock, so only one installs.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO=5.2.5
req="$PWD/scripts/moto-requirements.txt"
venv="${MAPVAULT_MOTO_VENV:-$PWD/target/moto-venv-$MOTO}"
stamp="$venv/mapvault-requirements.txt"

ready() { [ -x "$venv/bin/moto_server" ] && [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; }

if ! ready; then
  mkdir -p "$(dirname "$venv")"
  # flock (util-linux) serialises installers; the second one finds the venv ready and returns.
  exec 9>"$venv.lock"
  flock 9
  if ! ready; then
    echo "== moto: installing moto $MOTO (scripts/moto-requirements.txt) into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req" >&2
    # Written last: a venv without the stamp is a half-done install and is made again.
    cp "$req" "$stamp"
  fi
fi
echo "$venv"
