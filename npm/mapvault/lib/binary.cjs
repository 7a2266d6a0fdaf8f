// Finds the native mapvault binary: `MAPVAULT_BINARY` when set, else the executable inside the
// platform package npm installed from `optionalDependencies` (selected by `os`, `cpu`, `libc`).
// The table of platforms is lib/platforms.json, shared with scripts/npm-pack.sh, which builds
// those packages. When nothing fits, the error names this platform and what to do about it.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const PLATFORMS = require('./platforms.json');

/** `glibc` or `musl` on Linux (from the C runtime node itself runs on), `null` elsewhere. */
function libc() {
  if (process.platform !== 'linux') return null;
  // Node's diagnostic report names the glibc version it was linked against; a musl build of
  // node (Alpine) has none. This is how detect-libc decides too, without spawning `ldd`.
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  return report?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/** The platform entries that can run here, best first. */
function candidates() {
  const here = PLATFORMS.filter((p) => p.os === process.platform && p.cpu === process.arch);
  const c = libc();
  // A musl binary is static and runs on glibc systems too, so it is the fallback there; a glibc
  // binary never runs on musl.
  return here
    .filter((p) => !p.libc || p.libc === c || (c === 'glibc' && p.libc === 'musl'))
    .sort((a, b) => (a.libc === c ? 0 : 1) - (b.libc === c ? 0 : 1));
}

function exeName(p) {
  return p.os === 'win32' ? 'mapvault.exe' : 'mapvault';
}

/** `linux-x64 (glibc)`: how the error messages name this machine. */
function describeHere() {
  const c = libc();
  return `${process.platform}-${process.arch}${c ? ` (${c})` : ''}`;
}

class BinaryNotFound extends Error {
  constructor(message) {
    super(message);
    this.name = 'MapvaultBinaryNotFound';
  }
}

/**
 * The absolute path of the mapvault executable to run. Throws `BinaryNotFound` with a message
 * naming the platform and the package to install when there is none.
 */
function binaryPath() {
  const override = process.env.MAPVAULT_BINARY;
  if (override) {
    const abs = path.resolve(override);
    if (!fs.existsSync(abs)) {
      throw new BinaryNotFound(`mapvault: MAPVAULT_BINARY is set to ${override}, which does not exist`);
    }
    return abs;
  }
  const tried = [];
  for (const p of candidates()) {
    tried.push(p.package);
    let manifest;
    try {
      manifest = require.resolve(`${p.package}/package.json`);
    } catch {
      continue;
    }
    const exe = path.join(path.dirname(manifest), 'bin', exeName(p));
    if (fs.existsSync(exe)) return exe;
  }
  if (tried.length === 0) {
    const supported = PLATFORMS.map((p) => `${p.os}-${p.cpu}${p.libc ? ` (${p.libc})` : ''}`);
    throw new BinaryNotFound(
      `mapvault has no prebuilt binary for ${describeHere()}. Supported: ${supported.join(', ')}. ` +
        (process.platform === 'win32'
          ? 'Of Windows, only x64 has a prebuilt binary (docs/platforms.md): run the x64 build under emulation, or mapvault under WSL.'
          : 'Build it with `cargo install --locked mapvault` and set MAPVAULT_BINARY to its path.'),
    );
  }
  throw new BinaryNotFound(
    `mapvault: the binary for ${describeHere()} is missing: the package ${tried[0]} is not ` +
      'installed. npm installs it as an optional dependency of mapvault; it is left out when ' +
      'installing with --no-optional / --omit=optional, or when the lockfile was made on another ' +
      `platform without it. Reinstall (npm install ${tried[0]}@${require('../package.json').version} ` +
      'adds it explicitly), or set MAPVAULT_BINARY to a mapvault executable.',
  );
}

module.exports = { binaryPath, candidates, libc, BinaryNotFound, PLATFORMS };
