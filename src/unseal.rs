//! `mapvault unseal DIST`: put every moved map and every removed comment back, byte for byte,
//! from the vault; then drop those manifest entries and the vault objects nothing needs any
//! more ([`crate::txn::finish`]).

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::{Result, bail};
use serde::Serialize;

use crate::apply;
use crate::exit::Outcome;
use crate::findings::{ErrorRecord, NoteRecord};
use crate::hash;
use crate::meta::Meta;
use crate::relpath::RawPath;
use crate::txn::{self, TAIL_MAX, Temps};
use crate::vault::Vault;
use crate::vault::fsutil;
use crate::vault::journal::{How, Journal, Op, Step};
use crate::vault::manifest::{Action, Bytes, FileRecord, Manifest, SealRecord, Stored};

#[derive(Debug, Clone)]
pub struct UnsealOptions {
    /// Canonical absolute path of the dist.
    pub dist: PathBuf,
    /// Absolute path of the vault.
    pub vault: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UnsealReport {
    pub dist: String,
    pub vault: String,
    /// Seal records (ids) this unseal worked from.
    pub seals: Vec<String>,
    pub files_restored: u64,
    pub maps_restored: u64,
    pub references_restored: u64,
    pub dirs_recreated: u64,
    pub objects_removed: u64,
    pub resumed: Vec<String>,
    pub notes: Vec<NoteRecord>,
    pub errors: Vec<ErrorRecord>,
    pub elapsed_ms: u64,
}

impl UnsealReport {
    pub fn outcome(&self) -> Outcome {
        Outcome::of(false, !self.errors.is_empty())
    }
}

/// How many times each object is needed by records *not* being unsealed, and by the records
/// being unsealed (moved files only / everything else).
fn object_uses(
    m: &Manifest,
    unsealing: &BTreeSet<&str>,
) -> (HashMap<String, usize>, HashMap<String, usize>) {
    let mut outside: HashMap<String, usize> = HashMap::new();
    let mut inside: HashMap<String, usize> = HashMap::new();
    for rec in &m.seals {
        let ours = unsealing.contains(rec.id.as_str());
        let counts = if ours { &mut inside } else { &mut outside };
        for f in &rec.files {
            if let Some(s) = &f.stored {
                *counts.entry(s.sha().to_string()).or_default() += 1;
            }
            for e in &f.edits {
                if let Bytes::Blob(s) | Bytes::InlineMap { map: s, .. } = &e.removed {
                    *counts.entry(s.clone()).or_default() += 1;
                }
                // A lookup mention keeps objects of *other* records alive.
                if let (Some(s), false) = (&e.map_sha256, ours) {
                    *counts.entry(s.clone()).or_default() += 1;
                }
            }
        }
    }
    (outside, inside)
}

/// Before anything changes: every vault object the plan reads must be there. A manifest naming
/// objects the vault lacks was edited or the vault damaged; unseal refuses it whole rather than
/// restoring part of the dist.
fn refuse_missing_objects(v: &Vault, j: &Journal) -> Result<()> {
    let mut missing = BTreeSet::new();
    for s in &j.steps {
        match s {
            Step::Restore { path, from, .. } if !v.has(from, None) => {
                missing.insert(format!("{} (for {path})", v.object_path(from).display()));
            }
            Step::Unedit { path, edits, .. } => {
                for e in edits {
                    let obj = match &e.removed {
                        Bytes::Blob(s) => Stored::Blob(s.clone()),
                        Bytes::InlineMap { map, .. } => Stored::Map(map.clone()),
                        Bytes::Text(_) | Bytes::Base64(_) => continue,
                    };
                    if !v.has(&obj, None) {
                        missing.insert(format!("{} (for {path})", v.object_path(&obj).display()));
                    }
                }
            }
            _ => {}
        }
    }
    if !missing.is_empty() {
        bail!(
            "the manifest names vault objects that are missing: {}; refusing to unseal anything — \
             restore the vault from a backup",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Unseal `opts.dist`. Call inside the worker pool.
pub fn unseal(opts: &UnsealOptions, on_wait: &mut dyn FnMut(&str)) -> Result<UnsealReport> {
    let started = Instant::now();
    let mut report = UnsealReport {
        dist: opts.dist.display().to_string(),
        vault: opts.vault.display().to_string(),
        ..UnsealReport::default()
    };
    let _lock = txn::lock_dist(&opts.dist, on_wait)?;
    let v = Vault::open(&opts.vault, false, on_wait)?;
    if let Some(id) = txn::recover(&v, &opts.dist, &mut report.notes, &mut report.errors)? {
        report.resumed.push(id);
    }
    let m = v.load_manifest()?;
    let dist_raw = RawPath::from_path(&opts.dist);
    let recs: Vec<&SealRecord> = m.seals.iter().filter(|r| r.dist == dist_raw).collect();
    if recs.is_empty() {
        let others: BTreeSet<String> = m.seals.iter().map(|r| r.dist.to_string()).collect();
        let msg = if others.is_empty() {
            "nothing to unseal: the vault has no seals".to_string()
        } else {
            format!(
                "nothing to unseal for this dist; the vault holds seals of: {}",
                others.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        report.notes.push(NoteRecord::new(".", msg));
        report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        return Ok(report);
    }
    report.seals = recs.iter().map(|r| r.id.clone()).collect();
    let j = plan(opts, &v, &m, &recs, &mut report)?;
    // The records are untrusted too: what they would have unseal do passes the checks a
    // journal read from the vault passes (paths, object names, modes a dist file can have).
    j.check(&opts.dist, v.root()).map_err(|e| {
        anyhow::anyhow!(
            "{}: the records of this dist would have unseal act outside what a seal can have \
             done ({e}); refusing to unseal anything, nothing was changed",
            v.manifest_path().display()
        )
    })?;
    refuse_missing_objects(&v, &j)?;

    crate::progress::phase("restoring", 0);
    v.save_journal(&j)?;
    apply::failpoint("after-journal");
    let applied = apply::execute(&v, &j)?;
    let failed_files: BTreeSet<_> = applied
        .errors()
        .map(|(i, _)| j.steps[i].path().clone())
        .collect();
    report.objects_removed = txn::finish(
        &v,
        &j,
        &applied,
        &mut report.notes,
        &mut report.errors,
        None,
    )? as u64;
    if !failed_files.is_empty() {
        report.files_restored = report
            .files_restored
            .saturating_sub(failed_files.len() as u64);
    }
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// The unseal of records `recs` of manifest `m`, counted into `report`: directories first,
/// shallow to deep; then files, newest record first (an older entry for a path a newer seal also
/// changed is superseded and stays in the manifest); restores that rename objects out of the
/// vault last, after every step that still reads objects.
fn plan(
    opts: &UnsealOptions,
    v: &Vault,
    m: &Manifest,
    recs: &[&SealRecord],
    report: &mut UnsealReport,
) -> Result<Journal> {
    let unsealing: BTreeSet<&str> = recs.iter().map(|r| r.id.as_str()).collect();
    let (outside, inside) = object_uses(m, &unsealing);
    let dist_dev = std::fs::metadata(&opts.dist)?.dev();
    let jid = txn::new_id("unseal", SystemTime::now());
    let temps = Temps::new(&jid, &opts.dist, Some(v));
    let mut j = Journal::new(Op::Unseal, jid, RawPath::from_path(&opts.dist));
    j.vault = RawPath::from_path(v.root());
    report.dirs_recreated = make_dirs(&mut j, recs);
    let mut claimed = BTreeSet::new();
    let mut restores_left: HashMap<String, usize> = inside;
    for (n, rec) in recs.iter().rev().enumerate() {
        for (k, f) in rec.files.iter().enumerate() {
            if !claimed.insert(f.path.clone()) {
                report.notes.push(NoteRecord::new(f.path.lossy(), format!("entry of seal {} superseded by a later seal of the same path; kept in the vault", rec.id)));
                continue;
            }
            let temp = temps.at(&f.path, dist_dev, n * 1_000_000 + k);
            let step = match f.action {
                Action::Moved | Action::Replaced => {
                    let Some(from) = f.stored.clone() else {
                        continue;
                    };
                    let left = restores_left.entry(from.sha().to_string()).or_default();
                    // Rename the object out only for its last user, when nothing else needs it.
                    let rename =
                        *left == 1 && !outside.contains_key(from.sha()) && v.dev() == dist_dev;
                    *left = left.saturating_sub(1);
                    restore(rec, f, from, rename, temp, report)
                }
                Action::Edited => {
                    let Some(sealed) = f.sealed_sha256.clone() else {
                        continue;
                    };
                    let how = match plan_unedit_tail(v, &opts.dist, f, fsutil::euid()) {
                        Ok(Some(h)) => h,
                        Ok(None) => How::Rewrite { temp },
                        Err(e) => {
                            report
                                .errors
                                .push(ErrorRecord::new(f.path.lossy(), format!("{e:#}")));
                            continue;
                        }
                    };
                    for e in &f.edits {
                        if let Bytes::Blob(s) | Bytes::InlineMap { map: s, .. } = &e.removed
                            && let Some(c) = restores_left.get_mut(s)
                        {
                            *c = c.saturating_sub(1);
                        }
                    }
                    report.references_restored += f.edits.len() as u64;
                    Step::Unedit {
                        seal_id: rec.id.clone(),
                        path: f.path.clone(),
                        sha256: f.sha256.clone(),
                        sealed_sha256: sealed,
                        edits: f.edits.clone(),
                        mode: f.mode,
                        mtime: f.mtime,
                        mtime_nsec: f.mtime_nsec,
                        how,
                    }
                }
            };
            j.steps.push(step);
            report.files_restored += 1;
        }
    }
    j.steps.sort_by_key(|s| match s {
        Step::MakeDir { .. } => 0,
        Step::Restore { rename: true, .. } => 2,
        _ => 1,
    });
    Ok(j)
}

/// The directories seal removed, shallow to deep, each once; returns how many.
fn make_dirs(j: &mut Journal, recs: &[&SealRecord]) -> u64 {
    let mut made = BTreeSet::new();
    for rec in recs {
        let mut dirs: Vec<_> = rec.dirs.iter().collect();
        dirs.sort_by_key(|d| d.path.as_bytes().iter().filter(|&&c| c == b'/').count());
        for d in dirs {
            if made.insert(d.path.clone()) {
                j.steps.push(Step::MakeDir {
                    seal_id: rec.id.clone(),
                    path: d.path.clone(),
                    mode: d.mode,
                });
            }
        }
    }
    made.len() as u64
}

/// Put a moved (or regenerated) file back from vault object `from`, renamed out of the vault or
/// copied through `temp`.
fn restore(
    rec: &SealRecord,
    f: &FileRecord,
    from: Stored,
    rename: bool,
    temp: RawPath,
    report: &mut UnsealReport,
) -> Step {
    let replaces = if f.action == Action::Replaced {
        f.sealed_sha256.clone()
    } else {
        None
    };
    if replaces.is_some() {
        report.references_restored += 1;
    } else {
        report.maps_restored += 1;
    }
    Step::Restore {
        seal_id: rec.id.clone(),
        path: f.path.clone(),
        from,
        sha256: f.sha256.clone(),
        size: f.size,
        mode: f.mode,
        mtime: f.mtime,
        mtime_nsec: f.mtime_nsec,
        rename,
        temp: if rename { RawPath::default() } else { temp },
        replaces,
    }
}

/// Plan putting an edited file's comments back in place (its tail only), when the file is
/// the sealed one, small edits sit near its end, and the inode is ours alone. `Ok(None)` means
/// rewrite the file instead.
fn plan_unedit_tail(v: &Vault, dist: &Path, f: &FileRecord, me: u32) -> Result<Option<How>> {
    let Some(p) = f.path.under(dist) else {
        bail!("path leaves the dist")
    };
    let meta = match std::fs::symlink_metadata(&p) {
        Ok(m) => m,
        Err(e) => bail!("cannot restore: {e}"),
    };
    if !meta.is_file() {
        bail!("is no longer a regular file; not restoring it");
    }
    let Some(first) = f.edits.first() else {
        return Ok(None);
    };
    let start = first.offset;
    if f.size.saturating_sub(start) > TAIL_MAX || !Meta::from_std(&meta).editable_in_place_by(me) {
        return Ok(None);
    }
    let bytes = std::fs::read(&p)?;
    let sha = hash::sha256_hex(&bytes);
    if sha == f.sha256 {
        // Already restored (a re-run); the step will see that and only fix mode and time.
        return Ok(Some(How::in_place(
            start,
            &bytes[start as usize..],
            &bytes[start as usize..],
            hash::sha256_hex(&bytes[..start as usize]),
        )));
    }
    if Some(&sha) != f.sealed_sha256.as_ref() {
        bail!("changed since it was sealed; not restoring it (its manifest entry is kept)");
    }
    let Some(sealed_tail) = bytes.get(start as usize..) else {
        bail!("shorter than when it was sealed")
    };
    let mut original_tail = Vec::with_capacity(sealed_tail.len() + 64);
    let ops = apply::unedit_ops(v, &f.edits)?;
    let mut pos = start;
    for op in &ops {
        let (Some(rel_at), Some(rel_pos)) = (op.offset.checked_sub(start), pos.checked_sub(start))
        else {
            bail!("edits in the manifest do not fit the file");
        };
        let (rel_at, rel_pos) = (usize::try_from(rel_at)?, usize::try_from(rel_pos)?);
        let dropped = rel_at + usize::try_from(op.len)?;
        let (Some(keep), Some(_)) = (
            sealed_tail.get(rel_pos..rel_at),
            sealed_tail.get(rel_at..dropped),
        ) else {
            bail!("shorter than its manifest entry says");
        };
        original_tail.extend_from_slice(keep);
        original_tail.extend_from_slice(&op.insert);
        pos = op.end();
    }

    original_tail.extend_from_slice(&sealed_tail[usize::try_from(pos - start)?..]);
    Ok(Some(How::in_place(
        start,
        sealed_tail,
        &original_tail,
        hash::sha256_hex(&bytes[..start as usize]),
    )))
}
