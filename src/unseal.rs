//! `mapvault unseal DIST [--seal ID]`: put every moved map and every removed comment of one
//! release back, byte for byte, from the vault. Append-only: maps are *copied* out (each copy
//! hashed before it gets its name in the dist), no object or record is deleted, and the seal
//! gets a write-once `seals/<id>.unsealed.json` marker ([`crate::txn::finish`]). Every release
//! stays resolvable and exportable.
//!
//! Which record: the latest seal not yet unsealed whose sealed files are all in this dist as
//! sealed (edited files hash to their sealed sha256, moved files are absent) — first among the
//! seals of this dist's path, else among seals of other paths when the dist's contents prove
//! it is theirs (at least one edited file matches: a moved dist). Older seals of the same dist
//! whose files are as sealed too, with contents that prove it and no path in common, are
//! restored with it (a dist sealed again after more files were added). A record whose files
//! are gone or changed (a rebuilt dist) is never restored into another build: a note names it
//! and why. `--seal ID` picks one record (still checked against the dist).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::{Result, bail};
use serde::Serialize;

use crate::apply;
use crate::exit::Outcome;
use crate::findings::{ErrorRecord, NoteRecord};
use crate::hash;
use crate::meta::Meta;
use crate::relpath::{RawPath, RelPath};
use crate::txn::{self, TAIL_MAX, Temps};
use crate::vault::Vault;
use crate::vault::fsutil;
use crate::vault::journal::{How, Journal, Op, Step};
use crate::vault::manifest::{Action, Bytes, FileRecord, SealRecord, Stored};
use crate::vault::seals::Records;

#[derive(Debug, Clone)]
pub struct UnsealOptions {
    /// Canonical absolute path of the dist.
    pub dist: PathBuf,
    /// Absolute path of the vault.
    pub vault: crate::vault::VaultLoc,
    /// `--seal ID`: restore this record only.
    pub seal: Option<String>,
}

/// One thing unseal did.
#[derive(Debug, Clone, Serialize)]
pub struct UnsealAction {
    /// Dist-relative path.
    pub path: String,
    /// `map-restored` (a moved file copied back), `file-restored` (a regenerated precompressed
    /// copy replaced by its original), `references-restored` (cut comments put back),
    /// `dir-recreated`.
    pub action: &'static str,
    /// The seal record it came from.
    pub seal: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UnsealReport {
    pub dist: String,
    pub vault: String,
    /// Seal records (ids) this unseal worked from, oldest first.
    pub seals: Vec<String>,
    /// Of those, the ones now marked unsealed (every step of theirs went through).
    pub unsealed: Vec<String>,
    pub files_restored: u64,
    pub maps_restored: u64,
    pub references_restored: u64,
    pub dirs_recreated: u64,
    /// Always 0 since layout v2 (unseal copies maps out and deletes nothing); kept for the JSON
    /// contract.
    pub objects_removed: u64,
    /// What was done, step by step (failures are in `errors`).
    pub actions: Vec<UnsealAction>,
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

/// Hashes of dist files, each computed once however many records ask.
struct DistView<'a> {
    dist: &'a Path,
    hashes: HashMap<RelPath, Option<String>>,
}

impl DistView<'_> {
    /// sha256 of the regular file at `rel` (`None`: missing, not a regular file, unreadable).
    fn hash(&mut self, rel: &RelPath) -> Option<String> {
        let dist = self.dist;
        self.hashes
            .entry(rel.clone())
            .or_insert_with(|| {
                let p = rel.under(dist)?;
                let (f, _) = fsutil::open_regular(&p).ok()?;
                let mut f = f;
                hash::hash_reader(&mut f).ok().map(|(h, _)| h)
            })
            .clone()
    }

    fn exists(&self, rel: &RelPath) -> bool {
        rel.under(self.dist)
            .is_some_and(|p| std::fs::symlink_metadata(p).is_ok())
    }

    /// Are `rec`'s files in this dist as it sealed them (or already put back)? `Ok(true)` when at least one edited
    /// file matches its sealed hash (the contents prove the dist is the sealed one), `Ok(false)`
    /// when the record has nothing to prove it by (only moved files), `Err(why)` otherwise.
    fn check(&mut self, rec: &SealRecord) -> Result<bool, String> {
        // Cheap checks first: a moved file that is back (with other bytes than it had: a
        // file put back already is fine, restoring it does nothing) is enough to say no.
        for f in &rec.files {
            if f.action == Action::Moved
                && self.exists(&f.path)
                && self.hash(&f.path).as_ref() != Some(&f.sha256)
            {
                return Err(format!("{} is in the dist again", f.path));
            }
        }
        let mut proof = false;
        for f in &rec.files {
            let Some(sealed) = (f.action != Action::Moved)
                .then_some(f.sealed_sha256.as_ref())
                .flatten()
            else {
                continue;
            };
            let Some(p) = f.path.under(self.dist) else {
                return Err(format!("{} leaves the dist", f.path));
            };
            if std::fs::symlink_metadata(&p).is_err() {
                return Err(format!("{} is missing", f.path));
            }
            // As sealed (proof), or put back already (an unseal cut short, or one of a dist
            // nested in another that shares files): anything else is another build.
            match self.hash(&f.path) {
                Some(h) if &h == sealed => proof = true,
                Some(h) if h == f.sha256 => {}
                _ => return Err(format!("{} changed since it was sealed", f.path)),
            }
        }
        Ok(proof)
    }
}

/// The records to restore into `dist`, newest first (see the module docs); notes say which
/// seals of this dist were left and why.
fn choose<'r>(
    opts: &UnsealOptions,
    recs: &'r Records,
    report: &mut UnsealReport,
) -> Result<Vec<&'r SealRecord>> {
    let mut view = DistView {
        dist: &opts.dist,
        hashes: HashMap::new(),
    };
    if let Some(id) = &opts.seal {
        let Some(rec) = recs.get(id) else {
            bail!(
                "--seal {id}: no such seal in vault {} (its records are {}/seals/<id>.json)",
                opts.vault.display(),
                opts.vault.display()
            );
        };
        if let Err(why) = view.check(rec) {
            bail!(
                "--seal {id}: this dist is not the one that seal sealed ({why}); nothing restored"
            );
        }
        return Ok(vec![rec]);
    }
    let dist_raw = RawPath::from_path(&opts.dist);
    let open: Vec<&SealRecord> = recs
        .all
        .seals
        .iter()
        .rev()
        .filter(|r| !recs.unsealed.contains_key(&r.id))
        .collect();
    let mut checked: Vec<(&SealRecord, Result<bool, String>)> =
        open.iter().map(|r| (*r, view.check(r))).collect();
    let primary = checked
        .iter()
        .position(|(r, c)| r.dist == dist_raw && c.is_ok())
        .or_else(|| checked.iter().position(|(_, c)| c == &Ok(true)));
    let Some(primary) = primary else {
        skipped_notes(&checked, &dist_raw, None, report);
        return Ok(vec![]);
    };
    let first = checked.remove(primary).0;
    let mut chosen = vec![first];
    let mut claimed: BTreeSet<&RelPath> = first.files.iter().map(|f| &f.path).collect();
    checked.retain(|(r, c)| {
        let joins = r.dist == first.dist
            && c == &Ok(true)
            && r.files.iter().all(|f| !claimed.contains(&f.path));
        if joins {
            claimed.extend(r.files.iter().map(|f| &f.path));
            chosen.push(r);
        }
        !joins
    });
    skipped_notes(&checked, &dist_raw, Some(first), report);
    Ok(chosen)
}

/// A note for every seal of this dist left in the vault, saying why.
fn skipped_notes(
    left: &[(&SealRecord, Result<bool, String>)],
    dist: &RawPath,
    chosen: Option<&SealRecord>,
    report: &mut UnsealReport,
) {
    for (r, c) in left {
        if &r.dist != dist && chosen.is_none_or(|c| c.dist != r.dist) {
            continue;
        }
        let why = match c {
            Err(why) => format!("its files are gone or changed ({why}): another build"),
            Ok(false) => "nothing in it identifies this build (it holds only moved maps)".into(),
            Ok(true) => "it shares paths with the seal restored".into(),
        };
        report.notes.push(NoteRecord::new(
            ".",
            format!(
                "seal {} (sealed at {}) not restored: {why}; it stays in the vault \
                 (`unseal --seal {}` restores it explicitly)",
                r.id, r.sealed_at, r.id
            ),
        ));
    }
}

/// Before anything changes: every vault object the plan reads must be there. A manifest naming
/// objects the vault lacks was edited or the vault damaged; unseal refuses it whole rather than
/// restoring part of the dist.
fn refuse_missing_objects(v: &Vault, j: &Journal) -> Result<()> {
    // A remote vault: what the cache lacks is fetched first, so a store that cannot be reached
    // is reported as such (the key and the reason), not as objects missing from the vault.
    if v.remote().is_some() {
        for s in &j.steps {
            match s {
                Step::Restore { from, .. } => v.fetch_if_stored(from)?,
                Step::Unedit { edits, .. } => {
                    for e in edits {
                        match &e.removed {
                            Bytes::Blob(s) => v.fetch_if_stored(&Stored::Blob(s.clone()))?,
                            Bytes::InlineMap { map, .. } => {
                                v.fetch_if_stored(&Stored::Map(map.clone()))?;
                            }
                            Bytes::Text(_) | Bytes::Base64(_) => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
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
            "the seal records name vault objects that are missing: {}; refusing to unseal anything — \
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
    let v = Vault::open_at(&opts.vault, false, on_wait)?;
    if let Some(id) = txn::recover(&v, &opts.dist, &mut report.notes, &mut report.errors)? {
        report.resumed.push(id);
    }
    let recs = v.load_records()?;
    let chosen = choose(opts, &recs, &mut report)?;
    if chosen.is_empty() {
        let dist_raw = RawPath::from_path(&opts.dist);
        let others: BTreeSet<String> = recs
            .all
            .seals
            .iter()
            .filter(|r| r.dist != dist_raw)
            .map(|r| r.dist.to_string())
            .collect();
        let msg = if recs.all.seals.is_empty() {
            "nothing to unseal: the vault has no seals".to_string()
        } else if recs.all.seals.iter().any(|r| r.dist == dist_raw) {
            "nothing to unseal for this dist: its seals are unsealed already, or belong to \
             another build"
                .to_string()
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
    let mut ids: Vec<String> = chosen.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    report.seals = ids;
    let mut j = plan(opts, &v, &chosen, &mut report)?;
    drop_world_write(&mut j, &mut report);
    // The records are untrusted too: what they would have unseal do passes the checks a
    // journal read from the vault passes (paths, object names, modes a dist file can have).
    j.check(&opts.dist, v.root()).map_err(|e| {
        anyhow::anyhow!(
            "{}: the records of this dist would have unseal act outside what a seal can have \
             done ({e}); refusing to unseal anything, nothing was changed",
            v.root().join("seals").display()
        )
    })?;
    refuse_missing_objects(&v, &j)?;

    crate::progress::phase("restoring", 0);
    v.save_journal(&j)?;
    apply::failpoint("after-journal");
    let applied = apply::execute(&v, &j)?;
    count_done(&j, &applied, &mut report);
    report.unsealed = txn::finish(
        &v,
        &j,
        &applied,
        &mut report.notes,
        &mut report.errors,
        None,
    )?;
    report.unsealed.sort();
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// A world-writable mode in a record (a dist built under `umask 000`) is restored without
/// the world-write bit, with a note: no file gets a world-writable mode from the vault (a
/// tampered record could otherwise open a file or directory to every local user), but the
/// bytes still come back. Setuid, setgid and sticky bits stay refused by `Journal::check`.
fn drop_world_write(j: &mut Journal, report: &mut UnsealReport) {
    for s in &mut j.steps {
        let (Step::Restore { path, mode, .. }
        | Step::Unedit { path, mode, .. }
        | Step::MakeDir { path, mode, .. }) = s
        else {
            continue;
        };
        if *mode & 0o002 != 0 {
            let was = *mode;
            *mode &= !0o002;
            report.notes.push(NoteRecord::new(
                path.lossy(),
                format!(
                    "restored with mode {:04o}, not the world-writable {was:04o} its seal record \
                     holds: no file gets a world-writable mode from the vault",
                    *mode
                ),
            ));
        }
    }
}

/// Count and list what the steps that went through did.
fn count_done(j: &Journal, applied: &apply::Applied, report: &mut UnsealReport) {
    for (i, s) in j.steps.iter().enumerate() {
        if !applied.ok(i) {
            continue;
        }
        let (action, seal) = match s {
            Step::MakeDir { seal_id, .. } => {
                report.dirs_recreated += 1;
                ("dir-recreated", seal_id)
            }
            Step::MakeLink { seal_id, .. } => ("link-recreated", seal_id),
            Step::Restore {
                seal_id, replaces, ..
            } => {
                report.files_restored += 1;
                if replaces.is_some() {
                    report.references_restored += 1;
                    ("file-restored", seal_id)
                } else {
                    report.maps_restored += 1;
                    ("map-restored", seal_id)
                }
            }
            Step::Unedit { seal_id, edits, .. } => {
                report.files_restored += 1;
                report.references_restored += edits.len() as u64;
                ("references-restored", seal_id)
            }
            _ => continue,
        };
        report.actions.push(UnsealAction {
            path: s.path().lossy(),
            action,
            seal: seal.clone(),
        });
    }
}

/// The unseal of records `recs` (newest first): directories first, shallow to deep; then
/// files (an older entry for a path a newer chosen seal also changed is superseded). Every map
/// is copied out through a temp file and hashed before it gets its name in the dist; the vault
/// keeps every object.
fn plan(
    opts: &UnsealOptions,
    v: &Vault,
    recs: &[&SealRecord],
    report: &mut UnsealReport,
) -> Result<Journal> {
    let dist_dev = crate::sys::dev_of(&opts.dist)?;
    let jid = txn::new_id("unseal", SystemTime::now());
    let temps = Temps::new(&jid, &opts.dist, Some(v));
    let mut j = Journal::new(Op::Unseal, jid, RawPath::from_path(&opts.dist));
    j.vault = RawPath::from_path(v.root());
    make_dirs(&mut j, recs);
    let mut claimed = BTreeSet::new();
    for (n, rec) in recs.iter().enumerate() {
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
                    restore(rec, f, from, temp)
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
        }
        for l in &rec.links {
            if !claimed.insert(l.path.clone()) {
                report.notes.push(NoteRecord::new(
                    l.path.lossy(),
                    format!(
                        "link of seal {} superseded by a later seal of the same path",
                        rec.id
                    ),
                ));
                continue;
            }
            j.steps.push(Step::MakeLink {
                seal_id: rec.id.clone(),
                path: l.path.clone(),
                target: l.target.clone(),
            });
        }
    }
    j.steps.sort_by_key(|s| match s {
        Step::MakeDir { .. } => 0,
        _ => 1,
    });
    Ok(j)
}

/// The directories seal removed, shallow to deep, each once.
fn make_dirs(j: &mut Journal, recs: &[&SealRecord]) {
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
}

/// Put a moved (or regenerated) file back from vault object `from`, copied (and hashed) through
/// `temp`.
fn restore(rec: &SealRecord, f: &FileRecord, from: Stored, temp: RawPath) -> Step {
    let replaces = if f.action == Action::Replaced {
        f.sealed_sha256.clone()
    } else {
        None
    };
    Step::Restore {
        seal_id: rec.id.clone(),
        path: f.path.clone(),
        from,
        sha256: f.sha256.clone(),
        size: f.size,
        mode: f.mode,
        mtime: f.mtime,
        mtime_nsec: f.mtime_nsec,
        rename: false,
        temp,
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
        bail!("changed since it was sealed; not restoring it (its record is kept)");
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
