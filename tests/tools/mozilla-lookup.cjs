#!/usr/bin/env node
// Independent reference for `mapvault resolve` on generated maps: Mozilla's `source-map`
// (pinned in package.json) answers `originalPositionFor` for given positions of given maps,
// and says when it refuses a map or a position.
//   node mozilla-lookup.cjs JOB.json
// JOB: {"maps": ["<map JSON text>", ...], "queries": [[map, line, column], ...]} with line and
// column 1-based. Prints {"answers": [...]}, one per query: {"error": message} when Mozilla
// throws (reading the map or looking the position up), null when nothing maps there, else
// {source, line, column, name} with line and column 1-based. Strings are made well-formed
// (a lone surrogate becomes U+FFFD) so that any JSON parser reads the answer.
'use strict';
const fs = require('fs');
const { SourceMapConsumer } = require('source-map');

const wellFormed = (s) => (typeof s === 'string' ? s.toWellFormed() : s);

async function main() {
  const [jobPath] = process.argv.slice(2);
  if (!jobPath) {
    process.stderr.write('usage: mozilla-lookup.cjs JOB.json\n');
    process.exit(2);
  }
  const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
  const consumers = [];
  for (const text of job.maps) {
    try {
      // The text itself, as the consumer reads a map file (JSON.parse of the string).
      consumers.push({ ok: await new SourceMapConsumer(text) });
    } catch (e) {
      consumers.push({ error: String((e && e.message) || e) });
    }
  }
  const answers = job.queries.map(([m, line, column]) => {
    const c = consumers[m];
    if (c.error !== undefined) return { error: c.error };
    try {
      const p = c.ok.originalPositionFor({ line, column: column - 1 });
      if (p.source === null && p.line === null) return null;
      return {
        source: wellFormed(p.source),
        line: p.line,
        column: p.column + 1,
        name: wellFormed(p.name),
      };
    } catch (e) {
      return { error: String((e && e.message) || e) };
    }
  });
  for (const c of consumers) if (c.ok) c.ok.destroy();
  process.stdout.write(JSON.stringify({ answers }) + '\n');
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
