//! `VAULT/journal.json`: the plan of a seal or unseal that is under way, written durably before
//! the first byte changes and removed after the manifest records the result.
//!
//! Every step is idempotent and checks the state it finds before acting, so running a journal
//! again after a crash (SIGKILL, power loss) finishes the job: that is all recovery is. The
//! ordering argument lives in [`crate::apply`].

use crate::sys::OsStrExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::manifest::{Bytes, EditRecord, Manifest, SealRecord, Stored};
use crate::compress::Codec;
use crate::hash::is_sha256_hex;
use crate::meta::Meta;
use crate::relpath::{RawPath, RelPath};
use crate::splice::Splice;

pub const FORMAT: &str = "mapvault-journal";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Seal,
    Unseal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub format: String,
    pub version: u32,
    pub op: Op,
    pub id: String,
    /// Canonical absolute path of the dist being changed.
    pub dist: RawPath,
    /// The vault the journal belongs to (its path as given to the command that wrote it);
    /// empty in a journal written before it was recorded, which [`Journal::check`] refuses.
    #[serde(default)]
    pub vault: RawPath,
    pub steps: Vec<Step>,
    /// Seal: the record appended to the manifest once the steps are done (files whose steps
    /// failed are left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<SealRecord>,
}

/// How an edit is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// Rewrite only the file's tail in place: bytes `[start..]` go from `from` to `to`
    /// (base64). Used when the edit is near the end, the inode has one link and is writable.
    InPlace {
        start: u64,
        /// The tail now (base64) when it is short; empty when `from_sha256` names it instead.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        from: String,
        /// `(sha256, length)` of the tail now, when it is longer than [`SPELLED_MAX`] (an
        /// inline map: spelling it out doubled the journal of a dist with many).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_sha256: Option<(String, u64)>,
        to: String,
        prefix_sha256: String,
    },

    /// Write a complete new copy to `temp` (same file system), then rename it over the file.
    Rewrite { temp: RawPath },
}

/// Longest current tail an in-place step spells out; a longer one is named by its hash.
pub const SPELLED_MAX: usize = 512;

impl How {
    /// An in-place change of the bytes from `start` on, which are `from` now and become `to`.
    pub fn in_place(start: u64, from: &[u8], to: &[u8], prefix_sha256: String) -> How {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let (from, from_sha256) = if from.len() <= SPELLED_MAX {
            (b64.encode(from), None)
        } else {
            (
                String::new(),
                Some((crate::hash::sha256_hex(from), from.len() as u64)),
            )
        };
        How::InPlace {
            start,
            from,
            from_sha256,
            to: b64.encode(to),
            prefix_sha256,
        }
    }
}

/// What an in-place step expects a file's tail to hold now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailIs {
    Bytes(Vec<u8>),
    Hashed { sha256: String, len: u64 },
}

impl TailIs {
    /// From the `from` / `from_sha256` fields of [`How::InPlace`].
    pub fn of(from: &str, from_sha256: Option<&(String, u64)>) -> Result<TailIs, String> {
        use base64::Engine;
        match from_sha256 {
            Some((sha256, len)) if from.is_empty() => Ok(TailIs::Hashed {
                sha256: sha256.clone(),
                len: *len,
            }),
            Some(_) => Err("journal.json: an in-place step has both from and from_sha256".into()),
            None => base64::engine::general_purpose::STANDARD
                .decode(from)
                .map(TailIs::Bytes)
                .map_err(|e| format!("journal.json: invalid base64 in an in-place step: {e}")),
        }
    }

    pub fn size(&self) -> u64 {
        match self {
            TailIs::Bytes(b) => b.len() as u64,
            TailIs::Hashed { len, .. } => *len,
        }
    }

    /// Do `bytes` (a tail of this length) match?
    pub fn matches(&self, bytes: &[u8]) -> bool {
        match self {
            TailIs::Bytes(b) => b == bytes,
            TailIs::Hashed { sha256, len } => {
                bytes.len() as u64 == *len && crate::hash::sha256_hex(bytes) == *sha256
            }
        }
    }
}

/// One idempotent step.

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Decode the `data:` URI at `[url_offset, +url_len)` of the (still original) file and store
    /// it as `maps/<sha256>.map`.
    StoreInline {
        path: RelPath,
        url_offset: u64,
        url_len: u64,
        sha256: String,
    },
    /// Store a map with a `"debugId"` member inserted (`seal --debug-ids`) as
    /// `maps/<sha256>.map`: `text` goes at `offset` of the map, which is the whole (still
    /// original) file, or the data URI at `inline = (url_offset, url_len)` decoded.
    StoreWithDebugId {
        path: RelPath,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inline: Option<(u64, u64)>,
        offset: u64,
        text: String,
        sha256: String,
    },
    /// Store bytes `[offset, +len)` of the (still original) file as `blobs/<sha256>`.
    StoreBlob {
        path: RelPath,
        offset: u64,
        len: u64,
        sha256: String,
    },
    /// Copy a dist file into the vault (when a rename is not possible: another file system, or
    /// the inode has other links that must not change mode).
    CopyIn {
        path: RelPath,
        to: Stored,
        meta: Meta,
    },
    /// Move a file into the vault by renaming it (same file system, single link).
    RenameIn {
        path: RelPath,
        to: Stored,
        meta: Meta,
    },
    /// Decompress a compressed source map and store the result as `maps/<sha256>.map`.
    StoreDecoded {
        path: RelPath,
        codec: Codec,
        sha256: String,
    },
    /// Regenerate a precompressed copy from sealed content: decompress, apply `splices` (offsets
    /// in the decompressed bytes), compress again, and rename the result over the file.
    Recompress {
        path: RelPath,
        meta: Meta,
        codec: Codec,
        original_sha256: String,
        inner_sha256: String,
        /// Written as `cuts` (`[offset, len]` pairs) and `inserts` (see
        /// [`crate::splice::journal_form`]).
        #[serde(flatten, with = "crate::splice::journal_form")]
        splices: Vec<Splice>,
        new_sha256: String,
        temp: RawPath,
    },
    /// The vault has these bytes: delete the dist copy.
    Unlink {
        path: RelPath,
        object: Stored,
        meta: Meta,
    },
    /// Cut byte ranges out of a file (seal), putting text in some of their places; offsets are
    /// in the original.
    Edit {
        path: RelPath,
        meta: Meta,
        original_sha256: String,
        sealed_sha256: String,
        /// Written as `cuts` and `inserts`, like [`Step::Recompress`].
        #[serde(flatten, with = "crate::splice::journal_form")]
        splices: Vec<Splice>,
        how: How,
    },
    /// Remove a directory seal emptied (deepest first; only if empty).
    RemoveDir { path: RelPath },
    /// Remove a symbolic link that names or points at a source map (seal): only while it is
    /// still a link to `target`.
    RemoveLink { path: RelPath, target: RawPath },
    /// Recreate a symbolic link seal removed (unseal), never following it; only where nothing
    /// is.
    MakeLink {
        seal_id: String,
        path: RelPath,
        target: RawPath,
    },
    /// Recreate a directory seal removed.
    MakeDir {
        seal_id: String,
        path: RelPath,
        mode: u32,
    },
    /// Put a moved file back from the vault (`rename` moves the object out when nothing else
    /// needs it; otherwise it is copied through `temp`).
    Restore {
        seal_id: String,
        path: RelPath,
        from: Stored,
        sha256: String,
        size: u64,
        mode: u32,
        mtime: i64,
        mtime_nsec: i64,
        rename: bool,
        temp: RawPath,
        /// Overwrite a file that now has this hash (a regenerated compressed copy).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<String>,
    },
    /// Put the removed bytes back into an edited file (unseal).
    Unedit {
        seal_id: String,
        path: RelPath,
        sha256: String,
        sealed_sha256: String,
        edits: Vec<EditRecord>,
        mode: u32,
        mtime: i64,
        mtime_nsec: i64,
        how: How,
    },
}

impl Step {
    pub fn path(&self) -> &RelPath {
        match self {
            Step::StoreInline { path, .. }
            | Step::StoreWithDebugId { path, .. }
            | Step::StoreBlob { path, .. }
            | Step::CopyIn { path, .. }
            | Step::RenameIn { path, .. }
            | Step::StoreDecoded { path, .. }
            | Step::Recompress { path, .. }
            | Step::Unlink { path, .. }
            | Step::Edit { path, .. }
            | Step::RemoveDir { path }
            | Step::RemoveLink { path, .. }
            | Step::MakeLink { path, .. }
            | Step::MakeDir { path, .. }
            | Step::Restore { path, .. }
            | Step::Unedit { path, .. } => path,
        }
    }
}

impl Journal {
    pub fn new(op: Op, id: String, dist: RawPath) -> Self {
        Journal {
            format: FORMAT.into(),
            version: VERSION,
            op,
            id,
            dist,
            vault: RawPath::default(),
            steps: Vec::new(),
            record: None,
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Journal, String> {
        let j: Journal =
            serde_json::from_slice(bytes).map_err(|e| format!("journal.json is not valid: {e}"))?;
        if j.format != FORMAT || j.version != VERSION {
            return Err(format!(
                "journal.json has format {:?} version {} (this mapvault reads {FORMAT:?} version {VERSION})",
                j.format, j.version
            ));
        }
        if let Some(bad) = j
            .steps
            .iter()
            .find(|s| s.path().under(std::path::Path::new("/")).is_none())
        {
            return Err(format!(
                "journal.json names a path outside the dist: {}",
                bad.path()
            ));
        }
        Ok(j)
    }

    /// Is this a journal mapvault may run against `dist` with the vault at `vault`? A journal
    /// is read from the vault, which is untrusted input (a CI cache can be poisoned), so before
    /// a step runs every field that decides *where* something happens or *what mode* a file
    /// gets is checked here, without touching the file system:
    ///
    /// - it names this dist and this vault;
    /// - every step path is relative and stays in the dist (no `..`, no absolute path);
    /// - every temp file is `VAULT/tmp/<name>` or a `.mapvault-….tmp` name in the dist (temps
    ///   are created, renamed over files and removed: anywhere else they would delete or
    ///   replace files outside);
    /// - every vault object is named by a sha256 (its name becomes a path under `maps/` or
    ///   `blobs/`);
    /// - every mode it gives a file or directory is one a dist file can have: permission bits
    ///   only (no setuid, setgid or sticky bit), never world-writable;
    /// - its seal record, if any, is a valid record of this dist.
    ///
    /// Symbolic links on the way are the file system's part: see `apply::check_paths`.
    pub fn check(&self, dist: &Path, vault: &Path) -> Result<(), String> {
        if self.dist.to_path() != dist {
            return Err(format!(
                "it is an unfinished {} of {}, not this dist ({})",
                self.op.name(),
                self.dist,
                dist.display()
            ));
        }
        if self.vault.as_bytes().is_empty() {
            return Err(
                "it names no vault (written by an earlier mapvault, or not by mapvault)".into(),
            );
        }
        if self.vault.to_path() != vault {
            return Err(format!(
                "it belongs to the vault {}, not this vault ({})",
                self.vault,
                vault.display()
            ));
        }
        let tmp = vault.join("tmp");
        for s in &self.steps {
            check_step(s, dist, &tmp)
                .map_err(|e| format!("its {} step for {}: {e}", s.name(), s.path()))?;
        }
        if let Some(rec) = &self.record {
            if self.op != Op::Seal || rec.dist != self.dist {
                return Err(format!(
                    "its seal record {} is not a record of this dist",
                    rec.id
                ));
            }
            let m = Manifest {
                seals: vec![rec.clone()],
                ..Manifest::default()
            };
            m.validate()
                .map_err(|e| format!("its seal record is not valid: {e}"))?;
        }
        Ok(())
    }
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Seal => "seal",
            Op::Unseal => "unseal",
        }
    }
}

impl Step {
    /// The step's name as the journal spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Step::StoreInline { .. } => "store_inline",
            Step::StoreWithDebugId { .. } => "store_with_debug_id",
            Step::StoreBlob { .. } => "store_blob",
            Step::CopyIn { .. } => "copy_in",
            Step::RenameIn { .. } => "rename_in",
            Step::StoreDecoded { .. } => "store_decoded",
            Step::Recompress { .. } => "recompress",
            Step::Unlink { .. } => "unlink",
            Step::Edit { .. } => "edit",
            Step::RemoveDir { .. } => "remove_dir",
            Step::RemoveLink { .. } => "remove_link",
            Step::MakeLink { .. } => "make_link",
            Step::MakeDir { .. } => "make_dir",
            Step::Restore { .. } => "restore",
            Step::Unedit { .. } => "unedit",
        }
    }

    /// The temp file the step writes, if any (empty when it needs none).
    pub fn temp(&self) -> Option<&RawPath> {
        match self {
            Step::Edit {
                how: How::Rewrite { temp },
                ..
            }
            | Step::Unedit {
                how: How::Rewrite { temp },
                ..
            }
            | Step::Restore { temp, .. }
            | Step::Recompress { temp, .. } => Some(temp),
            _ => None,
        }
    }
}

/// The checks of [`Journal::check`] for one step.
fn check_step(s: &Step, dist: &Path, tmp: &Path) -> Result<(), String> {
    if s.path().under(dist).is_none() {
        return Err("the path leaves the dist".into());
    }
    if let Some(t) = s.temp() {
        check_temp(t, dist, tmp)?;
    }
    let sha = |what: &str, sha: &str| {
        if is_sha256_hex(sha) {
            Ok(())
        } else {
            Err(format!("{what} {sha:?} is not a sha256"))
        }
    };
    let object = |o: &Stored| sha("the vault object", o.sha());
    match s {
        Step::StoreInline { sha256, .. }
        | Step::StoreWithDebugId { sha256, .. }
        | Step::StoreBlob { sha256, .. }
        | Step::StoreDecoded { sha256, .. } => sha("the vault object", sha256),
        Step::CopyIn { to, .. } | Step::RenameIn { to, .. } => object(to),
        Step::Unlink { object: o, .. } => object(o),
        Step::MakeDir { mode, .. } => check_mode(*mode),
        Step::Restore { from, mode, .. } => {
            object(from)?;
            check_mode(*mode)
        }
        Step::Unedit { edits, mode, .. } => {
            for e in edits {
                match &e.removed {
                    Bytes::Blob(b) => sha("the vault object", b)?,
                    Bytes::InlineMap { map, .. } => sha("the vault object", map)?,
                    Bytes::Text(_) | Bytes::Base64(_) => {}
                }
            }
            check_mode(*mode)
        }
        // The mode in their `meta` is only compared, never applied: a rewritten copy takes the
        // mode of the file it replaces.
        Step::Recompress { .. } | Step::Edit { .. } | Step::RemoveDir { .. } => Ok(()),
        // A link's target is only text put in a link (never opened): anything a link can hold.
        Step::RemoveLink { target, .. } | Step::MakeLink { target, .. } => {
            let t = target.to_path();
            if t.as_os_str().is_empty() || t.as_os_str().as_encoded_bytes().contains(&0) {
                Err("the link target is empty or not a path".into())
            } else {
                Ok(())
            }
        }
    }
}

/// A mode a restored file or directory may get: what a dist file can have.
pub fn check_mode(mode: u32) -> Result<(), String> {
    if mode & !0o777 != 0 {
        return Err(format!(
            "mode {mode:04o} has setuid, setgid, sticky or file-type bits; no dist file gets them \
             from the vault"
        ));
    }
    if mode & 0o002 != 0 {
        return Err(format!(
            "mode {mode:04o} is world-writable; no file gets that from the vault"
        ));
    }
    Ok(())
}

/// This OS's path separator, as the bytes of a [`RawPath`] hold it.
const SEP: &[u8] = std::path::MAIN_SEPARATOR_STR.as_bytes();

/// A temp file must be `VAULT/tmp/<one name>` or a `.mapvault-….tmp` file in the dist.
fn check_temp(t: &RawPath, dist: &Path, tmp: &Path) -> Result<(), String> {
    let bytes = t.as_bytes();
    if bytes.is_empty() {
        return Ok(());
    }
    let beneath = |root: &Path| {
        let root = root.as_os_str().as_bytes();
        bytes
            .strip_prefix(root)
            .and_then(|rest| rest.strip_prefix(SEP))
            // `/`-separated, as every record path is.
            .map(|rest| {
                RelPath::new(
                    rest.iter()
                        .map(|&c| if c == SEP[0] { b'/' } else { c })
                        .collect(),
                )
            })
            .filter(|rel| rel.under(Path::new("/")).is_some())
    };
    if let Some(rel) = beneath(tmp)
        && rel.parent().is_none()
    {
        return Ok(());
    }
    if let Some(rel) = beneath(dist) {
        let name = rel.file_name();
        if name.starts_with(b".mapvault-") && name.ends_with(b".tmp") {
            return Ok(());
        }
    }
    Err(format!(
        "its temp file {t} is neither in the vault's tmp/ nor a .mapvault-….tmp file in the dist"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unix absolute paths (`/w/dist`) as fixtures: not absolute on Windows.

    #[cfg(unix)]
    #[test]
    fn temps_stay_in_the_vault_tmp_or_are_mapvault_temps_in_the_dist() {
        let (dist, tmp) = (Path::new("/w/dist"), Path::new("/w/v/tmp"));
        let t = |p: &str| check_temp(&RawPath::from_path(Path::new(p)), dist, tmp);
        for ok in [
            "",
            "/w/v/tmp/seal-x-3",
            "/w/dist/.mapvault-seal-x-3.tmp",
            "/w/dist/a/b/.mapvault-seal-x-3.tmp",
        ] {
            assert_eq!(t(ok), Ok(()), "{ok}");
        }
        for bad in [
            "/w/v/tmp/../manifest.json",
            "/w/v/tmp/a/b",
            "/w/v/tmp/",
            "/w/v/tmpx/a",
            "/w/v/journal.json",
            "/w/dist/app.js",
            "/w/dist/../x/.mapvault-a.tmp",
            "/w/distx/.mapvault-a.tmp",
            "/w/dist//.mapvault-a.tmp",
            "relative/.mapvault-a.tmp",
            "/etc/passwd",
        ] {
            assert!(t(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modes_are_what_a_dist_file_can_have() {
        for ok in [0o644, 0o755, 0o600, 0o775, 0o000, 0o444] {
            assert_eq!(check_mode(ok), Ok(()), "{ok:o}");
        }
        for bad in [0o4755, 0o2755, 0o1755, 0o777, 0o666, 0o100644, 0o002] {
            assert!(check_mode(bad).is_err(), "{bad:o}");
        }
    }

    /// Splices are written as the `cuts` / `inserts` pair journals have always had, so a journal
    /// left by an earlier version is finished by this one.
    #[test]
    fn edit_steps_keep_their_journal_form() {
        let meta = r#"{"size":9,"mode":420,"mtime":0,"mtime_nsec":0,"ino":1,"dev":1,"nlink":1,"uid":0,"gid":0}"#;
        let cut_only = format!(
            r#"{{"step":"edit","path":"a.js","meta":{meta},"original_sha256":"o","sealed_sha256":"s","cuts":[[5,29]],"how":{{"rewrite":{{"temp":"/t"}}}}}}"#
        );
        let with_text = format!(
            r#"{{"step":"recompress","path":"a.js.gz","meta":{meta},"codec":"gzip","original_sha256":"o","inner_sha256":"i","cuts":[[5,29],[40,0]],"inserts":["//# debugId=x",""],"new_sha256":"n","temp":"/t"}}"#
        );
        for text in [&cut_only, &with_text] {
            let step: Step = serde_json::from_str(text).expect("an old step parses");
            assert_eq!(serde_json::to_string(&step).ok().as_ref(), Some(text));
        }
        let step: Step = serde_json::from_str(&with_text).expect("parses");
        let Step::Recompress { splices, .. } = step else {
            panic!("a recompress step");
        };
        assert_eq!(
            splices,
            [
                Splice {
                    offset: 5,
                    len: 29,
                    insert: "//# debugId=x".into()
                },
                Splice::cut(40, 0)
            ]
        );
        let bad = with_text.replace(r#","inserts":["//# debugId=x",""]"#, r#","inserts":["x"]"#);
        assert!(serde_json::from_str::<Step>(&bad).is_err());
    }
}
