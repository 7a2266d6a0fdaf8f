// Types of `mapvault/vite`. The plugin is typed structurally (no dependency on Vite's types);
// it is assignable to Vite's `Plugin`.
import type { MapvaultPluginOptions } from './plugin.cjs';

declare namespace mapvault {
  export type { MapvaultPluginOptions };
  export interface MapvaultVitePlugin {
    name: 'mapvault';
    apply: 'build';
    enforce: 'post';
    configResolved(config: any): void;
    buildEnd(error?: Error): void;
    closeBundle: { order: 'post'; sequential: true; handler(this: any): Promise<void> };
  }
}

/** The Vite plugin: seals `build.outDir` after every other plugin, at `closeBundle`. */
declare function mapvault(options?: MapvaultPluginOptions): mapvault.MapvaultVitePlugin;
export = mapvault;
