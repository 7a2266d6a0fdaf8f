// Unit tests of the JS side alone (node --test; no npm install, no real mapvault): a fake binary,
// a shell script chosen through MAPVAULT_BINARY, prints a given report and exits with a given
// code, so the exit-code contract, the command lines and the plugins' failOn rules are pinned
// down here; scripts/npm-e2e.sh runs the real thing in real bundlers.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { seal, verify, unseal, MapvaultError, binaryPath } = require('../lib/index.cjs');
const { argsFor } = require('../lib/run.cjs');
const { normalize, sealOutput } = require('../lib/plugin.cjs');
const { candidates } = require('../lib/binary.cjs');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mapvault-js-test-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A fake mapvault: records its arguments in ARGS_FILE, prints STDOUT/STDERR, exits CODE. */
function fake(name, { code = 0, stdout = '', stderr = '' }) {
  const file = path.join(dir, name);
  fs.writeFileSync(path.join(dir, `${name}.out`), stdout);
  fs.writeFileSync(path.join(dir, `${name}.err`), stderr);
  fs.writeFileSync(
    file,
    `#!/bin/sh\nprintf '%s\\n' "$@" > '${file}.args'\ncat '${file}.out'\ncat '${file}.err' >&2\nexit ${code}\n`,
  );
  fs.chmodSync(file, 0o755);
  return file;
}
function argsOf(file) {
  return fs.readFileSync(`${file}.args`, 'utf8').trimEnd().split('\n');
}
async function withBinary(file, fn) {
  const saved = process.env.MAPVAULT_BINARY;
  process.env.MAPVAULT_BINARY = file;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.MAPVAULT_BINARY;
    else process.env.MAPVAULT_BINARY = saved;
  }
}

const skipOnWindows = { skip: process.platform === 'win32' && 'the fake binary is a shell script' };

test('exit 0 and exit 1 resolve to the parsed report', skipOnWindows, async () => {
  const clean = fake('clean', { code: 0, stdout: '{"clean":true,"leaks":[]}\n' });
  assert.deepEqual(await withBinary(clean, () => verify('dist')), { clean: true, leaks: [] });
  const leaky = fake('leaky', { code: 1, stdout: '{"clean":false,"leaks":[{"path":"a.js.map"}]}\n' });
  const report = await withBinary(leaky, () => verify(['dist', 'pkg.tgz'], { allow: 'public/**' }));
  assert.equal(report.clean, false);
  assert.deepEqual(argsOf(leaky), ['verify', 'dist', 'pkg.tgz', '--allow', 'public/**', '--format', 'json']);
});

test("exit 2 rejects with mapvault's message, and the report when there is one", skipOnWindows, async () => {
  const broken = fake('broken', { code: 2, stderr: 'mapvault: error: dist: cannot read: No such file\n' });
  await assert.rejects(
    withBinary(broken, () => seal('dist')),
    (e) => e instanceof MapvaultError && e.exitCode === 2 && e.message === 'mapvault: error: dist: cannot read: No such file',
  );
  const partial = fake('partial', {
    code: 2,
    stdout: '{"clean":true,"errors":[{"path":"x.js","message":"permission denied"}]}\n',
  });
  await assert.rejects(withBinary(partial, () => unseal('dist')), (e) => {
    assert.equal(e.report.errors[0].path, 'x.js');
    assert.equal(e.message, 'mapvault: error: x.js: permission denied');
    return true;
  });
});

test('exit 0 without a JSON report is an error, not a result', skipOnWindows, async () => {
  const mute = fake('mute', { code: 0, stdout: 'not json' });
  await assert.rejects(withBinary(mute, () => verify('dist')), /exited 0 without a JSON report/);
});

test('command lines for each option', () => {
  assert.deepEqual(
    argsFor('seal', ['dist'], { vault: 'v', out: 'o', dryRun: true, debugIds: 'sentry', allow: ['a', 'b'], jobs: 2 }),
    ['seal', 'dist', '--vault', 'v', '--out', 'o', '--dry-run', '--debug-ids=sentry', '--allow', 'a', '--allow', 'b', '--jobs', '2'],
  );
  assert.deepEqual(argsFor('seal', ['d'], { debugIds: true }), ['seal', 'd', '--debug-ids']);
  assert.deepEqual(argsFor('unseal', ['d'], { vault: 'v', allow: 'ignored' }), ['unseal', 'd', '--vault', 'v']);
  assert.throws(() => argsFor('seal', ['d'], { debugIds: 'yes' }), /debugIds must be/);
});

test('MAPVAULT_BINARY wins, and a wrong one is named', async () => {
  await withBinary(process.execPath, () => assert.equal(binaryPath(), process.execPath));
  await withBinary(path.join(dir, 'nope'), () => assert.throws(() => binaryPath(), /MAPVAULT_BINARY is set to .*nope, which does not exist/));
});

test('a missing platform package is named in the message', { skip: candidates().length === 0 && 'no package for this platform' }, () => {
  // This checkout has no platform package installed next to lib/, so resolution fails.
  const saved = process.env.MAPVAULT_BINARY;
  delete process.env.MAPVAULT_BINARY;
  try {
    assert.throws(() => binaryPath(), new RegExp(`the package ${candidates()[0].package} is not installed`));
  } finally {
    if (saved !== undefined) process.env.MAPVAULT_BINARY = saved;
  }
});

test('musl binaries are the fallback on glibc, never the other way', () => {
  for (const p of candidates()) assert.equal(p.os, process.platform);
  const libcs = candidates().map((p) => p.libc);
  if (libcs.includes('glibc')) assert.equal(libcs[0], 'glibc');
});

test('plugin options are checked when the config is read', () => {
  assert.equal(normalize().failOn, 'leak');
  assert.equal(normalize().vault, '.mapvault');
  assert.throws(() => normalize({ failOn: 'leaks' }), /failOn must be one of 'leak', 'error', 'never'/);
  assert.throws(() => normalize({ debugIds: 'uuid' }), /debugIds must be/);
});

test('failOn decides which exit codes fail the build', skipOnWindows, async () => {
  const leaks = fake('leaks', { code: 1, stdout: 'still leaks  main.js:18  eval-map  set devtool to source-map\n' });
  const error = fake('error', { code: 2, stderr: 'mapvault: error: the vault is inside the dist\n' });
  const ok = fake('ok', { code: 0, stdout: 'sealed: 1 reference stripped\n' });
  const run = (bin, failOn) => withBinary(bin, () => sealOutput('/dist', dir, normalize({ failOn })));

  await assert.rejects(run(leaks, 'leak'), (e) => /still leak.*\n.*main\.js:18  eval-map/s.test(e.message) && e.exitCode === 1);
  assert.equal((await run(leaks, 'error')).level, 'warn');
  await assert.rejects(run(error, 'error'), /the vault is inside the dist/);
  const tolerated = await run(error, 'never');
  assert.equal(tolerated.level, 'warn');
  assert.match(tolerated.text, /the vault is inside the dist/);
  assert.deepEqual(await run(ok, 'leak'), { level: 'info', text: 'mapvault:\n  sealed: 1 reference stripped' });
  // The vault is resolved against the project root, the dist passed as given.
  assert.deepEqual(argsOf(ok), ['seal', '/dist', '--vault', path.join(dir, '.mapvault')]);
});
