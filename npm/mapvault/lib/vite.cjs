// `mapvault/vite`: seals Vite's output folder once the build has written everything. The hook is
// `closeBundle` with `order: 'post'` in a plugin with `enforce: 'post'`, so it runs after every
// other plugin's `writeBundle`/`closeBundle` — compression plugins' `.gz`/`.br` copies included
// (mapvault regenerates those from the sealed files). `apply: 'build'`: the dev server serves
// from memory and is left alone; `vite build --watch` is left alone unless `watch: true`.
'use strict';

const path = require('node:path');
const { normalize, sealOutput } = require('./plugin.cjs');

function mapvault(options) {
  const opts = normalize(options);
  let config;
  let failed = false;
  return {
    name: 'mapvault',
    apply: 'build',
    enforce: 'post',
    configResolved(resolved) {
      config = resolved;
    },
    buildEnd(error) {
      // A failed build leaves a partial dist and its own error: nothing to add to it.
      failed = Boolean(error);
    },
    closeBundle: {
      order: 'post',
      sequential: true,
      async handler() {
        if (failed || !config) return;
        // Vite 6+ builds each environment (client, ssr…) with its own outDir and calls this
        // hook once per environment, with that environment on `this`.
        const build = this?.environment?.config?.build ?? config.build;
        if (build.write === false) return;
        if (build.watch && !opts.watch) return;
        const dist = path.resolve(config.root, opts.dist ?? build.outDir);
        const { level, text } = await sealOutput(dist, config.root, opts);
        if (text) config.logger[level](text);
      },
    },
  };
}

module.exports = mapvault;
module.exports.default = mapvault;
module.exports.mapvault = mapvault;
