//! A careful, non-recursive JavaScript lexer that finds comments without building an AST.
//!
//! Two jobs:
//! 1. The *fallback* when `oxc_parser` cannot be trusted on a file (it reported a diagnostic, the
//!    file is not UTF-8, or it is nested too deeply to parse safely). It skips string, template
//!    (with `${}` nesting) and regular-expression literals, so text inside them is never taken for
//!    a comment. The one guess a lexer must make — whether `/` starts a regular expression or is a
//!    division — follows the previous significant token, like every JS highlighter does.
//! 2. A conservative *recursion estimate* for the parser: how many syntactic constructs can be open
//!    at once. `oxc_parser` is a recursive-descent parser without a depth limit; a few thousand
//!    nested constructs overflow a normal thread stack and abort the process. See
//!    [`LexOutput::depth_estimate`] for what is counted.
//!
//! The lexer works on bytes, never panics, and accepts any input (invalid UTF-8, NUL bytes,
//! unterminated literals): whatever it cannot close runs to the end of the file.

use std::ops::Range;

use super::pattern::{js_space_len, line_terminator_len};

/// One comment found by the lexer: its full span including delimiters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexComment {
    pub span: Range<usize>,
    pub block: bool,
}

#[derive(Debug, Default)]
pub struct LexOutput {
    pub comments: Vec<LexComment>,
    /// An upper estimate of the parser's recursion depth: the sum, over every open bracket
    /// level, of the significant tokens since that level's last `;` or `,` (tokens of
    /// `else` and `do` are never reset, because their frames outlive a `;`), plus the number of
    /// open levels. Real parser depth is bounded by it up to a constant factor per token.
    pub depth_estimate: usize,
    /// False when the input ended inside a literal or comment.
    pub complete: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// Start of input, or a punctuator after which an expression starts: `/` is a regex.
    ExprStart,
    /// An identifier, number, literal, `)` or `]`: `/` is a division.
    Value,
    /// `}`: a block end far more often than an object literal in positions followed by `/`.
    CloseBrace,
}

#[derive(Default, Clone, Copy)]
struct Level {
    seg: usize,
    sticky: usize,
    /// This level was opened by `${` inside a template literal.
    template: bool,
}

/// Keywords after which `/` starts a regular expression.
const REGEX_AFTER: &[&[u8]] = &[
    b"return",
    b"typeof",
    b"instanceof",
    b"in",
    b"of",
    b"new",
    b"delete",
    b"void",
    b"throw",
    b"case",
    b"do",
    b"else",
    b"yield",
    b"await",
];

/// Statement keywords whose parser frames stay open across a `;`: the `if` an `else` belongs to
/// (an `else if` chain nests one frame per link) and `do … ; while (…)`.
const STICKY: &[&[u8]] = &[b"else", b"do"];

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'\\' || c >= 0x80
}

/// Lex `src` as JavaScript (or TypeScript; types add no literal forms that matter here).
pub fn lex(src: &[u8]) -> LexOutput {
    let mut out = LexOutput {
        complete: true,
        ..LexOutput::default()
    };
    let mut levels: Vec<Level> = vec![Level::default()];
    let mut est_sum: usize = 0; // Σ (seg + sticky) over levels, kept incrementally
    let mut prev = Prev::ExprStart;
    let n = src.len();
    let mut i = 0usize;
    // Hashbang: only at the very start; it is not a comment for our purposes.
    if src.starts_with(b"#!") {
        while i < n && line_terminator_len(src, i) == 0 {
            i += 1;
        }
    }
    macro_rules! token {
        () => {{
            if let Some(top) = levels.last_mut() {
                top.seg += 1;
                est_sum += 1;
            }
            let est = est_sum + levels.len();
            if est > out.depth_estimate {
                out.depth_estimate = est;
            }
        }};
    }
    'outer: while i < n {
        let c = src[i];
        // White space and line terminators.
        let ws = js_space_len(src, i);
        if ws > 0 {
            i += ws;
            continue;
        }
        match c {
            b'/' if src.get(i + 1) == Some(&b'/') => {
                let start = i;
                i += 2;
                while i < n && line_terminator_len(src, i) == 0 {
                    i += 1;
                }
                out.comments.push(LexComment {
                    span: start..i,
                    block: false,
                });
            }
            b'/' if src.get(i + 1) == Some(&b'*') => {
                let start = i;
                match memchr::memmem::find(&src[i + 2..], b"*/") {
                    Some(p) => i = i + 2 + p + 2,
                    None => {
                        i = n;
                        out.complete = false;
                    }
                }
                out.comments.push(LexComment {
                    span: start..i,
                    block: true,
                });
            }
            b'/' if prev != Prev::Value => {
                // Regular expression literal.
                token!();
                i += 1;
                let mut in_class = false;
                loop {
                    if i >= n {
                        out.complete = false;
                        break 'outer;
                    }
                    if line_terminator_len(src, i) > 0 {
                        // Not a valid regex after all; resume lexing from the line break.
                        break;
                    }
                    match src[i] {
                        b'\\' => i += 2,
                        b'[' => {
                            in_class = true;
                            i += 1;
                        }
                        b']' => {
                            in_class = false;
                            i += 1;
                        }
                        b'/' if !in_class => {
                            i += 1;
                            while i < n && is_ident_byte(src[i]) && src[i] < 0x80 {
                                i += 1;
                            }
                            break;
                        }
                        _ => i += 1,
                    }
                }
                prev = Prev::Value;
            }
            b'\'' | b'"' => {
                token!();
                i += 1;
                loop {
                    if i >= n {
                        out.complete = false;
                        break 'outer;
                    }
                    let d = src[i];
                    if d == c {
                        i += 1;
                        break;
                    }
                    if d == b'\\' {
                        // Escapes, including line continuations (`\` CR LF counts as one).
                        i += 1;
                        if src.get(i) == Some(&b'\r') && src.get(i + 1) == Some(&b'\n') {
                            i += 2;
                        } else {
                            i += line_terminator_len(src, i).max(1);
                        }
                        continue;
                    }
                    if d == b'\n' || d == b'\r' {
                        // Unterminated string: a syntax error; end it at the line break.
                        break;
                    }
                    i += 1;
                }
                prev = Prev::Value;
            }
            b'`' => {
                token!();
                i += 1;
                match lex_template_chars(src, &mut i) {
                    TemplateStop::End => prev = Prev::Value,
                    TemplateStop::Expr => {
                        levels.push(Level {
                            template: true,
                            ..Level::default()
                        });
                        prev = Prev::ExprStart;
                    }
                    TemplateStop::Eof => {
                        out.complete = false;
                        break;
                    }
                }
            }
            b'}' if levels.last().is_some_and(|l| l.template) && levels.len() > 1 => {
                // End of a `${ }` substitution: back inside the template literal.
                if let Some(l) = levels.pop() {
                    est_sum -= l.seg + l.sticky;
                }
                i += 1;
                match lex_template_chars(src, &mut i) {
                    TemplateStop::End => prev = Prev::Value,
                    TemplateStop::Expr => {
                        levels.push(Level {
                            template: true,
                            ..Level::default()
                        });
                        prev = Prev::ExprStart;
                    }
                    TemplateStop::Eof => {
                        out.complete = false;
                        break;
                    }
                }
            }
            b'(' | b'[' | b'{' => {
                token!();
                levels.push(Level::default());
                i += 1;
                prev = Prev::ExprStart;
            }
            b')' | b']' | b'}' => {
                if levels.len() > 1
                    && let Some(l) = levels.pop()
                {
                    est_sum -= l.seg + l.sticky;
                }
                i += 1;
                prev = if c == b'}' {
                    Prev::CloseBrace
                } else {
                    Prev::Value
                };
            }
            b';' | b',' => {
                if let Some(top) = levels.last_mut() {
                    est_sum -= top.seg;
                    top.seg = 0;
                }
                i += 1;
                prev = Prev::ExprStart;
            }
            b'0'..=b'9' | b'.' if c != b'.' || src.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                token!();
                while i < n && (is_ident_byte(src[i]) || src[i] == b'.') && src[i] < 0x80 {
                    // Exponent signs: 1e-5
                    if (src[i] == b'e' || src[i] == b'E')
                        && matches!(src.get(i + 1), Some(b'+' | b'-'))
                        && !src[..i].ends_with(b"0x")
                    {
                        i += 1;
                    }
                    i += 1;
                }
                prev = Prev::Value;
            }
            _ if is_ident_byte(c) => {
                let start = i;
                while i < n && is_ident_byte(src[i]) && js_space_len(src, i) == 0 {
                    i += 1;
                }
                let word = &src[start..i];
                token!();
                if STICKY.contains(&word)
                    && let Some(top) = levels.last_mut()
                {
                    top.sticky += 1;
                    est_sum += 1;
                }
                prev = if REGEX_AFTER.contains(&word) {
                    Prev::ExprStart
                } else {
                    Prev::Value
                };
            }
            b'+' | b'-' if src.get(i + 1) == Some(&c) => {
                // `++`/`--`: postfix far more often than prefix before a `/`.
                token!();
                i += 2;
                prev = Prev::Value;
            }
            _ => {
                // Any other punctuator (operators, `=>`, `?`, `!`, `#`, NUL, stray bytes).
                token!();
                i += 1;
                prev = Prev::ExprStart;
            }
        }
    }
    if levels.iter().any(|l| l.template) {
        out.complete = false;
    }
    out
}

enum TemplateStop {
    End,
    Expr,
    Eof,
}

/// Scan template characters from `*i` (just after "`" or a closing `}`) to the closing
/// backtick or the next `${`.
fn lex_template_chars(src: &[u8], i: &mut usize) -> TemplateStop {
    let n = src.len();
    while *i < n {
        match src[*i] {
            b'\\' => *i += 2,
            b'`' => {
                *i += 1;
                return TemplateStop::End;
            }
            b'$' if src.get(*i + 1) == Some(&b'{') => {
                *i += 2;
                return TemplateStop::Expr;
            }
            _ => *i += 1,
        }
    }
    *i = n;
    TemplateStop::Eof
}

/// Comments found by [`lex`], as `(span, is_block)`.
pub fn comments(src: &[u8]) -> Vec<LexComment> {
    lex(src).comments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        comments(src.as_bytes())
            .into_iter()
            .map(|c| &src[c.span])
            .collect()
    }

    #[test]
    fn finds_line_and_block_comments() {
        assert_eq!(texts("a // x\nb /* y */ c"), vec!["// x", "/* y */"]);
        assert_eq!(texts("a\r\n//# s=1\r\n"), vec!["//# s=1"]);
    }

    #[test]
    fn strings_templates_and_regexes_are_not_comments() {
        assert!(texts(r#"var a = "//# x", b = '/* y */';"#).is_empty());
        assert!(texts("var a = `\n//# x\n${ '//' + `//${ 1 }` }\n// `;").is_empty());
        assert!(texts(r"var r = /\/\/# x/g, s = /[/]*/;").is_empty());
        assert_eq!(texts("var a = b / c // real\n"), vec!["// real"]);
        assert_eq!(texts("x = a[1] / 2 /* d */"), vec!["/* d */"]);
        assert!(texts("if (a) return /\\/\\/x/.test(b)").is_empty());
        assert_eq!(
            texts("var s = 'a\\\n// not a comment'; // yes"),
            vec!["// yes"]
        );
    }

    #[test]
    fn template_expressions_nest() {
        let src = "t = `a ${ {b: `c ${ d /* in expr */ }`} } e // not`; // after";
        assert_eq!(texts(src), vec!["/* in expr */", "// after"]);
    }

    #[test]
    fn unterminated_input_is_reported_not_fatal() {
        assert!(!lex(b"a = '").complete || lex(b"a = '").comments.is_empty());
        assert!(!lex(b"/* open").complete);
        assert!(!lex(b"`open ${").complete);
        let _ = lex(b"\xff\xfe\x00/\\");
        let _ = lex(b"/");
        let _ = lex(b"\\");
    }

    #[test]
    fn depth_estimate_grows_with_nesting_and_chains() {
        let flat = lex(b"a(1);b(2);c(3);d(4);e(5);").depth_estimate;
        let deep = lex("(".repeat(5000).as_bytes()).depth_estimate;
        let arrows = lex("a=>".repeat(5000).as_bytes()).depth_estimate;
        let elifs = lex("if(a)b;else ".repeat(5000).as_bytes()).depth_estimate;
        let nots = lex(format!("x={}1", "!".repeat(5000)).as_bytes()).depth_estimate;
        let labels = lex("a:".repeat(5000).as_bytes()).depth_estimate;
        let big_object = lex(format!("x={{{}}}", "a:1,".repeat(5000)).as_bytes()).depth_estimate;
        assert!(flat < 10, "{flat}");
        assert!(deep >= 5000, "{deep}");
        assert!(arrows >= 5000, "{arrows}");
        assert!(elifs >= 5000, "{elifs}");
        assert!(nots >= 5000, "{nots}");
        assert!(labels >= 5000, "{labels}");
        assert!(big_object < 10, "{big_object}");
    }
}
