//! What seal leaves in place of a cut comment, so the program means the same and every mapping
//! stays on its token. Pure functions, for seal's edit planning.
//!
//! Removing comment bytes outright can join tokens (`return/*# … */value` → `returnvalue`) or
//! remove the line break automatic semicolon insertion needed (`x = 1/*# …` + newline +
//! `*/y = 2` → `x = 1y = 2`). The replacement for a comment is therefore:
//!
//! 1. every line terminator the comment held, in order and byte for byte (`\n`, `\r\n`, `\r`,
//!    U+2028, U+2029): the lines after it keep their numbers, and ASI sees the same breaks;
//! 2. for the comment's last line (all of it, when it holds no line terminator): nothing when
//!    only white space follows it on that line — the common `//# sourceMappingURL=…` at the end
//!    of a line, cut exactly as before — else one space per UTF-16 code unit of that text, so no
//!    token after it on the line moves (source-map columns count UTF-16 code units) and no two
//!    tokens join.
//!
//! For a leaking reference *inside a string literal* the bytes to overwrite with as many spaces
//! are [`super::embedded::Embedded::span`]: the literal's length and every offset stay as they
//! are (see [`blank`]).

use std::ops::Range;

use super::pattern::{line_break_len, line_terminator_len};

/// The bytes to put in place of the comment at `span` of `src`.
pub fn replacement(src: &[u8], span: Range<usize>) -> Vec<u8> {
    let comment = &src[span.clone()];
    let mut out = Vec::new();
    let mut last_line = 0;
    let mut i = 0;
    while i < comment.len() {
        let n = line_break_len(comment, i);
        if n > 0 {
            out.extend_from_slice(&comment[i..i + n]);
            i += n;
            last_line = i;
        } else {
            i += 1;
        }
    }
    if !rest_of_line_is_blank(src, span.end) {
        let tail = &comment[last_line..];
        let units: usize = String::from_utf8_lossy(tail)
            .chars()
            .map(char::len_utf16)
            .sum();
        out.resize(out.len() + units, b' ');
    }
    out
}

/// Only white space from `at` to the end of its line (or of the file)?
fn rest_of_line_is_blank(src: &[u8], at: usize) -> bool {
    let mut i = at;
    while i < src.len() {
        if line_terminator_len(src, i) > 0 {
            return true;
        }
        let n = super::pattern::js_space_len(src, i);
        if n == 0 {
            return false;
        }
        i += n;
    }
    true
}

/// `src` with the comments at `spans` (sorted, disjoint) replaced by [`replacement`].
pub fn apply(src: &[u8], spans: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    let mut pos = 0;
    for s in spans {
        out.extend_from_slice(&src[pos..s.start]);
        out.extend(replacement(src, s.clone()));
        pos = s.end;
    }
    out.extend_from_slice(&src[pos..]);
    out
}

/// `src` with the bytes at `span` overwritten by as many spaces (an embedded reference inside a
/// literal: the literal stays valid and nothing moves). `None` when `span` is out of bounds.
pub fn blank(src: &[u8], span: Range<usize>) -> Option<Vec<u8>> {
    let mut out = src.to_vec();
    out.get_mut(span)?.fill(b' ');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxc_allocator::Allocator;
    use oxc_parser::Parser;
    use oxc_parser::config::TokensParserConfig;
    use oxc_span::SourceType;
    use proptest::prelude::*;

    fn cut_all_comments(src: &str) -> Option<String> {
        let alloc = Allocator::default();
        let ret = Parser::new(&alloc, src, SourceType::cjs()).parse();
        if !ret.diagnostics.is_empty() || ret.panicked {
            return None;
        }
        let spans: Vec<Range<usize>> = ret
            .program
            .comments
            .iter()
            .map(|c| c.span.start as usize..c.span.end as usize)
            .collect();
        String::from_utf8(apply(src.as_bytes(), &spans)).ok()
    }

    /// One token: kind, text, whether a line break precedes it, its line and UTF-16 column.
    type Tok = (String, String, bool, usize, usize);

    /// Every token, with where a mapping points at it.
    fn tokens(src: &str) -> Option<Vec<Tok>> {
        let alloc = Allocator::default();
        let ret = Parser::new(&alloc, src, SourceType::cjs())
            .with_config(TokensParserConfig)
            .parse();
        if !ret.diagnostics.is_empty() || ret.panicked {
            return None;
        }
        Some(
            ret.tokens
                .iter()
                .map(|t| {
                    let (s, e) = (t.start() as usize, t.end() as usize);
                    let before = &src[..s];
                    let line_start = before
                        .char_indices()
                        .filter(|(_, c)| matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'))
                        .map(|(k, c)| k + c.len_utf8())
                        .next_back()
                        .unwrap_or(0);
                    let line = before
                        .chars()
                        .filter(|c| matches!(c, '\n' | '\u{2028}' | '\u{2029}'))
                        .count()
                        + before.matches('\r').count()
                        - before.matches("\r\n").count();
                    let col: usize = src[line_start..s].chars().map(char::len_utf16).sum();
                    (
                        format!("{:?}", t.kind()),
                        src[s..e].to_string(),
                        t.is_on_new_line(),
                        line,
                        col,
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn the_issue_examples_keep_their_meaning() {
        let src = "x = 1/*# sourceMappingURL=a.js.map\n*/y = 2";
        assert_eq!(cut_all_comments(src).as_deref(), Some("x = 1\n  y = 2"));
        let src = "function f(){return/*# sourceMappingURL=a.js.map */value}";
        let out = cut_all_comments(src).unwrap_or_default();
        assert_eq!(tokens(src), tokens(&out));
        assert!(out.contains("return "));
        // At the end of a line the comment goes exactly, as seal always cut it.
        let src = "a();\r\n//# sourceMappingURL=a.js.map\r\n";
        assert_eq!(cut_all_comments(src).as_deref(), Some("a();\r\n\r\n"));
        let src = "a();/*# sourceMappingURL=é.map */  \nb()";
        assert_eq!(cut_all_comments(src).as_deref(), Some("a();  \nb()"));
        // Columns count UTF-16 units: an astral character is two spaces.
        let src = "a/*# sourceMappingURL=\u{1F600}.map */+b";
        let out = cut_all_comments(src).unwrap_or_default();
        assert_eq!(tokens(src), tokens(&out));
    }

    #[test]
    fn blank_keeps_the_length() {
        let src = b"s = \"a{}/*# sourceMappingURL=x.map */\";";
        let out = blank(src, 8..36).unwrap_or_default();
        assert_eq!(out.len(), src.len());
        assert_eq!(&out[..8], b"s = \"a{}");
        assert!(out[8..36].iter().all(|&c| c == b' '));
        assert_eq!(blank(src, 30..99), None);
    }

    /// What may separate two tokens: nothing, white space, line breaks, comments (references or
    /// not, one-line or spanning lines, with astral characters).
    fn gap() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just(""),
            Just(" "),
            Just("\n"),
            Just("\r\n"),
            Just("\u{2028}"),
            Just("/*# sourceMappingURL=a.map */"),
            Just("/*# sourceMappingURL=a.map\n*/"),
            Just("/*\r\n# sourceMappingURL=\u{1F600}.map */"),
            Just("/**/"),
            Just("//# sourceMappingURL=a.map\n"),
            Just(" //@ sourceMappingURL=b.map\r\n"),
        ]
    }

    fn operand() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("a"),
            Just("1"),
            Just("'s'"),
            Just("`t${a}`"),
            Just("/re/g"),
            Just("(a)"),
            Just("x++"),
            Just("--y"),
            Just("f()"),
        ]
    }

    fn operator() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("+"),
            Just("-"),
            Just("/"),
            Just("*"),
            Just("<"),
            Just("=="),
            Just("in")
        ]
    }

    /// One statement: operands and operators with gaps between every two tokens, or one of the
    /// forms where a line break matters (`return`, postfix `++`, `-->` at a line start).
    fn statement() -> impl Strategy<Value = String> {
        let expr = (
            operand(),
            prop::collection::vec((gap(), operator(), gap(), operand()), 0..4),
            gap(),
        )
            .prop_map(|(first, rest, end)| {
                let mut s = first.to_string();
                for (g1, op, g2, o) in rest {
                    s.push_str(g1);
                    s.push_str(op);
                    s.push_str(g2);
                    s.push_str(o);
                }
                s.push_str(end);
                s.push(';');
                s
            });
        prop_oneof![
            4 => expr,
            1 => (gap(), gap()).prop_map(|(g, h)| format!("function f(){{return{g}a{h}}}")),
            1 => gap().prop_map(|g| format!("x{g}++\n")),
            1 => gap().prop_map(|g| format!("a{g}\n-->b\n")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, max_global_rejects: 100_000, ..ProptestConfig::default() })]
        /// Whatever the surroundings, cutting every comment leaves the same tokens, with the
        /// same line breaks before them, at the same lines and columns.
        #[test]
        fn cutting_comments_never_changes_the_token_stream(parts in prop::collection::vec(statement(), 1..6)) {
            let src: String = parts.concat();
            let before = tokens(&src);
            prop_assume!(before.is_some());
            let Some(out) = cut_all_comments(&src) else {
                return Err(TestCaseError::fail("cut output is not UTF-8"));
            };
            prop_assert_eq!(before, tokens(&out), "{:?} -> {:?}", src, out);
        }
    }
}
