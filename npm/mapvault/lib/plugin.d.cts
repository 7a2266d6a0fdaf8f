// Options shared by `mapvault/vite`, `mapvault/webpack` and `mapvault/rollup`.

export interface MapvaultPluginOptions {
  /** The vault directory, resolved against the project root (default `.mapvault`). Keep it out of git and out of the dist. */
  vault?: string;
  /** Add ECMA-426 debug IDs (`true` or `'comment'`); `'sentry'` adds Sentry's runtime snippet too. */
  debugIds?: boolean | 'comment' | 'sentry';
  /** Globs of files whose maps are meant to be public (left as they are, reported as allowed). */
  allow?: string | string[];
  /**
   * When the build fails: `'leak'` (default) on a leak left after sealing or an error,
   * `'error'` only on an error (leaks become warnings), `'never'` (both become warnings).
   */
  failOn?: 'leak' | 'error' | 'never';
  /** Seal this folder instead of the bundler's output folder. */
  dist?: string;
  /** Seal in watch mode too (default: watch builds are left alone). */
  watch?: boolean;
  /** Print nothing when the seal is clean. */
  quiet?: boolean;
  /** Worker threads (default: one per core). */
  jobs?: number;
}
