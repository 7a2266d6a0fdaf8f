//! What a found source-map reference is — its span, URL, line, form and the fill seal puts in
//! its place — shared by every scanner (JS, CSS, HTML, WebAssembly, headers, embedded strings).
//! A leaf of `scan`, so that scanners using each other's results do not import each other.

use std::ops::Range;

/// A reference to a source map that seal can cut out: its whole span (for a comment: delimiters
/// included, line terminator excluded), where the URL is, its 1-based line, and its form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub span: Range<usize>,
    pub url: Range<usize>,
    /// 1-based line (0 for binary formats, where lines mean nothing).
    pub line: u64,
    pub form: Form,
    /// What seal puts in place of `span` so the code around it keeps its meaning and every
    /// column ([`super::cut`]); empty for a plain cut. Text in the file's own encoding (for a
    /// UTF-16 file, its code units spelled as ASCII bytes).
    pub fill: String,
}

/// What kind of reference it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `//# sourceMappingURL=` (or `//@`) line comment.
    LineComment,
    /// `/*# sourceMappingURL= */` block comment.
    BlockComment,
    /// WebAssembly `sourceMappingURL` custom section.
    WasmSection,
    /// `SourceMap:` / `X-SourceMap:` header declared in a static-host config file.
    Header,
    /// A reference comment written literally inside a string or template literal (an
    /// `embedded-reference`, `scan::embedded`): overwritten with spaces, never cut out.
    InString,
}
