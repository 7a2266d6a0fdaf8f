// Runs the native binary: `argsFor` turns the options the API and the plugins accept into one
// command line (so every entry point builds it the same way), `run` spawns it and collects its
// output, `MapvaultError` is what every entry point rejects with. Internal: not exported from the
// package (lib/index.cjs is the API).
'use strict';

const { spawn } = require('node:child_process');
const { binaryPath, BinaryNotFound } = require('./binary.cjs');

/** mapvault exited 2 (or could not be started): `message` is what it printed on stderr. */
class MapvaultError extends Error {
  constructor(message, { exitCode = null, stderr = '', stdout = '', report = null, args = [] } = {}) {
    super(message);
    this.name = 'MapvaultError';
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.stdout = stdout;
    /** The JSON report when mapvault printed one (per-file errors are listed in `report.errors`). */
    this.report = report;
    this.args = args;
  }
}

function list(value) {
  if (value === undefined || value === null || value === false) return [];
  return Array.isArray(value) ? value : [value];
}

function option(name, value) {
  return value === undefined || value === null ? [] : [`--${name}`, String(value)];
}

/** The command line for `command` with the options the API and the plugins accept. */
function argsFor(command, positional, options = {}) {
  const args = [command, ...list(positional).map(String)];
  if (command === 'seal' || command === 'unseal') args.push(...option('vault', options.vault));
  if (command === 'seal') {
    args.push(...option('out', options.out));
    if (options.dryRun) args.push('--dry-run');
    if (options.debugIds === true || options.debugIds === 'comment') args.push('--debug-ids');
    else if (options.debugIds === 'sentry') args.push('--debug-ids=sentry');
    else if (options.debugIds) {
      throw new TypeError(`debugIds must be true, 'comment' or 'sentry', not ${JSON.stringify(options.debugIds)}`);
    }
  }
  if (command === 'seal' || command === 'verify') {
    for (const glob of list(options.allow)) args.push('--allow', String(glob));
  }
  args.push(...option('jobs', options.jobs));
  if (options.format) args.push('--format', options.format);
  return args;
}

/**
 * Runs the binary with `args`; resolves to `{ code, stdout, stderr }` whatever the exit code.
 * Rejects only when it cannot be started (no binary for this platform, not executable) or is
 * killed by a signal.
 */
function run(args, { cwd } = {}) {
  return new Promise((resolve, reject) => {
    let exe;
    try {
      exe = binaryPath();
    } catch (e) {
      reject(e instanceof BinaryNotFound ? new MapvaultError(e.message, { args }) : e);
      return;
    }
    const child = spawn(exe, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', (e) => reject(new MapvaultError(`mapvault: cannot run ${exe}: ${e.message}`, { args })));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (signal) {
        reject(new MapvaultError(`mapvault was killed by ${signal}`, { stdout, stderr, args }));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
  });
}

module.exports = { MapvaultError, argsFor, list, run };
