//! `mapvault export`: write the vault's maps back at their original dist-relative paths in a new
//! private directory (optionally with the sealed bundles beside them, copied from a dist), the
//! layout error-tracker uploaders expect: `<bundle>.map` next to `<bundle>` (Datadog, Bugsnag,
//! Rollbar), or bundle/map pairs carrying debug IDs (Sentry). See `docs/uploaders.md`.
//!
//! Layout decisions:
//! - a map file of the dist is written at its path, with the bytes stored in the vault (with
//!   `seal --debug-ids` that is the map carrying its `debugId`);
//! - an inline `data:` map is written as `<bundle>.map` beside its bundle; the bundle, as
//!   sealed, no longer says where its map is, so an uploader pairs it with whatever map is at
//!   `<bundle>.map`. When the dist also had an unrelated map file of that name, the bundle's own
//!   map is written and the other is reported (`map-clash`, exit 2), never silently swapped;
//! - likewise, a bundle whose map lived elsewhere while another map sits at `<bundle>.map` is
//!   reported as a `map-clash`: an uploader would pair it with the wrong map;
//! - a precompressed map (`x.js.map.gz`) is written decoded as `x.js.map`, unless the dist also
//!   had the plain `x.js.map`;
//! - maps of inline `<script>` blocks in HTML are left out (no file to pair them with);
//! - one release: the latest seal of the dist (`--seal ID` another one); never maps of two
//!   builds mixed unless `--all` asks for every seal of the dist (then the newest record of a
//!   path wins).
//!
//! OUT must be new or empty and not a symbolic link; it is created 0700, directories 0700, files
//! 0600, each file created exclusively (never through an existing name). OUT may not be inside
//! the dist of `--with`, inside any dist sealed into the vault, or inside the vault. Maps are
//! copied out of the vault as a stream, never past the size their record states, and a copy
//! that does not hash to the map's name is removed (`vault::fsutil::copy_verified`).

use crate::sys::{self, DirBuilderExt, OpenOptionsExt};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use serde::Serialize;

use crate::exit::Outcome;
use crate::findings::ErrorRecord;
use crate::relpath::RelPath;
use crate::vault::catalog::{Catalog, MapSource};
use crate::vault::manifest::Stored;
use crate::vault::{Vault, fsutil};

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub vault: crate::vault::VaultLoc,
    /// Absolute; must not exist or be an empty directory.
    pub out: PathBuf,
    /// `--with DIST`: copy the sealed bundles from here (absolute, canonical).
    pub with: Option<PathBuf>,
    /// `--dist DIR`: which sealed dist's maps to export (absolute).
    pub dist: Option<PathBuf>,
    /// `--seal ID`: export this seal record's maps (its dist's).
    pub seal: Option<String>,
    /// `--all`: every seal of the dist, the newest record of each path winning (builds mixed:
    /// what v1 did).
    pub all: bool,
}

/// One file written.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedFile {
    /// Relative to OUT, `/`-separated.
    pub path: String,
    /// `map` or `bundle`.
    pub kind: &'static str,
    /// For maps: `file`, `inline` or `decompressed`; for bundles: `dist`.
    pub from: &'static str,
    pub sha256: String,
    pub size: u64,
}

/// The result of `export`; the JSON contract (see README).
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub out: String,
    /// The sealed dist whose maps were exported.
    pub dist: String,
    /// The seal records exported (ids, oldest first): the latest seal of the dist unless
    /// `--seal` or `--all` said otherwise.
    pub seals: Vec<String>,
    pub maps: usize,
    pub bundles: usize,
    pub files: Vec<ExportedFile>,
    pub notes: Vec<String>,
    pub errors: Vec<ErrorRecord>,
}

impl ExportReport {
    pub fn outcome(&self) -> Outcome {
        if self.errors.is_empty() {
            Outcome::Clean
        } else {
            Outcome::Failed
        }
    }
}

/// `--out` as given must not be a symbolic link (checked before the path is made canonical,
/// which would follow it): export would write into, and chmod, whatever it points at.
pub fn refuse_symlinked_out(given: &Path) -> Result<()> {
    match fs::symlink_metadata(given) {
        Ok(m) if m.file_type().is_symlink() => bail!(
            "--out {} is a symbolic link; export writes only into a real new or empty directory",
            given.display()
        ),
        _ => Ok(()),
    }
}

/// Make the directory `dir` private (0700) through a descriptor opened without following a
/// symlink, so a name swapped for a link is never chmodded through.
fn make_private(dir: &Path) -> io::Result<()> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(sys::O_NOFOLLOW | sys::O_DIRECTORY)
        .open(dir)?;
    sys::set_mode(&f, 0o700)
}

/// Create OUT (0700) or accept it empty (then make it 0700).
fn prepare_out(out: &Path) -> Result<()> {
    match fs::symlink_metadata(out) {
        Ok(m) => {
            if m.file_type().is_symlink() {
                bail!(
                    "--out {} is a symbolic link; refusing to follow it",
                    out.display()
                );
            }
            if !m.is_dir() {
                bail!("--out {} exists and is not a directory", out.display());
            }
            let mut rd = fs::read_dir(out)
                .with_context(|| format!("cannot read --out {}", out.display()))?;
            if rd.next().is_some() {
                bail!(
                    "--out {} is not empty; export writes only into a new or empty directory",
                    out.display()
                );
            }
            make_private(out)
                .with_context(|| format!("cannot make {} private (0700)", out.display()))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = out.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            fs::DirBuilder::new()
                .mode(0o700)
                .create(out)
                .with_context(|| format!("cannot create --out {}", out.display()))?;
            make_private(out)
                .with_context(|| format!("cannot make {} private (0700)", out.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read --out {}", out.display())),
    }
    Ok(())
}

/// Create the parent directories of `rel` under `out` (0700), refusing anything that is not a
/// plain directory we made.
fn make_parents(out: &Path, rel: &RelPath) -> io::Result<()> {
    let mut cur = rel.parent();
    let mut todo = Vec::new();
    while let Some(p) = cur {
        todo.push(p.clone());
        cur = p.parent();
    }
    for p in todo.into_iter().rev() {
        let Some(dir) = p.under(out) else {
            return Err(io::Error::other("path escapes the output directory"));
        };
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => make_private(&dir)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if !fs::symlink_metadata(&dir)?.is_dir() {
                    return Err(io::Error::other(format!(
                        "{} exists and is not a directory",
                        dir.display()
                    )));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Record a file that could not be exported.
fn err(errors: &mut Vec<ErrorRecord>, path: &RelPath, message: String) {
    errors.push(ErrorRecord {
        kind: None,
        path: path.lossy(),
        message,
    });
}

/// Record a map an uploader would pair with the wrong bundle (or not at all).
fn clash(errors: &mut Vec<ErrorRecord>, path: &RelPath, message: String) {
    errors.push(ErrorRecord {
        kind: Some(crate::findings::ErrorKind::MapClash),
        path: path.lossy(),
        message,
    });
}

fn inside(p: &Path, dir: &Path) -> bool {
    p.starts_with(dir)
}

#[expect(
    clippy::too_many_lines,
    reason = "the export run in order (records, maps, bundles, report); left whole while the vault rework (issue 13) changes how records are chosen"
)]
pub fn export(opts: &ExportOptions, on_wait: &mut dyn FnMut(&str)) -> Result<ExportReport> {
    let vault = Vault::open_shared_at(&opts.vault, on_wait)?;
    // The seals' heads only: the catalogs read are those of the seals exported.
    let mut set = vault.load_heads()?;
    let dists = set.dists();
    let mut notes = Vec::new();
    if vault.has_journal() {
        notes.push(format!(
            "vault {} has an unfinished seal or unseal (journal.json); its files are not in the \
             manifest yet — run the same command again to finish it, then export",
            opts.vault.display()
        ));
    }

    // Which sealed dist.
    let list = || {
        dists
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let by_seal = match &opts.seal {
        Some(id) => {
            let Some(head) = set.seals.iter().find(|s| &s.id == id) else {
                bail!(
                    "--seal {id}: no such seal in vault {} (its records are {}/seals/<id>.json)",
                    opts.vault.display(),
                    opts.vault.display()
                );
            };
            let d = head.info.dist.to_path();
            if opts.dist.as_ref().is_some_and(|o| o != &d) {
                bail!("--seal {id} is a seal of {}, not of --dist", d.display());
            }
            Some(d)
        }
        None => None,
    };
    let dist = match (by_seal.as_ref().or(opts.dist.as_ref()), &opts.with) {
        (Some(d), _) => {
            if !dists.contains(d) {
                bail!(
                    "--dist {}: not sealed into vault {} (it holds: {})",
                    d.display(),
                    opts.vault.display(),
                    list()
                );
            }
            d.clone()
        }
        (None, Some(w)) if dists.contains(w) => w.clone(),
        (None, _) if dists.len() == 1 => dists[0].clone(),
        (None, with) => {
            if dists.is_empty() {
                bail!("vault {} holds no sealed dist", opts.vault.display());
            }
            let why = match with {
                Some(w) => format!("--with {} is not a dist sealed into it", w.display()),
                None => "it holds several dists".to_string(),
            };
            bail!(
                "vault {}: {why}; choose the dist whose maps to export with --dist DIR (it holds: {})",
                opts.vault.display(),
                list()
            );
        }
    };

    // Which seals of it: one release unless told otherwise.
    let of_dist: Vec<usize> = set
        .seals
        .iter()
        .enumerate()
        .filter(|(_, s)| s.info.dist.to_path() == dist)
        .map(|(i, _)| i)
        .collect();
    let chosen: std::collections::BTreeSet<usize> = match &opts.seal {
        Some(id) => set.position(id).into_iter().collect(),
        None if opts.all => of_dist.iter().copied().collect(),
        None => of_dist.last().copied().into_iter().collect(),
    };
    if of_dist.len() > chosen.len() {
        notes.push(format!(
            "exported {} of the {} seals of {} (the latest, unless --seal said which); the \
             others stay in the vault: `export --seal ID` for one, `--all` for every one",
            chosen.len(),
            of_dist.len(),
            dist.display()
        ));
    }
    let seal_ids: Vec<String> = chosen.iter().map(|&i| set.seals[i].id.clone()).collect();
    // Only the chosen seals' catalogs are read.
    let mut parts = Vec::with_capacity(chosen.len());
    for &i in &chosen {
        parts.push(set.part(&vault, i)?);
    }
    let cat = &Catalog::assemble_at(parts);
    for n in &cat.notes {
        if !notes.contains(n) {
            notes.push(n.clone());
        }
    }

    // Never write maps where they could ship.
    let out = &opts.out;
    if let Some(w) = &opts.with
        && inside(out, w)
    {
        bail!(
            "--out {} is inside the dist {}; the maps would ship with it",
            out.display(),
            w.display()
        );
    }
    for d in &set.all_dists() {
        if inside(out, d) {
            bail!(
                "--out {} is inside the sealed dist {}; the maps would ship with it",
                out.display(),
                d.display()
            );
        }
    }
    if inside(out, opts.vault.path()) || inside(opts.vault.path(), out) {
        bail!(
            "--out {} and the vault {} must be apart",
            out.display(),
            opts.vault.display()
        );
    }
    prepare_out(out)?;

    // Maps: newest seal per path. At `<bundle>.map` a bundle's own inline map wins over a map
    // file the dist also had there: an uploader pairs the bundle with that path.
    let rank = |s: MapSource| match s {
        MapSource::Inline => 2,
        MapSource::File => 1,
        MapSource::Decompressed => 0,
    };
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut maps: BTreeMap<&RelPath, &crate::vault::catalog::MapFile> = BTreeMap::new();
    for m in cat
        .maps
        .iter()
        .filter(|m| m.dist == dist && chosen.contains(&m.seal))
    {
        let (win, lose) = match maps.get(&m.path) {
            Some(old) if (old.seal, rank(old.source)) >= (m.seal, rank(m.source)) => (*old, m),
            Some(old) => (m, *old),
            None => {
                maps.insert(&m.path, m);
                continue;
            }
        };
        maps.insert(&m.path, win);
        if win.seal == lose.seal && win.map != lose.map && win.source == MapSource::Inline {
            let bundle = win.path.lossy();
            let bundle = bundle.strip_suffix(".map").unwrap_or(&bundle);
            clash(
                &mut errors,
                &m.path,
                format!(
                    "{bundle} has an inline map, exported here; the dist also had a map file at \
                     this path that {bundle} does not use (vault maps/{}.map), which is not \
                     exported: an uploader would pair {bundle} with it",
                    lose.map
                ),
            );
        }
    }
    // Newest record of each bundle that named its map.
    let mut newest: BTreeMap<&RelPath, &crate::vault::catalog::Entry> = BTreeMap::new();
    for e in cat
        .entries
        .iter()
        .filter(|e| e.dist == dist && chosen.contains(&e.seal))
    {
        if newest.get(&e.bundle).is_none_or(|o| o.seal < e.seal) {
            newest.insert(&e.bundle, e);
        }
    }
    for (bundle, e) in &newest {
        let beside = RelPath::new([bundle.as_bytes(), b".map"].concat());
        if let Some(m) = maps.get(&beside)
            && e.bundle_recorded
            && m.map != e.map
        {
            let used = match &e.map_path {
                Some(p) => format!("{} (exported there)", p.lossy()),
                None => "an inline map".to_string(),
            };
            clash(
                &mut errors,
                &beside,
                format!(
                    "{} used the map {used}, but the map written here is another one: an \
                     uploader would pair {} with the wrong map",
                    bundle.lossy(),
                    bundle.lossy()
                ),
            );
        }
    }
    // The maps: fetched one at a time (a remote vault's cache), directories made once each,
    // then copied in parallel (each copy is read, hashed and written: the CPU time of export).
    let mut made: std::collections::HashSet<RelPath> = std::collections::HashSet::new();
    let mut todo = Vec::with_capacity(maps.len());
    for (path, m) in &maps {
        let Some(dest) = path.under(out) else {
            err(
                &mut errors,
                path,
                "path escapes the output directory".into(),
            );
            continue;
        };
        if let Err(e) = vault.fetch(&Stored::Map(m.map.clone())) {
            err(&mut errors, path, format!("{e:#}"));
            continue;
        }
        if let Some(parent) = path.parent()
            && !made.contains(&parent)
        {
            if let Err(e) = make_parents(out, path) {
                err(
                    &mut errors,
                    path,
                    format!("cannot write {}: {e}", dest.display()),
                );
                continue;
            }
            made.insert(parent);
        }
        todo.push((*path, *m, dest));
    }
    let copied: Vec<(&RelPath, Result<ExportedFile, String>)> = todo
        .par_iter()
        .map(|(path, m, dest)| {
            let obj = vault.object_path(&Stored::Map(m.map.clone()));
            let res = fsutil::copy_verified(&obj, &m.map, m.map_size, dest)
                .map_err(|e| {
                    if e.kind() == io::ErrorKind::InvalidData || !obj.exists() {
                        format!("vault map {}", fsutil::describe(&obj, &e))
                    } else {
                        format!("cannot write {}: {e}", dest.display())
                    }
                })
                .map(|size| ExportedFile {
                    path: path.lossy(),
                    kind: "map",
                    from: match m.source {
                        MapSource::File => "file",
                        MapSource::Inline => "inline",
                        MapSource::Decompressed => "decompressed",
                    },
                    sha256: m.map.clone(),
                    size,
                });
            (*path, res)
        })
        .collect();
    for (path, res) in copied {
        match res {
            Ok(f) => files.push(f),
            Err(e) => err(&mut errors, path, e),
        }
    }
    let map_count = files.len();

    // Bundles from --with, checked against the hashes seal recorded.
    if let Some(with) = &opts.with {
        for (path, e) in newest {
            if maps.contains_key(path) {
                continue;
            }
            let (Some(src), Some(dest)) = (path.under(with), path.under(out)) else {
                err(
                    &mut errors,
                    path,
                    "path escapes the dist or the output directory".into(),
                );
                continue;
            };
            match fs::symlink_metadata(&src) {
                Ok(m) if m.is_file() => {}
                Ok(_) => {
                    notes.push(format!(
                        "{}: not a regular file in {}; not copied",
                        path.lossy(),
                        with.display()
                    ));
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    notes.push(format!(
                        "{}: not in {}; its map is exported without it",
                        path.lossy(),
                        with.display()
                    ));
                    continue;
                }
                Err(e) => {
                    err(
                        &mut errors,
                        path,
                        format!("cannot read {}: {e}", src.display()),
                    );
                    continue;
                }
            }
            // Exclusive create, then copy while hashing; a name swapped for a FIFO or a
            // symlink since the check above is refused, not followed.
            let copied = make_parents(out, path).and_then(|()| fsutil::copy_regular(&src, &dest));
            match copied {
                Ok((sha, size)) => {
                    if !e.hashes.is_empty() && !e.hashes.contains(&sha) {
                        let _ = fs::remove_file(&dest);
                        err(
                            &mut errors,
                            path,
                            format!(
                                "{} is not the file that was sealed (sha256 {sha}); its map would not match it — not copied",
                                src.display()
                            ),
                        );
                        continue;
                    }
                    let _ = sys::set_mode_path(&dest, 0o600);
                    files.push(ExportedFile {
                        path: path.lossy(),
                        kind: "bundle",
                        from: "dist",
                        sha256: sha,
                        size,
                    });
                }
                Err(e) => err(
                    &mut errors,
                    path,
                    format!("cannot copy {}: {e}", src.display()),
                ),
            }
        }
    }
    let bundles = files.len() - map_count;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    Ok(ExportReport {
        out: out.display().to_string(),
        dist: dist.display().to_string(),
        seals: seal_ids,
        maps: map_count,
        bundles,
        files,
        notes,
        errors,
    })
}
