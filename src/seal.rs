//! `mapvault seal DIST`: find every leak, plan the exact edits and moves (pure), commit the plan
//! as a journal, apply it ([`crate::apply`]), record it in the manifest, then verify the dist.
//! `--dry-run` stops after the plan.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::apply;
use crate::compress::Codec;
use crate::inspect::{self, Loaded};
use crate::relpath::{RawPath, RelPath};
use crate::report::{ErrorRecord, LeakRecord, NoteRecord};
use crate::scan::{self, FileKind, LeakKind, datauri, url};
use crate::vault::fsutil::{self, hex_digest};
use crate::vault::journal::{How, Journal, Op, Step};
use crate::vault::manifest::{
    Action, Bytes, DirRecord, EditKind, EditRecord, FileRecord, Inserted, RewriteKind, SealRecord,
    Stored, TargetKind,
};
use crate::vault::{self, Vault, multihash};
use crate::verify;
use crate::walk::{self, FileEntry, Meta};

/// An edit is applied in place (the file's tail rewritten, no new copy) when the new tail, which
/// the journal spells out, is at most this long…
pub const TAIL_MAX: u64 = 64 * 1024;
/// …and the old tail, which the journal names by hash and commit reads back to check, at most
/// this long (a bundle ending in an inline map of up to ~1 MiB is cut, not copied).
pub const OLD_TAIL_MAX: u64 = 1 << 20;
/// Removed bytes up to this size are kept in the manifest itself; larger ones go to `blobs/`.
pub const INLINE_TEXT_MAX: usize = 4096;

#[derive(Debug, Clone)]
pub struct SealOptions {
    /// Canonical absolute path of the dist.
    pub dist: PathBuf,
    /// Absolute path of the vault.
    pub vault: PathBuf,
    pub dry_run: bool,
    /// `--debug-ids`: give bundles and their maps debug IDs.
    pub debug_ids: Option<DebugIds>,
    /// `--allow GLOB`: files left exactly as they are (their leaks end up in `allowed`).
    pub allow: crate::allow::AllowList,
}

/// One thing seal did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord {
    pub path: String,
    /// `strip` (a reference comment), `move` (a map file), `extract` (an inline map),
    /// `remove-dir` (a directory left empty).
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub detail: String,
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

// ---------------------------------------------------------------------------------------------
// Inspection: read each file once, find its leaks, hash what the vault and manifest need.

/// A map file found in the dist.
#[derive(Debug, Clone)]
struct MapSeen {
    sha: String,
    size: u64,
}

#[derive(Debug, Clone)]
struct InlineSeen {
    sha: String,
    size: u64,
}

/// One reference to cut.
#[derive(Debug, Clone)]
struct Cut {
    form: scan::Form,
    offset: u64,
    len: u64,
    line: u64,
    url: Vec<u8>,
    url_offset: u64,
    removed_sha: String,
    removed: Bytes,
    /// Needs `blobs/<removed_sha>` (too large for the manifest).
    blob: bool,
    inline: Option<Result<InlineSeen, String>>,
    /// Text put where the cut bytes were (`seal --debug-ids`); empty for a plain cut.
    insert: String,
    /// Set for a pure insertion (nothing removed) made to keep the dist consistent.
    rewrite: Option<RewriteKind>,
}

/// What `seal --debug-ids` adds to a bundle's edit.
#[derive(Debug, Clone, Default)]
struct Extra {
    /// Replace the last reference (a `//` comment near the end) with this text.
    replace_last: Option<String>,
    /// Append this text after the last byte.
    append: Option<String>,
    /// Replace `(offset, len)` with the text (recomputed hashes); never overlapping a reference.
    rewrites: Vec<(u64, u64, String, RewriteKind)>,
}

/// A debug ID given to a bundle (or its map) by `seal --debug-ids`.
#[derive(Debug, Clone)]
struct DebugSeen {
    id: String,
    /// The map is also stored with `"debugId"` inserted: what goes where, and the result.
    store: Option<MapWithId>,
    /// The external map (dist path) this bundle's ID names, when it was paired by name.
    guessed_map: Option<RelPath>,
    /// The vault object holding the map with this ID in it (when seal added it).
    map_sha_with_id: Option<String>,
}

/// The manifest fields of a file's debug ID: `debug_id`, `inserted`, `debug_map_sha256`.
fn debug_fields(d: Option<&DebugSeen>) -> (Option<String>, Option<Inserted>, Option<String>) {
    let Some(d) = d else {
        return (None, None, None);
    };
    let inserted = d.store.as_ref().map(|m| Inserted {
        offset: m.offset,
        text: m.text.clone(),
    });
    (Some(d.id.clone()), inserted, d.map_sha_with_id.clone())
}

#[derive(Debug, Clone)]
struct MapWithId {
    /// `Some((url_offset, url_len))` for an inline map in the bundle; `None`: the file is the map.
    inline: Option<(u64, u64)>,
    offset: u64,
    text: String,
    sha: String,
}

#[derive(Debug, Clone)]
struct EditSeen {
    original_sha: String,
    sealed_sha: String,
    sealed_size: u64,
    cuts: Vec<Cut>,
    /// The in-place change, when the edit is near enough the end ([`TAIL_MAX`], [`OLD_TAIL_MAX`]).
    tail: Option<How>,
}

/// A precompressed copy (`x.js.gz`) with something to seal inside.
#[derive(Debug, Clone)]
enum Packed {
    /// A compressed source map: moved (its compressed bytes to `blobs/`, decoded to `maps/`).
    Map { codec: Codec, inner_sha: String },
    /// References inside: regenerate the copy from the sealed content.
    Refs {
        codec: Codec,
        inner_name: Vec<u8>,
        file_sha: String,
        inner: Box<EditSeen>,
        new_sha: String,
        new_size: u64,
    },
}

#[derive(Debug)]
struct Seen {
    entry: FileEntry,
    /// The file is a map (for a compressed map: sha and size of the compressed file).
    map: Option<MapSeen>,
    edit: Option<EditSeen>,
    packed: Option<Packed>,
    note: Option<String>,
    error: Option<String>,
    /// The references behind `edit` (kept for `--debug-ids`, which plans the edit again).
    refs: Vec<scan::Reference>,
    debug: Option<DebugSeen>,
}

/// Maps hashed per group by a handful per core, side by side.
const MAP_GROUP: usize = 32;

/// Inspect every file the allow-list does not exempt, in the walk's order. Files named as maps
/// are only hashed, [`multihash::LANES`] at a time per core; the rest go through
/// [`inspect_one`].
fn inspect_all(files: &[FileEntry], allow: &crate::allow::AllowList) -> Vec<Seen> {
    let files: Vec<(&FileEntry, FileKind)> = files
        .iter()
        .filter(|f| !allow.allows_file(&f.rel))
        .map(|f| (f, scan::classify(f.rel.file_name())))
        .collect();
    let (maps, others): (Vec<_>, Vec<_>) = files
        .iter()
        .copied()
        .partition(|(_, k)| *k == FileKind::MapName);
    let maps: Vec<&FileEntry> = maps.into_iter().map(|(f, _)| f).collect();

    let maps: Vec<Seen> = maps
        .par_chunks(MAP_GROUP)
        .flat_map_iter(|group| {
            inspect_maps(group)
                .into_iter()
                .map(crate::progress::counted)
        })
        .collect();

    let others: Vec<Seen> = others
        .par_iter()
        .map_init(Vec::new, |buf, (f, kind)| {
            crate::progress::counted(inspect_one(f, *kind, buf))
        })
        .collect();
    let (mut maps, mut others) = (maps.into_iter(), others.into_iter());
    files
        .iter()
        .filter_map(|(_, kind)| {
            if *kind == FileKind::MapName {
                maps.next()
            } else {
                others.next()
            }
        })
        .collect()
}

/// Hash a group of maps: each from the same open file whose metadata is recorded.
fn inspect_maps(group: &[&FileEntry]) -> Vec<Seen> {
    let mut metas: Vec<Option<Meta>> = vec![None; group.len()];
    let hashed = multihash::hash_all(group.iter().zip(metas.iter_mut()).map(|(e, meta)| {
        let f = inspect::open_nofollow(&e.path)?;
        *meta = Some(Meta::from_std(&f.metadata()?));
        Ok(f)
    }));
    group
        .iter()
        .zip(metas)
        .zip(hashed)
        .map(|((entry, meta), hashed)| {
            let mut seen = Seen::new(entry);
            match (hashed, meta) {
                (Ok((sha, size)), Some(meta)) => {
                    seen.entry.meta = meta;
                    seen.map = Some(MapSeen { sha, size });
                }
                (Err(e), _) => seen.error = Some(format!("cannot read: {e}")),
                (Ok(_), None) => seen.error = Some("cannot read: no metadata".into()),
            }
            seen
        })
        .collect()
}

impl Seen {
    fn new(entry: &FileEntry) -> Seen {
        Seen {
            entry: entry.clone(),
            map: None,
            edit: None,
            packed: None,
            note: None,
            error: None,
            refs: Vec::new(),
            debug: None,
        }
    }
}

/// Inspect one file of the given kind (its [`scan::classify`]), never [`FileKind::MapName`]:
/// [`inspect_all`] hashes those in groups with [`inspect_maps`].
fn inspect_one(entry: &FileEntry, kind: FileKind, buf: &mut Vec<u8>) -> Seen {
    debug_assert_ne!(kind, FileKind::MapName, "maps go through inspect_maps");
    let mut seen = Seen::new(entry);

    let (loaded, meta) = match inspect::load_stat(entry, kind, buf, true) {
        Ok(l) => l,
        Err(e) => {
            seen.error = Some(format!("cannot read: {e}"));
            return seen;
        }
    };
    if !matches!(loaded, Loaded::All) {
        return seen;
    }
    // Metadata of the bytes we hold (fstat of the open file): compare sizes so a file growing
    // under us is noticed here rather than at commit time.
    if let Some(meta) = meta {
        if meta.size != buf.len() as u64 {
            seen.error = Some("file changed while it was being read".into());
            return seen;
        }
        seen.entry.meta = meta;
    }
    let a = inspect::analyze(entry, kind, &loaded, buf);
    seen.note = a.notes.first().map(|n| n.message.clone());
    if let Some(e) = &a.error {
        seen.error = Some(e.clone());
        return seen;
    }
    if let Some(inner) = &a.inner {
        let file_sha = fsutil::sha256_hex(buf);
        if inner.analysis.is_map() {
            seen.map = Some(MapSeen {
                sha: file_sha,
                size: buf.len() as u64,
            });
            seen.packed = Some(Packed::Map {
                codec: inner.codec,
                inner_sha: fsutil::sha256_hex(&inner.bytes),
            });
        } else if !inner.analysis.refs.is_empty() {
            let edit = plan_edit(
                &inner.bytes,
                &inner.analysis.refs,
                &seen.entry.meta,
                &Extra::default(),
            );
            let sealed = cut(
                &inner.bytes,
                &edit
                    .cuts
                    .iter()
                    .map(|c| (c.offset, c.len))
                    .collect::<Vec<_>>(),
            );
            match crate::compress::compress(inner.codec, &sealed) {
                Ok(z) => {
                    seen.packed = Some(Packed::Refs {
                        codec: inner.codec,
                        inner_name: inner.name.clone(),
                        file_sha,
                        inner: Box::new(edit),
                        new_sha: fsutil::sha256_hex(&z),
                        new_size: z.len() as u64,
                    });
                }
                Err(e) => seen.error = Some(format!("cannot compress the sealed copy: {e}")),
            }
        }
        return seen;
    }
    if a.is_map() {
        seen.map = Some(MapSeen {
            sha: fsutil::sha256_hex(buf),
            size: buf.len() as u64,
        });
        return seen;
    }
    if !a.refs.is_empty() {
        seen.edit = Some(plan_edit(buf, &a.refs, &seen.entry.meta, &Extra::default()));
        seen.refs = a.refs;
    }
    seen
}

/// `bytes` with each `cuts[i]` range replaced by `inserts[i]` (no insert when `inserts` is
/// shorter).
pub fn splice(bytes: &[u8], cuts: &[(u64, u64)], inserts: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + inserts.iter().map(String::len).sum::<usize>());
    let mut pos = 0usize;
    for (i, &(o, l)) in cuts.iter().enumerate() {
        let (o, e) = (o as usize, (o + l) as usize);
        out.extend_from_slice(&bytes[pos..o]);
        if let Some(t) = inserts.get(i) {
            out.extend_from_slice(t.as_bytes());
        }
        pos = e;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

/// `bytes` with the `(offset, len)` ranges removed.
pub fn cut(bytes: &[u8], cuts: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut pos = 0usize;
    for &(o, l) in cuts {
        let (o, e) = (o as usize, (o + l) as usize);
        out.extend_from_slice(&bytes[pos..o]);
        pos = e;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

/// Work out the cuts for one file's references, how each removed span is stored, the hashes of
/// the file before and after, and whether the edit fits in the tail.
fn plan_edit(buf: &[u8], refs: &[scan::Reference], meta: &Meta, extra: &Extra) -> EditSeen {
    let mut cuts = Vec::with_capacity(refs.len());
    for r in refs {
        let removed = &buf[r.span.clone()];
        let url = buf[r.url.clone()].to_vec();
        let removed_sha = fsutil::sha256_hex(removed);
        let mut stored: Option<Bytes> = None;
        let inline = datauri::is_data_uri(&url).then(|| match datauri::decode(&url) {
            Ok(d) => {
                let sha = fsutil::sha256_hex(&d.data);
                // An exactly re-encodable comment is rebuilt from the vaulted map at unseal.
                if let Some(p) = datauri::canonical_prefix(&url, &d.data) {
                    let prefix_len = r.url.start - r.span.start + p;
                    if prefix_len + (url.len() - p) == removed.len()
                        && let Ok(prefix) = std::str::from_utf8(&removed[..prefix_len])
                    {
                        stored = Some(Bytes::InlineMap {
                            map: sha.clone(),
                            prefix: prefix.to_owned(),
                        });
                    }
                }
                Ok(InlineSeen {
                    sha,
                    size: d.data.len() as u64,
                })
            }
            Err(e) => Err(e.to_string()),
        });
        let mut blob = false;
        let removed_bytes = stored.unwrap_or_else(|| {
            if removed.len() <= INLINE_TEXT_MAX {
                match std::str::from_utf8(removed) {
                    Ok(t) => Bytes::Text(t.to_owned()),
                    Err(_) => Bytes::Base64(B64.encode(removed)),
                }
            } else {
                blob = true;
                Bytes::Blob(removed_sha.clone())
            }
        });
        cuts.push(Cut {
            form: r.form,
            offset: r.span.start as u64,
            len: (r.span.end - r.span.start) as u64,
            line: r.line,
            url,
            url_offset: r.url.start as u64,
            removed_sha,
            removed: removed_bytes,
            blob,
            inline,
            insert: String::new(),
            rewrite: None,
        });
    }
    if let (Some(t), Some(last)) = (&extra.replace_last, cuts.last_mut()) {
        last.insert.clone_from(t);
    }
    for (offset, len, text, kind) in &extra.rewrites {
        let old = &buf[*offset as usize..(*offset + *len) as usize];
        cuts.push(Cut {
            form: scan::Form::LineComment,
            offset: *offset,
            len: *len,
            line: 0,
            url: Vec::new(),
            url_offset: *offset,
            removed_sha: fsutil::sha256_hex(old),
            removed: Bytes::Text(String::from_utf8_lossy(old).into_owned()),
            blob: false,
            inline: None,
            insert: text.clone(),
            rewrite: Some(*kind),
        });
    }
    cuts.sort_by_key(|c| c.offset);

    if let Some(t) = &extra.append {
        cuts.push(Cut {
            form: scan::Form::LineComment,
            offset: buf.len() as u64,
            len: 0,
            line: 0,
            url: Vec::new(),
            url_offset: buf.len() as u64,
            removed_sha: fsutil::sha256_hex(b""),
            removed: Bytes::Text(String::new()),
            blob: false,
            inline: None,
            insert: t.clone(),
            rewrite: Some(if t.contains("_sentryDebugIds") {
                RewriteKind::DebugIdSnippet
            } else {
                RewriteKind::DebugId
            }),
        });
    }
    // Hash prefix once, then fork for original / sealed / prefix hashes.
    let start = cuts.first().map_or(0, |c| c.offset) as usize;
    let mut h = Sha256::new();
    h.update(&buf[..start]);
    let prefix_sha = hex_digest(h.clone());
    let mut orig = h.clone();
    orig.update(&buf[start..]);
    let mut sealed = h;
    let mut sealed_tail = Vec::new();
    let mut pos = start;
    let removed_total: u64 = cuts.iter().map(|c| c.len).sum();
    let inserted_total: u64 = cuts.iter().map(|c| c.insert.len() as u64).sum();
    let old_tail = (buf.len() - start) as u64;
    let in_tail = old_tail <= OLD_TAIL_MAX && old_tail - removed_total + inserted_total <= TAIL_MAX;
    for c in &cuts {
        let (o, e) = (c.offset as usize, (c.offset + c.len) as usize);
        sealed.update(&buf[pos..o]);
        sealed.update(c.insert.as_bytes());
        if in_tail {
            sealed_tail.extend_from_slice(&buf[pos..o]);
            sealed_tail.extend_from_slice(c.insert.as_bytes());
        }
        pos = e;
    }
    sealed.update(&buf[pos..]);
    if in_tail {
        sealed_tail.extend_from_slice(&buf[pos..]);
    }
    let writable_single_link =
        meta.nlink == 1 && meta.mode & 0o200 != 0 && meta.uid == fsutil::euid();

    let tail = (in_tail && writable_single_link)
        .then(|| How::in_place(start as u64, &buf[start..], &sealed_tail, prefix_sha));
    EditSeen {
        original_sha: hex_digest(orig),
        sealed_sha: hex_digest(sealed),
        sealed_size: buf.len() as u64 - removed_total + inserted_total,
        cuts,
        tail,
    }
}

// ---------------------------------------------------------------------------------------------
// Planning: pure, from what inspection saw to a journal, a manifest record and a report.

struct Plan {
    journal: Journal,
    actions: Vec<ActionRecord>,
    notes: Vec<NoteRecord>,
    errors: Vec<ErrorRecord>,
    /// Files that would still leak after the plan (none today: every leak found is planned).
    stats: Stats,
}

#[derive(Default, Clone, Copy)]
struct Stats {
    references: u64,
    files_edited: u64,
    maps_moved: u64,
    map_bytes: u64,
    inline: u64,
    dirs_removed: u64,
}

fn new_id(prefix: &str) -> String {
    let now = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace([':', '-'], "");
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let salt = fsutil::sha256_hex(format!("{nanos}:{}", std::process::id()).as_bytes());
    format!("{prefix}-{stamp}-{}", &salt[..8])
}

fn temp_for(vault: &Vault, entry: &FileEntry, jid: &str, n: usize) -> RawPath {
    if entry.meta.dev == vault.dev() {
        RawPath::from_path(&vault.tmp_dir().join(format!("{jid}-{n}")))
    } else {
        let dir = entry.path.parent().unwrap_or(Path::new("."));
        RawPath::from_path(&dir.join(format!(".mapvault-{jid}-{n}.tmp")))
    }
}

/// Does the plain file `rel` already hold `sealed_sha` — what its precompressed copy gives once
/// sealed? Then an earlier seal stopped (a write error, e.g. a copy that could not be replaced)
/// after the plain file and before its copy, and regenerating the copy finishes that seal.
fn holds_sealed(dist: &Path, rel: &RelPath, sealed_sha: &str) -> bool {
    rel.under(dist)
        .and_then(|p| fsutil::hash_file(&p).ok())
        .is_some_and(|(sha, _)| sha == sealed_sha)
}

#[allow(clippy::too_many_lines)]
fn plan(opts: &SealOptions, vault: Option<&Vault>, seen: &[Seen], w: &walk::Walk) -> Plan {
    let jid = new_id("seal");
    let dist_raw = RawPath::from_path(&opts.dist);
    let mut journal = Journal::new(Op::Seal, jid.clone(), dist_raw.clone());
    let mut record = SealRecord {
        id: jid.clone(),
        dist: dist_raw,
        sealed_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        tool: format!("mapvault {}", env!("CARGO_PKG_VERSION")),
        files: Vec::new(),
        dirs: Vec::new(),
    };
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    let mut errors = Vec::new();
    let mut stats = Stats::default();
    let vault_dev = vault.map(Vault::dev);

    // Maps by content hash, to store each once. A compressed map is kept as its exact
    // compressed bytes (a blob, for unseal) plus its decoded content (a map, for lookups).
    let maps: Vec<&Seen> = seen.iter().filter(|s| s.map.is_some()).collect();
    let object_of = |s: &Seen| -> Stored {
        let sha = s.map.as_ref().map(|m| m.sha.clone()).unwrap_or_default();
        if matches!(s.packed, Some(Packed::Map { .. })) {
            Stored::Blob(sha)
        } else {
            Stored::Map(sha)
        }
    };
    let mut by_obj: BTreeMap<Stored, Vec<&Seen>> = BTreeMap::new();
    for s in &maps {
        by_obj.entry(object_of(s)).or_default().push(s);
    }
    // Every object the plan may ask about, looked up at once.
    let present = vault.map(|v| {
        let extra: Vec<Stored> = seen
            .iter()
            .filter_map(|s| match &s.packed {
                Some(Packed::Map { inner_sha, .. }) => Some(Stored::Map(inner_sha.clone())),
                Some(Packed::Refs { file_sha, .. }) => Some(Stored::Blob(file_sha.clone())),
                None => None,
            })
            .collect();
        v.which_present(by_obj.keys().chain(&extra))
    });
    let vault_has = |s: &Stored| present.as_ref().is_some_and(|p| p.contains(s));

    let map_sha_of: HashMap<&[u8], &str> = maps
        .iter()
        .filter(|s| s.packed.is_none())
        .filter_map(|s| {
            s.map
                .as_ref()
                .map(|m| (s.entry.rel.as_bytes(), m.sha.as_str()))
        })
        .collect();
    let plain_map_shas: BTreeSet<&str> = map_sha_of.values().copied().collect();
    let all_files: BTreeSet<&[u8]> = w.files.iter().map(|f| f.rel.as_bytes()).collect();
    let links: BTreeSet<&[u8]> = w.symlinks.iter().map(|(r, _)| r.as_bytes()).collect();
    let me = fsutil::euid();
    let mut decoded_planned = BTreeSet::new();

    for (obj, group) in &by_obj {
        let first = group[0];
        let renameable = group.len() == 1
            && !vault_has(obj)
            && Some(first.entry.meta.dev) == vault_dev
            && first.entry.meta.nlink == 1
            && first.entry.meta.uid == me;
        if let Some(Packed::Map { codec, inner_sha }) = &first.packed {
            let decoded = Stored::Map(inner_sha.clone());
            if !vault_has(&decoded)
                && !plain_map_shas.contains(inner_sha.as_str())
                && decoded_planned.insert(inner_sha.clone())
            {
                journal.steps.push(Step::StoreDecoded {
                    path: first.entry.rel.clone(),
                    codec: *codec,
                    sha256: inner_sha.clone(),
                });
            }
        }
        if let Some(m) = first.debug.as_ref().and_then(|d| d.store.as_ref()) {
            journal.steps.push(Step::StoreWithDebugId {
                path: first.entry.rel.clone(),
                inline: None,
                offset: m.offset,
                text: m.text.clone(),
                sha256: m.sha.clone(),
            });
        }
        if renameable {
            journal.steps.push(Step::RenameIn {
                path: first.entry.rel.clone(),
                to: obj.clone(),
                meta: first.entry.meta,
            });
        } else {
            if !vault_has(obj) {
                journal.steps.push(Step::CopyIn {
                    path: first.entry.rel.clone(),
                    to: obj.clone(),
                    meta: first.entry.meta,
                });
            }
            for s in group {
                journal.steps.push(Step::Unlink {
                    path: s.entry.rel.clone(),
                    object: obj.clone(),
                    meta: s.entry.meta,
                });
            }
        }
        for s in group {
            let m = s.map.as_ref().map_or(0, |m| m.size);
            stats.maps_moved += 1;
            stats.map_bytes += m;
            let (codec, decoded) = match &s.packed {
                Some(Packed::Map { codec, inner_sha }) => (Some(*codec), Some(inner_sha.clone())),
                _ => (None, None),
            };
            let (debug_id, inserted, debug_map_sha256) = debug_fields(s.debug.as_ref());
            record.files.push(FileRecord {
                path: s.entry.rel.clone(),
                action: Action::Moved,
                sha256: obj.sha().to_string(),
                size: m,
                mode: s.entry.meta.mode,
                mtime: s.entry.meta.mtime,
                mtime_nsec: s.entry.meta.mtime_nsec,
                stored: Some(obj.clone()),
                sealed_sha256: None,
                sealed_size: None,
                edits: Vec::new(),
                codec,
                map_sha256: decoded.clone(),
                debug_id,
                inserted,
                debug_map_sha256,
            });

            let how = if group.len() > 1 {
                format!(" (same bytes as {} other)", group.len() - 1)
            } else {
                String::new()
            };
            let detail = match (codec, &decoded) {
                (Some(c), Some(d)) => format!(
                    "{} source map, {m} bytes → blobs/{}, decoded → maps/{d}.map{how}",
                    c.name(),
                    obj.sha()
                ),
                _ => format!("source map, {m} bytes → maps/{}.map{how}", obj.sha()),
            };
            actions.push(ActionRecord {
                path: s.entry.rel.lossy(),
                action: "move",
                line: None,
                detail,
            });
        }
    }

    // Precompressed copies with references inside: regenerate from sealed content, but only
    // when they are copies of what the dist holds (or there is no plain file): never guess.
    let original_sha_of: HashMap<&[u8], &str> = seen
        .iter()
        .filter_map(|s| {
            let sha = s
                .edit
                .as_ref()
                .map(|e| e.original_sha.as_str())
                .or(s.map.as_ref().map(|m| m.sha.as_str()))?;
            Some((s.entry.rel.as_bytes(), sha))
        })
        .collect();
    for (n, s) in seen.iter().enumerate() {
        let Some(Packed::Refs {
            codec,
            inner_name,
            file_sha,
            inner,
            new_sha,
            new_size,
        }) = &s.packed
        else {
            continue;
        };
        let rel = &s.entry.rel;
        let plain = rel
            .parent()
            .map_or_else(|| RelPath::new(inner_name.clone()), |p| p.join(inner_name));
        if all_files.contains(plain.as_bytes())
            && original_sha_of.get(plain.as_bytes()).copied() != Some(inner.original_sha.as_str())
            && !holds_sealed(&opts.dist, &plain, &inner.sealed_sha)
        {
            errors.push(ErrorRecord {
                kind: None,
                path: rel.lossy(),
                message: format!(
                    "does not decompress to {} (a stale precompressed copy?): not regenerated, rebuild or delete it",
                    plain.lossy()
                ),
            });
            continue;
        }
        let blob = Stored::Blob(file_sha.clone());
        if !vault_has(&blob) {
            journal.steps.push(Step::CopyIn {
                path: rel.clone(),
                to: blob.clone(),
                meta: s.entry.meta,
            });
        }
        journal.steps.push(Step::Recompress {
            path: rel.clone(),
            meta: s.entry.meta,
            codec: *codec,
            original_sha256: file_sha.clone(),
            inner_sha256: inner.original_sha.clone(),
            cuts: inner.cuts.iter().map(|c| (c.offset, c.len)).collect(),
            inserts: inserts_of(&inner.cuts),
            new_sha256: new_sha.clone(),
            temp: vault.map_or_else(RawPath::default, |v| temp_for(v, &s.entry, &jid, n)),
        });
        stats.files_edited += 1;
        stats.references += inner.cuts.len() as u64;
        record.files.push(FileRecord {
            path: rel.clone(),
            action: Action::Replaced,
            sha256: file_sha.clone(),
            size: s.entry.meta.size,
            mode: s.entry.meta.mode,
            mtime: s.entry.meta.mtime,
            mtime_nsec: s.entry.meta.mtime_nsec,
            stored: Some(blob.clone()),
            sealed_sha256: Some(new_sha.clone()),
            sealed_size: Some(*new_size),
            edits: Vec::new(),
            codec: Some(*codec),
            map_sha256: None,
            debug_id: None,
            inserted: None,
            debug_map_sha256: None,
        });
        actions.push(ActionRecord {
            path: rel.lossy(),
            action: "recompress",
            line: None,
            detail: format!(
                "{} copy of {}: {} removed inside, regenerated from the sealed bytes; original → blobs/{file_sha}",
                codec.name(),
                String::from_utf8_lossy(inner_name),
                crate::report::human::plural(inner.cuts.len() as u64, "reference")
            ),
        });
    }

    for (n, s) in seen.iter().enumerate() {
        let Some(e) = &s.edit else { continue };
        let rel = &s.entry.rel;
        let mut edits = Vec::new();
        for c in &e.cuts {
            if let Some(kind) = c.rewrite
                && matches!(kind, RewriteKind::Integrity | RewriteKind::NgswHash)
            {
                let what = if kind == RewriteKind::Integrity {
                    "integrity"
                } else {
                    "ngsw.json hash"
                };
                actions.push(ActionRecord {
                    path: rel.lossy(),
                    action: "rehash",
                    line: None,
                    detail: format!("{what} {} → {}", c.removed_text(), c.insert),
                });
                edits.push(EditRecord {
                    offset: c.offset,
                    len: c.len,
                    removed_sha256: c.removed_sha.clone(),
                    removed: c.removed.clone(),
                    kind: EditKind::Rewrite(kind),
                    line: None,
                    url: None,
                    target: TargetKind::Empty,
                    map_path: None,
                    map_sha256: None,
                    inserted: Some(c.insert.clone()),
                });
                continue;
            }
            if let Some(kind) = c.rewrite {
                // An insertion `--debug-ids` made (a bundle paired with its map by name).
                let guessed = s.debug.as_ref().and_then(|d| d.guessed_map.clone());
                let map_sha = guessed
                    .as_ref()
                    .and_then(|p| map_sha_of.get(p.as_bytes()))
                    .map(|s| (*s).to_string());
                actions.push(ActionRecord {
                    path: rel.lossy(),
                    action: "debug-id",
                    line: None,
                    detail: format!(
                        "{} appended after the last line",
                        if kind == RewriteKind::DebugIdSnippet {
                            "Sentry snippet and //# debugId comment"
                        } else {
                            "//# debugId comment"
                        }
                    ),
                });
                edits.push(EditRecord {
                    offset: c.offset,
                    len: 0,
                    removed_sha256: c.removed_sha.clone(),
                    removed: c.removed.clone(),
                    kind: EditKind::Rewrite(kind),
                    line: None,
                    url: None,
                    target: if guessed.is_some() {
                        TargetKind::Inside
                    } else {
                        TargetKind::Empty
                    },
                    map_path: guessed,
                    map_sha256: map_sha,
                    inserted: Some(c.insert.clone()),
                });
                continue;
            }
            let (target, map_path, map_sha) = match url::resolve(rel.as_bytes(), &c.url) {
                url::Target::Inline => (
                    TargetKind::Inline,
                    None,
                    c.inline
                        .as_ref()
                        .and_then(|r| r.as_ref().ok())
                        .map(|i| i.sha.clone()),
                ),
                url::Target::Absolute => (TargetKind::Absolute, None, None),
                url::Target::Outside => (TargetKind::Outside, None, None),
                url::Target::Empty => (TargetKind::Empty, None, None),
                url::Target::Inside(p) => {
                    let path = Some(RelPath::new(p.clone()));
                    if let Some(sha) = map_sha_of.get(p.as_slice()) {
                        (TargetKind::Inside, path, Some((*sha).to_string()))
                    } else if opts.allow.allows_file(&RelPath::new(p.clone())) {
                        notes.push(NoteRecord::new(rel.lossy(), format!("line {}: reference points at {}, left in place by --allow; comment removed (allow this file too to keep it)", c.line, String::from_utf8_lossy(&p))));
                        (TargetKind::NotAMap, path, None)
                    } else if all_files.contains(p.as_slice()) || links.contains(p.as_slice()) {
                        notes.push(NoteRecord::new(rel.lossy(), format!("line {}: reference points at {} which is not a source map; comment removed, file left in place", c.line, String::from_utf8_lossy(&p))));
                        (TargetKind::NotAMap, path, None)
                    } else {
                        (TargetKind::Missing, path, None)
                    }
                }
            };
            let kind = LeakKind::of(c.form, &c.url);
            match &c.inline {
                Some(Ok(i)) => {
                    journal.steps.push(Step::StoreInline {
                        path: rel.clone(),
                        url_offset: c.url_offset,
                        url_len: c.url.len() as u64,
                        sha256: i.sha.clone(),
                    });
                    if let Some(m) = s.debug.as_ref().and_then(|d| d.store.as_ref())
                        && m.inline == Some((c.url_offset, c.url.len() as u64))
                    {
                        journal.steps.push(Step::StoreWithDebugId {
                            path: rel.clone(),
                            inline: m.inline,
                            offset: m.offset,
                            text: m.text.clone(),
                            sha256: m.sha.clone(),
                        });
                    }
                    stats.inline += 1;
                    actions.push(ActionRecord {
                        path: rel.lossy(),
                        action: "extract",
                        line: Some(c.line),
                        detail: format!("inline source map, {} bytes decoded → maps/{}.map", i.size, i.sha),
                    });
                }
                Some(Err(why)) => notes.push(NoteRecord::new(
                    rel.lossy(),
                    format!("line {}: inline map does not decode ({why}); comment removed, its bytes kept in the vault", c.line),
                )),
                None => {}
            }
            if c.blob {
                journal.steps.push(Step::StoreBlob {
                    path: rel.clone(),
                    offset: c.offset,
                    len: c.len,
                    sha256: c.removed_sha.clone(),
                });
            }
            let shown = if c.inline.is_some() {
                "data: URI".to_string()
            } else {
                crate::sanitize::truncate(&String::from_utf8_lossy(&c.url), 160)
            };
            let replaced = if c.insert.is_empty() {
                String::new()
            } else {
                format!("; replaced by {}", c.insert)
            };
            actions.push(ActionRecord {
                path: rel.lossy(),
                action: "strip",
                line: Some(c.line),
                detail: format!(
                    "sourceMappingURL={shown} ({} bytes; target: {}){replaced}",
                    c.len,
                    target_name(target)
                ),
            });
            stats.references += 1;
            edits.push(EditRecord {
                offset: c.offset,
                len: c.len,
                removed_sha256: c.removed_sha.clone(),
                removed: c.removed.clone(),
                kind: EditKind::Leak(kind),
                line: (c.line > 0).then_some(c.line),
                url: (c.inline.is_none()).then(|| String::from_utf8_lossy(&c.url).into_owned()),
                target,
                map_path,
                map_sha256: map_sha,
                inserted: (!c.insert.is_empty()).then(|| c.insert.clone()),
            });
        }
        let how = match &e.tail {
            Some(how) => how.clone(),
            None => How::Rewrite {
                temp: vault.map_or_else(RawPath::default, |v| temp_for(v, &s.entry, &jid, n)),
            },
        };
        journal.steps.push(Step::Edit {
            path: rel.clone(),
            meta: s.entry.meta,
            original_sha256: e.original_sha.clone(),
            sealed_sha256: e.sealed_sha.clone(),
            cuts: e.cuts.iter().map(|c| (c.offset, c.len)).collect(),
            inserts: inserts_of(&e.cuts),
            how,
        });

        stats.files_edited += 1;
        let (debug_id, inserted, debug_map_sha256) = debug_fields(s.debug.as_ref());
        record.files.push(FileRecord {
            path: rel.clone(),
            action: Action::Edited,
            sha256: e.original_sha.clone(),
            size: s.entry.meta.size,
            mode: s.entry.meta.mode,
            mtime: s.entry.meta.mtime,
            mtime_nsec: s.entry.meta.mtime_nsec,
            stored: None,
            sealed_sha256: Some(e.sealed_sha.clone()),
            sealed_size: Some(e.sealed_size),
            edits,
            codec: None,
            map_sha256: None,
            debug_id,
            inserted,
            debug_map_sha256,
        });
    }

    // Directories left empty once their maps are gone (deepest first).
    let moved: BTreeSet<&[u8]> = maps.iter().map(|s| s.entry.rel.as_bytes()).collect();
    let mut children: BTreeMap<Vec<u8>, (usize, usize)> = BTreeMap::new(); // (entries, removable)
    let parent_of = |p: &[u8]| -> Vec<u8> {
        p.iter()
            .rposition(|&c| c == b'/')
            .map_or_else(Vec::new, |i| p[..i].to_vec())
    };
    for f in &w.files {
        let e = children.entry(parent_of(f.rel.as_bytes())).or_default();
        e.0 += 1;
        if moved.contains(f.rel.as_bytes()) {
            e.1 += 1;
        }
    }
    for (r, _) in &w.symlinks {
        children.entry(parent_of(r.as_bytes())).or_default().0 += 1;
    }
    for r in &w.special {
        children.entry(parent_of(r.as_bytes())).or_default().0 += 1;
    }
    for (r, _) in &w.dirs {
        children.entry(parent_of(r.as_bytes())).or_default().0 += 1;
    }
    let mut dirs: Vec<&(RelPath, u32)> = w.dirs.iter().collect();
    dirs.sort_by_key(|(r, _)| {
        std::cmp::Reverse(r.as_bytes().iter().filter(|&&c| c == b'/').count())
    });
    for (r, mode) in dirs {
        let (total, removable) = children.get(r.as_bytes()).copied().unwrap_or((0, 0));
        if total > 0 && total == removable {
            journal.steps.push(Step::RemoveDir { path: r.clone() });
            record.dirs.push(DirRecord {
                path: r.clone(),
                mode: *mode,
            });
            children.entry(parent_of(r.as_bytes())).or_default().1 += 1;
            stats.dirs_removed += 1;
            actions.push(ActionRecord {
                path: r.lossy(),
                action: "remove-dir",
                line: None,
                detail: "empty once its maps moved".into(),
            });
        }
    }
    // Recreate parents before children on unseal: keep the record shallow-first.
    record.dirs.reverse();

    for s in seen {
        if let Some(e) = &s.error {
            errors.push(ErrorRecord {
                kind: None,
                path: s.entry.rel.lossy(),
                message: e.clone(),
            });
        }
        if let Some(n) = &s.note {
            notes.push(NoteRecord::new(s.entry.rel.lossy(), n.clone()));
        }
    }
    journal.record = Some(record);
    Plan {
        journal,
        actions,
        notes,
        errors,
        stats,
    }
}

/// `seal --debug-ids`: link each bundle and its map by a debug ID (ECMA-426 proposal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugIds {
    /// `//# debugId=` in the bundle, `"debugId"` in the vaulted map.
    Comment,
    /// Also Sentry's runtime registration snippet after the last line of the bundle.
    Sentry,
}

/// Which map a bundle's debug ID is derived from.
enum MapSource {
    /// A map file in the dist (index into `seen`); `guessed` when paired by name.
    External { idx: usize, guessed: bool },
    /// The inline map of the bundle's last reference.
    Inline { url: Vec<u8>, url_offset: u64 },
}

/// Give every bundle with a map a debug ID, as `sentry-cli sourcemaps inject` would (see
/// [`crate::debugid`]), re-plan its edit to carry the `//# debugId=` comment, and plan the map
/// copies that carry `"debugId"`. Bundles and maps are read again (only those paired).
fn assign_debug_ids(seen: &mut [Seen], mode: DebugIds, dist: &Path) {
    use crate::debugid;
    let by_path: HashMap<Vec<u8>, usize> = seen
        .iter()
        .enumerate()
        .map(|(i, s)| (s.entry.rel.as_bytes().to_vec(), i))
        .collect();
    let is_plain_map = |s: &Seen| s.map.is_some() && s.packed.is_none() && s.error.is_none();
    // Maps a reference names are never paired with another bundle by name.
    let mut referenced: HashSet<Vec<u8>> = HashSet::new();
    for s in seen.iter() {
        for c in s.edit.iter().flat_map(|e| &e.cuts) {
            if let url::Target::Inside(p) = url::resolve(s.entry.rel.as_bytes(), &c.url) {
                referenced.insert(p);
            }
        }
    }
    let is_js = |s: &Seen| {
        let name = s.entry.rel.file_name();
        matches!(scan::classify(name), FileKind::Js(_))
            && [&b".js"[..], b".mjs", b".cjs"]
                .iter()
                .any(|e| name.ends_with(e))
    };
    let mut order: Vec<usize> = (0..seen.len())
        .filter(|&i| is_js(&seen[i]) && seen[i].error.is_none() && seen[i].map.is_none())
        .collect();
    order.sort_by(|&a, &b| {
        seen[a]
            .entry
            .rel
            .as_bytes()
            .cmp(seen[b].entry.rel.as_bytes())
    });
    let guess = |i: usize, seen: &[Seen]| -> Option<usize> {
        let is_map = |p: &[u8]| {
            !referenced.contains(p) && by_path.get(p).is_some_and(|&j| is_plain_map(&seen[j]))
        };
        debugid::guess_map(seen[i].entry.rel.as_bytes(), &is_map)
            .and_then(|p| by_path.get(&p).copied())
    };
    // A map guessed for two bundles is given to neither (sentry-cli does the same).
    let mut guessed_count: HashMap<usize, usize> = HashMap::new();
    for &i in &order {
        if seen[i].edit.is_none()
            && let Some(j) = guess(i, seen)
        {
            *guessed_count.entry(j).or_default() += 1;
        }
    }
    let mut map_ids: HashMap<usize, String> = HashMap::new();
    let mut siblings: Vec<(usize, EditSeen, Vec<u8>)> = Vec::new();
    for i in order {
        let source = match seen[i].edit.as_ref().and_then(|e| e.cuts.last()) {
            Some(c) if c.inline.is_some() => match &c.inline {
                Some(Ok(_)) => MapSource::Inline {
                    url: c.url.clone(),
                    url_offset: c.url_offset,
                },
                _ => continue,
            },
            Some(c) => match url::resolve(seen[i].entry.rel.as_bytes(), &c.url) {
                url::Target::Inside(p) => match by_path.get(&p) {
                    Some(&j) if is_plain_map(&seen[j]) => MapSource::External {
                        idx: j,
                        guessed: false,
                    },
                    _ => continue,
                },
                _ => continue,
            },
            None => match guess(i, seen) {
                Some(j) if guessed_count.get(&j) == Some(&1) => MapSource::External {
                    idx: j,
                    guessed: true,
                },
                _ => continue,
            },
        };
        let s = &seen[i];
        let Some(path) = s.entry.rel.under(dist) else {
            continue;
        };
        let js = match std::fs::read(&path) {
            Ok(b) if b.len() as u64 == s.entry.meta.size => b,
            Ok(_) => {
                seen[i].error = Some("file changed while it was being read".into());
                continue;
            }
            Err(e) => {
                seen[i].error = Some(format!("cannot read: {e}"));
                continue;
            }
        };
        if s.edit
            .as_ref()
            .is_some_and(|e| fsutil::sha256_hex(&js) != e.original_sha)
        {
            seen[i].error = Some("file changed while it was being read".into());
            continue;
        }
        let (map, sentry_finds_map) = match &source {
            MapSource::External { idx, .. } => {
                let m = &seen[*idx];
                let bytes = m.entry.rel.under(dist).and_then(|p| std::fs::read(p).ok());
                match bytes {
                    Some(b)
                        if Some(fsutil::sha256_hex(&b))
                            == m.map.as_ref().map(|x| x.sha.clone()) =>
                    {
                        (b, true)
                    }
                    _ => {
                        seen[*idx].error = Some("file changed while it was being read".into());
                        continue;
                    }
                }
            }
            MapSource::Inline { url, .. } => match datauri::decode(url) {
                Ok(d) => (d.data, url.starts_with(debugid::SENTRY_DATA_PREAMBLE)),
                Err(_) => continue,
            },
        };
        let in_bundle = debugid::in_bundle(&js);
        let in_map = debugid::in_map(&map);
        let map_idx = match &source {
            MapSource::External { idx, .. } => Some(*idx),
            MapSource::Inline { .. } => None,
        };
        let id = in_bundle
            .clone()
            .or_else(|| map_idx.and_then(|j| map_ids.get(&j).cloned()))
            .or_else(|| in_map.clone())
            .unwrap_or_else(|| {
                if sentry_finds_map {
                    debugid::of_bundle_and_map(&js, &map)
                } else {
                    debugid::of_bundle(&js)
                }
            });
        // The map gets the ID unless it has one (or an earlier bundle already gave it one).
        let already = map_idx.is_some_and(|j| map_ids.contains_key(&j));
        let store = if in_map.is_none() && !already {
            debugid::map_insertion(&map, &id).map(|(at, text)| {
                let mut with = map.clone();
                with.splice(at..at, text.bytes());
                MapWithId {
                    inline: match &source {
                        MapSource::Inline { url, url_offset } => {
                            Some((*url_offset, url.len() as u64))
                        }
                        MapSource::External { .. } => None,
                    },
                    offset: at as u64,
                    text,
                    sha: fsutil::sha256_hex(&with),
                }
            })
        } else {
            None
        };
        let map_sha_with_id = store.as_ref().map(|m| m.sha.clone());
        if let Some(j) = map_idx {
            map_ids.entry(j).or_insert_with(|| id.clone());
            if store.is_some() {
                seen[j].debug = Some(DebugSeen {
                    id: id.clone(),
                    store: store.clone(),
                    guessed_map: None,
                    map_sha_with_id: map_sha_with_id.clone(),
                });
            }
        }
        // The bundle: replace its last reference with the comment when that is a `//`
        // comment within the last five lines; otherwise append after the last line.
        let mut extra = Extra::default();
        if in_bundle.is_none() {
            let nl = if js.ends_with(b"\r\n") { "\r\n" } else { "\n" };
            let ends_nl = matches!(js.last(), Some(b'\n' | b'\r'));
            let (sep, end) = if ends_nl { ("", nl) } else { ("\n", "") };
            let replace = seen[i]
                .edit
                .as_ref()
                .and_then(|e| e.cuts.last())
                .is_some_and(|c| {
                    let after = &js[(c.offset + c.len) as usize..];
                    c.form == scan::Form::LineComment
                        && after
                            .split(|&b| b == b'\n')
                            .filter(|l| !l.trim_ascii().is_empty())
                            .count()
                            <= 4
                });
            let comment = debugid::comment(&id);
            let snippet = (mode == DebugIds::Sentry).then(|| debugid::snippet(&id));
            if replace {
                extra.replace_last = Some(comment);
                extra.append = snippet.map(|sn| format!("{sep}{sn}{end}"));
            } else {
                extra.append = Some(match snippet {
                    Some(sn) => format!("{sep}{sn}{nl}{comment}{end}"),
                    None => format!("{sep}{comment}{end}"),
                });
            }
        }
        let s = &mut seen[i];
        let inline_store = store.filter(|m| m.inline.is_some());
        if extra.replace_last.is_some() || extra.append.is_some() {
            let edit = plan_edit(&js, &s.refs, &s.entry.meta, &extra);
            // Precompressed copies of this bundle carry the same bytes as sealed.
            let sealed = splice(
                &js,
                &edit
                    .cuts
                    .iter()
                    .map(|c| (c.offset, c.len))
                    .collect::<Vec<_>>(),
                &inserts_of(&edit.cuts),
            );
            for ext in [&b".gz"[..], b".br", b".zst"] {
                let sib = [s.entry.rel.as_bytes(), ext].concat();
                if let Some(&k) = by_path.get(&sib) {
                    siblings.push((k, edit.clone(), sealed.clone()));
                }
            }
            s.edit = Some(edit);
        }
        seen[i].debug = Some(DebugSeen {
            id,
            store: inline_store,
            guessed_map: match source {
                MapSource::External { idx, guessed: true } => Some(seen[idx].entry.rel.clone()),
                _ => None,
            },
            map_sha_with_id,
        });
    }
    for (k, edit, sealed) in siblings {
        let sib = &mut seen[k];
        if let Some(Packed::Refs {
            codec,
            inner,
            new_sha,
            new_size,
            ..
        }) = &mut sib.packed
            && inner.original_sha == edit.original_sha
        {
            match crate::compress::compress(*codec, &sealed) {
                Ok(z) => {
                    *new_sha = fsutil::sha256_hex(&z);
                    *new_size = z.len() as u64;
                    **inner = edit;
                }
                Err(e) => sib.error = Some(format!("cannot compress the sealed copy: {e}")),
            }
        }
    }
}

impl Cut {
    fn removed_text(&self) -> String {
        match &self.removed {
            Bytes::Text(t) => t.clone(),
            _ => String::from("…"),
        }
    }
}

/// Keep the dist consistent with what seal changes: recompute `integrity="sha…-…"` tokens in
/// HTML files and Angular `ngsw.json` hash-table entries that name a file seal edits (only
/// where the old value matched the old bytes: a value that was already wrong is reported, not
/// guessed). Runs after the edits of every other file are final.
/// Original and sealed bytes of one file.
type BeforeAfter = (Vec<u8>, Vec<u8>);

fn fix_hashes(seen: &mut [Seen], dist: &Path) {
    use crate::scan::integrity;
    let by_path: HashMap<Vec<u8>, usize> = seen
        .iter()
        .enumerate()
        .map(|(i, s)| (s.entry.rel.as_bytes().to_vec(), i))
        .collect();
    // Original and sealed bytes of an edited file, read once.
    let mut cache: HashMap<usize, Option<BeforeAfter>> = HashMap::new();
    let mut load = |j: usize, seen: &[Seen]| -> Option<BeforeAfter> {
        cache
            .entry(j)
            .or_insert_with(|| {
                let s = &seen[j];
                let e = s.edit.as_ref()?;
                let bytes = std::fs::read(s.entry.rel.under(dist)?).ok()?;
                if fsutil::sha256_hex(&bytes) != e.original_sha {
                    return None;
                }
                let sealed = splice(
                    &bytes,
                    &e.cuts.iter().map(|c| (c.offset, c.len)).collect::<Vec<_>>(),
                    &e.cuts.iter().map(|c| c.insert.clone()).collect::<Vec<_>>(),
                );
                Some((bytes, sealed))
            })
            .clone()
    };
    let mut updates: Vec<(usize, Vec<u8>, Extra, Vec<String>)> = Vec::new();
    for i in 0..seen.len() {
        let s = &seen[i];
        if s.error.is_some() || s.map.is_some() || s.packed.is_some() {
            continue;
        }
        let name = s.entry.rel.file_name();
        let html = matches!(scan::classify(name), FileKind::Html);
        let ngsw = name == b"ngsw.json";
        if !html && !ngsw {
            continue;
        }
        let Some(buf) = s.entry.rel.under(dist).and_then(|p| std::fs::read(p).ok()) else {
            continue;
        };
        if buf.len() as u64 != s.entry.meta.size
            || s.edit
                .as_ref()
                .is_some_and(|e| fsutil::sha256_hex(&buf) != e.original_sha)
        {
            continue;
        }
        let rel = s.entry.rel.as_bytes().to_vec();
        let mut extra = Extra::default();
        let mut notes = Vec::new();
        let target = |url: &[u8]| match url::resolve(&rel, url) {
            url::Target::Inside(p) => by_path.get(&p).copied(),
            _ => None,
        };
        if html {
            for r in integrity::find(&buf) {
                if !integrity::is_local(&r.url) {
                    continue;
                }
                let Some(j) = target(&r.url) else { continue };
                if seen[j].edit.is_none() {
                    continue;
                }
                let Some((old, new)) = load(j, seen) else {
                    continue;
                };
                if r.alg.token(&old) != String::from_utf8_lossy(&buf[r.span.clone()]) {
                    notes.push(format!(
                        "line {}: integrity of {} did not match that file before seal; left as it is",
                        r.line,
                        String::from_utf8_lossy(&r.url)
                    ));
                    continue;
                }
                extra.rewrites.push((
                    r.span.start as u64,
                    r.span.len() as u64,
                    r.alg.token(&new),
                    RewriteKind::Integrity,
                ));
            }
        }
        if ngsw {
            for e in integrity::ngsw_entries(&buf) {
                let Some(j) = target(e.url.as_bytes()) else {
                    continue;
                };
                if seen[j].edit.is_none() {
                    continue;
                }
                let Some((old, new)) = load(j, seen) else {
                    continue;
                };
                let sha1 = |b: &[u8]| hex::encode(sha1::Sha1::digest(b));
                if sha1(&old) != e.sha1.to_ascii_lowercase() {
                    notes.push(format!(
                        "hashTable entry {} did not match that file before seal; left as it is",
                        e.url
                    ));
                    continue;
                }
                extra.rewrites.push((
                    e.span.start as u64,
                    e.span.len() as u64,
                    sha1(&new),
                    RewriteKind::NgswHash,
                ));
            }
        }
        if !extra.rewrites.is_empty() || !notes.is_empty() {
            updates.push((i, buf, extra, notes));
        }
    }
    for (i, buf, extra, notes) in updates {
        let s = &mut seen[i];
        if !extra.rewrites.is_empty() {
            s.edit = Some(plan_edit(&buf, &s.refs, &s.entry.meta, &extra));
        }
        if let Some(n) = notes.into_iter().next() {
            s.note.get_or_insert(n);
        }
    }
}

/// Files seal does not rewrite that still hold a hash of a file seal changes, as it was
/// before: Workbox precache lists (`revision`: MD5), asset manifests with SHA or SRI values.
/// Reported as notes (kind `stale-hash`), never rewritten: what such a list means (and whether
/// it is regenerated later in the build) is the tool's business, not a guess to make here.
/// Only files [`integrity::may_list_hashes`] names are read, and only changed files whose name
/// appears in them are hashed, so a big dist pays nothing for it.
fn stale_hash_notes(seen: &[Seen], dist: &Path) -> Vec<NoteRecord> {
    use crate::scan::integrity;
    const MAX_LIST: u64 = 16 << 20;
    const MAX_NOTES_PER_FILE: usize = 20;
    let candidates: Vec<usize> = (0..seen.len())
        .filter(|&i| {
            let s = &seen[i];
            s.error.is_none()
                && s.map.is_none()
                && s.packed.is_none()
                && integrity::may_list_hashes(s.entry.rel.file_name())
        })
        .collect();
    let changed: Vec<usize> = (0..seen.len())
        .filter(|&j| seen[j].edit.is_some() && seen[j].map.is_none())
        .collect();
    if candidates.is_empty() || changed.is_empty() {
        return Vec::new();
    }
    let names: Vec<&[u8]> = changed
        .iter()
        .map(|&j| seen[j].entry.rel.file_name())
        .collect();
    let Ok(by_name) = aho_corasick::AhoCorasick::new(&names) else {
        return Vec::new();
    };
    // Digests of a changed file's original bytes, computed once.
    let mut spellings: HashMap<usize, Option<Vec<(&'static str, String)>>> = HashMap::new();
    let mut notes = Vec::new();
    for &i in &candidates {
        let s = &seen[i];
        // At most MAX_LIST bytes (the walk gave names only: the size is learnt by reading).
        let Some(buf) = s.entry.rel.under(dist).and_then(|p| {
            use std::io::Read;
            let mut buf = Vec::new();
            let f = inspect::open_nofollow(&p).ok()?;
            f.take(MAX_LIST + 1).read_to_end(&mut buf).ok()?;
            (buf.len() as u64 <= MAX_LIST).then_some(buf)
        }) else {
            continue;
        };
        let mentioned: BTreeSet<usize> = by_name
            .find_overlapping_iter(&buf)
            .map(|m| changed[m.pattern().as_usize()])
            .filter(|&j| j != i)
            .collect();
        let mut found = Vec::new();
        for j in mentioned {
            let sp = spellings.entry(j).or_insert_with(|| {
                let e = seen[j].edit.as_ref()?;
                let bytes = std::fs::read(seen[j].entry.rel.under(dist)?).ok()?;
                (fsutil::sha256_hex(&bytes) == e.original_sha).then(|| integrity::spellings(&bytes))
            });
            for (alg, text) in sp.iter().flatten() {
                if let Some(at) = memchr::memmem::find(&buf, text.as_bytes()) {
                    let line = memchr::memchr_iter(b'\n', &buf[..at]).count() + 1;
                    found.push((line, j, *alg));
                }
            }
        }
        found.sort_unstable();
        let total = found.len();
        for (line, j, alg) in found.into_iter().take(MAX_NOTES_PER_FILE) {
            let mut n = NoteRecord::new(
                s.entry.rel.lossy(),
                format!(
                    "line {line}: the {alg} of {} as it was before seal; seal changes that file, \
                     so this entry is stale: regenerate this list after seal (mapvault reports \
                     it, it does not rewrite it)",
                    seen[j].entry.rel.lossy()
                ),
            );
            n.kind = Some("stale-hash".into());
            notes.push(n);
        }
        if total > MAX_NOTES_PER_FILE {
            let mut n = NoteRecord::new(
                s.entry.rel.lossy(),
                format!(
                    "and {} more stale hashes of files seal changes",
                    total - MAX_NOTES_PER_FILE
                ),
            );
            n.kind = Some("stale-hash".into());
            notes.push(n);
        }
    }
    notes
}

/// Texts of `cuts` for a journal step: empty when no cut inserts anything.
fn inserts_of(cuts: &[Cut]) -> Vec<String> {
    if cuts.iter().all(|c| c.insert.is_empty()) {
        Vec::new()
    } else {
        cuts.iter().map(|c| c.insert.clone()).collect()
    }
}

fn target_name(t: TargetKind) -> &'static str {
    match t {
        TargetKind::Inside => "moved to the vault",
        TargetKind::Missing => "no such file in the dist",
        TargetKind::NotAMap => "not a source map, left in place",
        TargetKind::Outside => "outside the dist, not touched",
        TargetKind::Absolute => "absolute URL, not fetched",
        TargetKind::Inline => "inline",
        TargetKind::Empty => "empty URL",
    }
}

// ---------------------------------------------------------------------------------------------
// Running it.

/// Lock a dist directory against concurrent seal/unseal (an advisory lock on the directory
/// itself, so nothing new appears in the dist).
pub fn lock_dist(dist: &Path, on_wait: &mut dyn FnMut(&str)) -> Result<File> {
    let f = File::open(dist).with_context(|| format!("cannot open {}", dist.display()))?;
    vault::lock_file(&f, &format!("dist {}", dist.display()), on_wait)?;
    Ok(f)
}

/// Finish any operation a previous run left in the vault's journal. Returns its id. `held` is
/// the dist whose lock the caller already holds (flock locks are per open file, so taking it
/// again here would wait for ourselves).
pub fn recover(
    v: &Vault,
    held: &Path,
    on_wait: &mut dyn FnMut(&str),
    notes: &mut Vec<NoteRecord>,
    errors: &mut Vec<ErrorRecord>,
) -> Result<Option<String>> {
    let Some(j) = v.load_journal()? else {
        return Ok(None);
    };
    let dist = j.dist.to_path();
    if !dist.is_dir() {
        bail!(
            "the vault holds an unfinished {:?} of {} which no longer exists; move {} aside to continue",
            j.op,
            dist.display(),
            v.root().join("journal.json").display()
        );
    }
    let _lock = if dist == held {
        None
    } else {
        Some(lock_dist(&dist, on_wait)?)
    };
    let applied = apply::execute(v, &j)?;
    crate::unseal::finish(v, &j, &applied, notes, errors, None)?;
    Ok(Some(j.id))
}

/// Seal `opts.dist`. Call inside the worker pool.
pub fn seal(opts: &SealOptions, on_wait: &mut dyn FnMut(&str)) -> Result<SealReport> {
    let started = Instant::now();
    let mut phases = crate::parallel::Phases::start();
    let mut report = SealReport {
        dist: opts.dist.display().to_string(),
        vault: opts.vault.display().to_string(),
        dry_run: opts.dry_run,
        ..SealReport::default()
    };
    let (_dist_lock, vault) = if opts.dry_run {
        (None, None)
    } else {
        let l = lock_dist(&opts.dist, on_wait)?;
        let v = Vault::open(&opts.vault, true, on_wait)?;
        (Some(l), Some(v))
    };
    if let Some(v) = &vault
        && let Some(id) = recover(
            v,
            &opts.dist,
            on_wait,
            &mut report.notes,
            &mut report.errors,
        )?
    {
        report.resumed.push(id);
    }

    phases.mark("open+recover");
    // Names only: inspection takes each file's metadata from the file it opens.
    let w = walk::walk_names(&opts.dist, None);
    phases.mark("walk");
    let mut pre = crate::report::VerifyReport::default();
    verify::merge_walk_notes(&mut pre, &w);
    report.notes.extend(pre.notes);
    report.errors.extend(pre.errors);
    report.files_scanned = w.files.len() as u64;
    crate::progress::phase("inspecting", report.files_scanned);
    let mut seen = inspect_all(&w.files, &opts.allow);
    phases.mark("inspect");

    if let Some(mode) = opts.debug_ids {
        assign_debug_ids(&mut seen, mode, &opts.dist);
    }
    fix_hashes(&mut seen, &opts.dist);
    // Both only read what inspection saw: the stale-hash report runs beside the plan.
    let (stale, p) = rayon::join(
        || stale_hash_notes(&seen, &opts.dist),
        || plan(opts, vault.as_ref(), &seen, &w),
    );
    phases.mark("plan");

    report.notes.extend(p.notes);
    report.notes.extend(stale);
    report.errors.extend(p.errors);
    report.actions = p.actions;
    report.references_stripped = p.stats.references;
    report.files_edited = p.stats.files_edited;
    report.maps_moved = p.stats.maps_moved;
    report.map_bytes = p.stats.map_bytes;
    report.inline_maps_extracted = p.stats.inline;
    report.debug_ids = seen
        .iter()
        .filter(|s| s.map.is_none() && s.debug.is_some())
        .count() as u64;

    report.dirs_removed = p.stats.dirs_removed;

    if let Some(v) = &vault {
        let after = if p.journal.steps.is_empty() {
            None
        } else {
            crate::progress::phase("sealing", 0);
            let record_json = v.save_journal(&p.journal)?;
            phases.mark("journal");
            apply::failpoint("after-journal");
            // The final verify reads the dist while the second barrier flushes it.
            let (applied, after) =
                apply::execute_with(v, &p.journal, || verify::verify_dir(&opts.dist, None))?;
            phases.mark("apply + final verify");
            crate::unseal::finish(
                v,
                &p.journal,
                &applied,
                &mut report.notes,
                &mut report.errors,
                record_json.as_ref(),
            )?;
            report.seal_id = Some(p.journal.id.clone());
            phases.mark("manifest");
            Some(after)
        };
        let mut after = after.unwrap_or_else(|| verify::verify_dir(&opts.dist, None));
        phases.mark("final verify");
        opts.allow.apply(&mut after);
        report.allowed = after.allowed;
        report.clean = after.leaks.is_empty();
        report.leaks = after.leaks;
        report.errors.extend(after.errors);
    } else {
        // Dry run: everything found is planned, so the dist would be clean unless files could
        // not be read.
        report.clean = report.errors.is_empty();
    }
    report
        .notes
        .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    report.notes.dedup();
    report
        .errors
        .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    report.errors.dedup();
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

impl SealReport {
    pub fn outcome(&self) -> crate::exit::Outcome {
        use crate::exit::Outcome;
        let o = if self.clean && self.leaks.is_empty() {
            Outcome::Clean
        } else {
            Outcome::LeaksRemain
        };
        if self.errors.is_empty() {
            o
        } else {
            o.merge(Outcome::Failed)
        }
    }
}

/// Copy a dist to a new directory (for `seal --out`): regular files with their modes and
/// times, directories, and symbolic links as links (never followed).
pub fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        let empty = std::fs::read_dir(dest)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            bail!("--out {} already exists and is not empty", dest.display());
        }
    }
    std::fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let w = walk::walk(src, None);
    if let Some((rel, e)) = w.errors.first() {
        bail!("cannot copy {}: {rel}: {e}", src.display());
    }
    for (rel, mode) in &w.dirs {
        let d = rel.under(dest).context("bad path")?;
        std::fs::create_dir_all(&d)?;
        std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(*mode))?;
    }
    for f in &w.files {
        let d = f.rel.under(dest).context("bad path")?;
        std::fs::copy(&f.path, &d).with_context(|| format!("cannot copy {}", f.path.display()))?;
        fsutil::set_mtime(&d, f.meta.mtime, f.meta.mtime_nsec)?;
    }
    for (rel, target) in &w.symlinks {
        let d = rel.under(dest).context("bad path")?;
        std::os::unix::fs::symlink(target, &d)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            size: 0,
            mode: 0o644,
            mtime: 0,
            mtime_nsec: 0,
            ino: 1,
            dev: 1,
            nlink: 1,
            uid: rustix::process::geteuid().as_raw(),
            gid: 0,
        }
    }

    #[test]
    fn plan_edit_hashes_and_tails() {
        let src = b"code();\n//# sourceMappingURL=a.js.map\n";
        let a = scan::analyze(b"a.js", src);
        let e = plan_edit(src, &a.refs, &meta(), &Extra::default());
        assert_eq!(e.original_sha, fsutil::sha256_hex(src));
        assert_eq!(e.sealed_sha, fsutil::sha256_hex(b"code();\n\n"));
        assert_eq!(e.sealed_size, 9);
        let Some(How::InPlace {
            start,
            from,
            from_sha256: None,
            to,
            ..
        }) = e.tail
        else {
            panic!(
                "a small edit goes in place, its tail spelled out: {:?}",
                e.tail
            );
        };
        assert_eq!(start, 8);
        assert_eq!(
            B64.decode(from).expect("base64"),
            b"//# sourceMappingURL=a.js.map\n"
        );
        assert_eq!(B64.decode(to).expect("base64"), b"\n");
        assert!(
            matches!(&e.cuts[0].removed, Bytes::Text(t) if t == "//# sourceMappingURL=a.js.map")
        );
    }

    #[test]
    fn a_long_tail_is_named_by_its_hash_in_the_journal() {
        let comment = format!("//# sourceMappingURL={}.map", "u".repeat(2000));
        let src = format!("code();\n{comment}\n");
        let a = scan::analyze(b"a.js", src.as_bytes());
        let e = plan_edit(src.as_bytes(), &a.refs, &meta(), &Extra::default());
        let tail = &src.as_bytes()[8..];
        match e.tail {
            Some(How::InPlace {
                start: 8,
                from,
                from_sha256: Some((sha, len)),
                to,
                ..
            }) => {
                assert!(from.is_empty());
                assert_eq!((sha, len), (fsutil::sha256_hex(tail), tail.len() as u64));
                assert_eq!(B64.decode(to).expect("base64"), b"\n");
            }
            other => panic!("expected an in-place edit with a hashed tail, got {other:?}"),
        }
        let is = crate::vault::journal::TailIs::Hashed {
            sha256: fsutil::sha256_hex(tail),
            len: tail.len() as u64,
        };
        assert!(is.matches(tail));
        assert!(!is.matches(&tail[1..]));
        let mut changed = tail.to_vec();
        changed[100] = b'v';
        assert!(!is.matches(&changed));
    }

    #[test]
    fn a_long_comment_at_the_end_is_cut_in_place_but_not_one_before_much_code() {
        let long = format!("//# sourceMappingURL={}.map", "u".repeat(200 * 1024));
        let src = format!("code();\n{long}\n");
        let a = scan::analyze(b"a.js", src.as_bytes());
        let e = plan_edit(src.as_bytes(), &a.refs, &meta(), &Extra::default());
        assert!(
            matches!(e.tail, Some(How::InPlace { start: 8, .. })),
            "a 200 kB tail whose sealed form is one byte goes in place"
        );

        let mut src = String::from("//# sourceMappingURL=a.js.map\n");
        while src.len() < 100 * 1024 {
            src.push_str("function f(a){return a+1}\n");
        }
        let a = scan::analyze(b"a.js", src.as_bytes());
        let e = plan_edit(src.as_bytes(), &a.refs, &meta(), &Extra::default());
        assert!(
            e.tail.is_none(),
            "a sealed tail over TAIL_MAX would bloat the journal: the file is rewritten"
        );

        let huge = format!("x\n//# sourceMappingURL={}.map", "u".repeat(2 << 20));
        let a = scan::analyze(b"a.js", huge.as_bytes());
        let e = plan_edit(huge.as_bytes(), &a.refs, &meta(), &Extra::default());
        assert!(
            e.tail.is_none(),
            "an old tail over OLD_TAIL_MAX is rewritten"
        );
    }

    #[test]
    fn canonical_inline_maps_are_stored_once() {
        let src = b"x\n//# sourceMappingURL=data:application/json;base64,e30=\n";
        let a = scan::analyze(b"a.js", src);
        let e = plan_edit(src, &a.refs, &meta(), &Extra::default());
        match &e.cuts[0].removed {
            Bytes::InlineMap { map, prefix } => {
                assert_eq!(map, &fsutil::sha256_hex(b"{}"));
                assert_eq!(prefix, "//# sourceMappingURL=data:application/json;base64,");
            }
            other => panic!("expected inline_map, got {other:?}"),
        }
    }

    #[test]
    fn hard_linked_or_foreign_files_are_rewritten_not_edited_in_place() {
        let src = b"code();\n//# sourceMappingURL=a.js.map\n";
        let a = scan::analyze(b"a.js", src);
        let mut m = meta();
        m.nlink = 2;
        assert!(
            plan_edit(src, &a.refs, &m, &Extra::default())
                .tail
                .is_none()
        );
        let mut m = meta();
        m.mode = 0o444;
        assert!(
            plan_edit(src, &a.refs, &m, &Extra::default())
                .tail
                .is_none()
        );
    }
}
