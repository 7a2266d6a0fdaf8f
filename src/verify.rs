//! `mapvault verify PATH…`: the read-only leak scanner and CI gate. Never writes anything.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::inspect::{self, Loaded};
use crate::relpath::RelPath;
use crate::report::{ErrorRecord, LeakRecord, NoteRecord, VerifyReport};
use crate::scan;
use crate::walk::{self, FileEntry, Meta};

/// Scan every path. Directories are walked; single files are scanned as they are. Call inside
/// the worker pool.
pub fn verify(paths: &[PathBuf]) -> VerifyReport {
    let mut report = VerifyReport::default();
    for p in paths {
        let shown = p.display().to_string();
        match std::fs::symlink_metadata(p) {
            Err(e) => report.errors.push(ErrorRecord {
                path: shown,
                message: format!("cannot read: {e}"),
            }),
            Ok(m) if m.is_dir() || (m.file_type().is_symlink() && p.is_dir()) => {
                let w = walk::walk(p, None);
                merge_walk_notes(&mut report, &w);
                scan_files(&w.files, &mut report);
            }
            Ok(m) if m.is_file() => {
                let name = p
                    .file_name()
                    .map(|n| n.as_encoded_bytes().to_vec())
                    .unwrap_or_default();
                let entry = FileEntry {
                    rel: RelPath::new(name),
                    path: p.clone(),
                    meta: Meta::from_std(&m),
                };
                scan_files(std::slice::from_ref(&entry), &mut report);
            }
            Ok(_) => report.errors.push(ErrorRecord {
                path: shown,
                message: "not a regular file or directory".into(),
            }),
        }
    }
    report.clean = report.leaks.is_empty();
    report.sort();
    report
}

/// Notes and errors the walk itself produced (symlinks, special files, unreadable dirs).
pub fn merge_walk_notes(report: &mut VerifyReport, w: &walk::Walk) {
    for (rel, target) in &w.symlinks {
        report.notes.push(NoteRecord {
            path: rel.lossy(),
            message: format!("symbolic link to {} (not followed)", target.display()),
        });
    }
    for rel in &w.special {
        report.notes.push(NoteRecord {
            path: rel.lossy(),
            message: "special file (not read)".into(),
        });
    }
    for (rel, e) in &w.errors {
        report.errors.push(ErrorRecord {
            path: rel.lossy(),
            message: format!("cannot list: {e}"),
        });
    }
}

/// What one file contributed.
#[derive(Default)]
struct FileResult {
    leaks: Vec<LeakRecord>,
    notes: Vec<NoteRecord>,
    errors: Vec<ErrorRecord>,
}

fn scan_files(files: &[FileEntry], report: &mut VerifyReport) {
    let results: Vec<FileResult> = files
        .par_iter()
        .map_init(Vec::new, |buf, f| scan_one(f, buf))
        .collect();
    report.files_scanned += files.len() as u64;
    for r in results {
        report.leaks.extend(r.leaks);
        report.notes.extend(r.notes);
        report.errors.extend(r.errors);
    }
}

fn scan_one(f: &FileEntry, buf: &mut Vec<u8>) -> FileResult {
    let mut out = FileResult::default();
    let path = f.rel.lossy();
    let kind = scan::classify(f.rel.file_name());
    let loaded = match inspect::load(f, kind, buf) {
        Ok(l) => l,
        Err(e) => {
            out.errors.push(ErrorRecord {
                path,
                message: format!("cannot read: {e}"),
            });
            return out;
        }
    };
    let a = inspect::analyze(f, kind, &loaded, buf);
    if let Some(n) = inspect::method_note(&a) {
        out.notes.push(NoteRecord {
            path: path.clone(),
            message: n,
        });
    }
    let content: &[u8] = if matches!(loaded, Loaded::All) {
        buf
    } else {
        &[]
    };
    for l in scan::leaks(&a, content) {
        out.leaks.push(LeakRecord {
            path: path.clone(),
            kind: l.kind,
            line: l.line,
            message: l.message,
        });
    }
    out
}

/// Scan one directory the way `seal` re-checks its result (used by seal's final verify).
pub fn verify_dir(root: &Path, skip: Option<&Path>) -> VerifyReport {
    let mut report = VerifyReport::default();
    let w = walk::walk(root, skip);
    merge_walk_notes(&mut report, &w);
    scan_files(&w.files, &mut report);
    report.clean = report.leaks.is_empty();
    report.sort();
    report
}
