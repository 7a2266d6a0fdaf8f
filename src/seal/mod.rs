//! `mapvault seal DIST`: find every leak, plan the exact edits and moves, commit the plan as a
//! journal, apply it ([`crate::apply`]), write its record ([`crate::txn::record`]) and verify
//! the dist while the last barrier flushes it, then remove the journal. `--dry-run` stops after the plan.
//!
//! One job per file, in the order a seal runs them:
//! - [`inspect`]: read each file once, find its leaks, hash what the vault needs;
//! - [`edit`]: plan one file's cuts, hashes and in-place tail;
//! - [`debug_ids`]: `--debug-ids` pairs bundles with maps and re-plans their edits;
//! - [`rehash`]: `integrity=` / `ngsw.json` values recomputed, stale hashes elsewhere noted;
//! - [`plan`]: the journal, record and report, as a pure function of what was gathered;
//! - this file: the order of it all, the locks, and the final verify.

mod debug_ids;
mod edit;
mod inspect;
mod plan;
mod rehash;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::Result;
use serde::Serialize;

use crate::allow::AllowList;
use crate::exit::Outcome;
use crate::findings::{self, ActionRecord, ErrorRecord, LeakRecord, NoteRecord};
use crate::relpath::RelPath;
use crate::txn::{self, Temps};
use crate::vault::Vault;
use crate::vault::journal::Journal;
use crate::walk::{self, Walk};
use crate::{apply, parallel, progress, verify};

use inspect::Seen;
use plan::{Facts, Plan, VaultFacts};

#[derive(Debug, Clone)]
pub struct SealOptions {
    /// Canonical absolute path of the dist.
    pub dist: PathBuf,
    /// Absolute path of the vault.
    pub vault: crate::vault::VaultLoc,
    pub dry_run: bool,
    /// `--debug-ids`: give bundles and their maps debug IDs.
    pub debug_ids: Option<DebugIds>,
    /// `--allow GLOB`: files left exactly as they are (their leaks end up in `allowed`).
    pub allow: AllowList,
}

/// `seal --debug-ids`: link each bundle and its map by a debug ID (ECMA-426 proposal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugIds {
    /// `//# debugId=` in the bundle, `"debugId"` in the vaulted map.
    Comment,
    /// Also Sentry's runtime registration snippet after the last line of the bundle.
    Sentry,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SealReport {
    pub dist: String,
    pub vault: String,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal_id: Option<String>,
    pub files_scanned: u64,
    pub references_stripped: u64,
    pub files_edited: u64,
    pub maps_moved: u64,
    pub map_bytes: u64,
    pub inline_maps_extracted: u64,
    /// Bundles given a debug ID (`--debug-ids`).
    pub debug_ids: u64,
    pub dirs_removed: u64,
    /// Interrupted operations found in the vault and finished first.
    pub resumed: Vec<String>,
    /// What seal did (in a dry run: would do), one record per change.
    pub actions: Vec<ActionRecord>,
    /// Result of the final verify (in a dry run: whether the plan would leave the dist clean).
    pub clean: bool,
    pub leaks: Vec<LeakRecord>,
    /// Leaks of `--allow`ed files, left in place and reported (see [`crate::allow`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<LeakRecord>,
    pub notes: Vec<NoteRecord>,
    pub errors: Vec<ErrorRecord>,
    pub elapsed_ms: u64,
}

impl SealReport {
    pub fn outcome(&self) -> Outcome {
        Outcome::of(
            !(self.clean && self.leaks.is_empty()),
            !self.errors.is_empty(),
        )
    }

    /// Take the counts, actions, notes and errors of a plan; returns its journal and what
    /// [`SealReport::keep_done`] needs.
    fn add_plan(&mut self, p: Plan) -> (Journal, Ledger) {
        self.notes.extend(p.notes);
        self.errors.extend(p.errors);
        self.actions = p.actions;
        self.set_stats(&p.stats);
        let ledger = Ledger {
            stats: p.stats,
            action_paths: p.action_paths,
            by_path: p.by_path,
        };
        (p.journal, ledger)
    }

    fn set_stats(&mut self, st: &plan::Stats) {
        self.references_stripped = st.references;
        self.files_edited = st.files_edited;
        self.maps_moved = st.maps_moved;
        self.map_bytes = st.map_bytes;
        self.inline_maps_extracted = st.inline;
        self.debug_ids = st.debug_ids;
        self.dirs_removed = st.dirs_removed;
    }

    /// After a run in which some steps failed: keep only the actions and counts of paths whose
    /// every step went through, so the report (human and JSON) says what was done; the failures
    /// themselves are in `errors` (a directory that stayed, in `notes`).
    fn keep_done(&mut self, mut ledger: Ledger, journal: &Journal, applied: &apply::Applied) {
        let failed: HashSet<&RelPath> = applied
            .errors()
            .map(|(i, _)| journal.steps[i].path())
            .collect();
        if failed.is_empty() {
            return;
        }
        for path in &failed {
            if let Some(part) = ledger.by_path.get(*path) {
                ledger.stats.remove(part);
            }
        }
        let mut paths = ledger.action_paths.iter();
        self.actions
            .retain(|_| paths.next().is_none_or(|p| !failed.contains(p)));
        self.set_stats(&ledger.stats);
    }
}

/// A plan's counts in total and by path, and the path of each action: what a partly failed run
/// takes back from the report.
struct Ledger {
    stats: plan::Stats,
    action_paths: Vec<RelPath>,
    by_path: plan::FastMap<RelPath, plan::Stats>,
}

/// Seal `opts.dist`. Call inside the worker pool.
pub fn seal(opts: &SealOptions, on_wait: &mut dyn FnMut(&str)) -> Result<SealReport> {
    let started = Instant::now();
    let mut phases = parallel::Phases::start();
    let mut report = SealReport {
        dist: opts.dist.display().to_string(),
        vault: opts.vault.display().to_string(),
        dry_run: opts.dry_run,
        ..SealReport::default()
    };
    let (_dist_lock, vault) = if opts.dry_run {
        (None, None)
    } else {
        let l = txn::lock_dist(&opts.dist, on_wait)?;
        let v = Vault::open_at(&opts.vault, true, on_wait)?;
        (Some(l), Some(v))
    };
    if let Some(v) = &vault
        && let Some(id) = txn::recover(v, &opts.dist, &mut report.notes, &mut report.errors)?
    {
        report.resumed.push(id);
    }
    phases.mark("open+recover");

    // Names only: inspection takes each file's metadata from the file it opens.
    let w = walk::walk_names(&opts.dist, None);
    phases.mark("walk");
    // A link to a map file is removed and recorded by the plan (`map_links`); one to a
    // directory holding maps is a leak seal does not fix: the final verify reports it.
    let (_, notes, errors) = crate::inspect::walk_findings(&w);
    report.notes.extend(notes);
    report.errors.extend(errors);
    report.files_scanned = w.files.len() as u64;
    progress::phase("inspecting", report.files_scanned);
    let mut seen = inspect::inspect_all(&w.files, &opts.allow);
    inspect::decide_embedded(&mut seen);
    inspect::hold_references_to_unreadable(&mut seen);
    phases.mark("inspect");

    if let Some(mode) = opts.debug_ids {
        debug_ids::assign_debug_ids(&mut seen, mode, &opts.dist);
    }
    rehash::fix_hashes(&mut seen, &opts.dist);
    phases.mark("debug ids + hashes");
    let facts = gather_facts(opts, vault.as_ref(), &seen, &w);
    phases.mark("facts");
    // Both only read what inspection saw: the stale-hash report runs beside the plan.
    let (stale, p) = rayon::join(
        || rehash::stale_hash_notes(&seen, &opts.dist),
        || plan::plan(opts, &facts, &seen, &w),
    );
    phases.mark("plan");
    report.notes.extend(stale);
    let (mut journal, ledger) = report.add_plan(p);
    phases.mark("report");
    if let Some(v) = &vault {
        journal.vault = crate::relpath::RawPath::from_path(v.root());
    }

    match &vault {
        Some(v) => commit(opts, v, &journal, ledger, &mut report, &mut phases)?,
        // Dry run: everything found is planned, so the dist would be clean unless files could
        // not be read.
        None => report.clean = report.errors.is_empty(),
    }
    if opts.debug_ids.is_some() && report.debug_ids == 0 && report.maps_moved == 0 {
        // Nothing to pair: most often the dist was sealed before without --debug-ids, so its
        // maps are in the vault already and its bundles can no longer be paired with them.
        report.notes.push(NoteRecord::new(
            ".",
            "--debug-ids gave no bundle an ID: the dist holds no maps to pair (sealed already?). \
             IDs are given while the maps are still in the dist: unseal, then seal again with \
             --debug-ids",
        ));
    }
    findings::sort_notes(&mut report.notes);
    report.notes.dedup();
    findings::sort_errors(&mut report.errors);
    report.errors.dedup();
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// Everything the plan needs besides the inspected files: the run's id and time, our uid, the
/// vault objects already present, temp names, and which plain files already hold their sealed
/// bytes.
fn gather_facts(opts: &SealOptions, vault: Option<&Vault>, seen: &[Seen], w: &Walk) -> Facts {
    let now = SystemTime::now();
    let id = txn::new_id("seal", now);
    let files: plan::FastSet<&[u8]> = w.files.iter().map(|f| f.rel.as_bytes()).collect();
    let holds_sealed: HashSet<RelPath> = plan::copies_to_check(seen, &files)
        .into_iter()
        .filter(|(_, plain, sealed_sha)| holds_sealed(&opts.dist, plain, sealed_sha))
        .map(|(_, plain, _)| plain)
        .collect();
    Facts {
        temps: Temps::new(&id, &opts.dist, vault),
        id,
        sealed_at: humantime::format_rfc3339_seconds(now).to_string(),
        euid: crate::vault::fsutil::euid(),
        vault: vault.map(|v| VaultFacts {
            dev: v.dev(),
            present: v.which_present(&plan::objects_wanted(seen)),
        }),
        holds_sealed,
        map_links: crate::inspect::map_links(w, |rel| opts.allow.allows_file(rel)),
    }
}

/// Does the plain file `rel` already hold `sealed_sha` — what its precompressed copy gives once
/// sealed? Then an earlier seal stopped (a write error, e.g. a copy that could not be replaced)
/// after the plain file and before its copy, and regenerating the copy finishes that seal.
fn holds_sealed(dist: &Path, rel: &RelPath, sealed_sha: &str) -> bool {
    rel.under(dist)
        .and_then(|p| crate::vault::fsutil::hash_file(&p).ok())
        .is_some_and(|(sha, _)| sha == sealed_sha)
}

/// Run the journal (when there is anything to do), record it, and verify the dist.
fn commit(
    opts: &SealOptions,
    v: &Vault,
    journal: &Journal,
    ledger: Ledger,
    report: &mut SealReport,
    phases: &mut parallel::Phases,
) -> Result<()> {
    let after = if journal.steps.is_empty() {
        None
    } else {
        progress::phase("sealing", 0);
        let record_json = v.save_journal(journal)?;
        phases.mark("journal");
        apply::failpoint("after-journal");
        // The record is written and the final verify reads the dist while the second barrier
        // flushes it; the journal goes once all three are done.
        let (applied, (recorded, after)) = apply::execute_with(v, journal, |applied| {
            let recorded = txn::record(
                v,
                journal,
                applied,
                &mut report.notes,
                &mut report.errors,
                record_json.as_ref(),
            );
            (recorded, verify::verify_dir(&opts.dist, None))
        })?;
        recorded?;
        phases.mark("apply + record + final verify");
        report.keep_done(ledger, journal, &applied);
        v.remove_journal()?;
        report.seal_id = Some(journal.id.clone());
        phases.mark("journal removed");
        Some(after)
    };
    let mut after = after.unwrap_or_else(|| verify::verify_dir(&opts.dist, None));
    phases.mark("final verify");
    opts.allow.apply(&mut after);
    report.allowed = after.allowed;
    report.clean = after.leaks.is_empty();
    report.leaks = after.leaks;
    report.errors.extend(after.errors);
    Ok(())
}
