//! The vault's derived index: `VAULT/index/<id>.json`, one per seal record, written once —
//! what `resolve`, `export` and `vault list` read instead of the records themselves.
//!
//! A record holds every file of a seal, with every edit (hundreds of KB for a 1,000-file dist);
//! readers need a small part of it: the seal's dist, time and counts (`vault list`), and its
//! catalog (`catalog.rs`: each bundle with its map object, map path, hashes and debug ID;
//! each map file to write back), plus the debug ID inside each stored map, which otherwise
//! costs reading every map of every seal. The index file holds exactly that, so a reader's
//! cost is the size of the catalogs, not of the records — see the numbers below.
//!
//! Derived, never the truth: it is built from the record (and the record's maps) by the first
//! reader or `vault fsck` that finds it missing, and the record wins whenever they disagree.
//! A file that is not valid JSON of this format, whose `body` does not hash to its
//! `body_sha256`, that names another seal, or that holds a path escaping the dist or an object
//! name that is not a sha256, is ignored and rebuilt (and replaced, so the next reader does not
//! rebuild it again). A well-formed index that disagrees with its record (`record_sha256` or
//! content) is only found by `vault fsck`, which rebuilds every index from its record and
//! replaces the ones that differ. What a forged index can make a reader do is bounded the same
//! way a forged record's is: every object read through it is hash-checked, within the size
//! it states, and every path is confined to the dist/OUT.
//!
//! Written with the records' write-once primitive (`seals::write_once`: temp, fsync, link,
//! which never replaces), so the layout stays 1:1 with object-store keys; readers write it
//! under the shared lock (two readers building the same index write the same bytes, which
//! `write_once` accepts). Seal does not write it: building it reads the seal's maps again for
//! their debug IDs, a cost the command that runs in every build should not pay; the first
//! reader after a seal pays it once. A reader that cannot write (a read-only vault) uses the
//! index it built in memory. An index is not written when one of the seal's maps could not be
//! read (the debug IDs would be incomplete), so it is built again next time. `vault prune`
//! removes a pruned seal's index (after its record) and any index left without a record.
//!
//! A v1 vault not migrated yet (`manifest.json`) has no index: readers build the catalog from
//! the records as before; the first writer migrates it, and the first reader after that
//! writes the indexes.
//!
//! Head and body: readers do not parse every seal's catalog. Each file starts with a small
//! head (the body's `info` and its catalog's size, with its own sha256) before the body, and
//! readers first read only the heads (the first [`HEAD_READ`] bytes of each file, up to
//! `,"body":`), then the bodies of the seals they need: `vault list` none, `export` the seals
//! it exports (the latest of the dist unless `--seal`/`--all`), `resolve` the seals of each
//! dist newest first until one holds the file asked for (plus the one before it, see
//! `resolve.rs`). A body read whole is checked as before (its sha256, that it names this
//! seal, confined paths, and that the head agrees with it); a head is checked on its own (its
//! sha256, the seal it names, an absolute dist) — a forged head can only misname a seal's
//! dist or counts, which the bounds above already allow a forged index. A file without a
//! valid head (missing, damaged, or version 1, which had none) is read whole or built, and
//! written again as version 2.
//!
//! Why files and not an embedded database (redb, SQLite): the per-seal file keeps the layout an
//! object store can hold (write-once keys, no file two writers rewrite, nothing to lock
//! beyond the vault lock), costs no new dependency, and was enough for the goal. Measured in a
//! vault of 49 releases of a 1,012-file dist (`benches/vault/history.py`'s releases; release
//! builds; `perf stat`, CPU time because the shared VM was at load ~8), parsing every index:
//! `resolve` of one position 179 → 68 ms CPU (wall 313 → 143 ms at that load), `vault list`
//! 117 → 62 ms, and `export` of one release 150–170 → 40–60 ms of user time. The 49 indexes
//! are 13 MB (the records 24 MB), and parsing them was what was left (sha256 of each body
//! ~11%, JSON ~20%, allocation ~20%); with the head/body split a reader parses one or two
//! bodies whatever the history: in the same kind of vault (49 releases, release builds,
//! `perf stat -r 10`, load ~3) `resolve` of one position 78 → 7.5 ms CPU (wall 67 → 7.9 ms;
//! 5.4 ms in a vault of that one release), `vault list` 74 → 5.2 ms, and `export` of one
//! release costs what it costs in a vault of that release alone (0.96x wall in
//! `history.py --readers 50`). See docs/performance.md "Vault history".
//!
//! Format (version 2): `{"format":"mapvault-index","version":2,"seal":ID,"record_sha256":…,
//! "head":{"info":{…},"entries":N,"map_files":N},"head_sha256":…,"body_sha256":…,
//! "body":{"info":{"dist","sealed_at","tool","files","maps","bytes"},"entries","map_files",
//! "notes","map_debug_ids"}}`, written in that order (the body last); `entries`/`map_files`
//! are `catalog::Entry` / `catalog::MapFile` without their seal index and dist. Version 1 was
//! the same without `head`/`head_sha256`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Vault;
use super::catalog::Catalog;
use super::fsutil;
use super::manifest::{SealRecord, Stored, is_record_id};
use super::seals::{Records, Unsealed, write_once};
use crate::hash::{is_sha256_hex, sha256_hex};
use crate::relpath::RawPath;

pub const INDEX_FORMAT: &str = "mapvault-index";
/// Version 2 added the head (`head`, `head_sha256`); version 1 files are still read, and
/// rewritten as version 2 by the first reader that reads one whole.
pub const INDEX_VERSION: u32 = 2;
/// The directory of the index files, under the vault.
pub const INDEX_DIR: &str = "index";

/// Notes one seal's catalog can carry, and their length: bounds on what a forged index can
/// make a reader print.
const MAX_NOTES: usize = 16;
const MAX_NOTE_LEN: usize = 8192;
/// The most bytes of an index file read for its head: our writer puts everything before
/// `"body"` in well under this (a dist path is at most `PATH_MAX`); a file whose head is not
/// in them is read whole.
const HEAD_READ: u64 = 64 * 1024;

/// One seal as its index describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealInfo {
    pub dist: RawPath,
    pub sealed_at: String,
    pub tool: String,
    /// The record's files, its moved maps, and those maps' bytes as sealed (`vault list`).
    pub files: u64,
    pub maps: u64,
    pub bytes: u64,
}

/// The body of an index file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Body {
    info: SealInfo,
    entries: Vec<super::catalog::Entry>,
    map_files: Vec<super::catalog::MapFile>,
    notes: Vec<String>,
    /// Map object → the debug ID in it, for the seal's maps that have one.
    map_debug_ids: BTreeMap<String, String>,
}

/// The head of a version 2 index file: what a reader needs to choose seals without parsing
/// any body (the body's `info`, and how big its catalog is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    info: SealInfo,
    entries: u64,
    map_files: u64,
}

impl Head {
    fn of(body: &Body) -> Head {
        Head {
            info: body.info.clone(),
            entries: body.entries.len() as u64,
            map_files: body.map_files.len() as u64,
        }
    }
}

/// An index file, as read (head and body kept raw, to hash them as written).
#[derive(Deserialize)]
struct IndexFile<'a> {
    format: String,
    version: u32,
    seal: String,
    record_sha256: String,
    #[serde(default, borrow)]
    head: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    head_sha256: Option<String>,
    body_sha256: String,
    #[serde(borrow)]
    body: &'a serde_json::value::RawValue,
}

/// The part of a version 2 index file before its body.
#[derive(Deserialize)]
struct HeadFile<'a> {
    format: String,
    version: u32,
    seal: String,
    record_sha256: String,
    #[serde(borrow)]
    head: &'a serde_json::value::RawValue,
    head_sha256: String,
}

/// How an index file starts (written by [`SealIndex::to_bytes`]; the body follows).
#[derive(Serialize)]
struct HeadOut<'a> {
    format: &'a str,
    version: u32,
    seal: &'a str,
    record_sha256: &'a str,
    head: &'a serde_json::value::RawValue,
    head_sha256: String,
    body_sha256: String,
}

/// Where the body starts: the first `,"body":` — inside a JSON string every `"` is escaped,
/// so in a file we wrote this is the member, not text.
const BODY_KEY: &[u8] = b",\"body\":";

/// One seal's index: what readers use of its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealIndex {
    pub id: String,
    /// sha256 of the record file it was built from.
    pub record_sha256: String,
    body: Body,
}

/// One seal as a reader sees it before reading its catalog: its id, its index's head, and
/// how many entries and map files its catalog has (none: it is no dist's release to export
/// or resolve in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealHead {
    pub id: String,
    pub info: SealInfo,
    pub catalog_len: u64,
}

impl SealIndex {
    pub fn info(&self) -> &SealInfo {
        &self.body.info
    }

    fn head(&self) -> SealHead {
        SealHead {
            id: self.id.clone(),
            info: self.body.info.clone(),
            catalog_len: (self.body.entries.len() + self.body.map_files.len()) as u64,
        }
    }

    /// This seal's catalog (seal index 0; the caller assembles several) and summary.
    fn into_parts(self) -> (Catalog, SealInfo) {
        let b = self.body;
        let dist = b.info.dist.to_path();
        let mut cat = Catalog {
            entries: b.entries,
            maps: b.map_files,
            notes: b.notes,
            map_debug_ids: Some(b.map_debug_ids.into_iter().collect::<HashMap<_, _>>()),
        };
        for e in &mut cat.entries {
            e.dist.clone_from(&dist);
        }
        for m in &mut cat.maps {
            m.dist.clone_from(&dist);
        }
        (cat, b.info)
    }

    /// The file's bytes: head, body, `}`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let body = serde_json::to_vec(&self.body)?;
        let head = serde_json::value::to_raw_value(&Head::of(&self.body))?;
        let mut out = serde_json::to_vec(&HeadOut {
            format: INDEX_FORMAT,
            version: INDEX_VERSION,
            seal: &self.id,
            record_sha256: &self.record_sha256,
            head: &head,
            head_sha256: sha256_hex(head.get().as_bytes()),
            body_sha256: sha256_hex(&body),
        })?;
        // `{…}` → `{…,"body":` + body + `}`.
        out.pop();
        out.extend_from_slice(BODY_KEY);
        out.extend_from_slice(&body);
        out.push(b'}');
        Ok(out)
    }

    /// Parse and check an index file's bytes (see the module docs for what is refused).
    pub fn parse(id: &str, bytes: &[u8]) -> Result<SealIndex, String> {
        Self::parse_versioned(id, bytes).map(|(ix, _)| ix)
    }

    /// [`SealIndex::parse`], and the file's format version (1 has no head).
    fn parse_versioned(id: &str, bytes: &[u8]) -> Result<(SealIndex, u32), String> {
        let f: IndexFile<'_> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if f.format != INDEX_FORMAT || !(1..=INDEX_VERSION).contains(&f.version) {
            return Err(format!("format {:?} version {}", f.format, f.version));
        }
        if f.seal != id {
            return Err(format!("it names seal {:?}", f.seal));
        }
        if !is_sha256_hex(&f.record_sha256) {
            return Err("record_sha256 is not a sha256".into());
        }
        if sha256_hex(f.body.get().as_bytes()) != f.body_sha256 {
            return Err("its body does not hash to body_sha256".into());
        }
        let body: Body = serde_json::from_str(f.body.get()).map_err(|e| e.to_string())?;
        body.validate()?;
        if f.version >= 2 {
            let (Some(head), Some(sha)) = (f.head, &f.head_sha256) else {
                return Err("no head".into());
            };
            if &sha256_hex(head.get().as_bytes()) != sha {
                return Err("its head does not hash to head_sha256".into());
            }
            let head: Head = serde_json::from_str(head.get()).map_err(|e| e.to_string())?;
            if head != Head::of(&body) {
                return Err("its head does not agree with its body".into());
            }
        }
        Ok((
            SealIndex {
                id: f.seal,
                record_sha256: f.record_sha256,
                body,
            },
            f.version,
        ))
    }
}

/// Parse and check the head of a version 2 index file from the bytes before its body (at
/// least: the first [`HEAD_READ`] bytes of the file).
fn parse_head(id: &str, start: &[u8]) -> Result<SealHead, String> {
    let end = memchr::memmem::find(start, BODY_KEY).ok_or("no head before the body")?;
    let mut text = start[..end].to_vec();
    text.push(b'}');
    let f: HeadFile<'_> = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
    if f.format != INDEX_FORMAT || f.version != INDEX_VERSION {
        return Err(format!("format {:?} version {}", f.format, f.version));
    }
    if f.seal != id {
        return Err(format!("it names seal {:?}", f.seal));
    }
    if !is_sha256_hex(&f.record_sha256) {
        return Err("record_sha256 is not a sha256".into());
    }
    if sha256_hex(f.head.get().as_bytes()) != f.head_sha256 {
        return Err("its head does not hash to head_sha256".into());
    }
    let head: Head = serde_json::from_str(f.head.get()).map_err(|e| e.to_string())?;
    head.info.validate()?;
    Ok(SealHead {
        id: f.seal,
        info: head.info,
        catalog_len: head.entries.saturating_add(head.map_files),
    })
}

impl SealInfo {
    fn validate(&self) -> Result<(), String> {
        if !self.dist.to_path().is_absolute() {
            return Err("dist path is not absolute".into());
        }
        Ok(())
    }
}

impl Body {
    /// What readers rely on: an absolute dist, paths that stay beneath a root, object names
    /// that are sha256s, bounded notes.
    fn validate(&self) -> Result<(), String> {
        self.info.validate()?;
        let root = Path::new("/");
        let escapes = |p: &crate::relpath::RelPath| p.under(root).is_none();
        for e in &self.entries {
            if escapes(&e.bundle) || e.map_path.as_ref().is_some_and(escapes) {
                return Err(format!("{}: path escapes the dist", e.bundle));
            }
            if !is_sha256_hex(&e.map) || !e.hashes.iter().all(|h| is_sha256_hex(h)) {
                return Err(format!("{}: an object name is not a sha256", e.bundle));
            }
        }
        for m in &self.map_files {
            if escapes(&m.path) {
                return Err(format!("{}: path escapes the dist", m.path));
            }
            if !is_sha256_hex(&m.map) {
                return Err(format!("{}: an object name is not a sha256", m.path));
            }
        }
        for (map, id) in &self.map_debug_ids {
            if !is_sha256_hex(map) || crate::debugid::normalize(id).as_deref() != Some(id) {
                return Err(format!("map_debug_ids: {map}: not a map and a debug ID"));
            }
        }
        if self.notes.len() > MAX_NOTES || self.notes.iter().any(|n| n.len() > MAX_NOTE_LEN) {
            return Err("too many or too long notes".into());
        }
        Ok(())
    }
}

/// Every seal of a vault as the readers see it, before any catalog is read: the seals
/// (oldest first; a seal's position is its seal index in the catalogs [`SealSet::part`]
/// returns), from their index heads. Catalogs are read one seal at a time, when asked for.
#[derive(Debug, Default)]
pub struct SealSet {
    pub seals: Vec<SealHead>,
    /// Catalogs already at hand: every one of a v1 vault's, and those read whole while
    /// reading the heads (an index built, or of an older format).
    parts: Vec<Option<Catalog>>,
    /// Seals with an unsealed marker.
    marks: Vec<String>,
}

impl SealSet {
    /// The position of seal `id`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.seals.iter().position(|s| s.id == id)
    }

    /// The distinct dists with something in their catalogs, in first-sealed order.
    pub fn dists(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for s in self.seals.iter().filter(|s| s.catalog_len > 0) {
            let d = s.info.dist.to_path();
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }

    /// Every dist any seal names (whether or not it has a catalog).
    pub fn all_dists(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for s in &self.seals {
            let d = s.info.dist.to_path();
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out
    }

    /// The catalog of the seal at position `i` (its entries and maps have seal index `i`):
    /// the one at hand, or its index read whole (hash-checked and validated; rebuilt from the
    /// record when it is not valid).
    pub(crate) fn part(&mut self, vault: &Vault, i: usize) -> Result<Catalog> {
        let mut cat = match self.parts.get_mut(i).and_then(Option::take) {
            Some(c) => c,
            None => {
                let id = &self
                    .seals
                    .get(i)
                    .ok_or_else(|| anyhow::anyhow!("no seal at position {i}"))?
                    .id;
                vault.index_part(id)?.0
            }
        };
        for e in &mut cat.entries {
            e.seal = i;
        }
        for m in &mut cat.maps {
            m.seal = i;
        }
        Ok(cat)
    }

    /// The unsealed markers, by seal id (`vault list`).
    pub(crate) fn unsealed(&self, vault: &Vault) -> Result<BTreeMap<String, Unsealed>> {
        let mut out = BTreeMap::new();
        for id in &self.marks {
            out.insert(id.clone(), vault.load_unsealed(id)?);
        }
        Ok(out)
    }
}

/// Why an index on disk was not used.
#[derive(Debug, PartialEq, Eq)]
pub enum Stale {
    Missing,
    Invalid(String),
}

/// The summary of a record, as `vault list` shows it.
fn info_of(rec: &SealRecord) -> SealInfo {
    let s = super::listing::summary(rec, None);
    SealInfo {
        dist: rec.dist.clone(),
        sealed_at: rec.sealed_at.clone(),
        tool: rec.tool.clone(),
        files: s.files,
        maps: s.maps,
        bytes: s.bytes,
    }
}

/// A regular file's bytes (never through a link, never a FIFO: `fsutil::open_regular`), at most
/// the size `fstat` gave, and at most `limit`. Unlike `fsutil::read_json_file` it does not hash
/// what it reads: the index checks its body's own sha256, and a second hash was a sixth of
/// `resolve`'s time.
fn read_file(p: &Path, limit: Option<u64>) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let (f, m) = fsutil::open_regular(p)?;
    let len = limit.map_or(m.len(), |l| l.min(m.len()));
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(len).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Might `map` hold a `debugId` member? A cheap test before parsing it: the name, or a `\u`
/// escape (a key may be spelled `"debug\u0049d"`).
fn may_have_debug_id(map: &[u8]) -> bool {
    memchr::memmem::find(map, b"debug").is_some() || memchr::memmem::find(map, b"\\u").is_some()
}

impl Vault {
    pub fn index_dir(&self) -> PathBuf {
        self.root().join(INDEX_DIR)
    }

    pub fn index_path(&self, id: &str) -> PathBuf {
        self.index_dir().join(format!("{id}.json"))
    }

    /// Build seal `id`'s index from its record and maps. `complete` is false when a map
    /// could not be read for its debug ID (then the index is not worth keeping).
    pub(super) fn build_index(&self, id: &str) -> Result<(SealIndex, bool)> {
        let (rec, bytes) = self.load_record_bytes(id)?;
        Ok(self.index_of(&rec, sha256_hex(&bytes)))
    }

    fn index_of(&self, rec: &SealRecord, record_sha256: String) -> (SealIndex, bool) {
        let mut cat = Catalog::of_seal(rec);
        // The body holds the dist once; entries and maps get it back when read.
        for e in &mut cat.entries {
            e.dist = PathBuf::new();
        }
        for m in &mut cat.maps {
            m.dist = PathBuf::new();
        }
        let mut complete = true;
        let mut map_debug_ids = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        for e in &cat.entries {
            if !seen.insert(e.map.as_str()) {
                continue;
            }
            let path = self.object_path(&Stored::Map(e.map.clone()));
            match fsutil::read_verified(&path, &e.map, e.map_size) {
                Ok(b) => {
                    if may_have_debug_id(&b)
                        && let Some(id) = crate::debugid::in_map(&b)
                    {
                        map_debug_ids.insert(e.map.clone(), id);
                    }
                }
                Err(_) => complete = false,
            }
        }
        let idx = SealIndex {
            id: rec.id.clone(),
            record_sha256,
            body: Body {
                info: info_of(rec),
                entries: cat.entries,
                map_files: cat.maps,
                notes: cat.notes,
                map_debug_ids,
            },
        };
        (idx, complete)
    }

    /// Seal `id`'s index file, if it is there and valid, and the file's format version.
    fn read_index_versioned(&self, id: &str) -> Result<(SealIndex, u32), Stale> {
        let p = self.index_path(id);
        match read_file(&p, None) {
            Ok(bytes) => SealIndex::parse_versioned(id, &bytes).map_err(Stale::Invalid),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Stale::Missing),
            Err(e) => Err(Stale::Invalid(fsutil::describe(&p, &e))),
        }
    }

    /// Seal `id`'s index head, read from the start of its file alone, if that is a valid
    /// version 2 head.
    fn read_head(&self, id: &str) -> Result<SealHead, Stale> {
        let p = self.index_path(id);
        match read_file(&p, Some(HEAD_READ)) {
            Ok(bytes) => parse_head(id, &bytes).map_err(Stale::Invalid),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Stale::Missing),
            Err(e) => Err(Stale::Invalid(fsutil::describe(&p, &e))),
        }
    }

    /// Write `idx` as seal `id`'s index file; `replace`: an invalid one is there, remove it
    /// first (it is derived: nothing is lost).
    pub(super) fn store_index(&self, idx: &SealIndex, replace: bool) -> Result<()> {
        super::make_private_dir(&self.index_dir())?;
        let p = self.index_path(&idx.id);
        if replace {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot remove {}", p.display())),
            }
        }
        let bytes = idx.to_bytes()?;
        write_once(&self.tmp_dir(), &p, [bytes.as_slice()])
    }

    /// Remove seal `id`'s index file (prune, after the record).
    pub(super) fn remove_index(&self, id: &str) -> Result<()> {
        let p = self.index_path(id);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", p.display())),
        }
    }

    /// The ids of the index files (whatever records there are).
    pub(super) fn list_indexes(&self) -> Result<Vec<String>> {
        let dir = self.index_dir();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
        };
        let mut ids = Vec::new();
        for e in rd {
            let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
            if let Some(id) = e.file_name().to_str().and_then(|n| n.strip_suffix(".json"))
                && is_record_id(id)
            {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Seal `id`'s index as a catalog part, with its head: the file when it is valid (a
    /// version 1 file is rewritten as version 2, which only adds the head), else built from
    /// the record (and written, when it is complete and the vault can be written; a failed
    /// write only costs the next reader the same build). A built index that could not read
    /// every map (a remote vault's cache holds only the maps fetched so far) does not know
    /// the maps' debug IDs: its part says so (`map_debug_ids: None`), so a reader looks in the
    /// maps themselves instead of taking "no ID" for an answer.
    fn index_part(&self, id: &str) -> Result<(Catalog, SealHead)> {
        let replace = match self.read_index_versioned(id) {
            Ok((idx, version)) => {
                if version < INDEX_VERSION {
                    let _ = self.store_index(&idx, true);
                }
                let head = idx.head();
                return Ok((idx.into_parts().0, head));
            }
            Err(Stale::Missing) => false,
            Err(Stale::Invalid(_)) => true,
        };
        let (idx, complete) = self.build_index(id)?;
        if complete {
            let _ = self.store_index(&idx, replace);
        }
        let head = idx.head();
        let (mut cat, _) = idx.into_parts();
        if !complete {
            cat.map_debug_ids = None;
        }
        Ok((cat, head))
    }

    /// Seal `id`'s head: from the start of its index file when that is a valid version 2
    /// head, else from the index read whole (or built), whose catalog comes back too.
    fn head_or_part(&self, id: &str) -> Result<(SealHead, Option<Catalog>)> {
        match self.read_head(id) {
            Ok(h) => Ok((h, None)),
            Err(_) => {
                let (cat, head) = self.index_part(id)?;
                Ok((head, Some(cat)))
            }
        }
    }

    /// What `resolve`, `export` and `vault list` read first: every seal's head (an index
    /// built where missing), or, for a v1 vault not migrated yet, the records themselves.
    /// Catalogs are read afterwards, only those a reader needs ([`SealSet::part`]).
    pub fn load_heads(&self) -> Result<SealSet> {
        self.check_marker()?;
        if self.load_v1()?.is_some() {
            let Records { all, unsealed } = self.load_records()?;
            let mut set = SealSet {
                marks: unsealed.into_keys().collect(),
                ..SealSet::default()
            };
            for r in &all.seals {
                let cat = Catalog::of_seal(r);
                set.seals.push(SealHead {
                    id: r.id.clone(),
                    info: info_of(r),
                    catalog_len: (cat.entries.len() + cat.maps.len()) as u64,
                });
                set.parts.push(Some(cat));
            }
            return Ok(set);
        }
        let (ids, marks) = self.list_seals()?;
        // A head is a few hundred bytes; a missing or old index is built or read whole, one
        // per worker at a time.
        let loaded: Vec<(SealHead, Option<Catalog>)> = ids
            .par_iter()
            .map(|id| self.head_or_part(id))
            .collect::<Result<_>>()?;
        let (seals, parts) = loaded.into_iter().unzip();
        Ok(SealSet {
            seals,
            parts,
            marks,
        })
    }

    /// `vault fsck`: rebuild every record's index from the record and put right each one
    /// missing, invalid or different. Returns a note per invalid or different index put right
    /// (or that could not be written); a missing one is only written, as any reader would.
    /// Indexes without a record are reported too (prune removes them).
    pub(super) fn check_indexes(&self, records: &BTreeMap<String, SealRecord>) -> Vec<String> {
        let mut notes = Vec::new();
        for (id, rec) in records {
            // Only records in `seals/` have an index (a v1 manifest's do not, until migrated).
            let Ok((_, bytes)) = self.load_record_bytes(id) else {
                continue;
            };
            let (fresh, complete) = self.index_of(rec, sha256_hex(&bytes));
            let (why, replace) = match self.read_index_versioned(id) {
                Ok((idx, v)) if idx == fresh => {
                    // Right, in an older format: written as readers would.
                    if v < INDEX_VERSION && complete {
                        let _ = self.store_index(&fresh, true);
                    }
                    continue;
                }
                Ok(_) => ("did not match its record".to_string(), true),
                // What every seal leaves (seal writes none): built as a reader would, quietly.
                Err(Stale::Missing) => {
                    if complete {
                        let _ = self.store_index(&fresh, false);
                    }
                    continue;
                }
                Err(Stale::Invalid(e)) => (format!("was invalid ({e})"), true),
            };
            let rel = format!("{INDEX_DIR}/{id}.json");
            if !complete {
                notes.push(format!(
                    "{rel} {why}; not rebuilt: some of the seal's maps cannot be read"
                ));
                continue;
            }
            match self.store_index(&fresh, replace) {
                Ok(()) => notes.push(format!("{rel} {why}; rebuilt from the record")),
                Err(e) => notes.push(format!("{rel} {why}; cannot rebuild it: {e:#}")),
            }
        }
        if let Ok(ids) = self.list_indexes() {
            for id in ids.iter().filter(|id| !records.contains_key(*id)) {
                notes.push(format!(
                    "{INDEX_DIR}/{id}.json: an index without a record (left by an interrupted \
                     prune; `vault prune` removes it)"
                ));
            }
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relpath::RelPath;
    use crate::vault::catalog::{Entry, MapFile, MapSource};

    fn sample() -> SealIndex {
        let sha = |c: char| c.to_string().repeat(64);
        let p = |s: &str| RelPath::new(s.as_bytes().to_vec());
        SealIndex {
            id: "seal-1".into(),
            record_sha256: sha('9'),
            body: Body {
                info: SealInfo {
                    dist: RawPath::from_path(Path::new("/w/dist")),
                    sealed_at: "2026-12-04T22:00:00Z".into(),
                    tool: "mapvault".into(),
                    files: 2,
                    maps: 1,
                    bytes: 5,
                },
                entries: vec![Entry {
                    seal: 0,
                    dist: PathBuf::new(),
                    bundle: p("a.js"),
                    bundle_recorded: true,
                    map: sha('a'),
                    map_size: Some(5),
                    map_path: Some(p("a.js.map")),
                    hashes: vec![sha('1'), sha('2')],
                    debug_id: None,
                }],
                map_files: vec![MapFile {
                    seal: 0,
                    dist: PathBuf::new(),
                    path: p("a.js.map"),
                    map: sha('a'),
                    map_size: Some(5),
                    source: MapSource::File,
                }],
                notes: vec![],
                map_debug_ids: BTreeMap::from([(
                    sha('a'),
                    "85314830-023f-4cf1-a267-535f4e37bb17".to_string(),
                )]),
            },
        }
    }

    // Unix absolute paths (`/w/dist`) as fixtures: not absolute on Windows.

    #[cfg(unix)]
    #[test]
    fn an_index_reads_back_as_written() {
        let ix = sample();
        let bytes = ix.to_bytes().expect("serializes");
        assert_eq!(SealIndex::parse("seal-1", &bytes), Ok(ix.clone()));
        let (cat, _) = ix.into_parts();
        assert_eq!(cat.entries[0].dist, PathBuf::from("/w/dist"));
        assert_eq!(cat.maps[0].dist, PathBuf::from("/w/dist"));
        assert_eq!(cat.map_debug_ids.map(|m| m.len()), Some(1));
    }

    // Unix absolute paths (`/w/dist`) as fixtures: not absolute on Windows.

    #[cfg(unix)]
    #[test]
    fn the_head_reads_alone_and_a_version_1_file_is_still_read() {
        let ix = sample();
        let bytes = ix.to_bytes().expect("serializes");
        // The head from the first bytes alone, as a reader of many seals takes it.
        let at = memchr::memmem::find(&bytes, BODY_KEY).expect("a body") + BODY_KEY.len();
        let head = parse_head("seal-1", &bytes[..at]).expect("head");
        assert_eq!(head, ix.head());
        assert_eq!(head.catalog_len, 2);
        assert!(parse_head("seal-2", &bytes).is_err(), "another seal's");
        // A head that does not hash right, or that disagrees with its body.
        let text = String::from_utf8(bytes).expect("utf-8");
        let forged = text.replacen("\"files\":2", "\"files\":3", 1);
        assert!(parse_head("seal-1", forged.as_bytes()).is_err_and(|e| e.contains("head_sha256")));
        let mut h = Head::of(&ix.body);
        h.info.files = 3;
        let raw = serde_json::to_string(&h).expect("head");
        let start = text.find("\"head\":").expect("head") + "\"head\":".len();
        let end = text.find(",\"head_sha256\"").expect("head_sha256");
        let sha = sha256_hex(&text.as_bytes()[start..end]);
        let swapped = format!("{}{raw}{}", &text[..start], &text[end..])
            .replace(&sha, &sha256_hex(raw.as_bytes()));
        assert!(
            parse_head("seal-1", swapped.as_bytes()).is_ok(),
            "a well-formed head"
        );
        assert!(
            SealIndex::parse("seal-1", swapped.as_bytes())
                .is_err_and(|e| e.contains("does not agree"))
        );
        // Version 1 (no head): read whole as before, never as a head.
        let body = serde_json::to_vec(&ix.body).expect("body");
        let v1 = serde_json::json!({"format": INDEX_FORMAT, "version": 1, "seal": "seal-1",
            "record_sha256": ix.record_sha256, "body_sha256": sha256_hex(&body)});
        let mut v1 = serde_json::to_vec(&v1).expect("v1");
        v1.pop();
        v1.extend_from_slice(BODY_KEY);
        v1.extend_from_slice(&body);
        v1.push(b'}');
        assert_eq!(
            SealIndex::parse_versioned("seal-1", &v1),
            Ok((ix.clone(), 1))
        );
        assert!(parse_head("seal-1", &v1).is_err());
    }

    #[test]
    fn a_damaged_or_forged_index_is_refused() {
        let bytes = sample().to_bytes().expect("serializes");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        // Another seal's, a flipped body, junk.
        assert!(SealIndex::parse("seal-2", &bytes).is_err());
        let flipped = text.replacen("\"a.js\"", "\"b.js\"", 1);
        assert!(
            SealIndex::parse("seal-1", flipped.as_bytes())
                .is_err_and(|e| e.contains("body_sha256"))
        );
        assert!(SealIndex::parse("seal-1", b"{\"format\":").is_err());
        // Well-formed, re-hashed, but with a path escaping the dist or a bad object name.
        for (from, to) in [
            ("\"a.js.map\"", "\"../x.map\""),
            (&"a".repeat(64)[..], "../../etc"),
        ] {
            let mut forged = sample();
            let body = serde_json::to_string(&forged.body)
                .expect("body")
                .replace(from, to);
            forged.body = serde_json::from_str(&body).expect("still a body");
            let bytes = forged.to_bytes().expect("serializes");
            assert!(
                SealIndex::parse("seal-1", &bytes).is_err(),
                "{from} -> {to} accepted"
            );
        }
    }
}
