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
//!    `--dist` picks one. Among seals of the same dist the newest wins.
//!
//! Positions are 1-based in and out; a position maps when the map has a segment on that line at
//! or before that column (Mozilla `source-map`'s `originalPositionFor` with its default
//! greatest-lower-bound bias — the tests compare with it). Index maps (`sections`) are followed.
//! Read-only: the vault is opened with a shared lock and nothing is written.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::Result;
use serde::Serialize;
use sourcemap::{DecodedMap, SourceMap};

use crate::catalog::{Catalog, Entry};
use crate::debugid;
use crate::exit::Outcome;
use crate::hash;
use crate::stacktrace;
use crate::vault::Vault;
use crate::vault::manifest::Stored;

#[derive(Debug, Clone)]
pub struct ResolveOptions {
    pub vault: PathBuf,
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
    pub source: String,
    pub line: u64,
    pub column: u64,
    pub name: Option<String>,
    /// That line of the source, from the map's `sourcesContent`.
    pub source_line: Option<String>,
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

/// The result of `resolve`; the JSON contract (see README).
#[derive(Debug, Clone, Serialize)]
pub struct ResolveReport {
    pub frames: Vec<FrameReport>,
    pub resolved: usize,
    pub unresolved: usize,
    /// The symbolicated stack trace (stack-trace input only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub notes: Vec<String>,
}

impl ResolveReport {
    /// Single position: 0 resolved, 1 found but nothing maps there, 2 not found / ambiguous /
    /// unreadable map. Stack traces: 0 (unresolved lines are left as they were).
    pub fn outcome(&self) -> Outcome {
        if self.text.is_some() {
            return Outcome::Clean;
        }
        match self.frames.first().and_then(|f| f.failure) {
            None => Outcome::Clean,
            Some(Failure::Unmapped) => Outcome::LeaksRemain,
            Some(_) => Outcome::Failed,
        }
    }
}

enum Match {
    Found {
        entry: usize,
        by: &'static str,
        note: Option<String>,
    },
    Missing(Failure, String),
}

struct Resolver<'a> {
    vault: &'a Vault,
    cat: &'a Catalog,
    dist: Option<&'a Path>,
    maps: HashMap<String, Result<Rc<DecodedMap>, String>>,
    debug_ids: Option<HashMap<String, Vec<usize>>>,
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

fn lookup(map: &DecodedMap, line: u32, col: u32) -> Option<Original> {
    match map {
        DecodedMap::Regular(sm) => lookup_regular(sm, line, col),
        DecodedMap::Hermes(h) => lookup_regular(h, line, col),
        DecodedMap::Index(idx) => {
            let mut section = None;
            for s in idx.sections() {
                if s.get_offset() <= (line, col) {
                    section = Some(s);
                } else {
                    break;
                }
            }
            let s = section?;
            let (off_line, off_col) = s.get_offset();
            let col = if line == off_line { col - off_col } else { col };
            lookup(s.get_sourcemap()?, line - off_line, col)
        }
    }
}

fn lookup_regular(sm: &SourceMap, line: u32, col: u32) -> Option<Original> {
    let t = sm.lookup_token(line, col)?;
    // Like `originalPositionFor`: only a segment on the same generated line counts, and a
    // segment without a source maps nothing.
    if t.get_dst_line() != line || !t.has_source() {
        return None;
    }
    let src_line = t.get_src_line();
    let source_line = sm
        .get_source_view(t.get_src_id())
        .and_then(|v| v.get_line(src_line))
        .map(|l| l.trim_end_matches(['\r', '\n']).to_string());
    Some(Original {
        source: t.get_source().unwrap_or_default().to_string(),
        line: u64::from(src_line) + 1,
        column: u64::from(t.get_src_col()) + 1,
        name: t.get_name().map(str::to_string),
        source_line,
    })
}

impl<'a> Resolver<'a> {
    fn entry(&self, i: usize) -> &'a Entry {
        &self.cat.entries[i]
    }

    fn map(&mut self, sha: &str) -> Result<Rc<DecodedMap>, String> {
        if let Some(m) = self.maps.get(sha) {
            return m.clone();
        }
        let m = self
            .vault
            .get(&Stored::Map(sha.to_string()))
            .map_err(|e| format!("{e:#}"))
            .and_then(|bytes| {
                sourcemap::decode_slice(&bytes)
                    .map(Rc::new)
                    .map_err(|e| format!("vault map maps/{sha}.map does not decode: {e}"))
            });
        self.maps.insert(sha.to_string(), m.clone());
        m
    }

    /// Choose among entries that all match `what`: newest seal per (dist, bundle); one map or
    /// ambiguous.
    fn pick(&self, what: &str, cands: Vec<usize>, by: &'static str, note: Option<String>) -> Match {
        let cands: Vec<usize> = cands
            .into_iter()
            .filter(|&i| self.dist.is_none_or(|d| self.entry(i).dist == d))
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
                match self.dist {
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
                let list: Vec<String> = by_map
                    .values()
                    .flatten()
                    .map(|&i| {
                        let e = self.entry(i);
                        format!("{} in {}", e.bundle.lossy(), e.dist.display())
                    })
                    .collect();
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

    fn debug_index(&mut self) -> &HashMap<String, Vec<usize>> {
        if self.debug_ids.is_none() {
            let mut idx: HashMap<String, Vec<usize>> = HashMap::new();
            let mut from_map: HashMap<&str, Option<String>> = HashMap::new();
            for (i, e) in self.cat.entries.iter().enumerate() {
                if let Some(id) = e.debug_id.as_deref().and_then(debugid::normalize) {
                    idx.entry(id).or_default().push(i);
                }
                let id = from_map.entry(e.map.as_str()).or_insert_with(|| {
                    self.vault
                        .get(&Stored::Map(e.map.clone()))
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
            self.debug_ids = Some(idx);
        }
        self.debug_ids.get_or_insert_default()
    }

    fn by_debug_id(&mut self, id: &str, note: Option<String>) -> Match {
        let cands = self.debug_index().get(id).cloned().unwrap_or_default();
        self.pick(&format!("debug ID {id}"), cands, "debug-id", note)
    }

    fn by_path(&self, file: &str, note: Option<String>) -> Match {
        let segs = url_segments(file);
        if segs.is_empty() {
            return Match::Missing(
                Failure::NotFound,
                format!("{file:?} names no file (no path after the host)"),
            );
        }
        // The entry's whole path is a suffix of the URL's: the longest such path wins.
        let mut best: (usize, Vec<usize>) = (0, Vec::new());
        for (i, e) in self.cat.entries.iter().enumerate() {
            if self.dist.is_some_and(|d| e.dist != d) {
                continue;
            }
            let es = entry_segs(e);
            if es.len() <= segs.len()
                && segs[segs.len() - es.len()..]
                    .iter()
                    .zip(&es)
                    .all(|(a, b)| a == b)
            {
                if es.len() > best.0 {
                    best = (es.len(), Vec::new());
                }
                if es.len() == best.0 {
                    best.1.push(i);
                }
            }
        }
        if !best.1.is_empty() {
            return self.pick(file, best.1, "path", note);
        }
        // FILE is the end of an entry's path (`index.js` for `assets/index.js`).
        let cands: Vec<usize> = self
            .cat
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                let es = entry_segs(e);
                es.len() > segs.len()
                    && es[es.len() - segs.len()..]
                        .iter()
                        .zip(&segs)
                        .all(|(a, b)| *a == b.as_slice())
            })
            .map(|(i, _)| i)
            .collect();
        if cands.is_empty() {
            let what = match self.dist {
                Some(d) => format!(
                    "no sealed file in the vault matches {file:?} (in dist {})",
                    d.display()
                ),
                None => format!("no sealed file in the vault matches {file:?}"),
            };
            return Match::Missing(Failure::NotFound, what);
        }
        self.pick(file, cands, "path", note)
    }

    fn find(&mut self, file: &str) -> Match {
        if let Some(id) = debugid::normalize(file) {
            return self.by_debug_id(&id, None);
        }
        let local = file.strip_prefix("file://").unwrap_or(file);
        let mut note = None;
        if !local.contains("://") && Path::new(local).is_file() {
            match std::fs::read(local) {
                Ok(bytes) => {
                    let sha = hash::sha256_hex(&bytes);
                    let cands: Vec<usize> = (0..self.cat.entries.len())
                        .filter(|&i| self.entry(i).hashes.contains(&sha))
                        .collect();
                    if !cands.is_empty() {
                        return self.pick(file, cands, "sha256", None);
                    }
                    if let Some(id) = debug_id_comment(&bytes) {
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

    fn frame(
        &mut self,
        input_line: Option<u64>,
        function: Option<&str>,
        pos: &Position,
        cache: &mut HashMap<String, MatchKey>,
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
        let m = match cache.get(&pos.file) {
            Some(k) => k.clone(),
            None => {
                let k = match self.find(&pos.file) {
                    Match::Found { entry, by, note } => MatchKey::Found(entry, by, note),
                    Match::Missing(f, why) => MatchKey::Missing(f, why),
                };
                cache.insert(pos.file.clone(), k.clone());
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
        rep.bundle = Some(BundleRef {
            dist: e.dist.display().to_string(),
            path: e.bundle.lossy(),
            matched_by: by,
        });
        rep.map = Some(MapRef {
            sha256: e.map.clone(),
            path: e.map_path.as_ref().map(|p| p.lossy()),
        });
        if pos.line == 0 || pos.column == 0 {
            rep.failure = Some(Failure::Unmapped);
            rep.note = Some("LINE and COL are 1-based; 0 maps nothing".into());
            return rep;
        }
        let map = match self.map(&e.map.clone()) {
            Ok(m) => m,
            Err(why) => {
                rep.failure = Some(Failure::BadMap);
                rep.note = Some(why);
                return rep;
            }
        };
        match lookup(&map, pos.line - 1, pos.column - 1) {
            Some(o) => {
                rep.resolved = true;
                rep.original = Some(o);
            }
            None => {
                rep.failure = Some(Failure::Unmapped);
                let why = format!(
                    "the map of {} has no mapping at line {} column {}",
                    e.bundle.lossy(),
                    pos.line,
                    pos.column
                );
                rep.note = Some(match rep.note.take() {
                    Some(n) => format!("{why}; {n}"),
                    None => why,
                });
            }
        }
        rep
    }
}

#[derive(Debug, Clone)]
enum MatchKey {
    Found(usize, &'static str, Option<String>),
    Missing(Failure, String),
}

/// Resolve one position (`opts.position`) or every frame of `trace`.
pub fn resolve(
    opts: &ResolveOptions,
    trace: Option<&str>,
    on_wait: &mut dyn FnMut(&str),
) -> Result<ResolveReport> {
    let vault = Vault::open_shared(&opts.vault, on_wait)?;
    let manifest = vault.load_manifest()?;
    let cat = Catalog::build(&manifest);
    let mut notes = cat.notes.clone();
    if vault.has_journal() {
        notes.push(format!(
            "vault {} has an unfinished seal or unseal (journal.json); its files are not in the \
             manifest yet — run the same command again to finish it",
            opts.vault.display()
        ));
    }
    if let Some(d) = &opts.dist
        && !cat.dists().contains(d)
    {
        anyhow::bail!(
            "--dist {}: no dist of that path was sealed into vault {}",
            d.display(),
            opts.vault.display()
        );
    }
    let mut r = Resolver {
        vault: &vault,
        cat: &cat,
        dist: opts.dist.as_deref(),
        maps: HashMap::new(),
        debug_ids: None,
    };
    let mut cache = HashMap::new();
    let mut frames = Vec::new();
    let mut text = None;
    if let Some(pos) = &opts.position {
        frames.push(r.frame(None, None, pos, &mut cache));
    } else {
        let input = trace.unwrap_or_default();
        // Resolve every frame first: a frame's function is named from the frame below it.
        let lines: Vec<&str> = input.split_inclusive('\n').collect();
        let mut parsed = Vec::new();
        // For each input line, the index of its frame in `parsed` and `frames`.
        let mut frame_at: Vec<Option<usize>> = vec![None; lines.len()];
        for (n, raw) in lines.iter().enumerate() {
            let Some(f) = stacktrace::parse(raw.trim_end_matches(['\n', '\r'])) else {
                continue;
            };
            // Node's own modules were never in a dist: nothing to look up, nothing to report.
            if f.url.starts_with("node:") {
                continue;
            }
            let pos = Position {
                file: f.url.to_string(),
                line: f.line,
                column: f.column,
            };
            frames.push(r.frame(Some(n as u64 + 1), f.function, &pos, &mut cache));
            frame_at[n] = Some(parsed.len());
            parsed.push(f);
        }
        let mut out = String::with_capacity(input.len());
        for (n, raw) in lines.iter().enumerate() {
            let Some((f, o)) =
                frame_at[n].and_then(|k| Some((&parsed[k], frames[k].original.as_ref()?)))
            else {
                out.push_str(raw);
                continue;
            };
            // The map's name at this frame's own position is whatever token sits there (a
            // callee, a property), not the function the frame is in. The function's original
            // name is the name at its call site: the position of the frame on the next line,
            // when the trace goes on there (as Node's --enable-source-maps does).
            let caller = frame_at
                .get(n + 1)
                .copied()
                .flatten()
                .and_then(|j| frames[j].original.as_ref()?.name.as_deref());
            let body = raw.trim_end_matches(['\n', '\r']);
            out.push_str(&stacktrace::render(f, caller, &o.source, o.line, o.column));
            out.push_str(&raw[body.len()..]);
        }
        if frames.is_empty() {
            notes.push("no stack frames found in the input (V8 `at fn (url:line:col)` or Firefox/Safari `fn@url:line:col`)".into());
        }
        text = Some(out);
    }
    let resolved = frames.iter().filter(|f| f.resolved).count();
    Ok(ResolveReport {
        unresolved: frames.len() - resolved,
        resolved,
        frames,
        text,
        notes,
    })
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
    fn lookup_follows_index_maps_and_keeps_to_the_line() -> Result<(), String> {
        // Section 1 at (0,0): "a.js" line 0 col 0 -> src 0:0 name "alpha".
        // Section 2 at (1,4): "b.js" line 0 col 0 -> src 2:3.
        let index = br#"{"version":3,"sections":[
          {"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js"],"names":["alpha"],"sourcesContent":["let alpha = 1;\n"],"mappings":"AAAAA"}},
          {"offset":{"line":1,"column":4},"map":{"version":3,"sources":["b.js"],"names":[],"mappings":"AAEG"}}]}"#;
        let m = sourcemap::decode_slice(index).map_err(|e| e.to_string())?;
        let a = lookup(&m, 0, 7).ok_or("no mapping in section 1")?;
        assert_eq!((a.source.as_str(), a.line, a.column), ("a.js", 1, 1));
        assert_eq!(a.name.as_deref(), Some("alpha"));
        assert_eq!(a.source_line.as_deref(), Some("let alpha = 1;"));
        let b = lookup(&m, 1, 9).ok_or("no mapping in section 2")?;
        assert_eq!((b.source.as_str(), b.line, b.column), ("b.js", 3, 4));
        // Line 1 before the second section's offset falls in section 1, which has nothing on
        // its line 1: unmapped (not the segment of line 0).
        assert_eq!(lookup(&m, 1, 2), None);
        Ok(())
    }
}
