//! What `lstat`/`fstat` said about a file, kept so later steps can tell whether it changed. A
//! leaf: the walk records it, inspection refreshes it from the open file, the journal carries it
//! and the apply layer compares it before every change.

use crate::sys::MetadataExt;

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

    /// The metadata of an open file. On Windows a `Metadata` knows no link count (see
    /// `crate::sys`) and the handle is asked for it, so a hard-linked file is never taken for
    /// one that can be edited in place.
    pub fn from_file(f: &std::fs::File) -> std::io::Result<Self> {
        #[cfg_attr(unix, expect(unused_mut, reason = "only Windows refines it"))]
        let mut m = Meta::from_std(&f.metadata()?);
        #[cfg(windows)]
        {
            m.nlink = crate::sys::link_count(f)?;
        }
        Ok(m)
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
