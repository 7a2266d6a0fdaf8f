//! Shared checks for mapvault's fuzz targets: the properties every reference list from a
//! scanner must have, whatever the input.

use std::ops::Range;

use mapvault::scan::js::{Form, Reference};
use mapvault::scan::embedded::wrapped_data_uri;
use mapvault::scan::pattern::{line_of, line_terminator_len, match_source_map_url};

/// The text the ECMA-426 pattern is applied to: what follows `//`, or what sits between `/*`
/// and `*/` (to the end of the span when a block comment is unterminated).
pub fn comment_text(src: &[u8], span: &Range<usize>, block: bool) -> Range<usize> {
    let s = &src[span.clone()];
    if block && s.len() >= 4 && s.ends_with(b"*/") {
        span.start + 2..span.end - 2
    } else {
        span.start + 2..span.end
    }
}

/// Spans must be in bounds, sorted and non-overlapping and hold their URL. Comment references
/// must also start with `//` or `/*` (matching their form), match the pattern exactly at that
/// URL and carry the right line; a line comment never contains a line terminator and a closed
/// block comment never contains an earlier `*/`. Other forms (WebAssembly sections, header
/// lines) get the bounds, order and cut checks only.
pub fn check_refs(src: &[u8], refs: &[Reference]) {
    let mut prev_end = 0usize;
    for (i, r) in refs.iter().enumerate() {
        let span = &r.span;
        assert!(
            span.start < span.end && span.end <= src.len(),
            "ref {i}: span {span:?} out of bounds (len {})",
            src.len()
        );
        assert!(
            span.start >= prev_end,
            "ref {i}: span {span:?} overlaps or precedes the previous one (ended at {prev_end})"
        );
        prev_end = span.end;
        assert!(
            span.start <= r.url.start && r.url.start <= r.url.end && r.url.end <= span.end,
            "ref {i}: url {:?} not inside span {span:?}",
            r.url
        );
        // What seal leaves in place of the comment holds no token: white space and line
        // breaks, at most wrapped in an empty CSS comment.
        let fill = r.fill.strip_prefix("/*").and_then(|f| f.strip_suffix("*/")).unwrap_or(&r.fill);
        // (A UTF-16 file's fill is its code units spelled as bytes: not checked here.)
        let utf16 = src.starts_with(b"\xff\xfe") || src.starts_with(b"\xfe\xff");
        assert!(
            utf16 || fill.chars().all(|c| matches!(c, ' ' | '\n' | '\r' | '\x0c' | '\u{2028}' | '\u{2029}')),
            "ref {i}: fill {:?} is not white space",
            r.fill
        );
        let block = match r.form {
            Form::LineComment => false,
            Form::BlockComment => true,
            Form::WasmSection | Form::Header => continue,
        };
        let text = &src[span.clone()];
        let opener: &[u8] = if block { b"/*" } else { b"//" };
        assert!(
            text.starts_with(opener),
            "ref {i}: span {span:?} does not start with {:?} ({:?})",
            String::from_utf8_lossy(opener),
            r.form
        );
        let inner = comment_text(src, span, block);
        let want = Some(r.url.start - inner.start..r.url.end - inner.start);
        // A base64 `data:` URI wrapped across lines counts in a block comment.
        let m = match_source_map_url(&src[inner.clone()])
            .filter(|m| Some(m) == want.as_ref())
            .or_else(|| block.then(|| wrapped_data_uri(&src[inner.clone()])).flatten());
        assert_eq!(
            m,
            want,
            "ref {i}: comment text {:?} does not match the pattern at url {:?}",
            String::from_utf8_lossy(&src[inner.clone()]),
            r.url
        );
        if block {
            if text.len() >= 4 && text.ends_with(b"*/") {
                assert!(
                    memchr::memmem::find(&text[2..text.len() - 2], b"*/").is_none(),
                    "ref {i}: block comment {span:?} contains an earlier */"
                );
            }
        } else {
            assert!(
                (0..text.len()).all(|k| line_terminator_len(text, k) == 0),
                "ref {i}: line comment {span:?} contains a line terminator"
            );
        }
        assert_eq!(r.line, line_of(src, span.start), "ref {i}: wrong line");
    }
    check_cut(src, refs);
}

/// Removing the spans changes no byte outside them: cutting them out back to front (as an
/// in-place editor would) gives exactly the concatenation of the gaps between them, and the
/// lengths add up.
pub fn check_cut(src: &[u8], refs: &[Reference]) {
    let mut gaps = Vec::with_capacity(src.len());
    let mut at = 0;
    for r in refs {
        gaps.extend_from_slice(&src[at..r.span.start]);
        at = r.span.end;
    }
    gaps.extend_from_slice(&src[at..]);

    let mut cut = src.to_vec();
    for r in refs.iter().rev() {
        cut.drain(r.span.clone());
    }
    let removed: usize = refs.iter().map(|r| r.span.len()).sum();
    assert_eq!(cut.len() + removed, src.len(), "cut length does not add up");
    assert!(cut == gaps, "cutting the spans changed bytes outside them");
}
