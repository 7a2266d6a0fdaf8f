// Types of the `mapvault` JavaScript API (CommonJS and, through index.d.mts, ES modules). The
// report shapes are mapvault's `--format json` output, documented in the README.

/** Where a leak is and what it is. `path` is relative to the scanned PATH, `/`-separated. */
export interface Leak {
  path: string;
  /** The PATH argument `path` is relative to; only when `verify` got several paths. */
  root?: string;
  kind: 'source-map' | 'map-reference' | 'inline-map' | 'wasm-section' | 'http-header' | 'eval-map' | (string & {});
  line: number | null;
  message: string;
}

/** A finding that does not fail the run (a symlink not followed, a parser fallback…). */
export interface Note {
  path: string;
  kind?: string;
  message: string;
}

/** A file or step that failed (exit 2). */
export interface ErrorRecord {
  path: string;
  kind?: string;
  message: string;
}

export interface VerifyReport {
  clean: boolean;
  files_scanned: number;
  leaks: Leak[];
  /** Leaks of files matched by `allow`; present only when something was allowed. */
  allowed?: Leak[];
  notes: Note[];
  errors: ErrorRecord[];
}

export interface SealAction {
  path: string;
  action: 'strip' | 'move' | 'extract' | 'recompress' | 'remove-dir' | 'debug-id' | 'rehash' | (string & {});
  line: number | null;
  detail: string;
}

export interface SealReport extends VerifyReport {
  dist: string;
  vault: string;
  dry_run: boolean;
  references_stripped: number;
  files_edited: number;
  maps_moved: number;
  map_bytes: number;
  inline_maps_extracted: number;
  debug_ids: number;
  dirs_removed: number;
  resumed: string[];
  actions: SealAction[];
  elapsed_ms: number;
}

export interface UnsealReport {
  dist: string;
  vault: string;
  seals: string[];
  files_restored: number;
  maps_restored: number;
  references_restored: number;
  dirs_recreated: number;
  objects_removed: number;
  resumed: string[];
  notes: Note[];
  errors: ErrorRecord[];
  elapsed_ms: number;
}

export interface CommonOptions {
  /** Working directory of the mapvault process (relative paths are resolved against it). */
  cwd?: string;
  /** Worker threads (default: one per core). */
  jobs?: number;
}

export interface VerifyOptions extends CommonOptions {
  /** Globs of files whose maps are meant to be public: reported as `allowed`, not as leaks. */
  allow?: string | string[];
}

export interface UnsealOptions extends CommonOptions {
  /** The vault directory (default `.mapvault`, relative to `cwd`). */
  vault?: string;
}

export interface SealOptions extends VerifyOptions {
  /** The vault directory (default `.mapvault`, relative to `cwd`); never inside the dist. */
  vault?: string;
  /** Seal a copy written to this new directory; the dist is left untouched. */
  out?: string;
  /** Report the plan and change nothing. */
  dryRun?: boolean;
  /** Add ECMA-426 debug IDs (`true` or `'comment'`); `'sentry'` adds Sentry's runtime snippet too. */
  debugIds?: boolean | 'comment' | 'sentry';
}

/**
 * mapvault exited 2 (an error), or could not be run (no binary for this platform). `message`
 * is mapvault's own message.
 */
export declare class MapvaultError extends Error {
  name: 'MapvaultError';
  /** 2 for an error reported by mapvault; `null` when it could not be started. */
  exitCode: number | null;
  stderr: string;
  stdout: string;
  /** The JSON report when mapvault printed one (per-file failures are in `report.errors`). */
  report: SealReport | VerifyReport | UnsealReport | null;
  /** The arguments mapvault was run with. */
  args: string[];
}

/**
 * Strip every source-map reference from `dist`, move each map into the vault, then verify.
 * Resolves to the report, `clean: false` when leaks remain (exit 1); rejects with a
 * `MapvaultError` on exit 2.
 */
export declare function seal(dist: string, options?: SealOptions): Promise<SealReport>;

/** Scan folders or package archives for leaks (never writes). `clean: false` on a leak. */
export declare function verify(paths: string | string[], options?: VerifyOptions): Promise<VerifyReport>;

/** Restore `dist` byte for byte from the vault. */
export declare function unseal(dist: string, options?: UnsealOptions): Promise<UnsealReport>;

/** The absolute path of the mapvault executable this package runs. */
export declare function binaryPath(): string;
