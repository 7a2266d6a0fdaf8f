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
    ///
    /// Only one guess can put the lexer out of step with the parser: reading a `/` after `}`
    /// or after `of`, `yield` or `await` (which may be plain identifiers) as the start of a
    /// regular expression when it is really a division. Once the lexer has made that guess,
    /// any byte it skips as part of a literal or comment may really be code, so each one is
    /// also counted as a possible level: the estimate stays an upper bound however the guess
    /// turned out.
    pub depth_estimate: usize,
    /// False when the input ended inside a literal or comment.
    pub complete: bool,
    /// Contents of the string literals and template chunks that hold `sourceMappingURL`.
    pub literals: Vec<Range<usize>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// Start of input, or a punctuator after which an expression starts: `/` is a regex.
    ExprStart,
    /// `of`, `yield` or `await`: a regex follows if it is the keyword, a division if it is
    /// an identifier. Taken as a regex, but the guess is uncertain.
    MaybeExprStart,
    /// An identifier, number, literal, `)` or `]`: `/` is a division.
    Value,
    /// `}`: a block end far more often than an object literal in positions followed by `/`.
    CloseBrace,
}

/// What a `{` opened, judged from the token before it, so that a `/` after its `}` is read
/// right: after a block a statement starts (a regex), after an object literal an operator (a
/// division). Only a `{` after `)` that is no statement head (a function body: declaration or
/// expression?), after a name (`class X {`) or after `:` (label or property?) stays unknown,
/// and only then is the guess uncertain.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Brace {
    Block,
    Object,
    #[default]
    Unknown,
}

/// The kind of the previous significant token, as far as [`Brace`] needs it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Start of input, `;`, a block's `{` or `}`, a statement head's `)`, `=>`, `else`, `try`,
    /// `finally`, `do`: a statement (so a block) starts here.
    Statement,
    /// An operator, `(`, `[`, `,`, `?`, or `return`-like keyword: an expression starts here.
    Expression,
    /// Anything else.
    Other,
}

/// Words after which a `{` opens a block.
const BLOCK_AFTER: &[&[u8]] = &[b"else", b"try", b"finally", b"do"];

#[derive(Default, Clone, Copy)]
struct Level {
    /// For a `{` level: what it opened.
    brace: Brace,
    seg: usize,
    sticky: usize,
    /// This level was opened by `${` inside a template literal.
    template: bool,
    /// This level is the `( … )` of an `if`, `while`, `for` or `with`: a statement, so a
    /// regex, may follow its `)`.
    head: bool,
}

/// Keywords after which `/` starts a regular expression.
const REGEX_AFTER: &[&[u8]] = &[
    b"return",
    b"typeof",
    b"instanceof",
    b"in",
    b"new",
    b"delete",
    b"void",
    b"throw",
    b"case",
    b"do",
    b"else",
    b"default",
];

/// Words after which `/` starts a regex only if they are keywords: they can also be plain
/// identifiers (`of` always, `yield` and `await` outside generators and async code).
const MAYBE_REGEX_AFTER: &[&[u8]] = &[b"of", b"yield", b"await"];

/// Keywords whose `( … )` is followed by a statement (`if (a) /re/.test(b)`).
/// (`switch` and `catch` too: only a block can follow theirs, which makes that `{` a block.)
const HEADS: &[&[u8]] = &[b"if", b"while", b"for", b"with", b"switch", b"catch"];

/// Statement keywords whose parser frames stay open across a `;`: the `if` an `else` belongs to
/// (an `else if` chain nests one frame per link) and `do … ; while (…)`.
const STICKY: &[&[u8]] = &[b"else", b"do"];

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'\\' || c >= 0x80
}

/// Lex `src` as JavaScript (or TypeScript; types add no literal forms that matter here).
pub fn lex(src: &[u8]) -> LexOutput {
    lex_with(src, false)
}

/// Like [`lex`], for a grammar with JSX when `jsx` is true. The lexer cannot read JSX text
/// (`<p>don't</p>` has no string in it), so the first `<` where an expression starts makes
/// the depth estimate count skipped bytes, as an uncertain regex does. Comments are found the
/// same way either way.
#[expect(
    clippy::too_many_lines,
    reason = "one pass of the lexer: a single loop over the bytes whose branches share the cursor and the regex/template/brace state"
)]
pub fn lex_with(src: &[u8], jsx: bool) -> LexOutput {
    let mut out = LexOutput {
        complete: true,
        ..LexOutput::default()
    };
    let mut levels: Vec<Level> = vec![Level::default()];
    let mut est_sum: usize = 0; // Σ (seg + sticky) over levels, kept incrementally
    let mut prev = Prev::ExprStart;
    let mut last = Last::Statement;
    // After `function` or `class`: the bracket depth its body `{` will open at, and whether it
    // is a declaration (a statement: a regex may follow its `}`), an expression (a division
    // follows), or unknown.
    let mut body_at: Option<(usize, Brace)> = None;
    // The previous token was `.` (or `?.`): a word here is a property name, never a keyword.
    let mut after_dot = false;
    // The previous word was a statement head: the next `(` opens its condition.
    let mut head_pending = false;
    // See `LexOutput::depth_estimate`: set once a `/` was read as a regex on an uncertain
    // guess; from then on, bytes skipped in literals and comments count as possible nesting.
    let mut unsure = false;
    let mut hidden: usize = 0;
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
            let est = est_sum + levels.len() + hidden;
            if est > out.depth_estimate {
                out.depth_estimate = est;
            }
        }};
    }
    // Account for the bytes `from..to` skipped inside a literal or comment.
    macro_rules! skipped {
        ($from:expr, $to:expr) => {{
            if unsure {
                hidden = hidden.saturating_add($to.min(n).saturating_sub($from));
                let est = est_sum + levels.len() + hidden;
                if est > out.depth_estimate {
                    out.depth_estimate = est;
                }
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
        // Comments leave these as they were; every other token sets them below.
        let is_comment = c == b'/' && matches!(src.get(i + 1), Some(b'/' | b'*'));
        let was_after_dot = after_dot;
        let was_head_pending = head_pending;
        if !is_comment {
            after_dot = false;
            head_pending = false;
        }
        match c {
            b'/' if src.get(i + 1) == Some(&b'/') => {
                let start = i;
                i += 2;
                while i < n && line_terminator_len(src, i) == 0 {
                    i += 1;
                }
                skipped!(start, i);
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
                skipped!(start, i);
                out.comments.push(LexComment {
                    span: start..i,
                    block: true,
                });
            }
            b'/' if prev != Prev::Value => {
                // Regular expression literal.
                token!();
                if matches!(prev, Prev::CloseBrace | Prev::MaybeExprStart) {
                    unsure = true;
                }
                let start = i;
                i += 1;
                let mut in_class = false;
                loop {
                    if i >= n {
                        skipped!(start, n);
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
                skipped!(start, i);
                prev = Prev::Value;
                last = Last::Other;
            }
            b'\'' | b'"' => {
                token!();
                let start = i;
                i += 1;
                loop {
                    if i >= n {
                        skipped!(start, n);
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
                skipped!(start, i);
                let body = start + 1..i.saturating_sub(1).max(start + 1);
                note_literal(src, body, &mut out.literals);
                prev = Prev::Value;
                last = Last::Other;
            }
            b'`' => {
                token!();
                let start = i;
                i += 1;
                let stop = lex_template_chars(src, &mut i);
                skipped!(start, i);
                note_literal(src, start + 1..chunk_end(src, i), &mut out.literals);
                match stop {
                    TemplateStop::End => {
                        prev = Prev::Value;
                        last = Last::Other;
                    }
                    TemplateStop::Expr => {
                        levels.push(Level {
                            template: true,
                            ..Level::default()
                        });
                        prev = Prev::ExprStart;
                        last = Last::Expression;
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
                let start = i;
                i += 1;
                let stop = lex_template_chars(src, &mut i);
                skipped!(start, i);
                note_literal(src, start + 1..chunk_end(src, i), &mut out.literals);
                match stop {
                    TemplateStop::End => {
                        prev = Prev::Value;
                        last = Last::Other;
                    }
                    TemplateStop::Expr => {
                        levels.push(Level {
                            template: true,
                            ..Level::default()
                        });
                        prev = Prev::ExprStart;
                        last = Last::Expression;
                    }
                    TemplateStop::Eof => {
                        out.complete = false;
                        break;
                    }
                }
            }
            b'(' | b'[' | b'{' => {
                token!();
                let brace = match (c, last, body_at) {
                    (b'{', _, Some((depth, kind))) if depth == levels.len() => {
                        body_at = None;
                        kind
                    }
                    (b'{', Last::Statement, _) => Brace::Block,
                    (b'{', Last::Expression, _) => Brace::Object,
                    _ => Brace::Unknown,
                };
                levels.push(Level {
                    head: c == b'(' && was_head_pending,
                    brace,
                    ..Level::default()
                });
                i += 1;
                prev = Prev::ExprStart;
                last = if c == b'{' && brace != Brace::Object {
                    Last::Statement
                } else {
                    Last::Expression
                };
            }
            b')' | b']' | b'}' => {
                let mut head = false;
                let mut brace = Brace::Unknown;
                if levels.len() > 1
                    && let Some(l) = levels.pop()
                {
                    est_sum -= l.seg + l.sticky;
                    head = l.head && c == b')';
                    brace = l.brace;
                }
                i += 1;
                (prev, last) = match c {
                    b'}' => match brace {
                        Brace::Block => (Prev::ExprStart, Last::Statement),
                        Brace::Object => (Prev::Value, Last::Other),
                        Brace::Unknown => (Prev::CloseBrace, Last::Other),
                    },
                    _ if head => (Prev::ExprStart, Last::Statement),
                    _ => (Prev::Value, Last::Other),
                };
            }
            b';' | b',' => {
                if let Some(top) = levels.last_mut() {
                    est_sum -= top.seg;
                    top.seg = 0;
                }
                i += 1;
                prev = Prev::ExprStart;
                last = if c == b';' {
                    Last::Statement
                } else {
                    Last::Expression
                };
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
                last = Last::Other;
            }
            _ if is_ident_byte(c) => {
                let start = i;
                while i < n && is_ident_byte(src[i]) && js_space_len(src, i) == 0 {
                    i += 1;
                }
                let word = &src[start..i];
                token!();
                if !was_after_dot && (word == b"function" || word == b"class") {
                    // A declaration's body ends a statement; an expression's ends a value.
                    let kind = match last {
                        Last::Statement => Brace::Block,
                        Last::Expression => Brace::Object,
                        Last::Other => Brace::Unknown,
                    };
                    body_at = Some((levels.len(), kind));
                }
                last = if !was_after_dot && word == b"async" {
                    // `async function`: the word before `async` decides.
                    last
                } else if was_after_dot || word == b"default" {
                    Last::Other
                } else if BLOCK_AFTER.contains(&word) {
                    Last::Statement
                } else if REGEX_AFTER.contains(&word) {
                    Last::Expression
                } else {
                    Last::Other
                };
                if was_after_dot {
                    // A property name (`a.return / 2`), whatever it spells.
                    prev = Prev::Value;
                } else {
                    if STICKY.contains(&word)
                        && let Some(top) = levels.last_mut()
                    {
                        top.sticky += 1;
                        est_sum += 1;
                    }
                    // `for await (`: the head is still to come.
                    head_pending = HEADS.contains(&word) || (was_head_pending && word == b"await");
                    prev = if REGEX_AFTER.contains(&word) {
                        Prev::ExprStart
                    } else if MAYBE_REGEX_AFTER.contains(&word) {
                        Prev::MaybeExprStart
                    } else {
                        Prev::Value
                    };
                }
            }
            b'+' | b'-' if src.get(i + 1) == Some(&c) => {
                // `++`/`--`: postfix far more often than prefix before a `/`.
                token!();
                i += 2;
                prev = Prev::Value;
                last = Last::Other;
            }
            b'=' if src.get(i + 1) == Some(&b'>') => {
                // `=>`: an arrow body's `{` is a block.
                token!();
                i += 2;
                prev = Prev::ExprStart;
                last = Last::Statement;
            }
            _ => {
                // Any other punctuator (operators, `=>`, `?`, `!`, `#`, NUL, stray bytes).
                token!();
                if jsx && c == b'<' && prev != Prev::Value {
                    unsure = true;
                }
                // `.` and `?.` (not the first two dots of `...`) make the next word a name.
                after_dot = c == b'.' && src.get(i + 1) != Some(&b'.');
                i += 1;
                prev = Prev::ExprStart;
                // `:` ends a label or `case` (a block may follow) or starts a property value or
                // the else-branch of `?:` (an object may follow).
                last = if c == b':' {
                    Last::Other
                } else {
                    Last::Expression
                };
            }
        }
    }
    if levels.iter().any(|l| l.template) {
        out.complete = false;
    }
    out
}

/// End of a template chunk's text that ends before `i` (just after "`" or `${`).
fn chunk_end(src: &[u8], i: usize) -> usize {
    if src[..i].ends_with(b"${") {
        i - 2
    } else if src[..i].ends_with(b"`") {
        i - 1
    } else {
        i
    }
}

/// Keep a literal's contents when they hold the needle (for [`super::embedded`]).
fn note_literal(src: &[u8], body: Range<usize>, out: &mut Vec<Range<usize>>) {
    if let Some(t) = src.get(body.clone())
        && memchr::memmem::find(t, super::pattern::NEEDLE).is_some()
    {
        out.push(body);
    }
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
    fn statement_heads_and_property_names_settle_regex_or_division() {
        // After the `)` of `if`/`while`/`for`/`with` comes a statement: `/` starts a regex.
        assert_eq!(texts("if (a) /'/.test(b) // real\n"), vec!["// real"]);
        assert_eq!(texts(r"for await (x of y) /\//.test(x) // c"), vec!["// c"]);
        // A keyword after `.` is a property name: `/` is a division.
        assert_eq!(texts("x = a.return / 2 // c\n"), vec!["// c"]);
        assert_eq!(texts("x = a?.in / 2 /* c */"), vec!["/* c */"]);
        assert!(texts(r"export default /\/\/ x/g;").is_empty());
    }

    #[test]
    fn a_wrong_regex_guess_cannot_hide_nesting() {
        // Found while fuzzing js_scan: `{}` then a division was read as a regex, hiding the
        // nesting after it from the estimate, and oxc overflowed its stack on 40 KB of input.
        let n = 5000;
        let open = "(".repeat(n);
        let close = ")".repeat(n);
        for src in [
            format!("x={{}}/1+{open}1{close}/1"),
            format!("x=function(){{}}/1+{open}1{close}/1"),
            format!("of=2;x=of/1+{open}1{close}/1"),
            format!("x={{}}/1+!/'/.test(x),{open}1{close}"),
            format!("x={{}}/1+{}1/1", "!".repeat(n)),
        ] {
            let est = lex(src.as_bytes()).depth_estimate;
            assert!(est >= n, "{est} for {}", &src[..20]);
        }
        // A regex after a statement head, a property named like a keyword, and `if` after a
        // dot are no guesses: nothing extra is counted.
        for src in [
            format!("if(a)/'/.test(b);x={open}1{close}"),
            format!("x=a.return/1+{open}1{close}"),
        ] {
            assert!(lex(src.as_bytes()).depth_estimate >= n);
        }
        let flat = "if(a){b()}x=1;".repeat(1000) + "s='" + &"a".repeat(10_000) + "'";
        assert!(lex(flat.as_bytes()).depth_estimate < 10);
    }

    #[test]
    fn jsx_text_cannot_hide_nesting() {
        // JSX text is not JavaScript: the `'` in "don't" opened a string that hid the rest of
        // the line from the estimate, and oxc overflowed its stack.
        let n = 5000;
        let src = format!("x=<p>don't {{{}1{}}}</p>", "(".repeat(n), ")".repeat(n));
        assert!(lex_with(src.as_bytes(), true).depth_estimate >= n);
        assert_eq!(
            lex_with(src.as_bytes(), true).comments,
            lex(src.as_bytes()).comments
        );
        // `a < b` is no JSX.
        let flat = "x=a<b;s='".to_string() + &"a".repeat(10_000) + "'";
        assert!(lex_with(flat.as_bytes(), true).depth_estimate < 10);
    }

    #[test]
    fn blocks_and_object_literals_settle_the_slash_after_their_brace() {
        // After a block (statement head, `else`, `try`, arrow body, function declaration) a
        // regex; after an object literal or a function expression a division. Neither is a
        // guess, so 100 KB of string after it counts as one token, not as possible nesting.
        let tail = format!("s='{}'", "x".repeat(100_000));
        for head in [
            "if(a){}\n/'/.test(s);",
            "try{}finally{}\n/'/.test(s);",
            "f=()=>{}\n/'/.test(s);",
            "function g(){}\n/'/.test(s);",
            "async function g(){}\n/'/.test(s);",
            "switch(a){}\n/'/.test(s);",
            "x={}/2/1;",
            "x=function(){}/2/1;",
            "x={a:{}}/2/1;",
        ] {
            let src = format!("{head}{tail}");
            let est = lex(src.as_bytes()).depth_estimate;
            assert!(est < 100, "{est} for {head}");
        }
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
