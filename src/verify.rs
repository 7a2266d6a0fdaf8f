//! `mapvault verify PATH…`: the read-only leak scanner and CI gate. Never writes anything.
//! Folders are walked; archives (`.tgz`, `.zip`, …) are opened in memory, never extracted.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::archive;
use crate::exit::Outcome;
use crate::findings::{self, ErrorKind, ErrorRecord, LeakRecord, NoteRecord};
use crate::inspect::{self, Loaded};
use crate::meta::Meta;
use crate::relpath::RelPath;
use crate::scan;
use crate::walk::{self, FileEntry};

/// The result of `verify`. Serialized as the JSON contract:
/// `{"clean", "files_scanned", "leaks": [{"path","kind","line","message"}]}` plus `notes`,
/// `errors`, and `allowed` when `--allow` matched anything.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub clean: bool,
    pub files_scanned: u64,
    pub leaks: Vec<LeakRecord>,
    /// Leaks in files matched by `--allow GLOB`: reported, but they do not fail the run. Left
    /// out of the JSON when empty, so reports without `--allow` keep their exact shape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<LeakRecord>,
    pub notes: Vec<NoteRecord>,
    pub errors: Vec<ErrorRecord>,
    /// HTTP requests sent, when URLs were verified (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
}

impl VerifyReport {
    pub fn outcome(&self) -> Outcome {
        Outcome::of(!self.leaks.is_empty(), !self.errors.is_empty())
    }

    /// Deterministic order for output.
    pub fn sort(&mut self) {
        for leaks in [&mut self.leaks, &mut self.allowed] {
            leaks.sort_by(|a, b| (&a.path, a.line, a.kind).cmp(&(&b.path, b.line, b.kind)));
        }
        findings::sort_notes(&mut self.notes);
        findings::sort_errors(&mut self.errors);
    }

    /// Add the walk's own notes and errors (symlinks, special files, unreadable dirs).
    fn add_walk_findings(&mut self, w: &walk::Walk) {
        let (leaks, notes, errors) = inspect::walk_findings(w);
        self.leaks.extend(leaks);
        self.notes.extend(notes);
        self.errors.extend(errors);
    }
}

/// Scan every path. Directories are walked; single files (archives included) are scanned as
/// they are. Call inside the worker pool.
pub fn verify(paths: &[PathBuf]) -> VerifyReport {
    let mut report = VerifyReport::default();
    for p in paths {
        let shown = p.display().to_string();
        let first_leak = report.leaks.len();

        match std::fs::symlink_metadata(p) {
            Err(e) => report
                .errors
                .push(ErrorRecord::new(shown.clone(), format!("cannot read: {e}"))),

            Ok(m) if m.is_dir() || (m.file_type().is_symlink() && p.is_dir()) => {
                let w = walk::walk_names(p, None);
                report.add_walk_findings(&w);
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
            Ok(_) => report.errors.push(ErrorRecord::new(
                shown.clone(),
                "not a regular file or directory",
            )),
        }
        if paths.len() > 1 {
            for l in &mut report.leaks[first_leak..] {
                l.root = Some(shown.clone());
            }
        }
    }

    report.clean = report.leaks.is_empty() && report.errors.is_empty();
    report.sort();
    report
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
            let (leaks, notes, _) =
                scan::decide_embedded(&a.embedded, |url| maps.names_a_map(&rel, url));
            report.leaks.extend(leaks.into_iter().map(|l| LeakRecord {
                root: None,
                path: path.clone(),
                kind: l.kind,
                line: l.line,
                message: l.message,
                http: None,
            }));
            report.notes.extend(notes.into_iter().map(|n| NoteRecord {
                path: path.clone(),
                kind: n.kind,
                message: n.message,
            }));
        }
    }
}

/// The maps of a scanned tree, for deciding references inside strings: a URL in a string
/// injected into a page resolves against the page, not the script, so it names a map if it
/// resolves to one from the script's directory or from the root, or if a map of that file name
/// ships anywhere.
/// Seal decides the same way ([`crate::seal`]), from the maps it found.
pub(crate) struct DistMaps {
    paths: std::collections::HashSet<Vec<u8>>,
    names: std::collections::HashSet<Vec<u8>>,
}

impl DistMaps {
    fn new(files: &[FileEntry], results: &[FileResult]) -> Self {
        Self::of(
            files
                .iter()
                .zip(results)
                .filter(|(_, r)| r.is_map)
                .map(|(f, _)| &f.rel),
        )
    }

    /// The maps at these root-relative paths.
    pub(crate) fn of<'a>(maps: impl Iterator<Item = &'a RelPath>) -> Self {
        let mut paths = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for rel in maps {
            paths.insert(rel.as_bytes().to_vec());
            names.insert(rel.file_name().to_vec());
        }
        DistMaps { paths, names }
    }

    pub(crate) fn names_a_map(&self, file: &[u8], url: &[u8]) -> bool {
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
    if archive::is_archive_file(&f.path, f.rel.file_name()) {
        let s = archive::scan_file(&f.path, &path, archive::Limits::default());
        // The archive itself and every member count as scanned.
        out.scanned += s.members_scanned;
        crate::progress::found_and_done(s.members_scanned);
        for m in s.members {
            for l in m.leaks {
                out.leaks.push(LeakRecord {
                    root: None,
                    path: m.path.clone(),
                    kind: l.kind,
                    line: l.line,
                    message: l.message,
                    http: None,
                });
            }
            for n in m.notes {
                out.notes.push(NoteRecord {
                    path: m.path.clone(),
                    kind: n.kind,
                    message: n.message,
                });
            }
            if let Some(e) = m.error {
                out.errors.push(ErrorRecord::new(m.path, e));
            }
        }
        if let Some(e) = s.fatal {
            out.errors
                .push(ErrorRecord::new(path, format!("cannot scan archive: {e}")));
        }
        return out;
    }
    // The walk took names only (no `lstat` per file, on one thread): the metadata comes from
    // `fstat` of each open file, on the pool.
    let loaded = match inspect::load_stat(f, kind, buf, true) {
        Ok((l, _)) => l,
        Err(e) => {
            out.errors
                .push(ErrorRecord::new(path, format!("cannot read: {e}")));
            return out;
        }
    };
    let a = inspect::analyze(f, kind, &loaded, buf);
    let content: &[u8] = if matches!(loaded, Loaded::All) {
        buf
    } else {
        &[]
    };
    out.notes = inspect::note_records(&path, &a);
    if let Some(e) = &a.error {
        out.errors.push(ErrorRecord::new(path.clone(), e.clone()));
    }
    for l in scan::leaks(&a, content) {
        out.leaks.push(LeakRecord {
            root: None,
            path: path.clone(),
            kind: l.kind,
            line: l.line,
            message: l.message,
            http: None,
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
    let w = walk::walk_names(root, skip);
    report.add_walk_findings(&w);
    scan_files(&w.files, &mut report);
    check_integrity(&w.files, &mut report);
    report.clean = report.leaks.is_empty() && report.errors.is_empty();

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
                        kind: Some(ErrorKind::IntegrityMismatch),
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
