//! Layout v2's records: `VAULT/seals/<id>.json`, one per seal, written once; the write-once
//! `seals/<id>.unsealed.json` markers; the `vault.json` version marker; and the migration of a
//! v1 vault (one `manifest.json` holding every seal) to them.
//!
//! Why one file per seal: v1 rewrote the whole manifest at every seal, so a seal's cost grew
//! with the vault's history (0.33 s → 0.65 s after 36 releases of a 555-map dist). A v2 seal
//! writes its own record and reads no other: its cost depends on its dist only. Every file
//! here is created once (temp file, fsync, `link(2)` to its name — which fails rather than
//! replace — fsync of the directory) and never rewritten, so the layout maps 1:1 onto the keys
//! of an object store (put-if-absent), and no two writers ever rewrite one file.
//!
//! Ids sort chronologically (`seal-<UTC time to the millisecond>-<8 hex>`, see
//! [`crate::txn::new_id`]), so "the latest seal" is the greatest id. Ids a v1 vault gave are
//! kept as they are (they carry whole seconds: two v1 seals in one second have no order).
//!
//! Readers: `resolve`, `export` and `vault list` read the derived index instead (`index.rs`:
//! one small write-once file per seal, rebuilt from the record); `vault show` reads the one
//! record asked for; `unseal` (a writer, rare) still loads every record to choose which to
//! restore. Before the index, in a vault of 49 releases of a 1,012-file dist
//! (`benches/vault/history.py --readers 50`), `resolve` of one position took 385 ms and
//! `export` of one release 871 ms; the numbers with it are in `index.rs` and
//! docs/performance.md. Seal, the command that runs in every build, reads no record: seal of
//! release 20 into a 19-release vault took 0.67x the time of release 1 into an empty vault
//! (same bench, medians 577 vs 860 ms; the difference is noise and page-cache state, the point
//! is that it does not grow).
//!
//! Record file: `{"format":"mapvault-seal","version":2,"seal":<record as in manifest.rs>}`; the
//! record's `id` must equal the file name's. Unsealed marker: `{"format":"mapvault-unsealed",
//! "version":2,"seal":ID,"run":UNSEAL-RUN-ID,"dist":"/abs/dist","unsealed_at":"…"}`.
//!
//! Migration (v1 → v2), by the first command that writes ([`Vault::open`]): every v1 record is
//! written as `seals/<id>.json` (ids kept; one already there with the same bytes is fine, so a
//! re-run redoes nothing), then `vault.json`, then `manifest.json` is renamed to
//! `manifest.v1.json` (never deleted). A crash at any point leaves `manifest.json` in place and
//! the next writer finishes the job; readers meanwhile read `manifest.json` and `seals/`
//! together (a record in both counts once).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::Vault;
use super::fsutil;
use super::json::{self, Pieces};
use super::manifest::{Manifest, SealRecord, is_record_id};
use crate::relpath::RawPath;

pub const VAULT_FORMAT: &str = "mapvault-vault";
pub const RECORD_FORMAT: &str = "mapvault-seal";
pub const UNSEALED_FORMAT: &str = "mapvault-unsealed";
/// The layout version this mapvault writes (v1: `manifest.json`).
pub const LAYOUT_VERSION: u32 = 2;
/// What `manifest.json` becomes once migrated.
pub const V1_BACKUP: &str = "manifest.v1.json";

pub(super) const UNSEALED_SUFFIX: &str = ".unsealed.json";

/// `vault.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    format: String,
    version: u32,
}

/// The bytes of `vault.json` (the same on every machine: a remote vault's is written once).
pub(super) fn marker_bytes() -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(&Marker {
        format: VAULT_FORMAT.into(),
        version: LAYOUT_VERSION,
    })?)
}

/// Check a `vault.json` read from a remote vault as [`Vault::check_marker`] checks a local one.
pub(super) fn check_marker_bytes(what: &str, bytes: &[u8]) -> Result<()> {
    let m: Marker = serde_json::from_slice(bytes)
        .map_err(|e| anyhow::anyhow!("{what}: not a valid vault marker ({e})"))?;
    if m.format != VAULT_FORMAT {
        bail!("{what}: not a mapvault vault (format {:?})", m.format);
    }
    if m.version != LAYOUT_VERSION {
        bail!(
            "{what}: vault layout version {} is not supported by this mapvault (supports \
             {LAYOUT_VERSION}); use the mapvault that wrote it",
            m.version
        );
    }
    Ok(())
}

/// `seals/<id>.json`, as read.
#[derive(Debug, Deserialize)]
struct RecordFile {
    format: String,
    version: u32,
    seal: SealRecord,
}

/// `seals/<id>.unsealed.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unsealed {
    pub format: String,
    pub version: u32,
    pub seal: String,
    pub run: String,
    pub dist: RawPath,
    pub unsealed_at: String,
}

/// Every record of a vault, oldest first, and which of them were unsealed.
#[derive(Debug, Default)]
pub struct Records {
    /// Sorted by id (chronological); `format`/`version` are v1's, unused.
    pub all: Manifest,
    pub unsealed: BTreeMap<String, Unsealed>,
}

impl Records {
    pub fn get(&self, id: &str) -> Option<&SealRecord> {
        self.all.seals.iter().find(|r| r.id == id)
    }
}

/// Create `dest` with `pieces` once: a private temp in `tmp_dir`, fsync, `link` to `dest`,
/// fsync of `dest`'s directory. When `dest` exists with the same bytes (a re-run) that is
/// success; with other bytes an error — a write-once file is never replaced.
pub(super) fn write_once<'a>(
    tmp_dir: &Path,
    dest: &Path,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Result<()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = tmp_dir.join(format!("once-{}-{n}", std::process::id()));
    let mut bytes = Vec::new();
    {
        let mut f = fsutil::create_private(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        for p in pieces {
            f.write_all(p)?;
            bytes.extend_from_slice(p);
        }
        f.sync_all()?;
    }
    let linked = fs::hard_link(&tmp, dest);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let there = fsutil::read_json_file(dest)
                .with_context(|| format!("cannot read {}", dest.display()))?;
            if there != bytes {
                bail!(
                    "{} already exists with other content; records are written once and never \
                     replaced",
                    dest.display()
                );
            }
        }
        Err(e) => return Err(e).with_context(|| format!("cannot write {}", dest.display())),
    }
    if let Some(dir) = dest.parent() {
        fsutil::sync_dir(dir).with_context(|| format!("cannot sync {}", dir.display()))?;
    }
    Ok(())
}

/// The opening of a record file: `{"format":…,"version":2,"seal":`; the record's JSON and
/// `}` follow.
fn record_head() -> String {
    format!("{{\"format\":\"{RECORD_FORMAT}\",\"version\":{LAYOUT_VERSION},\"seal\":")
}

/// A read error of a vault file, as a refusal that names it.
fn corrupt(p: &Path, what: &str, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: not a valid {what} ({e}); refusing to guess — restore it from a backup or fix it \
         by hand",
        p.display()
    )
}

fn read_vault_json(p: &Path, what: &str) -> Result<Option<Vec<u8>>> {
    match fsutil::read_json_file(p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if fsutil::NotJson::is(&e) => Err(corrupt(p, what, e)),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
    }
}

/// Parse and check the bytes of record file `p` (`seals/<id>.json`): JSON of the v2 record
/// format, valid, and naming seal `id`. Public for the fuzz targets.
pub fn parse_record(p: &Path, id: &str, bytes: &[u8]) -> Result<SealRecord> {
    let f: RecordFile = serde_json::from_slice(bytes).map_err(|e| corrupt(p, "seal record", e))?;
    if f.format != RECORD_FORMAT {
        return Err(corrupt(p, "seal record", format!("format {:?}", f.format)));
    }
    if f.version != LAYOUT_VERSION {
        bail!(
            "{}: seal record version {} is not supported by this mapvault (supports \
             {LAYOUT_VERSION})",
            p.display(),
            f.version
        );
    }
    if f.seal.id != id {
        return Err(corrupt(
            p,
            "seal record",
            format!("it names seal {:?}, not {id:?}", f.seal.id),
        ));
    }
    f.seal
        .validate()
        .map_err(|e| corrupt(p, "seal record", e))?;
    Ok(f.seal)
}

/// Parse and check the bytes of unsealed marker `p` (`seals/<id>.unsealed.json`). Public for
/// the fuzz targets.
pub fn parse_unsealed(p: &Path, id: &str, bytes: &[u8]) -> Result<Unsealed> {
    let m: Unsealed =
        serde_json::from_slice(bytes).map_err(|e| corrupt(p, "unsealed marker", e))?;
    if m.format != UNSEALED_FORMAT || m.seal != id {
        return Err(corrupt(p, "unsealed marker", "wrong format or seal id"));
    }
    Ok(m)
}

/// Parse and check the bytes of `p`, the `vault.json` marker: a vault of another layout
/// version is refused. Public for the fuzz targets.
pub fn parse_marker(p: &Path, bytes: &[u8]) -> Result<()> {
    let m: Marker = serde_json::from_slice(bytes).map_err(|e| corrupt(p, "vault marker", e))?;
    if m.format != VAULT_FORMAT {
        return Err(corrupt(p, "vault marker", format!("format {:?}", m.format)));
    }
    if m.version != LAYOUT_VERSION {
        bail!(
            "{}: vault layout version {} is not supported by this mapvault (supports \
             {LAYOUT_VERSION}); use the mapvault that wrote it",
            p.display(),
            m.version
        );
    }
    Ok(())
}

impl Vault {
    pub fn seals_dir(&self) -> PathBuf {
        self.root().join("seals")
    }

    fn marker_path(&self) -> PathBuf {
        self.root().join("vault.json")
    }

    pub fn record_path(&self, id: &str) -> PathBuf {
        self.seals_dir().join(format!("{id}.json"))
    }

    pub(super) fn unsealed_path(&self, id: &str) -> PathBuf {
        self.seals_dir().join(format!("{id}{UNSEALED_SUFFIX}"))
    }

    /// Is seal `id` recorded (in `seals/`)?
    pub fn has_record(&self, id: &str) -> bool {
        fs::symlink_metadata(self.record_path(id)).is_ok_and(|m| m.is_file())
    }

    /// Write seal record `rec` once (`json`: its text as the journal wrote it, when it is
    /// exactly `rec`). The commit point of a seal.
    pub fn put_record(&self, rec: &SealRecord, json: Option<&Pieces>) -> Result<()> {
        if !is_record_id(&rec.id) {
            bail!("seal id {:?} cannot name a record", rec.id);
        }
        // The journal's text of the record when there is one: borrowed, not copied (it is
        // 12 MB for a 25,000-file seal, and a copy was the seal's peak memory).
        let owned;
        let body = match json {
            Some(p) => p,
            None => {
                owned = json::record(rec)?;
                &owned
            }
        };
        let head = record_head();
        let text = || {
            std::iter::once(head.as_bytes())
                .chain(body.slices())
                .chain(std::iter::once(&b"}"[..]))
        };
        // A remote vault: the store first, so the cache never holds a record the store lacks.
        if let Some(m) = self.remote() {
            m.store.put_once(
                &format!("seals/{}.json", rec.id),
                &text().collect::<Vec<_>>().concat(),
            )?;
        }
        write_once(&self.tmp_dir(), &self.record_path(&rec.id), text())
    }

    /// Mark seal `id` unsealed by run `run` (write-once; a second unseal of it is a no-op).
    pub fn mark_unsealed(&self, id: &str, run: &str, dist: &RawPath) -> Result<()> {
        if !is_record_id(id) {
            bail!("seal id {id:?} cannot name a record");
        }
        if fs::symlink_metadata(self.unsealed_path(id)).is_ok() {
            return Ok(());
        }
        let m = Unsealed {
            format: UNSEALED_FORMAT.into(),
            version: LAYOUT_VERSION,
            seal: id.into(),
            run: run.into(),
            dist: dist.clone(),
            unsealed_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
        };
        let text = serde_json::to_vec(&m)?;
        if let Some(r) = self.remote() {
            r.store
                .put_once(&format!("seals/{id}{UNSEALED_SUFFIX}"), &text)?;
        }
        write_once(&self.tmp_dir(), &self.unsealed_path(id), [text.as_slice()])
    }

    /// The ids of every record in `seals/` (sorted, so oldest first) and of every unsealed
    /// marker. Names that are neither are ignored (a stray editor backup is not a record).
    pub(super) fn list_seals(&self) -> Result<(Vec<String>, Vec<String>)> {
        let dir = self.seals_dir();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((vec![], vec![])),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
        };
        let (mut recs, mut marks) = (Vec::new(), Vec::new());
        for e in rd {
            let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(id) = name.strip_suffix(UNSEALED_SUFFIX) {
                if is_record_id(id) {
                    marks.push(id.to_string());
                }
            } else if let Some(id) = name.strip_suffix(".json")
                && is_record_id(id)
            {
                recs.push(id.to_string());
            }
        }
        recs.sort();
        marks.sort();
        Ok((recs, marks))
    }

    /// Read and check record `id`: a regular file, JSON of the v2 record format, valid, and
    /// naming itself.
    pub fn load_record(&self, id: &str) -> Result<SealRecord> {
        self.load_record_bytes(id).map(|(r, _)| r)
    }

    /// [`Vault::load_record`], and the bytes it was read from (the derived index keeps their
    /// sha256, `index.rs`).
    pub(super) fn load_record_bytes(&self, id: &str) -> Result<(SealRecord, Vec<u8>)> {
        let p = self.record_path(id);
        let bytes = read_vault_json(&p, "seal record")?
            .ok_or_else(|| anyhow::anyhow!("no seal record {id} in {}", self.root().display()))?;
        let rec = parse_record(&p, id, &bytes)?;
        Ok((rec, bytes))
    }

    pub(super) fn load_unsealed(&self, id: &str) -> Result<Unsealed> {
        let p = self.unsealed_path(id);
        let bytes = read_vault_json(&p, "unsealed marker")?
            .ok_or_else(|| anyhow::anyhow!("{} vanished", p.display()))?;
        parse_unsealed(&p, id, &bytes)
    }

    /// The v1 manifest, when the vault still has one (not migrated yet, or a migration cut
    /// short).
    pub(super) fn load_v1(&self) -> Result<Option<Manifest>> {
        let p = self.manifest_path();
        match read_vault_json(&p, "manifest")? {
            None => Ok(None),
            Some(bytes) => Manifest::parse(&bytes).map(Some).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e}; refusing to guess — restore it from a backup or fix it by hand",
                    p.display()
                )
            }),
        }
    }

    /// A vault written by a newer mapvault is refused, never half understood.
    pub(super) fn check_marker(&self) -> Result<bool> {
        let p = self.marker_path();
        let Some(bytes) = read_vault_json(&p, "vault marker")? else {
            return Ok(false);
        };
        parse_marker(&p, &bytes)?;
        Ok(true)
    }

    /// Every record (v1 manifest and `seals/` together), oldest first, with the unsealed
    /// markers. What `unseal`, `export` and `resolve` read.
    pub fn load_records(&self) -> Result<Records> {
        self.check_marker()?;
        let mut by_id: BTreeMap<String, SealRecord> = BTreeMap::new();
        if let Some(m) = self.load_v1()? {
            for r in m.seals {
                by_id.insert(r.id.clone(), r);
            }
        }
        let (ids, marks) = self.list_seals()?;
        for id in ids {
            let r = self.load_record(&id)?;
            by_id.insert(id, r);
        }
        let mut unsealed = BTreeMap::new();
        for id in marks {
            let m = self.load_unsealed(&id)?;
            unsealed.insert(id, m);
        }
        Ok(Records {
            all: Manifest {
                seals: by_id.into_values().collect(),
                ..Manifest::default()
            },
            unsealed,
        })
    }

    /// Bring the vault to layout v2 (see the module docs); a no-op on a v2 vault. Called under
    /// the exclusive lock by every command that writes. Returns how many v1 records were
    /// written to `seals/` by this call.
    pub(super) fn migrate(&self) -> Result<usize> {
        super::make_private_dir(&self.seals_dir())?;
        let has_marker = self.check_marker()?;
        let mut written = 0;
        if let Some(m) = self.load_v1()? {
            for rec in &m.seals {
                if !self.has_record(&rec.id) {
                    written += 1;
                }
                self.put_record(rec, None)?;
                crate::failpoint::failpoint("migrate-record");
            }
        }
        if !has_marker {
            write_once(
                &self.tmp_dir(),
                &self.marker_path(),
                [marker_bytes()?.as_slice()],
            )?;
        }
        if fs::symlink_metadata(self.manifest_path()).is_ok() {
            crate::failpoint::failpoint("migrate-before-rename");
            self.retire_v1()?;
        }
        Ok(written)
    }

    /// Rename `manifest.json` to the first free of `manifest.v1.json`, `manifest.v1.1.json`, …
    /// (never over an earlier backup).
    fn retire_v1(&self) -> Result<()> {
        let from = self.manifest_path();
        for n in 0..1000 {
            let name = if n == 0 {
                V1_BACKUP.to_string()
            } else {
                format!("manifest.v1.{n}.json")
            };
            let to = self.root().join(&name);
            match fs::hard_link(&from, &to) {
                Ok(()) => {
                    fs::remove_file(&from)
                        .with_context(|| format!("cannot remove {}", from.display()))?;
                    fsutil::sync_dir(self.root()).context("cannot sync the vault directory")?;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    // A backup of the same bytes: an earlier run linked it and was cut short.
                    // Read without following links, as regular files only (a FIFO or a link to
                    // /dev/zero planted as a backup must not hang or exhaust the run).
                    let same = matches!(
                        (fsutil::read_json_file(&to), fsutil::read_json_file(&from)),
                        (Ok(a), Ok(b)) if a == b
                    );
                    if same {
                        fs::remove_file(&from)
                            .with_context(|| format!("cannot remove {}", from.display()))?;
                        fsutil::sync_dir(self.root()).context("cannot sync the vault directory")?;
                        return Ok(());
                    }
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot back up {}", from.display()));
                }
            }
        }
        bail!("cannot find a free backup name for {}", from.display())
    }
}
