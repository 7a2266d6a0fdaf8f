//! HTTP header declarations in static-host config files: `SourceMap:` / `X-SourceMap:` (the
//! spec's HTTP linking) set for served files. Each kind is read with its own grammar, never by
//! line prefix:
//!
//! | file | read as | what seal cuts |
//! |---|---|---|
//! | `_headers` (Netlify, Cloudflare Pages) | `Name: value` lines (`#` comments skipped) | the line |
//! | `.htaccess` (Apache) | directives with `\` continuations and Apache's quoting: `Header [always\|onsuccess] set\|add\|append\|merge\|setifempty\|edit\|edit* SourceMap …` | the directive's lines |
//! | `netlify.toml` | TOML (the `toml` crate): `values` of every `headers` table, standard or inline, `[[headers]]` anywhere | the key/value (its line, or its place in an inline table) |
//! | `vercel.json`, `now.json`, `serve.json`, `firebase.json` | JSON: `{"key": "SourceMap", "value": "…"}` objects (keys decoded, last duplicate wins) | the object and its comma |
//! | `staticwebapp.config.json` (Azure) | JSON: `"SourceMap": "…"` members | the member and its comma |
//!
//! The JSON reader is a streaming tokenizer: memory is O(1) per nesting level (a few words per
//! open container, plus the marked members waiting for their comma) and nesting deeper than
//! [`MAX_JSON_DEPTH`] stops it with a note — no host schema puts headers that deep. Every cut is
//! checked before it is offered: the file with the cuts applied must still parse and declare
//! exactly the same other headers; otherwise the leak is reported as one seal cannot fix.

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

/// What a header file holds, and why it could not be read when it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderScan {
    pub refs: Vec<HeaderRef>,
    /// The file mentions a map header but could not be read as its format (a note: the host
    /// cannot read it either, or nests it where no host looks).
    pub problem: Option<String>,
}

/// Nesting deeper than this stops the JSON reader (host schemas nest headers 4 levels deep).
pub const MAX_JSON_DEPTH: usize = 64;

fn is_map_header(name: &[u8]) -> bool {
    let n = name.trim_ascii();
    n.eq_ignore_ascii_case(b"sourcemap") || n.eq_ignore_ascii_case(b"x-sourcemap")
}

/// Could the file declare a map header at all? A case-insensitive search for `sourcemap`; in
/// JSON and TOML a key may also be spelled with `\u` escapes.
fn may_mention(kind: HeaderFile, src: &[u8]) -> bool {
    let ci = src.windows(9).any(|w| w.eq_ignore_ascii_case(b"sourcemap"));
    ci || (matches!(kind, HeaderFile::Json | HeaderFile::NetlifyToml)
        && memchr::memmem::find(src, b"\\u").is_some())
}

/// Scan a header config file.
pub fn scan(kind: HeaderFile, src: &[u8]) -> Vec<HeaderRef> {
    scan_file(kind, src).refs
}

/// Scan a header config file, saying why it could not be read when that happens.
pub fn scan_file(kind: HeaderFile, src: &[u8]) -> HeaderScan {
    if !may_mention(kind, src) {
        return HeaderScan::default();
    }
    match kind {
        HeaderFile::Json => json::scan(src),
        HeaderFile::NetlifyToml => toml_headers::scan(src),
        HeaderFile::Lines => HeaderScan {
            refs: scan_lines(src),
            problem: None,
        },
        HeaderFile::Htaccess => HeaderScan {
            refs: htaccess::scan(src),
            problem: None,
        },
    }
}

/// `_headers`: a path line, then indented `Name: value` lines; `#` starts a comment line.
fn scan_lines(src: &[u8]) -> Vec<HeaderRef> {
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
        if !t.starts_with(b"#")
            && let Some(c) = t.iter().position(|&c| c == b':')
            && is_map_header(&t[..c])
        {
            let v = &t[c + 1..];
            let skip = v.len() - v.trim_ascii_start().len();
            let u = (lead + c + 1 + skip)..(lead + c + 1 + skip + v.trim_ascii().len());
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

/// Apply sorted, non-overlapping cuts; `None` if they overlap.
fn apply_cuts(src: &[u8], cuts: &[Range<usize>]) -> Option<Vec<u8>> {
    let mut sorted: Vec<&Range<usize>> = cuts.iter().collect();
    sorted.sort_by_key(|c| c.start);
    let mut after = Vec::with_capacity(src.len());
    let mut pos = 0;
    for c in sorted {
        if c.start < pos || c.end > src.len() {
            return None;
        }
        after.extend_from_slice(&src[pos..c.start]);
        pos = c.end;
    }
    after.extend_from_slice(&src[pos..]);
    Some(after)
}

// --- .htaccess -------------------------------------------------------------------------------

mod htaccess {
    //! Apache reads a config file a logical line at a time (a `\` before the line break joins the
    //! next line), splits it into words the way `ap_getword_conf` does (white space separates,
    //! `"…"` or `'…'` quote with `\` escaping the quote), and ignores lines starting with `#`.

    use super::{HeaderRef, is_map_header};
    use std::ops::Range;

    /// Header actions that put a value on the response (`unset`, `echo` and `note` do not).
    const SETTING: &[&[u8]] = &[
        b"set",
        b"add",
        b"append",
        b"merge",
        b"setifempty",
        b"edit",
        b"edit*",
    ];

    pub(super) fn scan(src: &[u8]) -> Vec<HeaderRef> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut line = 1u64;
        while start < src.len() {
            // One logical line: physical lines joined by a trailing backslash.
            let mut end = start;
            let mut physical = 0u64;
            let next = loop {
                let nl = memchr::memchr(b'\n', &src[end..]).map_or(src.len(), |p| end + p);
                physical += 1;
                let body_end = if nl > 0 && src.get(nl - 1) == Some(&b'\r') {
                    nl - 1
                } else {
                    nl
                };
                if nl < src.len() && body_end > end && src[body_end - 1] == b'\\' {
                    end = nl + 1;
                    continue;
                }
                end = body_end;
                break (nl + 1).min(src.len());
            };
            if let Some(url) = header_value(src, start..end) {
                out.push(HeaderRef {
                    cut: start..next,
                    url,
                    line,
                    fixable: true,
                });
            }
            start = next;
            line += physical;
        }
        out
    }

    /// Words of a logical line as byte ranges of `src` (quotes excluded); a continuation
    /// (`\` + line break) counts as white space.
    fn words(src: &[u8], range: Range<usize>, max: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut i = range.start;
        let end = range.end;
        let is_space = |i: usize| {
            src[i].is_ascii_whitespace()
                || (src[i] == b'\\' && matches!(src.get(i + 1), Some(b'\n' | b'\r')))
        };
        while i < end && out.len() < max {
            while i < end && is_space(i) {
                i += 1;
            }
            if i >= end {
                break;
            }
            let q = src[i];
            if q == b'"' || q == b'\'' {
                let s = i + 1;
                i = s;
                while i < end && src[i] != q {
                    i += if src[i] == b'\\' { 2 } else { 1 };
                }
                out.push(s..i.min(end));
                i += 1;
            } else {
                let s = i;
                while i < end && !is_space(i) {
                    i += 1;
                }
                out.push(s..i);
            }
        }
        out
    }

    /// `Header [condition] action SourceMap value…` → the value's range.
    fn header_value(src: &[u8], range: Range<usize>) -> Option<Range<usize>> {
        let w = words(src, range, 6);
        let word = |k: usize| w.get(k).map(|r| &src[r.clone()]);
        if !word(0)?.eq_ignore_ascii_case(b"header") {
            return None;
        }
        let mut k = 1;
        if word(1)?.eq_ignore_ascii_case(b"always") || word(1)?.eq_ignore_ascii_case(b"onsuccess") {
            k = 2;
        }
        let action = word(k)?;
        if !SETTING.iter().any(|a| action.eq_ignore_ascii_case(a)) {
            return None;
        }
        if !is_map_header(word(k + 1)?) {
            return None;
        }
        // `edit` takes a regex, then the replacement that becomes the value.
        let value = if action.eq_ignore_ascii_case(b"edit") || action.eq_ignore_ascii_case(b"edit*")
        {
            k + 3
        } else {
            k + 2
        };
        w.get(value).cloned().or_else(|| w.get(k + 1).cloned())
    }
}

// --- netlify.toml ----------------------------------------------------------------------------

mod toml_headers {
    //! `netlify.toml` through the `toml` crate: every table in the top-level `headers` array
    //! (`[[headers]]` blocks in any order, or an inline `headers = [{…}]`), and in each its
    //! `values` table, the keys that name a map header.

    use super::{HeaderRef, HeaderScan, apply_cuts, is_map_header};
    use std::ops::Range;
    use toml::de::{DeTable, DeValue};

    pub(super) fn scan(src: &[u8]) -> HeaderScan {
        let Ok(text) = std::str::from_utf8(src) else {
            return HeaderScan {
                refs: Vec::new(),
                problem: Some("netlify.toml is not UTF-8: Netlify cannot read it".into()),
            };
        };
        let doc = match DeTable::parse(text) {
            Ok(d) => d,
            Err(e) => {
                return HeaderScan {
                    refs: Vec::new(),
                    problem: Some(format!(
                        "netlify.toml is not valid TOML ({}): not checked for SourceMap headers",
                        e.message()
                    )),
                };
            }
        };
        let mut found: Vec<(Range<usize>, Range<usize>)> = Vec::new();
        if let Some(headers) = doc.get_ref().get("headers")
            && let DeValue::Array(items) = headers.get_ref()
        {
            for item in items.iter() {
                let DeValue::Table(t) = item.get_ref() else {
                    continue;
                };
                let Some(values) = t.get("values") else {
                    continue;
                };
                let DeValue::Table(values) = values.get_ref() else {
                    continue;
                };
                for (k, v) in values.iter() {
                    if is_map_header(k.get_ref().as_bytes()) {
                        let url = match v.get_ref() {
                            // The string's contents, without its quotes.
                            DeValue::String(_) => inner_of_string(src, v.span()),
                            _ => v.span(),
                        };
                        found.push((key_value_cut(src, k.span(), v.span()), url));
                    }
                }
            }
        }
        let cuts: Vec<Range<usize>> = found.iter().map(|(c, _)| c.clone()).collect();
        let fixable = !found.is_empty() && cuts_keep_the_rest(text, &cuts);
        let refs = found
            .into_iter()
            .map(|(cut, url)| HeaderRef {
                line: super::super::pattern::line_of(src, url.start),
                cut,
                url,
                fixable,
            })
            .collect();
        HeaderScan {
            refs,
            problem: None,
        }
    }

    fn inner_of_string(src: &[u8], span: Range<usize>) -> Range<usize> {
        let s = &src[span.clone()];
        let q = if s.starts_with(b"\"\"\"") || s.starts_with(b"'''") {
            3
        } else if s.starts_with(b"\"") || s.starts_with(b"'") {
            1
        } else {
            0
        };
        if s.len() >= 2 * q {
            span.start + q..span.end - q
        } else {
            span
        }
    }

    /// The bytes to remove for one `key = value`: its whole line when it stands alone on it
    /// (a comment after it goes too), else its place in an inline table with one comma.
    fn key_value_cut(src: &[u8], key: Range<usize>, value: Range<usize>) -> Range<usize> {
        // A quoted key's span may or may not include its quote: take it.
        let mut ks = key.start;
        if ks > 0 && matches!(src[ks - 1], b'"' | b'\'') && !matches!(src[ks], b'"' | b'\'') {
            ks -= 1;
        }
        let line_start = src[..ks]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        let nl = memchr::memchr(b'\n', &src[value.end..]).map_or(src.len(), |p| value.end + p);
        let rest = src[value.end..nl].trim_ascii();
        if src[line_start..ks].trim_ascii().is_empty() && (rest.is_empty() || rest[0] == b'#') {
            return line_start..(nl + 1).min(src.len());
        }
        // Inside an inline table: the member and the comma after it, or the one before it.
        let mut j = value.end;
        while j < src.len() && matches!(src[j], b' ' | b'\t') {
            j += 1;
        }
        if src.get(j) == Some(&b',') {
            j += 1;
            while j < src.len() && matches!(src[j], b' ' | b'\t') {
                j += 1;
            }
            return ks..j;
        }
        let mut b = ks;
        while b > 0 && matches!(src[b - 1], b' ' | b'\t') {
            b -= 1;
        }
        if b > 0 && src[b - 1] == b',' {
            return b - 1..value.end;
        }
        ks..value.end
    }

    /// The cut file must parse and equal the original without its map headers.
    fn cuts_keep_the_rest(text: &str, cuts: &[Range<usize>]) -> bool {
        let Some(after) = apply_cuts(text.as_bytes(), cuts) else {
            return false;
        };
        let Ok(after) = String::from_utf8(after) else {
            return false;
        };
        let (Ok(mut want), Ok(got)) = (
            toml::from_str::<toml::Table>(text),
            toml::from_str::<toml::Table>(&after),
        ) else {
            return false;
        };
        if let Some(toml::Value::Array(items)) = want.get_mut("headers") {
            for item in items {
                if let Some(toml::Value::Table(values)) =
                    item.as_table_mut().and_then(|t| t.get_mut("values"))
                {
                    values.retain(|k, _| !is_map_header(k.as_bytes()));
                }
            }
        }
        want == got
    }
}

// --- JSON ------------------------------------------------------------------------------------

mod json {
    //! A streaming JSON reader that keeps O(1) state per open container (see the module docs
    //! above) and finds the header declarations of every host format at once:
    //! `{"key"|"name": "SourceMap", "value": "…"}` objects inside arrays (Vercel, serve,
    //! Firebase) and `"SourceMap": "…"` members (Azure). Keys are compared decoded, and a
    //! duplicate key replaces the earlier one, as `JSON.parse` does.

    use super::{HeaderRef, HeaderScan, MAX_JSON_DEPTH, apply_cuts, is_map_header};
    use std::ops::Range;

    /// A value just completed inside a container.
    #[derive(Debug, Clone)]
    struct Done {
        start: usize,
        end: usize,
        /// Raw contents span of a string value.
        string: Option<Range<usize>>,
        /// The value is a `{"key": "SourceMap", "value": "…"}` object: its URL.
        header_object: Option<Range<usize>>,
    }

    /// One open container.
    struct Frame {
        object: bool,
        /// Start of the element being read (its key, in an object).
        elem_start: Option<usize>,
        /// In an object: the decoded key of the member being read names a map header, or is
        /// `key`/`name`/`value`.
        key: KeyKind,
        /// End of the last element kept (not marked for cutting).
        kept_end: Option<usize>,
        /// Marked elements not yet cut: the one just before the current element, or the
        /// trailing run of marked elements (cut when the container closes).
        run: Vec<(usize, usize, Range<usize>)>,
        /// This object's `key`/`name` value names a map header (last one wins).
        names_map: bool,
        /// This object's `value` string (last one wins).
        value: Option<Range<usize>>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum KeyKind {
        None,
        MapHeader,
        KeyOrName,
        Value,
        Other,
    }

    pub(super) fn scan(src: &[u8]) -> HeaderScan {
        match find(src) {
            Ok(found) if !found.is_empty() && !is_json(src) => HeaderScan {
                refs: Vec::new(),
                problem: Some(
                    "not valid JSON: the host cannot read it, so its SourceMap headers were not checked"
                        .into(),
                ),
            },
            Ok(found) => {
                let cuts: Vec<Range<usize>> = found.iter().map(|(c, _)| c.clone()).collect();
                let fixable = !found.is_empty() && cuts_keep_json(src, &cuts);
                HeaderScan {
                    refs: found
                        .into_iter()
                        .map(|(cut, url)| HeaderRef {
                            line: super::super::pattern::line_of(src, url.start),
                            cut,
                            url,
                            fixable,
                        })
                        .collect(),
                    problem: None,
                }
            }
            Err(why) => HeaderScan {
                refs: Vec::new(),
                problem: Some(why),
            },
        }
    }

    /// `src` is JSON as a host reads it (a BOM skipped).
    fn is_json(src: &[u8]) -> bool {
        let body = src.strip_prefix(b"\xef\xbb\xbf").unwrap_or(src);
        serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
    }

    fn cuts_keep_json(src: &[u8], cuts: &[Range<usize>]) -> bool {
        apply_cuts(src, cuts)
            .is_some_and(|after| is_json(&after) && find(&after).is_ok_and(|f| f.is_empty()))
    }

    /// Decode a JSON string's contents (between the quotes); `None` if an escape is invalid.
    pub(super) fn decode(raw: &[u8]) -> Option<Vec<u8>> {
        if memchr::memchr(b'\\', raw).is_none() {
            return Some(raw.to_vec());
        }
        let mut q = Vec::with_capacity(raw.len() + 2);
        q.push(b'"');
        q.extend_from_slice(raw);
        q.push(b'"');
        serde_json::from_slice::<String>(&q)
            .ok()
            .map(String::into_bytes)
    }

    type Found = Vec<(Range<usize>, Range<usize>)>;

    #[expect(
        clippy::too_many_lines,
        reason = "one streaming JSON state machine: its states read best side by side"
    )]
    fn find(src: &[u8]) -> Result<Found, String> {
        let mut found: Found = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let n = src.len();
        let mut i = 0;
        // A UTF-8 BOM is not JSON, but hosts that strip it exist; it changes no offset.
        if src.starts_with(b"\xef\xbb\xbf") {
            i = 3;
        }
        let bad = |what: &str, at: usize| Err(format!("not valid JSON ({what} at byte {at})"));
        while i < n {
            let c = src[i];
            let done: Done;
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b':' => {
                    i += 1;
                    continue;
                }
                b',' => {
                    i += 1;
                    continue;
                }
                b'{' | b'[' => {
                    if stack.len() >= MAX_JSON_DEPTH {
                        return Err(format!(
                            "nested deeper than {MAX_JSON_DEPTH} levels: not read (no host looks for headers that deep)"
                        ));
                    }
                    if let Some(f) = stack.last_mut()
                        && f.elem_start.is_none()
                    {
                        f.elem_start = Some(i);
                    }
                    stack.push(Frame {
                        object: c == b'{',
                        elem_start: None,
                        key: KeyKind::None,
                        kept_end: None,
                        run: Vec::new(),
                        names_map: false,
                        value: None,
                    });
                    i += 1;
                    continue;
                }
                b'}' | b']' => {
                    let Some(mut f) = stack.pop() else {
                        return bad("unmatched close", i);
                    };
                    close_run(&mut f, &mut found);
                    let header_object = if f.object && f.names_map {
                        f.value.clone()
                    } else {
                        None
                    };
                    // Its start was recorded in the parent frame (`elem_start`).
                    done = Done {
                        start: i,
                        end: i + 1,
                        string: None,
                        header_object,
                    };
                    i += 1;
                }
                b'"' => {
                    let s = i;
                    i += 1;
                    while i < n && src[i] != b'"' {
                        i += if src[i] == b'\\' { 2 } else { 1 };
                    }
                    if i >= n {
                        return bad("unterminated string", s);
                    }
                    i += 1;
                    let contents = s + 1..i - 1;
                    if let Some(f) = stack.last_mut()
                        && f.object
                        && f.key == KeyKind::None
                    {
                        let key = decode(&src[contents]).unwrap_or_default();
                        f.key = if is_map_header(&key) {
                            KeyKind::MapHeader
                        } else if key == b"key" || key == b"name" {
                            KeyKind::KeyOrName
                        } else if key == b"value" {
                            KeyKind::Value
                        } else {
                            KeyKind::Other
                        };
                        f.elem_start = Some(s);
                        continue;
                    }
                    done = Done {
                        start: s,
                        end: i,
                        string: Some(contents),
                        header_object: None,
                    };
                }
                _ => {
                    let s = i;
                    while i < n
                        && !matches!(
                            src[i],
                            b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b':'
                        )
                    {
                        i += 1;
                    }
                    done = Done {
                        start: s,
                        end: i,
                        string: None,
                        header_object: None,
                    };
                }
            }
            let Some(f) = stack.last_mut() else {
                continue;
            };
            let start = f.elem_start.take().unwrap_or(done.start);
            let key = std::mem::replace(&mut f.key, KeyKind::None);
            // Object bookkeeping for `{"key": …, "value": …}` (last duplicate wins).
            if f.object {
                match key {
                    KeyKind::KeyOrName => {
                        f.names_map = done
                            .string
                            .as_ref()
                            .and_then(|r| decode(&src[r.clone()]))
                            .is_some_and(|k| is_map_header(&k));
                    }
                    KeyKind::Value => f.value = done.string.clone(),
                    _ => {}
                }
            }
            let marked = if f.object {
                (key == KeyKind::MapHeader)
                    .then(|| done.string.clone())
                    .flatten()
            } else {
                done.header_object.clone()
            };
            if let Some(m) = marked {
                // Waits: cut when a kept element follows, or when the container closes.
                f.run.push((start, done.end, m));
            } else {
                // Each waiting element goes up to the start of the element after it (they are
                // consecutive, so these cuts tile, and the last one takes its comma).
                let run = std::mem::take(&mut f.run);
                let starts: Vec<usize> = run.iter().skip(1).map(|r| r.0).chain([start]).collect();
                for ((s, _, url), next) in run.into_iter().zip(starts) {
                    found.push((s..next, url));
                }
                f.kept_end = Some(done.end);
            }
        }
        if !stack.is_empty() {
            return bad("unclosed container", n);
        }
        found.sort_by_key(|(c, _)| c.start);
        Ok(found)
    }

    /// The container closes: cut its trailing run of marked elements. After a kept element,
    /// each cut runs from the end of the element before it (taking the comma before it);
    /// when nothing is kept, each takes the comma after it and the last ends at its own end.
    /// Either way the cuts tile and none is empty.
    fn close_run(f: &mut Frame, found: &mut Found) {
        let run = std::mem::take(&mut f.run);
        match f.kept_end {
            Some(mut prev) => {
                for (_, e, url) in run {
                    found.push((prev..e, url));
                    prev = e;
                }
            }
            None => {
                let nexts: Vec<Option<usize>> = run
                    .iter()
                    .skip(1)
                    .map(|r| Some(r.0))
                    .chain([None])
                    .collect();
                for ((s, e, url), next) in run.into_iter().zip(nexts) {
                    found.push((s..next.unwrap_or(e), url));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(src: &str, refs: &[HeaderRef]) -> String {
        let cuts: Vec<Range<usize>> = refs.iter().map(|r| r.cut.clone()).collect();
        String::from_utf8(apply_cuts(src.as_bytes(), &cuts).unwrap_or_default()).unwrap_or_default()
    }

    fn urls<'a>(src: &'a str, refs: &[HeaderRef]) -> Vec<&'a str> {
        refs.iter().map(|r| &src[r.url.clone()]).collect()
    }

    #[test]
    fn headers_file_lines() {
        let src = "/assets/*\n  Cache-Control: max-age=31536000\n  SourceMap: /maps/app.js.map\r\n  x-sourcemap: b.map\n  # SourceMap: commented.map\n/x\n  Link: </sourcemap>\n";
        let r = scan(HeaderFile::Lines, src.as_bytes());
        assert_eq!(urls(src, &r), ["/maps/app.js.map", "b.map"]);
        assert_eq!(r[0].line, 3);
        assert_eq!(
            cut(src, &r),
            "/assets/*\n  Cache-Control: max-age=31536000\n  # SourceMap: commented.map\n/x\n  Link: </sourcemap>\n"
        );
    }

    #[test]
    fn htaccess_every_setting_action_with_or_without_a_condition() {
        let h = "<FilesMatch \"\\.js$\">\n  Header set SourceMap \"/m/a.js.map\"\n  Header always set X-SourceMap b.map\n\
                 Header add SourceMap c.map\nheader APPEND sourcemap d.map\nHeader onsuccess merge SourceMap e.map\n\
                 Header setifempty SourceMap 'f.map'\nHeader always edit SourceMap ^.*$ g.map\nHeader edit* SourceMap x h.map\n\
                 Header unset SourceMap\n# Header set SourceMap commented.map\nHeader set \\\n    SourceMap \\\n    i.map\n\
                 RequestHeader set SourceMap j.map\n</FilesMatch>\n";
        let r = scan(HeaderFile::Htaccess, h.as_bytes());
        assert_eq!(
            urls(h, &r),
            [
                "/m/a.js.map",
                "b.map",
                "c.map",
                "d.map",
                "e.map",
                "f.map",
                "g.map",
                "h.map",
                "i.map"
            ]
        );
        let after = cut(h, &r);
        assert!(after.contains("Header unset SourceMap\n"), "{after}");
        assert!(
            after.contains("RequestHeader set SourceMap j.map\n"),
            "{after}"
        );
        assert!(!after.contains("i.map"), "{after}");
        // The continued directive starts on line 12 and its cut takes all three lines.
        assert_eq!(r[8].line, 12);
        assert_eq!(
            r[8].cut.len(),
            "Header set \\\n    SourceMap \\\n    i.map\n".len()
        );
    }

    #[test]
    fn netlify_toml_is_read_as_toml() {
        let t = "[[headers]]\n  for = \"/*\"\n  [headers.values]\n    SourceMap = \"/a.map\"\n    \"X-Frame-Options\" = \"DENY\"\n";
        let r = scan(HeaderFile::NetlifyToml, t.as_bytes());
        assert_eq!(urls(t, &r), ["/a.map"]);
        assert!(r[0].fixable);
        assert_eq!(
            cut(t, &r),
            "[[headers]]\n  for = \"/*\"\n  [headers.values]\n    \"X-Frame-Options\" = \"DENY\"\n"
        );
        // Inline tables, an inline array of tables, a quoted key, `[[headers]]` after other
        // tables, and a `SourceMap` outside any `headers.values` (not a header).
        let t = "[build]\n  publish = \"dist\"\n[[redirects]]\n  from = \"/a\"\n  to = \"/b\"\n\
                 [[headers]]\n  for = \"/x/*\"\n  values = { \"X-SourceMap\" = \"/x.map\", X-A = \"1\" }\n\
                 [context.production]\n  SourceMap = \"not-a-header\"\n";
        let r = scan(HeaderFile::NetlifyToml, t.as_bytes());
        assert_eq!(urls(t, &r), ["/x.map"]);
        assert!(r[0].fixable, "{}", cut(t, &r));
        assert!(
            cut(t, &r).contains("values = { X-A = \"1\" }"),
            "{}",
            cut(t, &r)
        );
        let t = "headers = [{ for = \"/*\", values = { X-A = \"1\", SourceMap = \"/y.map\" } }]\n";
        let r = scan(HeaderFile::NetlifyToml, t.as_bytes());
        assert_eq!(urls(t, &r), ["/y.map"]);
        assert!(r[0].fixable);
        assert_eq!(
            cut(t, &r),
            "headers = [{ for = \"/*\", values = { X-A = \"1\" } }]\n"
        );
        // Broken TOML is a problem to note, not a guess.
        let s = scan_file(HeaderFile::NetlifyToml, b"[[headers]\nSourceMap = 1");
        assert!(s.refs.is_empty() && s.problem.is_some());
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
    fn json_runs_of_marked_elements_tile() {
        for v in [
            r#"[{"key":"SourceMap","value":"1"},{"key":"SourceMap","value":"2"},{"key":"X","value":"3"}]"#,
            r#"[{"key":"X","value":"3"},{"key":"SourceMap","value":"1"},{"key":"SourceMap","value":"2"}]"#,
            r#"[{"key":"SourceMap","value":"1"},{"key":"X","value":"3"},{"key":"SourceMap","value":"2"}]"#,
            r#"[{"key":"SourceMap","value":"1"},{"key":"SourceMap","value":"2"}]"#,
            r#"{"SourceMap":"1","SourceMap":"2","a":{"SourceMap":"3"},"X-SourceMap":"4"}"#,
        ] {
            let r = scan(HeaderFile::Json, v.as_bytes());
            assert!(r.len() >= 2, "{v}");
            assert!(r.iter().all(|x| x.fixable), "{v} → {}", cut(v, &r));
            let after = cut(v, &r);
            assert!(!after.contains("SourceMap"), "{v} → {after}");
            assert!(
                serde_json::from_str::<serde_json::Value>(&after).is_ok(),
                "{after}"
            );
        }
    }

    #[test]
    fn json_keys_are_decoded_and_the_last_duplicate_wins() {
        let v = r#"[{"k\u0065y":"S\u006furceMap","value":"/a.map"}]"#;
        let r = scan(HeaderFile::Json, v.as_bytes());
        assert_eq!(urls(v, &r), ["/a.map"]);
        let v = r#"[{"key":"SourceMap","key":"X-A","value":"/a.map"}]"#;
        assert!(scan(HeaderFile::Json, v.as_bytes()).is_empty());
        let v = r#"[{"key":"X-A","value":"1","key":"SourceMap","value":"/b.map"}]"#;
        assert_eq!(urls(v, &scan(HeaderFile::Json, v.as_bytes())), ["/b.map"]);
        let v = "{\"\\u0053ourceMap\": \"/c.map\"}";
        assert_eq!(urls(v, &scan(HeaderFile::Json, v.as_bytes())), ["/c.map"]);
    }

    #[test]
    fn junk_never_panics_and_deep_nesting_costs_nothing() {
        for s in [
            "{",
            "}",
            "[{\"key\":\"SourceMap\"",
            "\"",
            "{\"a\":sourcemap}",
            "[[[[[[[[sourcemap",
            "[\"SourceMap\"]]]",
        ] {
            let _ = scan(HeaderFile::Json, s.as_bytes());
            let _ = scan(HeaderFile::NetlifyToml, s.as_bytes());
            let _ = scan(HeaderFile::Htaccess, s.as_bytes());
        }
        let deep = format!(
            "{}\"SourceMap\"{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let s = scan_file(HeaderFile::Json, deep.as_bytes());
        assert!(s.refs.is_empty());
        assert!(s.problem.is_some_and(|p| p.contains("deeper")));
        let deep = format!("a = {}\"SourceMap\"", "[".repeat(100_000));
        assert!(
            scan_file(HeaderFile::NetlifyToml, deep.as_bytes())
                .problem
                .is_some()
        );
    }
}
