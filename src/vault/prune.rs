//! `mapvault vault prune`: the only command that deletes from the vault. Removes the seal
//! records the user selects (`--keep-last N`, `--older-than DURATION`, optionally only of one
//! `--dist`), then every object no remaining record needs.
//!
//! Selection: `--keep-last N` keeps the N newest seals *of each dist* (records are grouped by
//! the dist path they name, so pruning a vault shared by several dists never empties one of
//! them); `--older-than D` selects seals whose `sealed_at` is more than D ago (a record whose
//! time cannot be read is kept, with a note); given both, a seal goes only when both say so.
//! `--dist DIR` limits the selection to the seals of that dist (its absolute path as sealed).
//!
//! Safety, in this order, under the exclusive vault lock (seal, unseal and other prunes wait;
//! readers too):
//! - A vault with an unfinished journal (an interrupted seal or unseal) is refused: that run's
//!   objects are not in any record yet, and its recovery needs them.
//! - Every record must parse ([`Vault::load_records`]): a record that cannot be read may need
//!   any object, so nothing is deleted (exit 2; `vault fsck` names it).
//! - Records go first: each record file, then its unsealed marker, then an fsync of `seals/`;
//!   then the derived index of every record gone (`index/<id>.json`, see index.rs).
//!   Objects go after: only those no remaining record needs, then an fsync of `maps/` and
//!   `blobs/`. A crash at any point therefore leaves at worst objects no record needs (or an
//!   unsealed marker without its record), which the next prune removes; never a record whose
//!   objects are gone.
//! - Grace period: an object no record needs is deleted only when its mtime is at least
//!   [`GRACE`] (1 hour) old (the later of its mtime and ctime: a map seal moved in by `rename`
//!   keeps its old mtime, but its ctime is the move's). A seal stores its objects before it writes its record, and on an
//!   object store (issue 16) that seal may run on another machine without our lock: a young
//!   unreferenced object may be one an unfinished seal is about to reference. Young ones are
//!   counted (`objects_kept_young`) and removed by a later prune.
//! - A remote vault has no conditional delete, so each check and its delete are separate
//!   requests; a seal on another machine is protected from both sides. Prune
//!   ([`prune_remote_objects`]) looks every candidate up again (a seal relying on an object
//!   rewrites it, renewing its time), then lists `seals/` once more and keeps every object a
//!   record written since prune read the records names (a new record that cannot be read stops
//!   every delete), and only then deletes. The seal, after writing its record, checks the store
//!   has every object the record names and re-uploads any gone from its cache (remote.rs,
//!   `RecordChecked`), which repairs a delete that landed between its upload and its record.
//!   Left open: a prune stalled between that last listing and its deletes while a seal writes
//!   its record and finishes its check. Tested with pauses at both points
//!   (`MAPVAULT_PAUSE`, tests/it/s3vault.rs).
//! - Only entries named as objects (`maps/<sha256>.map`, `blobs/<sha256>`) are deleted, by name,
//!   never through a link (`unlink` removes a link itself); directories and other names are
//!   left alone.
//!
//! `--dry-run` computes the same plan and writes nothing: it opens the vault as a reader (the
//! shared lock, like `vault list`; a v1 vault is read as it is, not migrated).
//!
//! JSON: `{"vault", "dry_run", "seals_removed": [id…], "seals_kept", "objects_removed":
//! [{"object", "bytes"}], "bytes_freed", "objects_kept_young", "notes": [..]}`.

use crate::sys::MetadataExt;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::Vault;
use super::fsutil;
use super::manifest::SealRecord;

/// Vault objects as `(is_map, sha256)`.
type Objects = BTreeSet<(bool, String)>;

/// How old an unreferenced object must be before prune deletes it (see the module docs).
pub const GRACE: Duration = Duration::from_secs(3600);

/// [`GRACE`]; tests built with `--features failpoints` may shorten it with
/// `MAPVAULT_PRUNE_GRACE_SECS` (ctime cannot be set back, so no test could age an object).
fn grace() -> Duration {
    #[cfg(feature = "failpoints")]
    if let Some(s) = std::env::var("MAPVAULT_PRUNE_GRACE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Duration::from_secs(s);
    }
    GRACE
}

/// What to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    pub vault: crate::vault::VaultLoc,
    pub keep_last: Option<usize>,
    pub older_than: Option<Duration>,
    /// Only the seals of this dist (absolute).
    pub dist: Option<PathBuf>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemovedObject {
    pub object: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub vault: String,
    pub dry_run: bool,
    /// Seal ids removed (or, with `--dry-run`, that would be), oldest first.
    pub seals_removed: Vec<String>,
    pub seals_kept: u64,
    pub objects_removed: Vec<RemovedObject>,
    pub bytes_freed: u64,
    /// Objects no record needs, left because they are younger than the grace period.
    pub objects_kept_young: u64,
    pub notes: Vec<String>,
}

/// Which records go: see the module docs.
fn select(
    records: &[SealRecord],
    o: &PruneOptions,
    now: SystemTime,
    notes: &mut Vec<String>,
) -> BTreeSet<String> {
    let mut by_dist: BTreeMap<Vec<u8>, Vec<&SealRecord>> = BTreeMap::new();
    for r in records {
        if let Some(d) = &o.dist
            && r.dist.to_path() != *d
        {
            continue;
        }
        by_dist
            .entry(r.dist.as_bytes().to_vec())
            .or_default()
            .push(r);
    }
    let mut out = BTreeSet::new();
    for recs in by_dist.values_mut() {
        // Ids sort chronologically (seals.rs): oldest first.
        recs.sort_by(|a, b| a.id.cmp(&b.id));
        let n = recs.len();
        for (i, r) in recs.iter().enumerate() {
            let beyond_last = o.keep_last.is_none_or(|k| i + k < n);
            let old = match o.older_than {
                None => true,
                Some(d) => match humantime::parse_rfc3339_weak(&r.sealed_at) {
                    Ok(t) => now.duration_since(t).is_ok_and(|age| age > d),
                    Err(_) => {
                        notes.push(format!(
                            "seal {}: its time {:?} cannot be read; kept",
                            r.id, r.sealed_at
                        ));
                        false
                    }
                },
            };
            if beyond_last && old {
                out.insert(r.id.clone());
            }
        }
    }
    out
}

fn remove(p: &Path) -> Result<bool> {
    match fs::remove_file(p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", p.display())),
    }
}

/// `vault prune`.
pub fn prune(o: &PruneOptions, on_wait: &mut dyn FnMut(&str)) -> Result<PruneReport> {
    if o.keep_last.is_none() && o.older_than.is_none() {
        bail!("vault prune needs --keep-last N or --older-than DURATION");
    }
    // A dry run only reads: the shared lock, no migration of a v1 vault, no `tmp/` cleanup.
    let v = if o.dry_run {
        Vault::open_shared_at(&o.vault, on_wait)?
    } else {
        Vault::open_at(&o.vault, false, on_wait)?
    };
    if v.has_journal() {
        let whose = match v.load_journal() {
            Ok(Some(j)) => format!(" of {}", j.dist),
            _ => String::new(),
        };
        bail!(
            "{}: a seal or unseal{whose} was interrupted; run it again to finish it, then prune \
             (its objects are in no record yet, and finishing it needs them)",
            v.root().join("journal.json").display()
        );
    }
    // Every record must parse: one that cannot may need any object.
    let recs = v
        .load_records()
        .context("cannot prune while a record cannot be read (`mapvault vault fsck` lists them)")?;
    let mut notes = Vec::new();
    let now = SystemTime::now();
    let gone = select(&recs.all.seals, o, now, &mut notes);
    let kept: Vec<SealRecord> = recs
        .all
        .seals
        .iter()
        .filter(|r| !gone.contains(&r.id))
        .cloned()
        .collect();
    let needed = super::manifest::Manifest {
        seals: kept,
        ..Default::default()
    }
    .referenced_objects();

    // 1. Records, then their markers; then markers whose record is gone (a crash between the
    // two, or an older prune).
    let (_, marks) = v.list_seals()?;
    let orphan_marks: Vec<&String> = marks.iter().filter(|id| !v.has_record(id)).collect();
    if !o.dry_run {
        // A remote vault: each key goes from the store first, then from the cache.
        let remote_delete = |name: String| -> Result<()> {
            if let Some(m) = v.remote() {
                m.store.delete(&format!("seals/{name}"))?;
            }
            Ok(())
        };
        for id in &gone {
            remote_delete(format!("{id}.json"))?;
            remove(&v.record_path(id))?;
            crate::failpoint::failpoint("prune-record");
            remote_delete(format!("{id}{}", super::seals::UNSEALED_SUFFIX))?;
            remove(&v.unsealed_path(id))?;
        }
        for id in orphan_marks {
            remote_delete(format!("{id}{}", super::seals::UNSEALED_SUFFIX))?;
            remove(&v.unsealed_path(id))?;
        }
        fsutil::sync_dir(&v.seals_dir()).context("cannot sync seals/")?;
        crate::failpoint::failpoint("prune-after-records");
        // Then the derived indexes of the records gone, and any other index left without
        // its record (a crash here): an index is never read without its record.
        for id in v.list_indexes()? {
            if !v.has_record(&id) {
                v.remove_index(&id)?;
            }
        }
    }

    // 2. Objects no remaining record needs, old enough.
    let mut objects_removed = Vec::new();
    let mut young = 0u64;
    let grace = grace();
    if let Some(m) = v.remote() {
        let known: BTreeSet<String> = recs.all.seals.iter().map(|r| r.id.clone()).collect();
        young += prune_remote_objects(
            &v,
            m,
            &known,
            &needed,
            o.dry_run,
            &mut objects_removed,
            &mut notes,
        )?;
    }
    for (dir, is_map) in [("maps", true), ("blobs", false)]
        .into_iter()
        .filter(|_| v.remote().is_none())
    {
        let d = v.root().join(dir);
        let rd = match fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", d.display())),
        };
        let mut removed_here = false;
        for e in rd {
            let e = e.with_context(|| format!("cannot read {}", d.display()))?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(key) = super::store::key_of(name, is_map) else {
                continue;
            };
            if needed.contains(&(is_map, key.sha)) {
                continue;
            }
            let p = e.path();
            let Ok(m) = fs::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() {
                continue;
            }
            // The later of mtime and ctime: seal may move a dist's map in by `rename`, which
            // keeps the map's old mtime but sets ctime (which no user can set back).
            let secs = m.mtime().max(m.ctime()).max(0) as u64;
            let stamp = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            if now.duration_since(stamp).unwrap_or_default() < grace {
                young += 1;
                continue;
            }
            if !o.dry_run {
                if !remove(&p)? {
                    continue;
                }
                removed_here = true;
                crate::failpoint::failpoint("prune-object");
            }
            objects_removed.push(RemovedObject {
                object: format!("{dir}/{name}"),
                bytes: m.len(),
            });
        }
        if removed_here {
            fsutil::sync_dir(&d).with_context(|| format!("cannot sync {}", d.display()))?;
        }
    }
    objects_removed.sort_by(|a, b| a.object.cmp(&b.object));
    if young > 0 {
        notes.push(format!(
            "{young} object(s) no seal needs are younger than the {}-minute grace period (a \
             seal in progress may be about to reference them); a later prune removes them",
            grace.as_secs() / 60
        ));
    }
    Ok(PruneReport {
        vault: o.vault.display().to_string(),
        dry_run: o.dry_run,
        seals_kept: (recs.all.seals.len() - gone.len()) as u64,
        seals_removed: gone.into_iter().collect(),
        bytes_freed: objects_removed.iter().map(|r| r.bytes).sum(),
        objects_removed,
        objects_kept_young: young,
        notes,
    })
}

/// Step 2 of [`prune`] on a remote vault, in three passes so a seal running on another machine
/// meanwhile is not robbed (see the module docs):
/// 1. the store's objects no remaining record needs, past the grace period by their listed
///    last-modified time, each looked up again (a seal that relies on an object already there
///    rewrites it, renewing that time: see remote.rs);
/// 2. `seals/` listed again: a record that appeared since prune read the records (a concurrent
///    seal's) is read, and every object it names is kept;
/// 3. the rest deleted.
///
/// Returns how many were kept as too young.
fn prune_remote_objects(
    v: &Vault,
    m: &super::remote::Mirror,
    known: &BTreeSet<String>,
    needed: &BTreeSet<(bool, String)>,
    dry_run: bool,
    objects_removed: &mut Vec<RemovedObject>,
    notes: &mut Vec<String>,
) -> Result<u64> {
    let (now, grace) = (SystemTime::now(), grace());
    let old = |t: SystemTime| now.duration_since(t).unwrap_or_default() >= grace;
    let mut young = 0u64;
    let mut doomed: Vec<(super::store::Entry, bool, String)> = Vec::new();
    for (dir, is_map) in [("maps", true), ("blobs", false)] {
        for e in m.store.list(&format!("{dir}/"))? {
            let name = e.key.strip_prefix(&format!("{dir}/")).unwrap_or_default();
            let Some(key) = super::store::key_of(name, is_map) else {
                continue;
            };
            if needed.contains(&(is_map, key.sha.clone())) {
                continue;
            }
            // Listed old, and still old when looked up again (not rewritten by a seal since).
            let still_old = old(e.modified)
                && (dry_run || m.store.head(&e.key)?.is_some_and(|h| old(h.modified)));
            if !still_old {
                young += 1;
                continue;
            }
            doomed.push((e, is_map, key.sha));
        }
    }
    if !dry_run && !doomed.is_empty() {
        crate::failpoint::failpoint("prune-before-deletes");
        let (named, unread) = objects_of_new_records(&*m.store, known)?;
        if let Some(why) = unread {
            notes.push(format!(
                "no object deleted: {why}; a record written during this prune may need any \
                 object (run prune again)"
            ));
            return Ok(young);
        }
        // Named by a new record: needed after all.
        doomed.retain(|(_, is_map, sha)| !named.contains(&(*is_map, sha.clone())));
    }
    for (e, _, _) in doomed {
        if !dry_run {
            m.store.delete(&e.key)?;
            let _ = fs::remove_file(v.root().join(&e.key));
            crate::failpoint::failpoint("prune-object");
        }
        objects_removed.push(RemovedObject {
            object: e.key,
            bytes: e.size,
        });
    }
    Ok(young)
}

/// Pass 2 of [`prune_remote_objects`]: list `seals/` again and read every record whose id is not
/// in `known` (written since prune read the records). Returns the objects they name, or why one
/// could not be read (then nothing may be deleted).
fn objects_of_new_records(
    store: &dyn super::store::Store,
    known: &BTreeSet<String>,
) -> Result<(Objects, Option<String>)> {
    let mut seals = Vec::new();
    for e in store.list("seals/")? {
        let Some(name) = e.key.strip_prefix("seals/") else {
            continue;
        };
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        if name.ends_with(super::seals::UNSEALED_SUFFIX) || name.contains('/') || known.contains(id)
        {
            continue;
        }
        // Gone meanwhile (another prune): it needs nothing any more.
        let Some(bytes) = store.get_small(&e.key)? else {
            continue;
        };
        let what = PathBuf::from(format!("{}/{}", store.describe(), e.key));
        match super::seals::parse_record(&what, id, &bytes) {
            Ok(r) => seals.push(r),
            Err(err) => return Ok((BTreeSet::new(), Some(format!("{err:#}")))),
        }
    }
    let named = super::manifest::Manifest {
        seals,
        ..Default::default()
    }
    .referenced_objects();
    Ok((named, None))
}
