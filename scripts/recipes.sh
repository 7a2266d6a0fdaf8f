#!/usr/bin/env bash
# Runs the README's build recipes (docs/recipes/*) for real, each in a fresh temp project with a
# copy of a real Vite build (fixtures/vite) and the just-built mapvault first on PATH:
#   1. Makefile: `make release` (build -> seal -> verify) passes; a dist seal cannot fix fails it;
#   2. package.json: `npm run build` triggers `postbuild` (seal); `prepublishOnly` packs with
#      `npm pack` and verifies the tarball: passes when sealed, fails on a leaky package;
#   3. github-actions.yml: parsed as YAML, its steps run in order as GitHub would: `run:` steps in
#      bash (the project's own build replaced by copying the fixture), the mapvault Action step
#      through action/run.sh with its `with:` inputs (which must all be declared in action.yml)
#      and this binary as MAPVAULT_BINARY; the SARIF file named by the Action's `sarif` output
#      must be JSON with version 2.1.0, the vault must be filled, and the upload step must run
#      `if: always()`;
#   4. verify-deploy.yml: parsed as YAML (a `deployment_status` job that runs only after a
#      successful deployment), its verify step run in bash with SITE_URL pointing at a local
#      static server (Python's http.server on 127.0.0.1, stopped afterwards) over the fixture:
#      fails on the unsealed build, passes once it is sealed;
#   5. github-actions-s3.yml and gitlab-ci.yml (remote vaults): parsed, their shape checked (OIDC
#      permission and credentials step, pinned actions, the seal into s3://, no stored keys);
#   6. the README's recipe code blocks must equal these files byte for byte.
# Usage: bash scripts/recipes.sh   (MAPVAULT_BIN=path/to/mapvault to test a given binary)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

if [ -z "${MAPVAULT_BIN:-}" ]; then
  cargo build --locked --release --quiet
  MAPVAULT_BIN="$repo/target/release/mapvault"
fi
[ -x "$MAPVAULT_BIN" ] || { echo "recipes: no mapvault binary at $MAPVAULT_BIN" >&2; exit 2; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/mapvault-recipes.XXXXXX")"
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -n "${RECIPES_KEEP:-}" ]; then echo "keeping $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
mkdir -p "$tmp/bin"
ln -s "$(cd "$(dirname "$MAPVAULT_BIN")" && pwd)/$(basename "$MAPVAULT_BIN")" "$tmp/bin/mapvault"
export PATH="$tmp/bin:$PATH"
export npm_config_cache="$tmp/npm-cache" npm_config_update_notifier=false npm_config_fund=false \
  npm_config_audit=false
fixture="$repo/fixtures/vite"
unfixable="$repo/fixtures/webpack-eval-source-map" # eval maps: seal exits 1, cannot strip them

source scripts/lib/checks.sh
# project NAME: a fresh project dir holding the recipe files; prints its path.
project() {
  local d="$tmp/$1"
  mkdir -p "$d"
  cp "$repo/docs/recipes/Makefile" "$repo/docs/recipes/package.json" "$d/"
  echo "$d"
}
# No pipes into `grep -q` here: with pipefail, grep quitting early SIGPIPEs the writer (exit 141),
# which made a real check flaky.
no_maps_in() { [ -z "$(find "$1" -name '*.map' -print -quit)" ]; }

echo "== recipes: Makefile (make release)"
p="$(project make)"
expect 0 "make release seals and verifies a Vite build" \
  make -C "$p" release BUILD="cp -R '$fixture' dist"
if no_maps_in "$p/dist" && [ -n "$(ls "$p/.mapvault/seals" 2>/dev/null)" ]; then ok "maps moved to .mapvault"
else bad "maps still in dist or no seal record in the vault"; fi
p="$(project make-unfixable)"
# make reports a failed recipe line as exit 2, whatever mapvault's own code was.
expect 2 "make release fails when seal leaves leaks" \
  make -C "$p" release BUILD="cp -R '$unfixable' dist"

echo "== recipes: package.json (npm run build -> postbuild, prepublishOnly)"
p="$(project npm)"
# The project's bundler is replaced by copying the fixture; postbuild stays as written.
node -e '
  const fs = require("fs"); const [file, from] = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.scripts.build = `cp -R "${from}" dist`;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$p/package.json" "$fixture"
expect 0 "npm run build runs postbuild (seal)" npm --prefix "$p" run build
if no_maps_in "$p/dist" && [ -n "$(ls "$p/.mapvault/seals" 2>/dev/null)" ]; then ok "postbuild sealed dist"
else bad "postbuild did not seal dist"; fi
expect 0 "prepublishOnly: npm pack + mapvault verify passes on the sealed dist" \
  npm --prefix "$p" run prepublishOnly
if listing="$(tar -tzf "$p/.pack/my-app-1.0.0.tgz" 2>&1)" &&
  grep -qx 'package/dist/index.html' <<<"$listing"; then
  ok "the tarball checked is the package (dist inside)"
else
  bad "npm pack did not produce .pack/my-app-1.0.0.tgz with dist/"
  { ls -la "$p/.pack" 2>&1 || true; } | sed 's/^/    | /'
  sed 's/^/    | /' <<<"${listing:-}"
fi
p="$(project npm-leaky)"
cp -R "$fixture" "$p/dist" # built without the postbuild seal
expect 1 "prepublishOnly fails on a leaky package" npm --prefix "$p" run prepublishOnly
if grep -q 'my-app-1.0.0.tgz!/package/dist/assets/.*\.js\.map' "$tmp/last.log"; then
  ok "the leak is reported inside the tarball"
else bad "no leak reported inside the tarball"; sed 's/^/    | /' "$tmp/last.log"; fi

echo "== recipes: github-actions.yml (steps run as GitHub would, the Action through action/run.sh)"
py=python3
if ! "$py" -c 'import yaml' 2>/dev/null; then
  "$py" -m venv "$tmp/venv" && "$tmp/venv/bin/pip" install --quiet 'PyYAML==6.0.2'
  py="$tmp/venv/bin/python"
fi
# Each step becomes steps/NN.sh (the project's build excepted): a `run:` step as written; the
# mapvault Action step as a call of action/run.sh with INPUT_* from action.yml's defaults and
# the step's `with:`, its outputs going to $GITHUB_OUTPUT. Checks that the upload step reads
# that step's `sarif` output.
"$py" - "$repo/docs/recipes/github-actions.yml" "$repo/action.yml" "$tmp/steps" <<'PY'
import os, re, shlex, sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
action = yaml.safe_load(open(sys.argv[2]))
out = sys.argv[3]
os.makedirs(out)
assert wf["permissions"]["security-events"] == "write", "upload-sarif needs security-events: write"
(job,) = wf["jobs"].values()
ids, uploads = [], []
for i, step in enumerate(job["steps"]):
    path = os.path.join(out, f"{i:02}.sh")
    uses = str(step.get("uses", ""))
    if "run" in step and step.get("name") != "Build":
        open(path, "w").write(step["run"])
    elif re.fullmatch(r"mapvault/mapvault@v\d+\.\d+\.\d+", uses):
        given = step.get("with", {})
        unknown = set(given) - set(action["inputs"])
        assert not unknown, f"inputs not declared in action.yml: {sorted(unknown)}"
        inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
        inputs.update({k: str(v) for k, v in given.items()})
        env = " ".join(f"INPUT_{k.upper().replace('-', '_')}={shlex.quote(v)}" for k, v in inputs.items())
        open(path, "w").write(f'{env} bash "$REPO/action/run.sh" run\n')
        ids.append(step["id"])
    if uses.startswith("github/codeql-action/upload-sarif@"):
        uploads.append(step)
assert len(ids) == 1, "one mapvault Action step, with an id"
assert len(uploads) == 1, "one upload-sarif step"
assert "always()" in uploads[0].get("if", ""), "the upload must run even when mapvault fails"
want = "${{ steps.%s.outputs.sarif }}" % ids[0]
assert uploads[0]["with"]["sarif_file"] == want, f"upload-sarif must read {want}"
PY
# run_workflow DIR: the kept steps in order, as GitHub runs them (bash -e, stop at the first
# failure); returns the exit code of the failing step. Outputs land in DIR/github-output.
run_workflow() {
  local dir="$1" code=0 s
  for s in "$tmp"/steps/*.sh; do
    (cd "$dir" && REPO="$repo" MAPVAULT_BINARY="$MAPVAULT_BIN" GITHUB_OUTPUT="$dir/github-output" \
      bash -e "$s") || { code=$?; break; }
  done
  return "$code"
}
step_output() { sed -n "s/^$2=//p" "$1/github-output" | tail -n 1; }
check_sarif() {
  "$py" - "$1" "$2" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
assert log["version"] == "2.1.0", log.get("version")
results = log["runs"][0]["results"]
want = int(sys.argv[2])
assert (len(results) > 0) == (want > 0), f"{len(results)} results, expected leaks: {want > 0}"
PY
}
p="$tmp/gha-clean" && mkdir -p "$p" && cp -R "$fixture" "$p/dist"
expect 0 "workflow: the Action seals a Vite build" run_workflow "$p"
sarif="$(step_output "$p" sarif)"
if [ -n "$sarif" ] && check_sarif "$sarif" 0; then ok "the sarif output names SARIF 2.1.0 with no results"
else bad "SARIF of the clean run ($sarif)"; fi
if no_maps_in "$p/dist" && [ "$(step_output "$p" vault)" = "$p/.mapvault" ] &&
  [ -n "$(ls "$p/.mapvault/seals" 2>/dev/null)" ] && [ "$(step_output "$p" clean)" = true ]; then
  ok "maps moved to the vault named by the vault output"
else bad "dist not sealed, or the vault output is wrong"; sed 's/^/    | /' "$p/github-output"; fi
if [ "$(step_output "$p" upload-vault)" = false ]; then ok "the vault of a public repository is not uploaded"
else bad "upload-vault for a public repository: $(step_output "$p" upload-vault)"; fi
p="$tmp/gha-leaky" && mkdir -p "$p" && cp -R "$unfixable" "$p/dist"
expect 1 "workflow: the Action fails the job when seal leaves leaks" run_workflow "$p"
sarif="$(step_output "$p" sarif)"
if [ -n "$sarif" ] && check_sarif "$sarif" 1; then ok "SARIF is written anyway, with the leaks"
else bad "SARIF of the leaky run ($sarif)"; fi

echo "== recipes: verify-deploy.yml (its verify step against a local server)"
"$py" - "$repo/docs/recipes/verify-deploy.yml" "$tmp/deploy-step.sh" <<'PY'
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as true
assert on == "deployment_status" or "deployment_status" in on, f"triggered by {on!r}"
(job,) = wf["jobs"].values()
assert "deployment_status.state == 'success'" in job.get("if", ""), "only after a successful deployment"
steps = [s for s in job["steps"] if "run" in s and s.get("name") != "Install mapvault"]
assert len(steps) == 1 and "mapvault verify" in steps[0]["run"], steps
assert "environment_url" in steps[0]["env"]["SITE_URL"], "the URL the deployment reports"
open(sys.argv[2], "w").write(steps[0]["run"])
PY
# serve DIR: a static server on a free loopback port (stopped on exit); sets $url.
serve() {
  local port
  port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$py" -m http.server "$port" --bind 127.0.0.1 --directory "$1" >/dev/null 2>&1 &
  servers+=("$!")
  "$py" - "$port" <<'PY'
import socket, sys, time
for _ in range(250):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.02)
sys.exit("the static server did not start")
PY
  url="http://127.0.0.1:$port/"
}
deploy_step() { (cd "$tmp" && SITE_URL="$1" NO_PROXY='*' bash -e "$tmp/deploy-step.sh"); }
p="$tmp/deploy-leaky" && cp -R "$fixture" "$p"
serve "$p"
expect 1 "the job fails when the deployed site serves maps" deploy_step "$url"
if grep -q 'source-map .*by content' "$tmp/last.log"; then ok "the served maps are named"
else bad "no served map reported"; sed 's/^/    | /' "$tmp/last.log"; fi
p="$tmp/deploy-sealed" && cp -R "$fixture" "$p"
mapvault seal "$p" --vault "$tmp/deploy-vault" --quiet
serve "$p"
expect 0 "the job passes once the deployed build is sealed" deploy_step "$url"

echo "== recipes: github-actions-s3.yml, gitlab-ci.yml (remote vault: their structure)"
# Their seal needs a cloud account, so only their shape is checked here (actionlint lints the
# GitHub one too); the remote vault itself is tested against a local S3 server by cargo test.
"$py" - "$repo/docs/recipes/github-actions-s3.yml" "$repo/docs/recipes/gitlab-ci.yml" <<'PY'
import re, sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
assert wf["permissions"]["id-token"] == "write", "OIDC needs id-token: write"
(job,) = wf["jobs"].values()
assert job["env"]["MAPVAULT_VAULT"].startswith("s3://"), job["env"]
steps = job["steps"]
uses = [str(s["uses"]) for s in steps if "uses" in s]
for u in uses:
    assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})", u), f"not pinned: {u}"
creds = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]
assert len(creds) == 1, "one configure-aws-credentials step"
assert {"role-to-assume", "aws-region"} <= set(steps[creds[0]]["with"]), "OIDC: a role, a region"
seal = [i for i, s in enumerate(steps) if 'mapvault seal dist --vault "$MAPVAULT_VAULT"' in s.get("run", "")]
assert len(seal) == 1 and seal[0] > creds[0], "seal into the bucket after the credentials step"
assert not any(k.startswith("AWS_SECRET") for k in job.get("env", {})), "no stored keys"
gl = yaml.safe_load(open(sys.argv[2]))
job = gl["build"]
assert job["variables"]["MAPVAULT_VAULT"].startswith("s3://"), job["variables"]
assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(job["variables"]), \
    "credentials belong in CI/CD variables, not in the file"
assert any('seal dist --vault "$MAPVAULT_VAULT"' in line and re.search(r"mapvault@\d+\.\d+\.\d+", line)
           for line in job["script"]), "a pinned mapvault seals into the bucket"
PY
ok "the remote-vault recipes have their OIDC/credential steps, pinned actions and the seal into s3://"

echo "== recipes: README code blocks equal docs/recipes/*"
# Each recipe appears in README.md as `<!-- recipe: docs/recipes/FILE -->` then a fenced block.
same=0
"$py" - "$repo/README.md" "$repo" <<'PY' || same=$?
import os, re, sys
readme = open(sys.argv[1]).read()
blocks = re.findall(r"<!-- recipe: (\S+) -->\n```[^\n]*\n(.*?)```\n", readme, re.S)
found = {path for path, _ in blocks}
want = {f"docs/recipes/{f}" for f in os.listdir(os.path.join(sys.argv[2], "docs/recipes"))}
ok = found == want
if not ok:
    print(f"README recipes {sorted(found)} != files {sorted(want)}", file=sys.stderr)
for path, body in blocks:
    if open(os.path.join(sys.argv[2], path)).read() != body:
        print(f"README block for {path} differs from the file", file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PY
if [ "$same" = 0 ]; then ok "README recipes are the tested files"; else bad "README recipes drifted"; fi

summary recipes
