#!/usr/bin/env bash
# The steps of the mapvault GitHub Action (../action.yml), kept in a script so they can be
# linted and tested outside GitHub (scripts/recipes.sh runs `run` the way the recipe uses it).
# Inputs arrive as INPUT_* environment variables, never pasted into the script text.
#   run.sh install   installs the prebuilt binary from npm (mapvault@VERSION: the npm package
#                    picks the platform package), puts it on PATH for later steps and in the
#                    `bin` output; with MAPVAULT_BINARY set, uses that binary instead.
#   run.sh run       seals or verifies, writes the SARIF report of what still leaks, sets the
#                    outputs, and exits as `fail-on` says.
set -euo pipefail

action_dir="$(cd "$(dirname "$0")/.." && pwd)"
out="${GITHUB_OUTPUT:-/dev/null}"
output() { echo "$1=$2" >>"$out"; }
# A workflow-command annotation on GitHub; plain text elsewhere.
annotate() { echo "::$1::$2"; }

# The non-blank lines of a multi-line input, trimmed, one per line. (No namerefs or mapfile:
# macOS's /bin/bash is 3.2.)
lines() {
  local l
  while IFS= read -r l; do
    l="${l#"${l%%[![:space:]]*}"}"
    l="${l%"${l##*[![:space:]]}"}"
    if [ -n "$l" ]; then printf '%s\n' "$l"; fi
  done <<<"$1"
}

install() {
  if [ -n "${MAPVAULT_BINARY:-}" ]; then
    [ -x "$MAPVAULT_BINARY" ] || { annotate error "MAPVAULT_BINARY=$MAPVAULT_BINARY is not an executable"; exit 2; }
    bin="$MAPVAULT_BINARY"
  else
    local version="${INPUT_VERSION:-}"
    if [ -z "$version" ]; then
      # The Action's own version: the one at the ref the workflow pinned (uses: …@vX.Y.Z).
      version="$(node -p 'require(process.argv[1]).version' "$action_dir/npm/mapvault/package.json")"
    fi
    local prefix="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mapvault-action"
    mkdir -p "$prefix"
    echo "Installing mapvault@$version from npm"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "mapvault@$version"
    bin="$(node -p 'require(process.argv[1]).binaryPath()' "$prefix/node_modules/mapvault")"
  fi
  "$bin" --version
  output bin "$bin"
  if [ -n "${GITHUB_PATH:-}" ]; then dirname "$bin" >>"$GITHUB_PATH"; fi
}

run() {
  local bin="${MAPVAULT_ACTION_BIN:-${MAPVAULT_BINARY:-mapvault}}"
  local command="${INPUT_COMMAND:-seal}" fail_on="${INPUT_FAIL_ON:-leak}" sarif="${INPUT_SARIF:-}"
  local paths=() args=() code=0 l
  while IFS= read -r l; do paths+=("$l"); done < <(lines "${INPUT_PATH:-dist}")
  # `args` may stay empty: expanded as ${args[@]+"${args[@]}"}, which bash 3.2 accepts under
  # set -u.
  while IFS= read -r l; do args+=(--allow "$l"); done < <(lines "${INPUT_ALLOW:-}")
  case "$fail_on" in leak | error | never) ;; *) annotate error "fail-on must be leak, error or never, not '$fail_on'"; exit 2 ;; esac
  [ "${#paths[@]}" -gt 0 ] || { annotate error "path is empty"; exit 2; }

  case "$command" in
    seal)
      [ "${#paths[@]}" = 1 ] || { annotate error "seal takes one path, got ${#paths[@]}"; exit 2; }
      local vault="${INPUT_VAULT:-.mapvault}"
      local seal_args=(seal "${paths[0]}" --vault "$vault" ${args[@]+"${args[@]}"})
      case "${INPUT_DEBUG_IDS:-}" in
        '' | false) ;;
        true | comment) seal_args+=(--debug-ids) ;;
        sentry) seal_args+=(--debug-ids=sentry) ;;
        *) annotate error "debug-ids must be empty, comment or sentry, not '$INPUT_DEBUG_IDS'"; exit 2 ;;
      esac
      "$bin" "${seal_args[@]}" || code=$?
      if [ -d "$vault" ]; then
        vault="$(cd "$vault" && pwd)"
        output vault "$vault"
        # The vault holds the original sources: an artifact of a public repository is public.
        case "${INPUT_UPLOAD_VAULT:-auto}" in
          true) output upload-vault true ;;
          false) output upload-vault false ;;
          auto)
            if [ "${REPOSITORY_PRIVATE:-false}" = true ]; then output upload-vault true
            else
              output upload-vault false
              echo "The vault is at $vault and was not uploaded: artifacts of a public repository are public (upload-vault: true uploads it anyway)."
            fi
            ;;
          *) annotate error "upload-vault must be auto, true or false"; exit 2 ;;
        esac
      fi
      ;;
    verify)
      "$bin" verify "${paths[@]}" ${args[@]+"${args[@]}"} || code=$?
      ;;
    *) annotate error "command must be seal or verify, not '$command'"; exit 2 ;;
  esac

  if [ -n "$sarif" ]; then
    # What still leaks after seal (or what verify found), for code scanning. Its exit code is
    # the same verdict; the one above decides.
    "$bin" verify "${paths[@]}" ${args[@]+"${args[@]}"} --format sarif --quiet >"$sarif" || true
    output sarif "$(cd "$(dirname "$sarif")" && pwd)/$(basename "$sarif")"
  fi
  output exit-code "$code"
  output clean "$([ "$code" = 0 ] && echo true || echo false)"

  case "$code" in
    0) return 0 ;;
    1) annotate error "mapvault $command: source maps still leak (see the report above)"
       [ "$fail_on" = leak ] && exit 1 ;;
    *) annotate error "mapvault $command failed (exit $code; see the messages above)"
       [ "$fail_on" != never ] && exit "$code" ;;
  esac
  return 0
}

case "${1:-}" in
  install) install ;;
  run) run ;;
  *) echo "usage: run.sh install|run" >&2; exit 2 ;;
esac
