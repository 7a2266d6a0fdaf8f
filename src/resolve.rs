//! `mapvault resolve`: from a position in a deployed (sealed) file to the original source, using
//! the maps in the vault — for one `FILE:LINE:COL`, or for every frame of a pasted stack trace.
//!
//! Finding the map for a FILE (a dist-relative path, a URL, a local file or a debug ID), in
//! this order:
//! 1. a debug ID (UUID): the manifest's `debug_id` of a bundle or map, or the `debugId` /
//!    `debug_id` field of a stored map;
//! 2. a local file: its sha256 against the bundles' sealed (and original) hashes; failing that,
//!    its `//# debugId=` comment;
//! 3. a path or URL: scheme, host, query and fragment dropped, percent-decoded, then the bundle
//!    whose dist-relative path is the longest whole-segment suffix of it (or, failing that, whose
//!    path ends with it). Several dists with different maps for the match are ambiguous unless
//!    `--dist` picks one.
//!
//! Among seals of the same dist the newest that holds a match wins: each dist's seals are
//! searched newest first, and the search stops at the first seal where the file matches (for
//! the path rules: any whole-segment suffix; the longest is then chosen among the dists'
//! answers). The seal before that one is read too, so that the answer can say when the same
//! file had another map there ("older seals of this file have other maps"). So a lookup reads
//! one or two seals' catalogs when the file is in a recent release, and the whole history of
//! a dist only when the file is in none of its seals.
//!
//! Positions are 1-based in and out; a position maps as Mozilla `source-map`'s
//! `originalPositionFor` maps it (see [`crate::mapread`], which also says where and why the
//! answer differs). Index maps (`sections`) are followed. Read-only: the vault is opened with
//! a shared lock; what is read is the vault's derived index (`vault/index.rs`: one small file
//! per seal, its head first), and the only thing ever written is such an index when it is
//! missing or invalid.
//!
//! Bounded by what is needed, not by what the vault or the trace claims: a map is read only
//! when a frame needs it, never past the size its record states, and hash-checked first (see
//! `vault::fsutil`); decoded maps are kept up to a budget; a stack trace is read and answered a
//! line at a time ([`trace`] hands each frame and each output line to a [`TraceSink`] as soon
//! as it is known); every string taken from a map or the manifest is capped, and the source
//! line is a window around the column, so one frame's answer stays small whatever the map.

use crate::sys::OpenOptionsExt;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, Read, Seek};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::debugid;
use crate::exit::Outcome;
use crate::mapread;
use crate::sanitize;
use crate::stacktrace;
use crate::vault::catalog::Entry;
use crate::vault::index::SealSet;
use crate::vault::manifest::Stored;
use crate::vault::{Vault, fsutil};

#[derive(Debug, Clone)]
pub struct ResolveOptions {
    pub vault: crate::vault::VaultLoc,
    /// `--dist`: only entries sealed from this (absolute) dist.
    pub dist: Option<PathBuf>,
    /// `FILE:LINE:COL`, or `None` to read a stack trace from standard input.
    pub position: Option<Position>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// Parse `FILE:LINE:COL` (FILE may contain `:`, as URLs do). LINE and COL are 1-based.
    pub fn parse(s: &str) -> Result<Position, String> {
        let (file, line, column) = stacktrace::split_location(s).ok_or_else(|| {
            format!("{s:?} is not FILE:LINE:COL (LINE and COL are numbers, from 1)")
        })?;
        if line == 0 || column == 0 {
            return Err(format!(
                "{s:?}: LINE and COL are 1-based, as browsers print them (got {line}:{column})"
            ));
        }
        Ok(Position {
            file: file.to_string(),
            line,
            column,
        })
    }
}

/// The bundle a frame was matched to.
#[derive(Debug, Clone, Serialize)]
pub struct BundleRef {
    pub dist: String,
    pub path: String,
    /// `sha256`, `debug-id` or `path`.
    pub matched_by: &'static str,
}

/// The vaulted map used.
#[derive(Debug, Clone, Serialize)]
pub struct MapRef {
    /// `VAULT/maps/<sha256>.map`.
    pub sha256: String,
    /// Where the map was in the dist (`null` for an inline map).
    pub path: Option<String>,
}

/// The original position (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Original {
    /// As the map names it (joined to `sourceRoot`); `null` when the map's `sources` entry is
    /// `null` (an unknown source, ECMA-426). At most [`mapread::TEXT_CAP`] characters.
    pub source: Option<String>,
    pub line: u64,
    pub column: u64,
    pub name: Option<String>,
    /// That line of the source, from the map's `sourcesContent`: all of it, or for a line
    /// longer than [`mapread::LINE_WINDOW`] UTF-16 units a window of that many around the
    /// column.
    pub source_line: Option<String>,
    /// 1-based column of the first character of `source_line` (1 unless it is a window).
    pub source_line_start: Option<u64>,
    /// `source_line` is a window: the line goes on before or after it.
    pub source_line_truncated: Option<bool>,
    /// The line goes on after `source_line` (for the human form's `…`).
    #[serde(skip)]
    pub source_line_goes_on: bool,
}

/// Why a frame did not resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Failure {
    /// No vault entry matches the file.
    NotFound,
    /// Entries of several dists match.
    Ambiguous,
    /// The bundle's map has nothing at that position.
    Unmapped,
    /// The map could not be read or decoded.
    BadMap,
}

/// One frame (or the single position), resolved or not.
#[derive(Debug, Clone, Serialize)]
pub struct FrameReport {
    /// 1-based line of the stack trace it came from (`null` for `FILE:LINE:COL`).
    pub input_line: Option<u64>,
    /// The function as the trace printed it.
    pub function: Option<String>,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub resolved: bool,
    pub failure: Option<Failure>,
    pub bundle: Option<BundleRef>,
    pub map: Option<MapRef>,
    pub original: Option<Original>,
    pub note: Option<String>,
}

/// The result of `resolve` for one position; the JSON contract (see README). A stack trace is
/// written as it is read (see [`trace`]), with the same shape plus `text`.
#[derive(Debug, Clone, Serialize)]
pub struct ResolveReport {
    pub frames: Vec<FrameReport>,
    pub resolved: usize,
    pub unresolved: usize,
    pub notes: Vec<String>,
}

impl ResolveReport {
    /// 0 resolved, 1 found but nothing maps there, 2 not found / ambiguous / unreadable map.
    pub fn outcome(&self) -> Outcome {
        match self.frames.first().and_then(|f| f.failure) {
            None => Outcome::Clean,
            Some(Failure::Unmapped) => Outcome::LeaksRemain,
            Some(_) => Outcome::Failed,
        }
    }
}

/// Longest manifest-derived text (dist, bundle and map paths) copied into a frame: no real
/// path is longer (`PATH_MAX`), so only a forged manifest is ever cut.
const PATH_CAP: usize = 4096;
/// Candidates named in an "ambiguous" note.
const AMBIGUOUS_LISTED: usize = 10;
/// Bytes of decoded maps kept for later frames (the map in use is always kept).
const MAP_CACHE_BYTES: usize = 1 << 30;

fn cap(s: String) -> String {
    if s.len() <= PATH_CAP {
        return s;
    }
    let mut end = PATH_CAP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

enum Match {
    Found {
        entry: usize,
        by: &'static str,
        note: Option<String>,
    },
    Missing(Failure, String),
}

#[derive(Debug, Clone)]
enum MatchKey {
    Found(usize, &'static str, Option<String>),
    Missing(Failure, String),
}

/// Decoded maps, least recently used dropped first beyond [`MAP_CACHE_BYTES`].
#[derive(Default)]
struct MapCache {
    maps: HashMap<String, (Result<mapread::Map, String>, usize, u64)>,
    bytes: usize,
    clock: u64,
}

impl MapCache {
    /// The map `sha`, loaded by `load` (the map and its size in bytes) on first use. Maps
    /// used least recently are dropped first to keep the others within [`MAP_CACHE_BYTES`].
    fn get_or_load(
        &mut self,
        sha: &str,
        load: impl FnOnce() -> (Result<mapread::Map, String>, usize),
    ) -> &mut Result<mapread::Map, String> {
        self.clock += 1;
        let now = self.clock;
        if !self.maps.contains_key(sha) {
            let (m, size) = load();
            while self.bytes + size > MAP_CACHE_BYTES && !self.maps.is_empty() {
                let Some(old) = self
                    .maps
                    .iter()
                    .min_by_key(|(_, v)| v.2)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                if let Some((_, size, _)) = self.maps.remove(&old) {
                    self.bytes -= size;
                }
            }
            self.bytes += size;
            self.maps.insert(sha.to_string(), (m, size, now));
        }
        let e = self
            .maps
            .entry(sha.to_string())
            .or_insert_with(|| (Err("not loaded".into()), 0, now));
        e.2 = now;
        &mut e.0
    }
}

/// A seal whose catalog has been read: where its entries are, and its maps' debug IDs.
struct LoadedSeal {
    entries: std::ops::Range<usize>,
    /// Map object → the debug ID in it, from the seal's index (`None`: not known; the maps
    /// are read for it).
    map_debug_ids: Option<HashMap<String, String>>,
    /// Debug ID → entries, built on first use.
    debug_ids: Option<HashMap<String, Vec<usize>>>,
}

/// What a frame's file is looked for by, in one seal.
#[derive(Clone, Copy)]
enum Key<'a> {
    DebugId(&'a str),
    Sha256(&'a str),
    /// The entry's whole path is a whole-segment suffix of these segments.
    PathSuffix(&'a [Vec<u8>]),
    /// These segments are the end of the entry's (longer) path.
    PathEnd(&'a [Vec<u8>]),
}

/// An open vault, its seals, the catalogs read from it so far and the maps: answers
/// positions one at a time. A seal's catalog is read when a search reaches it (newest
/// first), once.
pub struct Resolver {
    vault: Vault,
    set: SealSet,
    /// The dists searched (every one, or `--dist`), each as its seals' positions, oldest first.
    dists: Vec<Vec<usize>>,
    /// The entries of the seals read so far (`Entry::seal` is the seal's position).
    entries: Vec<Entry>,
    loaded: HashMap<usize, LoadedSeal>,
    dist: Option<PathBuf>,
    maps: MapCache,
    matches: HashMap<String, MatchKey>,
    /// Things to tell the reader (unfinished seal, HTML inline maps left out…).
    pub notes: Vec<String>,
}

/// The path part of a URL or file name, as segments: scheme and host, `?query` and `#hash`
/// dropped, percent-decoded.
fn url_segments(url: &str) -> Vec<Vec<u8>> {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let mut path = &url[..end];
    if let Some(i) = path.find("://") {
        let after = &path[i + 3..];
        path = after.find('/').map_or("", |j| &after[j..]);
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    decoded
        .split(|&b| b == b'/')
        .filter(|s| !s.is_empty() && *s != b".")
        .map(<[u8]>::to_vec)
        .collect()
}

fn entry_segs(e: &Entry) -> Vec<&[u8]> {
    e.bundle.as_bytes().split(|&b| b == b'/').collect()
}

/// Debug ID → entries of `range` (one seal's): the IDs the records give bundles and maps, and
/// those inside the maps — from the seal's index when it knows them (`map_ids`), else read
/// from each map (a v1 vault not migrated yet, a remote vault's partial cache), within its
/// recorded size and hash-checked.
fn debug_index(
    vault: &Vault,
    entries: &[Entry],
    range: std::ops::Range<usize>,
    map_ids: Option<&HashMap<String, String>>,
) -> HashMap<String, Vec<usize>> {
    let mut idx: HashMap<String, Vec<usize>> = HashMap::new();
    let mut from_map: HashMap<&str, Option<String>> = HashMap::new();
    for i in range {
        let e = &entries[i];
        if let Some(id) = e.debug_id.as_deref().and_then(debugid::normalize) {
            idx.entry(id).or_default().push(i);
        }
        let id = from_map.entry(e.map.as_str()).or_insert_with(|| {
            if let Some(ids) = map_ids {
                return ids.get(&e.map).cloned();
            }
            let obj = Stored::Map(e.map.clone());
            vault.fetch(&obj).ok()?;
            let path = vault.object_path(&obj);
            fsutil::read_verified(&path, &e.map, e.map_size)
                .ok()
                .and_then(|b| debugid::in_map(&b))
        });
        if let Some(id) = id {
            let v = idx.entry(id.clone()).or_default();
            if !v.contains(&i) {
                v.push(i);
            }
        }
    }
    idx
}

/// The `//# debugId=` comment in the last lines of a file (ECMA-426 debug-ID proposal).
fn debug_id_comment(bytes: &[u8]) -> Option<String> {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    let text = String::from_utf8_lossy(tail);
    text.lines().rev().take(5).find_map(|l| {
        let l = l.trim();
        let rest = l
            .strip_prefix("//# debugId=")
            .or_else(|| l.strip_prefix("//@ debugId="))?;
        debugid::normalize(rest.trim())
    })
}

/// A local file's sha256 and the last 4 KiB (where a `//# debugId=` comment sits), read as a
/// stream: a trace may name any path, and neither a huge file nor a FIFO may cost more than
/// a read (`O_NONBLOCK`, regular files only).
fn local_identity(path: &str) -> io::Result<(String, Vec<u8>)> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(crate::sys::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let (sha, len) = crate::hash::hash_reader(&mut f)?;
    f.seek(io::SeekFrom::Start(len.saturating_sub(4096)))?;
    let mut tail = Vec::new();
    f.take(4096).read_to_end(&mut tail)?;
    Ok((sha, tail))
}

fn original(found: mapread::Found) -> Original {
    let window = found.source_line;
    Original {
        source: found.source,
        line: u64::from(found.line) + 1,
        column: u64::from(found.column) + 1,
        name: found.name,
        source_line_start: window.as_ref().map(|w| u64::from(w.start) + 1),
        source_line_truncated: window.as_ref().map(|w| w.start > 0 || w.cut_after),
        source_line_goes_on: window.as_ref().is_some_and(|w| w.cut_after),
        source_line: window.map(|w| w.text),
    }
}

impl Resolver {
    /// Open the vault (shared lock) and read its seals' heads; catalogs are read as frames
    /// need them.
    pub fn open(opts: &ResolveOptions, on_wait: &mut dyn FnMut(&str)) -> Result<Resolver> {
        let vault = Vault::open_shared_at(&opts.vault, on_wait)?;
        let set = vault.load_heads()?;
        let mut notes = Vec::new();
        if vault.has_journal() {
            notes.push(format!(
                "vault {} has an unfinished seal or unseal (journal.json); its files are not in \
                 the manifest yet — run the same command again to finish it",
                opts.vault.display()
            ));
        }
        let all = set.dists();
        if let Some(d) = &opts.dist
            && !all.contains(d)
        {
            anyhow::bail!(
                "--dist {}: no dist of that path was sealed into vault {}",
                d.display(),
                opts.vault.display()
            );
        }
        let dists = all
            .iter()
            .filter(|d| opts.dist.as_ref().is_none_or(|o| o == *d))
            .map(|d| {
                set.seals
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.catalog_len > 0 && s.info.dist.to_path() == *d)
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        Ok(Resolver {
            vault,
            set,
            dists,
            entries: Vec::new(),
            loaded: HashMap::new(),
            dist: opts.dist.clone(),
            maps: MapCache::default(),
            matches: HashMap::new(),
            notes,
        })
    }

    fn entry(&self, i: usize) -> &Entry {
        &self.entries[i]
    }

    /// Read seal `s`'s catalog, unless it was read already.
    fn load(&mut self, s: usize) -> Result<(), String> {
        if self.loaded.contains_key(&s) {
            return Ok(());
        }
        let part = self.set.part(&self.vault, s).map_err(|e| {
            format!(
                "cannot read seal {} of the vault: {e:#}",
                self.set.seals[s].id
            )
        })?;
        let start = self.entries.len();
        self.entries.extend(part.entries);
        for n in part.notes {
            if !self.notes.contains(&n) {
                self.notes.push(n);
            }
        }
        self.loaded.insert(
            s,
            LoadedSeal {
                entries: start..self.entries.len(),
                map_debug_ids: part.map_debug_ids,
                debug_ids: None,
            },
        );
        Ok(())
    }

    /// The entries of (loaded) seal `s` that `key` matches.
    fn matching(&mut self, s: usize, key: Key<'_>) -> Vec<usize> {
        let Some(range) = self.loaded.get(&s).map(|l| l.entries.clone()) else {
            return Vec::new();
        };
        match key {
            Key::DebugId(id) => {
                if let Some(l) = self.loaded.get(&s)
                    && l.debug_ids.is_none()
                {
                    let idx =
                        debug_index(&self.vault, &self.entries, range, l.map_debug_ids.as_ref());
                    if let Some(l) = self.loaded.get_mut(&s) {
                        l.debug_ids = Some(idx);
                    }
                }
                self.loaded
                    .get(&s)
                    .and_then(|l| l.debug_ids.as_ref())
                    .and_then(|m| m.get(id))
                    .cloned()
                    .unwrap_or_default()
            }
            Key::Sha256(sha) => range
                .filter(|&i| self.entries[i].hashes.iter().any(|h| h == sha))
                .collect(),
            Key::PathSuffix(segs) => range
                .filter(|&i| {
                    let es = entry_segs(&self.entries[i]);
                    es.len() <= segs.len()
                        && segs[segs.len() - es.len()..]
                            .iter()
                            .zip(&es)
                            .all(|(a, b)| a == b)
                })
                .collect(),
            Key::PathEnd(segs) => range
                .filter(|&i| {
                    let es = entry_segs(&self.entries[i]);
                    es.len() > segs.len()
                        && es[es.len() - segs.len()..]
                            .iter()
                            .zip(segs)
                            .all(|(a, b)| *a == b.as_slice())
                })
                .collect(),
        }
    }

    /// The entries `key` matches in each dist searched: in the newest seal of the dist where
    /// it matches anything (its catalogs read newest first, up to that one), plus, for the
    /// note that older seals of a file have other maps, the matching entries of the same
    /// bundles in the seal before it.
    fn search(&mut self, key: Key<'_>) -> Result<Vec<usize>, String> {
        let mut out = Vec::new();
        for d in 0..self.dists.len() {
            let mut newest_first = self.dists[d].clone().into_iter().rev();
            while let Some(s) = newest_first.next() {
                self.load(s)?;
                let found = self.matching(s, key);
                if found.is_empty() {
                    continue;
                }
                if let Some(prev) = newest_first.next() {
                    self.load(prev)?;
                    let before = self.matching(prev, key);
                    let bundles: std::collections::HashSet<&[u8]> = found
                        .iter()
                        .map(|&i| self.entries[i].bundle.as_bytes())
                        .collect();
                    let same: Vec<usize> = before
                        .into_iter()
                        .filter(|&i| bundles.contains(self.entries[i].bundle.as_bytes()))
                        .collect();
                    out.extend(same);
                }
                out.extend(found);
                break;
            }
        }
        Ok(out)
    }

    /// The decoded map of entry `i`, read (within the size its record allows, hash-checked) on
    /// first use.
    fn map(&mut self, i: usize) -> &mut Result<mapread::Map, String> {
        let e = &self.entries[i];
        let (sha, max) = (e.map.as_str(), e.map_size);
        let vault = &self.vault;
        self.maps.get_or_load(sha, || {
            let obj = Stored::Map(sha.to_string());
            // A remote vault's map comes into its cache first (only the maps asked for).
            if let Err(e) = vault.fetch(&obj) {
                return (Err(format!("{e:#}")), 0);
            }
            let path = vault.object_path(&obj);
            match fsutil::read_verified(&path, sha, max) {
                Ok(bytes) => {
                    let size = bytes.len();
                    let m = mapread::Map::parse(bytes)
                        .map_err(|e| format!("vault map maps/{sha}.map cannot be used: {e}"));
                    (m, size)
                }
                Err(e) => (Err(format!("vault map {}", fsutil::describe(&path, &e))), 0),
            }
        })
    }

    /// Choose among entries that all match `what`: newest seal per (dist, bundle); one map or
    /// ambiguous.
    fn pick(&self, what: &str, cands: Vec<usize>, by: &'static str, note: Option<String>) -> Match {
        let cands: Vec<usize> = cands
            .into_iter()
            .filter(|&i| self.dist.as_deref().is_none_or(|d| self.entry(i).dist == d))
            .collect();
        let mut newest: BTreeMap<(&Path, &[u8]), usize> = BTreeMap::new();
        let mut older_differs = false;
        for &i in &cands {
            let e = self.entry(i);
            let key = (e.dist.as_path(), e.bundle.as_bytes());
            match newest.get(&key) {
                Some(&j) if self.entry(j).seal >= e.seal => {
                    older_differs |= self.entry(j).map != e.map;
                }
                Some(&j) => {
                    older_differs |= self.entry(j).map != e.map;
                    newest.insert(key, i);
                }
                None => {
                    newest.insert(key, i);
                }
            }
        }
        let mut by_map: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &i in newest.values() {
            by_map
                .entry(self.entry(i).map.as_str())
                .or_default()
                .push(i);
        }
        let older = older_differs.then(|| {
            "older seals of this file in the vault have other maps; the newest is used \
             (pass the deployed file itself to match its exact bytes)"
                .to_string()
        });
        let note = match (note, older) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        match by_map.len() {
            0 => Match::Missing(
                Failure::NotFound,
                match &self.dist {
                    Some(d) => format!("no map in the vault for {what} in dist {}", d.display()),
                    None => format!("no map in the vault for {what}"),
                },
            ),
            1 => {
                let entry = by_map
                    .values()
                    .flatten()
                    .copied()
                    .max_by_key(|&i| self.entry(i).seal);
                match entry {
                    Some(entry) => Match::Found { entry, by, note },
                    None => Match::Missing(Failure::NotFound, format!("no map for {what}")),
                }
            }
            _ => {
                let all: Vec<usize> = by_map.values().flatten().copied().collect();
                let mut list: Vec<String> = all
                    .iter()
                    .take(AMBIGUOUS_LISTED)
                    .map(|&i| {
                        let e = self.entry(i);
                        cap(format!("{} in {}", e.bundle.lossy(), e.dist.display()))
                    })
                    .collect();
                if all.len() > AMBIGUOUS_LISTED {
                    list.push(format!("{} more", all.len() - AMBIGUOUS_LISTED));
                }
                Match::Missing(
                    Failure::Ambiguous,
                    format!(
                        "{what} is ambiguous: it matches {}; choose one with --dist DIR",
                        list.join(", ")
                    ),
                )
            }
        }
    }

    fn by_debug_id(&mut self, id: &str, note: Option<String>) -> Result<Match, String> {
        let cands = self.search(Key::DebugId(id))?;
        Ok(self.pick(&format!("debug ID {id}"), cands, "debug-id", note))
    }

    fn by_path(&mut self, file: &str, note: Option<String>) -> Result<Match, String> {
        let segs = url_segments(file);
        if segs.is_empty() {
            return Ok(Match::Missing(
                Failure::NotFound,
                format!("{file:?} names no file (no path after the host)"),
            ));
        }
        // The entry's whole path is a suffix of the URL's: the longest such path wins.
        let mut cands = self.search(Key::PathSuffix(&segs))?;
        if let Some(longest) = cands.iter().map(|&i| entry_segs(self.entry(i)).len()).max() {
            cands.retain(|&i| entry_segs(self.entry(i)).len() == longest);
            return Ok(self.pick(file, cands, "path", note));
        }
        // FILE is the end of an entry's path (`index.js` for `assets/index.js`).
        let cands = self.search(Key::PathEnd(&segs))?;
        if cands.is_empty() {
            let what = match &self.dist {
                Some(d) => format!(
                    "no sealed file in the vault matches {file:?} (in dist {})",
                    d.display()
                ),
                None => format!("no sealed file in the vault matches {file:?}"),
            };
            return Ok(Match::Missing(Failure::NotFound, what));
        }
        Ok(self.pick(file, cands, "path", note))
    }

    fn find(&mut self, file: &str) -> Match {
        self.find_in_seals(file)
            .unwrap_or_else(|why| Match::Missing(Failure::BadMap, why))
    }

    fn find_in_seals(&mut self, file: &str) -> Result<Match, String> {
        if let Some(id) = debugid::normalize(file) {
            return self.by_debug_id(&id, None);
        }
        let local = file.strip_prefix("file://").unwrap_or(file);
        let mut note = None;
        if !local.contains("://") && Path::new(local).is_file() {
            match local_identity(local) {
                Ok((sha, tail)) => {
                    let cands = self.search(Key::Sha256(&sha))?;
                    if !cands.is_empty() {
                        return Ok(self.pick(file, cands, "sha256", None));
                    }
                    if let Some(id) = debug_id_comment(&tail) {
                        return self.by_debug_id(
                            &id,
                            Some(format!("{file}: matched by its //# debugId= comment")),
                        );
                    }
                    note = Some(format!(
                        "the bytes of local file {file} match no sealed file; matched by path instead"
                    ));
                }
                Err(e) => {
                    note = Some(format!(
                        "cannot read local file {file} ({e}); matched by path"
                    ))
                }
            }
        }
        self.by_path(file, note)
    }

    /// Resolve one position; `input_line` and `function` describe the stack-trace line it
    /// came from, if any.
    pub fn frame(
        &mut self,
        input_line: Option<u64>,
        function: Option<&str>,
        pos: &Position,
    ) -> FrameReport {
        let mut rep = FrameReport {
            input_line,
            function: function.map(str::to_string),
            file: pos.file.clone(),
            line: pos.line,
            column: pos.column,
            resolved: false,
            failure: None,
            bundle: None,
            map: None,
            original: None,
            note: None,
        };
        let m = match self.matches.get(&pos.file) {
            Some(k) => k.clone(),
            None => {
                let k = match self.find(&pos.file) {
                    Match::Found { entry, by, note } => MatchKey::Found(entry, by, note),
                    Match::Missing(f, why) => MatchKey::Missing(f, why),
                };
                self.matches.insert(pos.file.clone(), k.clone());
                k
            }
        };
        let (entry, by, note) = match m {
            MatchKey::Found(e, by, note) => (e, by, note),
            MatchKey::Missing(f, why) => {
                rep.failure = Some(f);
                rep.note = Some(why);
                return rep;
            }
        };
        rep.note = note;
        let e = self.entry(entry);
        let bundle = cap(e.bundle.lossy());
        rep.bundle = Some(BundleRef {
            dist: cap(e.dist.display().to_string()),
            path: bundle.clone(),
            matched_by: by,
        });
        rep.map = Some(MapRef {
            sha256: e.map.clone(),
            path: e.map_path.as_ref().map(|p| cap(p.lossy())),
        });
        if pos.line == 0 || pos.column == 0 {
            rep.failure = Some(Failure::Unmapped);
            rep.note = Some("LINE and COL are 1-based; 0 maps nothing".into());
            return rep;
        }
        let found = match self.map(entry) {
            Ok(map) => map
                .lookup(pos.line - 1, pos.column - 1)
                .map_err(|e| format!("the map of {bundle} is invalid there: {e}")),
            Err(why) => Err(why.clone()),
        };
        match found {
            Ok(Some(o)) => {
                rep.resolved = true;
                rep.original = Some(original(o));
            }
            Ok(None) => {
                rep.failure = Some(Failure::Unmapped);
                let why = format!(
                    "the map of {bundle} has no mapping at line {} column {}",
                    pos.line, pos.column
                );
                rep.note = Some(match rep.note.take() {
                    Some(n) => format!("{why}; {n}"),
                    None => why,
                });
            }
            Err(why) => {
                rep.failure = Some(Failure::BadMap);
                rep.note = Some(why);
            }
        }
        rep
    }
}

/// Resolve one position (`FILE:LINE:COL`).
pub fn resolve(
    opts: &ResolveOptions,
    pos: &Position,
    on_wait: &mut dyn FnMut(&str),
) -> Result<ResolveReport> {
    let mut r = Resolver::open(opts, on_wait)?;
    let frame = r.frame(None, None, pos);
    let resolved = usize::from(frame.resolved);
    Ok(ResolveReport {
        unresolved: 1 - resolved,
        resolved,
        frames: vec![frame],
        notes: r.notes,
    })
}

/// Where [`trace`] sends its results, in input order: every frame it resolved or tried to,
/// and every line of the rewritten trace (each with its line terminator).
pub trait TraceSink {
    fn frame(&mut self, f: &FrameReport) -> io::Result<()>;
    fn text(&mut self, line: &str) -> io::Result<()>;
}

/// The counts of a stack trace.
#[derive(Debug, Clone, Default)]
pub struct TraceSummary {
    pub frames: usize,
    pub resolved: usize,
}

/// Reading the trace or writing the result failed.
#[derive(Debug)]
pub enum TraceError {
    Input(io::Error),
    Output(io::Error),
}

/// A frame line waiting for the next line of the trace: its function is named from the frame
/// below it.
struct Pending {
    line: String,
    original: Option<Original>,
}

/// The text a frame line becomes: the frame rewritten to its original position (strings from
/// the map escaped for the terminal), or the line as it came when it did not resolve.
fn rewritten(p: &Pending, caller: Option<&str>) -> String {
    let body = p.line.trim_end_matches(['\n', '\r']);
    let (Some(o), Some(f)) = (&p.original, stacktrace::parse(body)) else {
        return p.line.clone();
    };
    // A `null` source prints as V8 prints code without a URL.
    let source = o
        .source
        .as_deref()
        .map_or_else(|| "<anonymous>".to_string(), sanitize::for_terminal);
    let caller = caller.map(sanitize::for_terminal);
    let mut out = stacktrace::render(&f, caller.as_deref(), &source, o.line, o.column);
    out.push_str(&p.line[body.len()..]);
    out
}

/// Symbolicate a stack trace read from `input`, a line at a time: each frame goes to `sink` as
/// soon as it is resolved, and each line of text as soon as the next line (which may name its
/// function) has been read. Memory does not grow with the trace beyond the frames' matches.
pub fn trace(
    r: &mut Resolver,
    input: &mut dyn BufRead,
    sink: &mut dyn TraceSink,
) -> Result<TraceSummary, TraceError> {
    let mut sum = TraceSummary::default();
    let mut pending: Option<Pending> = None;
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        if input
            .read_until(b'\n', &mut buf)
            .map_err(TraceError::Input)?
            == 0
        {
            break;
        }
        n += 1;
        let line = String::from_utf8_lossy(&buf).into_owned();
        let body = line.trim_end_matches(['\n', '\r']);
        // Node's own modules were never in a dist: nothing to look up, nothing to report.
        let frame = stacktrace::parse(body).filter(|f| !f.url.starts_with("node:"));
        let Some(f) = frame else {
            if let Some(p) = pending.take() {
                sink.text(&rewritten(&p, None))
                    .map_err(TraceError::Output)?;
            }
            sink.text(&line).map_err(TraceError::Output)?;
            continue;
        };
        let pos = Position {
            file: f.url.to_string(),
            line: f.line,
            column: f.column,
        };
        let rep = r.frame(Some(n), f.function, &pos);
        sum.frames += 1;
        sum.resolved += usize::from(rep.resolved);
        sink.frame(&rep).map_err(TraceError::Output)?;
        // The map's name at this frame's own position is whatever token sits there (a callee,
        // a property), not the function the frame is in. The function's original name is the
        // name at its call site: the position of the frame on the next line, when the trace
        // goes on there (as Node's --enable-source-maps does).
        if let Some(p) = pending.take() {
            let caller = rep.original.as_ref().and_then(|o| o.name.as_deref());
            sink.text(&rewritten(&p, caller))
                .map_err(TraceError::Output)?;
        }
        pending = Some(Pending {
            line: line.clone(),
            original: rep.original,
        });
    }
    if let Some(p) = pending.take() {
        sink.text(&rewritten(&p, None))
            .map_err(TraceError::Output)?;
    }
    if sum.frames == 0 {
        r.notes.push(
            "no stack frames found in the input (V8 `at fn (url:line:col)` or Firefox/Safari \
             `fn@url:line:col`)"
                .into(),
        );
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_path_segments() {
        let s = |u: &str| {
            url_segments(u)
                .into_iter()
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .collect::<Vec<_>>()
                .join("/")
        };
        assert_eq!(
            s("https://cdn.example.com/app/assets/a.js?v=1#x"),
            "app/assets/a.js"
        );
        assert_eq!(s("file:///srv/dist/a%20b.js"), "srv/dist/a b.js");
        assert_eq!(s("./assets//a.js"), "assets/a.js");
        assert_eq!(s("https://cdn.example.com"), "");
        assert_eq!(s("webpack://app/./src/x.js"), "src/x.js");
    }

    #[test]
    fn positions_parse() {
        assert_eq!(
            Position::parse("https://x.test:8080/a.js:3:14"),
            Ok(Position {
                file: "https://x.test:8080/a.js".into(),
                line: 3,
                column: 14
            })
        );
        assert!(Position::parse("a.js:0:1").is_err());
        assert!(Position::parse("a.js:3").is_err());
        assert!(Position::parse("a.js:x:1").is_err());
    }

    #[test]
    fn debug_id_comment_is_found_near_the_end() {
        let js = b"x();\n//# debugId=85314830-023F-4cf1-a267-535f4e37bb17\n";
        assert_eq!(
            debug_id_comment(js).as_deref(),
            Some("85314830-023f-4cf1-a267-535f4e37bb17")
        );
        assert_eq!(debug_id_comment(b"x();\n"), None);
    }

    #[test]
    fn caps_cut_on_a_char_boundary() {
        assert_eq!(cap("a".repeat(10)), "a".repeat(10));
        let long = "é".repeat(PATH_CAP);
        let c = cap(long);
        assert!(c.ends_with('…') && c.len() <= PATH_CAP + '…'.len_utf8());
    }

    #[test]
    fn lookup_follows_index_maps_and_keeps_to_the_line() -> Result<(), String> {
        // Section 1 at (0,0): "a.js" line 0 col 0 -> src 0:0 name "alpha".
        // Section 2 at (1,4): "b.js" line 0 col 0 -> src 2:3.
        let index = br#"{"version":3,"sections":[
          {"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js"],"names":["alpha"],"sourcesContent":["let alpha = 1;\n"],"mappings":"AAAAA"}},
          {"offset":{"line":1,"column":4},"map":{"version":3,"sources":["b.js"],"names":[],"mappings":"AAEG"}}]}"#;
        let mut m = mapread::Map::parse(index.to_vec())?;
        let mut lookup = |l, c| m.lookup(l, c).map_err(|e| e.to_string());
        let a = lookup(0, 7)?
            .map(original)
            .ok_or("no mapping in section 1")?;
        assert_eq!(
            (a.source.as_deref(), a.line, a.column),
            (Some("a.js"), 1, 1)
        );
        assert_eq!(a.name.as_deref(), Some("alpha"));
        assert_eq!(a.source_line.as_deref(), Some("let alpha = 1;"));
        assert_eq!(
            (a.source_line_start, a.source_line_truncated),
            (Some(1), Some(false))
        );
        let b = lookup(1, 9)?
            .map(original)
            .ok_or("no mapping in section 2")?;
        assert_eq!(
            (b.source.as_deref(), b.line, b.column),
            (Some("b.js"), 3, 4)
        );
        // Line 1 before the second section's offset falls in section 1, which has nothing on
        // its line 1: unmapped (not the segment of line 0).
        assert_eq!(lookup(1, 2)?, None);
        Ok(())
    }
}
