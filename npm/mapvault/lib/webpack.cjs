// `mapvault/webpack`: seals webpack's `output.path` in `afterEmit`, i.e. after every asset is on
// disk. compression-webpack-plugin and the like add their copies earlier, while processing
// assets, so they are there to be checked (and regenerated when sealed). A leak or error is
// added to `compilation.errors`, which fails `webpack` (exit 1) and prints mapvault's report
// as webpack prints any error. Watch mode and webpack-dev-server (which write to memory) are
// left alone unless `watch: true`.
'use strict';

const path = require('node:path');
const { normalize, sealOutput } = require('./plugin.cjs');

const NAME = 'mapvault';

class MapvaultWebpackPlugin {
  constructor(options) {
    this.options = normalize(options);
  }

  apply(compiler) {
    const opts = this.options;
    // The last stage: other plugins' afterEmit work (copying, writing extra files) comes first.
    compiler.hooks.afterEmit.tapPromise({ name: NAME, stage: Number.MAX_SAFE_INTEGER }, async (compilation) => {
      if (compiler.watchMode && !opts.watch) return;
      if (compilation.errors.length > 0) return; // the build failed already; its dist is partial
      const root = compiler.context;
      const dist = path.resolve(root, opts.dist ?? compilation.outputOptions.path);
      const logger = compilation.getLogger(NAME);
      try {
        const { level, text } = await sealOutput(dist, root, opts);
        if (!text) return;
        if (level === 'warn') compilation.warnings.push(new compiler.webpack.WebpackError(text));
        else logger.info(text);
      } catch (e) {
        const error = new compiler.webpack.WebpackError(e.message);
        error.name = 'MapvaultError';
        compilation.errors.push(error);
      }
    });
  }
}

function mapvault(options) {
  return new MapvaultWebpackPlugin(options);
}

module.exports = mapvault;
module.exports.default = mapvault;
module.exports.mapvault = mapvault;
module.exports.MapvaultWebpackPlugin = MapvaultWebpackPlugin;
