//! `VAULT/manifest.json`: the record of every seal, enough to restore each changed or moved
//! file byte for byte and to find a map from a deployed file's bytes.
//!
//! Format (versioned; `format` and `version` are checked on load):
//!
//! ```json
//! {"format": "mapvault-manifest", "version": 1, "seals": [
//!   {"id": "…", "dist": "/abs/dist", "sealed_at": "2026-11-24T12:00:00Z", "tool": "mapvault 0.1.0",
//!    "files": [
//!      {"path": "assets/a.js.map", "action": "moved", "sha256": "…", "size": 1234,
//!       "mode": 420, "mtime": 1732449600, "mtime_nsec": 0, "stored": {"map": "<sha256>"}},
//!      {"path": "assets/a.js", "action": "edited", "sha256": "<original>", "size": 99,
//!       "sealed_sha256": "…", "sealed_size": 70, "mode": 420, "mtime": …, "mtime_nsec": …,
//!       "edits": [{"offset": 70, "len": 29, "removed_sha256": "…",
//!                  "removed": {"text": "//# sourceMappingURL=a.js.map"},
//!                  "kind": "map-reference", "line": 3, "url": "a.js.map",
//!                  "target": "inside", "map_path": "assets/a.js.map", "map_sha256": "…"}]}],
//!    "dirs": [{"path": "maps", "mode": 493}]}]}
//! ```
//!
//! `offset`/`len` are in the original file. Removed bytes are stored as `text` (UTF-8, small),
//! `base64` (small binary), `blob` (`VAULT/blobs/<sha256>`), or `inline_map` (rebuilt as
//! `prefix + base64(VAULT/maps/<sha256>.map)` — an inline map is stored once, decoded).
//! Every reconstruction is checked against `removed_sha256` before it is written back.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::findings::LeakKind;
pub use crate::findings::{RewriteKind, TargetKind};
use crate::hash::is_sha256_hex;
use crate::meta::Meta;
use crate::relpath::{RawPath, RelPath};

pub const FORMAT: &str = "mapvault-manifest";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub seals: Vec<SealRecord>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            seals: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealRecord {
    pub id: String,
    /// Absolute, canonical path of the dist when it was sealed.
    pub dist: RawPath,
    pub sealed_at: String,
    pub tool: String,
    pub files: Vec<FileRecord>,
    #[serde(default)]
    pub dirs: Vec<DirRecord>,
    /// Symbolic links seal removed because they named or pointed at a source map (servers and
    /// copy tools follow links). Absent from records that removed none (and from every record
    /// written before links were moved): old vaults load unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkRecord>,
}

/// A symbolic link seal removed: its dist-relative name and its target, exactly as `readlink`
/// gave it (relative or absolute, inside the dist or not, dangling or not). Unseal recreates
/// it as it was, never following it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub path: RelPath,
    pub target: RawPath,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The file was a source map and now lives in the vault.
    Moved,
    /// Reference comments were cut out of the file.
    Edited,
    /// A precompressed copy (`x.js.gz`) regenerated from sealed content; the original bytes are
    /// in `stored` (a blob).
    Replaced,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: RelPath,
    pub action: Action,
    /// sha256 of the original file.
    pub sha256: String,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub mtime_nsec: i64,
    /// Where a moved file's bytes are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    /// sha256 of the file as sealed (edited files), to look a deployed file up by its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<EditRecord>,
    /// Precompressed files: the format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<crate::compress::Codec>,
    /// A compressed source map: its decompressed bytes, stored as `maps/<sha256>.map`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_sha256: Option<String>,
    /// The debug ID (ECMA-426 debug-ID proposal) linking this bundle and its map: found in the
    /// file or map, or injected by `seal --debug-ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_id: Option<String>,
    /// `seal --debug-ids` on a map without one: the map is also stored with a `"debugId"`
    /// member added, as `maps/<debug_map_sha256>.map` (`stored` keeps the original bytes, so
    /// unseal and lookups by original hash are unchanged). `inserted` says what was added
    /// where (offset in the original map or, for an inline map, in its decoded JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inserted: Option<Inserted>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_map_sha256: Option<String>,
}

impl FileRecord {
    /// The record of the file at `path` as it was (`sha256`, `size`, and mode and mtime from
    /// `meta`), changed by `action`; the fields that depend on the action are empty.
    pub fn new(path: RelPath, action: Action, sha256: String, size: u64, meta: &Meta) -> Self {
        FileRecord {
            path,
            action,
            sha256,
            size,
            mode: meta.mode,
            mtime: meta.mtime,
            mtime_nsec: meta.mtime_nsec,
            stored: None,
            sealed_sha256: None,
            sealed_size: None,
            edits: Vec::new(),
            codec: None,
            map_sha256: None,
            debug_id: None,
            inserted: None,
            debug_map_sha256: None,
        }
    }
}

/// Bytes seal inserted into a file (the `"debugId"` member of a vaulted map, or the
/// `//# debugId=` comment), recorded so unseal removes exactly them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inserted {
    pub offset: u64,
    pub text: String,
}

/// A vault object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    /// `VAULT/maps/<sha256>.map`
    Map(String),
    /// `VAULT/blobs/<sha256>`
    Blob(String),
}

impl Stored {
    pub fn sha(&self) -> &str {
        match self {
            Stored::Map(s) | Stored::Blob(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditRecord {
    /// Byte offset in the original file.
    pub offset: u64,
    /// Number of bytes removed.
    pub len: u64,
    pub removed_sha256: String,
    pub removed: Bytes,
    /// What the edit was for: a leak kind (the removed bytes were a reference), or a change
    /// that keeps the dist consistent (`debug-id`, `integrity`, `ngsw-hash`).
    pub kind: EditKind,
    /// 1-based line (absent for binary formats such as WebAssembly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The URL as text (lossy; for people and lookups — the exact bytes are in `removed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub target: TargetKind,
    /// Original dist-relative path of the referenced map, when it was inside the dist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_path: Option<RelPath>,
    /// The vaulted map this reference led to (external map in the dist, or inline map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_sha256: Option<String>,
    /// Text seal put where the removed bytes were (a `//# debugId=` comment, a recomputed
    /// `integrity` value…); absent when the bytes were only cut. Unseal takes exactly these
    /// bytes out again before putting `removed` back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inserted: Option<String>,
}

impl EditRecord {
    /// Length of the inserted text (what the edit occupies in the sealed file).
    pub fn inserted_len(&self) -> u64 {
        self.inserted.as_ref().map_or(0, |s| s.len() as u64)
    }
}

/// Why an edit was made. Serialized as one kebab-case string: a [`LeakKind`] name, or one of
/// the consistency rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EditKind {
    Leak(LeakKind),
    Rewrite(RewriteKind),
}

/// Removed bytes, stored in the cheapest exact form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bytes {
    Text(String),
    Base64(String),
    Blob(String),
    InlineMap { map: String, prefix: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirRecord {
    pub path: RelPath,
    pub mode: u32,
}

/// A manifest that does not describe a consistent vault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Manifest {
    /// Parse and check. Refuses anything it does not fully understand rather than guessing.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, Invalid> {
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Invalid(format!("not a valid manifest: {e}")))?;
        m.validate()?;
        Ok(m)
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if self.format != FORMAT {
            return Err(Invalid(format!(
                "unknown format {:?} (expected {FORMAT:?})",
                self.format
            )));
        }
        if self.version != VERSION {
            return Err(Invalid(format!(
                "manifest version {} is not supported by this mapvault (supports {VERSION})",
                self.version
            )));
        }
        let mut ids = BTreeSet::new();
        for rec in &self.seals {
            if !ids.insert(&rec.id) {
                return Err(Invalid(format!("seal id {} appears twice", rec.id)));
            }
            rec.validate()?;
        }
        Ok(())
    }

    /// Every vault object (maps and blobs) some record still needs, as `(is_map, sha)`.
    pub fn referenced_objects(&self) -> BTreeSet<(bool, String)> {
        let mut out = BTreeSet::new();
        for rec in &self.seals {
            for f in &rec.files {
                f.for_each_object(|is_map, sha| {
                    out.insert((is_map, sha.to_string()));
                });
            }
        }
        out
    }
}

impl FileRecord {
    /// Call `each(is_map, sha)` for every vault object this file's record needs (a name may
    /// come more than once): its stored map or blob, a decompressed or debug-ID map, and the
    /// blobs and inline maps of its edits.
    pub fn for_each_object(&self, mut each: impl FnMut(bool, &str)) {
        if let Some(m) = &self.map_sha256 {
            each(true, m);
        }
        if let Some(m) = &self.debug_map_sha256 {
            each(true, m);
        }
        match &self.stored {
            Some(Stored::Map(s)) => each(true, s),
            Some(Stored::Blob(s)) => each(false, s),
            None => {}
        }
        for e in &self.edits {
            match &e.removed {
                Bytes::Blob(s) => each(false, s),
                Bytes::InlineMap { map, .. } => each(true, map),
                _ => {}
            }
            if let Some(m) = &e.map_sha256 {
                each(true, m);
            }
        }
    }
}

impl SealRecord {
    /// Check one record: every path inside the dist, hashes that are hashes, edits in order
    /// and in bounds, removed bytes kept inline matching their hash. Refuses anything it does
    /// not fully understand rather than guessing.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |what: &str, rec: &SealRecord, path: &RelPath| {
            Invalid(format!("seal {}: {}: {what}", rec.id, path))
        };
        let rec = self;
        if !is_record_id(&rec.id) {
            return Err(Invalid(format!(
                "seal id {:?} is not a record id (letters, digits, `.`, `_`, `-`; at most 128)",
                rec.id
            )));
        }
        {
            if !rec.dist.to_path().is_absolute() {
                return Err(Invalid(format!(
                    "seal {}: dist path is not absolute",
                    rec.id
                )));
            }
            let root = std::path::Path::new("/");
            let mut paths = BTreeSet::new();
            for f in &rec.files {
                if f.path.under(root).is_none() {
                    return Err(bad("path escapes the dist", rec, &f.path));
                }
                if !paths.insert(&f.path) {
                    return Err(bad("appears twice in one seal", rec, &f.path));
                }
                if !is_sha256_hex(&f.sha256) {
                    return Err(bad("sha256 is not a sha256", rec, &f.path));
                }
                if f.mode > 0o7777 {
                    return Err(bad("mode is not a permission mode", rec, &f.path));
                }
                // A moved or replaced file is stored under the hash of its own bytes (unless
                // seal inserted bytes into it, which `inserted` records).
                if f.inserted.is_none()
                    && let Some(s) = &f.stored
                    && s.sha() != f.sha256
                {
                    return Err(bad(
                        "vault object does not match the file's sha256",
                        rec,
                        &f.path,
                    ));
                }
                match f.action {
                    Action::Moved => match &f.stored {
                        Some(s) if is_sha256_hex(s.sha()) => {}
                        _ => {
                            return Err(bad(
                                "moved file without a valid vault object",
                                rec,
                                &f.path,
                            ));
                        }
                    },
                    Action::Replaced => {
                        if !matches!(&f.stored, Some(Stored::Blob(s)) if is_sha256_hex(s))
                            || !f.sealed_sha256.as_deref().is_some_and(is_sha256_hex)
                        {
                            return Err(bad(
                                "replaced file without original bytes or sealed hash",
                                rec,
                                &f.path,
                            ));
                        }
                    }
                    Action::Edited => {
                        if !f.sealed_sha256.as_deref().is_some_and(is_sha256_hex)
                            || f.edits.is_empty()
                        {
                            return Err(bad(
                                "edited file without sealed hash or edits",
                                rec,
                                &f.path,
                            ));
                        }
                        let mut end = 0u64;
                        for e in &f.edits {
                            if e.offset < end
                                || e.offset.saturating_add(e.len) > f.size
                                || !is_sha256_hex(&e.removed_sha256)
                            {
                                return Err(bad(
                                    "edits overlap, are out of order or out of bounds",
                                    rec,
                                    &f.path,
                                ));
                            }
                            end = e.offset + e.len;
                            if e.inserted.is_none() && matches!(e.kind, EditKind::Rewrite(_)) {
                                return Err(bad("a rewrite that inserts nothing", rec, &f.path));
                            }
                            let ok = match &e.removed {
                                Bytes::Blob(s) => is_sha256_hex(s),
                                Bytes::InlineMap { map, .. } => is_sha256_hex(map),
                                // Bytes kept in the manifest itself must be what was removed.
                                Bytes::Text(t) => removed_matches(t.as_bytes(), e),
                                Bytes::Base64(b) => {
                                    use base64::Engine;
                                    base64::engine::general_purpose::STANDARD
                                        .decode(b)
                                        .is_ok_and(|d| removed_matches(&d, e))
                                }
                            };
                            if !ok {
                                return Err(bad(
                                    "edit refers to an invalid vault object, or its removed bytes do not match their sha256",
                                    rec,
                                    &f.path,
                                ));
                            }
                        }
                    }
                }
            }
            for d in &rec.dirs {
                if d.path.under(root).is_none() {
                    return Err(bad("directory path escapes the dist", rec, &d.path));
                }
            }
            for l in &rec.links {
                if l.path.as_bytes().is_empty() || l.path.under(root).is_none() {
                    return Err(bad("link path escapes the dist", rec, &l.path));
                }
                if !paths.insert(&l.path) {
                    return Err(bad("appears twice in one seal", rec, &l.path));
                }
                let t = l.target.to_path();
                if t.as_os_str().is_empty() || t.as_os_str().as_encoded_bytes().contains(&0) {
                    return Err(bad("link target is empty or not a path", rec, &l.path));
                }
            }
        }
        Ok(())
    }
}

/// Is `id` usable as a record id, hence as a file name under `VAULT/seals/`? Letters, digits,
/// `.`, `_` and `-`, not starting with `.`, at most 128 bytes (every id v1 and v2 write).
pub fn is_record_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Do `bytes` (kept in the manifest) hash and measure as the edit says they should?
fn removed_matches(bytes: &[u8], e: &EditRecord) -> bool {
    bytes.len() as u64 == e.len && crate::hash::sha256_hex(bytes) == e.removed_sha256
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let sha = "a".repeat(64);
        Manifest {
            seals: vec![SealRecord {
                id: "s1".into(),
                dist: RawPath::from_path(std::path::Path::new("/tmp/dist")),
                sealed_at: "2026-11-24T00:00:00Z".into(),
                tool: "mapvault test".into(),
                files: vec![FileRecord {
                    sealed_sha256: Some(sha.clone()),
                    sealed_size: Some(5),
                    edits: vec![EditRecord {
                        offset: 5,
                        len: 26,
                        removed_sha256: crate::hash::sha256_hex(b"//# sourceMappingURL=a.map"),
                        removed: Bytes::Text("//# sourceMappingURL=a.map".into()),
                        kind: EditKind::Leak(LeakKind::MapReference),
                        line: Some(2),
                        url: Some("a.map".into()),
                        target: TargetKind::Missing,
                        map_path: None,
                        map_sha256: None,
                        inserted: None,
                    }],
                    ..FileRecord::new(
                        RelPath::new(b"a.js".to_vec()),
                        Action::Edited,
                        sha.clone(),
                        31,
                        &Meta {
                            mode: 0o644,
                            ..Meta::default()
                        },
                    )
                }],
                dirs: vec![],
                links: vec![],
            }],
            ..Manifest::default()
        }
    }

    // Unix absolute paths (`/w/dist`) as fixtures: not absolute on Windows.

    #[cfg(unix)]
    #[test]
    fn round_trips_and_validates() {
        let m = sample();
        let j = serde_json::to_vec_pretty(&m).expect("serializes");
        assert_eq!(Manifest::parse(&j).expect("valid"), m);
    }

    #[test]
    fn refuses_hand_edited_nonsense() {
        let mut m = sample();
        m.seals[0].files[0].path = RelPath::new(b"../../etc/passwd".to_vec());
        assert!(m.validate().is_err());
        let mut m = sample();
        m.seals[0].files[0].edits[0].offset = 100;
        assert!(m.validate().is_err());
        let mut m = sample();
        m.version = 99;
        assert!(m.validate().is_err_and(|e| e.0.contains("not supported")));
        assert!(Manifest::parse(b"{\"format\":").is_err());
        assert!(Manifest::parse(b"\xff\x00").is_err());
    }
}
