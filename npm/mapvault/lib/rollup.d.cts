// Types of `mapvault/rollup`. The plugin is typed structurally (no dependency on Rollup's
// types); it is assignable to Rollup's `Plugin`.
import type { MapvaultPluginOptions } from './plugin.cjs';

declare namespace mapvault {
  export type { MapvaultPluginOptions };
  export interface MapvaultRollupPlugin {
    name: 'mapvault';
    writeBundle(options: { dir?: string; file?: string }): void;
    closeBundle: { order: 'post'; sequential: true; handler(this: any): Promise<void> };
  }
}

/** The Rollup plugin: seals every output folder at `closeBundle`. */
declare function mapvault(options?: MapvaultPluginOptions): mapvault.MapvaultRollupPlugin;
export = mapvault;
