// The JavaScript API: `seal`, `verify` and `unseal` run the native binary with `--format json`
// and resolve to the parsed report. Exit 0 (clean) and exit 1 (leaks remain: `report.clean` is
// false) are results; exit 2 (an error: bad path, vault inside the dist, unreadable file…)
// rejects with a `MapvaultError` carrying mapvault's own message.
'use strict';

const { binaryPath } = require('./binary.cjs');
const { MapvaultError, argsFor, list, run } = require('./run.cjs');

/** Runs a command with `--format json` and applies the exit-code contract. */
async function runJson(command, positional, options) {
  const args = argsFor(command, positional, { ...options, format: 'json' });
  const { code, stdout, stderr } = await run(args, { cwd: options?.cwd });
  let report = null;
  if (stdout.trim() !== '') {
    try {
      report = JSON.parse(stdout);
    } catch {
      // Left null: a report that does not parse is an error below, whatever the exit code.
    }
  }
  if ((code === 0 || code === 1) && report !== null) return report;
  const fromReport = (report?.errors ?? []).map((e) => `mapvault: error: ${e.path}: ${e.message}`);
  const message =
    stderr.trim() ||
    fromReport.join('\n') ||
    `mapvault ${command} exited ${code}${report === null ? ' without a JSON report' : ''}`;
  throw new MapvaultError(message, { exitCode: code, stderr, stdout, report, args });
}

/** Strip every source-map reference from `dist`, move the maps into the vault, verify. */
function seal(dist, options = {}) {
  return runJson('seal', [dist], options);
}

/** Scan folders or package archives for leaks; never writes. */
function verify(paths, options = {}) {
  const all = list(paths);
  if (all.length === 0) return Promise.reject(new TypeError('verify needs at least one path'));
  return runJson('verify', all, options);
}

/** Restore `dist` byte for byte from the vault. */
function unseal(dist, options = {}) {
  return runJson('unseal', [dist], options);
}

module.exports = { seal, verify, unseal, binaryPath, MapvaultError };
