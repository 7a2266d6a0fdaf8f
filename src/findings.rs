//! What the commands find and do, as plain data: leak, note, error and action records and the
//! kinds that name them in reports. A leaf of the module graph (it imports nothing of this
//! crate but the [`Codec`] name of a precompressed copy), so every layer can speak it: scan
//! produces [`LeakKind`]s, the vault's manifest records them, the commands collect records, and
//! [`crate::report`] renders them.
//!
//! Records carry facts, not sentences for people: an [`ActionRecord`] says what changed and where
//! (sizes, hashes, targets), and the report layer words it — including the `detail` text of the
//! JSON contract, written by `report`'s `Serialize` for [`ActionRecord`]. Kinds are enums whose
//! serde names are the stable strings of the JSON contract.

use serde::{Deserialize, Serialize};

use crate::compress::Codec;

/// The kinds of leak, as named in reports (`kind` in JSON). These names are part of the CLI
/// contract: add new ones, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeakKind {
    /// The file is a source map (by content, or any `*.map` file).
    SourceMap,
    /// A `sourceMappingURL` comment pointing at an external map.
    MapReference,
    /// A `sourceMappingURL` comment carrying the map itself as a `data:` URI.
    InlineMap,
    /// A WebAssembly `sourceMappingURL` custom section.
    WasmSection,
    /// A `SourceMap:` / `X-SourceMap:` header declared in a static-host config file.
    HttpHeader,
    /// Inline maps inside `eval()` / `new Function()` strings (webpack `eval-*` devtools).
    EvalMap,
    /// A reference comment inside a string or template literal that the program puts into the
    /// page (Angular component styles, CSS-in-JS), holding a map or naming one in the dist.
    EmbeddedReference,
}

impl LeakKind {
    pub const ALL: [LeakKind; 7] = [
        LeakKind::SourceMap,
        LeakKind::MapReference,
        LeakKind::InlineMap,
        LeakKind::WasmSection,
        LeakKind::HttpHeader,
        LeakKind::EvalMap,
        LeakKind::EmbeddedReference,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeakKind::SourceMap => "source-map",
            LeakKind::MapReference => "map-reference",
            LeakKind::InlineMap => "inline-map",
            LeakKind::WasmSection => "wasm-section",
            LeakKind::HttpHeader => "http-header",
            LeakKind::EvalMap => "eval-map",
            LeakKind::EmbeddedReference => "embedded-reference",
        }
    }

    /// One sentence for help texts and SARIF rule descriptions.
    pub fn description(self) -> &'static str {
        match self {
            LeakKind::SourceMap => {
                "A source map file ships with the build: it contains the original source."
            }
            LeakKind::MapReference => {
                "A sourceMappingURL comment links the file to its source map."
            }
            LeakKind::InlineMap => {
                "A sourceMappingURL comment carries the whole source map as a data: URI."
            }
            LeakKind::WasmSection => {
                "A WebAssembly sourceMappingURL custom section links the module to its source map."
            }
            LeakKind::HttpHeader => {
                "A SourceMap / X-SourceMap HTTP header is declared for served files."
            }
            LeakKind::EvalMap => "A development build: inline source maps inside eval() strings.",
            LeakKind::EmbeddedReference => {
                "A sourceMappingURL comment inside a string the program injects (component styles, CSS-in-JS) holds a map or names one that ships."
            }
        }
    }
}

/// Stable names of notes tools may act on (`kind` of a note in JSON; SARIF rule ids). Most notes
/// have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// WebAssembly DWARF sections (`.debug_*`, `external_debug_info`): source paths, not a map.
    WasmDwarf,
    /// A list seal does not rewrite still holds a hash of a file as it was before seal.
    StaleHash,
    /// A `sourceMappingURL` comment inside a string literal that names no map of the dist (a
    /// code generator's text): not a leak, worth knowing.
    EmbeddedReference,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::WasmDwarf => "wasm-dwarf",
            NoteKind::StaleHash => "stale-hash",
            NoteKind::EmbeddedReference => "embedded-reference",
        }
    }
}

/// Stable names of errors of their own kind (`kind` of an error in JSON). Files that could not
/// be read or changed have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// An HTML `integrity` value does not match the local file it names.
    IntegrityMismatch,
    /// `verify https://…` stopped at `--max-requests`: some URLs were not fetched.
    RequestLimit,
    /// `verify https://…` stopped at `--time-limit`: some URLs were not fetched.
    TimeLimit,
    /// `export`: two maps claim one output path (a bundle's inline map and a map file the dist
    /// also had there); the one the bundle used is written, the clash reported.
    MapClash,
}

/// One leak, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeakRecord {
    /// Relative to the PATH argument (or the DIST), `/`-separated.
    pub path: String,
    /// The PATH argument the path is relative to — only when verify got several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,

    pub kind: LeakKind,
    pub line: Option<u64>,
    pub message: String,
    /// For a leak at a URL (`verify https://…`): the HTTP status and the request that found
    /// it, as fields of the leak itself; absent for files, so file reports keep their shape.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpFinding>,
}

/// Something worth knowing that is neither a leak nor an error (a symlink not followed, a
/// parser fallback, a reference whose target is outside the dist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRecord {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<NoteKind>,
    pub message: String,
}

impl NoteRecord {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        NoteRecord {
            path: path.into(),
            kind: None,
            message: message.into(),
        }
    }

    pub fn of_kind(kind: NoteKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        NoteRecord {
            kind: Some(kind),
            ..NoteRecord::new(path, message)
        }
    }
}

/// A file or step that failed (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
    pub message: String,
}

impl ErrorRecord {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorRecord {
            path: path.into(),
            kind: None,
            message: message.into(),
        }
    }
}

/// Sort notes by path, then message: the order every report prints them in.
pub fn sort_notes(notes: &mut [NoteRecord]) {
    notes.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
}

/// [`sort_notes`] for errors.
pub fn sort_errors(errors: &mut [ErrorRecord]) {
    errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
}

/// Where a reference pointed. Also the `target` of an edit in the vault's manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A map file inside the dist (moved to the vault).
    Inside,
    /// A path inside the dist where no file exists.
    Missing,
    /// A file inside the dist that is not a source map (left in place).
    NotAMap,
    /// Above the dist root: never read or touched.
    Outside,
    /// An absolute URL (`https:`, `//host`…): never fetched.
    Absolute,
    /// A `data:` URI: extracted to the vault.
    Inline,
    /// An empty URL.
    Empty,
}

/// Edits that do not remove a leak but keep the dist consistent with what seal changed. Also
/// the `kind` of such an edit in the vault's manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RewriteKind {
    /// A `//# debugId=` comment added (`seal --debug-ids`).
    DebugId,
    /// Sentry's runtime registration snippet added (`seal --debug-ids=sentry`).
    DebugIdSnippet,
    /// An HTML `integrity="sha…-…"` value recomputed for a file seal changed.
    Integrity,
    /// An Angular `ngsw.json` hash-table entry recomputed for a file seal changed.
    NgswHash,
}

/// One thing seal did (or, in a dry run, would do) to one path. Its JSON form,
/// `{"path", "action", "line", "detail"}`, is written by the report layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    pub path: String,
    /// The line of a cut reference (0 for binary formats); `None` for whole-file actions.
    pub line: Option<u64>,
    pub change: Change,
}

/// The URL of a stripped reference, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShownUrl {
    /// A `data:` URI (its bytes are never printed).
    DataUri,
    /// The URL as text (lossy UTF-8; the report layer shortens it).
    Text(String),
}

/// What an [`ActionRecord`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A map file moved to the vault as `object` (`maps/<sha>.map`, or for a precompressed map
    /// `blobs/<sha>` with its decoded content as `maps/<decoded>.map`).
    Move {
        size: u64,
        object: String,
        compressed: Option<(Codec, String)>,
        /// Other files in the dist with the same bytes (stored once).
        same_as_others: usize,
    },
    /// An inline map decoded into the vault as `maps/<sha>.map`.
    Extract { size: u64, sha: String },
    /// A precompressed copy regenerated from the sealed bytes of its plain file `inner_name`;
    /// its original bytes kept as `blobs/<original>`.
    Recompress {
        codec: Codec,
        inner_name: String,
        references: u64,
        original: String,
    },
    /// A reference comment cut (`len` bytes), replaced by `replaced_by` when seal put text in
    /// its place (`--debug-ids`).
    Strip {
        url: ShownUrl,
        len: u64,
        target: TargetKind,
        replaced_by: Option<String>,
    },
    /// A directory left empty once its maps moved.
    RemoveDir,
    /// A symbolic link naming or pointing at a source map, removed and recorded (its target
    /// text) so unseal recreates it.
    RemoveLink { target: String },
    /// `--debug-ids`: a `//# debugId=` comment ([`RewriteKind::DebugId`]), or that and Sentry's
    /// snippet ([`RewriteKind::DebugIdSnippet`]), appended after the last line.
    DebugId { kind: RewriteKind },
    /// An `integrity` value or `ngsw.json` hash ([`RewriteKind::Integrity`],
    /// [`RewriteKind::NgswHash`]) recomputed: `from` became `to`.
    Rehash {
        kind: RewriteKind,
        from: String,
        to: String,
    },
}

impl Change {
    /// The `action` name in reports (a stable string of the JSON contract).
    pub fn name(&self) -> &'static str {
        match self {
            Change::Move { .. } => "move",
            Change::Extract { .. } => "extract",
            Change::Recompress { .. } => "recompress",
            Change::Strip { .. } => "strip",
            Change::RemoveDir => "remove-dir",
            Change::RemoveLink { .. } => "remove-link",
            Change::DebugId { .. } => "debug-id",
            Change::Rehash { .. } => "rehash",
        }
    }
}

/// How a URL came to be requested: the request that found a leak (`found_by` in reports).
/// These names are part of the JSON contract: add new ones, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// A URL given on the command line.
    Argument,
    /// `<script src>`.
    HtmlScript,
    /// `<link rel=modulepreload>`.
    HtmlModulepreload,
    /// `<link rel=preload|prefetch as=script|style|worker>`.
    HtmlPreload,
    /// `<link rel=stylesheet>`.
    HtmlStylesheet,
    /// `<link rel=manifest>`.
    HtmlManifest,
    /// A URL in a `<script type=importmap>`.
    HtmlImportmap,
    /// `import … from '…'`, `export … from '…'`.
    JsImport,
    /// `import('…')`.
    JsDynamicImport,
    /// `new Worker(…)` / `new SharedWorker(…)`.
    JsWorker,
    /// `new URL('…', import.meta.url)`.
    JsUrl,
    /// `navigator.serviceWorker.register('…')`.
    JsServiceWorker,
    /// `importScripts('…')` in a classic worker.
    JsImportScripts,
    /// `@import` in a stylesheet.
    CssImport,
    /// `url(…)` in a stylesheet.
    CssUrl,
    /// The URL a `sourceMappingURL` comment (or WebAssembly section) names.
    MapReference,
    /// The URL a `SourceMap` / `X-SourceMap` response header names.
    MapHeader,
    /// `<asset>.map`, the guess every source-map scraper makes.
    MapSuffix,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Argument => "argument",
            Via::HtmlScript => "html-script",
            Via::HtmlModulepreload => "html-modulepreload",
            Via::HtmlPreload => "html-preload",
            Via::HtmlStylesheet => "html-stylesheet",
            Via::HtmlManifest => "html-manifest",
            Via::HtmlImportmap => "html-importmap",
            Via::JsImport => "js-import",
            Via::JsDynamicImport => "js-dynamic-import",
            Via::JsWorker => "js-worker",
            Via::JsUrl => "js-url",
            Via::JsServiceWorker => "js-service-worker",
            Via::JsImportScripts => "js-import-scripts",
            Via::CssImport => "css-import",
            Via::CssUrl => "css-url",
            Via::MapReference => "map-reference",
            Via::MapHeader => "map-header",
            Via::MapSuffix => "map-suffix",
        }
    }

    /// A probe for a map, rather than an asset a browser loads.
    pub fn is_probe(self) -> bool {
        matches!(self, Via::MapReference | Via::MapHeader | Via::MapSuffix)
    }
}

/// The HTTP side of a leak found at a URL: flattened into the leak's JSON object, so these
/// fields appear only for URL findings and file reports keep their exact shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpFinding {
    /// The HTTP status of the response the leak is in (or whose headers carry it).
    pub status: u16,
    /// The request that found it: how its URL was discovered.
    pub found_by: Via,
    /// The URL whose content or headers named this one (`null` for a URL given as argument).
    pub linked_from: Option<String>,
}
