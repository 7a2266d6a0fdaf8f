//! Pure leak detection: bytes in, references and leaks (with byte spans) out. Nothing in this
//! module touches the file system or prints; [`crate::inspect`] feeds it and the commands act on
//! what it finds.

pub mod css;
pub mod datauri;
pub mod js;
pub mod jslex;
pub mod mapsniff;
pub mod pattern;
pub mod url;

use serde::{Deserialize, Serialize};

pub use js::{Flavor, Method, RefComment};
pub use mapsniff::Sniff;

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
}

impl LeakKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakKind::SourceMap => "source-map",
            LeakKind::MapReference => "map-reference",
            LeakKind::InlineMap => "inline-map",
        }
    }
}

/// One leak in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub kind: LeakKind,
    /// 1-based line, where a line means something.
    pub line: Option<u64>,
    pub message: String,
}

/// What a file is, as far as leaks go, decided from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Js(Flavor),
    Css,
    /// Named `*.map`: a leak whatever it contains.
    MapName,
    /// Anything else: only a source map by content, or a node script with a `#!` line.
    Other,
}

fn ends_with_ci(name: &[u8], suffix: &[u8]) -> bool {
    name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Classify a file by its name (the last path segment).
pub fn classify(name: &[u8]) -> FileKind {
    let e = |s: &str| ends_with_ci(name, s.as_bytes());
    if e(".map") {
        FileKind::MapName
    } else if e(".d.ts") || e(".d.mts") || e(".d.cts") {
        FileKind::Js(Flavor::Dts)
    } else if e(".ts") || e(".mts") || e(".cts") {
        FileKind::Js(Flavor::Ts)
    } else if e(".tsx") {
        FileKind::Js(Flavor::Tsx)
    } else if e(".jsx") {
        FileKind::Js(Flavor::Jsx)
    } else if e(".mjs") {
        FileKind::Js(Flavor::Module)
    } else if e(".cjs") {
        FileKind::Js(Flavor::Script)
    } else if e(".js") {
        FileKind::Js(Flavor::Js)
    } else if e(".css") {
        FileKind::Css
    } else {
        FileKind::Other
    }
}

/// How much of a file [`analyze`] needs, given its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: the name decides (`*.map`).
    Nothing,
    /// The first [`HEAD_LEN`] bytes decide whether the rest matters ([`head_needs_all`]).
    Head,
    All,
}

pub const HEAD_LEN: usize = 4096;

pub fn need(kind: FileKind) -> Need {
    match kind {
        FileKind::MapName => Need::Nothing,
        FileKind::Other => Need::Head,
        FileKind::Js(_) | FileKind::Css => Need::All,
    }
}

/// For [`FileKind::Other`]: does this head make the whole file worth reading? (It may be a map
/// by content, or an extension-less node script.)
pub fn head_needs_all(head: &[u8]) -> bool {
    mapsniff::json_start(head).is_some()
        || node_shebang(head)
        || head.trim_ascii().starts_with(b")]}'")
}

/// `#!` line naming node, deno or bun: an extension-less JavaScript entry point (npm `bin`).
pub fn node_shebang(head: &[u8]) -> bool {
    if !head.starts_with(b"#!") {
        return false;
    }
    let line = head.split(|&c| c == b'\n').next().unwrap_or(head);
    [&b"node"[..], b"deno", b"bun", b"tsx", b"ts-node"]
        .iter()
        .any(|w| memchr::memmem::find(line, w).is_some())
}

/// Everything found in one file's bytes.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The kind the content was scanned as (a `#!node` file becomes JavaScript).
    pub kind: FileKind,
    pub refs: Vec<RefComment>,
    /// How the JavaScript scan decided (for notes on fallbacks).
    pub js_method: Option<Method>,
    /// Content sniff, when it was done.
    pub sniff: Option<Sniff>,
}

impl Analysis {
    /// True when the file itself is a source map (by name or by content).
    pub fn is_map(&self) -> bool {
        self.kind == FileKind::MapName || self.sniff.is_some_and(Sniff::is_map)
    }
}

/// Analyse a file's full contents.
pub fn analyze(name: &[u8], bytes: &[u8]) -> Analysis {
    let mut kind = classify(name);
    if kind == FileKind::Other && node_shebang(bytes) {
        kind = FileKind::Js(Flavor::Script);
    }
    let sniff = match kind {
        FileKind::Css => None,
        _ if mapsniff::json_start(bytes).is_some() => Some(mapsniff::sniff(bytes)),
        FileKind::MapName => Some(Sniff::NotJson),
        _ => None,
    };
    let (refs, js_method) = match kind {
        // A JS-named file that is really a map has no comments to strip.
        FileKind::Js(_) if sniff.is_some_and(Sniff::is_map) => (Vec::new(), None),
        FileKind::Js(f) => {
            let s = js::scan(bytes, f);
            (s.refs, Some(s.method))
        }
        FileKind::Css => (css::scan(bytes), None),
        FileKind::MapName | FileKind::Other => (Vec::new(), None),
    };
    Analysis {
        kind,
        refs,
        js_method,
        sniff,
    }
}

/// Turn an analysis into the leaks a report shows.
pub fn leaks(a: &Analysis, bytes: &[u8]) -> Vec<Leak> {
    let mut out = Vec::new();
    if a.is_map() {
        let message = match (a.kind, a.sniff) {
            (FileKind::MapName, Some(Sniff::Map) | None) => "source map file".to_string(),
            (FileKind::MapName, Some(Sniff::IndexMap)) => "source map file (index map)".to_string(),
            (FileKind::MapName, Some(Sniff::NotMap)) => {
                "*.map file (JSON, but not a source map)".to_string()
            }
            (FileKind::MapName, Some(Sniff::NotJson)) => "*.map file (not valid JSON)".to_string(),
            _ => "source map by content, under a name that does not end in .map".to_string(),
        };
        out.push(Leak {
            kind: LeakKind::SourceMap,
            line: None,
            message,
        });
    }
    for r in &a.refs {
        let url = &bytes[r.url.clone()];
        let (kind, message) = if datauri::is_data_uri(url) {
            (
                LeakKind::InlineMap,
                format!("inline source map in a data: URI ({} bytes)", url.len()),
            )
        } else {
            let shown = crate::sanitize::truncate(&crate::sanitize::bytes_for_terminal(url), 160);
            (LeakKind::MapReference, format!("sourceMappingURL={shown}"))
        };
        out.push(Leak {
            kind,
            line: Some(r.line),
            message,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_extension() {
        assert_eq!(classify(b"a.js.map"), FileKind::MapName);
        assert_eq!(classify(b"index.d.ts.map"), FileKind::MapName);
        assert_eq!(classify(b"index.d.ts"), FileKind::Js(Flavor::Dts));
        assert_eq!(classify(b"A.MJS"), FileKind::Js(Flavor::Module));
        assert_eq!(classify(b"a.css"), FileKind::Css);
        assert_eq!(classify(b"a.json"), FileKind::Other);
        assert_eq!(classify(b"map"), FileKind::Other);
    }

    #[test]
    fn renamed_maps_and_node_scripts_are_caught_by_content() {
        let map = br#"{"version":3,"sources":["a.ts"],"mappings":"AAAA"}"#;
        let a = analyze(b"a.map.txt", map);
        assert!(a.is_map());
        assert_eq!(leaks(&a, map)[0].kind, LeakKind::SourceMap);
        let cli = b"#!/usr/bin/env node\nrun();\n//# sourceMappingURL=cli.js.map\n";
        assert!(head_needs_all(cli));
        let a = analyze(b"cli", cli);
        assert_eq!(a.refs.len(), 1);
        let pkg = br#"{"name":"x","version":"1.0.0"}"#;
        assert!(!analyze(b"package.json", pkg).is_map());
        assert!(!head_needs_all(b"\x89PNG\r\n"));
    }

    #[test]
    fn inline_and_external_references_are_told_apart() {
        let src = b"a()\n//# sourceMappingURL=data:application/json;base64,e30=\n";
        let a = analyze(b"a.js", src);
        assert_eq!(leaks(&a, src)[0].kind, LeakKind::InlineMap);
        let src = b"a()\n//# sourceMappingURL=a.js.map\n";
        let a = analyze(b"a.js", src);
        let l = leaks(&a, src);
        assert_eq!((l[0].kind, l[0].line), (LeakKind::MapReference, Some(2)));
    }
}
