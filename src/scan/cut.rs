//! What seal leaves in place of a cut comment, so the program means the same and every mapping
//! stays on its token. Pure functions; the scanners attach the result to each
//! [`super::Reference`] as its `fill`, and seal's edit planning puts it in (the manifest's edit
//! record keeps it as `inserted`, so unseal takes it out again before putting the comment back).
//!
//! Removing comment bytes outright can join tokens (`return/*# … */value` → `returnvalue`) or
//! remove the line break automatic semicolon insertion needed (`x = 1/*# …` + newline +
//! `*/y = 2` → `x = 1y = 2`). The replacement for a JavaScript comment is therefore:
//!
//! 1. every line terminator the comment held, in order and byte for byte (`\n`, `\r\n`, `\r`,
//!    U+2028, U+2029): the lines after it keep their numbers, and ASI sees the same breaks (a
//!    comment holding a line terminator counts as one; a line terminator does too);
//! 2. for the comment's last line (all of it, when it holds no line terminator): nothing when
//!    only white space follows it on that line — the common `//# sourceMappingURL=…` at the end
//!    of a line, cut exactly as before — else one space per UTF-16 code unit of that text, so no
//!    token after it on the line moves (source-map columns count UTF-16 code units) and no two
//!    tokens join.
//!
//! Why not always keep an empty comment of the same shape? It would be as exact, but leaves
//! `/*   */` litter in every bundle; spaces are what a minifier would have written. JavaScript
//! gives white space no meaning beyond separating tokens, and the `-->` HTML-like comment (a
//! comment only at the start of a line) keeps its place because line breaks stay and nothing
//! before it on its line changes from white space to a token.
//!
//! CSS differs in one way: white space is a token there (`.a/**/.b` is one compound selector,
//! `.a .b` a descendant one). Where a CSS comment touches tokens on both sides, it becomes an
//! empty comment of the same shape instead ([`css_replacement`]).
//!
//! For a file decoded before scanning (UTF-16, windows-1252), the fill is worked out on the
//! decoded text and encoded back by [`super::encoding::Enc::encode_fill`].
//!
//! For a leaking reference *inside a string literal* the bytes to overwrite with as many spaces
//! are [`super::embedded::Embedded::span`]: the literal stays one token and every column stays
//! where it is (see [`blank`]).

use std::ops::Range;

use super::pattern::{js_space_len, line_break_len, line_terminator_len};

/// What to put in place of the JavaScript comment at `span` of `src` (the rule above). Text,
/// always: line terminators are copied whole and the rest is spaces.
pub fn replacement(src: &[u8], span: Range<usize>) -> String {
    let comment = &src[span.clone()];
    let mut out = String::new();
    let mut last_line = 0;
    let mut i = 0;
    while i < comment.len() {
        let n = line_break_len(comment, i);
        if n > 0 {
            // LF, CR, CRLF or U+2028/9 in UTF-8: always a whole, valid sequence.
            out.push_str(std::str::from_utf8(&comment[i..i + n]).unwrap_or("\n"));
            i += n;
            last_line = i;
        } else {
            i += 1;
        }
    }
    if !rest_of_line_is_blank(src, span.end, JS) {
        out.extend(std::iter::repeat_n(' ', utf16_units(&comment[last_line..])));
    }
    out
}

/// What to put in place of the CSS comment at `span` of `src`.
///
/// CSS has no automatic semicolons, but white space is a token there: `.a/**/.b` is one
/// compound selector and `.a .b` a descendant one. So where the comment touches a token on
/// both sides, it is replaced by an empty comment of the same shape (`/*`, its line breaks,
/// spaces, `*/`): the token stream is the same (comments produce no token) and nothing moves.
/// Where white space (or the start or end of the text) is on either side, joining is impossible
/// and the JavaScript rule applies with CSS's line breaks (LF, CR, CRLF, form feed).
pub fn css_replacement(src: &[u8], span: Range<usize>) -> String {
    let comment = &src[span.clone()];
    let before_ws = span.start == 0 || css_space(src[span.start - 1]);
    let after_ws = span.end >= src.len() || css_space(src[span.end]);
    let mut out = String::new();
    let mut last_line = 0;
    let mut i = 0;
    while i < comment.len() {
        let n = css_line_break_len(comment, i);
        if n > 0 {
            out.extend(comment[i..i + n].iter().map(|&b| char::from(b)));
            i += n;
            last_line = i;
        } else {
            i += 1;
        }
    }
    if !before_ws && !after_ws && comment.starts_with(b"/*") && comment.ends_with(b"*/") {
        // The whole comment's shape: `/*` and `*/` kept, everything but line breaks blanked.
        let units = utf16_units(&comment[last_line..]);
        let mut shaped = String::from("/*");
        let body = &out;
        shaped.push_str(body);
        let pad = if last_line == 0 {
            units.saturating_sub(4)
        } else {
            units.saturating_sub(2)
        };
        shaped.extend(std::iter::repeat_n(' ', pad));
        shaped.push_str("*/");
        return shaped;
    }
    if !rest_of_line_is_blank(src, span.end, CSS) {
        out.extend(std::iter::repeat_n(' ', utf16_units(&comment[last_line..])));
    }
    out
}

/// Columns in source maps count UTF-16 code units.
fn utf16_units(text: &[u8]) -> usize {
    String::from_utf8_lossy(text)
        .chars()
        .map(char::len_utf16)
        .sum()
}

fn css_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

fn css_line_break_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'\r') if b.get(i + 1) == Some(&b'\n') => 2,
        Some(b'\n' | b'\r' | 0x0c) => 1,
        _ => 0,
    }
}

/// Which grammar's white space and line terminators [`rest_of_line_is_blank`] reads.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Grammar {
    css: bool,
}
const JS: Grammar = Grammar { css: false };
const CSS: Grammar = Grammar { css: true };

/// Only white space from `at` to the end of its line (or of the file)?
fn rest_of_line_is_blank(src: &[u8], at: usize, g: Grammar) -> bool {
    let mut i = at;
    while i < src.len() {
        if g.css {
            if css_line_break_len(src, i) > 0 {
                return true;
            }
            if !css_space(src[i]) {
                return false;
            }
            i += 1;
            continue;
        }
        if line_terminator_len(src, i) > 0 {
            return true;
        }
        let n = js_space_len(src, i);
        if n == 0 {
            return false;
        }
        i += n;
    }
    true
}

/// `src` with the JavaScript comments at `spans` (sorted, disjoint) replaced by
/// [`replacement`].
pub fn apply(src: &[u8], spans: &[Range<usize>]) -> Vec<u8> {
    apply_with(src, spans, replacement)
}

/// `src` with the CSS comments at `spans` replaced by [`css_replacement`].
pub fn apply_css(src: &[u8], spans: &[Range<usize>]) -> Vec<u8> {
    apply_with(src, spans, css_replacement)
}

fn apply_with(
    src: &[u8],
    spans: &[Range<usize>],
    fill: impl Fn(&[u8], Range<usize>) -> String,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    let mut pos = 0;
    for s in spans {
        out.extend_from_slice(&src[pos..s.start]);
        out.extend_from_slice(fill(src, s.clone()).as_bytes());
        pos = s.end;
    }
    out.extend_from_slice(&src[pos..]);
    out
}

/// What to put in place of a reference comment written literally inside a string or template
/// literal (an embedded reference, [`super::embedded`]): every line terminator it holds, byte
/// for byte, and one space per UTF-16 code unit of everything else. The literal stays one
/// valid token of the same shape (a template literal keeps its raw line breaks, so the lines
/// after it keep their numbers), every token after it keeps its line and column, and the string
/// the program sees keeps its `length`, with spaces where the comment was. The span holds no
/// escape (it is only cut when its raw bytes are the cooked text), so no `\` is blanked away
/// from its line continuation. For an ASCII comment — every real one — the fill has the span's
/// exact byte length.
pub fn blank(src: &[u8], span: Range<usize>) -> String {
    let text = &src[span];
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let n = line_break_len(text, i);
        if n > 0 {
            out.push_str(std::str::from_utf8(&text[i..i + n]).unwrap_or("\n"));
            i += n;
            continue;
        }
        // One space per UTF-16 code unit of the character starting here (a stray byte of
        // invalid UTF-8 counts as one, as a lossy decoder shows it).
        let len = match text[i] {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 1,
        };
        let ch = text
            .get(i..i + len)
            .and_then(|c| std::str::from_utf8(c).ok());
        match ch {
            Some(c) => {
                let units = c.chars().map(char::len_utf16).sum();
                out.extend(std::iter::repeat_n(' ', units));
                i += len;
            }
            None => {
                out.push(' ');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
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
    pub(crate) type Tok = (String, String, bool, usize, usize);

    /// Every token, with where a mapping points at it.
    pub(crate) fn tokens(src: &str) -> Option<Vec<Tok>> {
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
    fn css_comments_between_tokens_keep_their_shape() {
        let css = |s: &str, span: Range<usize>| css_replacement(s.as_bytes(), span);
        // Touching tokens on both sides: an empty comment of the same length.
        let src = ".a/*# sourceMappingURL=x.map */.b{}";
        assert_eq!(css(src, 2..31), format!("/*{}*/", " ".repeat(25)));
        // Across lines: the line breaks stay, the last line keeps its width.
        let src = "a/*# sourceMappingURL=x.map\r\n\x0c*/b";
        assert_eq!(css(src, 1..src.len() - 1), "/*\r\n\x0c*/");
        // White space on one side: nothing can join, spaces keep the columns.
        let src = ".a /*# sourceMappingURL=x.map */.b";
        assert_eq!(css(src, 3..32), " ".repeat(29));
        // At the end of a line: cut as always.
        let src = "a{}/*# sourceMappingURL=x.map */\n";
        assert_eq!(css(src, 3..32), "");
        // U+2028 is not a CSS line break: it is blanked like any other character.
        let src = "a/*# sourceMappingURL=x\u{2028}.map */ b";
        assert_eq!(css(src, 1..src.len() - 2), " ".repeat(src.len() - 5));
    }

    #[test]
    fn blank_keeps_the_length_and_line_breaks() {
        let src = b"s = \"a{}/*# sourceMappingURL=x.map */\";";
        let fill = blank(src, 8..36);
        assert_eq!(fill, " ".repeat(28));
        // A template literal's raw line breaks stay; an astral character is two spaces (two
        // UTF-16 code units, as the string's length and the columns count it).
        let src = "`/*# sourceMappingURL=data:,\r\n\u{1F600}\u{2028}x */`";
        let fill = blank(src.as_bytes(), 1..src.len() - 1);
        assert_eq!(
            fill,
            format!("{}\r\n  \u{2028}{}", " ".repeat(27), " ".repeat(4))
        );
        let units = |s: &str| s.encode_utf16().count();
        assert_eq!(units(&fill), units(&src[1..src.len() - 1]));
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
    pub(crate) fn statement() -> impl Strategy<Value = String> {
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
