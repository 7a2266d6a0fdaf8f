//! `VAULT/journal.json`: the plan of a seal or unseal that is under way, written durably before
//! the first byte changes and removed after the manifest records the result.
//!
//! Every step is idempotent and checks the state it finds before acting, so running a journal
//! again after a crash (SIGKILL, power loss) finishes the job: that is all recovery is. The
//! ordering argument lives in [`crate::apply`].

use serde::{Deserialize, Serialize};

use super::manifest::{EditRecord, SealRecord, Stored};
use crate::compress::Codec;
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
