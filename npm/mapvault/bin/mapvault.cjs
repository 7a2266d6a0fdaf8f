#!/usr/bin/env node
// The `mapvault` command npm links into node_modules/.bin: runs the platform binary (see
// lib/binary.cjs) with the same arguments and standard streams, and exits as it did. A missing
// platform package is reported by name, with exit 2 like any other mapvault error.
'use strict';

const { spawnSync } = require('node:child_process');
const { binaryPath } = require('../lib/binary.cjs');

let exe;
try {
  exe = binaryPath();
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
}
const result = spawnSync(exe, process.argv.slice(2), { stdio: 'inherit', windowsHide: true });
if (result.error) {
  process.stderr.write(`mapvault: cannot run ${exe}: ${result.error.message}\n`);
  process.exit(2);
}
if (result.signal) {
  // Die of the same signal, so a shell or CI runner sees what happened to the binary.
  process.kill(process.pid, result.signal);
}
process.exit(result.status ?? 2);
