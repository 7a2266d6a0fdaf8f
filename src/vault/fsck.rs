//! `mapvault vault fsck`: is every byte the vault promises still there and sound? Re-hashes
//! every object under `maps/` and `blobs/`, reads every record and unsealed marker, and says
//! which objects are damaged or missing and which seals (and which of their files) that
//! affects. Read-only for records and objects, under the shared lock (like `vault list`): it
//! runs beside readers and waits only for a seal, unseal or prune in progress. It rebuilds the
//! derived index (`index/<id>.json`, index.rs) of every record whose index is missing, invalid
//! or disagrees with the record, and says so in a note (not damage).
//!
//! What counts as damage (exit 1): an object whose bytes do not hash to its name (truncated,
//! bit-flipped, tampered with), one that cannot be read, an entry of `maps/` or `blobs/` that is
//! not a regular file (a symbolic link, directory, FIFO… — never followed, never opened), an
//! object a record needs that is not there, and a record, unsealed marker or v1 manifest that
//! cannot be parsed. Not damage, but reported: objects no record needs (what a crashed seal or
//! an interrupted prune leaves; `vault prune` removes them), entries whose names are not object
//! names, and an unfinished journal. When the vault itself cannot be read (missing, not a
//! vault, a listing of `maps/`, `blobs/` or `seals/` fails) the command fails (exit 2).
//!
//! Hashing streams each object through sha256 in 256 KiB chunks ([`fsutil::hash_file`]), one
//! object per worker thread, so memory stays bounded by the number of objects' names, not by
//! their sizes. An object a record needs is checked once, however many records need it.
//!
//! JSON (`--format json`): `{"vault", "clean", "objects", "bytes", "records",
//! "damaged": [{"object", "problem", "reason", "affects": [{"seal", "files"}]}],
//! "bad_records": [{"path", "reason"}], "unreferenced": [{"object", "bytes"}],
//! "notes": [..]}`. `object` and `path` are relative to the vault (`maps/<sha256>.map`,
//! `blobs/<sha256>`, `seals/<id>.json`); `problem` is `missing`, `corrupt` (hashes to another
//! name), `not_regular` or `unreadable`; `affects` is empty for a damaged object no record
//! needs; `files` are dist-relative paths as the record holds them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;

use super::Vault;
use super::fsutil;
use super::manifest::{SealRecord, Stored};
use super::store::Key;

/// What is wrong with one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// A record needs it and it is not there.
    Missing,
    /// Its bytes hash to something other than its name.
    Corrupt,
    /// It is a symbolic link, directory, FIFO, socket or device.
    NotRegular,
    /// It could not be read (permissions, I/O error).
    Unreadable,
}

/// One seal a damaged object breaks, and which of its files need the object.
#[derive(Debug, Clone, Serialize)]
pub struct Affected {
    pub seal: String,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DamagedObject {
    /// `maps/<sha256>.map` or `blobs/<sha256>`.
    pub object: String,
    pub problem: Problem,
    pub reason: String,
    pub affects: Vec<Affected>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadRecord {
    /// `seals/<id>.json`, `seals/<id>.unsealed.json` or `manifest.json`.
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unreferenced {
    pub object: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FsckReport {
    pub vault: String,
    /// Nothing damaged, missing or unparsable.
    pub clean: bool,
    /// Objects hashed, and their bytes.
    pub objects: u64,
    pub bytes: u64,
    /// Records read and checked (unparsable ones not counted).
    pub records: u64,
    pub damaged: Vec<DamagedObject>,
    pub bad_records: Vec<BadRecord>,
    pub unreferenced: Vec<Unreferenced>,
    pub notes: Vec<String>,
}

impl FsckReport {
    pub fn damage_found(&self) -> bool {
        !self.clean
    }
}

/// What hashing one object found.
enum Checked {
    Sound(u64),
    Bad(Problem, String),
}

fn check_object(path: &Path, key: &Key) -> Checked {
    match fsutil::hash_file(path) {
        Ok((sha, n)) if sha == key.sha => Checked::Sound(n),
        Ok((sha, n)) => Checked::Bad(
            Problem::Corrupt,
            format!("its {n} bytes hash to {sha}, not to its name"),
        ),
        // `open_regular`'s refusals: a link, directory, FIFO… or swapped while opened.
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Checked::Bad(Problem::NotRegular, {
            let s = e.to_string();
            s.strip_prefix("is ")
                .map_or(s.clone(), |r| format!("it is {r}"))
        }),
        Err(e) => Checked::Bad(Problem::Unreadable, format!("cannot read it: {e}")),
    }
}

/// The entries of `VAULT/<dir>` (`maps` or `blobs`): objects by key, and stray names.
fn list_objects(v: &Vault, dir: &str, is_map: bool) -> Result<(Vec<Key>, Vec<String>)> {
    let p = v.root().join(dir);
    let rd = match fs::read_dir(&p) {
        Ok(rd) => rd,
        // A vault that never stored a blob may have no `blobs/` (it is created on write).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((vec![], vec![])),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", p.display())),
    };
    let (mut keys, mut strays) = (Vec::new(), Vec::new());
    for e in rd {
        let e = e.with_context(|| format!("cannot read {}", p.display()))?;
        let name = e.file_name();
        match name.to_str().and_then(|n| super::store::key_of(n, is_map)) {
            Some(k) => keys.push(k),
            None => strays.push(format!("{dir}/{}", name.to_string_lossy())),
        }
    }
    Ok((keys, strays))
}

/// `vault fsck`.
pub fn fsck(vault: &super::VaultLoc, on_wait: &mut dyn FnMut(&str)) -> Result<FsckReport> {
    let v = Vault::open_shared_at(vault, on_wait)?;
    // A vault of a newer layout is refused (exit 2) rather than half checked.
    v.check_marker()?;
    // A remote vault: its objects are downloaded anew into the cache and checked there (the
    // whole bucket is read, as a local fsck reads every object); a failed download is a note
    // and the object shows as missing or unreferenced.
    let mut notes = super::remote::refresh_objects(&v)?;
    let mut bad_records = Vec::new();
    if v.has_journal() {
        notes.push(
            "journal.json is there: a seal or unseal was interrupted; the next seal or unseal \
             of its dist finishes it (its objects may show as unreferenced until then)"
                .to_string(),
        );
    }

    // Every record that parses, by id (a v1 manifest's and `seals/`'s together, as readers
    // see them); each one that does not is damage.
    let mut records: BTreeMap<String, SealRecord> = BTreeMap::new();
    match v.load_v1() {
        Ok(Some(m)) => records.extend(m.seals.into_iter().map(|r| (r.id.clone(), r))),
        Ok(None) => {}
        Err(e) => bad_records.push(BadRecord {
            path: "manifest.json".into(),
            reason: format!("{e:#}"),
        }),
    }
    let (ids, marks) = v.list_seals()?;
    for id in ids {
        match v.load_record(&id) {
            Ok(r) => {
                records.insert(id, r);
            }
            Err(e) => bad_records.push(BadRecord {
                path: format!("seals/{id}.json"),
                reason: format!("{e:#}"),
            }),
        }
    }
    for id in marks {
        if let Err(e) = v.load_unsealed(&id) {
            bad_records.push(BadRecord {
                path: format!("seals/{id}.unsealed.json"),
                reason: format!("{e:#}"),
            });
        }
    }

    // The derived indexes: rebuilt from the records where missing, invalid or different
    // (never damage: the record is the truth).
    if v.load_v1().ok().flatten().is_none() {
        notes.extend(v.check_indexes(&records));
    }

    // Who needs what: object → seal → files.
    let mut needed: BTreeMap<Key, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for r in records.values() {
        for f in &r.files {
            f.for_each_object(|is_map, sha| {
                needed
                    .entry(Key {
                        is_map,
                        sha: sha.to_string(),
                    })
                    .or_default()
                    .entry(r.id.clone())
                    .or_default()
                    .insert(f.path.lossy());
            });
        }
    }

    let (mut keys, mut strays) = list_objects(&v, "maps", true)?;
    let (blob_keys, blob_strays) = list_objects(&v, "blobs", false)?;
    keys.extend(blob_keys);
    strays.extend(blob_strays);
    keys.sort();
    let checked: Vec<(Key, Checked)> = keys
        .into_par_iter()
        .map(|k| {
            let obj = if k.is_map {
                Stored::Map(k.sha.clone())
            } else {
                Stored::Blob(k.sha.clone())
            };
            let c = check_object(&v.object_path(&obj), &k);
            (k, c)
        })
        .collect();

    let affects = |k: &Key| -> Vec<Affected> {
        needed
            .get(k)
            .map(|by_seal| {
                by_seal
                    .iter()
                    .map(|(seal, files)| Affected {
                        seal: seal.clone(),
                        files: files.iter().cloned().collect(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (mut objects, mut bytes) = (0u64, 0u64);
    let mut damaged = Vec::new();
    let mut unreferenced = Vec::new();
    let mut present = BTreeSet::new();
    for (k, c) in &checked {
        present.insert(k.clone());
        match c {
            Checked::Sound(n) => {
                objects += 1;
                bytes += n;
                if !needed.contains_key(k) {
                    unreferenced.push(Unreferenced {
                        object: k.rel(),
                        bytes: *n,
                    });
                }
            }
            Checked::Bad(problem, reason) => {
                objects += 1;
                damaged.push(DamagedObject {
                    object: k.rel(),
                    problem: *problem,
                    reason: reason.clone(),
                    affects: affects(k),
                });
            }
        }
    }
    for k in needed.keys().filter(|k| !present.contains(*k)) {
        damaged.push(DamagedObject {
            object: k.rel(),
            problem: Problem::Missing,
            reason: "a record needs it and it is not in the vault".into(),
            affects: affects(k),
        });
    }
    damaged.sort_by(|a, b| a.object.cmp(&b.object));
    for s in strays {
        notes.push(format!(
            "{s}: not an object name (left alone; a stray file, not part of any seal)"
        ));
    }
    if !bad_records.is_empty() && !unreferenced.is_empty() {
        notes.push(
            "some records could not be read: objects only they need are listed as unreferenced"
                .into(),
        );
    }
    Ok(FsckReport {
        vault: vault.display().to_string(),
        clean: damaged.is_empty() && bad_records.is_empty(),
        objects,
        bytes,
        records: records.len() as u64,
        damaged,
        bad_records,
        unreferenced,
        notes,
    })
}
