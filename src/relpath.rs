//! Root-relative paths as raw bytes with `/` separators — how mapvault names every file it
//! reports or records, including names that are not valid UTF-8.
//!
//! In reports a path is a string: UTF-8 names as they are, and a name that is not UTF-8 with
//! the bytes of its invalid sequences (and its `%` signs) percent-encoded, `bad\xff.js` as
//! `bad%FF.js` ([`display_bytes`]), so two such names never print alike. In the manifest it
//! must round-trip exactly, so non-UTF-8 names are written as `{"hex": "…"}`.

use crate::sys::OsStrExt;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A file name for reports. Valid UTF-8 is returned as it is. Otherwise every byte of an
/// invalid sequence becomes `%XX` and every `%` becomes `%25`: distinct names stay distinct
/// (a replacement character would make `bad\xff.js` and `bad\xfe.js` one name), and the raw
/// bytes can be recovered by percent-decoding.
pub fn display_bytes(b: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(b) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(b.len() + 8);
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '%' => out.push_str("%25"),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Is `s` a name [`display_bytes`] encoded (so already percent-encoded)? Every `%` starts an
/// escape and the escapes decode to bytes that are not UTF-8. (A UTF-8 name spelled exactly
/// like such an encoding is taken for one.)
pub fn is_encoded_name(s: &str) -> bool {
    let b = s.as_bytes();
    let escapes_ok = b
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'%')
        .all(|(i, _)| {
            b.get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        });
    escapes_ok
        && s.contains('%')
        && percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .is_err()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RelPath(Vec<u8>);

impl RelPath {
    pub fn new(bytes: Vec<u8>) -> Self {
        RelPath(bytes)
    }

    /// Relative path of `path` under `root`, or `None` if it is not under it.
    pub fn from_paths(root: &Path, path: &Path) -> Option<Self> {
        let rel = path.strip_prefix(root).ok()?;
        let mut out = Vec::new();
        for (i, c) in rel.components().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(c.as_os_str().as_bytes());
        }
        Some(RelPath(out))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Join onto a root directory. Rejects anything that could leave it (`..`, absolute, NUL),
    /// which a hand-edited manifest might contain. On Windows `\` is a separator and `:` starts
    /// a drive or a stream (`a\..\..\x`, `C:x`, `a:stream`), so a component holding either
    /// is refused there too: the record's `/` is the only separator on every OS.
    pub fn under(&self, root: &Path) -> Option<PathBuf> {
        if self.0.is_empty() || self.0.contains(&0) || self.0.starts_with(b"/") {
            return None;
        }
        if cfg!(windows) && self.0.iter().any(|&c| c == b'\\' || c == b':') {
            return None;
        }
        if self
            .0
            .split(|&c| c == b'/')
            .any(|s| s.is_empty() || s == b"." || s == b"..")
        {
            return None;
        }
        Some(root.join(OsStr::from_bytes(&self.0)))
    }

    /// The parent directory (`None` at top level).
    pub fn parent(&self) -> Option<RelPath> {
        let slash = self.0.iter().rposition(|&c| c == b'/')?;
        Some(RelPath(self.0[..slash].to_vec()))
    }

    /// File name (last segment).
    pub fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&c| c == b'/') {
            Some(p) => &self.0[p + 1..],
            None => &self.0,
        }
    }

    /// The name for reports ([`display_bytes`]): UTF-8 as it is, other bytes percent-encoded.
    pub fn lossy(&self) -> String {
        display_bytes(&self.0)
    }

    /// Prefixed with `prefix/` (for `ARCHIVE!/member` style names and multi-root reports).
    pub fn join(&self, child: &[u8]) -> RelPath {
        let mut v = self.0.clone();
        if !v.is_empty() {
            v.push(b'/');
        }
        v.extend_from_slice(child);
        RelPath(v)
    }
}

impl std::fmt::Display for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&display_bytes(&self.0))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Text(String),
    Hex { hex: String },
}

impl Serialize for RelPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(t) => Repr::Text(t.to_owned()),
            Err(_) => Repr::Hex {
                hex: hex::encode(&self.0),
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for RelPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Text(t) => Ok(RelPath(t.into_bytes())),
            Repr::Hex { hex } => hex::decode(hex)
                .map(RelPath)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// Is this command-line argument (or report path) a URL to fetch rather than a local path? Only
/// `http://` and `https://` (any case) are; `./http:/x` names a local directory. Here, beside
/// the paths it tells apart, so that `allow` and `report` need not import the HTTP crawler.
pub fn is_url(arg: &std::ffi::OsStr) -> bool {
    let b = arg.as_encoded_bytes();
    let starts = |p: &[u8]| b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p);
    starts(b"http://") || starts(b"https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_non_utf8_names_through_json() {
        let p = RelPath::new(b"a/\xff\xfe.map".to_vec());
        let j = serde_json::to_string(&p).expect("serializes");
        assert_eq!(j, r#"{"hex":"612fff fe2e6d6170"}"#.replace(' ', ""));
        assert_eq!(serde_json::from_str::<RelPath>(&j).expect("parses"), p);
        let q = RelPath::new(b"assets/a b.js".to_vec());
        assert_eq!(
            serde_json::to_string(&q).expect("serializes"),
            r#""assets/a b.js""#
        );
    }

    #[test]
    fn non_utf8_names_print_distinctly_and_percent_encoded() {
        // Regression: both printed as `bad\u{fffd}.js` (SARIF: `bad%EF%BF%BD.js`).
        let a = RelPath::new(b"d/bad\xff.js".to_vec()).lossy();
        let b = RelPath::new(b"d/bad\xfe.js".to_vec()).lossy();
        assert_eq!((a.as_str(), b.as_str()), ("d/bad%FF.js", "d/bad%FE.js"));
        // A `%` in such a name is escaped too, so the bytes come back exactly.
        let c = display_bytes(b"50%\xe9.js");
        assert_eq!(c, "50%25%E9.js");
        let back: Vec<u8> = percent_encoding::percent_decode_str(&c).collect();
        assert_eq!(back, b"50%\xe9.js");
        // UTF-8 names are untouched, `%` included.
        assert_eq!(display_bytes("a%20b é.js".as_bytes()), "a%20b é.js");
        assert!(is_encoded_name(&a) && is_encoded_name(&c));
        assert!(!is_encoded_name("a%20b.js") && !is_encoded_name("100%.js"));
    }

    #[test]
    fn under_refuses_windows_separators_and_drives_there() {
        let root = Path::new("d");
        for name in [&br"a\..\..\x"[..], b"C:x", b"a/b:stream", br"\\host\share"] {
            let got = RelPath::new(name.to_vec()).under(root);
            if cfg!(windows) {
                assert_eq!(got, None, "{}", display_bytes(name));
            } else {
                // Plain name characters on Unix.
                assert!(got.is_some(), "{}", display_bytes(name));
            }
        }
    }

    #[test]
    fn under_refuses_escapes() {
        let root = Path::new("/d");
        assert_eq!(
            RelPath::new(b"a/b.js".to_vec()).under(root),
            Some(PathBuf::from("/d/a/b.js"))
        );
        for bad in [
            &b"../x"[..],
            b"/etc/passwd",
            b"a/../../x",
            b"",
            b"a//b",
            b"a/./b",
            b"a\0b",
        ] {
            assert_eq!(RelPath::new(bad.to_vec()).under(root), None, "{bad:?}");
        }
    }
}

/// An absolute path kept as raw bytes (a dist's location in the manifest), serialized like
/// [`RelPath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawPath(RelPath);

impl RawPath {
    pub fn from_path(p: &Path) -> Self {
        RawPath(RelPath(p.as_os_str().as_bytes().to_vec()))
    }
    pub fn to_path(&self) -> PathBuf {
        PathBuf::from(OsStr::from_bytes(self.0.as_bytes()))
    }
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Display for RawPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
