//! The ECMA-426 `MatchSourceMapURL` pattern, `^[@#]\s*sourceMappingURL=(\S*?)\s*$`, over raw
//! bytes, widened to URLs with spaces inside (see [`match_source_map_url`]), and the
//! JavaScript notions of white space and line terminators it depends on.
//!
//! Everything here is pure and allocation-free: callers hand in the text of one comment (what
//! follows `//`, or what sits between `/*` and `*/`) and get back where the URL is.

use std::ops::Range;

/// The literal every reference contains; scanners look for it with `memmem` before doing
/// anything more expensive.
pub const NEEDLE: &[u8] = b"sourceMappingURL";

/// Length in bytes of the JavaScript white space or line terminator (`\s` in a JS regular
/// expression) starting at `b[i]`, or 0 if there is none there.
///
/// Covers ASCII white space and the non-ASCII code points of Unicode `Zs` plus U+FEFF, U+2028
/// and U+2029, decoded from UTF-8 by hand so that invalid UTF-8 never panics.
#[inline]
pub fn js_space_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') => 1,
        Some(0xc2) if b.get(i + 1) == Some(&0xa0) => 2,
        Some(0xe1) if b.get(i + 1..i + 3) == Some(&[0x9a, 0x80]) => 3,
        Some(0xe2) => match (b.get(i + 1), b.get(i + 2)) {
            (Some(0x80), Some(0x80..=0x8a | 0xa8 | 0xa9 | 0xaf)) => 3,
            (Some(0x81), Some(0x9f)) => 3,
            _ => 0,
        },
        Some(0xe3) if b.get(i + 1..i + 3) == Some(&[0x80, 0x80]) => 3,
        Some(0xef) if b.get(i + 1..i + 3) == Some(&[0xbb, 0xbf]) => 3,
        _ => 0,
    }
}

/// Length of the JavaScript line terminator starting at `b[i]` (LF, CR, U+2028, U+2029), or 0.
/// CRLF counts as the CR alone here; callers that walk lines treat the LF that follows as the
/// next (empty-free) terminator via [`line_break_len`].
#[inline]
pub fn line_terminator_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'\n' | b'\r') => 1,
        Some(0xe2) if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xa8 | 0xa9)) => 3,
        _ => 0,
    }
}

/// Like [`line_terminator_len`] but treats CRLF as one two-byte line break.
#[inline]
pub fn line_break_len(b: &[u8], i: usize) -> usize {
    if b.get(i) == Some(&b'\r') && b.get(i + 1) == Some(&b'\n') {
        2
    } else {
        line_terminator_len(b, i)
    }
}

/// Apply `MatchSourceMapURL` to the text of one comment. Returns the byte range of the URL
/// (capture group 1) within `text`, or `None` when the comment is not a reference.
///
/// One deliberate difference from the spec: the spec's lazy `(\S*?)\s*$` rejects a URL with
/// white space inside, so browsers ignore `sourceMappingURL=my chunk.js.map`. But such a
/// comment still names the map, and bundlers write it for real (rspack, for a chunk whose name
/// has a space), so here the URL runs from `=` to the last non-space character and the comment
/// counts as a reference: verify reports it, seal strips it. A line break inside the URL still
/// rejects it: that is a block comment going on as prose.
pub fn match_source_map_url(text: &[u8]) -> Option<Range<usize>> {
    let mut i = match text.first() {
        Some(b'#' | b'@') => 1,
        _ => return None,
    };
    loop {
        let n = js_space_len(text, i);
        if n == 0 {
            break;
        }
        i += n;
    }
    let rest = text.get(i..)?;
    if !rest.starts_with(b"sourceMappingURL=") {
        return None;
    }
    let start = i + b"sourceMappingURL=".len();
    let mut j = start;
    while j < text.len() && js_space_len(text, j) == 0 {
        j += 1;
    }
    // The spec's URL ends here; only white space should follow. More URL after a space or tab
    // extends it, and after a line break rejects the comment.
    let mut end = j;
    let mut line_broke = false;
    while j < text.len() {
        match js_space_len(text, j) {
            0 if line_broke => return None,
            0 => {
                j += 1;
                end = j;
            }
            n => {
                line_broke |= line_terminator_len(text, j) > 0;
                j += n;
            }
        }
    }
    Some(start..end)
}

/// 1-based line number of byte offset `at`, counting JavaScript line breaks (CRLF once).
pub fn line_of(src: &[u8], at: usize) -> u64 {
    let at = at.min(src.len());
    let head = &src[..at];
    // LF and lone CR; then the rare U+2028/U+2029.
    let mut lines = 1u64;
    lines += memchr::memchr_iter(b'\n', head).count() as u64;
    for p in memchr::memchr_iter(b'\r', head) {
        if head.get(p + 1) != Some(&b'\n') {
            lines += 1;
        }
    }
    if memchr::memchr(0xe2, head).is_some() {
        let mut k = 0;
        while let Some(p) = memchr::memchr(0xe2, &head[k..]) {
            let p = k + p;
            if line_terminator_len(head, p) == 3 {
                lines += 1;
            }
            k = p + 1;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(t: &str) -> Option<&str> {
        match_source_map_url(t.as_bytes()).map(|r| &t[r])
    }

    #[test]
    fn matches_the_spec_pattern() {
        assert_eq!(url("# sourceMappingURL=a.js.map"), Some("a.js.map"));
        assert_eq!(url("@ sourceMappingURL=a.js.map"), Some("a.js.map"));
        assert_eq!(url("#sourceMappingURL=a.js.map"), Some("a.js.map"));
        assert_eq!(url("#  \t sourceMappingURL=a.js.map  \t"), Some("a.js.map"));
        assert_eq!(url("# sourceMappingURL="), Some(""));
        assert_eq!(url("# sourceMappingURL=a.map\u{a0}"), Some("a.map"));
        assert_eq!(url("# sourceMappingURL=a.map\u{2028}"), Some("a.map"));
    }

    /// Unlike the spec: a URL with spaces or tabs inside is still a reference (it names the
    /// map); one with a line break inside is not.
    #[test]
    fn takes_urls_with_spaces_inside() {
        assert_eq!(url("# sourceMappingURL=a b"), Some("a b"));
        assert_eq!(
            url("# sourceMappingURL=my chunk ü#1.js.map \t"),
            Some("my chunk ü#1.js.map")
        );
        assert_eq!(url("@ sourceMappingURL=a\u{a0}b.map"), Some("a\u{a0}b.map"));
        assert_eq!(url("# sourceMappingURL=a.map\nmore prose"), None);
        assert_eq!(url("# sourceMappingURL=a.map\r\nb"), None);
        assert_eq!(url("# sourceMappingURL=a\u{2028}b"), None);
        assert_eq!(url("# sourceMappingURL=a.map\n  \n"), Some("a.map"));
    }

    #[test]
    fn rejects_what_the_spec_rejects() {
        assert_eq!(url(" # sourceMappingURL=a.map"), None);
        assert_eq!(url("# sourceMappingUrl=a"), None);
        assert_eq!(url("# sourceURL=a.js"), None);
        assert_eq!(url("# debugId=85314830-023f-4cf1-a267-535f4e37bb17"), None);
        assert_eq!(url("see sourceMappingURL=x"), None);
        assert_eq!(url(""), None);
        assert_eq!(url("#"), None);
    }

    #[test]
    fn invalid_utf8_never_panics() {
        assert_eq!(
            match_source_map_url(b"# sourceMappingURL=\xff\xfe"),
            Some(19..21)
        );
        assert_eq!(match_source_map_url(b"#\xe2\x80"), None);
        assert_eq!(js_space_len(b"\xe2", 0), 0);
        assert_eq!(js_space_len(b"\xc2", 0), 0);
    }

    #[test]
    fn line_numbers_count_every_terminator_once() {
        let s = b"a\nb\r\nc\rd\xe2\x80\xa8e";
        assert_eq!(line_of(s, 0), 1);
        assert_eq!(line_of(s, 2), 2);
        assert_eq!(line_of(s, 5), 3);
        assert_eq!(line_of(s, 7), 4);
        assert_eq!(line_of(s, 11), 5);
    }
}
