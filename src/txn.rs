//! The transaction pieces seal and unseal share around a journal: locking the dist, naming a run
//! and its temp files, finishing a journal an earlier run left behind, and recording a journal's
//! outcome in the manifest. The steps themselves run in [`crate::apply`]; what goes into a
//! journal is each command's business.
//!
//! A run is: lock the dist ([`lock_dist`]) and the vault, [`recover`] any interrupted journal,
//! plan a new one (ids from [`new_id`], temp names from [`Temps`]), save it, execute it, then
//! [`finish`] it: a seal's record (or an unseal's markers) says what was done and the journal
//! goes. Seal itself writes its record with [`record`] while the second barrier runs, and
//! removes the journal once that barrier has returned.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::apply::{self, Applied};
use crate::findings::{ErrorRecord, NoteRecord};
use crate::relpath::{RawPath, RelPath};
use crate::vault::Vault;
use crate::vault::journal::{Journal, Op, Step};
use crate::vault::json::Pieces;
use crate::vault::manifest::SealRecord;

/// An edit is applied in place (the file's tail rewritten, no new copy) when the new tail, which
/// the journal spells out, is at most this long…
pub const TAIL_MAX: u64 = 64 * 1024;
/// …and the old tail, which the journal names by hash and commit reads back to check, at most
/// this long (a bundle ending in an inline map of up to ~1 MiB is cut, not copied).
pub const OLD_TAIL_MAX: u64 = 1 << 20;

/// Lock a dist directory against concurrent seal/unseal (an advisory lock on the directory
/// itself, so nothing new appears in the dist). Opened as a directory and never through a
/// symbolic link (nor a FIFO that would block the open).
pub fn lock_dist(dist: &Path, on_wait: &mut dyn FnMut(&str)) -> Result<File> {
    use crate::sys::{self, OpenOptionsExt};
    let f = File::options()
        .read(true)
        .custom_flags(sys::O_DIRECTORY | sys::O_NOFOLLOW | sys::O_NONBLOCK)
        .open(dist)
        .with_context(|| format!("cannot open {}", dist.display()))?;
    let f = sys::dir_lock_file(f)
        .with_context(|| format!("cannot open the lock of {}", dist.display()))?;
    crate::vault::lock_file(&f, &format!("dist {}", dist.display()), on_wait)?;
    Ok(f)
}

/// A new run id, `OP-<UTC time to the millisecond>-<8 hex>`: readable, sortable by time (a
/// seal's id names its record, and the latest record is the greatest id), and unique across
/// processes (the salt hashes the clock's nanoseconds and the pid).
pub fn new_id(op: &str, now: std::time::SystemTime) -> String {
    let stamp = humantime::format_rfc3339_millis(now)
        .to_string()
        .replace([':', '-'], "");
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let salt = crate::hash::sha256_hex(format!("{nanos}:{}", std::process::id()).as_bytes());
    format!("{op}-{stamp}-{}", &salt[..8])
}

/// Where a run's temp files go: `VAULT/tmp/<run>-<n>` for files on the vault's file system (a
/// rename from there is atomic), else `.mapvault-<run>-<n>.tmp` beside the file. Plain data, so
/// planning stays pure; without a vault (a dry run) every temp is the empty path.
#[derive(Debug, Clone, Default)]
pub struct Temps {
    run: String,
    dist: PathBuf,
    vault: Option<(PathBuf, u64)>,
}

impl Temps {
    pub fn new(run: &str, dist: &Path, vault: Option<&Vault>) -> Temps {
        Temps {
            run: run.to_owned(),
            dist: dist.to_path_buf(),
            vault: vault.map(|v| (v.tmp_dir(), v.dev())),
        }
    }

    /// The temp for the `n`-th file of the run, `rel` in the dist, on device `dev`.
    pub fn at(&self, rel: &RelPath, dev: u64, n: usize) -> RawPath {
        let Some((tmp, vault_dev)) = &self.vault else {
            return RawPath::default();
        };
        let run = &self.run;
        if dev == *vault_dev {
            RawPath::from_path(&tmp.join(format!("{run}-{n}")))
        } else {
            let p = rel.under(&self.dist).unwrap_or_default();
            let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
            RawPath::from_path(&dir.join(format!(".mapvault-{run}-{n}.tmp")))
        }
    }
}

/// Finish any operation a previous run left in the vault's journal. Returns its id. `dist` is
/// the dist of this run, whose lock the caller holds.
///
/// The journal is untrusted input (the vault may come back from a poisoned CI cache): before
/// a step runs, it must name this dist and this vault and pass [`Journal::check`] (paths and
/// temps confined to the dist and `VAULT/tmp`, vault objects named by sha256, no mode a dist
/// file cannot have), and every path it names must resolve beneath the dist without a symbolic
/// link ([`apply::check_paths`]). Otherwise the run stops with the reason (exit 2) and nothing
/// is touched; the journal stays for the user to inspect. A journal of another dist sharing the
/// vault is not finished from here either: it is that dist's run to finish.
pub fn recover(
    v: &Vault,
    dist: &Path,
    notes: &mut Vec<NoteRecord>,
    errors: &mut Vec<ErrorRecord>,
) -> Result<Option<String>> {
    let Some(j) = v.load_journal()? else {
        return Ok(None);
    };
    let path = v.root().join("journal.json");
    let refuse = |why: String| {
        anyhow::anyhow!(
            "{}: {why}; refusing to run it, nothing was changed",
            path.display()
        )
    };
    if j.dist.to_path() != dist && j.vault.to_path() == v.root() {
        // A run of another dist sharing this vault was interrupted: its own command finishes
        // it (under that dist's lock); a run here must not act on another directory.
        return Err(refuse(format!(
            "it is an unfinished {op} of {other}, not this dist ({this}); finish it first with \
             `mapvault {op} {other} --vault {vault}` (or move the journal aside if that run is \
             not yours)",
            op = j.op.name(),
            other = j.dist,
            this = dist.display(),
            vault = v.root().display()
        )));
    }
    j.check(dist, v.root()).map_err(refuse)?;
    apply::check_paths(&j).map_err(|e| refuse(format!("{e:#}")))?;
    let applied = apply::execute(v, &j)?;
    finish(v, &j, &applied, notes, errors, None)?;
    Ok(Some(j.id))
}

/// Record what a journal achieved, clear the journal. Files whose steps failed are reported
/// (and, for seal, left out of the record). A seal writes its record `seals/<id>.json` (reading
/// no other record); an unseal writes the unsealed marker of every seal all of whose steps went
/// through. `record_json` is the seal record as [`Vault::save_journal`] wrote it, reused when
/// every step went through. Returns the ids of the seals an unseal marked unsealed.
pub fn finish(
    v: &Vault,
    j: &Journal,
    applied: &Applied,
    notes: &mut Vec<NoteRecord>,
    errors: &mut Vec<ErrorRecord>,
    record_json: Option<&Pieces>,
) -> Result<Vec<String>> {
    let mut marked = Vec::new();
    match j.op {
        Op::Seal => record(v, j, applied, notes, errors, record_json)?,
        Op::Unseal => {
            report_failures(j, applied, notes, errors);
            let mut seals: Vec<&str> = Vec::new();
            let mut incomplete: BTreeSet<&str> = BTreeSet::new();
            for (i, s) in j.steps.iter().enumerate() {
                if let Step::Restore { seal_id, .. }
                | Step::Unedit { seal_id, .. }
                | Step::MakeDir { seal_id, .. }
                | Step::MakeLink { seal_id, .. } = s
                {
                    if !seals.contains(&seal_id.as_str()) {
                        seals.push(seal_id);
                    }
                    if !applied.ok(i) {
                        incomplete.insert(seal_id);
                    }
                }
            }
            for id in seals.into_iter().filter(|id| !incomplete.contains(id)) {
                v.mark_unsealed(id, &j.id, &j.dist)?;
                marked.push(id.to_string());
            }
            apply::failpoint("after-manifest");
        }
    }
    v.remove_journal()?;
    Ok(marked)
}

/// The record part of [`finish`] for a seal, without removing the journal: seal runs it while
/// the second barrier flushes the dist ([`apply::execute_with`]) and removes the journal after.
/// Failed steps are reported as in [`finish`].
pub fn record(
    v: &Vault,
    j: &Journal,
    applied: &Applied,
    notes: &mut Vec<NoteRecord>,
    errors: &mut Vec<ErrorRecord>,
    record_json: Option<&Pieces>,
) -> Result<()> {
    apply::failpoint("before-record");
    let failed = report_failures(j, applied, notes, errors);
    // Not recorded yet (a re-run after a crash that followed the record's write finds it
    // recorded).
    if let Some(rec) = &j.record
        && !v.has_record(&rec.id)
    {
        record_seal(v, rec, j, applied, &failed, record_json)?;
    }
    Ok(())
}

/// Every failed step as an error of its file (a directory seal could not remove is only a
/// note); returns the files that failed.
fn report_failures(
    j: &Journal,
    applied: &Applied,
    notes: &mut Vec<NoteRecord>,
    errors: &mut Vec<ErrorRecord>,
) -> BTreeSet<RelPath> {
    let mut failed = BTreeSet::new();
    for (i, msg) in applied.errors() {
        let step = &j.steps[i];
        if matches!(step, Step::RemoveDir { .. }) {
            notes.push(NoteRecord::new(step.path().lossy(), msg.to_owned()));
            continue;
        }
        failed.insert(step.path().clone());
        errors.push(ErrorRecord::new(step.path().lossy(), msg.to_owned()));
    }
    failed
}

/// Write a seal's record: as the journal wrote it when every step went through (directories
/// included), else without the files that failed and the directories that were not removed.
fn record_seal(
    v: &Vault,
    rec: &SealRecord,
    j: &Journal,
    applied: &Applied,
    failed: &BTreeSet<RelPath>,
    record_json: Option<&Pieces>,
) -> Result<()> {
    if let Some(bytes) = record_json
        && applied.errors().next().is_none()
    {
        if !rec.files.is_empty() || !rec.links.is_empty() {
            v.put_record(rec, Some(bytes))?;
            apply::failpoint("after-manifest");
        }
        return Ok(());
    }
    let mut rec = rec.clone();
    rec.files.retain(|f| !failed.contains(&f.path));
    let removed_dirs: BTreeSet<_> = j
        .steps
        .iter()
        .enumerate()
        .filter(|(i, s)| matches!(s, Step::RemoveDir { .. }) && applied.ok(*i))
        .map(|(_, s)| s.path().clone())
        .collect();
    rec.dirs.retain(|d| removed_dirs.contains(&d.path));
    rec.links.retain(|l| !failed.contains(&l.path));
    if !rec.files.is_empty() || !rec.links.is_empty() {
        v.put_record(&rec, None)?;
        apply::failpoint("after-manifest");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_operation_and_the_time() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let id = new_id("seal", t);
        assert!(id.starts_with("seal-20270115T080000.000Z-"), "{id}");
        assert_eq!(id.len(), "seal-20270115T080000.000Z-".len() + 8);
    }

    #[test]
    fn temps_go_to_the_vault_on_its_file_system_else_beside_the_file() {
        let t = Temps {
            run: "seal-x".into(),
            dist: PathBuf::from("/d"),
            vault: Some((PathBuf::from("/v/tmp"), 7)),
        };
        let rel = RelPath::new(b"a/b.js".to_vec());
        assert_eq!(t.at(&rel, 7, 3).to_path(), PathBuf::from("/v/tmp/seal-x-3"));
        assert_eq!(
            t.at(&rel, 8, 3).to_path(),
            PathBuf::from("/d/a/.mapvault-seal-x-3.tmp")
        );
        assert_eq!(Temps::default().at(&rel, 7, 3), RawPath::default());
    }
}
