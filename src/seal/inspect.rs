//! Seal's inspection: read each file once (through [`crate::inspect`], as verify does), find its
//! leaks, and hash what the vault and the manifest will need — maps by content, edits planned
//! from the bytes in hand, precompressed copies decoded and their sealed form compressed again.

use rayon::prelude::*;

use crate::allow::AllowList;
use crate::compress::Codec;
use crate::findings::NoteRecord;
use crate::hash;
use crate::inspect::{self, Loaded};
use crate::meta::Meta;
use crate::relpath::RelPath;
use crate::scan::{self, FileKind};
use crate::vault::manifest::Inserted;
use crate::vault::multihash;
use crate::walk::FileEntry;

use super::edit::{EditSeen, Extra, plan_edit};

/// A map file found in the dist (for a compressed map: sha and size of the compressed file).
#[derive(Debug, Clone)]
pub(crate) struct MapSeen {
    pub sha: String,
    pub size: u64,
}

/// A precompressed copy (`x.js.gz`) with something to seal inside.
#[derive(Debug, Clone)]
pub(crate) enum Packed {
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

/// What inspection learnt about one file.
#[derive(Debug)]
pub(crate) struct Seen {
    pub entry: FileEntry,
    /// The file is a map (for a compressed map: sha and size of the compressed file).
    pub map: Option<MapSeen>,
    pub edit: Option<EditSeen>,
    pub packed: Option<Packed>,
    /// Every note of the file and of its decompressed content, as verify reports them.
    pub notes: Vec<NoteRecord>,
    pub error: Option<String>,
    /// The references behind `edit` (kept for `--debug-ids`, which plans the edit again).
    pub refs: Vec<scan::Reference>,
    pub debug: Option<DebugSeen>,
    /// References inside string literals naming a file, with the bytes they were found in:
    /// [`decide_embedded`] overwrites those that name a map of the dist once every map is known.
    pub embedded: Option<(Vec<u8>, Vec<scan::embedded::Embedded>)>,
    /// A reference of it points at a file inspection could not read
    /// ([`hold_references_to_unreadable`]): no edit is planned for it, and `--debug-ids` does
    /// not pair it by name.
    pub held: bool,
}

impl Seen {
    pub fn new(entry: &FileEntry) -> Seen {
        Seen {
            entry: entry.clone(),
            map: None,
            edit: None,
            packed: None,
            notes: Vec::new(),
            error: None,
            refs: Vec::new(),
            debug: None,
            embedded: None,
            held: false,
        }
    }

    /// A map that seal moves as it is: not a compressed copy, and read without error.
    pub fn is_plain_map(&self) -> bool {
        self.map.is_some() && self.packed.is_none() && self.error.is_none()
    }
}

/// A debug ID given to a bundle (or its map) by `seal --debug-ids`.
#[derive(Debug, Clone)]
pub(crate) struct DebugSeen {
    pub id: String,
    /// The map is also stored with `"debugId"` inserted: what goes where, and the result.
    pub store: Option<MapWithId>,
    /// The external map (dist path) this bundle's ID names, when it was paired by name.
    pub guessed_map: Option<RelPath>,
    /// The vault object holding the map with this ID in it (when seal added it).
    pub map_sha_with_id: Option<String>,
}

impl DebugSeen {
    /// The manifest fields of a file's debug ID: `debug_id`, `inserted`, `debug_map_sha256`.
    pub fn manifest_fields(
        d: Option<&DebugSeen>,
    ) -> (Option<String>, Option<Inserted>, Option<String>) {
        let Some(d) = d else {
            return (None, None, None);
        };
        let inserted = d.store.as_ref().map(|m| Inserted {
            offset: m.offset,
            text: m.text.clone(),
        });
        (Some(d.id.clone()), inserted, d.map_sha_with_id.clone())
    }
}

/// A map stored a second time with `text` inserted at `offset`, hashing to `sha`.
#[derive(Debug, Clone)]
pub(crate) struct MapWithId {
    /// `Some((url_offset, url_len))` for an inline map in the bundle; `None`: the file is the map.
    pub inline: Option<(u64, u64)>,
    pub offset: u64,
    pub text: String,
    pub sha: String,
}

/// Maps hashed per group by a handful per core, side by side.
const MAP_GROUP: usize = 32;

/// Maps one worker holds open at once: [`MAP_GROUP`], fewer when the soft limit on open files
/// (`limit`; `None` is none) could not hold a group per worker beside what else is open.
fn map_group(limit: Option<u64>, workers: usize) -> usize {
    // Standard streams, the locks, the vault, the walk's directories, the other commands'
    // files: far fewer than this.
    const RESERVE: u64 = 64;
    let Some(limit) = limit else {
        return MAP_GROUP;
    };
    let per_worker = limit.saturating_sub(RESERVE) / (workers.max(1) as u64);
    usize::try_from(per_worker).map_or(MAP_GROUP, |g| g.clamp(1, MAP_GROUP))
}

/// Inspect every file the allow-list does not exempt, in the walk's order. Files named as maps
/// are only hashed, [`multihash::LANES`] at a time per core; the rest go through
/// [`inspect_one`].
pub(crate) fn inspect_all(files: &[FileEntry], allow: &AllowList) -> Vec<Seen> {
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

    let group = map_group(crate::sys::open_files_limit(), rayon::current_num_threads());
    let maps: Vec<Seen> = maps
        .par_chunks(group)
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

/// Hash a group of maps: each from the same open file whose metadata is recorded. All of the
/// group is opened first and fed to the lanes largest first, so the lanes finish together on
/// the small ones: a large map taken last would be hashed alone, at a fraction of the speed.
fn inspect_maps(group: &[&FileEntry]) -> Vec<Seen> {
    let mut opened: Vec<(usize, Option<Meta>, std::io::Result<std::fs::File>)> = group
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let opened = crate::apply::injected_failure("MAPVAULT_FAIL_READ", &e.rel)
                .map_err(std::io::Error::other)
                .and_then(|()| inspect::open_nofollow(&e.path));
            match opened.and_then(|f| Ok((Meta::from_file(&f)?, f))) {
                Ok((meta, f)) => (i, Some(meta), Ok(f)),
                Err(e) => (i, None, Err(e)),
            }
        })
        .collect();
    opened.sort_by_key(|(_, meta, _)| std::cmp::Reverse(meta.map_or(0, |m| m.size)));
    let (slots, files): (Vec<(usize, Option<Meta>)>, Vec<_>) = opened
        .into_iter()
        .map(|(i, meta, f)| ((i, meta), f))
        .unzip();
    let mut seen: Vec<(usize, Seen)> = slots
        .into_iter()
        .zip(multihash::hash_all(files))
        .map(|((i, meta), hashed)| {
            let mut seen = Seen::new(group[i]);
            match (hashed, meta) {
                (Ok((sha, size)), Some(meta)) => {
                    seen.entry.meta = meta;
                    seen.map = Some(MapSeen { sha, size });
                }
                (Err(e), _) => seen.error = Some(format!("cannot read: {e}")),
                (Ok(_), None) => seen.error = Some("cannot read: no metadata".into()),
            }
            (i, seen)
        })
        .collect();
    // Back in the group's order.
    seen.sort_unstable_by_key(|(i, _)| *i);
    seen.into_iter().map(|(_, s)| s).collect()
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
    seen.notes = inspect::note_records(&entry.rel.lossy(), &a);
    if let Some(e) = &a.error {
        seen.error = Some(e.clone());
        return seen;
    }
    if let Some(inner) = &a.inner {
        inspect_packed(&mut seen, inner, buf);
        return seen;
    }
    if a.is_map() {
        seen.map = Some(MapSeen {
            sha: hash::sha256_hex(buf),
            size: buf.len() as u64,
        });
        return seen;
    }
    if !a.refs.is_empty() {
        seen.edit = Some(plan_edit(buf, &a.refs, &seen.entry.meta, &Extra::default()));
    }
    seen.refs = a.refs;
    if a.embedded.iter().any(|e| e.cut.is_some()) {
        seen.embedded = Some((buf.clone(), a.embedded));
    }
    seen
}

/// References inside string literals that name a map of the dist (as verify decides them:
/// [`crate::verify::DistMaps`]) are leaks: each file holding one gets them added to its
/// references and its edit planned again, from the bytes inspected. The maps are every file
/// inspection found to be one (by name or content, compressed or not).
pub(crate) fn decide_embedded(seen: &mut [Seen]) {
    let maps = crate::verify::DistMaps::of(
        seen.iter()
            .filter(|s| s.map.is_some())
            .map(|s| &s.entry.rel),
    );
    for s in seen.iter_mut() {
        let Some((bytes, embedded)) = s.embedded.take() else {
            continue;
        };
        let rel = s.entry.rel.as_bytes();
        let (_, _, cuts) = scan::decide_embedded(&embedded, |url| maps.names_a_map(rel, url));
        if cuts.is_empty() {
            continue;
        }
        s.refs.extend(cuts);
        s.refs.sort_by_key(|r| r.span.start);
        s.edit = Some(plan_edit(&bytes, &s.refs, &s.entry.meta, &Extra::default()));
    }
}

/// The plain file a precompressed copy `rel` is a copy of.
pub(crate) fn plain_of(rel: &RelPath, inner_name: &[u8]) -> RelPath {
    rel.parent()
        .map_or_else(|| RelPath::new(inner_name.to_vec()), |p| p.join(inner_name))
}

/// A reference that points at a file inspection could not read stays where it is: its map
/// stays in the dist (its error says why), and a later seal moves the map and cuts the reference
/// together, recording which map the bundle had. Cutting the comment now would leave a vault
/// record that pairs the bundle with no map. Such a file is marked `held`: nothing is planned
/// for it, except that an HTML file whose `integrity` values need fixing is planned again from
/// its remaining references ([`super::rehash`]); a precompressed copy is left whole. Each held
/// reference gets a note.
pub(crate) fn hold_references_to_unreadable(seen: &mut [Seen]) {
    let unreadable: std::collections::HashSet<Vec<u8>> = seen
        .iter()
        .filter(|s| s.error.is_some())
        .map(|s| s.entry.rel.as_bytes().to_vec())
        .collect();
    if unreadable.is_empty() {
        return;
    }
    for s in seen.iter_mut().filter(|s| s.error.is_none()) {
        let (base, edit) = match (&s.edit, &s.packed) {
            (Some(e), _) => (s.entry.rel.clone(), e),
            (
                None,
                Some(Packed::Refs {
                    inner_name, inner, ..
                }),
            ) => (plain_of(&s.entry.rel, inner_name), &**inner),
            _ => continue,
        };
        let held: Vec<(u64, NoteRecord)> = edit
            .cuts
            .iter()
            .filter(|c| c.rewrite.is_none() && c.inline.is_none())
            .filter_map(|c| match scan::url::resolve(base.as_bytes(), &c.url) {
                scan::url::Target::Inside(p) if unreadable.contains(&p) => Some((
                    c.url_offset,
                    NoteRecord::new(
                        s.entry.rel.lossy(),
                        format!(
                            "line {}: reference points at {}, which could not be read (see its \
                             error): reference left in place, so that a later seal moves both \
                             together",
                            c.line,
                            String::from_utf8_lossy(&p)
                        ),
                    ),
                )),
                _ => None,
            })
            .collect();
        if held.is_empty() {
            continue;
        }
        if s.packed.is_none() {
            s.refs
                .retain(|r| held.iter().all(|(at, _)| *at != r.url.start as u64));
        }
        s.notes.extend(held.into_iter().map(|(_, n)| n));
        s.edit = None;
        s.packed = None;
        s.held = true;
    }
}

/// A precompressed copy (`buf`, decoded as `inner`): a map to move, or references to cut from
/// its content and a sealed copy to compress again.
fn inspect_packed(seen: &mut Seen, inner: &scan::Inner, buf: &[u8]) {
    let file_sha = hash::sha256_hex(buf);
    if inner.analysis.is_map() {
        seen.map = Some(MapSeen {
            sha: file_sha,
            size: buf.len() as u64,
        });
        seen.packed = Some(Packed::Map {
            codec: inner.codec,
            inner_sha: hash::sha256_hex(&inner.bytes),
        });
    } else if !inner.analysis.refs.is_empty() {
        let edit = plan_edit(
            &inner.bytes,
            &inner.analysis.refs,
            &seen.entry.meta,
            &Extra::default(),
        );
        match crate::compress::compress(inner.codec, &edit.sealed(&inner.bytes)) {
            Ok(z) => {
                seen.packed = Some(Packed::Refs {
                    codec: inner.codec,
                    inner_name: inner.name.clone(),
                    file_sha,
                    inner: Box::new(edit),
                    new_sha: hash::sha256_hex(&z),
                    new_size: z.len() as u64,
                });
            }
            Err(e) => seen.error = Some(format!("cannot compress the sealed copy: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The group shrinks to what the open-files limit holds for every worker at once.
    #[test]
    fn map_groups_fit_the_open_files_limit() {
        assert_eq!(map_group(None, 64), MAP_GROUP);
        assert_eq!(map_group(Some(20_000), 2), MAP_GROUP);
        // `ulimit -n 1024` on 64 threads: 15 each, 960 in all.
        assert_eq!(map_group(Some(1024), 64), 15);
        assert!(map_group(Some(1024), 64) * 64 <= 1024 - 64);
        // Below the reserve, or no workers reported: one map at a time.
        assert_eq!(map_group(Some(40), 2), 1);
        assert_eq!(map_group(Some(0), 0), 1);
        assert_eq!(map_group(Some(u64::MAX), 0), MAP_GROUP);
    }

    /// Maps of very different sizes, hashed largest first: each result still belongs to its
    /// own file, in the group's order, and a file that cannot be opened is an error in its
    /// place only.
    #[test]
    fn maps_hashed_largest_first_come_back_in_order() -> std::io::Result<()> {
        let t = tempfile::tempdir()?;
        let sizes = [
            10usize,
            300_000,
            0,
            64,
            1_000_000,
            65,
            5,
            128 * 1024 + 3,
            200_000,
        ];
        for (i, n) in sizes.iter().enumerate() {
            let body: Vec<u8> = (0..*n).map(|k| (k * 31 + i * 7) as u8).collect();
            std::fs::write(t.path().join(format!("m{i}.js.map")), body)?;
        }
        let w = crate::walk::walk_names(t.path(), None);
        let mut files = w.files;
        files.sort_by(|a, b| a.rel.as_bytes().cmp(b.rel.as_bytes()));
        // One missing between the others.
        let gone = files.len() / 2;
        std::fs::remove_file(&files[gone].path)?;
        let group: Vec<&FileEntry> = files.iter().collect();
        let seen = inspect_maps(&group);
        assert_eq!(seen.len(), files.len());
        for (k, (s, f)) in seen.iter().zip(&files).enumerate() {
            assert_eq!(s.entry.rel, f.rel);
            if k == gone {
                assert!(s.map.is_none() && s.error.is_some(), "{:?}", s.error);
                continue;
            }
            let bytes = std::fs::read(&f.path)?;
            let m = s.map.as_ref().expect("hashed");
            assert_eq!(
                (m.sha.as_str(), m.size),
                (hash::sha256_hex(&bytes).as_str(), bytes.len() as u64)
            );
            assert_eq!(s.entry.meta.size, bytes.len() as u64);
        }
        Ok(())
    }
}
