//! Reading one file for the scanner: as little as the file's kind needs (nothing for `*.map`,
//! a 4 KiB head for unknown types, everything for JS/CSS), into a buffer reused per thread.
//!
//! Shared by `verify` and `seal`, so both commands see exactly the same leaks.

use std::fs::File;
use std::io::{self, Read};

use crate::scan::{self, Analysis, FileKind, Need};
use crate::walk::FileEntry;

/// The part of a file that was read.
pub enum Loaded {
    /// The name decides; nothing was read.
    NameOnly,
    /// Only the head was read and it shows nothing of interest.
    Uninteresting,
    /// The whole file is in the buffer.
    All,
}

/// Read what `kind` needs of `entry` into `buf` (cleared first).
pub fn load(entry: &FileEntry, kind: FileKind, buf: &mut Vec<u8>) -> io::Result<Loaded> {
    buf.clear();
    match scan::need(kind) {
        Need::Nothing => Ok(Loaded::NameOnly),
        Need::All => {
            let mut f = File::open(&entry.path)?;
            read_all(&mut f, entry.meta.size, buf)?;
            Ok(Loaded::All)
        }
        Need::Head => {
            if entry.meta.size == 0 {
                return Ok(Loaded::Uninteresting);
            }
            let mut f = File::open(&entry.path)?;
            let mut head = [0u8; scan::HEAD_LEN];
            let n = read_up_to(&mut f, &mut head)?;
            if !scan::head_needs_all(&head[..n]) {
                return Ok(Loaded::Uninteresting);
            }
            buf.extend_from_slice(&head[..n]);
            read_all(&mut f, entry.meta.size.saturating_sub(n as u64), buf)?;
            Ok(Loaded::All)
        }
    }
}

fn read_all(f: &mut File, hint: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.reserve(usize::try_from(hint).unwrap_or(0).saturating_add(1));
    f.read_to_end(buf)?;
    Ok(())
}

fn read_up_to(f: &mut File, out: &mut [u8]) -> io::Result<usize> {
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

/// Analyse what [`load`] read. For name-only and uninteresting files the analysis is derived
/// without content.
pub fn analyze(entry: &FileEntry, kind: FileKind, loaded: &Loaded, buf: &[u8]) -> Analysis {
    match loaded {
        Loaded::All => scan::analyze(entry.rel.file_name(), buf),
        Loaded::NameOnly | Loaded::Uninteresting => Analysis::name_only(kind),
    }
}
