//! Finding `/*# sourceMappingURL=… */` (and `/*@ … */`) comments in CSS.
//!
//! CSS has only block comments. A small tokenizer skips strings (`"…"`, `'…'` with escapes;
//! an unescaped newline ends a bad string, as in CSS Syntax §4.3.5) and unquoted `url(…)`,
//! inside which `/*` does not start a comment, so text in them is never taken for a reference.

use memchr::memmem;

use super::js::{Form, Reference, assign_lines};
use super::pattern::{NEEDLE, match_source_map_url};

/// Every reference comment in `src`, in order.
pub fn scan(src: &[u8]) -> Vec<Reference> {
    if memmem::find(src, NEEDLE).is_none() {
        return Vec::new();
    }
    let mut refs = Vec::new();
    let n = src.len();
    let mut i = 0;
    while i < n {
        match src[i] {
            b'/' if src.get(i + 1) == Some(&b'*') => {
                let start = i;
                let (inner_end, end) = match memmem::find(&src[i + 2..], b"*/") {
                    Some(p) => (i + 2 + p, i + 2 + p + 2),
                    None => (n, n),
                };
                let inner = i + 2..inner_end;
                let text = &src[inner.clone()];
                // A base64 `data:` URI wrapped across lines is still one inline map.
                if let Some(u) =
                    match_source_map_url(text).or_else(|| super::embedded::wrapped_data_uri(text))
                {
                    refs.push(Reference {
                        span: start..end,
                        url: inner.start + u.start..inner.start + u.end,
                        line: 0,
                        form: Form::BlockComment,
                        fill: super::cut::css_replacement(src, start..end),
                    });
                }
                i = end;
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < n {
                    match src[i] {
                        b'\\' => i += 2,
                        b'\n' | b'\r' | 0x0c => break,
                        c if c == q => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            b'(' if is_url_call(src, i) => {
                // Unquoted url( … ): runs to the next `)`; quoted forms are handled as strings.
                let mut j = i + 1;
                while j < n && matches!(src[j], b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
                    j += 1;
                }
                if j < n && (src[j] == b'"' || src[j] == b'\'') {
                    i += 1;
                } else {
                    while j < n && src[j] != b')' {
                        j += if src[j] == b'\\' { 2 } else { 1 };
                    }
                    i = j + 1;
                }
            }
            _ => i += 1,
        }
    }
    assign_lines(src, &mut refs);
    refs
}

fn is_url_call(src: &[u8], paren: usize) -> bool {
    paren >= 3 && src[paren - 3..paren].eq_ignore_ascii_case(b"url")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::ops::Range;

    /// CSS with every comment taken out and white space runs squeezed to one space: equal
    /// strings tokenize the same (comments produce no token, a white space run is one token,
    /// and one at either end separates nothing),
    /// so this is an oracle for [`super::super::cut::css_replacement`] that does not share its reasoning.
    fn css_meaning(src: &str) -> String {
        let mut out = String::new();
        let mut rest = src;
        while let Some(i) = rest.find("/*") {
            out.push_str(&rest[..i]);
            rest = rest[i + 2..]
                .find("*/")
                .map_or("", |j| &rest[i + 2 + j + 2..]);
        }
        out.push_str(rest);
        let mut squeezed = String::new();
        for c in out.chars() {
            let ws = matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c');
            if !(ws && squeezed.ends_with(' ')) {
                squeezed.push(if ws { ' ' } else { c });
            }
        }
        // White space at either end of a style sheet separates nothing.
        squeezed.trim_matches(' ').to_owned()
    }

    fn css_piece() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just(".a"),
            Just("b"),
            Just("{"),
            Just("}"),
            Just(":"),
            Just("1px"),
            Just("-"),
            Just("#x"),
            Just(" "),
            Just("\n"),
            Just("\r\n"),
            Just("/*# sourceMappingURL=a.css.map */"),
            Just("/*# sourceMappingURL=\u{1F600}.map\n*/"),
            Just("/* kept */"),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]
        /// Cutting CSS reference comments keeps the token stream and every line and column.
        #[test]
        fn cutting_css_comments_keeps_the_tokens(parts in prop::collection::vec(css_piece(), 1..12)) {
            let src: String = parts.concat();
            let refs = scan(src.as_bytes());
            let spans: Vec<Range<usize>> = refs.iter().map(|r| r.span.clone()).collect();
            let out = String::from_utf8(super::super::cut::apply_css(src.as_bytes(), &spans));
            prop_assert!(out.is_ok());
            let out = out.unwrap_or_default();
            prop_assert_eq!(css_meaning(&src), css_meaning(&out), "{:?} -> {:?}", src, out);
            for r in &refs {
                prop_assert_eq!(&r.fill, &super::super::cut::css_replacement(src.as_bytes(), r.span.clone()));
            }
            // Every line keeps its number.
            let lines = |s: &str| s.split('\n').map(|l| l.chars().map(char::len_utf16).sum::<usize>()).collect::<Vec<_>>();
            prop_assert_eq!(lines(&src).len(), lines(&out).len());
        }
    }

    fn urls(s: &str) -> Vec<&str> {
        scan(s.as_bytes()).into_iter().map(|r| &s[r.url]).collect()
    }

    #[test]
    fn finds_block_references() {
        assert_eq!(
            urls("a{b:c}\n/*# sourceMappingURL=a.css.map */\n"),
            vec!["a.css.map"]
        );
        assert_eq!(urls("a{}/*@ sourceMappingURL=b.map*/"), vec!["b.map"]);
        assert_eq!(
            urls("/*# sourceMappingURL=data:application/json;base64,e30= */"),
            vec!["data:application/json;base64,e30="]
        );
    }

    #[test]
    fn ignores_strings_urls_and_line_comments() {
        assert!(urls(r#"a{content:"/*# sourceMappingURL=x.map */"}"#).is_empty());
        assert!(urls("a{background:url(/*# sourceMappingURL=x.map */)}").is_empty());
        assert!(urls("//# sourceMappingURL=x.map\n").is_empty());
        assert!(urls("/* see sourceMappingURL= docs */").is_empty());
    }

    #[test]
    fn unterminated_comment_runs_to_the_end() {
        let s = "a{}/*# sourceMappingURL=x.map ";
        let r = scan(s.as_bytes());
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].span, 3..s.len());
    }
}
