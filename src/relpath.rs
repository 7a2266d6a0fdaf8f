//! Root-relative paths as raw bytes with `/` separators — how mapvault names every file it
//! reports or records, including names that are not valid UTF-8.
//!
//! In JSON reports a path is a string (lossy for non-UTF-8 names, which are rare in dists). In
//! the manifest it must round-trip exactly, so non-UTF-8 names are written as `{"hex": "…"}`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    /// which a hand-edited manifest might contain.
    pub fn under(&self, root: &Path) -> Option<PathBuf> {
        if self.0.is_empty() || self.0.contains(&0) || self.0.starts_with(b"/") {
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

    /// Lossy UTF-8 for reports.
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
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
        f.write_str(&String::from_utf8_lossy(&self.0))
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
}

impl std::fmt::Display for RawPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
