//! Subresource Integrity: find `integrity="sha256|384|512-…"` attributes in HTML tags that load a
//! file (`src=` or `href=`), compute and compare digests, and find Angular `ngsw.json` hash-table
//! entries; name the files that may list other files' hashes and the spellings to look for in
//! them (Workbox `revision`, asset manifests). Pure: no I/O.

use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// One hash token of an `integrity` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityRef {
    /// The `src`/`href` value of the tag, as written.
    pub url: Vec<u8>,
    /// The bytes of this token (`sha384-…`) in the file.
    pub span: Range<usize>,
    pub alg: Alg,
    /// The base64 digest as written.
    pub digest: String,
    /// 1-based line.
    pub line: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Sha256,
    Sha384,
    Sha512,
}

impl Alg {
    pub fn name(self) -> &'static str {
        match self {
            Alg::Sha256 => "sha256",
            Alg::Sha384 => "sha384",
            Alg::Sha512 => "sha512",
        }
    }

    /// The SRI token for `bytes`: `sha384-<base64>`.
    pub fn token(self, bytes: &[u8]) -> String {
        let d = match self {
            Alg::Sha256 => B64.encode(Sha256::digest(bytes)),
            Alg::Sha384 => B64.encode(Sha384::digest(bytes)),
            Alg::Sha512 => B64.encode(Sha512::digest(bytes)),
        };
        format!("{}-{d}", self.name())
    }
}

/// Whether a file, by name, may list other files' hashes and should be checked for stale ones:
/// JSON files and web-app manifests (asset manifests, `integrity` lists), and scripts named like
/// service workers or precache lists (Workbox writes `{"revision": md5, "url"}` into the worker).
/// `ngsw.json` is not one: seal rewrites its entries.
pub fn may_list_hashes(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == b"ngsw.json" {
        return false;
    }
    if lower.ends_with(b".json") || lower.ends_with(b".webmanifest") {
        return true;
    }
    let js = [&b".js"[..], b".mjs", b".cjs"]
        .iter()
        .any(|e| lower.ends_with(e));
    js && [
        &b"sw"[..],
        b"service-worker",
        b"serviceworker",
        b"workbox",
        b"precache",
        b"manifest",
    ]
    .iter()
    .any(|k| memchr::memmem::find(&lower, k).is_some())
}

/// The ways build tools write a file's hash into a manifest, each with the name reported: MD5
/// hex (Workbox `revision`), SHA-1 hex, SHA-256 hex, and base64 SHA-256/384/512 (SRI values in
/// JSON asset manifests). Hex digests are lowercase, as those tools write them.
pub fn spellings(bytes: &[u8]) -> Vec<(&'static str, String)> {
    use md5::Md5;
    let b64 = |alg: Alg| {
        let t = alg.token(bytes);
        t[alg.name().len() + 1..].to_string()
    };
    vec![
        ("MD5", hex::encode(Md5::digest(bytes))),
        ("SHA-1", hex::encode(sha1::Sha1::digest(bytes))),
        ("SHA-256", hex::encode(Sha256::digest(bytes))),
        ("SHA-256 (base64)", b64(Alg::Sha256)),
        ("SHA-384 (base64)", b64(Alg::Sha384)),
        ("SHA-512 (base64)", b64(Alg::Sha512)),
    ]
}

/// Value of attribute `name` inside one tag's bytes: `(value range, value)`.
fn attr(tag: &[u8], base: usize, name: &[u8]) -> Option<(Range<usize>, Vec<u8>)> {
    let mut i = 0;
    while let Some(rel) = memchr::memmem::find(&tag[i..], name) {
        let at = i + rel;
        i = at + name.len();
        let before_ok = at > 0 && tag[at - 1].is_ascii_whitespace();
        if !before_ok {
            continue;
        }
        let mut j = at + name.len();
        while j < tag.len() && tag[j].is_ascii_whitespace() {
            j += 1;
        }
        if tag.get(j) != Some(&b'=') {
            continue;
        }
        j += 1;
        while j < tag.len() && tag[j].is_ascii_whitespace() {
            j += 1;
        }
        let (start, end) = match tag.get(j) {
            Some(&q @ (b'"' | b'\'')) => {
                let end = memchr::memchr(q, &tag[j + 1..])? + j + 1;
                (j + 1, end)
            }
            Some(_) => {
                let end = tag[j..]
                    .iter()
                    .position(|c| c.is_ascii_whitespace() || *c == b'>')
                    .map_or(tag.len(), |p| j + p);
                (j, end)
            }
            None => return None,
        };
        return Some((base + start..base + end, tag[start..end].to_vec()));
    }
    None
}

/// Every hash token of every `integrity` attribute on a tag with `src` or `href`.
pub fn find(html: &[u8]) -> Vec<IntegrityRef> {
    let mut out = Vec::new();
    let mut pos = 0;
    let lower_html = html.to_ascii_lowercase();
    while let Some(rel) = memchr::memmem::find(&lower_html[pos..], b"integrity") {
        let at = pos + rel;
        pos = at + 9;
        // The enclosing tag: from the last `<` before it to the next `>`.
        let Some(open) = memchr::memrchr(b'<', &html[..at]) else {
            continue;
        };
        if memchr::memchr(b'>', &html[open..at]).is_some() {
            continue;
        }
        let Some(close) = memchr::memchr(b'>', &html[at..]).map(|p| at + p) else {
            continue;
        };
        let lower = &lower_html[open..close];

        let Some((value_range, _)) = attr(lower, open, b"integrity") else {
            continue;
        };
        if value_range.start < at {
            continue;
        }
        let url = attr(lower, open, b"src")
            .or_else(|| attr(lower, open, b"href"))
            .map(|(r, _)| html[r].to_vec());
        let Some(url) = url else { continue };
        // Tokens, with their exact (case-preserved) text.
        let text = &html[value_range.clone()];
        let mut k = 0;
        while k < text.len() {
            while k < text.len() && text[k].is_ascii_whitespace() {
                k += 1;
            }
            let s = k;
            while k < text.len() && !text[k].is_ascii_whitespace() {
                k += 1;
            }
            if s == k {
                break;
            }
            let token = &text[s..k];
            let (alg, rest) = if let Some(r) = token.strip_prefix(b"sha256-") {
                (Alg::Sha256, r)
            } else if let Some(r) = token.strip_prefix(b"sha384-") {
                (Alg::Sha384, r)
            } else if let Some(r) = token.strip_prefix(b"sha512-") {
                (Alg::Sha512, r)
            } else {
                continue;
            };
            // An option suffix (`?foo`) is allowed by the spec grammar; keep the digest only.
            let digest = rest.split(|&c| c == b'?').next().unwrap_or(rest);
            let start = value_range.start + s;
            out.push(IntegrityRef {
                url: url.clone(),
                span: start..start + 7 + digest.len(),
                alg,
                digest: String::from_utf8_lossy(digest).into_owned(),
                line: 1 + memchr::memchr_iter(b'\n', &html[..start]).count() as u64,
            });
        }
        pos = close;
    }
    out
}

/// `true` when the URL names a file of the same site (relative or root-relative), the only
/// kind a dist can hold.
pub fn is_local(url: &[u8]) -> bool {
    if url.starts_with(b"//") {
        return false;
    }
    // A scheme is letters, digits, `+ - .` up to a `:` that comes before any `/ ? #`.
    match url
        .iter()
        .position(|&c| matches!(c, b':' | b'/' | b'?' | b'#'))
    {
        Some(i) if url[i] == b':' && i > 0 => !url[..i]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')),
        _ => true,
    }
}

/// One entry of an Angular `ngsw.json` `hashTable`: the key (a root-relative URL) and the span
/// of its 40-hex SHA-1 value (without quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NgswEntry {
    pub url: String,
    pub span: Range<usize>,
    pub sha1: String,
}

/// The `hashTable` entries of an `ngsw.json`, located textually (each value is found as the
/// first 40-hex string after its key and checked against the parsed JSON).
pub fn ngsw_entries(json: &[u8]) -> Vec<NgswEntry> {
    #[derive(serde::Deserialize)]
    struct Ngsw {
        #[serde(rename = "hashTable")]
        hash_table: std::collections::BTreeMap<String, String>,
    }
    let Ok(n) = serde_json::from_slice::<Ngsw>(json) else {
        return Vec::new();
    };
    let Some(table) = memchr::memmem::find(json, b"\"hashTable\"") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (url, sha1) in n.hash_table {
        let Ok(key) = serde_json::to_string(&url) else {
            continue;
        };
        let Some(k) = memchr::memmem::find(&json[table..], key.as_bytes()) else {
            continue;
        };
        let after = table + k + key.len();
        let needle = format!("\"{sha1}\"");
        let Some(v) = memchr::memmem::find(&json[after..], needle.as_bytes()) else {
            continue;
        };
        let start = after + v + 1;
        // Only a colon and white space may sit between the key and its value.
        if !json[after..start - 1]
            .iter()
            .all(|c| c.is_ascii_whitespace() || *c == b':')
        {
            continue;
        }
        if sha1.len() == 40 && sha1.bytes().all(|c| c.is_ascii_hexdigit()) {
            out.push(NgswEntry {
                url,
                span: start..start + sha1.len(),
                sha1,
            });
        }
    }
    out.sort_by_key(|e| e.span.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_like_names() {
        for yes in [
            "sw.js",
            "service-worker.js",
            "workbox-4f2a.js",
            "precache-manifest.1234.js",
            "asset-manifest.json",
            "manifest.webmanifest",
            "Stats.JSON",
        ] {
            assert!(may_list_hashes(yes.as_bytes()), "{yes}");
        }
        for no in ["ngsw.json", "index.js", "app.css", "index.html", "x.js.map"] {
            assert!(!may_list_hashes(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn spellings_are_the_usual_digests() {
        let s = spellings(b"abc");
        let get = |n: &str| s.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        // Known answers (RFC 1321, FIPS 180).
        assert_eq!(get("MD5"), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(
            get("SHA-1"),
            Some("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            get("SHA-256"),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            get("SHA-256 (base64)"),
            Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        );
    }

    #[test]
    fn finds_integrity_tokens_on_loading_tags() {
        let tok = Alg::Sha384.token(b"x");
        let html = format!(
            "<p>integrity</p>\n<script type=module crossorigin src=\"/assets/a.js\" integrity=\"{tok} sha256-AAAA\"></script>\n<link rel=stylesheet href='b.css' INTEGRITY='sha512-zz'>"
        );
        let r = find(html.as_bytes());
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!(r[0].url, b"/assets/a.js");
        assert_eq!(&html.as_bytes()[r[0].span.clone()], tok.as_bytes());
        assert_eq!(r[0].line, 2);
        assert_eq!((r[1].alg, r[1].digest.as_str()), (Alg::Sha256, "AAAA"));
        assert_eq!(
            (r[2].alg, r[2].url.as_slice()),
            (Alg::Sha512, &b"b.css"[..])
        );
        assert!(find(b"<p>integrity=\"sha256-x\"</p>").is_empty());
    }

    #[test]
    fn locality() {
        assert!(is_local(b"/a.js") && is_local(b"a.js") && is_local(b"./x/a:b.js"));
        assert!(!is_local(b"https://cdn/a.js") && !is_local(b"//cdn/a.js"));
    }

    #[test]
    fn ngsw_hash_table() {
        let j = br#"{"configVersion":1,"hashTable":{"/main.js":"0123456789abcdef0123456789abcdef01234567","/a b.css": "89abcdef0123456789abcdef0123456789abcdef"}}"#;
        let e = ngsw_entries(j);
        assert_eq!(e.len(), 2);
        assert_eq!(&j[e[0].span.clone()], e[0].sha1.as_bytes());
        assert_eq!(e[1].url, "/a b.css");
        assert!(ngsw_entries(b"{}").is_empty());
    }
}
