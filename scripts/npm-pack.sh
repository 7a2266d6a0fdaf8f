#!/usr/bin/env bash
# Builds mapvault for one or more platforms and packs the npm packages:
#   bash scripts/npm-pack.sh OUTDIR                      this machine's binary (cargo build --release)
#   bash scripts/npm-pack.sh OUTDIR --target TRIPLE...   these targets (cross-built when needed)
#   bash scripts/npm-pack.sh OUTDIR --all                every target this machine can build; says
#                                                        which ones only the release workflow builds
# Options: --profile NAME (cargo profile for targets other than this machine's, default release;
#          CI uses ci-cross for the arm64 build it runs under qemu),
#          --assets (also write mapvault-VERSION-TRIPLE.tar.gz, or .zip on Windows, for a release).
# OUTDIR gets mapvault-VERSION.tgz (the shim, JS API and plugins from npm/mapvault) and one
# tarball per platform package (@mapvault/linux-x64-gnu -> mapvault-linux-x64-gnu-VERSION.tgz).
# The platform table is npm/mapvault/lib/platforms.json: the shim reads it at run time, the
# release workflow (.github/workflows/release.yml) builds its matrix from it, and this script
# checks that npm/mapvault/package.json's version and optionalDependencies agree with it and with
# Cargo.toml. Each binary is checked with `file` for its architecture before it is packed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

usage() { sed -n '2,14p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
out="$1"; shift
targets=()
all=0
profile=release
assets=0
while [ $# -gt 0 ]; do
  case "$1" in
    --target) [ $# -ge 2 ] || usage; targets+=("$2"); shift 2 ;;
    --all) all=1; shift ;;
    --profile) [ $# -ge 2 ] || usage; profile="$2"; shift 2 ;;
    --assets) assets=1; shift ;;
    *) usage ;;
  esac
done

host="$(rustc -vV | sed -n 's/^host: //p')"
version="$(sed -n '/^\[package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
[ -n "$version" ] || { echo "npm-pack: no version in Cargo.toml" >&2; exit 2; }
platforms_json="$repo/npm/mapvault/lib/platforms.json"

# The platform table as lines of `triple package os cpu libc` (libc `-` when none).
table="$(node -e '
  for (const p of require(process.argv[1])) console.log([p.triple, p.package, p.os, p.cpu, p.libc || "-", p.runner].join(" "));
' "$platforms_json")"

# npm/mapvault/package.json must name this version and exactly the table's packages.
node -e '
  const [pkgFile, tableFile, version] = process.argv.slice(1);
  const pkg = require(pkgFile);
  const want = Object.fromEntries(require(tableFile).map((p) => [p.package, version]));
  const problems = [];
  if (pkg.version !== version) problems.push(`version is ${pkg.version}, Cargo.toml says ${version}`);
  if (JSON.stringify(pkg.optionalDependencies) !== JSON.stringify(want)) {
    problems.push(`optionalDependencies must be ${JSON.stringify(want)}`);
  }
  if (problems.length) {
    console.error(`npm-pack: npm/mapvault/package.json is out of date: ${problems.join("; ")}`);
    process.exit(2);
  }
' "$repo/npm/mapvault/package.json" "$platforms_json" "$version"

row() { awk -v t="$1" '$1 == t' <<<"$table"; }

if [ "$all" = 1 ]; then
  while read -r t _; do targets+=("$t"); done <<<"$table"
elif [ "${#targets[@]}" = 0 ]; then
  targets=("$host")
fi

# cross_env TRIPLE: prints the environment a cross build needs (linker, C compiler for the
# crates with C code: zstd-sys), or fails with what is missing.
cross_env() {
  local t="$1" upper
  upper="$(tr 'a-z-' 'A-Z_' <<<"$t")"
  case "$t" in
    "$host") return 0 ;;
    aarch64-unknown-linux-gnu)
      command -v aarch64-linux-gnu-gcc >/dev/null || { echo "needs aarch64-linux-gnu-gcc (apt-get install gcc-aarch64-linux-gnu)"; return 1; }
      echo "CARGO_TARGET_${upper}_LINKER=aarch64-linux-gnu-gcc CC_${t//-/_}=aarch64-linux-gnu-gcc AR_${t//-/_}=aarch64-linux-gnu-ar" ;;
    x86_64-unknown-linux-musl)
      [ "$(uname -m)" = x86_64 ] || { echo "is built on an x86_64 Linux runner"; return 1; }
      command -v musl-gcc >/dev/null || { echo "needs musl-gcc (apt-get install musl-tools)"; return 1; }
      echo "CC_${t//-/_}=musl-gcc" ;;
    aarch64-unknown-linux-musl)
      [ "$(uname -m)" = aarch64 ] || { echo "has no cross C compiler in Debian; it is built on an arm64 Linux runner"; return 1; }
      command -v musl-gcc >/dev/null || { echo "needs musl-gcc (apt-get install musl-tools)"; return 1; }
      echo "CC_${t//-/_}=musl-gcc" ;;
    *-apple-darwin)
      [ "$(uname -s)" = Darwin ] || { echo "needs the macOS SDK: it is built on a macOS runner"; return 1; }
      ;;
    *-pc-windows-msvc)
      case "$(uname -s)" in MINGW* | MSYS* | CYGWIN*) ;; *) echo "needs MSVC: it is built on a Windows runner"; return 1 ;; esac
      ;;
    *) echo "is not a target of npm/mapvault/lib/platforms.json"; return 1 ;;
  esac
}

# What `file` must say about each target's binary.
file_pattern() {
  case "$1" in
    x86_64-unknown-linux-gnu) echo 'ELF 64-bit LSB .*x86-64.*dynamically linked' ;;
    x86_64-unknown-linux-musl) echo 'ELF 64-bit LSB .*x86-64.*static' ;;
    aarch64-unknown-linux-gnu) echo 'ELF 64-bit LSB .*ARM aarch64.*dynamically linked' ;;
    aarch64-unknown-linux-musl) echo 'ELF 64-bit LSB .*ARM aarch64.*static' ;;
    x86_64-apple-darwin) echo 'Mach-O 64-bit .*x86_64' ;;
    aarch64-apple-darwin) echo 'Mach-O 64-bit .*arm64' ;;
    x86_64-pc-windows-msvc) echo 'PE32\+ executable .*x86-64' ;;
  esac
}

check_file() {
  local t="$1" bin="$2" desc
  if ! command -v file >/dev/null; then
    # scripts/ci-deps.sh installs it on Linux; Windows runners' Git Bash may lack it.
    if [ -n "${CI:-}" ] && [ "$(uname -s)" = Linux ]; then echo "npm-pack: \`file\` is missing" >&2; exit 2; fi
    echo "   (no \`file\` command here: architecture of $bin not checked)"
    return
  fi
  desc="$(file -b "$bin")"
  echo "   file: $desc"
  grep -Eq "$(file_pattern "$t")" <<<"$desc" || {
    echo "npm-pack: $bin is not a $t binary (expected /$(file_pattern "$t")/)" >&2
    exit 2
  }
}

mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d "${TMPDIR:-/tmp}/mapvault-npm-pack.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

pack() { # DIR: npm pack into OUTDIR, print the tarball's name
  (cd "$1" && npm pack --silent --pack-destination "$out")
}

built=()
skipped=()
for t in "${targets[@]}"; do
  r="$(row "$t")"
  [ -n "$r" ] || { echo "npm-pack: $t is not in $platforms_json" >&2; exit 2; }
  read -r _ pkg os cpu libc runner <<<"$r"
  if ! why="$(cross_env "$t")"; then
    if [ "$all" = 1 ]; then
      skipped+=("$t ($pkg): $why; .github/workflows/release.yml builds it on $runner")
      continue
    fi
    echo "npm-pack: cannot build $t here: $why" >&2
    exit 2
  fi
  echo "== $t -> $pkg"
  exe=mapvault; [ "$os" = win32 ] && exe=mapvault.exe
  if [ "$t" = "$host" ]; then
    # The host release build is the one scripts/test.sh and scripts/recipes.sh use: no --target,
    # so it is shared with them (and costs nothing when it is fresh).
    cargo build --locked --release --quiet
    bin="target/release/$exe"
  else
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
    # shellcheck disable=SC2046 # cross_env prints NAME=VALUE words
    env $why cargo build --locked --quiet --profile "$profile" --target "$t"
    bin="target/$t/$profile/$exe"
  fi
  check_file "$t" "$bin"

  dir="$stage/$t"
  mkdir -p "$dir/bin"
  cp "$bin" "$dir/bin/$exe"
  chmod 755 "$dir/bin/$exe"
  node -e '
    const [file, name, version, os, cpu, libc, triple] = process.argv.slice(1);
    const pkg = {
      name, version,
      description: `The mapvault binary for ${os}-${cpu}${libc === "-" ? "" : ` (${libc})`}, built for ${triple}. Install mapvault instead: it picks this package.`,
      license: "MIT OR Apache-2.0",
      os: [os], cpu: [cpu],
      ...(libc === "-" ? {} : { libc: [libc] }),
      files: ["bin"],
      preferUnplugged: true,
    };
    require("fs").writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
  ' "$dir/package.json" "$pkg" "$version" "$os" "$cpu" "$libc" "$t"
  printf '# %s\n\nThe `mapvault` executable for %s. Install [mapvault](https://www.npmjs.com/package/mapvault), which depends on this package for this platform.\n' \
    "$pkg" "$t" >"$dir/README.md"
  echo "   packed: $(pack "$dir")"
  if [ "$assets" = 1 ]; then
    a="mapvault-$version-$t"
    mkdir -p "$stage/assets/$a"
    cp "$bin" README.md "$stage/assets/$a/"
    if [ "$os" = win32 ]; then
      (cd "$stage/assets" && 7z a -tzip -bd "$out/$a.zip" "$a" >/dev/null)
      echo "   asset: $a.zip"
    else
      tar -C "$stage/assets" -czf "$out/$a.tar.gz" "$a"
      echo "   asset: $a.tar.gz"
    fi
  fi
  built+=("$t")
done

echo "== mapvault (shim, JS API, plugins)"
cp -R npm/mapvault "$stage/mapvault"
echo "   packed: $(pack "$stage/mapvault")"

echo "== built here: ${built[*]:-none}"
for s in ${skipped[@]+"${skipped[@]}"}; do echo "   not built here: $s"; done
