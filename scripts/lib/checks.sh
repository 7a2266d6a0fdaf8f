# shellcheck shell=bash
# Check helpers shared by the end-to-end scripts (scripts/recipes.sh, scripts/npm-e2e.sh), to be
# sourced after `tmp` names the script's temp dir. Each check prints one line and counts; the
# script ends with `summary NAME`, whose closing line is `NAME: N passed, N failed`.
pass=0
fail=0
ok() { echo "  ok: $1"; pass=$((pass + 1)); }
bad() { echo "  FAILED: $1"; fail=$((fail + 1)); }
# need WHAT: a tool a check needs is missing. A failure in CI (CI set); locally, a skip with the
# reason.
need() {
  if [ -n "${CI:-}" ]; then bad "missing: $1"; else echo "  skipped (missing: $1)"; fi
}
# expect CODE DESCRIPTION CMD...: run CMD, compare its exit code, show its output on failure.
# The output stays in $tmp/last.log for further checks.
expect() {
  local want="$1" what="$2"; shift 2
  # shellcheck disable=SC2154 # tmp is set by the script that sources this file
  local log="$tmp/last.log" code=0
  "$@" >"$log" 2>&1 || code=$?
  if [ "$code" = "$want" ]; then ok "$what (exit $code)"; else
    bad "$what: exit $code, expected $want"; sed 's/^/    | /' "$log"
  fi
}
# indir DIR CMD...: run CMD in DIR (a subshell, so the caller's directory stays).
indir() { (cd "$1" && shift && "$@"); }
summary() {
  echo "$1: $pass passed, $fail failed"
  [ "$fail" = 0 ]
}
