//! What `lstat`/`fstat` said about a file, kept so later steps can tell whether it changed. A
//! leaf: the walk records it, inspection refreshes it from the open file, the journal carries it
//! and the apply layer compares it before every change.

use std::os::unix::fs::MetadataExt;

/// The metadata of one file as it was seen.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub mtime_nsec: i64,
    pub ino: u64,
    pub dev: u64,
    pub nlink: u64,
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
}

impl Meta {
    pub fn from_std(m: &std::fs::Metadata) -> Self {
        Meta {
            size: m.len(),
            mode: m.mode() & 0o7777,
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ino: m.ino(),
            dev: m.dev(),
            nlink: m.nlink(),
            uid: m.uid(),
            gid: m.gid(),
        }
    }

    /// Same file, same content as far as metadata can tell (inode, size, mtime).
    pub fn same_content(&self, other: &Meta) -> bool {
        self.ino == other.ino
            && self.dev == other.dev
            && self.size == other.size
            && self.mtime == other.mtime
            && self.mtime_nsec == other.mtime_nsec
    }

    /// Can seal rewrite this file's tail in place? Only a file with one link (a rewrite through
    /// another name would change that file too), writable by its owner, and owned by `euid`.
    pub fn editable_in_place_by(&self, euid: u32) -> bool {
        self.nlink == 1 && self.mode & 0o200 != 0 && self.uid == euid
    }
}
