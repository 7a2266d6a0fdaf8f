//! References inside HTML: the bodies of inline `<script>` (JavaScript types only) and `<style>`
//! elements are scanned exactly like `.js` and `.css` files; text anywhere else — prose, `<pre>`
//! examples, attribute values, comments — is not a reference.
//!
//! A small tokenizer, not a full HTML5 parser: it skips `<!-- -->` comments, reads start tags
//! with quoted or unquoted attributes, and ends a script or style body at the first
//! case-insensitive `</script` / `</style`, which is what browsers do for raw-text elements.

use memchr::memmem;

use super::js::{self, Flavor, Reference};
use super::pattern::NEEDLE;

/// A raw-text element body found in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub start: usize,
    pub end: usize,
    pub kind: BodyKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Script(Flavor),
    Style,
    /// A `<script>` whose type is not JavaScript (JSON, import maps, templates).
    Data,
}

fn starts_with_ci(hay: &[u8], at: usize, needle: &[u8]) -> bool {
    hay.len() >= at + needle.len() && hay[at..at + needle.len()].eq_ignore_ascii_case(needle)
}

fn tag_name_ends(b: Option<&u8>) -> bool {
    matches!(
        b,
        None | Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c | b'>' | b'/')
    )
}

/// Parse the attributes of a start tag beginning after its name at `i`; returns the index after
/// `>` and the value of the `type` attribute, if any.
fn read_attrs(src: &[u8], mut i: usize) -> (usize, Option<Vec<u8>>) {
    let n = src.len();
    let mut ty = None;
    loop {
        while i < n && matches!(src[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0c | b'/') {
            i += 1;
        }
        if i >= n {
            return (n, ty);
        }
        if src[i] == b'>' {
            return (i + 1, ty);
        }
        let name_start = i;
        while i < n
            && !matches!(
                src[i],
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c | b'/' | b'>' | b'='
            )
        {
            i += 1;
        }
        let name = &src[name_start..i];
        while i < n && matches!(src[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
            i += 1;
        }
        let mut value: &[u8] = b"";
        if i < n && src[i] == b'=' {
            i += 1;
            while i < n && matches!(src[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
                i += 1;
            }
            if i < n && (src[i] == b'"' || src[i] == b'\'') {
                let q = src[i];
                let vs = i + 1;
                let ve = memchr::memchr(q, &src[vs..]).map_or(n, |p| vs + p);
                value = &src[vs..ve];
                i = (ve + 1).min(n);
            } else {
                let vs = i;
                while i < n && !matches!(src[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0c | b'>') {
                    i += 1;
                }
                value = &src[vs..i];
            }
        }
        if name.eq_ignore_ascii_case(b"type") {
            ty = Some(value.to_ascii_lowercase());
        }
    }
}

/// What a `<script type=…>` holds.
fn script_kind(ty: Option<&[u8]>) -> BodyKind {
    let Some(t) = ty else {
        return BodyKind::Script(Flavor::Script);
    };
    let t = t.trim_ascii();
    let t = t.split(|&c| c == b';').next().unwrap_or(t).trim_ascii();
    match t {
        b""
        | b"text/javascript"
        | b"application/javascript"
        | b"text/ecmascript"
        | b"application/ecmascript"
        | b"application/x-javascript"
        | b"text/x-javascript"
        | b"text/jsx"
        | b"text/babel" => BodyKind::Script(Flavor::Script),
        b"module" => BodyKind::Script(Flavor::Module),
        _ => BodyKind::Data,
    }
}

/// Every `<script>` and `<style>` body in the document, in order.
pub fn bodies(src: &[u8]) -> Vec<Body> {
    let mut out = Vec::new();
    let n = src.len();
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'<', &src[i..]) {
        i += p;
        if src[i..].starts_with(b"<!--") {
            i = memmem::find(&src[i + 4..], b"-->").map_or(n, |q| i + 4 + q + 3);
            continue;
        }
        let (is_script, name_len) =
            if starts_with_ci(src, i + 1, b"script") && tag_name_ends(src.get(i + 7)) {
                (true, 7)
            } else if starts_with_ci(src, i + 1, b"style") && tag_name_ends(src.get(i + 6)) {
                (false, 6)
            } else {
                i += 1;
                continue;
            };
        let (body_start, ty) = read_attrs(src, i + name_len);
        let close: &[u8] = if is_script { b"</script" } else { b"</style" };
        let mut j = body_start;
        let body_end = loop {
            match memchr::memchr(b'<', &src[j.min(n)..]) {
                None => break n,
                Some(q) => {
                    let at = j + q;
                    if starts_with_ci(src, at, close) && tag_name_ends(src.get(at + close.len())) {
                        break at;
                    }
                    j = at + 1;
                }
            }
        };
        let kind = if is_script {
            script_kind(ty.as_deref())
        } else {
            BodyKind::Style
        };
        out.push(Body {
            start: body_start.min(n),
            end: body_end,
            kind,
        });
        i = body_end;
        if i >= n {
            break;
        }
    }
    out
}

/// Reference comments inside the document's scripts and styles, with offsets and lines in the
/// whole document.
pub fn scan(src: &[u8]) -> (Vec<Reference>, Vec<js::Method>) {
    if memmem::find(src, NEEDLE).is_none() {
        return (Vec::new(), Vec::new());
    }
    let mut refs = Vec::new();
    let mut methods = Vec::new();
    for b in bodies(src) {
        let body = &src[b.start..b.end];
        if memmem::find(body, NEEDLE).is_none() {
            continue;
        }
        let found = match b.kind {
            BodyKind::Script(f) => {
                let s = js::scan(body, f);
                methods.push(s.method);
                s.refs
            }
            BodyKind::Style => super::css::scan(body),
            BodyKind::Data => continue,
        };
        for mut r in found {
            r.span = r.span.start + b.start..r.span.end + b.start;
            r.url = r.url.start + b.start..r.url.end + b.start;
            refs.push(r);
        }
    }
    js::assign_lines(src, &mut refs);
    (refs, methods)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(s: &str) -> Vec<(u64, &str)> {
        scan(s.as_bytes())
            .0
            .into_iter()
            .map(|r| (r.line, &s[r.url]))
            .collect()
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
}
