// Types of `mapvault/webpack`. The plugin is typed structurally (no dependency on webpack's
// types); it is assignable to webpack's `WebpackPluginInstance`.
import type { MapvaultPluginOptions } from './plugin.cjs';

declare namespace mapvault {
  export type { MapvaultPluginOptions };
  export class MapvaultWebpackPlugin {
    constructor(options?: MapvaultPluginOptions);
    apply(compiler: any): void;
  }
}

/** The webpack plugin: seals `output.path` in `afterEmit`. */
declare function mapvault(options?: MapvaultPluginOptions): mapvault.MapvaultWebpackPlugin;
export = mapvault;
