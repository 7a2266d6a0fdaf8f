//! Listing every entry under a root — dot-files, `node_modules`, ignored files, all of it — and
//! never following a symbolic link.
//!
//! The walk only looks at metadata (`lstat`); reading contents is the caller's business. Results
//! are sorted by path so everything downstream is deterministic.

use crate::sys::{self, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::meta::Meta;
use crate::relpath::RelPath;

#[derive(Debug, Clone)]
pub struct FileEntry {
    pub rel: RelPath,
    pub path: PathBuf,
    pub meta: Meta,
}

#[derive(Debug, Default)]
pub struct Walk {
    /// The root that was walked (symlinks are classified from it: [`classify_link`]).
    pub root: PathBuf,
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
///
/// The root's subdirectories are walked in parallel (on the current rayon pool: one `lstat` per
/// entry is most of a walk's cost, and a monorepo's dist has many top-level packages), then
/// joined in name order, which is exactly the order of one sorted depth-first walk.
pub fn walk(root: &Path, skip: Option<&Path>) -> Walk {
    walk_with(root, skip, true)
}

/// [`walk`] without an `lstat` per regular file: their [`FileEntry::meta`] is all zeros. For a
/// caller that opens every file it cares about and takes the metadata from `fstat` of the open
/// file anyway (seal's inspection), where the walk's `lstat` was a second, redundant `statx` per
/// file, by path. Directories still get theirs (their modes are recorded).
pub fn walk_names(root: &Path, skip: Option<&Path>) -> Walk {
    walk_with(root, skip, false)
}

fn walk_with(root: &Path, skip: Option<&Path>, stat_files: bool) -> Walk {
    let top: Vec<walkdir::Result<walkdir::DirEntry>> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
        .max_depth(1)
        .into_iter()
        .filter_entry(|e| skip.is_none_or(|s| e.path() != s))
        .collect();
    let mut w = Walk {
        root: root.to_path_buf(),
        ..Walk::default()
    };
    // The root itself cannot be listed: `min_depth` hid its error from `top`; report it.
    if top.is_empty()
        && let Err(e) = std::fs::read_dir(root)
    {
        w.errors.push((RelPath::default(), e.to_string()));
    }
    let parts: Vec<Walk> = top
        .into_par_iter()
        .map(|item| {
            let mut part = Walk::default();
            match item {
                Ok(e) if e.file_type().is_dir() => {
                    let it = walkdir::WalkDir::new(e.path())
                        .follow_links(false)
                        .sort_by_file_name()
                        .into_iter()
                        .filter_entry(|e| skip.is_none_or(|s| e.path() != s));
                    for item in it {
                        add(&mut part, root, item, stat_files);
                    }
                }
                item => add(&mut part, root, item, stat_files),
            }
            part
        })
        .collect();
    for p in parts {
        w.files.extend(p.files);
        w.dirs.extend(p.dirs);
        w.symlinks.extend(p.symlinks);
        w.special.extend(p.special);
        w.errors.extend(p.errors);
    }
    w
}

/// What a symbolic link is, as far as leaks go. Servers and copy tools dereference links
/// (nginx, `aws s3 sync`, `rsync -L`, `tar -h`, Bazel-style trees), so a link that names a map
/// or points at one ships the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkClass {
    /// Its own name is a map's (`*.map`, or a compressed `*.map.gz`…).
    MapName,
    /// It points at a source map (inside the root or outside it), or at a directory whose tree
    /// holds one; the reason.
    MapTarget(String),
    /// Anything else (a directory without maps, a dangling link, a loop, a file that is no map).
    Other,
}

/// Bytes of a link's target read at most to decide whether it is a map; a bigger target that
/// starts like a JSON object counts as one (erring towards the leak).
pub const LINK_READ_LIMIT: u64 = 64 << 20;

/// Entries of a linked directory's tree looked at, at most, for map names.
pub const LINK_TREE_LIMIT: usize = 100_000;

/// Bytes of a linked directory's files read, in all, to look for references in bundles
/// (each file at most [`LINK_READ_LIMIT`]); past it only names are looked at.
pub const LINK_TREE_BYTES: u64 = 256 << 20;

/// `*.map`, or a compressed copy of one (`*.map.gz`…).
fn map_name(n: &[u8]) -> bool {
    use crate::scan::{self, FileKind};
    match scan::classify(n) {
        FileKind::MapName => true,
        FileKind::Compressed(_) => crate::compress::Codec::from_name(n)
            .is_some_and(|(_, inner)| scan::classify(inner) == FileKind::MapName),
        _ => false,
    }
}

/// Classify the symbolic link at `path` named `name`. The target is followed only to read it
/// (never written), and only as far as [`LINK_READ_LIMIT`]; a directory target's tree is listed
/// (without following the links inside it, [`LINK_TREE_LIMIT`] entries at most) for map names,
/// since a server or `rsync -L` serves that whole tree under the link.
pub fn classify_link(path: &Path, name: &[u8]) -> LinkClass {
    use crate::scan;
    if map_name(name) {
        return LinkClass::MapName;
    }
    // Follows the link (and any chain of links): a dangling link or a loop is no map.
    let Ok(meta) = std::fs::metadata(path) else {
        return LinkClass::Other;
    };
    if meta.is_dir() {
        return linked_tree_class(path);
    }
    if !meta.is_file() {
        return LinkClass::Other;
    }
    if let Ok(real) = std::fs::canonicalize(path)
        && let Some(n) = real.file_name()
        && map_name(n.as_encoded_bytes())
    {
        return LinkClass::MapTarget(format!("points at the map {}", real.display()));
    }
    use std::io::Read;
    let Ok(f) = std::fs::File::open(path) else {
        return LinkClass::Other;
    };
    let mut bytes = Vec::new();
    if f.take(LINK_READ_LIMIT).read_to_end(&mut bytes).is_err() {
        return LinkClass::Other;
    }
    if meta.len() > LINK_READ_LIMIT {
        return if scan::mapsniff::json_start(&bytes).is_some() {
            LinkClass::MapTarget(format!(
                "points at a JSON file over {} MiB (taken for a map)",
                LINK_READ_LIMIT >> 20
            ))
        } else {
            LinkClass::Other
        };
    }
    if scan::mapsniff::sniff(&bytes).is_map() {
        LinkClass::MapTarget("points at a source map (by content)".into())
    } else {
        LinkClass::Other
    }
}

/// A link to a directory: a leak when the tree under it holds a file or link named like a map,
/// or a file whose content leaks (a bundle with a reference, a map under another name) as
/// verify would scan it in the dist — a server serves the whole tree under the link. Links
/// inside are listed, not followed (a loop ends there); [`LINK_TREE_LIMIT`] entries and
/// [`LINK_TREE_BYTES`] of content at most.
fn linked_tree_class(path: &Path) -> LinkClass {
    let mut found = 0usize;
    let mut first = None;
    let mut budget = LINK_TREE_BYTES;
    let mut by_content = None;
    for e in walkdir::WalkDir::new(path)
        .follow_links(false)
        .follow_root_links(true)
        .into_iter()
        .take(LINK_TREE_LIMIT)
        .flatten()
    {
        let rel = || {
            e.path()
                .strip_prefix(path)
                .map_or_else(|_| e.path().to_path_buf(), Path::to_path_buf)
        };
        if !e.file_type().is_dir() && map_name(e.file_name().as_encoded_bytes()) {
            found += 1;
            first.get_or_insert_with(rel);
        } else if by_content.is_none()
            && e.file_type().is_file()
            && content_leaks(e.path(), e.file_name().as_encoded_bytes(), &mut budget)
        {
            by_content = Some(rel());
        }
    }
    if first.is_none()
        && let Some(f) = by_content
    {
        return LinkClass::MapTarget(format!(
            "points at a directory whose tree holds a file that leaks a map (first: {}: a reference or a map by content)",
            f.display()
        ));
    }
    match first {
        Some(f) => LinkClass::MapTarget(format!(
            "points at a directory whose tree holds {} (first: {})",
            if found == 1 {
                "a map".to_string()
            } else {
                format!("{found} maps")
            },
            f.display()
        )),
        None => LinkClass::Other,
    }
}

/// Does the file at `path` (a regular file, not followed) leak as verify would scan it? Read
/// as [`crate::scan::need`] asks, within `budget` bytes (taken from it).
fn content_leaks(path: &Path, name: &[u8], budget: &mut u64) -> bool {
    use crate::scan::{self, Need};
    use std::io::Read;
    let need = scan::need(scan::classify(name));
    if need == Need::Nothing || *budget == 0 {
        return false;
    }
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(sys::O_NOFOLLOW | sys::O_NONBLOCK)
        .open(path)
    else {
        return false;
    };
    let mut bytes = Vec::new();
    let take = |f: &std::fs::File, n: u64, bytes: &mut Vec<u8>, budget: &mut u64| {
        let n = n.min(*budget);
        let got = f.take(n).read_to_end(bytes).unwrap_or(0) as u64;
        *budget -= got.min(*budget);
    };
    if need == Need::Head {
        take(&f, scan::HEAD_LEN as u64, &mut bytes, budget);
        if !scan::head_needs_all(&bytes) {
            return false;
        }
    }
    take(&f, LINK_READ_LIMIT, &mut bytes, budget);
    scan::analyze(name, &bytes).leaks_anything()
}

/// Classify one entry the walk produced.
fn add(w: &mut Walk, root: &Path, item: walkdir::Result<walkdir::DirEntry>, stat_files: bool) {
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
            return;
        }
    };
    let Some(rel) = RelPath::from_paths(root, entry.path()) else {
        return;
    };
    if rel.as_bytes().is_empty() {
        return;
    }
    let ft = entry.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        w.symlinks.push((rel, target));
    } else if ft.is_dir() {
        let mode = entry.metadata().map(|m| m.mode() & 0o7777).unwrap_or(0o755);
        w.dirs.push((rel, mode));
    } else if ft.is_file() && !stat_files {
        w.files.push(FileEntry {
            rel,
            path: entry.into_path(),
            meta: Meta::default(),
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
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

    #[test]
    fn parallel_walk_keeps_the_order_of_one_sorted_walk() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let r = t.path();
        for d in ["b/x/y", "a", "a.b/c", "c", "b-", "skipme/in"] {
            std::fs::create_dir_all(r.join(d))?;
        }
        for f in [
            "0.js",
            "a/1.js",
            "a.b/c/2.js",
            "b/x/y/3.map",
            "b/x/4.js",
            "b/5",
            "b-/6",
            "c.js",
            "skipme/in/7.js",
            "z",
        ] {
            std::fs::write(r.join(f), f)?;
        }
        let skip = r.join("skipme");
        let w = walk(r, Some(&skip));
        let want: Vec<String> = walkdir::WalkDir::new(r)
            .sort_by_file_name()
            .min_depth(1)
            .into_iter()
            .filter_entry(|e| e.path() != skip)
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                RelPath::from_paths(r, e.path())
                    .map(|p| p.lossy())
                    .unwrap_or_default()
            })
            .collect();
        let got: Vec<String> = w.files.iter().map(|f| f.rel.lossy()).collect();
        assert_eq!(got, want);
        let dirs: Vec<String> = w.dirs.iter().map(|(d, _)| d.lossy()).collect();
        assert_eq!(dirs, ["a", "a.b", "a.b/c", "b", "b/x", "b/x/y", "b-", "c"]);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn walk_names_lists_the_same_entries_without_file_metadata() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let r = t.path();
        std::fs::create_dir_all(r.join("a/b"))?;
        std::fs::write(r.join("a/b/x.js"), "x")?;
        std::fs::write(r.join(".y.map"), "{}")?;
        std::os::unix::fs::symlink("/etc", r.join("link"))?;
        let (full, names) = (walk(r, None), walk_names(r, None));
        let rels = |w: &Walk| w.files.iter().map(|f| f.rel.lossy()).collect::<Vec<_>>();
        assert_eq!(rels(&full), rels(&names));
        assert_eq!(full.dirs, names.dirs);
        assert_eq!(full.symlinks, names.symlinks);
        assert!(
            full.files
                .iter()
                .all(|f| f.meta.ino != 0 && f.meta.nlink == 1)
        );
        assert!(names.files.iter().all(|f| f.meta == Meta::default()));
        Ok(())
    }

    #[test]
    fn an_unreadable_or_missing_root_is_an_error() {
        let t = tempfile::tempdir().expect("tempdir");
        let w = walk(&t.path().join("missing"), None);
        assert_eq!(w.errors.len(), 1, "{:?}", w.errors);
        assert!(w.files.is_empty());
    }
}
