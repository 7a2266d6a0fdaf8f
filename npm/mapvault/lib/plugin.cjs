// What the Vite, webpack and Rollup plugins share: their options, and sealing one output folder
// once the bundler has written everything. mapvault runs with its human report, so a failed
// build shows mapvault's own lines (`still leaks  main.js:18  eval-map  …`, `mapvault: error: …`)
// naming the files; the exit code alone decides, per `failOn`, whether the build fails.
'use strict';

const path = require('node:path');
const { argsFor, run } = require('./run.cjs');

const FAIL_ON = ['leak', 'error', 'never'];

/**
 * Checks and fills in the plugin options (see lib/plugin.d.cts for each one). Throws a
 * TypeError at configuration time rather than at the end of a long build.
 */
function normalize(options = {}) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('mapvault(options): options must be an object');
  }
  const failOn = options.failOn ?? 'leak';
  if (!FAIL_ON.includes(failOn)) {
    throw new TypeError(`mapvault: failOn must be one of ${FAIL_ON.map((f) => `'${f}'`).join(', ')}, not ${JSON.stringify(failOn)}`);
  }
  if (![undefined, false, true, 'comment', 'sentry'].includes(options.debugIds)) {
    throw new TypeError(`mapvault: debugIds must be true, 'comment' or 'sentry', not ${JSON.stringify(options.debugIds)}`);
  }
  return {
    vault: options.vault ?? '.mapvault',
    debugIds: options.debugIds ?? false,
    allow: options.allow ?? [],
    failOn,
    dist: options.dist,
    watch: options.watch === true,
    quiet: options.quiet === true,
    jobs: options.jobs,
  };
}

function indent(text) {
  return text.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
}

/**
 * Seals `dist` (absolute) with a vault resolved against `root`. Resolves to the text to log
 * (mapvault's summary, or its report when the outcome is tolerated by `failOn`) and `level`
 * (`info` or `warn`); rejects with an Error whose message is mapvault's own report when the
 * build must fail.
 */
async function sealOutput(dist, root, opts) {
  const args = argsFor('seal', [dist], {
    vault: path.resolve(root, opts.vault),
    debugIds: opts.debugIds,
    allow: opts.allow,
    jobs: opts.jobs,
  });
  if (opts.quiet) args.push('--quiet');
  let result;
  try {
    result = await run(args, { cwd: root });
  } catch (e) {
    if (opts.failOn === 'never') return { level: 'warn', text: `mapvault: not sealed: ${e.message}` };
    throw e;
  }
  const { code, stdout, stderr } = result;
  const output = [stderr, stdout].filter((s) => s.trim() !== '').map(indent).join('\n');
  if (code === 0) return { level: 'info', text: stdout.trim() === '' ? '' : `mapvault:\n${indent(stdout)}` };
  const what =
    code === 1
      ? `mapvault: source maps still leak from ${dist} after sealing (exit 1)`
      : `mapvault: sealing ${dist} failed (exit ${code})`;
  const fatal = opts.failOn === 'leak' || (opts.failOn === 'error' && code !== 1);
  const text = `${what}:\n${output}`;
  if (fatal) {
    const error = new Error(text);
    error.exitCode = code;
    throw error;
  }
  return { level: 'warn', text };
}

module.exports = { normalize, sealOutput };
