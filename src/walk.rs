//! Listing every entry under a root — dot-files, `node_modules`, ignored files, all of it — and
//! never following a symbolic link.
//!
//! The walk only looks at metadata (`lstat`); reading contents is the caller's business. Results
//! are sorted by path so everything downstream is deterministic.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::relpath::RelPath;

/// What `lstat` said about a file, kept so later steps can tell whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
}

#[derive(Debug, Clone)]
pub struct FileEntry {
    pub rel: RelPath,
    pub path: PathBuf,
    pub meta: Meta,
}

#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<FileEntry>,
    /// Directories below the root (not the root itself), with their modes.
    pub dirs: Vec<(RelPath, u32)>,
    /// Symbolic links: never followed, never changed; reported as notes.
    pub symlinks: Vec<(RelPath, PathBuf)>,
    /// FIFOs, sockets, devices: never opened.
    pub special: Vec<RelPath>,
    /// Entries that could not be listed.
    pub errors: Vec<(RelPath, String)>,
}

/// Walk `root`. `skip` is a directory (absolute, canonical) not to descend into — the vault when
/// a caller has one nearby; pass `None` otherwise.
pub fn walk(root: &Path, skip: Option<&Path>) -> Walk {
    let mut w = Walk::default();
    let it = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| skip.is_none_or(|s| e.path() != s));
    for item in it {
        let entry = match item {
            Ok(e) => e,
            Err(err) => {
                let rel = err
                    .path()
                    .and_then(|p| RelPath::from_paths(root, p))
                    .unwrap_or_default();
                let msg = err
                    .io_error()
                    .map_or_else(|| err.to_string(), |e| e.to_string());
                w.errors.push((rel, msg));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let Some(rel) = RelPath::from_paths(root, entry.path()) else {
            continue;
        };
        let ft = entry.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(entry.path()).unwrap_or_default();
            w.symlinks.push((rel, target));
        } else if ft.is_dir() {
            let mode = entry.metadata().map(|m| m.mode() & 0o7777).unwrap_or(0o755);
            w.dirs.push((rel, mode));
        } else if ft.is_file() {
            match entry.metadata() {
                Ok(m) => w.files.push(FileEntry {
                    rel,
                    path: entry.into_path(),
                    meta: Meta::from_std(&m),
                }),
                Err(e) => w.errors.push((rel, e.to_string())),
            }
        } else if ft.is_fifo() || ft.is_socket() || ft.is_block_device() || ft.is_char_device() {
            w.special.push(rel);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_dotfiles_and_node_modules_but_not_through_links() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let r = t.path();
        std::fs::create_dir_all(r.join(".hidden/node_modules/x"))?;
        std::fs::write(r.join(".hidden/node_modules/x/a.js.map"), "{}")?;
        std::fs::write(r.join(".gitignore"), "*.map\n")?;
        std::fs::write(r.join("b.map"), "{}")?;
        std::os::unix::fs::symlink("/etc", r.join("etc-link"))?;
        std::os::unix::fs::symlink(r.join("loop"), r.join("loop"))?;
        let w = walk(r, None);
        let names: Vec<String> = w.files.iter().map(|f| f.rel.lossy()).collect();
        assert_eq!(
            names,
            vec![".gitignore", ".hidden/node_modules/x/a.js.map", "b.map"]
        );
        assert_eq!(w.symlinks.len(), 2);
        assert!(w.errors.is_empty(), "{:?}", w.errors);
        Ok(())
    }
}
