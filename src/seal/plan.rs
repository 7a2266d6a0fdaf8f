//! Planning a seal: from what inspection saw to a journal (the steps, and the manifest record
//! they produce), the actions a report shows, and the notes and errors found on the way.
//!
//! Pure: everything the plan depends on that is not in the inspected files — the run's id and
//! time, the vault objects already present, where temp files go, which plain files already hold
//! their sealed bytes — is gathered first into [`Facts`]. So a plan is a function of its inputs,
//! tested without a file system, and `seal --dry-run` is the plan, reported.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::findings::{
    ActionRecord, Change, ErrorRecord, LeakKind, NoteRecord, RewriteKind, ShownUrl, TargetKind,
};
use crate::relpath::{RawPath, RelPath};
use crate::scan::url;
use crate::txn::Temps;
use crate::vault::journal::{How, Journal, Op, Step};
use crate::vault::manifest::{
    Action, DirRecord, EditKind, EditRecord, FileRecord, LinkRecord, SealRecord, Stored,
};
use crate::walk::Walk;

use super::SealOptions;
use super::edit::Cut;
use super::inspect::{DebugSeen, Packed, Seen, plain_of};

/// Maps and sets keyed by paths and hashes, looked up once or more per file of the dist:
/// ahash costs a fraction of std's SipHash on such keys and is keyed per process as well, so
/// file names cannot be chosen to make them collide.
pub(crate) type FastMap<K, V> = HashMap<K, V, ahash::RandomState>;
pub(crate) type FastSet<K> = HashSet<K, ahash::RandomState>;

/// What the plan needs beyond the inspected files, read before planning.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    /// The run's id (`seal-…`), also the seal record's.
    pub id: String,
    /// When the seal happened (RFC 3339, seconds).
    pub sealed_at: String,
    /// Our effective user id: only our own single-link maps are renamed into the vault.
    pub euid: u32,
    /// The vault's device and which objects it holds; `None` in a dry run (no vault opened).
    pub vault: Option<VaultFacts>,
    pub temps: Temps,
    /// Plain files that already hold what their precompressed copy gives once sealed (an
    /// earlier seal stopped between the two): of [`copies_to_check`].
    pub holds_sealed: HashSet<RelPath>,
    /// Symbolic links that name or point at a source map file (not a directory), with their
    /// targets as `readlink` gives them: removed and recorded ([`crate::inspect::map_links`]).
    pub map_links: Vec<(RelPath, RawPath)>,
}

/// The vault as the plan sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct VaultFacts {
    pub dev: u64,
    /// Objects of [`objects_wanted`] the vault already has.
    pub present: HashSet<Stored>,
}

/// A planned seal.
pub(crate) struct Plan {
    pub journal: Journal,
    pub actions: Vec<ActionRecord>,
    pub notes: Vec<NoteRecord>,
    pub errors: Vec<ErrorRecord>,
    pub stats: Stats,
    /// The path each of `actions` changes (parallel to it), and what each path adds to
    /// `stats`: when a step fails, the report takes that path's actions and counts back
    /// ([`Stats::remove`]), so it says what was done.
    pub action_paths: Vec<RelPath>,
    pub by_path: FastMap<RelPath, Stats>,
}

/// The counts of a seal report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stats {
    pub references: u64,
    pub files_edited: u64,
    pub maps_moved: u64,
    pub map_bytes: u64,
    pub inline: u64,
    pub dirs_removed: u64,
    pub debug_ids: u64,
}

impl Stats {
    /// Take back the counts `part` added.
    pub fn remove(&mut self, part: &Stats) {
        self.references -= part.references;
        self.files_edited -= part.files_edited;
        self.maps_moved -= part.maps_moved;
        self.map_bytes -= part.map_bytes;
        self.inline -= part.inline;
        self.dirs_removed -= part.dirs_removed;
        self.debug_ids -= part.debug_ids;
    }
}

/// The vault object a map file is stored as: a compressed map keeps its exact compressed bytes
/// (a blob, for unseal) besides its decoded content (a map, for lookups).
fn object_of(s: &Seen) -> Stored {
    let sha = s.map.as_ref().map(|m| m.sha.clone()).unwrap_or_default();
    if matches!(s.packed, Some(Packed::Map { .. })) {
        Stored::Blob(sha)
    } else {
        Stored::Map(sha)
    }
}

/// Map files by the object they are stored as, to store each once.
fn group_maps(seen: &[Seen]) -> BTreeMap<Stored, Vec<&Seen>> {
    let mut by_obj: BTreeMap<Stored, Vec<&Seen>> = BTreeMap::new();
    for s in seen.iter().filter(|s| s.map.is_some()) {
        by_obj.entry(object_of(s)).or_default().push(s);
    }
    by_obj
}

/// Every vault object the plan asks about (whether it is present), for one lookup beforehand.
pub(crate) fn objects_wanted(seen: &[Seen]) -> Vec<Stored> {
    let extra = seen.iter().filter_map(|s| match &s.packed {
        Some(Packed::Map { inner_sha, .. }) => Some(Stored::Map(inner_sha.clone())),
        Some(Packed::Refs { file_sha, .. }) => Some(Stored::Blob(file_sha.clone())),
        None => None,
    });
    group_maps(seen).into_keys().chain(extra).collect()
}

/// Precompressed copies with references inside whose plain file exists but is not what they
/// decompress to: `(the copy, its plain file, the plain file's sealed sha256)`. Such a copy is
/// regenerated only if the plain file already holds those sealed bytes (an earlier seal
/// stopped after the plain file and before its copy); the caller checks, [`plan`] decides.
pub(crate) fn copies_to_check<'a>(
    seen: &'a [Seen],
    files: &FastSet<&[u8]>,
) -> Vec<(&'a Seen, RelPath, &'a str)> {
    let original_sha_of: FastMap<&[u8], &str> = seen
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
    seen.iter()
        .filter_map(|s| match &s.packed {
            Some(Packed::Refs {
                inner_name, inner, ..
            }) => {
                let plain = plain_of(&s.entry.rel, inner_name);
                let differs = files.contains(plain.as_bytes())
                    && original_sha_of.get(plain.as_bytes()).copied()
                        != Some(inner.original_sha.as_str());
                differs.then_some((s, plain, inner.sealed_sha.as_str()))
            }
            _ => None,
        })
        .collect()
}

/// Plan the seal of the inspected files `seen` of walk `w`.
pub(crate) fn plan(opts: &SealOptions, facts: &Facts, seen: &[Seen], w: &Walk) -> Plan {
    let files: FastSet<&[u8]> = w.files.iter().map(|f| f.rel.as_bytes()).collect();
    let map_sha_of: FastMap<&[u8], &str> = seen
        .iter()
        .filter(|s| s.packed.is_none())
        .filter_map(|s| Some((s.entry.rel.as_bytes(), s.map.as_ref()?.sha.as_str())))
        .collect();
    let mut p = Planner {
        opts,
        facts,
        map_sha_of,
        links: w.symlinks.iter().map(|(r, _)| r.as_bytes()).collect(),
        journal: Journal::new(Op::Seal, facts.id.clone(), RawPath::from_path(&opts.dist)),
        record: SealRecord {
            id: facts.id.clone(),
            dist: RawPath::from_path(&opts.dist),
            sealed_at: facts.sealed_at.clone(),
            tool: format!("mapvault {}", env!("CARGO_PKG_VERSION")),
            files: Vec::new(),
            dirs: Vec::new(),
            links: Vec::new(),
        },
        actions: Vec::new(),
        notes: Vec::new(),
        errors: Vec::new(),
        stats: Stats::default(),
        action_paths: Vec::new(),
        by_path: FastMap::default(),
    };
    p.maps(seen);
    let stale: FastSet<&[u8]> = copies_to_check(seen, &files)
        .into_iter()
        .filter(|(_, plain, _)| !facts.holds_sealed.contains(plain))
        .map(|(s, plain, _)| {
            p.errors.push(ErrorRecord::new(
                s.entry.rel.lossy(),
                format!(
                    "does not decompress to {} (a stale precompressed copy?): not regenerated, rebuild or delete it",
                    plain.lossy()
                ),
            ));
            s.entry.rel.as_bytes()
        })
        .collect();
    for (n, s) in seen.iter().enumerate() {
        if !stale.contains(s.entry.rel.as_bytes()) {
            p.recompressed(n, s);
        }
    }
    for (n, s) in seen.iter().enumerate() {
        if s.edit.is_some() {
            p.edited(n, s, &files);
        }
    }
    p.dirs(seen, w);
    p.map_links(&facts.map_links);
    for s in seen {
        if let Some(e) = &s.error {
            p.errors
                .push(ErrorRecord::new(s.entry.rel.lossy(), e.clone()));
        }
        p.notes.extend(s.notes.iter().cloned());
    }
    for s in seen.iter().filter(|s| s.map.is_none() && s.debug.is_some()) {
        p.count(&s.entry.rel, |st| st.debug_ids += 1);
    }
    p.journal.record = Some(p.record);
    Plan {
        journal: p.journal,
        actions: p.actions,
        notes: p.notes,
        errors: p.errors,
        stats: p.stats,
        action_paths: p.action_paths,
        by_path: p.by_path,
    }
}

/// The plan under construction.
struct Planner<'a> {
    opts: &'a SealOptions,
    facts: &'a Facts,
    /// Plain maps of the dist by path (what references resolve to).
    map_sha_of: FastMap<&'a [u8], &'a str>,
    links: BTreeSet<&'a [u8]>,
    journal: Journal,
    record: SealRecord,
    actions: Vec<ActionRecord>,
    notes: Vec<NoteRecord>,
    errors: Vec<ErrorRecord>,
    stats: Stats,
    action_paths: Vec<RelPath>,
    by_path: FastMap<RelPath, Stats>,
}

impl Planner<'_> {
    /// Add to the counts, in total and for `path`.
    fn count(&mut self, path: &RelPath, add: impl Fn(&mut Stats)) {
        add(&mut self.stats);
        add(self.by_path.entry(path.clone()).or_default());
    }

    fn vault_has(&self, s: &Stored) -> bool {
        self.facts
            .vault
            .as_ref()
            .is_some_and(|v| v.present.contains(s))
    }

    fn action(&mut self, path: &RelPath, line: Option<u64>, change: Change) {
        self.action_paths.push(path.clone());
        self.actions.push(ActionRecord {
            path: path.lossy(),
            line,
            change,
        });
    }

    fn temp(&self, s: &Seen, n: usize) -> RawPath {
        self.facts.temps.at(&s.entry.rel, s.entry.meta.dev, n)
    }

    /// Every map file to the vault: each object stored once (renamed in when one file of ours
    /// holds it and the vault is on its file system, else copied), every file removed.
    fn maps(&mut self, seen: &[Seen]) {
        let plain_map_shas: BTreeSet<&str> = self.map_sha_of.values().copied().collect();
        let mut decoded_planned = BTreeSet::new();
        for (obj, group) in &group_maps(seen) {
            let first = group[0];
            if let Some(Packed::Map { codec, inner_sha }) = &first.packed {
                let decoded = Stored::Map(inner_sha.clone());
                if !self.vault_has(&decoded)
                    && !plain_map_shas.contains(inner_sha.as_str())
                    && decoded_planned.insert(inner_sha.clone())
                {
                    self.journal.steps.push(Step::StoreDecoded {
                        path: first.entry.rel.clone(),
                        codec: *codec,
                        sha256: inner_sha.clone(),
                    });
                }
            }
            if let Some(m) = first.debug.as_ref().and_then(|d| d.store.as_ref()) {
                self.journal.steps.push(Step::StoreWithDebugId {
                    path: first.entry.rel.clone(),
                    inline: None,
                    offset: m.offset,
                    text: m.text.clone(),
                    sha256: m.sha.clone(),
                });
            }
            self.map_steps(obj, group);
            for s in group {
                self.moved(obj, s, group.len() - 1);
            }
        }
    }

    fn map_steps(&mut self, obj: &Stored, group: &[&Seen]) {
        let first = group[0];
        let meta = &first.entry.meta;
        let renameable = group.len() == 1
            && !self.vault_has(obj)
            && Some(meta.dev) == self.facts.vault.as_ref().map(|v| v.dev)
            && meta.nlink == 1
            && meta.uid == self.facts.euid;
        if renameable {
            self.journal.steps.push(Step::RenameIn {
                path: first.entry.rel.clone(),
                to: obj.clone(),
                meta: *meta,
            });
            return;
        }
        if !self.vault_has(obj) {
            self.journal.steps.push(Step::CopyIn {
                path: first.entry.rel.clone(),
                to: obj.clone(),
                meta: *meta,
            });
        }
        for s in group {
            self.journal.steps.push(Step::Unlink {
                path: s.entry.rel.clone(),
                object: obj.clone(),
                meta: s.entry.meta,
            });
        }
    }

    /// The record and action of one moved map file.
    fn moved(&mut self, obj: &Stored, s: &Seen, same_as_others: usize) {
        let size = s.map.as_ref().map_or(0, |m| m.size);
        self.count(&s.entry.rel, |st| {
            st.maps_moved += 1;
            st.map_bytes += size;
        });
        let compressed = match &s.packed {
            Some(Packed::Map { codec, inner_sha }) => Some((*codec, inner_sha.clone())),
            _ => None,
        };
        let (debug_id, inserted, debug_map_sha256) = DebugSeen::manifest_fields(s.debug.as_ref());
        self.record.files.push(FileRecord {
            stored: Some(obj.clone()),
            codec: compressed.as_ref().map(|(c, _)| *c),
            map_sha256: compressed.as_ref().map(|(_, d)| d.clone()),
            debug_id,
            inserted,
            debug_map_sha256,
            ..FileRecord::new(
                s.entry.rel.clone(),
                Action::Moved,
                obj.sha().to_string(),
                size,
                &s.entry.meta,
            )
        });
        let change = Change::Move {
            size,
            object: obj.sha().to_string(),
            compressed,
            same_as_others,
        };
        self.action(&s.entry.rel, None, change);
    }

    /// A precompressed copy with references inside: regenerated from the sealed content, its
    /// original bytes kept as a blob.
    fn recompressed(&mut self, n: usize, s: &Seen) {
        let Some(Packed::Refs {
            codec,
            inner_name,
            file_sha,
            inner,
            new_sha,
            new_size,
        }) = &s.packed
        else {
            return;
        };
        let rel = &s.entry.rel;
        let blob = Stored::Blob(file_sha.clone());
        if !self.vault_has(&blob) {
            self.journal.steps.push(Step::CopyIn {
                path: rel.clone(),
                to: blob.clone(),
                meta: s.entry.meta,
            });
        }
        self.journal.steps.push(Step::Recompress {
            path: rel.clone(),
            meta: s.entry.meta,
            codec: *codec,
            original_sha256: file_sha.clone(),
            inner_sha256: inner.original_sha.clone(),
            splices: inner.splices(),
            new_sha256: new_sha.clone(),
            temp: self.temp(s, n),
        });
        let cuts = inner.cuts.len() as u64;
        self.count(rel, |st| {
            st.files_edited += 1;
            st.references += cuts;
        });
        self.record.files.push(FileRecord {
            stored: Some(blob),
            sealed_sha256: Some(new_sha.clone()),
            sealed_size: Some(*new_size),
            codec: Some(*codec),
            ..FileRecord::new(
                rel.clone(),
                Action::Replaced,
                file_sha.clone(),
                s.entry.meta.size,
                &s.entry.meta,
            )
        });
        let change = Change::Recompress {
            codec: *codec,
            inner_name: String::from_utf8_lossy(inner_name).into_owned(),
            references: inner.cuts.len() as u64,
            original: file_sha.clone(),
        };
        self.action(rel, None, change);
    }

    /// An edited file: every cut recorded (and its removed bytes or inline map stored), then
    /// the edit itself, in place or through a temp copy.
    fn edited(&mut self, n: usize, s: &Seen, files: &FastSet<&[u8]>) {
        let Some(e) = &s.edit else { return };
        let edits = e
            .cuts
            .iter()
            .map(|c| match c.rewrite {
                Some(kind @ (RewriteKind::Integrity | RewriteKind::NgswHash)) => {
                    self.rehash(s, c, kind)
                }
                Some(kind) => self.debug_id(s, c, kind),
                None => self.strip(s, c, files),
            })
            .collect();
        let how = match &e.tail {
            Some(how) => how.clone(),
            None => How::Rewrite {
                temp: self.temp(s, n),
            },
        };
        self.journal.steps.push(Step::Edit {
            path: s.entry.rel.clone(),
            meta: s.entry.meta,
            original_sha256: e.original_sha.clone(),
            sealed_sha256: e.sealed_sha.clone(),
            splices: e.splices(),
            how,
        });
        self.count(&s.entry.rel, |st| st.files_edited += 1);
        let (debug_id, inserted, debug_map_sha256) = DebugSeen::manifest_fields(s.debug.as_ref());
        self.record.files.push(FileRecord {
            sealed_sha256: Some(e.sealed_sha.clone()),
            sealed_size: Some(e.sealed_size),
            edits,
            debug_id,
            inserted,
            debug_map_sha256,
            ..FileRecord::new(
                s.entry.rel.clone(),
                Action::Edited,
                e.original_sha.clone(),
                s.entry.meta.size,
                &s.entry.meta,
            )
        });
    }

    /// A recomputed `integrity` value or `ngsw.json` hash.
    fn rehash(&mut self, s: &Seen, c: &Cut, kind: RewriteKind) -> EditRecord {
        let change = Change::Rehash {
            kind,
            from: c.removed_text(),
            to: c.splice.insert.clone(),
        };
        self.action(&s.entry.rel, None, change);
        edit_record(c, EditKind::Rewrite(kind), TargetKind::Empty, None, None)
    }

    /// An insertion `--debug-ids` made (for a bundle paired with its map by name, the record
    /// names that map).
    fn debug_id(&mut self, s: &Seen, c: &Cut, kind: RewriteKind) -> EditRecord {
        let guessed = s.debug.as_ref().and_then(|d| d.guessed_map.clone());
        let map_sha = guessed
            .as_ref()
            .and_then(|p| self.map_sha_of.get(p.as_bytes()))
            .map(|s| (*s).to_string());
        self.action(&s.entry.rel, None, Change::DebugId { kind });
        let target = if guessed.is_some() {
            TargetKind::Inside
        } else {
            TargetKind::Empty
        };
        edit_record(c, EditKind::Rewrite(kind), target, guessed, map_sha)
    }

    /// A reference cut out: where it pointed, its inline map or large removed bytes stored.
    fn strip(&mut self, s: &Seen, c: &Cut, files: &FastSet<&[u8]>) -> EditRecord {
        let rel = &s.entry.rel;
        let (target, map_path, map_sha) = self.target(rel, c, files);
        match &c.inline {
            Some(Ok(i)) => {
                self.journal.steps.push(Step::StoreInline {
                    path: rel.clone(),
                    url_offset: c.url_offset,
                    url_len: c.url_len,
                    sha256: i.sha.clone(),
                });
                if let Some(m) = s.debug.as_ref().and_then(|d| d.store.as_ref())
                    && m.inline == Some((c.url_offset, c.url_len))
                {
                    self.journal.steps.push(Step::StoreWithDebugId {
                        path: rel.clone(),
                        inline: m.inline,
                        offset: m.offset,
                        text: m.text.clone(),
                        sha256: m.sha.clone(),
                    });
                }
                self.count(rel, |st| st.inline += 1);
                let change = Change::Extract {
                    size: i.size,
                    sha: i.sha.clone(),
                };
                self.action(rel, Some(c.line), change);
            }
            Some(Err(why)) => self.notes.push(NoteRecord::new(
                rel.lossy(),
                format!("line {}: inline map does not decode ({why}); comment removed, its bytes kept in the vault", c.line),
            )),
            None => {}
        }
        if c.blob {
            self.journal.steps.push(Step::StoreBlob {
                path: rel.clone(),
                offset: c.splice.offset,
                len: c.splice.len,
                sha256: c.removed_sha.clone(),
            });
        }
        let url = if c.inline.is_some() {
            ShownUrl::DataUri
        } else {
            ShownUrl::Text(String::from_utf8_lossy(&c.url).into_owned())
        };
        let change = Change::Strip {
            url,
            len: c.splice.len,
            target,
            replaced_by: if c.filled {
                Some(format!(
                    "white space ({} bytes: the code around it keeps its meaning and columns)",
                    c.splice.insert.len()
                ))
            } else {
                (!c.splice.insert.is_empty()).then(|| c.splice.insert.clone())
            },
        };
        self.action(rel, Some(c.line), change);
        self.count(rel, |st| st.references += 1);
        let mut e = edit_record(
            c,
            EditKind::Leak(LeakKind::of(c.form, &c.url)),
            target,
            map_path,
            map_sha,
        );
        e.line = (c.line > 0).then_some(c.line);
        e.url = c
            .inline
            .is_none()
            .then(|| String::from_utf8_lossy(&c.url).into_owned());
        e.inserted = (!c.splice.insert.is_empty()).then(|| c.splice.insert.clone());
        e
    }

    /// Where a cut reference of file `rel` pointed; a target in the dist that is not a map is
    /// left in place, with a note.
    fn target(
        &mut self,
        rel: &RelPath,
        c: &Cut,
        files: &FastSet<&[u8]>,
    ) -> (TargetKind, Option<RelPath>, Option<String>) {
        match url::resolve(rel.as_bytes(), &c.url) {
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
                let shown = String::from_utf8_lossy(&p);
                if let Some(sha) = self.map_sha_of.get(p.as_slice()) {
                    (TargetKind::Inside, path, Some((*sha).to_string()))
                } else if self.facts.map_links.iter().any(|(l, _)| l.as_bytes() == p) {
                    // A link to a map, removed and recorded with this seal.
                    (TargetKind::Inside, path, None)
                } else if self.opts.allow.allows_file(&RelPath::new(p.clone())) {
                    self.notes.push(NoteRecord::new(rel.lossy(), format!("line {}: reference points at {shown}, left in place by --allow; comment removed (allow this file too to keep it)", c.line)));
                    (TargetKind::NotAMap, path, None)
                } else if files.contains(p.as_slice()) || self.links.contains(p.as_slice()) {
                    self.notes.push(NoteRecord::new(rel.lossy(), format!("line {}: reference points at {shown} which is not a source map; comment removed, file left in place", c.line)));
                    (TargetKind::NotAMap, path, None)
                } else {
                    (TargetKind::Missing, path, None)
                }
            }
        }
    }

    /// Links to maps: each removed (while it still is that link) and recorded with its target.
    fn map_links(&mut self, links: &[(RelPath, RawPath)]) {
        for (rel, target) in links {
            self.journal.steps.push(Step::RemoveLink {
                path: rel.clone(),
                target: target.clone(),
            });
            self.record.links.push(LinkRecord {
                path: rel.clone(),
                target: target.clone(),
            });
            let shown = crate::sanitize::bytes_for_terminal(
                target.to_path().as_os_str().as_encoded_bytes(),
            );
            self.action(rel, None, Change::RemoveLink { target: shown });
        }
    }

    /// Directories left empty once their maps are gone, deepest first; recorded shallow first
    /// (unseal recreates parents before children).
    fn dirs(&mut self, seen: &[Seen], w: &Walk) {
        let moved: BTreeSet<&[u8]> = seen
            .iter()
            .filter(|s| s.map.is_some())
            .map(|s| s.entry.rel.as_bytes())
            .collect();
        let parent_of = |p: &[u8]| -> Vec<u8> {
            p.iter()
                .rposition(|&c| c == b'/')
                .map_or_else(Vec::new, |i| p[..i].to_vec())
        };
        // Per directory: (entries, entries that go).
        let mut children: BTreeMap<Vec<u8>, (usize, usize)> = BTreeMap::new();
        for f in &w.files {
            let e = children.entry(parent_of(f.rel.as_bytes())).or_default();
            e.0 += 1;
            if moved.contains(f.rel.as_bytes()) {
                e.1 += 1;
            }
        }
        // A link to a map goes too ([`Planner::map_links`], before directories are removed).
        for (r, _) in &w.symlinks {
            let e = children.entry(parent_of(r.as_bytes())).or_default();
            e.0 += 1;
            if self.facts.map_links.iter().any(|(l, _)| l == r) {
                e.1 += 1;
            }
        }
        let others = w.special.iter().chain(w.dirs.iter().map(|(r, _)| r));
        for r in others {
            children.entry(parent_of(r.as_bytes())).or_default().0 += 1;
        }
        let mut dirs: Vec<&(RelPath, u32)> = w.dirs.iter().collect();
        dirs.sort_by_key(|(r, _)| {
            std::cmp::Reverse(r.as_bytes().iter().filter(|&&c| c == b'/').count())
        });
        for (r, mode) in dirs {
            let (total, removable) = children.get(r.as_bytes()).copied().unwrap_or((0, 0));
            if total > 0 && total == removable {
                self.journal.steps.push(Step::RemoveDir { path: r.clone() });
                self.record.dirs.push(DirRecord {
                    path: r.clone(),
                    mode: *mode,
                });
                children.entry(parent_of(r.as_bytes())).or_default().1 += 1;
                self.count(r, |st| st.dirs_removed += 1);
                self.action(r, None, Change::RemoveDir);
            }
        }
        self.record.dirs.reverse();
    }
}

/// The manifest record of one cut: where, what was removed (and how it is kept), and why.
fn edit_record(
    c: &Cut,
    kind: EditKind,
    target: TargetKind,
    map_path: Option<RelPath>,
    map_sha256: Option<String>,
) -> EditRecord {
    EditRecord {
        offset: c.splice.offset,
        len: c.splice.len,
        removed_sha256: c.removed_sha.clone(),
        removed: c.removed.clone(),
        kind,
        line: None,
        url: None,
        target,
        map_path,
        map_sha256,
        inserted: Some(c.splice.insert.clone()),
    }
}

#[cfg(test)]
mod tests {
    //! The plan as a pure function: hand-made inspection results in, journal, record and
    //! report out; no file is read.

    use std::path::PathBuf;

    use super::*;
    use crate::compress::Codec;
    use crate::hash::sha256_hex;
    use crate::meta::Meta;
    use crate::scan;
    use crate::seal::edit::{Extra, plan_edit};
    use crate::seal::inspect::MapSeen;
    use crate::walk::FileEntry;

    const UID: u32 = 1000;

    fn meta(size: usize) -> Meta {
        Meta {
            size: size as u64,
            mode: 0o644,
            dev: 1,
            ino: 1,
            nlink: 1,
            uid: UID,
            ..Meta::default()
        }
    }

    fn entry(rel: &str, size: usize) -> FileEntry {
        FileEntry {
            rel: RelPath::new(rel.as_bytes().to_vec()),
            path: PathBuf::from("/nowhere").join(rel),
            meta: meta(size),
        }
    }

    fn map(rel: &str, bytes: &[u8]) -> Seen {
        let mut s = Seen::new(&entry(rel, bytes.len()));
        s.map = Some(MapSeen {
            sha: sha256_hex(bytes),
            size: bytes.len() as u64,
        });
        s
    }

    fn bundle(rel: &str, bytes: &[u8]) -> Seen {
        let mut s = Seen::new(&entry(rel, bytes.len()));
        let a = scan::analyze(rel.as_bytes(), bytes);
        s.edit = Some(plan_edit(bytes, &a.refs, &s.entry.meta, &Extra::default()));
        s.refs = a.refs;
        s
    }

    fn walk(seen: &[Seen], dirs: &[&str]) -> Walk {
        Walk {
            files: seen.iter().map(|s| s.entry.clone()).collect(),
            dirs: dirs
                .iter()
                .map(|d| (RelPath::new(d.as_bytes().to_vec()), 0o755))
                .collect(),
            ..Walk::default()
        }
    }

    fn opts() -> SealOptions {
        SealOptions {
            dist: PathBuf::from("/d"),
            vault: crate::vault::VaultLoc::local(PathBuf::from("/v")),
            dry_run: false,
            debug_ids: None,
            allow: crate::allow::AllowList::default(),
        }
    }

    fn facts(present: &[Stored]) -> Facts {
        Facts {
            id: "seal-test".into(),
            sealed_at: "2030-01-01T00:00:00Z".into(),
            euid: UID,
            vault: Some(VaultFacts {
                dev: 1,
                present: present.iter().cloned().collect(),
            }),
            ..Facts::default()
        }
    }

    fn steps(p: &Plan) -> Vec<&'static str> {
        p.journal
            .steps
            .iter()
            .map(|s| match s {
                Step::RenameIn { .. } => "rename-in",
                Step::CopyIn { .. } => "copy-in",
                Step::Unlink { .. } => "unlink",
                Step::Edit { .. } => "edit",
                Step::RemoveDir { .. } => "remove-dir",
                Step::Recompress { .. } => "recompress",
                Step::StoreInline { .. } => "store-inline",
                _ => "other",
            })
            .collect()
    }

    fn actions(p: &Plan) -> Vec<(String, &'static str)> {
        p.actions
            .iter()
            .map(|a| (a.path.clone(), a.change.name()))
            .collect()
    }

    const MAP: &[u8] = br#"{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}"#;
    const JS: &[u8] = b"a();\n//# sourceMappingURL=a.js.map\n";

    #[test]
    fn a_bundle_and_its_map_become_a_rename_an_edit_and_their_records() {
        let seen = vec![
            bundle("a.js", JS),
            map("a.js.map", MAP),
            map("maps/b.js.map", b"{}"),
        ];
        let w = walk(&seen, &["maps"]);
        let p = plan(&opts(), &facts(&[]), &seen, &w);
        assert_eq!(
            steps(&p),
            ["rename-in", "rename-in", "edit", "remove-dir"],
            "each map renamed in, the bundle edited, the emptied directory removed"
        );
        assert_eq!(
            actions(&p),
            [
                ("maps/b.js.map".into(), "move"),
                ("a.js.map".into(), "move"),
                ("a.js".into(), "strip"),
                ("maps".into(), "remove-dir"),
            ]
        );
        assert_eq!(
            p.stats,
            Stats {
                references: 1,
                files_edited: 1,
                maps_moved: 2,
                map_bytes: (MAP.len() + 2) as u64,
                dirs_removed: 1,
                ..Stats::default()
            }
        );
        // Each path's share of the counts, and the path of each action, for a partly failed run.
        assert_eq!(
            p.action_paths
                .iter()
                .map(RelPath::lossy)
                .collect::<Vec<_>>(),
            actions(&p).into_iter().map(|(a, _)| a).collect::<Vec<_>>()
        );
        assert_eq!(
            p.by_path.get(&RelPath::new(b"a.js".to_vec())),
            Some(&Stats {
                references: 1,
                files_edited: 1,
                ..Stats::default()
            })
        );
        let mut left = p.stats;
        for part in p.by_path.values() {
            left.remove(part);
        }
        assert_eq!(left, Stats::default(), "the shares add up to the counts");
        let rec = p.journal.record.as_ref().expect("a seal record");
        assert_eq!(
            (rec.id.as_str(), rec.sealed_at.as_str()),
            ("seal-test", "2030-01-01T00:00:00Z")
        );
        let edited = rec
            .files
            .iter()
            .find(|f| f.action == Action::Edited)
            .expect("the bundle is recorded");
        assert_eq!(edited.sha256, sha256_hex(JS));
        assert_eq!(
            edited.sealed_sha256.as_deref(),
            Some(sha256_hex(b"a();\n\n").as_str())
        );
        let e = &edited.edits[0];
        assert_eq!(e.target, TargetKind::Inside);
        assert_eq!(e.map_sha256.as_deref(), Some(sha256_hex(MAP).as_str()));
        assert_eq!(e.url.as_deref(), Some("a.js.map"));
        assert_eq!(rec.dirs.len(), 1);
        assert!(p.errors.is_empty() && p.notes.is_empty());
    }

    #[test]
    fn objects_the_vault_has_are_not_stored_again_and_a_dry_run_copies() {
        let seen = vec![map("a.js.map", MAP)];
        let w = walk(&seen, &[]);
        let obj = Stored::Map(sha256_hex(MAP));
        assert_eq!(objects_wanted(&seen), std::slice::from_ref(&obj));
        let p = plan(&opts(), &facts(&[obj]), &seen, &w);
        assert_eq!(steps(&p), ["unlink"], "the vault's copy is kept");
        let dry = Facts {
            vault: None,
            ..facts(&[])
        };
        let p = plan(&opts(), &dry, &seen, &w);
        assert_eq!(steps(&p), ["copy-in", "unlink"], "no vault to rename into");
    }

    #[test]
    fn files_with_the_same_bytes_are_stored_once() {
        let seen = vec![map("a.js.map", MAP), map("b.js.map", MAP)];
        let p = plan(&opts(), &facts(&[]), &seen, &walk(&seen, &[]));
        assert_eq!(steps(&p), ["copy-in", "unlink", "unlink"]);
        assert!(matches!(
            p.actions[0].change,
            Change::Move {
                same_as_others: 1,
                ..
            }
        ));
        assert_eq!(p.stats.maps_moved, 2);
    }

    #[test]
    fn a_foreign_or_linked_map_is_copied_not_renamed() {
        let mut s = map("a.js.map", MAP);
        s.entry.meta.nlink = 2;
        let seen = vec![s];
        let p = plan(&opts(), &facts(&[]), &seen, &walk(&seen, &[]));
        assert_eq!(steps(&p), ["copy-in", "unlink"]);
        let mut s = map("a.js.map", MAP);
        s.entry.meta.uid = UID + 1;
        let seen = vec![s];
        let p = plan(&opts(), &facts(&[]), &seen, &walk(&seen, &[]));
        assert_eq!(steps(&p), ["copy-in", "unlink"]);
    }

    #[test]
    fn a_precompressed_copy_of_another_build_is_an_error_unless_its_plain_file_is_sealed() {
        let old_js: &[u8] = b"old();\n//# sourceMappingURL=a.js.map\n";
        let inner = plan_edit(
            old_js,
            &scan::analyze(b"a.js", old_js).refs,
            &meta(0),
            &Extra::default(),
        );
        let sealed_sha = inner.sealed_sha.clone();
        let mut gz = Seen::new(&entry("a.js.gz", 10));
        gz.packed = Some(Packed::Refs {
            codec: Codec::Gzip,
            inner_name: b"a.js".to_vec(),
            file_sha: "f".repeat(64),
            inner: Box::new(inner),
            new_sha: "e".repeat(64),
            new_size: 9,
        });
        let seen = vec![bundle("a.js", JS), gz];
        let w = walk(&seen, &[]);
        let files: FastSet<&[u8]> = w.files.iter().map(|f| f.rel.as_bytes()).collect();
        let check = copies_to_check(&seen, &files);
        assert_eq!(check.len(), 1);
        assert_eq!(check[0].2, sealed_sha);

        let p = plan(&opts(), &facts(&[]), &seen, &w);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert_eq!(p.errors[0].path, "a.js.gz");
        assert_eq!(steps(&p), ["edit"], "the copy is left alone");

        let finished = Facts {
            holds_sealed: [RelPath::new(b"a.js".to_vec())].into_iter().collect(),
            ..facts(&[])
        };
        let p = plan(&opts(), &finished, &seen, &w);
        assert!(p.errors.is_empty());
        assert_eq!(steps(&p), ["copy-in", "recompress", "edit"]);
        assert_eq!(actions(&p)[0], ("a.js.gz".into(), "recompress"));
    }

    #[test]
    fn a_reference_to_a_file_that_is_not_a_map_is_cut_and_noted() {
        let js: &[u8] = b"a();\n//# sourceMappingURL=b.js\n";
        let seen = vec![bundle("a.js", js), Seen::new(&entry("b.js", 5))];
        let p = plan(&opts(), &facts(&[]), &seen, &walk(&seen, &[]));
        assert_eq!(steps(&p), ["edit"]);
        assert_eq!(p.notes.len(), 1);
        assert!(
            p.notes[0].message.contains("not a source map"),
            "{:?}",
            p.notes
        );
        let rec = p.journal.record.as_ref().expect("record");
        assert_eq!(rec.files[0].edits[0].target, TargetKind::NotAMap);
    }

    /// A bundle (and its precompressed copy) whose map could not be read is left as it is, with
    /// a note naming the map, so that a later seal moves the map and cuts the reference together;
    /// other bundles are sealed as usual.
    #[test]
    fn a_bundle_whose_map_could_not_be_read_is_left_unchanged() {
        let mut broken = Seen::new(&entry("a.js.map", MAP.len()));
        broken.error = Some("cannot read: Too many open files (os error 24)".into());
        let plain = bundle("a.js", JS);
        let mut gz = Seen::new(&entry("a.js.gz", 40));
        gz.packed = Some(Packed::Refs {
            codec: Codec::Gzip,
            inner_name: b"a.js".to_vec(),
            file_sha: sha256_hex(b"compressed"),
            inner: Box::new(plain.edit.clone().expect("edit")),
            new_sha: sha256_hex(b"compressed again"),
            new_size: 30,
        });
        let other = bundle("b.js", b"b();\n//# sourceMappingURL=b.js.map\n");
        let mut seen = vec![plain, gz, other, broken];
        crate::seal::inspect::hold_references_to_unreadable(&mut seen);
        let p = plan(&opts(), &facts(&[]), &seen, &walk(&seen, &[]));
        assert_eq!(steps(&p), ["edit"]);
        assert_eq!(actions(&p), [("b.js".to_string(), "strip")]);
        let held: Vec<_> = seen
            .iter()
            .flat_map(|s| &s.notes)
            .map(|n| (n.path.as_str(), n.message.as_str()))
            .collect();
        assert_eq!(held.len(), 2, "{held:?}");
        for ((path, message), want) in held.iter().zip(["a.js", "a.js.gz"]) {
            assert_eq!(*path, want);
            assert!(
                message.contains("a.js.map, which could not be read")
                    && message.contains("reference left in place"),
                "{message}"
            );
        }
        let rec = p.journal.record.as_ref().expect("record");
        assert_eq!(rec.files.len(), 1, "{:?}", rec.files);
        assert_eq!(rec.files[0].path.as_bytes(), b"b.js");
    }
}
