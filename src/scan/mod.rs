//! Pure leak detection: bytes in, references and leaks (with byte spans) out. Nothing in this
//! module touches the file system or prints; [`crate::inspect`] feeds it and the commands act on
//! what it finds.

pub mod css;
pub mod cut;
pub mod datauri;
pub mod embedded;
pub mod encoding;
pub mod headers;
pub mod html;
pub mod integrity;
pub mod js;
pub mod jslex;
pub mod mapsniff;
pub mod pattern;
pub mod reference;
pub mod url;
pub mod wasm;

use crate::compress::{self, Codec};
pub use crate::findings::LeakKind;
use crate::findings::NoteKind;
pub use headers::HeaderFile;
pub use js::{Flavor, Form, Method, Reference};
pub use mapsniff::Sniff;

impl LeakKind {
    /// Kind of leak a reference of this form and URL is.
    pub fn of(form: Form, url: &[u8]) -> LeakKind {
        match form {
            Form::WasmSection => LeakKind::WasmSection,
            Form::Header => LeakKind::HttpHeader,
            Form::InString => LeakKind::EmbeddedReference,
            Form::LineComment | Form::BlockComment if datauri::is_data_uri(url) => {
                LeakKind::InlineMap
            }
            Form::LineComment | Form::BlockComment => LeakKind::MapReference,
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

/// Something worth reporting that does not fail a verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// A stable name for notes tools may act on (`wasm-dwarf`), else `None`.
    pub kind: Option<NoteKind>,
    pub message: String,
}

/// Package archive formats `verify` looks inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Tar,
    TarGz,
    Zip,
}

/// What a file is, as far as leaks go, decided from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Js(Flavor),
    Css,
    Html,
    Wasm,
    Headers(HeaderFile),
    /// Named `*.map`: a leak whatever it contains.
    MapName,
    /// `x.gz`, `x.br`, `x.zst`: scanned as `x` once decompressed.
    Compressed(Codec),
    Archive(ArchiveKind),
    /// Anything else: only a source map by content, a node script with a `#!` line, or a
    /// WebAssembly module by its magic number.
    Other,
}

fn ends_with_ci(name: &[u8], suffix: &[u8]) -> bool {
    name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Classify a file by its name (the last path segment).
pub fn classify(name: &[u8]) -> FileKind {
    let e = |s: &str| ends_with_ci(name, s.as_bytes());
    if let Some(h) = headers::header_file(name) {
        return FileKind::Headers(h);
    }
    if e(".map") {
        FileKind::MapName
    } else if e(".tgz") || e(".tar.gz") {
        FileKind::Archive(ArchiveKind::TarGz)
    } else if e(".tar") {
        FileKind::Archive(ArchiveKind::Tar)
    } else if [".zip", ".vsix", ".jar", ".war", ".whl", ".nupkg", ".xpi"]
        .iter()
        .any(|x| e(x))
    {
        FileKind::Archive(ArchiveKind::Zip)
    } else if let Some((c, _)) = Codec::from_name(name) {
        FileKind::Compressed(c)
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
    } else if e(".bundle") || e(".jsbundle") {
        // React Native bundles (`index.android.bundle`, `main.jsbundle`) are JavaScript.
        FileKind::Js(Flavor::Js)
    } else if e(".cjs") {
        FileKind::Js(Flavor::Script)
    } else if e(".js") {
        FileKind::Js(Flavor::Js)
    } else if e(".css") {
        FileKind::Css
    } else if e(".html") || e(".htm") {
        FileKind::Html
    } else if e(".wasm") {
        FileKind::Wasm
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
        _ => Need::All,
    }
}

/// For [`FileKind::Other`]: does this head make the whole file worth reading? (It may be a map
/// by content, an extension-less node script, or a WebAssembly module.)
pub fn head_needs_all(head: &[u8]) -> bool {
    // A head of nothing but white space (JSON allows any amount before the map) or a BOM that
    // says the file is UTF-16 decides nothing: read on.
    let blank = head.len() == HEAD_LEN
        && head
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(head)
            .trim_ascii()
            .is_empty();
    blank
        || head.starts_with(b"\xff\xfe")
        || head.starts_with(b"\xfe\xff")
        || mapsniff::json_start(head).is_some()
        || node_shebang(head)
        || head.trim_ascii().starts_with(b")]}'")
        || wasm::is_wasm(head)
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

/// Everything found in one file's bytes. Not `Clone`: [`Inner`] holds a share of the memory
/// budget.
#[derive(Debug)]
pub struct Analysis {
    /// The kind the content was scanned as (a `#!node` file becomes JavaScript).
    pub kind: FileKind,
    /// References seal can cut out.
    pub refs: Vec<Reference>,
    /// Leaks seal must not fix here (inline maps in `eval` strings, headers it cannot cut safely).
    pub stuck: Vec<Leak>,
    pub notes: Vec<Note>,
    /// How the JavaScript scan decided.
    pub js_method: Option<Method>,
    /// Content sniff, when it was done.
    pub sniff: Option<Sniff>,
    /// For a compressed file: its decompressed content and what is in it.
    pub inner: Option<Box<Inner>>,
    /// The content could not be examined (a compressed file that does not decompress).
    pub error: Option<String>,
    /// References inside string literals that name a file: a leak only if that file is a map
    /// in the dist, which the caller knows ([`decide_embedded`]).
    pub embedded: Vec<embedded::Embedded>,
    /// The text was decoded from this encoding before scanning (offsets are the original
    /// file's).
    pub encoding: Option<encoding::Enc>,
}

/// A compressed file's decompressed content.
#[derive(Debug)]
pub struct Inner {
    pub codec: Codec,
    /// The name without the compression extension.
    pub name: Vec<u8>,
    pub bytes: Vec<u8>,
    pub analysis: Analysis,
    /// `bytes`' charge on the memory budget ([`crate::budget`]), given back with them.
    pub hold: crate::budget::Reservation,
}

impl Analysis {
    fn empty(kind: FileKind) -> Self {
        Analysis {
            kind,
            refs: Vec::new(),
            stuck: Vec::new(),
            notes: Vec::new(),
            js_method: None,
            sniff: None,
            inner: None,
            error: None,
            embedded: Vec::new(),
            encoding: None,
        }
    }

    /// An analysis of a file whose name decides everything, or whose head showed nothing.
    pub fn name_only(kind: FileKind) -> Self {
        Analysis::empty(kind)
    }

    /// True when the file itself is a source map (by name or by content).
    pub fn is_map(&self) -> bool {
        self.kind == FileKind::MapName || self.sniff.is_some_and(Sniff::is_map)
    }

    /// True when anything in it leaks (including inside a compressed copy).
    pub fn leaks_anything(&self) -> bool {
        self.is_map()
            || !self.refs.is_empty()
            || !self.stuck.is_empty()
            || self
                .inner
                .as_ref()
                .is_some_and(|i| i.analysis.leaks_anything())
    }
}

/// Limits for looking inside compressed content.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_decompressed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: compress::DEFAULT_LIMIT,
        }
    }
}

/// Analyse a file's full contents.
pub fn analyze(name: &[u8], bytes: &[u8]) -> Analysis {
    analyze_with(name, bytes, Limits::default())
}

#[expect(
    clippy::too_many_lines,
    reason = "the dispatch over every file kind, in the order a file is tried; split when a kind grows"
)]
pub fn analyze_with(name: &[u8], bytes: &[u8], limits: Limits) -> Analysis {
    let mut kind = classify(name);
    if kind == FileKind::Other && node_shebang(bytes) {
        kind = FileKind::Js(Flavor::Script);
    }
    if kind == FileKind::Other && wasm::is_wasm(bytes) {
        kind = FileKind::Wasm;
    }
    let mut a = Analysis::empty(kind);
    if let FileKind::Compressed(codec) = kind {
        let inner_name = Codec::from_name(name).map_or(name, |(_, n)| n).to_vec();
        match compress::decompress_held(codec, bytes, limits.max_decompressed) {
            Ok(crate::budget::Held { bytes: inner, hold }) => {
                // One level only: a compressed copy of a compressed copy is scanned as bytes.
                let mut ia = if matches!(classify(&inner_name), FileKind::Compressed(_)) {
                    analyze_with(b"inner", &inner, limits)
                } else {
                    analyze_with(&inner_name, &inner, limits)
                };
                ia.inner = None;
                a.inner = Some(Box::new(Inner {
                    codec,
                    name: inner_name,
                    bytes: inner,
                    analysis: ia,
                    hold,
                }));
            }
            Err(e) => a.error = Some(format!("cannot decompress ({}): {e}", codec.name())),
        }
        return a;
    }
    if let Some(d) = needs_decoding(kind, bytes) {
        // The decoded text is UTF-8: this recursion runs once.
        let mut inner = analyze_with(name, &d.text, limits);
        for r in &mut inner.refs {
            r.span = d.original(r.span.clone());
            r.url = d.original(r.url.clone());
            r.fill = d.enc.encode_fill(&r.fill);
        }
        for e in &mut inner.embedded {
            e.span = e.span.clone().map(|s| d.original(s));
            if let Some(r) = &mut e.cut {
                r.span = d.original(r.span.clone());
                r.url = d.original(r.url.clone());
                r.fill = d.enc.encode_fill(&r.fill);
            }
        }
        inner.encoding = Some(d.enc);
        inner.notes.push(Note {
            kind: None,
            message: format!(
                "not UTF-8: decoded as {} (as a browser would) before scanning",
                d.enc.name()
            ),
        });
        return inner;
    }
    a.sniff = match kind {
        FileKind::Css | FileKind::Html | FileKind::Wasm | FileKind::Archive(_) => None,
        _ if mapsniff::json_start(bytes).is_some() => Some(mapsniff::sniff(bytes)),
        FileKind::MapName => Some(Sniff::NotJson),
        _ => None,
    };
    if a.is_map() {
        return a;
    }
    match kind {
        FileKind::Js(f) => {
            let s = js::scan(bytes, f);
            if let Method::Lexical(why) = &s.method {
                a.notes.push(Note {
                    kind: None,
                    message: format!(
                        "comments found by the lexical fallback scan, not the parser ({why})"
                    ),
                });
            }
            a.refs = s.refs;
            embedded_findings(&mut a, bytes, &s.literals);
            a.js_method = Some(s.method);
        }
        FileKind::Css => a.refs = css::scan(bytes),
        FileKind::Html => {
            let h = html::scan(bytes);
            for m in h.methods {
                if let Method::Lexical(why) = m {
                    a.notes.push(Note {
                        kind: None,
                        message: format!(
                            "an inline script was scanned by the lexical fallback ({why})"
                        ),
                    });
                }
            }
            for (line, url) in h.stuck {
                a.stuck.push(Leak {
                    kind: if datauri::is_data_uri(&url) {
                        LeakKind::InlineMap
                    } else {
                        LeakKind::MapReference
                    },
                    line: Some(line),
                    message: format!(
                        "sourceMappingURL={} in an SVG/MathML script whose text is not its bytes (character references): cannot be cut safely; edit it by hand",
                        crate::sanitize::truncate(&crate::sanitize::bytes_for_terminal(&url), 160)
                    ),
                });
            }
            a.refs = h.refs;
            embedded_findings(&mut a, bytes, &h.literals);
        }
        FileKind::Wasm => {
            let w = wasm::scan(bytes);
            for (span, url) in w.refs {
                a.refs.push(Reference {
                    span,
                    url,
                    line: 0,
                    form: Form::WasmSection,
                    fill: String::new(),
                });
            }
            if !w.debug_sections.is_empty() {
                a.notes.push(Note {
                    kind: Some(NoteKind::WasmDwarf),
                    message: format!(
                        "DWARF debug sections ({}) embed source paths and often source text; strip them with your toolchain (e.g. wasm-opt --strip-debug) if that matters",
                        w.debug_sections.join(", ")
                    ),
                });
            }
            if let Some(e) = w.error {
                a.notes.push(Note { kind: None, message: format!("WebAssembly module is malformed ({e}); sections after that point were not checked") });
            }
        }
        FileKind::Headers(h) => {
            let found = headers::scan_file(h, bytes);
            if let Some(p) = found.problem {
                a.notes.push(Note {
                    kind: None,
                    message: p,
                });
            }
            for r in found.refs {
                if r.fixable && !r.cut.is_empty() {
                    a.refs.push(Reference {
                        span: r.cut,
                        url: r.url,
                        line: r.line,
                        form: Form::Header,
                        fill: String::new(),
                    });
                } else {
                    let url = String::from_utf8_lossy(&bytes[r.url.clone()]).into_owned();
                    a.stuck.push(Leak {
                        kind: LeakKind::HttpHeader,
                        line: Some(r.line),
                        message: if r.cut.is_empty() && r.fixable {
                            format!("SourceMap header → {url}")
                        } else {
                            format!("SourceMap header → {url} (cannot be removed safely from this file; edit it by hand)")
                        },
                    });
                }
            }
        }
        FileKind::MapName | FileKind::Other | FileKind::Compressed(_) | FileKind::Archive(_) => {}
    }
    a
}

/// Text a browser would not read as UTF-8 and that may hold a reference: UTF-16 with a BOM
/// (JavaScript, CSS, HTML, or an unknown file that may be a map), or JavaScript/CSS/HTML that is
/// not UTF-8 (read as windows-1252).
fn needs_decoding(kind: FileKind, bytes: &[u8]) -> Option<encoding::Decoded> {
    let text_kind = matches!(kind, FileKind::Js(_) | FileKind::Css | FileKind::Html);
    let utf16 = bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff");
    if utf16 && (text_kind || kind == FileKind::Other) {
        return encoding::decode(bytes);
    }
    if text_kind && memchr::memmem::find(bytes, pattern::NEEDLE).is_some() {
        return encoding::decode(bytes);
    }
    None
}

/// Reference comments inside string and template literals (see [`embedded`]): a `data:` map
/// with content is an `eval-map` leak when the string is evaluated (one leak per file, with the
/// count), else an `embedded-reference` leak; a `data:` URI without content is a note; a URL
/// waits in [`Analysis::embedded`] for the caller, who knows whether it names a map in the dist.
/// An `embedded-reference` leak written literally goes into `refs` as a [`Form::InString`]
/// reference, which seal overwrites with spaces ([`cut::blank`]); one written with escapes is
/// stuck (the spaces would not be where the program sees the comment). Strings that are
/// evaluated are never rewritten: their code is a development build.
fn embedded_findings(a: &mut Analysis, bytes: &[u8], literals: &[embedded::Literal]) {
    if literals.is_empty() {
        return;
    }
    let mut evals = 0u64;
    let mut first_eval = None;
    let mut cuts = false;
    for e in embedded::find(bytes, literals) {
        match (e.payload, e.evaluated) {
            (embedded::Payload::MapWithContent, true) => {
                evals += 1;
                first_eval.get_or_insert(e.line);
            }
            (embedded::Payload::MapWithContent, false) => match e.cut {
                Some(r) => {
                    a.refs.push(r);
                    cuts = true;
                }
                None => a.stuck.push(Leak {
                    kind: LeakKind::EmbeddedReference,
                    line: Some(e.line),
                    message: format!(
                        "inline source map in a data: URI ({} bytes) inside a string the program can put in the page, written with escapes: cannot be blanked in place; edit it by hand",
                        e.url.len()
                    ),
                }),
            },
            (embedded::Payload::Empty, _) => a.notes.push(Note {
                kind: Some(NoteKind::EmbeddedReference),
                message: format!(
                    "line {}: a sourceMappingURL=data: comment inside a string carries no map content (publishes nothing)",
                    e.line
                ),
            }),
            (embedded::Payload::Url, _) => a.embedded.push(e),
        }
    }
    if cuts {
        // Comments and literals never overlap: file order is all seal needs.
        a.refs.sort_by_key(|r| r.span.start);
    }
    if let Some(line) = first_eval {
        a.stuck.push(Leak {
            kind: LeakKind::EvalMap,
            line: Some(line),
            message: format!(
                "{} inside strings (eval()/new Function() bodies): a development build (webpack devtool 'eval-source-map' or similar). \
                 mapvault will not rewrite string contents: set devtool to 'source-map' or 'hidden-source-map' and rebuild",
                plural(evals, "inline source map")
            ),
        });
    }
}

/// Decide the references inside literals that name a file: a leak when `is_dist_map(url)`
/// says the URL names a map that ships, else a note. The third list is what seal overwrites:
/// the leaks written literally, as [`Form::InString`] references.
pub fn decide_embedded(
    embedded: &[embedded::Embedded],
    mut is_dist_map: impl FnMut(&[u8]) -> bool,
) -> (Vec<Leak>, Vec<Note>, Vec<Reference>) {
    let (mut leaks, mut notes, mut cuts) = (Vec::new(), Vec::new(), Vec::new());
    // Those that name nothing are one note per file (a bundler's runtime can hold thousands).
    let mut unnamed: Option<(u64, String)> = None;
    let mut count = 0u64;
    for e in embedded {
        let shown = crate::sanitize::truncate(&crate::sanitize::bytes_for_terminal(&e.url), 160);
        if is_dist_map(&e.url) {
            let how = if e.cut.is_some() {
                ""
            } else if e.evaluated {
                " (in an evaluated string: mapvault does not rewrite it; rebuild without it)"
            } else {
                " (written with escapes: cannot be blanked in place; edit it by hand)"
            };
            leaks.push(Leak {
                kind: LeakKind::EmbeddedReference,
                line: Some(e.line),
                message: format!(
                    "sourceMappingURL={shown} inside a string the program can put in the page, naming a map that ships{how}"
                ),
            });
            cuts.extend(e.cut.clone());
        } else {
            count += 1;
            unnamed.get_or_insert((e.line, shown));
        }
    }
    if let Some((line, shown)) = unnamed {
        notes.push(Note {
            kind: Some(NoteKind::EmbeddedReference),
            message: format!(
                "{} inside strings {} no map in the dist (first on line {line}: sourceMappingURL={shown})",
                plural(count, "sourceMappingURL comment"),
                if count == 1 { "names" } else { "name" }
            ),
        });
    }
    (leaks, notes, cuts)
}

fn plural(n: u64, w: &str) -> String {
    if n == 1 {
        format!("1 {w}")
    } else {
        format!("{n} {w}s")
    }
}

/// Turn an analysis into the leaks a report shows. `bytes` is the content the analysis was made
/// from (URLs are quoted from it).
pub fn leaks(a: &Analysis, bytes: &[u8]) -> Vec<Leak> {
    let mut out = Vec::new();
    if let Some(inner) = &a.inner {
        for mut l in leaks(&inner.analysis, &inner.bytes) {
            l.message = format!(
                "in {} copy of {}: {}",
                inner.codec.name(),
                String::from_utf8_lossy(&inner.name),
                l.message
            );
            out.push(l);
        }
        return out;
    }
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
        let raw = bytes.get(r.url.clone()).unwrap_or_default();
        let decoded;
        let url = match a.encoding {
            Some(e) => {
                decoded = e.decode_slice(raw);
                &decoded[..]
            }
            None => raw,
        };
        let kind = LeakKind::of(r.form, url);
        let shown = crate::sanitize::truncate(&crate::sanitize::bytes_for_terminal(url), 160);
        let message = match kind {
            LeakKind::InlineMap => {
                format!("inline source map in a data: URI ({} bytes)", url.len())
            }
            LeakKind::EmbeddedReference if datauri::is_data_uri(url) => format!(
                "inline source map in a data: URI ({} bytes) inside a string the program can put in the page",
                url.len()
            ),
            LeakKind::EmbeddedReference => format!(
                "sourceMappingURL={shown} inside a string the program can put in the page, naming a map that ships"
            ),
            LeakKind::WasmSection => format!("sourceMappingURL custom section → {shown}"),
            LeakKind::HttpHeader => format!("SourceMap header → {shown}"),
            _ => format!("sourceMappingURL={shown}"),
        };
        let line = (r.line > 0).then_some(r.line);
        out.push(Leak {
            kind,
            line,
            message,
        });
    }
    out.extend(a.stuck.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// References inside strings that name no map are one note per file, its verb agreeing
    /// with the count.
    #[test]
    fn strings_naming_no_map_are_one_note_in_words() {
        let note = |js: &[u8]| {
            let a = analyze(b"a.js", js);
            let (leaks, notes, _) = decide_embedded(&a.embedded, |_| false);
            assert!(leaks.is_empty());
            assert_eq!(notes.len(), 1, "{notes:?}");
            notes[0].message.clone()
        };
        let one = note(b"var s = \"//# sourceMappingURL=x.js.map\";\n");
        assert!(
            one.starts_with("1 sourceMappingURL comment inside strings names no map"),
            "{one}"
        );
        let two = note(
            b"var s = \"//# sourceMappingURL=x.js.map\";\nvar t = \"//# sourceMappingURL=y.js.map\";\n",
        );
        assert!(
            two.starts_with("2 sourceMappingURL comments inside strings name no map"),
            "{two}"
        );
    }

    #[test]
    fn classifies_by_extension() {
        assert_eq!(classify(b"a.js.map"), FileKind::MapName);
        assert_eq!(classify(b"index.d.ts.map"), FileKind::MapName);
        assert_eq!(classify(b"index.d.ts"), FileKind::Js(Flavor::Dts));
        assert_eq!(classify(b"A.MJS"), FileKind::Js(Flavor::Module));
        assert_eq!(classify(b"a.css"), FileKind::Css);
        assert_eq!(classify(b"a.json"), FileKind::Other);
        assert_eq!(classify(b"map"), FileKind::Other);
        assert_eq!(classify(b"a.js.gz"), FileKind::Compressed(Codec::Gzip));
        assert_eq!(
            classify(b"pkg-1.0.0.tgz"),
            FileKind::Archive(ArchiveKind::TarGz)
        );
        assert_eq!(classify(b"x.tar.gz"), FileKind::Archive(ArchiveKind::TarGz));
        assert_eq!(classify(b"ext.vsix"), FileKind::Archive(ArchiveKind::Zip));
        assert_eq!(classify(b"_headers"), FileKind::Headers(HeaderFile::Lines));
        assert_eq!(classify(b"index.HTML"), FileKind::Html);
        assert_eq!(classify(b"m.wasm"), FileKind::Wasm);
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

    #[test]
    fn eval_maps_are_stuck_leaks_and_not_cut() {
        // {"version":3,"sources":["a.js"],"mappings":"AAAA"}
        let src = br#"eval("var a = 1;\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,eyJ2ZXJzaW9uIjozLCJzb3VyY2VzIjpbImEuanMiXSwibWFwcGluZ3MiOiJBQUFBIn0=\n//# sourceURL=webpack-internal:///./src/a.js");"#;
        let a = analyze(b"main.js", src);
        assert!(a.refs.is_empty());
        assert_eq!(a.stuck.len(), 1);
        assert_eq!(a.stuck[0].kind, LeakKind::EvalMap);
        // Percent-encoded or escaped JSON bodies count too.
        let src = br#"new Function("b()\n//# sourceMappingURL=data:application/json,{\"mappings\":\"AAAA\"}");"#;
        assert_eq!(analyze(b"f.js", src).stuck.len(), 1);
        // Code that merely builds such a comment is not a dev build: terser's and
        // @swc/cli's own code, a payload that is not a map, prose.
        for src in [
            &br#"var c = "//# sourceMappingURL=" + url;"#[..],
            br#"result.code += "\n//# sourceMappingURL=data:application/json;charset=utf-8;base64," + to_base64(sourceMap);"#,
            br#"out = `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${b64}`;"#,
            br#"console.log("\n//# sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozfQ==");"#,
            br#"s = "tools append //# sourceMappingURL=data:application/json;base64,... to the file";"#,
        ] {
            let a = analyze(b"a.js", src);
            assert!(a.stuck.is_empty(), "{}", String::from_utf8_lossy(src));
            assert!(a.refs.is_empty(), "{}", String::from_utf8_lossy(src));
        }
    }

    #[test]
    fn compressed_copies_are_scanned_inside() -> std::io::Result<()> {
        let js = b"x();\n//# sourceMappingURL=x.js.map\n";
        let gz = compress::compress(Codec::Gzip, js)?;
        let a = analyze(b"x.js.gz", &gz);
        let l = leaks(&a, &gz);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].kind, LeakKind::MapReference);
        assert!(
            l[0].message.starts_with("in gzip copy of x.js"),
            "{}",
            l[0].message
        );
        let map = compress::compress(
            Codec::Brotli,
            br#"{"version":3,"sources":[],"mappings":""}"#,
        )?;
        let a = analyze(b"x.js.map.br", &map);
        assert_eq!(leaks(&a, &map)[0].kind, LeakKind::SourceMap);
        assert!(analyze(b"bad.js.gz", b"not gzip").error.is_some());
        Ok(())
    }
}
