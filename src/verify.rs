//! `mapvault verify PATH…`: the read-only leak scanner and CI gate. Never writes anything.
//! Folders are walked; archives (`.tgz`, `.zip`, …) are opened in memory, never extracted.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::archive;
use crate::inspect::{self, Loaded};
use crate::relpath::RelPath;
use crate::report::{ErrorRecord, LeakRecord, NoteRecord, VerifyReport};
use crate::scan::{self, FileKind};
use crate::walk::{self, FileEntry, Meta};

/// Scan every path. Directories are walked; single files (archives included) are scanned as
/// they are. Call inside the worker pool.
pub fn verify(paths: &[PathBuf]) -> VerifyReport {
    let mut report = VerifyReport::default();
    for p in paths {
        let shown = p.display().to_string();
        let first_leak = report.leaks.len();

        match std::fs::symlink_metadata(p) {
            Err(e) => report.errors.push(ErrorRecord {
                kind: None,
                path: shown.clone(),
                message: format!("cannot read: {e}"),
            }),

            Ok(m) if m.is_dir() || (m.file_type().is_symlink() && p.is_dir()) => {
                let w = walk::walk(p, None);
                merge_walk_notes(&mut report, &w);
                scan_files(&w.files, &mut report);
                check_integrity(&w.files, &mut report);
            }

            Ok(m) if m.is_file() || (m.file_type().is_symlink() && p.is_file()) => {
                let name = p
                    .file_name()
                    .map(|n| n.as_encoded_bytes().to_vec())
                    .unwrap_or_default();
                let meta = std::fs::metadata(p)
                    .map(|m| Meta::from_std(&m))
                    .unwrap_or_else(|_| Meta::from_std(&m));
                let entry = FileEntry {
                    rel: RelPath::new(name),
                    path: p.clone(),
                    meta,
                };
                scan_files(std::slice::from_ref(&entry), &mut report);
            }
            Ok(_) => report.errors.push(ErrorRecord {
                kind: None,
                path: shown.clone(),
                message: "not a regular file or directory".into(),
            }),
        }
        if paths.len() > 1 {
            for l in &mut report.leaks[first_leak..] {
                l.root = Some(shown.clone());
            }
        }
    }

    report.clean = report.leaks.is_empty();
    report.sort();
    report
}

/// Notes and errors the walk itself produced (symlinks, special files, unreadable dirs).
pub fn merge_walk_notes(report: &mut VerifyReport, w: &walk::Walk) {
    for (rel, target) in &w.symlinks {
        let link = rel.under(&w.root);
        let class = link.as_ref().map_or(walk::LinkClass::Other, |p| {
            walk::classify_link(p, rel.file_name())
        });
        let why = match class {
            walk::LinkClass::Other => {
                report.notes.push(NoteRecord::new(
                    rel.lossy(),
                    format!("symbolic link to {} (not followed)", target.display()),
                ));
                continue;
            }
            walk::LinkClass::MapName => "its name is a map's".to_string(),
            walk::LinkClass::MapTarget(why) => why,
        };
        report.leaks.push(LeakRecord {
            root: None,
            path: rel.lossy(),
            kind: scan::LeakKind::SourceMap,
            line: None,
            message: format!(
                "symbolic link to {} ({why}): servers and copy tools follow links, so the map ships",
                target.display()
            ),
        });
    }
    for rel in &w.special {
        report
            .notes
            .push(NoteRecord::new(rel.lossy(), "special file (not read)"));
    }
    for (rel, e) in &w.errors {
        report.errors.push(ErrorRecord {
            kind: None,
            path: rel.lossy(),
            message: format!("cannot list: {e}"),
        });
    }
}

/// What one file contributed.
#[derive(Default)]
struct FileResult {
    scanned: u64,
    leaks: Vec<LeakRecord>,
    notes: Vec<NoteRecord>,
    errors: Vec<ErrorRecord>,
    /// The file is a source map (by name or content): references inside strings that name it
    /// are leaks.
    is_map: bool,
    /// References inside string literals naming a file, decided once every file is known.
    embedded: Option<(Vec<u8>, scan::Analysis)>,
}

fn scan_files(files: &[FileEntry], report: &mut VerifyReport) {
    crate::progress::phase("scanning", files.len() as u64);
    let results: Vec<FileResult> = files
        .par_iter()
        .map_init(Vec::new, |buf, f| {
            crate::progress::counted(scan_one(f, buf))
        })
        .collect();
    let maps = DistMaps::new(files, &results);
    for r in results {
        report.files_scanned += r.scanned;
        report.leaks.extend(r.leaks);
        report.notes.extend(r.notes);
        report.errors.extend(r.errors);
        if let Some((rel, a)) = r.embedded {
            let path = String::from_utf8_lossy(&rel).into_owned();
            let (leaks, notes) = scan::decide_embedded(&a, |url| maps.names_a_map(&rel, url));
            report.leaks.extend(leaks.into_iter().map(|l| LeakRecord {
                root: None,
                path: path.clone(),
                kind: l.kind,
                line: l.line,
                message: l.message,
            }));
            report.notes.extend(notes.into_iter().map(|n| NoteRecord {
                path: path.clone(),
                kind: n.kind.map(str::to_owned),
                message: n.message,
            }));
        }
    }
}

/// The maps of a scanned tree, for deciding references inside strings: a URL in a string
/// injected into a page resolves against the page, not the script, so it names a map if it
/// resolves to one from the script's directory or from the root, or if a map of that file name
/// ships anywhere.
struct DistMaps {
    paths: std::collections::HashSet<Vec<u8>>,
    names: std::collections::HashSet<Vec<u8>>,
}

impl DistMaps {
    fn new(files: &[FileEntry], results: &[FileResult]) -> Self {
        let mut paths = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for (f, r) in files.iter().zip(results) {
            if r.is_map {
                paths.insert(f.rel.as_bytes().to_vec());
                names.insert(f.rel.file_name().to_vec());
            }
        }
        DistMaps { paths, names }
    }

    fn names_a_map(&self, file: &[u8], url: &[u8]) -> bool {
        use scan::url::{Target, resolve};
        let inside = |t: Target| match t {
            Target::Inside(p) => self.paths.contains(&p),
            _ => false,
        };
        if inside(resolve(file, url)) || inside(resolve(b"index.html", url)) {
            return true;
        }
        let path = url.split(|&c| c == b'?' || c == b'#').next().unwrap_or(url);
        let name = path.rsplit(|&c| c == b'/').next().unwrap_or(path);
        let name: Vec<u8> = percent_encoding::percent_decode(name).collect();
        !name.is_empty() && self.names.contains(&name)
    }
}

fn scan_one(f: &FileEntry, buf: &mut Vec<u8>) -> FileResult {
    let mut out = FileResult {
        scanned: 1,
        ..FileResult::default()
    };
    let path = f.rel.lossy();
    let kind = scan::classify(f.rel.file_name());
    if let FileKind::Archive(k) = kind {
        let s = archive::scan_file(&f.path, &path, k, archive::Limits::default());
        // The archive itself and every member count as scanned.
        out.scanned += s.members_scanned;
        for m in s.members {
            for l in m.leaks {
                out.leaks.push(LeakRecord {
                    root: None,
                    path: m.path.clone(),
                    kind: l.kind,
                    line: l.line,
                    message: l.message,
                });
            }
            for n in m.notes {
                out.notes.push(NoteRecord {
                    path: m.path.clone(),
                    kind: n.kind.map(str::to_owned),
                    message: n.message,
                });
            }
            if let Some(e) = m.error {
                out.errors.push(ErrorRecord {
                    kind: None,
                    path: m.path,
                    message: e,
                });
            }
        }
        if let Some(e) = s.fatal {
            out.errors.push(ErrorRecord {
                kind: None,
                path,
                message: format!("cannot scan archive: {e}"),
            });
        }
        return out;
    }
    let loaded = match inspect::load(f, kind, buf) {
        Ok(l) => l,
        Err(e) => {
            out.errors.push(ErrorRecord {
                kind: None,
                path,
                message: format!("cannot read: {e}"),
            });
            return out;
        }
    };
    let a = inspect::analyze(f, kind, &loaded, buf);
    let content: &[u8] = if matches!(loaded, Loaded::All) {
        buf
    } else {
        &[]
    };
    for n in a
        .notes
        .iter()
        .chain(a.inner.iter().flat_map(|i| i.analysis.notes.iter()))
    {
        out.notes.push(NoteRecord {
            path: path.clone(),
            kind: n.kind.map(str::to_owned),
            message: n.message.clone(),
        });
    }
    if let Some(e) = &a.error {
        out.errors.push(ErrorRecord {
            kind: None,
            path: path.clone(),
            message: e.clone(),
        });
    }
    for l in scan::leaks(&a, content) {
        out.leaks.push(LeakRecord {
            root: None,
            path: path.clone(),
            kind: l.kind,
            line: l.line,
            message: l.message,
        });
    }
    out.is_map = a.is_map() || a.inner.as_ref().is_some_and(|i| i.analysis.is_map());
    if !a.embedded.is_empty() {
        out.embedded = Some((f.rel.as_bytes().to_vec(), a));
    }
    out
}

/// Scan one directory the way `seal` re-checks its result (used by seal's final verify).
pub fn verify_dir(root: &Path, skip: Option<&Path>) -> VerifyReport {
    let mut report = VerifyReport::default();
    let w = walk::walk(root, skip);
    merge_walk_notes(&mut report, &w);
    scan_files(&w.files, &mut report);
    check_integrity(&w.files, &mut report);
    report.clean = report.leaks.is_empty();

    report.sort();
    report
}

/// Every `integrity="sha…-…"` token of an HTML file under the root that names a local file
/// must match that file's bytes; a mismatch is an error of its own kind (the browser would
/// refuse the file), not a leak. Files outside the root or not present are not judged.
fn check_integrity(files: &[FileEntry], report: &mut VerifyReport) {
    use crate::scan::{FileKind, integrity, url};
    let by_rel: std::collections::HashMap<&[u8], &FileEntry> =
        files.iter().map(|f| (f.rel.as_bytes(), f)).collect();
    let htmls: Vec<&FileEntry> = files
        .iter()
        .filter(|f| matches!(crate::scan::classify(f.rel.file_name()), FileKind::Html))
        .collect();
    let found: Vec<ErrorRecord> = htmls
        .par_iter()
        .flat_map_iter(|f| {
            let mut out = Vec::new();
            let Ok(html) = std::fs::read(&f.path) else {
                return out;
            };
            for r in integrity::find(&html) {
                if !integrity::is_local(&r.url) {
                    continue;
                }
                let url::Target::Inside(p) = url::resolve(f.rel.as_bytes(), &r.url) else {
                    continue;
                };
                let Some(target) = by_rel.get(p.as_slice()) else {
                    continue;
                };
                let Ok(bytes) = std::fs::read(&target.path) else {
                    continue;
                };
                let want = r.alg.token(&bytes);
                if want.as_bytes() != &html[r.span.clone()] {
                    out.push(ErrorRecord {
                        path: f.rel.lossy(),
                        kind: Some("integrity-mismatch"),
                        message: format!(
                            "line {}: integrity {}-… does not match {} (it is {want})",
                            r.line,
                            r.alg.name(),
                            target.rel.lossy()
                        ),
                    });
                }
            }
            out
        })
        .collect();
    report.errors.extend(found);
}
