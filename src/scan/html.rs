//! References inside HTML: the bodies of inline `<script>` (JavaScript types only) and `<style>`
//! elements are scanned exactly like `.js` and `.css` files; text anywhere else — prose, `<pre>`
//! examples, attribute values, comments — is not a reference.
//!
//! The document is tokenized by `html5gum`, which implements the WHATWG tokenizer and passes the
//! html5lib tokenizer tests: script data escaped and double-escaped states (`<!--` … `<script>`
//! inside a script), comments in attribute values, `--!>`, character references. The tokenizer
//! needs the tree builder to tell it which state a start tag switches to; that part is done
//! here, as the spec's tree construction does it for the elements that matter:
//!
//! - `<script>` in HTML content → script data; `<style>`, `<xmp>`, `<iframe>`, `<noembed>`,
//!   `<noframes>` → raw text; `<textarea>`, `<title>` → RCDATA; `<plaintext>` → the rest is text;
//! - `<noscript>` is raw text when scripting is enabled and markup when it is disabled: the
//!   document is read both ways and a script either reading finds counts;
//! - inside `<svg>` / `<math>` (foreign content) a `<script>` is an ordinary element: its text
//!   is tokenized as data (character references decoded, `<![CDATA[ ]]>` sections literal), and
//!   HTML "breakout" tags end the foreign content, as the spec's rules say;
//! - `<template>` contents are tokenized like any other markup.
//!
//! Offsets stay exact in the original bytes. A foreign `<script>` whose text differs from its
//! bytes (a character reference, CDATA delimiters) is scanned as decoded text; a reference whose
//! bytes cannot be mapped back exactly is reported as a leak seal cannot cut ([`HtmlScan::stuck`]).

use std::ops::Range;

use html5gum::{DefaultEmitter, State, Token, Tokenizer};
use memchr::memmem;

use super::embedded::Literal;
use super::js::{self, Flavor, Reference};
use super::pattern::{NEEDLE, line_of};

/// A raw-text element body found in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub start: usize,
    pub end: usize,
    pub kind: BodyKind,
    /// For a `<script>` in foreign content whose text is not its bytes: the pieces of its text,
    /// each with the bytes it came from.
    pub pieces: Option<Vec<Piece>>,
}

/// Part of a foreign script's text: the decoded value and the original bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub raw: Range<usize>,
    pub value: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Script(Flavor),
    Style,
    /// A `<script>` whose type is not JavaScript (JSON, import maps, templates).
    Data,
}

/// What [`scan`] found.
#[derive(Debug, Clone, Default)]
pub struct HtmlScan {
    pub refs: Vec<Reference>,
    pub methods: Vec<js::Method>,
    /// References found in decoded text that cannot be mapped back to exact bytes: (line, URL).
    pub stuck: Vec<(u64, Vec<u8>)>,
    /// String literals with the needle inside inline scripts (offsets in the document).
    pub literals: Vec<Literal>,
}

/// Every JavaScript MIME type the HTML standard lists (a "JavaScript MIME type essence match"),
/// plus the in-browser transpiler types (`text/babel`, `text/jsx`) whose scripts end up run.
const JS_TYPES: &[&[u8]] = &[
    b"application/ecmascript",
    b"application/javascript",
    b"application/x-ecmascript",
    b"application/x-javascript",
    b"text/ecmascript",
    b"text/javascript",
    b"text/javascript1.0",
    b"text/javascript1.1",
    b"text/javascript1.2",
    b"text/javascript1.3",
    b"text/javascript1.4",
    b"text/javascript1.5",
    b"text/jscript",
    b"text/livescript",
    b"text/x-ecmascript",
    b"text/x-javascript",
    b"text/jsx",
    b"text/babel",
];

/// What a `<script>` holds, from its `type` (or, without one, its `language`) attribute, as
/// the spec's "prepare the script element" decides. Parameters (`;charset=…`) are ignored,
/// which flags more than browsers run (a scanner reads them all the same).
fn script_kind(ty: Option<&[u8]>, language: Option<&[u8]>) -> BodyKind {
    let ty: Vec<u8> = match (ty, language) {
        (Some(t), _) => t.to_vec(),
        (None, Some(l)) if !l.is_empty() => [b"text/".as_slice(), l].concat(),
        (None, _) => return BodyKind::Script(Flavor::Script),
    };
    let t = ty.trim_ascii();
    let t = t.split(|&c| c == b';').next().unwrap_or(t).trim_ascii();
    let t = t.to_ascii_lowercase();
    if t.is_empty() || JS_TYPES.contains(&t.as_slice()) {
        BodyKind::Script(Flavor::Script)
    } else if t == b"module" {
        BodyKind::Script(Flavor::Module)
    } else {
        BodyKind::Data
    }
}

/// Start tags that end foreign content (the spec's "any other start tag" breakout list).
const BREAKOUT: &[&[u8]] = &[
    b"b",
    b"big",
    b"blockquote",
    b"body",
    b"br",
    b"center",
    b"code",
    b"dd",
    b"div",
    b"dl",
    b"dt",
    b"em",
    b"embed",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"head",
    b"hr",
    b"i",
    b"img",
    b"li",
    b"listing",
    b"menu",
    b"meta",
    b"nobr",
    b"ol",
    b"p",
    b"pre",
    b"ruby",
    b"s",
    b"small",
    b"span",
    b"strong",
    b"strike",
    b"sub",
    b"sup",
    b"table",
    b"tt",
    b"u",
    b"ul",
    b"var",
];

/// Elements inside foreign content whose children are HTML again (integration points).
const INTEGRATION: &[&[u8]] = &[
    b"foreignobject",
    b"desc",
    b"title",
    b"annotation-xml",
    b"mi",
    b"mo",
    b"mn",
    b"ms",
    b"mtext",
];

/// An open `<script>` or `<style>` whose end tag is still to come.
struct Open {
    kind: BodyKind,
    start: usize,
    foreign: bool,
    pieces: Vec<Piece>,
}

/// Every `<script>` and `<style>` body in the document, in order: the union of the readings
/// with scripting enabled and disabled (they differ only inside `<noscript>`).
pub fn bodies(src: &[u8]) -> Vec<Body> {
    let mut out = pass(src, true);
    for b in pass(src, false) {
        if !out.iter().any(|o| o.start == b.start && o.end == b.end) {
            out.push(b);
        }
    }
    out.sort_by_key(|b| (b.start, b.end));
    out
}

fn pass(src: &[u8], scripting: bool) -> Vec<Body> {
    let mut out = Vec::new();
    // Open elements of the current foreign subtree (lowercased names); empty in HTML content.
    let mut foreign: Vec<Vec<u8>> = Vec::new();
    let mut open: Option<Open> = None;
    let mut offset = 0;
    'restart: while offset < src.len() {
        let mut tok =
            Tokenizer::new_with_emitter(&src[offset..], DefaultEmitter::<usize>::new_with_span());
        while let Some(Ok(t)) = tok.next() {
            match t {
                Token::StartTag(tag) => {
                    let name = tag.name.to_ascii_lowercase();
                    let end = offset + tag.span.end;
                    if !foreign.is_empty() && BREAKOUT.contains(&name.as_slice()) {
                        foreign.clear();
                    }
                    let in_html = foreign.is_empty()
                        || foreign
                            .last()
                            .is_some_and(|n| INTEGRATION.contains(&n.as_slice()));
                    let attr = |k: &[u8]| tag.attributes.get(k).map(|v| v.value.0.clone());
                    if in_html {
                        match name.as_slice() {
                            b"svg" | b"math" if !tag.self_closing => foreign.push(name.clone()),
                            b"script" => {
                                tok.set_state(State::ScriptData);
                                open = Some(Open {
                                    kind: script_kind(
                                        attr(b"type").as_deref(),
                                        attr(b"language").as_deref(),
                                    ),
                                    start: end,
                                    foreign: false,
                                    pieces: Vec::new(),
                                });
                            }
                            b"style" => {
                                tok.set_state(State::RawText);
                                open = Some(Open {
                                    kind: BodyKind::Style,
                                    start: end,
                                    foreign: false,
                                    pieces: Vec::new(),
                                });
                            }
                            b"xmp" | b"iframe" | b"noembed" | b"noframes" => {
                                tok.set_state(State::RawText)
                            }
                            b"noscript" if scripting => tok.set_state(State::RawText),
                            b"textarea" | b"title" => tok.set_state(State::RcData),
                            b"plaintext" => tok.set_state(State::PlainText),
                            _ => {}
                        }
                        if !foreign.is_empty()
                            && name != b"svg"
                            && name != b"math"
                            && !tag.self_closing
                        {
                            foreign.push(name);
                        }
                    } else if !tag.self_closing {
                        // SVG `<script>` and `<style>`: ordinary elements whose text is data.
                        let kind = match name.as_slice() {
                            b"script" => Some(script_kind(
                                attr(b"type").as_deref(),
                                attr(b"language").as_deref(),
                            )),
                            b"style" => Some(BodyKind::Style),
                            _ => None,
                        };
                        if let Some(kind) = kind {
                            open = Some(Open {
                                kind,
                                start: end,
                                foreign: true,
                                pieces: Vec::new(),
                            });
                        }
                        foreign.push(name);
                    }
                }
                Token::EndTag(tag) => {
                    let name = tag.name.to_ascii_lowercase();
                    let at = offset + tag.span.start;
                    if let Some(o) = open.take() {
                        let closes = match o.kind {
                            BodyKind::Style => name == b"style",
                            _ => name == b"script",
                        };
                        if closes {
                            out.push(finish(src, o, at));
                        } else {
                            open = Some(o);
                        }
                    }
                    if let Some(k) = foreign.iter().rposition(|n| *n == name) {
                        foreign.truncate(k);
                    }
                }
                Token::String(s) => {
                    if let Some(o) = open.as_mut().filter(|o| o.foreign) {
                        o.pieces.push(Piece {
                            raw: offset + s.span.start..offset + s.span.end,
                            value: s.value.0,
                        });
                    }
                }
                Token::Comment(c) => {
                    // In foreign content `<![CDATA[ … ]]>` is literal text; the tokenizer (told
                    // nothing of the tree) read it as a bogus comment ending at the first `>`.
                    let at = offset + c.span.start;
                    if !foreign.is_empty() && src[at..].starts_with(b"<![CDATA[") {
                        let body = at + 9;
                        let end =
                            memmem::find(&src[body..], b"]]>").map_or(src.len(), |p| body + p);
                        if let Some(o) = open.as_mut().filter(|o| o.foreign) {
                            o.pieces.push(Piece {
                                raw: body..end,
                                value: src[body..end].to_vec(),
                            });
                        }
                        offset = (end + 3).min(src.len());
                        continue 'restart;
                    }
                }
                Token::Doctype(_) | Token::Error(_) => {}
            }
        }
        break;
    }
    if let Some(o) = open {
        out.push(finish(src, o, src.len()));
    }
    out
}

/// Close a body at `end` (its end tag's `<`, or the end of the document).
fn finish(src: &[u8], o: Open, end: usize) -> Body {
    if !o.foreign {
        return Body {
            start: o.start.min(end),
            end,
            kind: o.kind,
            pieces: None,
        };
    }
    // A foreign script is its text: when that is exactly its bytes, scan the bytes.
    let contiguous = o.pieces.windows(2).all(|w| w[0].raw.end == w[1].raw.start);
    let verbatim = o
        .pieces
        .iter()
        .all(|p| src.get(p.raw.clone()) == Some(&p.value[..]));
    if verbatim && contiguous {
        let (s, e) = match (o.pieces.first(), o.pieces.last()) {
            (Some(f), Some(l)) => (f.raw.start, l.raw.end),
            _ => (o.start, o.start),
        };
        return Body {
            start: s,
            end: e,
            kind: o.kind,
            pieces: None,
        };
    }
    Body {
        start: o.start,
        end,
        kind: o.kind,
        pieces: Some(o.pieces),
    }
}

/// Reference comments inside the document's scripts and styles, with offsets and lines in the
/// whole document.
pub fn scan(src: &[u8]) -> HtmlScan {
    let mut out = HtmlScan::default();
    if memmem::find(src, NEEDLE).is_none() {
        return out;
    }
    for b in bodies(src) {
        let decoded: Vec<u8>;
        let text: &[u8] = match &b.pieces {
            None => &src[b.start..b.end],
            Some(pieces) => {
                decoded = pieces
                    .iter()
                    .flat_map(|p| p.value.iter().copied())
                    .collect();
                &decoded
            }
        };
        if memmem::find(text, NEEDLE).is_none() {
            continue;
        }
        let (found, literals) = match b.kind {
            BodyKind::Script(f) => {
                let s = js::scan(text, f);
                out.methods.push(s.method);
                (s.refs, s.literals)
            }
            BodyKind::Style => (super::css::scan(text), Vec::new()),
            BodyKind::Data => continue,
        };
        match &b.pieces {
            None => {
                for mut r in found {
                    r.span = r.span.start + b.start..r.span.end + b.start;
                    r.url = r.url.start + b.start..r.url.end + b.start;
                    out.refs.push(r);
                }
                out.literals.extend(literals.into_iter().map(|mut l| {
                    l.raw = l.raw.start + b.start..l.raw.end + b.start;
                    l
                }));
            }
            Some(pieces) => {
                for r in found {
                    match map_back(src, pieces, &r.span).zip(map_back(src, pieces, &r.url)) {
                        Some((span, url)) => out.refs.push(Reference { span, url, ..r }),
                        None => {
                            let at = pieces.first().map_or(b.start, |p| p.raw.start);
                            out.stuck
                                .push((line_of(src, at), text[r.url.clone()].to_vec()));
                        }
                    }
                }
            }
        }
    }
    js::assign_lines(src, &mut out.refs);
    // The readings (scripting on and off, `<noscript>`, foreign content) can find one comment
    // twice, or two comments that overlap: one cut each, never two over the same bytes (found
    // by the html_scan fuzz target).
    out.refs
        .dedup_by(|later, kept| later.span.start < kept.span.end);
    out
}

/// The original bytes of decoded range `r`, when it lies within one piece whose value is its
/// bytes; `None` otherwise (never a guess).
fn map_back(src: &[u8], pieces: &[Piece], r: &Range<usize>) -> Option<Range<usize>> {
    let mut at = 0;
    for p in pieces {
        let end = at + p.value.len();
        if r.start >= at && r.end <= end {
            if src.get(p.raw.clone()) != Some(&p.value[..]) {
                return None;
            }
            return Some(p.raw.start + (r.start - at)..p.raw.start + (r.end - at));
        }
        at = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(s: &str) -> Vec<(u64, &str)> {
        scan(s.as_bytes())
            .refs
            .into_iter()
            .map(|r| (r.line, &s[r.url]))
            .collect()
    }

    #[test]
    fn readings_that_find_one_comment_twice_give_one_cut() {
        // The html_scan fuzz target's crash: two readings of this document reported the same
        // comment, so seal would have planned two cuts over the same bytes.
        let doc = b"<svgE<sc\xf2iptngURL=x&#4><noscript><script>//# sourceMappi\n</scripmap\nc<s/ript></noscript>eMapping><script><!--\n<script>\n</script>\n//# sourceMappingRU=L<<svg><sc\xf2ipt>a()\n//# sourceMappingURL=x&#/script>";
        let s = scan(doc);
        for w in s.refs.windows(2) {
            assert!(w[0].span.end <= w[1].span.start, "{:?}", s.refs);
        }
    }

    #[test]
    fn finds_references_in_inline_scripts_and_styles() {
        let html = "<!doctype html>\n<html><head>\n<style>a{}\n/*# sourceMappingURL=s.css.map */</style>\n\
                    <script type=\"module\">run()\n//# sourceMappingURL=m.js.map\n</script>\n\
                    <SCRIPT>x()\n//# sourceMappingURL=data:application/json;base64,e30=\n</SCRIPT></head></html>";
        assert_eq!(
            urls(html),
            vec![
                (4, "s.css.map"),
                (6, "m.js.map"),
                (9, "data:application/json;base64,e30=")
            ]
        );
    }

    #[test]
    fn prose_pre_comments_and_data_scripts_are_not_references() {
        let html = "<p>Add <code>//# sourceMappingURL=x.map</code> to your bundle.</p>\n\
                    <pre>\n//# sourceMappingURL=example.js.map\n</pre>\n\
                    <!-- <script>\n//# sourceMappingURL=commented.map\n</script> -->\n\
                    <script type=\"application/json\">{\"a\":\"\\n//# sourceMappingURL=j.map\"}</script>\n\
                    <script type=\"text/template\">\n//# sourceMappingURL=t.map\n</script>\n\
                    <textarea><script>\n//# sourceMappingURL=ta.map\n</script></textarea>\n\
                    <script>var s = '//# sourceMappingURL=in-string.map';</script>";
        assert!(urls(html).is_empty(), "{:?}", urls(html));
    }

    #[test]
    fn script_body_ends_at_the_first_close_tag() {
        let html = "<script data-x='a>b'>f()</script>\n//# sourceMappingURL=outside.map\n<script>g()\n//# sourceMappingURL=in.map\n</script >";
        assert_eq!(urls(html), vec![(4, "in.map")]);
        let _ = scan(b"<script");
        let _ = scan(b"<script>//# sourceMappingURL=x");
        let _ = scan(b"<style x='");
    }

    #[test]
    fn every_javascript_mime_type_and_the_language_attribute() {
        for ty in [
            "text/jscript",
            "application/x-ecmascript",
            "text/javascript1.5",
            "TEXT/LIVESCRIPT",
            " text/javascript ",
            "",
        ] {
            let html = format!("<script type=\"{ty}\">a()\n//# sourceMappingURL=a.map\n</script>");
            assert_eq!(urls(&html).len(), 1, "{ty}");
        }
        let html = "<script language=\"javascript1.2\">a()\n//# sourceMappingURL=a.map\n</script>";
        assert_eq!(urls(html).len(), 1);
        let html = "<script type=\"importmap\">a()\n//# sourceMappingURL=a.map\n</script>";
        assert!(urls(html).is_empty());
    }

    #[test]
    fn script_data_escaped_and_double_escaped_states() {
        // `<!--` then `<script>` inside a script: the `</script>` after it does not end the
        // outer script (double-escaped); the reference after the real end is outside it.
        let html = "<script><!--\nvar a = \"<script>\";\n</script>\n//# sourceMappingURL=inside.map\n--></script>\n//# sourceMappingURL=prose.map\n";
        let r = scan(html.as_bytes());
        let got: Vec<&str> = r.refs.iter().map(|x| &html[x.url.clone()]).collect();
        assert_eq!(got, ["inside.map"]);
        // Escaped (no inner `<script>`): the first `</script>` ends it.
        let html = "<script><!--\na()\n</script>\n//# sourceMappingURL=prose.map\n";
        assert!(urls(html).is_empty());
    }

    #[test]
    fn comments_in_attribute_values_and_bang_comment_ends() {
        let html = "<div title=\"<!--\"><script>a()\n//# sourceMappingURL=a.map\n</script></div><!-- x --!><script>b()\n//# sourceMappingURL=b.map\n</script>";
        assert_eq!(urls(html).len(), 2, "{:?}", urls(html));
    }

    #[test]
    fn foreign_content_scripts_decode_character_references() {
        // In SVG, `<script>` text is data: `&#46;` is a `.`. The URL differs from the bytes, so
        // the reference is a leak seal cannot cut.
        let html = "<svg><script>a()\n//# sourceMappingURL=x&#46;map\n</script></svg>";
        let r = scan(html.as_bytes());
        assert!(r.refs.is_empty());
        assert_eq!(r.stuck, vec![(1, b"x.map".to_vec())]);
        // Verbatim text, or a CDATA section, maps back exactly.
        let html = "<svg><script><![CDATA[a(1 > 0)\n//# sourceMappingURL=c.map\n]]></script></svg>";
        assert_eq!(urls(html), vec![(2, "c.map")]);
        let html = "<svg><script>a()\n//# sourceMappingURL=v.map\n</script></svg><p><script>b()\n//# sourceMappingURL=h.map\n</script>";
        assert_eq!(urls(html).len(), 2);
        // A breakout tag ends foreign content: the next `<script>` is an HTML one again.
        let html =
            "<svg><p><script>x = '&#46;'\n//# sourceMappingURL=after-breakout.map\n</script>";
        assert_eq!(urls(html), vec![(2, "after-breakout.map")]);
    }

    #[test]
    fn template_and_noscript_contents_count() {
        let html = "<template><script>a()\n//# sourceMappingURL=t.map\n</script></template>";
        assert_eq!(urls(html).len(), 1);
        // With scripting disabled, `<noscript>` holds markup and this script is parsed.
        let html = "<noscript><script>a()\n//# sourceMappingURL=n.map\n</script></noscript>";
        assert_eq!(urls(html).len(), 1);
    }
}
