//! What the vault holds for each bundle, read from the manifest: every generated file (JS, CSS,
//! WebAssembly…) that has a vaulted map, with the map's vault object, the map's original path,
//! the bundle's hashes (sealed and original) and its debug ID; and every map file to write back.
//! Shared by `resolve` (find the map for a URL, a local file or a debug ID) and `export` (put the
//! maps back at their original paths). Pure: manifest in, catalog out; reading maps is the
//! caller's business.
//!
//! How seal records maps (see `vault/manifest.rs`):
//! - a map file in the dist is a `moved` record at its path; `stored` is `Map(sha)` (the map as
//!   stored — with `seal --debug-ids` it differs from the original `sha256`), or `Blob(sha)` for
//!   a precompressed map (`x.js.map.gz`), whose decoded map is `map_sha256`;
//! - a bundle whose reference was cut is an `edited` record; each edit that led to a map names it
//!   in `map_sha256` (and `map_path` for a map file; `target: inline` for a `data:` map, which is
//!   stored decoded). The last such edit wins, as in browsers;
//! - a map nothing referenced (webpack `hidden-source-map`) belongs, by convention, to the file
//!   named like it without `.map`.
//!
//! Each map also gets the most bytes its record allows (`map_size`): a moved map's `size` (plus
//! the `debugId` member seal inserted into its copy), an inline map's removed comment (which its
//! decoded bytes never exceed). Readers refuse a vault object bigger than that before reading
//! it. A map only stored decompressed (`x.js.map.gz`) has no recorded size.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::manifest::{Action, SealRecord, Stored, TargetKind};
use crate::compress::Codec;
use crate::relpath::RelPath;

/// A generated file and the vaulted map that maps it. Serialized (without `seal` and `dist`,
/// which the seal's index file holds once) in the vault's derived index (`vault/index.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Index of the seal record (a later seal is newer).
    #[serde(skip)]
    pub seal: usize,
    /// Absolute path of the dist when it was sealed.
    #[serde(skip)]
    pub dist: PathBuf,
    /// Dist-relative path of the bundle.
    pub bundle: RelPath,
    /// False when the bundle path is only inferred from the map's name (a map no file
    /// referenced).
    pub bundle_recorded: bool,
    /// `VAULT/maps/<map>.map`.
    pub map: String,
    /// The most bytes `map` can have, from its record (`None`: not recorded).
    pub map_size: Option<u64>,
    /// Where the map file was in the dist; `None` for an inline (`data:`) map.
    pub map_path: Option<RelPath>,
    /// sha256 of the bundle as sealed and as it was before (any of them identifies it).
    pub hashes: Vec<String>,
    /// The debug ID the manifest records for the bundle or its map.
    pub debug_id: Option<String>,
}

/// Where an exported map comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapSource {
    /// A map file of the dist, written back at its path.
    File,
    /// A precompressed map (`x.js.map.gz`), written decoded without the codec extension.
    Decompressed,
    /// An inline `data:` map, written as `<bundle>.map` beside its bundle.
    Inline,
}

/// A map file to write back (for `export`); serialized like [`Entry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapFile {
    #[serde(skip)]
    pub seal: usize,
    #[serde(skip)]
    pub dist: PathBuf,
    /// Dist-relative path to write it at.
    pub path: RelPath,
    /// `VAULT/maps/<map>.map`.
    pub map: String,
    /// The most bytes `map` can have, from its record (`None`: not recorded).
    pub map_size: Option<u64>,
    pub source: MapSource,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub entries: Vec<Entry>,
    pub maps: Vec<MapFile>,
    /// Things a reader should know (HTML inline maps that map no standalone file…).
    pub notes: Vec<String>,
    /// The debug ID inside each stored map that has one (map object → ID), when the maps
    /// were read for it (the vault's index does that once per seal); `None`: not known, a
    /// reader that needs it reads the maps.
    pub map_debug_ids: Option<HashMap<String, String>>,
}

fn is_html(path: &RelPath) -> bool {
    let name = path.file_name().to_ascii_lowercase();
    name.ends_with(b".html") || name.ends_with(b".htm")
}

/// `x.js.map` → `x.js`.
fn strip_map_ext(path: &RelPath) -> Option<RelPath> {
    let b = path.as_bytes();
    let stem = b.strip_suffix(b".map")?;
    (!stem.is_empty() && !stem.ends_with(b"/")).then(|| RelPath::new(stem.to_vec()))
}

/// `x.js.map.gz` → `x.js.map`.
fn strip_codec_ext(path: &RelPath) -> Option<RelPath> {
    let (_, inner) = Codec::from_name(path.as_bytes())?;
    Some(RelPath::new(inner.to_vec()))
}

impl Catalog {
    /// The catalog of every seal of `manifest` (seal indexes are positions in it).
    #[cfg(all(test, unix))]
    pub fn build(manifest: &super::manifest::Manifest) -> Catalog {
        Catalog::assemble_at(manifest.seals.iter().enumerate().map(|(si, rec)| {
            let mut part = Catalog::of_seal(rec);
            for e in &mut part.entries {
                e.seal = si;
            }
            for m in &mut part.maps {
                m.seal = si;
            }
            part
        }))
    }

    /// Catalogs of single seals whose entries and maps carry their seal index already
    /// (`index::SealSet::part`), as one. `map_debug_ids` is known when it is known for every
    /// part.
    pub fn assemble_at(parts: impl IntoIterator<Item = Catalog>) -> Catalog {
        let mut cat = Catalog {
            map_debug_ids: Some(HashMap::new()),
            ..Catalog::default()
        };
        for part in parts {
            cat.entries.extend(part.entries);
            cat.maps.extend(part.maps);
            cat.notes.extend(part.notes);
            match (&mut cat.map_debug_ids, part.map_debug_ids) {
                (Some(all), Some(ids)) => all.extend(ids),
                (all, _) => *all = None,
            }
        }
        cat
    }

    /// The catalog of one seal record (seal index 0; `map_debug_ids` not known).
    pub fn of_seal(rec: &SealRecord) -> Catalog {
        let mut cat = Catalog::default();
        let si = 0;
        {
            let dist = rec.dist.to_path();
            // Map files of this seal: path → (decoded map object, compressed?, debug ID).
            let mut moved: BTreeMap<&RelPath, (String, bool, Option<&String>)> = BTreeMap::new();
            // A map stored with an inserted `debugId` has a new hash: edits may still name
            // the original one.
            let mut stored_of: HashMap<&str, &str> = HashMap::new();
            // Vault map object → the most bytes its record allows.
            let mut size_of: HashMap<String, u64> = HashMap::new();
            let inserted = |f: &super::manifest::FileRecord| {
                f.inserted.as_ref().map_or(0, |i| i.text.len() as u64)
            };
            for f in &rec.files {
                if f.action != Action::Moved {
                    continue;
                }
                match &f.stored {
                    Some(Stored::Map(s)) => {
                        // `seal --debug-ids`: the copy with `"debugId"` matches the bundle's
                        // `//# debugId=` comment, so that is the one to resolve and export.
                        size_of.insert(s.clone(), f.size);
                        if let Some(d) = &f.debug_map_sha256 {
                            size_of.insert(d.clone(), f.size.saturating_add(inserted(f)));
                        }
                        let s = f.debug_map_sha256.as_ref().unwrap_or(s);
                        moved.insert(&f.path, (s.clone(), false, f.debug_id.as_ref()));
                        stored_of.insert(f.sha256.as_str(), s.as_str());
                    }
                    Some(Stored::Blob(_)) => {
                        if let Some(m) = f.debug_map_sha256.as_ref().or(f.map_sha256.as_ref()) {
                            moved.insert(&f.path, (m.clone(), true, f.debug_id.as_ref()));
                        }
                    }
                    None => {}
                }
            }
            let stored = |sha: &str| stored_of.get(sha).map_or(sha, |s| *s).to_string();

            let mut bundles: BTreeMap<RelPath, usize> = BTreeMap::new();
            let mut referenced = std::collections::BTreeSet::new();
            let mut html_inline = 0usize;
            for f in &rec.files {
                if f.action != Action::Edited {
                    continue;
                }
                let Some(edit) = f.edits.iter().rev().find(|e| e.map_sha256.is_some()) else {
                    continue;
                };
                for e in &f.edits {
                    if let Some(p) = &e.map_path {
                        referenced.insert(p.clone());
                    }
                }
                if is_html(&f.path) {
                    // Maps of inline <script>/<style> blocks count from the block, not the page.
                    html_inline += 1;
                    continue;
                }
                let inline = edit.target == TargetKind::Inline;
                let map = match &f.debug_map_sha256 {
                    Some(with_id) if inline => with_id.clone(),
                    _ => stored(edit.map_sha256.as_deref().unwrap_or_default()),
                };
                // A decoded `data:` map is never longer than the comment it was cut from.
                let map_size = if inline {
                    Some(edit.len.saturating_add(inserted(f)))
                } else {
                    size_of.get(&map).copied()
                };

                let map_path = if inline { None } else { edit.map_path.clone() };
                let debug_id = f.debug_id.clone().or_else(|| {
                    map_path
                        .as_ref()
                        .and_then(|p| moved.get(p))
                        .and_then(|m| m.2.cloned())
                });
                let mut hashes = Vec::new();
                hashes.extend(f.sealed_sha256.clone());
                hashes.push(f.sha256.clone());
                bundles.insert(f.path.clone(), cat.entries.len());
                cat.entries.push(Entry {
                    seal: si,
                    dist: dist.clone(),
                    bundle: f.path.clone(),
                    bundle_recorded: true,
                    map: map.clone(),
                    map_size,
                    map_path,
                    hashes,
                    debug_id,
                });
                if inline {
                    let path = RelPath::new([f.path.as_bytes(), b".map"].concat());
                    cat.maps.push(MapFile {
                        seal: si,
                        dist: dist.clone(),
                        path,
                        map,
                        map_size,
                        source: MapSource::Inline,
                    });
                }
            }
            if html_inline > 0 {
                cat.notes.push(format!(
                    "{}: {html_inline} HTML file(s) had maps in inline <script>/<style> blocks; \
                     those map positions inside a block, not the page, and are left out",
                    dist.display()
                ));
            }

            for (path, (map, compressed, debug_id)) in &moved {
                let file_path = if *compressed {
                    match strip_codec_ext(path) {
                        // A plain copy of the same map is written anyway.
                        Some(p) if moved.contains_key(&p) => None,
                        other => other,
                    }
                } else {
                    Some((*path).clone())
                };
                let Some(file_path) = file_path else { continue };
                cat.maps.push(MapFile {
                    seal: si,
                    dist: dist.clone(),
                    path: file_path.clone(),
                    map: map.clone(),
                    map_size: size_of.get(map).copied(),
                    source: if *compressed {
                        MapSource::Decompressed
                    } else {
                        MapSource::File
                    },
                });
                if referenced.contains(*path) || referenced.contains(&file_path) {
                    continue;
                }
                let Some(bundle) = strip_map_ext(&file_path) else {
                    continue;
                };
                if bundles.contains_key(&bundle) {
                    continue;
                }
                bundles.insert(bundle.clone(), cat.entries.len());
                cat.entries.push(Entry {
                    seal: si,
                    dist: dist.clone(),
                    bundle,
                    bundle_recorded: false,
                    map: map.clone(),
                    map_size: size_of.get(map).copied(),
                    map_path: Some(file_path),
                    hashes: Vec::new(),
                    debug_id: debug_id.cloned(),
                });
            }
        }
        cat
    }
}

// Unix absolute paths (`/w/dist`) as fixtures: not absolute on Windows.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::vault::manifest::Manifest;
    use std::path::Path;

    fn sha(c: char) -> String {
        c.to_string().repeat(64)
    }

    /// A seal of: `a.js` referencing `a.js.map` (also stored with an inserted debugId, under a
    /// second hash), `b.js` with an inline map, a hidden `c.js.map`, a precompressed-only
    /// `d.js.map.gz`, and a page with an inline-script map.
    fn manifest() -> Manifest {
        let edit = |map: &str, target: &str, map_path: Option<&str>| {
            let removed = crate::hash::sha256_hex(b"//# x");
            serde_json::json!({"offset": 10, "len": 5, "removed_sha256": removed,
                "removed": {"text": "//# x"}, "kind": "map-reference", "target": target,
                "map_path": map_path, "map_sha256": map})
        };
        let edited = |path: &str, sealed: char, e: serde_json::Value| {
            serde_json::json!({"path": path, "action": "edited", "sha256": sha('8'), "size": 15,
                "sealed_sha256": sha(sealed), "sealed_size": 10, "mode": 420, "mtime": 0,
                "mtime_nsec": 0, "edits": [e]})
        };
        let moved = |path: &str, orig: char, stored: serde_json::Value| {
            serde_json::json!({"path": path, "action": "moved", "sha256": sha(orig), "size": 5,
                "mode": 420, "mtime": 0, "mtime_nsec": 0, "stored": stored})
        };
        let mut gz = moved("d.js.map.gz", 'd', serde_json::json!({"blob": sha('d')}));
        gz["codec"] = serde_json::json!("gzip");
        gz["map_sha256"] = serde_json::json!(sha('e'));
        let mut a_map = moved("a.js.map", 'a', serde_json::json!({"map": sha('a')}));
        a_map["debug_id"] = serde_json::json!("85314830-023f-4cf1-a267-535f4e37bb17");
        a_map["debug_map_sha256"] = serde_json::json!(sha('f'));
        a_map["inserted"] = serde_json::json!({"offset": 1, "text": "\"d\":1, "});
        let m = serde_json::json!({"format": "mapvault-manifest", "version": 1, "seals": [{
        "id": "s1", "dist": "/w/dist", "sealed_at": "x", "tool": "t", "files": [
            a_map,
            moved("c.js.map", 'c', serde_json::json!({"map": sha('c')})),
            gz,
            edited("a.js", '1', edit(&sha('a'), "inside", Some("a.js.map"))),
            edited("b.js", '2', edit(&sha('b'), "inline", None)),
            edited("index.html", '3', edit(&sha('7'), "inline", None)),
        ]}]});
        Manifest::parse(&serde_json::to_vec(&m).unwrap_or_default()).expect("test manifest parses")
    }

    // Unix absolute paths (`/w/dist`) as fixtures: not absolute on Windows.

    #[cfg(unix)]
    #[test]
    fn catalog_pairs_bundles_with_their_stored_maps() {
        let cat = Catalog::build(&manifest());
        let e: Vec<(String, &str, bool, Option<&str>)> = cat
            .entries
            .iter()
            .map(|e| {
                (
                    e.bundle.lossy(),
                    &e.map[..1],
                    e.bundle_recorded,
                    e.debug_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            e,
            [
                // The edit names the original map; the copy with `debugId` is the one used.
                (
                    "a.js".to_string(),
                    "f",
                    true,
                    Some("85314830-023f-4cf1-a267-535f4e37bb17")
                ),
                ("b.js".to_string(), "b", true, None),
                ("c.js".to_string(), "c", false, None),
                ("d.js".to_string(), "e", false, None),
            ]
        );
        assert_eq!(cat.entries[0].hashes, [sha('1'), sha('8')]);
        // Sizes from the records: a.js.map is 5 bytes plus the inserted `debugId` member; the
        // inline map of b.js at most its 5-byte comment; c.js.map 5; d.js.map not recorded.
        let sizes: Vec<Option<u64>> = cat.entries.iter().map(|e| e.map_size).collect();
        assert_eq!(sizes, [Some(5 + 7), Some(5), Some(5), None]);
        let maps: Vec<(String, MapSource)> = cat
            .maps
            .iter()
            .map(|m| (m.path.lossy(), m.source))
            .collect();
        assert_eq!(
            maps,
            [
                ("b.js.map".to_string(), MapSource::Inline),
                ("a.js.map".to_string(), MapSource::File),
                ("c.js.map".to_string(), MapSource::File),
                ("d.js.map".to_string(), MapSource::Decompressed),
            ]
        );
        assert_eq!(
            cat.notes.len(),
            1,
            "the HTML inline map is noted: {:?}",
            cat.notes
        );
        assert!(
            cat.entries
                .iter()
                .all(|e| e.dist == Path::new("/w/dist") && e.seal == 0),
            "one seal of /w/dist"
        );
    }

    #[test]
    fn map_names_strip() {
        let p = |s: &str| RelPath::new(s.as_bytes().to_vec());
        assert_eq!(strip_map_ext(&p("a/x.js.map")), Some(p("a/x.js")));
        assert_eq!(strip_map_ext(&p("a/.map")), None);
        assert_eq!(strip_map_ext(&p("a/x.json")), None);
        assert_eq!(strip_codec_ext(&p("x.js.map.gz")), Some(p("x.js.map")));
    }
}
