//! References inside string and template literals: `/*# sourceMappingURL=… */` or
//! `//# sourceMappingURL=…` that a program puts into the page at run time (Angular component
//! styles, CSS-in-JS) or hands to `eval` (webpack's `eval-*` devtools).
//!
//! The JavaScript scanner hands in the literals whose raw text holds the needle, each with
//! whether it is evaluated (an argument of `eval`, `new Function`, `Function`, `setTimeout`…).
//! Here each literal is *cooked* (its escapes decoded, as the program sees the string) with a map
//! back to raw bytes, and the reference comments in the cooked text are found with the same
//! ECMA-426 pattern as real comments. What they mean:
//!
//! - a `data:` URI whose map has content (sources, mappings or sections) publishes the map:
//!   an `eval-map` leak when the string is evaluated, else an `embedded-reference` leak;
//! - a `data:` URI whose map is empty, or is no map, publishes nothing: a note;
//! - any other URL is a note here; `verify`, which knows the file list, makes it a leak when it
//!   names a map that ships in the dist.
//!
//! Code generators (terser's `"//# sourceMappingURL=" + url`, swc's and webpack's templates)
//! hold such comments with an empty or missing URL and stay notes.

use std::ops::Range;

use memchr::memmem;

use super::datauri;
use super::pattern::{NEEDLE, js_space_len, line_of, match_source_map_url};
use super::reference::{Form, Reference};

/// A string or template literal that holds the needle in its raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// The literal's contents in the file (between its quotes, or one template chunk).
    pub raw: Range<usize>,
    /// The literal is (inside) an argument of code that evaluates it.
    pub evaluated: bool,
}

/// What the URL of an embedded reference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// A `data:` map with sources, mappings or sections.
    MapWithContent,
    /// A `data:` URI that carries no map content (empty map, not a map, undecodable).
    Empty,
    /// A URL naming a file: a leak only if that file is a map in the dist.
    Url,
}

/// One reference comment inside a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    /// The comment's bytes in the file (delimiters included) when they are the cooked bytes
    /// exactly (no escape inside), so they can be overwritten in place; `None` otherwise.
    pub span: Option<Range<usize>>,
    /// The URL as the program sees it (cooked).
    pub url: Vec<u8>,
    /// 1-based line of the literal's reference.
    pub line: u64,
    pub evaluated: bool,
    pub payload: Payload,
    /// What seal does when this reference leaks: overwrite `span` with [`super::cut::blank`]'s
    /// spaces (a [`Form::InString`] reference). Set when `span` is, unless the string is
    /// evaluated.
    pub cut: Option<Reference>,
}

/// Decode a JavaScript string or template literal's contents: the cooked bytes and, for each,
/// the raw offset it came from (a decoded escape maps every byte to the backslash). Invalid
/// escapes are kept as written; never panics.
pub fn cook(raw: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(raw.len());
    let mut map = Vec::with_capacity(raw.len());
    let mut i = 0;
    let push = |out: &mut Vec<u8>, map: &mut Vec<usize>, bytes: &[u8], at: usize| {
        out.extend_from_slice(bytes);
        map.extend(std::iter::repeat_n(at, bytes.len()));
    };
    while i < raw.len() {
        // Copy the run up to the next escape at once.
        let run = memchr::memchr(b'\\', &raw[i..]).map_or(raw.len(), |p| i + p);
        if run > i {
            out.extend_from_slice(&raw[i..run]);
            map.extend(i..run);
            i = run;
            continue;
        }
        let at = i;
        let Some(&e) = raw.get(i + 1) else {
            push(&mut out, &mut map, b"\\", at);
            break;
        };
        i += 2;
        let simple: Option<&[u8]> = match e {
            b'n' => Some(b"\n"),
            b'r' => Some(b"\r"),
            b't' => Some(b"\t"),
            b'b' => Some(b"\x08"),
            b'f' => Some(b"\x0c"),
            b'v' => Some(b"\x0b"),
            b'0' if !raw.get(i).is_some_and(u8::is_ascii_digit) => Some(b"\0"),
            // Line continuations vanish.
            b'\n' => Some(b""),
            b'\r' => {
                if raw.get(i) == Some(&b'\n') {
                    i += 1;
                }
                Some(b"")
            }
            _ => None,
        };
        if let Some(s) = simple {
            push(&mut out, &mut map, s, at);
            continue;
        }
        let hex = |s: &[u8]| -> Option<u32> {
            std::str::from_utf8(s)
                .ok()
                .and_then(|t| u32::from_str_radix(t, 16).ok())
        };
        let code = match e {
            b'x' => raw.get(i..i + 2).and_then(hex).inspect(|_| i += 2),
            b'u' if raw.get(i) == Some(&b'{') => {
                let close = memchr::memchr(b'}', &raw[i..]).map(|p| i + p);
                close.and_then(|c| hex(&raw[i + 1..c]).inspect(|_| i = c + 1))
            }
            b'u' => raw.get(i..i + 4).and_then(hex).inspect(|_| i += 4),
            _ => None,
        };
        match code {
            Some(cp) => {
                // A lone surrogate cannot be UTF-8: U+FFFD, as a lossy decoder shows it.
                let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                let mut b = [0u8; 4];
                push(&mut out, &mut map, ch.encode_utf8(&mut b).as_bytes(), at);
            }
            None if matches!(e, b'x' | b'u') => {
                // Malformed: keep it as written.
                push(&mut out, &mut map, &raw[at..i], at);
            }
            None => {
                // `\'`, `\"`, `\\`, `\/`, `\$`, `\`` and any other character stand for themselves
                // (a multi-byte character: all its bytes).
                let len = utf8_len(e).min(raw.len() - (at + 1));
                push(&mut out, &mut map, &raw[at + 1..at + 1 + len], at);
                i = at + 1 + len;
            }
        }
    }
    (out, map)
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

/// Find the reference comments inside `literals` of `src`.
pub fn find(src: &[u8], literals: &[Literal]) -> Vec<Embedded> {
    let mut out = Vec::new();
    // Lines are counted incrementally over literals in file order (linear, however many).
    let mut order: Vec<&Literal> = literals.iter().collect();
    order.sort_by_key(|l| l.raw.start);
    let (mut at, mut line) = (0usize, 1u64);
    for lit in order {
        let Some(whole) = src.get(lit.raw.clone()) else {
            continue;
        };
        // Cook from the first reference's comment opener on (it is written literally in every
        // real case), not the whole literal: an eval'd module's code before it can be large.
        let from = memmem::find(whole, NEEDLE)
            .and_then(|h| literal_opener(whole, h))
            .unwrap_or(0);
        let (cooked, mut map) = cook(&whole[from..]);
        map.iter_mut().for_each(|m| *m += from);
        for hit in memmem::find_iter(&cooked, NEEDLE) {
            let Some((comment, url)) = comment_around(&cooked, hit) else {
                continue;
            };
            let span = {
                let rs = lit.raw.start + map[comment.start];
                let re = lit.raw.start + map[comment.end - 1] + 1;
                (src.get(rs..re) == Some(&cooked[comment.clone()])).then_some(rs..re)
            };
            let url_bytes = cooked[url.clone()].to_vec();
            let pos = (lit.raw.start + map[hit]).max(at);
            line += line_of(&src[at..pos], pos - at) - 1;
            at = pos;
            // Written literally, the URL's raw bytes are its cooked ones, at the same place.
            // An evaluated string is never rewritten (its code is a development build), so
            // its fill — as long as a multi-megabyte inline map — is not even worked out.
            let cut = span.clone().filter(|_| !lit.evaluated).map(|s| Reference {
                fill: super::cut::blank(src, s.clone()),
                url: s.start + (url.start - comment.start)..s.start + (url.end - comment.start),
                span: s,
                line,
                form: Form::InString,
            });
            out.push(Embedded {
                line,
                span,
                payload: payload_of(&url_bytes),
                url: url_bytes,
                evaluated: lit.evaluated,
                cut,
            });
        }
    }
    out
}

/// Where the comment opener (`//#`, `/*@`…) of the needle at `hit` starts, when it is
/// written without escapes.
fn literal_opener(raw: &[u8], hit: usize) -> Option<usize> {
    let mut k = hit;
    while k > 0 && matches!(raw[k - 1], b' ' | b'\t') {
        k -= 1;
    }
    (k >= 3 && matches!(raw[k - 1], b'#' | b'@') && matches!(&raw[k - 3..k - 1], b"//" | b"/*"))
        .then(|| k - 3)
}

/// The comment that holds the needle at `hit` in cooked text: `//# …` to the end of its line,
/// or `/*# … */`; its span and the URL's span (both in `text`).
fn comment_around(text: &[u8], hit: usize) -> Option<(Range<usize>, Range<usize>)> {
    // Back over `[#@]` and white space to the comment opener.
    let mut k = hit;
    while k > 0 && js_space_len(text, k - 1) == 1 {
        k -= 1;
    }
    if k == 0 || !matches!(text[k - 1], b'#' | b'@') {
        return None;
    }
    let marker = k - 1;
    if marker < 2 || text[marker - 2] != b'/' {
        return None;
    }
    let start = marker - 2;
    let (inner_end, end) = match text[marker - 1] {
        b'/' => {
            let e = (marker..text.len())
                .find(|&j| matches!(text[j], b'\n' | b'\r'))
                .unwrap_or(text.len());
            (e, e)
        }
        b'*' => match memmem::find(&text[marker..], b"*/") {
            Some(p) => (marker + p, marker + p + 2),
            None => (text.len(), text.len()),
        },
        _ => return None,
    };
    let inner = &text[marker..inner_end];
    let url = match_source_map_url(inner).or_else(|| wrapped_data_uri(inner))?;
    Some((start..end, marker + url.start..marker + url.end))
}

/// A base64 `data:` URI wrapped across lines (as `base64` writes it) inside a block comment:
/// the URL runs to the end of the comment's text.
pub fn wrapped_data_uri(inner: &[u8]) -> Option<Range<usize>> {
    let eq = memmem::find(inner, b"sourceMappingURL=")? + b"sourceMappingURL=".len();
    match_source_map_url(&inner[..eq])?;
    let rest = &inner[eq..];
    if !datauri::is_data_uri(rest) {
        return None;
    }
    // Only base64 (or percent-encoded) text may follow the comma, wrapped or space-padded.
    let comma = memchr::memchr(b',', rest)?;
    let body = &rest[comma + 1..];
    if !body
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c.is_ascii_whitespace() || b"+/=-_%".contains(&c))
    {
        return None;
    }
    let end = eq + rest.trim_ascii_end().len();
    Some(eq..end)
}

/// Does this URL publish a map? Only a `data:` URI can say so by itself.
pub fn payload_of(url: &[u8]) -> Payload {
    if !datauri::is_data_uri(url) {
        return Payload::Url;
    }
    if obvious_content(url) {
        return Payload::MapWithContent;
    }
    match datauri::decode(url) {
        Ok(d) if map_has_content(&d.data) => Payload::MapWithContent,
        _ => Payload::Empty,
    }
}

/// The first few KiB of a base64 map already show a non-empty `mappings` or `sources` (as every
/// bundler writes them, near the start): no need to decode a multi-megabyte `sourcesContent`.
/// (A later duplicate key could empty them again; that reads as content, erring towards the
/// leak.)
fn obvious_content(url: &[u8]) -> bool {
    let Some(comma) = memchr::memchr(b',', url) else {
        return false;
    };
    let header = &url[..comma];
    if header.len() < 7 || !header[header.len() - 7..].eq_ignore_ascii_case(b";base64") {
        return false;
    }
    let head: Vec<u8> = url[comma + 1..]
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .take(4096)
        .collect();
    let head = &head[..head.len() / 4 * 4];
    let Ok(d) = datauri::decode(&[b"data:;base64,".as_slice(), head].concat()) else {
        return false;
    };
    let nonempty = |key: &[u8], open: u8, close: u8| {
        memmem::find_iter(&d.data, key).any(|at| {
            let rest = d.data[at + key.len()..].trim_ascii_start();
            rest.strip_prefix(b":")
                .map(|r| r.trim_ascii_start())
                .and_then(|r| r.strip_prefix(&[open]))
                .is_some_and(|r| r.trim_ascii_start().first().is_some_and(|&c| c != close))
        })
    };
    nonempty(b"\"mappings\"", b'"', b'"') || nonempty(b"\"sources\"", b'[', b']')
}

/// A map with sources, mappings or sections publishes something; `{"version":3,"sources":[],
/// "mappings":""}` publishes nothing. Read as `JSON.parse` would (last duplicate key wins),
/// after the prefixes a consumer skips. Anything that is not such a JSON object is no map.
pub fn map_has_content(bytes: &[u8]) -> bool {
    let Some(json) = super::mapsniff::json_start(bytes) else {
        return false;
    };
    let mut it = serde_json::Deserializer::from_slice(json).into_iter::<ContentProbe>();
    matches!(it.next(), Some(Ok(p)) if p.0)
}

/// Reads a map's top level without building it (a multi-megabyte `sourcesContent` is skipped,
/// not allocated): whether the last `sources`, `mappings`, `sections` or `sourcesContent`
/// (duplicate keys: the last one wins) is a non-empty array or string.
struct ContentProbe(bool);

/// A value's size: elements of an array, bytes of a string, 0 for anything else.
struct Size(usize);

impl<'de> serde::Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Size;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Size, E> {
                Ok(Size(v.len()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Size, A::Error> {
                let mut n = 0;
                while s.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Size(n))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Size, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Size(0))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Size, E> {
                Ok(Size(0))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Size, E> {
                Ok(Size(0))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Size, E> {
                Ok(Size(0))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Size, E> {
                Ok(Size(0))
            }
            fn visit_unit<E>(self) -> Result<Size, E> {
                Ok(Size(0))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> serde::Deserialize<'de> for ContentProbe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContentProbe;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<ContentProbe, A::Error> {
                const KEYS: [&str; 4] = ["sources", "mappings", "sections", "sourcesContent"];
                let mut sizes = [0usize; 4];
                while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    match KEYS.iter().position(|n| *n == k) {
                        Some(i) => sizes[i] = m.next_value::<Size>()?.0,
                        None => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(ContentProbe(sizes.iter().any(|&n| n > 0)))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(src: &str) -> Vec<Literal> {
        // The contents of the first quoted string in `src`.
        let q = src.find(['"', '\'', '`']).unwrap_or(0);
        let quote = src.as_bytes()[q];
        let end = src[q + 1..]
            .bytes()
            .enumerate()
            .scan(false, |esc, (k, c)| {
                let r = (!*esc && c == quote).then_some(k);
                *esc = !*esc && c == b'\\';
                Some(r)
            })
            .flatten()
            .next()
            .map_or(src.len(), |k| q + 1 + k);
        vec![Literal {
            raw: q + 1..end,
            evaluated: false,
        }]
    }

    #[test]
    fn cooks_escapes_and_maps_back_to_raw_bytes() {
        let (c, m) = cook(
            br"a\nb\x41\u0042\u{43}\'\\\
z\q",
        );
        assert_eq!(c, b"a\nbABC'\\zq");
        assert_eq!(m[0], 0);
        assert_eq!(m[1], 1);
        assert_eq!(m[2], 3);
        let (c, _) = cook(b"\\u{d800}\\x4\\");
        assert_eq!(c, "\u{fffd}\\x4\\".as_bytes());
    }

    #[test]
    fn angular_styles_and_css_in_js() {
        let src = r#"styles: ["a{color:red}\n/*# sourceMappingURL=app.component.css.map */"]"#;
        let e = find(src.as_bytes(), &lit(src));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].url, b"app.component.css.map");
        assert_eq!(e[0].payload, Payload::Url);
        let span = e[0].span.clone().unwrap_or_default();
        assert_eq!(&src[span], "/*# sourceMappingURL=app.component.css.map */");
        // An escape inside the comment: found, but it cannot be overwritten in place.
        let src = r#"s = "a{}/*# sourceMappingURL=x\u002ecss.map */""#;
        let e = find(src.as_bytes(), &lit(src));
        assert_eq!(e[0].url, b"x.css.map");
        assert_eq!(e[0].span, None);
    }

    #[test]
    fn data_maps_with_and_without_content() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let full = b64(r#"{"version":3,"sources":["a.ts"],"mappings":"AAAA"}"#);
        let empty = b64(r#"{"version":3,"sources":[],"mappings":""}"#);
        for (body, want) in [
            (full.as_str(), Payload::MapWithContent),
            (empty.as_str(), Payload::Empty),
            ("", Payload::Empty),
            ("!!!", Payload::Empty),
        ] {
            let src = format!(
                "x = \"code\\n//# sourceMappingURL=data:application/json;base64,{body}\\n//# sourceURL=a\""
            );
            let e = find(src.as_bytes(), &lit(&src));
            assert_eq!(e.len(), 1, "{src}");
            assert_eq!(e[0].payload, want, "{src}");
        }
        // Duplicate keys: the last one wins.
        assert!(!map_has_content(
            br#"{"sources":["a"],"mappings":"A","sources":[],"mappings":""}"#
        ));
        assert!(map_has_content(br#"{"m\u0061ppings":"AAAA"}"#));
    }

    #[test]
    fn code_generators_strings_are_urls_or_empty() {
        for src in [
            r#"var c = "//# sourceMappingURL=" + url;"#,
            r#"out = "\n//# sourceMappingURL=data:application/json;charset=utf-8;base64," + b64;"#,
            r#"s = "see sourceMappingURL=x for details""#,
        ] {
            for e in find(src.as_bytes(), &lit(src)) {
                assert_ne!(e.payload, Payload::MapWithContent, "{src}");
            }
        }
    }

    #[test]
    fn wrapped_base64_in_block_comments() {
        let inner = b"# sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjoz\nLCJzb3VyY2VzIjpbXX0= ";
        let r = wrapped_data_uri(inner).unwrap_or_default();
        assert!(inner[r].ends_with(b"X0="));
        assert_eq!(wrapped_data_uri(b"# sourceMappingURL=a.map\nprose"), None);
    }
}
