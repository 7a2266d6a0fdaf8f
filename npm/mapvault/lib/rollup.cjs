// `mapvault/rollup`: remembers each output folder in `writeBundle` and seals them in
// `closeBundle` (`order: 'post'`), which Rollup calls once every output of the build has been
// written. An output given as `file` is sealed through its folder, so give Rollup an
// `output.dir` (or this plugin a `dist`) that holds nothing but the build. Watch mode is left
// alone unless `watch: true`.
'use strict';

const path = require('node:path');
const { normalize, sealOutput } = require('./plugin.cjs');

function mapvault(options) {
  const opts = normalize(options);
  const dirs = new Set();
  return {
    name: 'mapvault',
    writeBundle(output) {
      const dir = output.dir ?? (output.file ? path.dirname(output.file) : null);
      if (dir) dirs.add(path.resolve(dir));
    },
    closeBundle: {
      order: 'post',
      sequential: true,
      async handler() {
        const outputs = opts.dist ? [path.resolve(opts.dist)] : [...dirs];
        dirs.clear();
        if (this?.meta?.watchMode && !opts.watch) return;
        for (const dist of outputs) {
          const { level, text } = await sealOutput(dist, process.cwd(), opts);
          if (!text) continue;
          const log = level === 'warn' ? this?.warn : this?.info;
          if (typeof log === 'function') log.call(this, text);
          else console.error(text);
        }
      },
    },
  };
}

module.exports = mapvault;
module.exports.default = mapvault;
module.exports.mapvault = mapvault;
