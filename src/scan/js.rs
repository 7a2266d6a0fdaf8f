//! Finding `sourceMappingURL` comments in JavaScript and TypeScript — only real comments, never
//! text inside a string, template or regular-expression literal.
//!
//! Three tiers, cheapest first, each giving the same answer where it applies:
//! 1. **No needle**: `memmem` finds no `sourceMappingURL` at all (most files) — nothing to do.
//! 2. **Trailing region**: every occurrence sits in the file's trailing run of lines that are
//!    blank or start with `//` and contain none of `"`, `'`, `` ` `` or `*/`. In a valid program
//!    such lines are real comments: a string, template, regex or block comment open before them
//!    would have to be closed after them, and closing needs one of exactly those characters (this
//!    is the reasoning behind ECMA-426's "extraction without parsing"). That covers the common
//!    bundle ending in `//# sourceMappingURL=…` with no parse at all.
//! 3. **Parse** with `oxc_parser` and take its comment list. When oxc reports any diagnostic, the
//!    file is not UTF-8, or it nests too deeply to parse on the stack we can give it, the comment
//!    list is untrusted and [`super::jslex`] takes over; the result says which tier ran and why.

use std::cell::{Cell, RefCell};
use std::ops::Range;

use memchr::memmem;
use oxc_allocator::Allocator;
use oxc_parser::Parser;
use oxc_span::SourceType;

use super::embedded::Literal;
use super::jslex;
use super::pattern::{NEEDLE, js_space_len, line_of, line_terminator_len, match_source_map_url};
pub use super::reference::{Form, Reference};

/// Which grammar a file is parsed with, from its extension.
///
/// A `.js` file may run as a classic script (where `<!--` and `-->` start comments) or as a
/// module, and the file alone does not say which: it is parsed as a script, and also as a
/// module when that fails or the file mentions `import`/`export`; where both parse, a reference
/// either goal sees counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `.js`, `.bundle`, `.jsbundle`: script, and module too (see above).
    Js,
    /// `.mjs`: module only.
    Module,
    /// `.cjs` and `#!node` scripts: like [`Flavor::Js`] (a `#!` file in a `"type": "module"`
    /// package is a module, and its name cannot say so).
    Script,
    Jsx,
    Ts,
    Tsx,
    Dts,
}

/// Why the lexical fallback ran instead of the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    NotUtf8,
    TooDeep { estimate: usize },
    Diagnostic(String),
    ParserCrashed,
}

impl std::fmt::Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fallback::NotUtf8 => write!(f, "not valid UTF-8"),
            Fallback::TooDeep { estimate } => {
                write!(f, "nesting too deep to parse safely (estimate {estimate})")
            }
            Fallback::Diagnostic(d) => write!(f, "parser reported: {d}"),
            Fallback::ParserCrashed => write!(f, "parser crashed"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    NoNeedle,
    Trailing,
    Parsed,
    Lexical(Fallback),
}

#[derive(Debug, Clone)]
pub struct JsScan {
    pub refs: Vec<Reference>,
    pub method: Method,
    /// String and template literals whose raw text holds the needle (see
    /// [`super::embedded`]).
    pub literals: Vec<Literal>,
}

/// Bytes of stack allowed per unit of [`jslex::LexOutput::depth_estimate`]. Measured on oxc
/// 0.146: the worst construct found (`class{m(){` chains) takes ~4.5 KiB per level; brackets
/// 1.6–1.9 KiB; unary and arrow chains 0.1–1 KiB.
const STACK_PER_LEVEL: usize = 8 * 1024;
/// The largest stack a parse thread may reserve (virtual memory; only touched pages count).
const MAX_PARSE_STACK: usize = 1 << 30;
/// A parse thread never gets less than this.
const MIN_PARSE_STACK: usize = 16 << 20;

thread_local! {
    /// Stack size of the current thread when mapvault's own pool created it (0 = unknown).
    static KNOWN_STACK: Cell<usize> = const { Cell::new(0) };
    /// One allocator per thread, reset between files.
    static ALLOCATOR: RefCell<Allocator> = RefCell::new(Allocator::default());
}

/// Tell the scanner the current thread has `bytes` of stack (called by the worker pool's start
/// handler), so small parses can run in place instead of on a new thread.
pub fn set_thread_stack_size(bytes: usize) {
    KNOWN_STACK.with(|k| k.set(bytes));
}

/// Find every `sourceMappingURL` reference comment in `src`.
pub fn scan(src: &[u8], flavor: Flavor) -> JsScan {
    let finder = memmem::Finder::new(NEEDLE);
    let mut hits = finder.find_iter(src).peekable();
    let Some(first) = hits.peek().copied() else {
        return JsScan {
            refs: Vec::new(),
            method: Method::NoNeedle,
            literals: Vec::new(),
        };
    };
    if !matches!(flavor, Flavor::Jsx | Flavor::Tsx) {
        let region = trailing_region_start(src);
        if first >= region {
            return JsScan {
                refs: refs_in_trailing_region(src, region),
                method: Method::Trailing,
                literals: Vec::new(),
            };
        }
    }
    scan_slow(src, flavor)
}

/// The parse (or lexical fallback) tier on its own; public for tests and benchmarks that compare
/// it with the fast path.
pub fn scan_slow(src: &[u8], flavor: Flavor) -> JsScan {
    let Ok(text) = std::str::from_utf8(src) else {
        return lexical(src, Fallback::NotUtf8);
    };
    let lexed = jslex::lex_with(src, matches!(flavor, Flavor::Jsx | Flavor::Tsx));
    let estimate = lexed.depth_estimate;
    let result = match with_parse_stack(estimate, || parse_comments(text, flavor)) {
        Err(StackError::TooDeep) => return from_lexed(src, lexed, Fallback::TooDeep { estimate }),
        Err(StackError::Crashed) => Err(Fallback::ParserCrashed),
        Ok(r) => r,
    };
    match result {
        Ok(found) => {
            let mut refs: Vec<Reference> = found
                .comments
                .into_iter()
                .filter_map(|(span, block)| reference(src, span, block))
                .collect();
            assign_lines(src, &mut refs);
            JsScan {
                refs,
                method: Method::Parsed,
                literals: found.literals,
            }
        }
        Err(why) => from_lexed(src, lexed, why),
    }
}

/// Why [`with_parse_stack`] did not run the parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// The nesting estimate needs more stack than a parse may have.
    TooDeep,
    /// The parse thread could not start, or panicked.
    Crashed,
}

/// Run `parse` — an oxc parse (and any recursive walk of its AST) of a text whose
/// [`jslex::LexOutput::depth_estimate`] is `estimate` — on a stack deep enough for it: in place
/// when this thread's known stack suffices, else on a thread of its own. Used by the scanner and
/// by anything else that parses untrusted JavaScript (`verify https://…` following imports).
pub fn with_parse_stack<R: Send>(
    estimate: usize,
    parse: impl FnOnce() -> R + Send,
) -> Result<R, StackError> {
    let need = estimate.saturating_mul(STACK_PER_LEVEL);
    if need > MAX_PARSE_STACK {
        return Err(StackError::TooDeep);
    }
    let known = KNOWN_STACK.with(Cell::get);
    // Leave a quarter of a known stack for everything that is already on it.
    if need < known / 4 * 3 {
        return Ok(parse());
    }
    let size = need
        .saturating_mul(2)
        .clamp(MIN_PARSE_STACK, MAX_PARSE_STACK);
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("mapvault-parse".into())
            .stack_size(size)
            .spawn_scoped(s, parse)
            .map_err(|_| StackError::Crashed)
            .and_then(|h| h.join().map_err(|_| StackError::Crashed))
    })
}

fn lexical(src: &[u8], why: Fallback) -> JsScan {
    from_lexed(src, jslex::lex(src), why)
}

fn from_lexed(src: &[u8], lexed: jslex::LexOutput, why: Fallback) -> JsScan {
    let mut refs: Vec<Reference> = lexed
        .comments
        .into_iter()
        .filter_map(|c| reference(src, c.span, c.block))
        .collect();
    assign_lines(src, &mut refs);
    // Without an AST, a literal counts as evaluated when the file calls `eval` or `Function`
    // anywhere (erring towards the leak).
    let evaluates =
        memmem::find(src, b"eval").is_some() || memmem::find(src, b"Function").is_some();
    let literals = lexed
        .literals
        .into_iter()
        .map(|raw| Literal {
            raw,
            evaluated: evaluates,
        })
        .collect();
    JsScan {
        refs,
        method: Method::Lexical(why),
        literals,
    }
}

/// What one successful parse (or the union of two) found.
struct Parsed {
    comments: Vec<(Range<usize>, bool)>,
    literals: Vec<Literal>,
}

/// Collects the literals that hold the needle and the spans of arguments that code evaluates.
struct LiteralFinder<'s> {
    src: &'s [u8],
    literals: Vec<Range<usize>>,
    evaluated: Vec<Range<usize>>,
}

impl LiteralFinder<'_> {
    fn literal(&mut self, raw: Range<usize>) {
        if self
            .src
            .get(raw.clone())
            .is_some_and(|t| memmem::find(t, NEEDLE).is_some())
        {
            self.literals.push(raw);
        }
    }

    fn evaluating_call(
        &mut self,
        callee: &oxc_ast::ast::Expression<'_>,
        args: &[oxc_ast::ast::Argument<'_>],
    ) {
        use oxc_ast::ast::Expression;
        use oxc_span::GetSpan;
        // `eval(…)`, `window.eval(…)`, `(0, eval)(…)`, `Function(…)`, `new Function(…)`,
        // `setTimeout("…")`: webpack's `eval-*` devtools and their relatives.
        let name = match callee.without_parentheses() {
            Expression::Identifier(id) => Some(id.name.as_str()),
            Expression::StaticMemberExpression(m) => Some(m.property.name.as_str()),
            Expression::SequenceExpression(seq) => match seq.expressions.last() {
                Some(Expression::Identifier(id)) => Some(id.name.as_str()),
                _ => None,
            },
            _ => None,
        };
        if matches!(
            name,
            Some("eval" | "Function" | "setTimeout" | "setInterval" | "execScript")
        ) {
            for a in args {
                let sp = a.span();
                self.evaluated.push(sp.start as usize..sp.end as usize);
            }
        }
    }
}

impl<'a> oxc_ast_visit::Visit<'a> for LiteralFinder<'_> {
    fn visit_string_literal(&mut self, it: &oxc_ast::ast::StringLiteral<'a>) {
        let (s, e) = (it.span.start as usize, it.span.end as usize);
        if e >= s + 2 {
            self.literal(s + 1..e - 1);
        }
    }

    fn visit_template_element(&mut self, it: &oxc_ast::ast::TemplateElement<'a>) {
        self.literal(it.span.start as usize..it.span.end as usize);
    }

    fn visit_call_expression(&mut self, it: &oxc_ast::ast::CallExpression<'a>) {
        self.evaluating_call(&it.callee, &it.arguments);
        oxc_ast_visit::walk::walk_call_expression(self, it);
    }

    fn visit_new_expression(&mut self, it: &oxc_ast::ast::NewExpression<'a>) {
        self.evaluating_call(&it.callee, &it.arguments);
        oxc_ast_visit::walk::walk_new_expression(self, it);
    }
}

/// Literals with the needle, each marked when an evaluated argument contains it.
fn literals_of(src: &[u8], program: &oxc_ast::ast::Program<'_>) -> Vec<Literal> {
    use oxc_ast_visit::Visit;
    if memmem::find(src, NEEDLE).is_none() {
        return Vec::new();
    }
    let mut f = LiteralFinder {
        src,
        literals: Vec::new(),
        evaluated: Vec::new(),
    };
    f.visit_program(program);
    // Evaluated spans nest or are disjoint; sort by start and test containment with a binary
    // search over the outermost ones (linear overall).
    f.evaluated
        .sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut outer: Vec<Range<usize>> = Vec::new();
    for r in f.evaluated {
        if outer.last().is_none_or(|o| r.start >= o.end) {
            outer.push(r);
        }
    }
    f.literals
        .into_iter()
        .map(|raw| {
            let k = outer.partition_point(|o| o.start <= raw.start);
            let evaluated = k > 0 && outer[k - 1].end >= raw.end;
            Literal { raw, evaluated }
        })
        .collect()
}

/// Parse with oxc; `Err` when no goal gives a comment list that can be trusted. Scripts and
/// `.js` files are parsed as a classic script, and as a module too when that fails or the text
/// mentions `import` or `export`; the comments of every goal that parses are kept (a reference
/// either goal sees is a reference).
fn parse_comments(text: &str, flavor: Flavor) -> Result<Parsed, Fallback> {
    let module_like = || looks_like_module(text.as_bytes());
    let attempts: Vec<SourceType> = match flavor {
        Flavor::Js | Flavor::Script if module_like() => vec![SourceType::cjs(), SourceType::mjs()],
        Flavor::Js | Flavor::Script => vec![SourceType::cjs()],
        Flavor::Module => vec![SourceType::mjs()],
        Flavor::Jsx => vec![SourceType::jsx()],
        Flavor::Ts => vec![SourceType::ts()],
        Flavor::Tsx => vec![SourceType::tsx()],
        Flavor::Dts => vec![SourceType::d_ts()],
    };
    let mut found: Option<Parsed> = None;
    let mut last = Fallback::ParserCrashed;
    let mut try_goal = |st: SourceType, found: &mut Option<Parsed>| match parse_one(text, st) {
        Ok(p) => match found {
            Some(f) => {
                f.comments.extend(p.comments);
                f.comments.sort_by_key(|c| (c.0.start, c.0.end));
                f.comments.dedup();
                // Merge (a literal evaluated in either goal is evaluated): sort, then drop
                // repeats, keeping the evaluated copy first. Linear-logarithmic, never quadratic.
                f.literals.extend(p.literals);
                f.literals
                    .sort_by_key(|l| (l.raw.start, l.raw.end, std::cmp::Reverse(l.evaluated)));
                f.literals.dedup_by(|b, a| a.raw == b.raw);
            }
            None => *found = Some(p),
        },
        Err(e) => last = e,
    };
    for &st in &attempts {
        try_goal(st, &mut found);
    }
    // A script that does not parse may be a module that does not look like one.
    if found.is_none() && attempts.len() == 1 && matches!(flavor, Flavor::Js | Flavor::Script) {
        try_goal(SourceType::mjs(), &mut found);
    }
    found.ok_or(last)
}

/// Worth a module parse too: the goals read `<!--` and `-->` differently, and `import` or
/// `export` as a word followed by what a declaration or `import.meta` continues with may make it
/// a module (`__webpack_exports__` or `exports.x` does not).
fn looks_like_module(src: &[u8]) -> bool {
    if memmem::find(src, b"<!--").is_some() || memmem::find(src, b"-->").is_some() {
        return true;
    }
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    [&b"import"[..], b"export"].iter().any(|w| {
        memmem::find_iter(src, w).any(|at| {
            if at > 0 && (ident(src[at - 1]) || src[at - 1] == b'.') {
                return false;
            }
            let mut k = at + w.len();
            while k < src.len() && src[k].is_ascii_whitespace() {
                k += 1;
            }
            match src.get(k) {
                Some(&c) if k > at + w.len() => {
                    ident(c) || matches!(c, b'{' | b'*' | b'"' | b'\'' | b'(')
                }
                Some(b'{' | b'*' | b'"' | b'\'' | b'.') => true,
                _ => false,
            }
        })
    })
}

fn parse_one(text: &str, st: SourceType) -> Result<Parsed, Fallback> {
    ALLOCATOR.with(|cell| {
        let mut alloc = match cell.try_borrow_mut() {
            Ok(a) => a,
            // Re-entrancy cannot happen, but never panic over it.
            Err(_) => return Err(Fallback::ParserCrashed),
        };
        alloc.reset();
        let ret = Parser::new(&alloc, text, st).parse();
        if ret.panicked || !ret.diagnostics.is_empty() {
            let msg = ret
                .diagnostics
                .first()
                .map(|d| d.to_string())
                .unwrap_or_else(|| "unrecoverable syntax error".into());
            return Err(Fallback::Diagnostic(msg));
        }
        Ok(Parsed {
            comments: ret
                .program
                .comments
                .iter()
                .map(|c| (c.span.start as usize..c.span.end as usize, c.is_block()))
                .collect(),
            literals: literals_of(text.as_bytes(), &ret.program),
        })
    })
}

/// If the comment at `span` is a reference, describe it.
fn reference(src: &[u8], span: Range<usize>, block: bool) -> Option<Reference> {
    // An unterminated block comment (lexical fallback) runs to the end of the file: its text
    // is everything after `/*`, not that minus two bytes.
    let closed = block && span.len() >= 4 && src.get(span.end - 2..span.end) == Some(b"*/");
    let inner = if closed {
        span.start + 2..span.end - 2
    } else {
        span.start + 2..span.end
    };
    let text = src.get(inner.clone())?;
    // Cheap reject before running the pattern.
    memmem::find(text, NEEDLE)?;
    // A base64 `data:` URI wrapped across lines is still one inline map in a block comment.
    let url = match_source_map_url(text).or_else(|| {
        block
            .then(|| super::embedded::wrapped_data_uri(text))
            .flatten()
    })?;
    Some(Reference {
        line: 0, // filled in by `assign_lines`, one pass for all references
        url: inner.start + url.start..inner.start + url.end,
        fill: super::cut::replacement(src, span.clone()),
        span,
        form: if block {
            Form::BlockComment
        } else {
            Form::LineComment
        },
    })
}

/// Start offset of the trailing region: the maximal run of final lines that are blank or
/// `//` comments free of `"`, `'`, `` ` `` and `*/` (see the module docs for why those lines are
/// comments in any valid program).
pub fn trailing_region_start(src: &[u8]) -> usize {
    let mut end = src.len();
    loop {
        let start = line_start(src, end);
        let line = &src[start..end];
        if !trailing_line_ok(line) {
            return end_of_line_terminator(src, end);
        }
        if start == 0 {
            return 0;
        }
        // Step over the terminator(s) before this line.
        end = start - 1;
        if src[end] == b'\n' && end > 0 && src[end - 1] == b'\r' {
            end -= 1;
        } else if src[end] != b'\n' && src[end] != b'\r' {
            end -= 2; // U+2028 / U+2029
        }
    }
}

/// Start of the line that ends at `end` (SIMD search for LF/CR, then for the rare U+2028/9
/// within that stretch, so a multi-megabyte minified line costs microseconds).
fn line_start(src: &[u8], end: usize) -> usize {
    let lo = memchr::memrchr2(b'\n', b'\r', &src[..end]).map_or(0, |p| p + 1);
    // U+2028 and U+2029 are E2 80 A8 / E2 80 A9: one backwards SIMD search for their lead
    // byte, checking each hit (most E2 bytes in real code start other characters).
    let mut hi = end;
    while let Some(p) = memchr::memrchr(0xe2, &src[lo..hi]) {
        let p = lo + p;
        if line_terminator_len(src, p) == 3 && p + 3 <= end {
            return p + 3;
        }
        hi = p;
    }
    lo
}

/// The region starts after the line terminator that follows the offending line.
fn end_of_line_terminator(src: &[u8], end: usize) -> usize {
    if end >= src.len() {
        return src.len();
    }
    if src[end] == b'\r' && src.get(end + 1) == Some(&b'\n') {
        end + 2
    } else {
        end + line_terminator_len(src, end).max(1)
    }
}

fn trailing_line_ok(line: &[u8]) -> bool {
    let mut i = 0;
    loop {
        let n = js_space_len(line, i);
        if n == 0 {
            break;
        }
        i += n;
    }
    let rest = &line[i..];
    if rest.is_empty() {
        return true;
    }
    rest.starts_with(b"//")
        && memchr::memchr3(b'"', b'\'', b'`', rest).is_none()
        && memmem::find(rest, b"*/").is_none()
}

/// Fill in 1-based line numbers for references sorted by position, counting each stretch of
/// the file once.
pub(crate) fn assign_lines(src: &[u8], refs: &mut [Reference]) {
    refs.sort_by_key(|r| r.span.start);
    let (mut at, mut line) = (0usize, 1u64);
    for r in refs.iter_mut() {
        line += line_of(&src[at..r.span.start], r.span.start - at) - 1;
        // A CRLF split across the boundary would count its CR alone: `at` always sits at a
        // comment start, never between CR and LF, so it cannot happen.
        at = r.span.start;
        r.line = line;
    }
}

fn refs_in_trailing_region(src: &[u8], region: usize) -> Vec<Reference> {
    let mut refs = Vec::new();
    let mut i = region;
    while i < src.len() {
        let j = next_line_terminator(src, i);
        let line = &src[i..j];
        let mut k = 0;
        loop {
            let n = js_space_len(line, k);
            if n == 0 {
                break;
            }
            k += n;
        }
        if line[k..].starts_with(b"//")
            && let Some(r) = reference(src, i + k..j, false)
        {
            refs.push(r);
        }
        i = j + line_terminator_len(src, j).max(1);
    }
    assign_lines(src, &mut refs);
    refs
}

/// Offset of the first line terminator at or after `from` (or the end): one SIMD search for
/// LF, CR and the lead byte of U+2028/9, checking each E2 hit.
fn next_line_terminator(src: &[u8], from: usize) -> usize {
    let mut k = from;
    while let Some(p) = memchr::memchr3(b'\n', b'\r', 0xe2, &src[k..]) {
        let at = k + p;
        if line_terminator_len(src, at) > 0 {
            return at;
        }
        k = at + 1;
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(src: &str) -> (Vec<String>, Method) {
        let s = scan(src.as_bytes(), Flavor::Js);
        (
            s.refs
                .iter()
                .map(|r| String::from_utf8_lossy(&src.as_bytes()[r.url.clone()]).into_owned())
                .collect(),
            s.method,
        )
    }

    #[test]
    fn line_starts_and_ends_see_u2028_but_not_other_e2_characters() {
        // "…" (E2 80 A6) and "—" (E2 80 94) share the lead byte of U+2028 (E2 80 A8).
        let src = "a\u{2026}b\u{2028}c\u{2014}d\n//# sourceMappingURL=x.map\u{2029}".as_bytes();
        let after_ls = "a\u{2026}b\u{2028}".len();
        let nl = after_ls + "c\u{2014}d".len();
        assert_eq!(line_start(src, nl), after_ls);
        assert_eq!(line_start(src, after_ls - 3), 0);
        assert_eq!(next_line_terminator(src, 0), after_ls - 3);
        assert_eq!(next_line_terminator(src, after_ls), nl);
        assert_eq!(next_line_terminator(src, nl + 1), src.len() - 3);
        assert_eq!(
            urls(std::str::from_utf8(src).unwrap_or_default()),
            (vec!["x.map".into()], Method::Trailing)
        );
    }

    #[test]
    fn module_syntax_is_told_from_words_that_contain_it() {
        for m in [
            "import x from 'y'",
            "export default 1",
            "export{a}",
            "import.meta.url",
            "export * from 'x'",
            "a\n<!-- b",
        ] {
            assert!(looks_like_module(m.as_bytes()), "{m}");
        }
        for s in [
            "__webpack_exports__.a = 1",
            "module.exports = x",
            "exports.import = 1",
            "var important = 1",
        ] {
            assert!(!looks_like_module(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn no_needle_is_free() {
        assert_eq!(urls("var a = 1;\n"), (vec![], Method::NoNeedle));
    }

    #[test]
    fn trailing_comment_needs_no_parse() {
        assert_eq!(
            urls("a();\n//# sourceMappingURL=a.js.map\n"),
            (vec!["a.js.map".into()], Method::Trailing)
        );
        assert_eq!(
            urls("a();\r\n//# sourceMappingURL=a.js.map"),
            (vec!["a.js.map".into()], Method::Trailing)
        );
        assert_eq!(
            urls("//# sourceMappingURL=only.map"),
            (vec!["only.map".into()], Method::Trailing)
        );
        assert_eq!(
            urls("a();\n//# sourceMappingURL=1.map\n\n//@ sourceMappingURL=2.map\n  \n"),
            (vec!["1.map".into(), "2.map".into()], Method::Trailing)
        );
    }

    #[test]
    fn string_on_last_line_goes_to_the_parser() {
        let (u, m) = urls("var s = \"a\\\n//# sourceMappingURL=x\";");
        assert!(u.is_empty());
        assert_eq!(m, Method::Parsed);
        let (u, m) = urls("let a = `\n//# sourceMappingURL=foo.js.map\n// `");
        assert!(u.is_empty());
        assert_eq!(m, Method::Parsed);
    }

    #[test]
    fn block_comment_closing_later_is_not_trailing() {
        let (u, m) = urls("foo(); /*\n//# sourceMappingURL=x.map\n// */");
        assert!(u.is_empty(), "{u:?}");
        assert_eq!(m, Method::Parsed);
    }

    #[test]
    fn mid_file_comments_are_found_by_parsing() {
        let (u, m) = urls(
            "a();\n//# sourceMappingURL=one.map\nb();\n/*# sourceMappingURL=two.map */\nc();\n",
        );
        assert_eq!(u, vec!["one.map", "two.map"]);
        assert_eq!(m, Method::Parsed);
    }

    #[test]
    fn syntax_errors_fall_back_to_the_lexer_and_say_so() {
        let (u, m) =
            urls("a(;\n//# sourceMappingURL=x.map\nvar s = '//# sourceMappingURL=y.map';\n");
        assert_eq!(u, vec!["x.map"]);
        assert!(
            matches!(m, Method::Lexical(Fallback::Diagnostic(_))),
            "{m:?}"
        );
    }

    #[test]
    fn unterminated_block_comment_keeps_its_whole_url() {
        // Found by the js_scan fuzz target: the URL lost its last two bytes ("a", not "abc").
        let (u, m) = urls("a()\n/*# sourceMappingURL=abc");
        assert_eq!(u, vec!["abc"]);
        assert!(matches!(m, Method::Lexical(_)), "{m:?}");
        assert_eq!(urls("a()\n/*# sourceMappingURL=abc */").0, vec!["abc"]);
        assert_eq!(urls("a()\n/*# sourceMappingURL=*/").0, vec![""]);
    }

    #[test]
    fn invalid_utf8_falls_back() {
        let src = b"var a='\xff';\n//# sourceMappingURL=x.map\nb()";
        let s = scan(src, Flavor::Js);
        assert_eq!(s.refs.len(), 1);
        assert_eq!(s.method, Method::Lexical(Fallback::NotUtf8));
    }

    #[test]
    fn spans_cover_exactly_the_comment() {
        let src = "a();\r\n  //# sourceMappingURL=a.map  \r\n";
        let s = scan(src.as_bytes(), Flavor::Js);
        assert_eq!(&src[s.refs[0].span.clone()], "//# sourceMappingURL=a.map  ");
        assert_eq!(s.refs[0].line, 2);
    }

    #[test]
    fn deep_nesting_is_an_answer_not_an_abort() {
        let src = format!(
            "{}1{}\n//# sourceMappingURL=x.map\nfoo()",
            "(".repeat(200_000),
            ")".repeat(200_000)
        );
        let s = scan(src.as_bytes(), Flavor::Js);
        assert_eq!(s.refs.len(), 1);
        assert!(
            matches!(s.method, Method::Lexical(Fallback::TooDeep { .. })),
            "{:?}",
            s.method
        );
        // Moderately deep input still parses, on a bigger stack.
        let src = format!(
            "x={}1{}\n//# sourceMappingURL=x.map\nfoo()",
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        let s = scan(src.as_bytes(), Flavor::Js);
        assert_eq!(s.method, Method::Parsed);
        // A division the lexer reads as a regex (`{}/`) hid the nesting after it from the
        // estimate, and oxc overflowed a 16 MiB stack on these 40 KB: the process aborted.
        let src = format!(
            "x={{}}/1+{}1{}/1;\n//# sourceMappingURL=x.map\nfoo()",
            "(".repeat(20_000),
            ")".repeat(20_000)
        );
        let s = scan(src.as_bytes(), Flavor::Js);
        assert_eq!(s.refs.len(), 1);
    }
}
