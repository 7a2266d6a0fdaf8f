//! Reading one file for the scanner: as little as the file's kind needs (nothing for `*.map`,
//! a 4 KiB head for unknown types, everything for JS/CSS), into a buffer reused per thread.
//!
//! Shared by `verify` and `seal`, so both commands see exactly the same leaks and notes.

use std::fs::File;
use std::io::{self, Read};

use crate::findings::{ErrorRecord, LeakKind, LeakRecord, NoteRecord};
use crate::meta::Meta;
use crate::scan::{self, Analysis, FileKind, Need};
use crate::walk::{self, FileEntry, Walk};

/// The part of a file that was read.
pub enum Loaded {
    /// The name decides; nothing was read.
    NameOnly,
    /// Only the head was read and it shows nothing of interest.
    Uninteresting,
    /// The whole file is in the buffer.
    All,
}

/// Read what `kind` needs of `entry` into `buf` (cleared first), and when the whole file was
/// read and `want_meta` is set, also the metadata of the open file: `fstat`
/// right after opening, before reading, so it describes the inode the bytes come from (even if
/// the path was replaced meanwhile), and a change while reading moves the mtime or size past
/// what is recorded — the caller compares the size with the bytes read, and seal's commit
/// refuses a file whose metadata moved on. With `want_meta` the walk's metadata is not used
/// (see [`crate::walk::walk_names`]).
pub fn load_stat(
    entry: &FileEntry,
    kind: FileKind,
    buf: &mut Vec<u8>,
    want_meta: bool,
) -> io::Result<(Loaded, Option<Meta>)> {
    buf.clear();
    let meta_of = |f: &File| -> io::Result<Option<Meta>> {
        Ok(if want_meta {
            Some(Meta::from_file(f)?)
        } else {
            None
        })
    };
    match scan::need(kind) {
        Need::Nothing => Ok((Loaded::NameOnly, None)),
        Need::All => {
            let f = open_nofollow(&entry.path)?;
            let meta = meta_of(&f)?;
            read_all(&f, meta.map_or(entry.meta.size, |m| m.size), buf)?;
            Ok((Loaded::All, meta))
        }
        Need::Head => {
            if !want_meta && entry.meta.size == 0 {
                return Ok((Loaded::Uninteresting, None));
            }
            let mut f = open_nofollow(&entry.path)?;
            let mut head = [0u8; scan::HEAD_LEN];
            let n = read_up_to(&mut f, &mut head)?;
            if !scan::head_needs_all(&head[..n]) {
                return Ok((Loaded::Uninteresting, None));
            }
            // The head was read before this `fstat`: the size check after reading covers a
            // change to it.
            let meta = meta_of(&f)?;
            buf.extend_from_slice(&head[..n]);
            let size = meta.map_or(entry.meta.size, |m| m.size);
            read_all(&f, size.saturating_sub(n as u64), buf)?;
            Ok((Loaded::All, meta))
        }
    }
}

/// Open a file the walk saw as regular for reading, never following a symbolic link that
/// replaced it meanwhile.
///
/// With `O_NOATIME` where the kernel allows it (the caller owns the file): a scan leaves the
/// access times as they were, like `tar --atime-preserve=system`, and reading a fresh build
/// does not dirty every inode for the next `fsync` or `syncfs` to write back. A file owned by
/// someone else (`EPERM`) is opened without it.
pub fn open_nofollow(path: &std::path::Path) -> io::Result<File> {
    crate::sys::open_read_noatime(path)
}

/// Read to the end into `buf`'s spare capacity. `hint` (the size the walk saw) sizes the buffer
/// so a file that did not change takes one `read` plus the one that returns 0 — std's
/// `read_to_end` on a `File` adds an `fstat` and an `lseek` per call to learn the same size.
fn read_all(f: &File, hint: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.reserve(usize::try_from(hint).unwrap_or(0).saturating_add(1));
    loop {
        if buf.len() == buf.capacity() {
            // Grew since the walk: keep reading, the caller compares sizes.
            buf.reserve(buf.len().max(64 * 1024));
        }
        match crate::sys::read_spare(f, buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Read until `out` is full or the end; how many bytes came.
pub fn read_up_to(f: &mut impl Read, out: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < out.len() {
        match f.read(&mut out[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Analyse what [`load_stat`] read. For name-only and uninteresting files the analysis is derived
/// without content.
pub fn analyze(entry: &FileEntry, kind: FileKind, loaded: &Loaded, buf: &[u8]) -> Analysis {
    match loaded {
        Loaded::All => scan::analyze(entry.rel.file_name(), buf),
        Loaded::NameOnly | Loaded::Uninteresting => Analysis::name_only(kind),
    }
}

/// The notes of an analysis of the file at `path`: its own, then those of its decompressed
/// content. Verify and seal report exactly these.
pub fn note_records(path: &str, a: &Analysis) -> Vec<NoteRecord> {
    a.notes
        .iter()
        .chain(a.inner.iter().flat_map(|i| i.analysis.notes.iter()))
        .map(|n| NoteRecord {
            path: path.to_owned(),
            kind: n.kind,
            message: n.message.clone(),
        })
        .collect()
}

/// Leaks, notes and errors the walk itself produced: symbolic links (a leak when named like a map
/// or pointing at one, since servers and copy tools follow links; else a note), special files,
/// unreadable directories.
/// The symbolic links seal removes: those that name or point at a source map, unless their
/// target is a directory (a link to a tree holding maps stays, reported by verify) or
/// `allowed` says `--allow` names them (a predicate, so this layer does not import `allow`);
/// each with its target as `readlink` gave it.
pub fn map_links(
    w: &Walk,
    allowed: impl Fn(&crate::relpath::RelPath) -> bool,
) -> Vec<(crate::relpath::RelPath, crate::relpath::RawPath)> {
    w.symlinks
        .iter()
        .filter(|(rel, target)| !target.as_os_str().is_empty() && !allowed(rel))
        .filter_map(|(rel, target)| {
            let p = rel.under(&w.root)?;
            // Followed only to see whether it is a directory (a dangling link is not).
            if std::fs::metadata(&p).is_ok_and(|m| m.is_dir()) {
                return None;
            }
            match walk::classify_link(&p, rel.file_name()) {
                walk::LinkClass::Other => None,
                walk::LinkClass::MapName | walk::LinkClass::MapTarget(_) => {
                    Some((rel.clone(), crate::relpath::RawPath::from_path(target)))
                }
            }
        })
        .collect()
}

pub fn walk_findings(w: &Walk) -> (Vec<LeakRecord>, Vec<NoteRecord>, Vec<ErrorRecord>) {
    let mut leaks = Vec::new();
    let mut notes = Vec::new();
    for (rel, target) in &w.symlinks {
        let class = rel.under(&w.root).map_or(walk::LinkClass::Other, |p| {
            walk::classify_link(&p, rel.file_name())
        });
        let why = match class {
            walk::LinkClass::Other => {
                notes.push(NoteRecord::new(
                    rel.lossy(),
                    format!("symbolic link to {} (not followed)", target.display()),
                ));
                continue;
            }
            walk::LinkClass::MapName => "its name is a map's".to_string(),
            walk::LinkClass::MapTarget(why) => why,
        };
        leaks.push(LeakRecord {
            root: None,
            path: rel.lossy(),
            kind: LeakKind::SourceMap,
            line: None,
            message: format!(
                "symbolic link to {} ({why}): servers and copy tools follow links, so the map ships",
                target.display()
            ),
            http: None,
        });
    }
    notes.extend(
        w.special
            .iter()
            .map(|rel| NoteRecord::new(rel.lossy(), "special file (not read)")),
    );
    let errors = w
        .errors
        .iter()
        .map(|(rel, e)| ErrorRecord::new(rel.lossy(), format!("cannot list: {e}")))
        .collect();
    (leaks, notes, errors)
}
