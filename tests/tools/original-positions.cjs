#!/usr/bin/env node
// Independent reference for `mapvault resolve`: Mozilla's `source-map` package (pinned in
// package.json) answers `originalPositionFor` for many generated positions of one map file.
//   node original-positions.cjs MAP [MAX]
// Prints one JSON object: {"positions": [{"line", "column", "expected": {source, line, column,
// name} | null}]} with every line and column 1-based. Positions: every mapping's generated
// position, the column after it and a few columns further, the first column of each line,
// and some past the end, sampled deterministically down to MAX (default 400).
'use strict';
const fs = require('fs');
const { SourceMapConsumer } = require('source-map');

async function main() {
  const [mapPath, maxArg] = process.argv.slice(2);
  if (!mapPath) {
    process.stderr.write('usage: original-positions.cjs MAP [MAX]\n');
    process.exit(2);
  }
  const max = Number(maxArg || 400);
  let text = fs.readFileSync(mapPath, 'utf8');
  if (text.startsWith(')]}')) text = text.slice(text.indexOf('\n') + 1);
  const raw = JSON.parse(text);
  const consumer = await new SourceMapConsumer(raw);
  const seen = new Set();
  const all = [];
  const add = (line, column) => {
    if (line < 1 || column < 0) return;
    const key = line + ':' + column;
    if (!seen.has(key)) {
      seen.add(key);
      all.push([line, column]);
    }
  };
  let maxLine = 1;
  consumer.eachMapping((m) => {
    add(m.generatedLine, m.generatedColumn);
    add(m.generatedLine, m.generatedColumn + 1);
    add(m.generatedLine, m.generatedColumn + 7);
    add(m.generatedLine, 0);
    maxLine = Math.max(maxLine, m.generatedLine);
  });
  add(maxLine + 1, 0);
  add(maxLine + 5, 3);
  // Deterministic sample: every k-th, so positions spread over the whole file.
  const step = Math.max(1, Math.ceil(all.length / max));
  const positions = [];
  for (let i = 0; i < all.length; i += step) {
    const [line, column] = all[i];
    const p = consumer.originalPositionFor({ line, column });
    positions.push({
      line,
      column: column + 1,
      expected:
        p.source === null
          ? null
          : { source: p.source, line: p.line, column: p.column + 1, name: p.name },
    });
  }
  consumer.destroy();
  process.stdout.write(JSON.stringify({ positions }) + '\n');
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
