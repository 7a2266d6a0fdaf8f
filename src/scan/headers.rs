//! HTTP header declarations in static-host config files: `SourceMap:` / `X-SourceMap:` (the
//! spec's HTTP linking) set for served files.
//!
//! | file | form | what seal cuts |
//! |---|---|---|
//! | `_headers` (Netlify, Cloudflare Pages) | `  SourceMap: /a.js.map` lines | the line |
//! | `.htaccess` (Apache) | `Header set SourceMap "…"` | the line |
//! | `netlify.toml` | `SourceMap = "…"` in `[headers.values]` | the line |
//! | `vercel.json`, `now.json`, `serve.json`, `firebase.json` | `{"key": "SourceMap", "value": "…"}` | the object and its comma |
//! | `staticwebapp.config.json` (Azure) | `"SourceMap": "…"` members | the member and its comma |
//!
//! JSON cuts are found with an iterative span scanner (no recursion on hostile input) and are
//! only offered if the file still parses as JSON afterwards.

use std::ops::Range;

/// Which config format a file name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderFile {
    Lines,
    Htaccess,
    NetlifyToml,
    Json,
}

pub fn header_file(name: &[u8]) -> Option<HeaderFile> {
    match name {
        b"_headers" => Some(HeaderFile::Lines),
        b".htaccess" => Some(HeaderFile::Htaccess),
        b"netlify.toml" => Some(HeaderFile::NetlifyToml),
        b"vercel.json"
        | b"now.json"
        | b"serve.json"
        | b"firebase.json"
        | b"staticwebapp.config.json" => Some(HeaderFile::Json),
        _ => None,
    }
}

/// One header declaration: what to cut, where the URL is, its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRef {
    pub cut: Range<usize>,
    pub url: Range<usize>,
    pub line: u64,
    /// False when the declaration was found but cannot be cut safely.
    pub fixable: bool,
}

fn is_map_header(name: &[u8]) -> bool {
    let n = name.trim_ascii();
    n.eq_ignore_ascii_case(b"sourcemap") || n.eq_ignore_ascii_case(b"x-sourcemap")
}

/// Scan a header config file.
pub fn scan(kind: HeaderFile, src: &[u8]) -> Vec<HeaderRef> {
    let lower = src.to_ascii_lowercase();
    if memchr::memmem::find(&lower, b"sourcemap").is_none() {
        return Vec::new();
    }
    match kind {
        HeaderFile::Json => scan_json(src),
        _ => scan_lines(kind, src),
    }
}

fn scan_lines(kind: HeaderFile, src: &[u8]) -> Vec<HeaderRef> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut line = 1u64;
    while start < src.len() {
        let nl = memchr::memchr(b'\n', &src[start..]).map_or(src.len(), |p| start + p + 1);
        let text = &src[start..nl];
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let lead = body.len() - body.trim_ascii_start().len();
        let t = &body[lead..];
        let url = match kind {
            HeaderFile::Lines => t
                .iter()
                .position(|&c| c == b':')
                .filter(|&c| is_map_header(&t[..c]))
                .map(|c| {
                    let v = &t[c + 1..];
                    let skip = v.len() - v.trim_ascii_start().len();
                    (lead + c + 1 + skip)..(lead + c + 1 + skip + v.trim_ascii().len())
                }),
            HeaderFile::Htaccess => htaccess_url(t).map(|r| lead + r.start..lead + r.end),
            HeaderFile::NetlifyToml => toml_url(t).map(|r| lead + r.start..lead + r.end),
            HeaderFile::Json => None,
        };
        if let Some(u) = url {
            out.push(HeaderRef {
                cut: start..nl,
                url: start + u.start..start + u.end,
                line,
                fixable: true,
            });
        }
        start = nl;
        line += 1;
    }
    out
}

/// `Header [always] set|add|append SourceMap "url"` → the URL's range in `t`.
fn htaccess_url(t: &[u8]) -> Option<Range<usize>> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < t.len() && words.len() < 5 {
        while i < t.len() && t[i].is_ascii_whitespace() {
            i += 1;
        }
        let s = i;
        if i < t.len() && t[i] == b'"' {
            i += 1;
            while i < t.len() && t[i] != b'"' {
                i += 1;
            }
            words.push((s + 1, i.min(t.len())));
            i += 1;
        } else {
            while i < t.len() && !t[i].is_ascii_whitespace() {
                i += 1;
            }
            if s < i {
                words.push((s, i));
            }
        }
    }
    let w = |k: usize| words.get(k).map(|&(a, b)| &t[a..b.min(t.len())]);
    if !w(0)?.eq_ignore_ascii_case(b"header") {
        return None;
    }
    let k = if w(1)?.eq_ignore_ascii_case(b"always") || w(1)?.eq_ignore_ascii_case(b"onsuccess") {
        2
    } else {
        1
    };
    let verb = w(k)?;
    if !(verb.eq_ignore_ascii_case(b"set")
        || verb.eq_ignore_ascii_case(b"add")
        || verb.eq_ignore_ascii_case(b"append"))
    {
        return None;
    }
    if !is_map_header(w(k + 1)?) {
        return None;
    }
    words.get(k + 2).map(|&(a, b)| a..b.min(t.len()))
}

/// `SourceMap = "url"` or `"X-SourceMap" = 'url'` → the URL's range in `t`.
fn toml_url(t: &[u8]) -> Option<Range<usize>> {
    let eq = memchr::memchr(b'=', t)?;
    let key = t[..eq].trim_ascii();
    let key = key
        .strip_prefix(b"\"")
        .and_then(|k| k.strip_suffix(b"\""))
        .unwrap_or(key);
    if !is_map_header(key) {
        return None;
    }
    let v = &t[eq + 1..];
    let s = eq + 1 + (v.len() - v.trim_ascii_start().len());
    let q = *t.get(s)?;
    if q == b'"' || q == b'\'' {
        let e = memchr::memchr(q, &t[s + 1..]).map_or(t.len(), |p| s + 1 + p);
        Some(s + 1..e)
    } else {
        Some(s..s + t[s..].trim_ascii_end().len())
    }
}

// --- JSON ------------------------------------------------------------------------------------

#[derive(Debug, Default, Clone)]
struct Elem {
    start: usize,
    end: usize,
    key: Option<Vec<u8>>,
    /// Raw span of a string value's contents (between the quotes).
    str_value: Option<Range<usize>>,
    /// The value is an object declaring a map header; the URL's span.
    header_object: Option<Range<usize>>,
}

/// A value just completed: (start, end, string contents span, header-object URL).
type Done = (usize, usize, Option<Range<usize>>, Option<Range<usize>>);

struct Frame {
    object: bool,
    elems: Vec<Elem>,
    /// In an object: the key has been read and we are waiting for `:` / the value.
    cur: Option<Elem>,
}

#[expect(
    clippy::too_many_lines,
    reason = "one loop of a hand-written JSON reader whose branches share the cursor and the frame stack"
)]
fn scan_json(src: &[u8]) -> Vec<HeaderRef> {
    let mut refs: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let n = src.len();
    let mut i = 0;
    while i < n {
        // The value just completed: (start, end, string contents span, header-object URL).
        let done: Option<Done>;
        let c = src[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'{' | b'[' => {
                if let Some(f) = stack.last_mut()
                    && f.cur.is_none()
                {
                    f.cur = Some(Elem {
                        start: i,
                        ..Elem::default()
                    });
                }
                stack.push(Frame {
                    object: c == b'{',
                    elems: Vec::new(),
                    cur: None,
                });
                // Remember where this container started via a sentinel element.
                if let Some(f) = stack.last_mut() {
                    f.elems.push(Elem {
                        start: i,
                        end: i,
                        ..Elem::default()
                    });
                }
                i += 1;
                continue;
            }
            b'}' | b']' => {
                let Some(mut f) = stack.pop() else {
                    return Vec::new();
                };
                if let Some(e) = f.cur.take()
                    && e.end > e.start
                {
                    f.elems.push(e);
                }
                let open = f.elems.remove(0).start;
                // Cuts among this container's elements.
                let marked: Vec<Option<Range<usize>>> = f
                    .elems
                    .iter()
                    .map(|e| {
                        if f.object {
                            if e.key.as_deref().is_some_and(is_map_header) {
                                e.str_value.clone()
                            } else {
                                None
                            }
                        } else {
                            e.header_object.clone()
                        }
                    })
                    .collect();
                refs.extend(cuts_for(&f.elems, &marked));
                // Is this object itself a `{"key": "SourceMap", "value": "…"}`?
                let mut header = None;
                if f.object {
                    let named = f.elems.iter().any(|e| {
                        matches!(e.key.as_deref(), Some(b"key" | b"name"))
                            && e.str_value
                                .as_ref()
                                .is_some_and(|r| is_map_header(&src[r.clone()]))
                    });
                    if named {
                        header = f
                            .elems
                            .iter()
                            .find(|e| e.key.as_deref() == Some(b"value"))
                            .and_then(|e| e.str_value.clone());
                    }
                }
                done = Some((open, i + 1, None, header));
                i += 1;
            }
            b'"' => {
                let s = i;
                i += 1;
                while i < n && src[i] != b'"' {
                    i += if src[i] == b'\\' { 2 } else { 1 };
                }
                if i >= n {
                    return Vec::new();
                }
                i += 1;
                let contents = s + 1..i - 1;
                // An object key?
                if let Some(f) = stack.last_mut()
                    && f.object
                    && f.cur.is_none()
                {
                    f.cur = Some(Elem {
                        start: s,
                        key: Some(src[contents].to_vec()),
                        ..Elem::default()
                    });
                    continue;
                }
                done = Some((s, i, Some(contents), None));
            }
            b':' => {
                i += 1;
                continue;
            }
            b',' => {
                if let Some(f) = stack.last_mut()
                    && let Some(e) = f.cur.take()
                {
                    f.elems.push(e);
                }
                i += 1;
                continue;
            }
            _ => {
                let s = i;
                while i < n && !matches!(src[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    i += 1;
                }
                done = Some((s, i, None, None));
            }
        }
        if let Some((s, e, sv, hdr)) = done
            && let Some(f) = stack.last_mut()
        {
            let el = f.cur.get_or_insert_with(|| Elem {
                start: s,
                ..Elem::default()
            });
            el.end = e;
            el.str_value = sv;
            el.header_object = hdr;
        }
    }
    if !stack.is_empty() {
        return Vec::new();
    }
    // Offer the cuts only if the result is still JSON.
    let mut sorted = refs.clone();
    sorted.sort_by_key(|(c, _)| c.start);
    let mut after = Vec::with_capacity(src.len());
    let mut pos = 0;
    for (c, _) in &sorted {
        if c.start < pos {
            return Vec::new();
        }
        after.extend_from_slice(&src[pos..c.start]);
        pos = c.end;
    }
    after.extend_from_slice(&src[pos..]);
    let fixable = serde_json::from_slice::<serde::de::IgnoredAny>(&after).is_ok();
    sorted
        .into_iter()
        .map(|(cut, url)| HeaderRef {
            line: super::pattern::line_of(src, url.start),
            cut,
            url,
            fixable,
        })
        .collect()
}

/// Spans to cut for the marked elements of one container (element plus the comma that joins it
/// to a neighbour), merged so they never overlap.
fn cuts_for(elems: &[Elem], marked: &[Option<Range<usize>>]) -> Vec<(Range<usize>, Range<usize>)> {
    let mut out = Vec::new();
    let last_unmarked = (0..elems.len()).rev().find(|&k| marked[k].is_none());
    for (k, m) in marked.iter().enumerate() {
        let Some(url) = m else { continue };
        match last_unmarked {
            Some(l) if k < l => out.push((elems[k].start..elems[k + 1].start, url.clone())),
            Some(l) => {
                // Trailing run after the last kept element: one cut from its end.
                if k == l + 1 {
                    out.push((elems[l].end..elems[elems.len() - 1].end, url.clone()));
                } else {
                    out.push((elems[k].start..elems[k].start, url.clone()));
                }
            }
            None => {
                if k == 0 {
                    out.push((elems[0].start..elems[elems.len() - 1].end, url.clone()));
                } else {
                    out.push((elems[k].start..elems[k].start, url.clone()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(src: &str, refs: &[HeaderRef]) -> String {
        let mut s = src.as_bytes().to_vec();
        for r in refs.iter().rev() {
            s.drain(r.cut.clone());
        }
        String::from_utf8(s).unwrap_or_default()
    }

    #[test]
    fn headers_file_lines() {
        let src = "/assets/*\n  Cache-Control: max-age=31536000\n  SourceMap: /maps/app.js.map\r\n  x-sourcemap: b.map\n/x\n  Link: </sourcemap>\n";
        let r = scan(HeaderFile::Lines, src.as_bytes());
        assert_eq!(r.len(), 2);
        assert_eq!(&src[r[0].url.clone()], "/maps/app.js.map");
        assert_eq!(r[0].line, 3);
        assert_eq!(
            cut(src, &r),
            "/assets/*\n  Cache-Control: max-age=31536000\n/x\n  Link: </sourcemap>\n"
        );
    }

    #[test]
    fn htaccess_and_toml() {
        let h = "<FilesMatch \"\\.js$\">\n  Header set SourceMap \"/m/a.js.map\"\n  Header always set X-SourceMap b.map\n</FilesMatch>\n";
        let r = scan(HeaderFile::Htaccess, h.as_bytes());
        assert_eq!(
            r.iter().map(|x| &h[x.url.clone()]).collect::<Vec<_>>(),
            vec!["/m/a.js.map", "b.map"]
        );
        let t = "[[headers]]\n  for = \"/*\"\n  [headers.values]\n    SourceMap = \"/a.map\"\n    \"X-Frame-Options\" = \"DENY\"\n";
        let r = scan(HeaderFile::NetlifyToml, t.as_bytes());
        assert_eq!(&t[r[0].url.clone()], "/a.map");
        assert!(!cut(t, &r).contains("SourceMap"));
    }

    #[test]
    fn json_objects_and_members_with_their_commas() {
        let v = r#"{"headers":[{"source":"/(.*)","headers":[{"key":"X-A","value":"1"},{"key":"SourceMap","value":"/a.map"},{"key":"X-B","value":"2"}]}]}"#;
        let r = scan(HeaderFile::Json, v.as_bytes());
        assert_eq!(r.len(), 1);
        assert!(r[0].fixable);
        assert_eq!(&v[r[0].url.clone()], "/a.map");
        assert_eq!(
            cut(v, &r),
            r#"{"headers":[{"source":"/(.*)","headers":[{"key":"X-A","value":"1"},{"key":"X-B","value":"2"}]}]}"#
        );
        let last =
            r#"{"headers":[{"key":"X-A","value":"1"}, {"key":"x-sourcemap","value":"/a.map"}]}"#;
        assert_eq!(
            cut(last, &scan(HeaderFile::Json, last.as_bytes())),
            r#"{"headers":[{"key":"X-A","value":"1"}]}"#
        );
        let only = r#"{"headers": [ {"key":"SourceMap","value":"/a.map"} ]}"#;
        assert_eq!(
            cut(only, &scan(HeaderFile::Json, only.as_bytes())),
            r#"{"headers": [  ]}"#
        );
        let azure = "{\n  \"globalHeaders\": {\n    \"SourceMap\": \"/a.map\",\n    \"X-Frame-Options\": \"DENY\"\n  }\n}";
        let r = scan(HeaderFile::Json, azure.as_bytes());
        assert_eq!(r[0].line, 3);
        assert_eq!(
            cut(azure, &r),
            "{\n  \"globalHeaders\": {\n    \"X-Frame-Options\": \"DENY\"\n  }\n}"
        );
    }

    #[test]
    fn junk_never_panics() {
        for s in [
            "{",
            "}",
            "[{\"key\":\"SourceMap\"",
            "\"",
            "{\"a\":sourcemap}",
            "[[[[[[[[sourcemap",
        ] {
            let _ = scan(HeaderFile::Json, s.as_bytes());
        }
        let deep = format!(
            "{}\"SourceMap\"{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let _ = scan(HeaderFile::Json, deep.as_bytes());
    }
}
