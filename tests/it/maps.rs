//! Source-map knowledge the tests need, written independently of mapvault's scanner so the two
//! check each other: a line-based reference finder for well-formed bundler output, `data:` URI
//! decoding, JavaScript line splitting with UTF-16 columns, and the structural check that a
//! map's tokens still point at the same generated text after seal.

use std::ops::Range;

use base64::Engine;
use sourcemap::{DecodedMap, SourceMap};

/// A reference comment found by [`line_references`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The comment's bytes: `//# sourceMappingURL=…` up to the end of the line (not its
    /// terminator), or `/*# … */` through the closing `*/`.
    pub span: Range<usize>,
    pub url: String,
    /// 1-based.
    pub line: u64,
}

impl Reference {
    pub fn is_inline(&self) -> bool {
        self.url.len() >= 5 && self.url[..5].eq_ignore_ascii_case("data:")
    }

    /// The leak kind verify should report for it.
    pub fn kind(&self) -> &'static str {
        if self.is_inline() {
            "inline-map"
        } else {
            "map-reference"
        }
    }
}

/// Reference comments in *well-formed bundler output*: lines that are, after leading white
/// space, `//# sourceMappingURL=URL`, `//@ …`, `/*# sourceMappingURL=URL */` or `/*@ … */`.
/// Deliberately naive (line based, no parsing): use it only for files whose strings do not
/// contain the annotation text, such as the real bundler fixtures.
pub fn line_references(bytes: &[u8]) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut line = 1;
    while start <= bytes.len() {
        let nl = bytes[start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(bytes.len(), |i| start + i);
        let mut end = nl;
        if end > start && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        if let Some(r) = reference_in_line(bytes, start, end, line) {
            out.push(r);
        }
        if nl == bytes.len() {
            break;
        }
        start = nl + 1;
        line += 1;
    }
    out
}

fn reference_in_line(bytes: &[u8], start: usize, end: usize, line: u64) -> Option<Reference> {
    let text = &bytes[start..end];
    let lead = text.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let c = &text[lead..];
    if c.len() < 3 || !matches!(&c[..3], b"//#" | b"//@" | b"/*#" | b"/*@") {
        return None;
    }
    let block = c[1] == b'*';
    let body_end = if block {
        let trimmed = c.trim_ascii_end();
        if !trimmed.ends_with(b"*/") {
            return None;
        }
        trimmed.len() - 2
    } else {
        c.len()
    };
    let body = &c[3..body_end];
    let body = body.trim_ascii_start();
    // Spaces inside the URL are allowed: the comment still names a map (mapvault's one
    // departure from ECMA-426's pattern).
    let url = body.strip_prefix(b"sourceMappingURL=")?.trim_ascii_end();
    let comment_start = start + lead;
    let comment_end = if block {
        comment_start + c.trim_ascii_end().len()
    } else {
        end
    };
    Some(Reference {
        span: comment_start..comment_end,
        url: String::from_utf8_lossy(url).into_owned(),
        line,
    })
}

/// Decode a `data:` URI (`;base64` or percent-encoded), as a browser would.
pub fn decode_data_uri(url: &str) -> Vec<u8> {
    let rest = url
        .get(5..)
        .filter(|_| url[..5].eq_ignore_ascii_case("data:"))
        .unwrap_or_else(|| panic!("not a data: URI: {url:.60}"));
    let (header, body) = rest
        .split_once(',')
        .unwrap_or_else(|| panic!("data: URI without a comma: {url:.60}"));
    let body: Vec<u8> = percent_encoding::percent_decode_str(body).collect();
    if header.to_ascii_lowercase().ends_with(";base64") {
        base64::engine::general_purpose::STANDARD
            .decode(&body)
            .unwrap_or_else(|e| panic!("bad base64 in data: URI: {e}"))
    } else {
        body
    }
}

/// Resolve a relative map URL against the `/`-separated dist path of the file that carries it;
/// `None` for absolute URLs or paths that leave the dist.
pub fn resolve(file: &str, url: &str) -> Option<String> {
    if url.contains("://") || url.starts_with("data:") || url.starts_with('/') {
        return None;
    }
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Cut `spans` (sorted, disjoint) out of `bytes`.
pub fn cut(bytes: &[u8], spans: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut pos = 0;
    for s in spans {
        assert!(s.start >= pos, "spans overlap or are unsorted: {spans:?}");
        out.extend_from_slice(&bytes[pos..s.start]);
        pos = s.end;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

/// Count of `needle` bytes — for "seal keeps the line count" checks.
pub fn count(bytes: &[u8], needle: u8) -> usize {
    bytes.iter().filter(|&&c| c == needle).count()
}

// ---------------------------------------------------------------------------------------------
// Generated positions

/// Byte ranges of the lines of a generated file, split the way JavaScript and source maps do:
/// at LF, CR, CRLF, U+2028 and U+2029 (terminators excluded from the ranges).
pub fn line_ranges(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (is_break, len) = match bytes[i] {
            b'\n' => (true, 1),
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => (true, 2),
            b'\r' => (true, 1),
            0xE2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) =>
            {
                (true, 3)
            }
            _ => (false, 1),
        };
        if is_break {
            out.push(start..i);
            start = i + len;
        }
        i += len;
    }
    out.push(start..bytes.len());
    out
}

/// A generated file, split into lines once, answering "what text is at (line, UTF-16 col)?".
pub struct Generated<'a> {
    bytes: &'a [u8],
    lines: Vec<Range<usize>>,
}

impl<'a> Generated<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Generated {
            bytes,
            lines: line_ranges(bytes),
        }
    }

    /// Byte offset of 0-based `line`, `col` in UTF-16 code units; `None` if the position is
    /// past the end of the line or inside a surrogate pair. Lines that are not UTF-8 count one
    /// unit per byte.
    pub fn offset(&self, line: u32, col: u32) -> Option<usize> {
        let r = self.lines.get(line as usize)?.clone();
        let text = &self.bytes[r.clone()];
        let col = col as usize;
        match std::str::from_utf8(text) {
            Ok(s) => {
                let mut units = 0;
                for (i, ch) in s.char_indices() {
                    if units == col {
                        return Some(r.start + i);
                    }
                    if units > col {
                        return None;
                    }
                    units += ch.len_utf16();
                }
                (units == col).then_some(r.end)
            }
            Err(_) => (col <= text.len()).then_some(r.start + col),
        }
    }

    /// Up to `n` bytes of text at (line, col), not crossing the end of the line.
    pub fn text_at(&self, line: u32, col: u32, n: usize) -> Option<&'a [u8]> {
        let start = self.offset(line, col)?;
        let end = self.lines[line as usize].end.min(start + n);
        Some(&self.bytes[start..end])
    }
}

/// What [`check_tokens`] looked at.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokenCheck {
    pub tokens: usize,
    pub sampled: usize,
    /// Sampled tokens whose name is the generated text at their position.
    pub names_matched: usize,
    pub named: usize,
}

/// Decode a map (regular or index) into its tokens' generated positions and names.
pub fn decode_tokens(map: &[u8]) -> Result<Vec<(u32, u32, Option<String>)>, String> {
    let decoded = sourcemap::decode_slice(map).map_err(|e| e.to_string())?;
    let collect = |sm: &SourceMap| -> Vec<(u32, u32, Option<String>)> {
        sm.tokens()
            .map(|t| {
                let (l, c) = t.get_dst();
                (l, c, t.get_name().map(str::to_owned))
            })
            .collect()
    };
    Ok(match decoded {
        DecodedMap::Regular(sm) => collect(&sm),
        DecodedMap::Index(ix) => collect(&ix.flatten().map_err(|e| e.to_string())?),
        DecodedMap::Hermes(h) => collect(&h),
    })
}

/// The structural check: for about `samples` tokens of `map` (every k-th plus the first and
/// last), the generated position must exist in `original` and show the same text in `sealed`.
/// Panics with `label` and the first few mismatches.
#[track_caller]
pub fn check_tokens(
    label: &str,
    map: &[u8],
    original: &[u8],
    sealed: &[u8],
    samples: usize,
) -> TokenCheck {
    let tokens = decode_tokens(map).unwrap_or_else(|e| panic!("{label}: map does not decode: {e}"));
    assert!(!tokens.is_empty(), "{label}: map has no tokens");
    let before = Generated::new(original);
    let after = Generated::new(sealed);
    let step = (tokens.len() / samples.max(1)).max(1);
    let mut picks: Vec<usize> = (0..tokens.len()).step_by(step).collect();
    picks.push(tokens.len() - 1);
    picks.dedup();
    let mut check = TokenCheck {
        tokens: tokens.len(),
        ..TokenCheck::default()
    };
    let mut bad = Vec::new();
    for &i in &picks {
        let (l, c, name) = &tokens[i];
        check.sampled += 1;
        let Some(was) = before.text_at(*l, *c, 24) else {
            bad.push(format!("token {i} at {l}:{c} is outside the original file"));
            continue;
        };
        match after.text_at(*l, *c, 24) {
            Some(now) if now == was => {}
            now => bad.push(format!(
                "token {i} at {l}:{c}: original {:?}, sealed {:?}",
                String::from_utf8_lossy(was),
                now.map(String::from_utf8_lossy)
            )),
        }
        if let Some(n) = name {
            check.named += 1;
            if was.starts_with(n.as_bytes()) {
                check.names_matched += 1;
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{label}: {} of {} sampled tokens no longer point at the same generated text:\n  {}",
        bad.len(),
        picks.len(),
        bad.iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_count_surrogate_pairs_twice() {
        let g = Generated::new("a😀b\né".as_bytes());
        assert_eq!(g.text_at(0, 3, 1), Some(&b"b"[..]));
        assert_eq!(g.offset(0, 2), None, "inside a surrogate pair");
        assert_eq!(g.text_at(1, 1, 4), Some(&b""[..]));
        assert_eq!(g.offset(1, 2), None);
    }

    #[test]
    fn lines_split_at_every_js_terminator() {
        let r = line_ranges("a\r\nb\rc\u{2028}d\ne".as_bytes());
        assert_eq!(r.len(), 5);
    }

    #[test]
    fn line_references_finds_both_forms_and_ignores_prose() {
        let src = b"x\n//# sourceMappingURL=a.map\r\n/*# sourceMappingURL=b.map*/\n// see sourceMappingURL=c\n//# sourceMappingURL=d e.map \n";
        let r = line_references(src);
        assert_eq!(r.len(), 3);
        assert_eq!(&src[r[0].span.clone()], b"//# sourceMappingURL=a.map");
        assert_eq!(&src[r[1].span.clone()], b"/*# sourceMappingURL=b.map*/");
        assert_eq!(r[2].url, "d e.map");
        assert_eq!((r[0].line, r[1].line, r[2].line), (2, 3, 5));
    }

    #[test]
    fn resolve_stays_inside() {
        assert_eq!(resolve("a/b.js", "c.map?x#y").as_deref(), Some("a/c.map"));
        assert_eq!(resolve("b.js", "../c.map"), None);
        assert_eq!(resolve("b.js", "https://x/c.map"), None);
        assert_eq!(
            resolve("b.js", "with%20space.map").as_deref(),
            Some("with space.map")
        );
    }
}
