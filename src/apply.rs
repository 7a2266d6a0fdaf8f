//! Executing a journal — the only code that changes a dist. Crash-safe by ordering, and every
//! step idempotent, so recovery after a crash is simply running the same journal again.
//!
//! # The ordering argument
//!
//! 1. **Plan, then commit the plan.** Seal/unseal compute a [`Journal`] without touching
//!    anything, then write it to `VAULT/journal.json` (temp file, fsync, rename, fsync dir).
//!    Until that rename, nothing has changed; after it, the journal describes everything that
//!    may change.
//! 2. **Prepare** (parallel): everything that only *adds* bytes — inline maps decoded into
//!    `maps/`, large removed bytes into `blobs/`, maps copied when they cannot be renamed, new
//!    copies of rewritten files into temp files. Nothing in the dist is modified or deleted.
//!    Every object is hash-verified before it gets its name.
//! 3. **Barrier**: one `syncfs` of the vault's file system (and the dist's, if different). From
//!    here on, every byte a later step depends on is durable — including the original maps
//!    about to be renamed into the vault. One barrier replaces an fsync per file.
//! 4. **Commit** (parallel): single-syscall state changes on the dist — `rename` a map into the
//!    vault, `unlink` a dist copy whose bytes the vault holds, `rename` a temp over a file, or
//!    rewrite a short tail in place (`pwrite` + `ftruncate`, recoverable because the journal
//!    holds the new tail, the old one or its hash, and the hash of the untouched prefix). A file
//!    is committed only if all of its prepare steps succeeded, and only if it is still the file
//!    that was planned (inode, size, mtime — the file the hash was computed from).
//! 5. Directories emptied by the moves are removed; a second **barrier** makes the dist durable.
//! 6. The seal's record is written once, atomically (seal writes it while the second barrier
//!    runs: [`execute_with`]), then, after both, the journal is deleted.
//!
//! A crash anywhere leaves either no journal (nothing changed, or everything done and
//! recorded) or a journal whose steps, re-run, check the state they find: done → skip,
//! not done → do, anything else → refuse with an error naming the file. No original byte is ever
//! deleted before a durable, verified copy exists.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::hash::{self, hex_digest};
use crate::meta::Meta;
use crate::relpath::{RawPath, RelPath};
use crate::scan::datauri;
use crate::splice::{self, Splice};
use crate::sys::{self, FileExt, MetadataExt, OpenOptionsExt};
use crate::vault::Vault;
use crate::vault::fsutil;
use crate::vault::journal::{How, Journal, Step, TailIs};
use crate::vault::manifest::{Bytes, EditRecord, Stored};
use crate::{compress, parallel};

pub use crate::failpoint::failpoint;

/// Test-only failures, compiled in with `--features failpoints`: with the environment variable
/// `var` set to a dist path `REL`, this fails for `REL` (and the caller does nothing), as a
/// write into a read-only directory would for a non-root user — which tests running as root
/// cannot arrange with `chmod` — so what a partly failed run leaves and reports can be checked.
/// `MAPVAULT_FAIL_COMMIT`: every commit step of `REL`; `MAPVAULT_FAIL_COPY`: `seal --out`'s
/// copy of `REL`; `MAPVAULT_FAIL_READ`: seal's inspection of map `REL`.
pub(crate) fn injected_failure(var: &str, path: &RelPath) -> Result<()> {
    #[cfg(feature = "failpoints")]
    if std::env::var_os(var).is_some_and(|want| want.as_encoded_bytes() == path.as_bytes()) {
        bail!("{}: Permission denied (injected by {var})", path.lossy());
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = (var, path);
    Ok(())
}

/// What happened to each step.

#[derive(Debug)]
pub struct Applied {
    /// `Ok(())` or the reason the step failed, parallel to `journal.steps`.
    pub results: Vec<Result<(), String>>,
}

impl Applied {
    pub fn ok(&self, i: usize) -> bool {
        self.results.get(i).is_some_and(Result::is_ok)
    }
    pub fn errors(&self) -> impl Iterator<Item = (usize, &str)> {
        self.results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.as_str())))
    }
}

/// Outcome of a prepare step, handed to its commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prepared {
    /// Nothing to prepare, or the temp file is ready.
    Ready,
    /// The target state is already there (a re-run after a crash).
    Done,
}

/// Run every step of `j` against its dist. Never panics; failures are per step.
pub fn execute(vault: &Vault, j: &Journal) -> Result<Applied> {
    execute_with(vault, j, |_| ()).map(|(a, ())| a)
}

/// [`execute`], running `during` on the calling thread once every change to the dist is made,
/// with what happened to each step, while the second barrier flushes the changes on another
/// thread (`syncfs` waits on the disk, not the CPU). `during` must not change the dist: seal's
/// final verify and the write of its record run there. A record written before the barrier
/// returns is safe: the journal is removed only after both, so a crash in between leaves a
/// journal whose re-run finds every step done and the record written (the same state as a
/// crash after `after-manifest`).
pub fn execute_with<R>(
    vault: &Vault,
    j: &Journal,
    during: impl FnOnce(&Applied) -> R,
) -> Result<(Applied, R)> {
    let dist = j.dist.to_path();
    let n = j.steps.len();
    let mut results: Vec<Result<(), String>> = vec![Ok(()); n];
    let mut phases = parallel::Phases::start();

    // Directories first, parents before children (they are planned in that order).
    let root = Root::new(&dist)?;
    for (i, s) in j.steps.iter().enumerate() {
        if let Step::MakeDir { path, mode, .. } = s {
            results[i] = make_dir(&root, path, *mode).map_err(|e| format!("{e:#}"));
        }
    }

    // Prepare: only adds bytes.
    let root = Root::new(&dist)?;
    let prepared: Vec<Result<Prepared, String>> = j
        .steps
        .par_iter()
        .map(|s| {
            let r = prepare(vault, &root, s).map_err(|e| format!("{e:#}"));
            failpoint("prepare");
            r
        })
        .collect();

    phases.mark("  prepare");
    // Barrier: everything prepared, and every original about to move, is durable.
    vault.barrier(Some(&dist))?;
    phases.mark("  barrier 1");
    failpoint("after-barrier-1");

    // Files whose preparation failed are not committed at all.
    let mut blocked = std::collections::HashSet::new();
    for (i, p) in prepared.iter().enumerate() {
        if let Err(e) = p {
            results[i] = Err(e.clone());
            blocked.insert(j.steps[i].path().clone());
        }
    }
    for (i, r) in results.iter().enumerate() {
        if r.is_err() {
            blocked.insert(j.steps[i].path().clone());
        }
    }

    let root = Root::new(&dist)?;
    let committed: Vec<Option<Result<(), String>>> = j
        .steps
        .par_iter()
        .zip(prepared.par_iter())
        .map(|(s, p)| {
            let Ok(p) = p else { return None };
            if matches!(s, Step::RemoveDir { .. } | Step::MakeDir { .. }) {
                return None;
            }
            if blocked.contains(s.path()) {
                return Some(Err(
                    "skipped: an earlier step for this file failed".to_string()
                ));
            }
            let r = injected_failure("MAPVAULT_FAIL_COMMIT", s.path())
                .and_then(|()| commit(vault, &root, s, *p))
                .map_err(|e| format!("{e:#}"));
            failpoint("commit");
            Some(r)
        })
        .collect();
    for (i, c) in committed.into_iter().enumerate() {
        if let Some(r) = c {
            results[i] = r;
        }
    }

    // Emptied directories, deepest first (planned in that order).
    for (i, s) in j.steps.iter().enumerate() {
        if let Step::RemoveDir { path } = s {
            results[i] = remove_dir(&root, path).map_err(|e| format!("{e:#}"));
        }
    }

    // Leftover temps (of steps that failed) go first, so `during` sees the dist as it will
    // stay; nothing needs them any more (a re-run of the journal prepares them again).
    cleanup_temps(j);
    phases.mark("  commit");
    failpoint("after-commit");
    let applied = Applied { results };
    let (barrier, r) = std::thread::scope(|s| {
        let b = std::thread::Builder::new()
            .name("mapvault-barrier".into())
            .spawn_scoped(s, || vault.barrier(Some(&dist)));
        let r = during(&applied);
        let barrier = match b {
            Ok(h) => h
                .join()
                .unwrap_or_else(|_| Err(anyhow!("the barrier thread panicked"))),
            // No thread to spare: flush here.
            Err(_) => vault.barrier(Some(&dist)),
        };
        (barrier, r)
    });
    barrier?;
    phases.mark("  barrier 2 (overlapped)");
    failpoint("after-barrier-2");
    Ok((applied, r))
}

/// Remove temp files a journal may have left in the dist (temps in the vault go with `tmp/`).
pub fn cleanup_temps(j: &Journal) {
    for s in &j.steps {
        let temp = match s {
            Step::Edit {
                how: How::Rewrite { temp },
                ..
            }
            | Step::Unedit {
                how: How::Rewrite { temp },
                ..
            } => temp,
            Step::Restore { temp, .. } | Step::Recompress { temp, .. } => temp,
            _ => continue,
        };
        let p = temp.to_path();
        if p.as_os_str().is_empty() {
            continue;
        }
        match fs::remove_file(&p) {
            Ok(()) | Err(_) => {}
        }
    }
}

/// The dist a journal changes, with the directories already proven to lie beneath it without a
/// symbolic link on the way. One per phase: each directory is resolved once per phase instead of
/// once per step (a 25,000-file seal has a few hundred directories).
struct Root {
    dir: PathBuf,
    /// The dist itself, opened without following a link: directories are resolved from it.
    fd: sys::OwnedFd,
    checked: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

impl Root {
    fn new(dir: &Path) -> Result<Self> {
        let fd = File::options()
            .read(true)
            .custom_flags(sys::O_DIRECTORY | sys::O_NOFOLLOW)
            .open(dir)
            .with_context(|| format!("cannot open the dist {}", dir.display()))?;
        Ok(Root {
            dir: dir.to_path_buf(),
            fd: fd.into(),
            checked: std::sync::Mutex::new(std::collections::HashSet::new()),
        })
    }

    /// `rel` under the dist, refusing a path that leaves it or passes through a symbolic link:
    /// its directory is resolved beneath the dist with `openat2(RESOLVE_BENEATH |
    /// RESOLVE_NO_SYMLINKS)` (or an `O_NOFOLLOW` walk, see [`fsutil::open_dir_beneath`]). A
    /// directory that does not exist (yet) is fine: its nearest existing ancestor is checked.
    fn at(&self, rel: &RelPath) -> Result<PathBuf> {
        use sys::OsStrExt;
        let p = rel
            .under(&self.dir)
            .ok_or_else(|| anyhow!("refusing a path that leaves the dist: {rel}"))?;
        // Never through a symbolic link: a directory of the dist replaced by a link (after a
        // seal, say) would otherwise lead a restore or a move outside the dist.
        let known = |d: &Path| self.checked.lock().is_ok_and(|c| c.contains(d));
        let mut dir = rel.parent();
        while let Some(d) = dir {
            let abs = self.dir.join(std::ffi::OsStr::from_bytes(d.as_bytes()));
            if known(&abs) {
                break;
            }
            match fsutil::open_dir_beneath(
                &self.fd,
                Path::new(std::ffi::OsStr::from_bytes(d.as_bytes())),
            ) {
                Ok(_) => {
                    if let Ok(mut c) = self.checked.lock() {
                        c.insert(abs);
                    }
                    break;
                }
                Err(e) if fsutil::is_through_symlink(&e) => bail!(
                    "{} passes through a symbolic link; not following it (for {rel})",
                    abs.display()
                ),
                // Not there (yet), or not a directory (the step fails on its own): the
                // ancestors still must not be links.
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(sys::ENOTDIR) =>
                {
                    dir = d.parent();
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot open {}", abs.display()));
                }
            }
        }
        Ok(p)
    }
}

/// Every path `j` acts on lies beneath its dist without a symbolic link on the way: the step
/// paths' directories and the temps in the dist. Run before a journal read from the vault is
/// executed, so a hostile one is refused as a whole and nothing is touched; `execute` checks
/// each path again as it acts (the dist may change meanwhile).
pub fn check_paths(j: &Journal) -> Result<()> {
    let dist = j.dist.to_path();
    let root = Root::new(&dist)?;
    for s in &j.steps {
        root.at(s.path())?;
        // `/`-separated like every record path, whatever this OS's separator is.
        if let Some(t) = s.temp()
            && let Some(rel) = RelPath::from_paths(&dist, &t.to_path())
        {
            root.at(&rel)?;
        }
    }
    Ok(())
}

fn lstat(p: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(p) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot stat {}", p.display())),
    }
}

fn regular(p: &Path, m: &fs::Metadata) -> Result<()> {
    if m.file_type().is_symlink() {
        bail!("{} is now a symbolic link; not touching it", p.display());
    }
    if !m.is_file() {
        bail!("{} is no longer a regular file", p.display());
    }
    Ok(())
}

fn prepare(vault: &Vault, dist: &Root, s: &Step) -> Result<Prepared> {
    match s {
        Step::StoreInline {
            path,
            url_offset,
            url_len,
            sha256,
        } => store(vault, &Stored::Map(sha256.clone()), None, || {
            let p = dist.at(path)?;
            let raw = read_range(&p, *url_offset, *url_len)?;
            // The file's first two bytes say whether the URL is UTF-16 text (as the plan read it).
            let head = read_range(&p, 0, 2).unwrap_or_default();
            let bytes = crate::scan::encoding::url_text(&head, &raw);
            let d = datauri::decode(&bytes)
                .with_context(|| format!("{path}: inline map no longer decodes"))?;
            Ok((
                d.data,
                format!("{path}: inline map changed since it was planned"),
            ))
        }),
        Step::StoreWithDebugId {
            path,
            inline,
            offset,
            text,
            sha256,
        } => store_with_debug_id(vault, dist, path, *inline, *offset, text, sha256),
        Step::StoreBlob {
            path,
            offset,
            len,
            sha256,
        } => store(vault, &Stored::Blob(sha256.clone()), Some(*len), || {
            let bytes = read_range(&dist.at(path)?, *offset, *len)?;
            Ok((
                bytes,
                format!("{path}: bytes changed since they were planned"),
            ))
        }),
        Step::StoreDecoded {
            path,
            codec,
            sha256,
        } => store(vault, &Stored::Map(sha256.clone()), None, || {
            let bytes = fs::read(dist.at(path)?).with_context(|| format!("cannot read {path}"))?;
            let inner = compress::decompress(*codec, &bytes, compress::DEFAULT_LIMIT)
                .with_context(|| format!("{path}: cannot decompress"))?;
            Ok((inner, format!("{path}: changed since it was planned")))
        }),
        Step::Recompress {
            path,
            codec,
            original_sha256,
            inner_sha256,
            splices,
            new_sha256,
            temp,
            ..
        } => {
            let planned = Recompressed {
                codec: *codec,
                original_sha256,
                inner_sha256,
                splices,
                new_sha256,
            };
            prepare_recompress(dist, path, &planned, temp)
        }
        Step::CopyIn { path, to, meta } => {
            if vault.object_sound(to, Some(meta.size))? {
                return Ok(Prepared::Done);
            }
            let p = dist.at(path)?;
            match lstat(&p)? {
                Some(m) => regular(&p, &m)?,
                None => bail!("{path} disappeared before it reached the vault"),
            }
            vault.put_file(&p, to)?;
            Ok(Prepared::Ready)
        }
        Step::Edit {
            path,
            original_sha256,
            sealed_sha256,
            splices,
            how: How::Rewrite { temp },
            meta,
        } => rewrite_into(
            &dist.at(path)?,
            &temp.to_path(),
            meta.mode,
            Some(meta),
            splices,
            original_sha256,
            sealed_sha256,
        ),
        Step::Restore {
            path,
            from,
            sha256,
            size,
            mode,
            rename,
            temp,
            replaces,
            ..
        } => {
            let r = Restored {
                from,
                sha256,
                size: *size,
                mode: *mode,
                rename: *rename,
                replaces: replaces.as_deref(),
            };
            prepare_restore(vault, dist, path, &r, temp)
        }
        Step::Unedit {
            path,
            sha256,
            sealed_sha256,
            edits,
            mode,
            how,
            ..
        } => prepare_unedit(
            vault,
            dist,
            path,
            (sha256, sealed_sha256),
            edits,
            *mode,
            how,
        ),
        Step::Unlink { path, object, meta } => prepare_unlink(vault, dist, path, object, meta),
        _ => Ok(Prepared::Ready),
    }
}

/// [`Step::Unlink`]: the dist's copy goes only once the vault's object is sound. Planned
/// because the object was there, but a name proves nothing: a truncated or bit-flipped object
/// is moved aside and this file's bytes (checked against the object's name) stored instead,
/// before anything in the dist is removed.
fn prepare_unlink(
    vault: &Vault,
    dist: &Root,
    path: &RelPath,
    object: &Stored,
    meta: &Meta,
) -> Result<Prepared> {
    let size = matches!(object, Stored::Map(_)).then_some(meta.size);
    if vault.object_sound(object, size)? {
        return Ok(Prepared::Ready);
    }
    let p = dist.at(path)?;
    match lstat(&p)? {
        Some(m) => regular(&p, &m)?,
        // A re-run after the commit: the file is gone, and the vault must still have it.
        None => bail!("{path} is gone and the vault does not hold its bytes"),
    }
    vault
        .put_file(&p, object)
        .with_context(|| format!("{path}: cannot store its bytes in place of a damaged object"))?;
    Ok(Prepared::Ready)
}

fn commit(vault: &Vault, dist: &Root, s: &Step, prepared: Prepared) -> Result<()> {
    match s {
        Step::StoreInline { .. }
        | Step::StoreWithDebugId { .. }
        | Step::StoreBlob { .. }
        | Step::CopyIn { .. }
        | Step::StoreDecoded { .. } => Ok(()),
        Step::Recompress {
            path, meta, temp, ..
        } => {
            if prepared == Prepared::Done {
                return Ok(());
            }
            let p = dist.at(path)?;
            let m = lstat(&p)?.ok_or_else(|| anyhow!("{path} disappeared"))?;
            if !Meta::from_std(&m).same_content(meta) {
                bail!("{path} changed since it was planned; left in place");
            }
            fs::rename(temp.to_path(), &p)
                .with_context(|| format!("cannot replace {}", p.display()))
        }
        Step::RenameIn { path, to, meta } => rename_in(vault, dist, path, to, meta),
        Step::Unlink { path, object, meta } => {
            if !vault.has(object, None) {
                bail!("the vault does not hold {path}'s bytes; not deleting it");
            }
            let p = dist.at(path)?;
            match lstat(&p)? {
                Some(m) => {
                    regular(&p, &m)?;
                    if !Meta::from_std(&m).same_content(meta) {
                        bail!("{path} changed since it was hashed; left in place");
                    }
                    fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))
                }
                None => Ok(()),
            }
        }
        Step::Edit {
            path, meta, how, ..
        } => {
            let p = dist.at(path)?;
            if let How::Rewrite { .. } = how
                && prepared == Prepared::Done
            {
                return Ok(());
            }
            commit_how(&p, path, how, Some(meta))
        }
        Step::Restore {
            path,
            from,
            mode,
            mtime,
            mtime_nsec,
            rename,
            temp,
            replaces,
            ..
        } => {
            let p = dist.at(path)?;
            if prepared == Prepared::Done {
                // The bytes are back (perhaps by a run killed before it set mode and mtime).
                return set_mode_mtime(&p, *mode, *mtime, *mtime_nsec);
            }
            let src = if *rename {
                vault.object_path(from)
            } else {
                temp.to_path()
            };
            if replaces.is_some() {
                // Over the regenerated copy whose hash prepare checked, atomically.
                fs::rename(&src, &p).with_context(|| format!("cannot restore {}", p.display()))?;
            } else {
                rename_noreplace(&src, &p)
                    .with_context(|| format!("cannot restore {}", p.display()))?;
            }
            set_mode_mtime(&p, *mode, *mtime, *mtime_nsec)
        }
        Step::Unedit {
            path,
            mode,
            mtime,
            mtime_nsec,
            how,
            ..
        } => {
            let p = dist.at(path)?;
            if prepared != Prepared::Done {
                commit_how(&p, path, how, None)?;
            }
            set_mode_mtime(&p, *mode, *mtime, *mtime_nsec)
        }
        Step::RemoveLink { path, target } => remove_link(dist, path, target),
        Step::MakeLink { path, target, .. } => make_link(dist, path, target),
        Step::RemoveDir { .. } | Step::MakeDir { .. } => Ok(()),
    }
}

/// [`Step::RemoveLink`]: only the link planned goes (still a link, to the same target); one
/// already gone (a re-run) is done. `Root::at` reaches it without following any link.
fn remove_link(dist: &Root, rel: &RelPath, target: &RawPath) -> Result<()> {
    let p = dist.at(rel)?;
    match lstat(&p)? {
        None => Ok(()),
        Some(m) if m.file_type().is_symlink() => {
            let now = fs::read_link(&p).with_context(|| format!("cannot read the link {rel}"))?;
            if now != target.to_path() {
                bail!("{rel} now points elsewhere; left in place");
            }
            fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))
        }
        Some(_) => bail!("{rel} is no longer a symbolic link; left in place"),
    }
}

/// [`Step::MakeLink`]: the link as seal found it, where nothing is (the same link there
/// already, a re-run, is done). Creating a link never opens its target.
fn make_link(dist: &Root, rel: &RelPath, target: &RawPath) -> Result<()> {
    let p = dist.at(rel)?;
    let t = target.to_path();
    match lstat(&p)? {
        Some(m) if m.file_type().is_symlink() && fs::read_link(&p).is_ok_and(|now| now == t) => {
            Ok(())
        }
        Some(_) => bail!("{rel} exists; the link seal removed there is not put back over it"),
        None => sys::symlink(&t, &p)
            .with_context(|| format!("cannot recreate the link {}", p.display())),
    }
}

/// [`Step::StoreWithDebugId`]: the map (the file, or the inline map at `inline`) with `text`
/// inserted at `offset`, stored under its planned hash.
fn store_with_debug_id(
    vault: &Vault,
    dist: &Root,
    path: &RelPath,
    inline: Option<(u64, u64)>,
    offset: u64,
    text: &str,
    sha256: &str,
) -> Result<Prepared> {
    store(vault, &Stored::Map(sha256.to_owned()), None, || {
        let p = dist.at(path)?;
        let mut map = match inline {
            Some((o, l)) => {
                let raw = read_range(&p, o, l)?;
                let head = read_range(&p, 0, 2).unwrap_or_default();
                datauri::decode(&crate::scan::encoding::url_text(&head, &raw))
                    .with_context(|| format!("{path}: inline map no longer decodes"))?
                    .data
            }
            None => fs::read(&p).with_context(|| format!("cannot read {path}"))?,
        };
        let at = usize::try_from(offset)?;
        if at > map.len() {
            bail!("{path}: map changed since it was planned");
        }
        map.splice(at..at, text.bytes());
        Ok((map, format!("{path}: map changed since it was planned")))
    })
}

/// The prepare step of every store: done when the vault has `obj` (of `size`, when known);
/// else the bytes `make` builds from the dist are stored, verified against the object's name
/// (a mismatch is reported with the message `make` gives).
fn store(
    vault: &Vault,
    obj: &Stored,
    size: Option<u64>,
    make: impl FnOnce() -> Result<(Vec<u8>, String)>,
) -> Result<Prepared> {
    if vault.object_sound(obj, size)? {
        return Ok(Prepared::Done);
    }
    let (bytes, changed) = make()?;
    vault.put_bytes(obj, &bytes).context(changed)?;
    Ok(Prepared::Ready)
}

/// What a [`Step::Recompress`] expects and makes.
struct Recompressed<'a> {
    codec: compress::Codec,
    original_sha256: &'a str,
    inner_sha256: &'a str,
    splices: &'a [Splice],
    new_sha256: &'a str,
}

/// [`Step::Recompress`]: the copy decompressed, sealed and compressed again into `temp`, every
/// stage checked against the hash the plan computed.
fn prepare_recompress(
    dist: &Root,
    path: &RelPath,
    r: &Recompressed,
    temp: &RawPath,
) -> Result<Prepared> {
    let p = dist.at(path)?;
    let (original, bytes, mode) = File::open(&p)
        .and_then(|mut f| {
            let mode = f.metadata()?.mode() & 0o7777;
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)?;
            Ok((f, bytes, mode))
        })
        .with_context(|| format!("cannot read {path}"))?;
    let sha = hash::sha256_hex(&bytes);
    if sha == r.new_sha256 {
        return Ok(Prepared::Done);
    }
    if sha != r.original_sha256 {
        bail!("{path} changed since it was planned; left as it is");
    }
    let inner = compress::decompress(r.codec, &bytes, compress::DEFAULT_LIMIT)
        .with_context(|| format!("{path}: cannot decompress"))?;
    if hash::sha256_hex(&inner) != r.inner_sha256 {
        bail!("{path}: decompressed content is not what was planned");
    }
    let z = compress::compress(r.codec, &splice::apply(&inner, r.splices))?;
    if hash::sha256_hex(&z) != r.new_sha256 {
        bail!(
            "{path}: compressing again gave different bytes than planned (compressor not deterministic?)"
        );
    }
    let t = temp.to_path();
    let mut f = fsutil::create_with_mode(&t, 0o600)
        .with_context(|| format!("cannot create {}", t.display()))?;
    f.write_all(&z)
        .with_context(|| format!("cannot write {}", t.display()))?;
    // The mode the file has, not the one the journal states (see `rewrite_into`), and its
    // extended attributes (ACLs included).
    sys::set_mode(&f, mode)?;
    keep_xattrs(&original, &f, &p)?;
    Ok(Prepared::Ready)
}

/// What a [`Step::Restore`] puts back.
struct Restored<'a> {
    from: &'a Stored,
    sha256: &'a str,
    size: u64,
    mode: u32,
    rename: bool,
    /// The regenerated copy the restore may replace (its sha256).
    replaces: Option<&'a str>,
}

/// [`Step::Restore`]: done when the file is back; otherwise the object must be there, and a
/// copy (when it is not renamed out) goes to `temp` first. Only a regenerated copy is
/// overwritten, never other content.
fn prepare_restore(
    vault: &Vault,
    dist: &Root,
    path: &RelPath,
    r: &Restored,
    temp: &RawPath,
) -> Result<Prepared> {
    let p = dist.at(path)?;
    if let Some(m) = lstat(&p)? {
        regular(&p, &m)?;
        let (h, _) = fsutil::hash_file(&p)?;
        if h == r.sha256 {
            return Ok(Prepared::Done);
        }
        if r.replaces != Some(h.as_str()) {
            bail!("{path} exists with other content; not overwriting it");
        }
    }
    if !vault.has(r.from, Some(r.size)) {
        bail!("vault object {} for {path} is missing", r.from.sha());
    }
    if !r.rename {
        let t = temp.to_path();
        vault.put_file_to(r.from, &t)?;
        fsutil::chmod_nofollow(&t, r.mode)
            .with_context(|| format!("cannot chmod {}", t.display()))?;
    }
    Ok(Prepared::Ready)
}

/// [`Step::Unedit`]: a rewrite gets its restored copy in its temp; an in-place restore only
/// checks the file is the sealed one (or already restored, or half-written with its prefix
/// intact).
fn prepare_unedit(
    vault: &Vault,
    dist: &Root,
    path: &RelPath,
    (sha256, sealed_sha256): (&str, &str),
    edits: &[EditRecord],
    mode: u32,
    how: &How,
) -> Result<Prepared> {
    let p = dist.at(path)?;
    let m = lstat(&p)?.ok_or_else(|| anyhow!("{path} is missing; cannot put its comments back"))?;
    regular(&p, &m)?;
    match how {
        How::Rewrite { temp } => {
            let ops = unedit_ops(vault, edits)?;
            rewrite_into(&p, &temp.to_path(), mode, None, &ops, sealed_sha256, sha256)
        }
        How::InPlace {
            start,
            prefix_sha256,
            ..
        } => {
            let (h, _) = fsutil::hash_file(&p)?;
            if h == sha256 {
                Ok(Prepared::Done)
            } else if h == sealed_sha256 {
                Ok(Prepared::Ready)
            } else if m.len() >= *start && prefix_hash(&File::open(&p)?, *start)? == *prefix_sha256
            {
                // A tail half-written by a run that was killed mid-write (a write interrupted
                // by a fatal signal stops at a page boundary): the prefix is intact, and the
                // commit writes the whole tail again.
                Ok(Prepared::Ready)
            } else {
                bail!(
                    "{path} changed since it was sealed; not restoring it (its manifest entry is kept)"
                )
            }
        }
    }
}

/// [`Step::RenameIn`]: the map renamed into the vault, unless the vault already has it.
fn rename_in(vault: &Vault, dist: &Root, path: &RelPath, to: &Stored, meta: &Meta) -> Result<()> {
    let p = dist.at(path)?;
    let obj = to;
    let dest = vault.object_path(obj);
    match lstat(&p)? {
        Some(m) => {
            regular(&p, &m)?;
            if !Meta::from_std(&m).same_content(meta) {
                bail!("{path} changed since it was hashed; left in place");
            }
            // One syscall in the common case (the object is new); when it exists
            // already (an identical map stored meanwhile) keep the vault's copy if it
            // is sound, else replace it with this verified file.
            match rename_noreplace(&p, &dest) {
                Ok(()) => {}
                // EINVAL: a file system without RENAME_NOREPLACE; check, then rename.
                Err(e)
                    if e.kind() == io::ErrorKind::AlreadyExists
                        || e.raw_os_error() == Some(sys::EINVAL) =>
                {
                    if vault.object_sound(obj, Some(meta.size))? {
                        fs::remove_file(&p)
                            .with_context(|| format!("cannot remove {}", p.display()))?;
                    } else {
                        fs::rename(&p, &dest).with_context(|| {
                            format!("cannot move {} into the vault", p.display())
                        })?;
                    }
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot move {} into the vault", p.display()));
                }
            }
        }
        None if vault.has(obj, Some(meta.size)) => {}
        None => bail!("{path} is gone and the vault does not have it"),
    }
    fsutil::chmod_file_nofollow(&dest, 0o600).context("cannot make the vaulted map private")?;
    Ok(())
}

/// Commit an edit or its undoing: swap the tail in place, or rename the prepared copy over the
/// file. With `meta` (seal), the file must still be the one that was planned.
fn commit_how(p: &Path, path: &RelPath, how: &How, meta: Option<&Meta>) -> Result<()> {
    match how {
        How::InPlace {
            start,
            from,
            from_sha256,
            to,
            prefix_sha256,
        } => {
            let from = TailIs::of(from, from_sha256.as_ref()).map_err(|e| anyhow!(e))?;
            let to = B64.decode(to)?;
            swap_tail(p, *start, &from, &to, prefix_sha256, meta)
        }
        How::Rewrite { temp } => {
            if let Some(meta) = meta {
                let m = lstat(p)?.ok_or_else(|| anyhow!("{path} disappeared"))?;
                if !Meta::from_std(&m).same_content(meta) {
                    bail!("{path} changed since it was planned; left in place");
                }
            }
            fs::rename(temp.to_path(), p).with_context(|| format!("cannot replace {}", p.display()))
        }
    }
}

/// The last touch of a restored file: its recorded mode and mtime. Also run when the bytes were
/// already back, since a run killed between the rename and this leaves them unset.
fn set_mode_mtime(p: &Path, mode: u32, mtime: i64, mtime_nsec: i64) -> Result<()> {
    fsutil::chmod_nofollow(p, mode)
        .with_context(|| format!("cannot set the mode of {}", p.display()))?;
    fsutil::set_mtime(p, mtime, mtime_nsec)
        .with_context(|| format!("cannot set the mtime of {}", p.display()))
}

fn make_dir(dist: &Root, rel: &RelPath, mode: u32) -> Result<()> {
    let p = dist.at(rel)?;
    match lstat(&p)? {
        Some(m) if m.is_dir() && !m.file_type().is_symlink() => {}
        Some(_) => bail!("{rel} exists and is not a directory"),
        None => fs::create_dir(&p).with_context(|| format!("cannot create {}", p.display()))?,
    }
    fsutil::chmod_nofollow(&p, mode).with_context(|| format!("cannot chmod {}", p.display()))?;
    Ok(())
}

fn remove_dir(dist: &Root, rel: &RelPath) -> Result<()> {
    let p = dist.at(rel)?;
    match lstat(&p)? {
        None => Ok(()),
        Some(m) if m.is_dir() && !m.file_type().is_symlink() => fs::remove_dir(&p)
            .with_context(|| format!("{rel} is not empty after its maps moved; kept")),
        Some(_) => bail!("{rel} is no longer a directory"),
    }
}

/// Rename without replacing an existing file (a file that appears meanwhile is never clobbered).
fn rename_noreplace(src: &Path, dest: &Path) -> io::Result<()> {
    sys::rename_noreplace(src, dest)
}

fn read_range(p: &Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let f = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
    let mut buf = vec![0u8; usize::try_from(len)?];
    f.read_exact_at(&mut buf, offset)
        .with_context(|| format!("cannot read {}", p.display()))?;
    Ok(buf)
}

/// Replace the file's bytes from `start` on: `from` (expected now) becomes `to`. Idempotent:
/// already `to` → nothing; `from` (and, when given, the planned inode/size/mtime) → write; a
/// half-written tail from an interrupted run → written again once the untouched prefix is
/// proven by its hash.
fn swap_tail(
    p: &Path,
    start: u64,
    from: &TailIs,
    to: &[u8],
    prefix_sha256: &str,
    meta: Option<&Meta>,
) -> Result<()> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(p)
        .with_context(|| format!("cannot open {} for writing", p.display()))?;
    let m = f.metadata()?;
    let size = m.len();
    let tail_is = |want: &TailIs| -> Result<bool> {
        if size != start + want.size() {
            return Ok(false);
        }
        let mut buf = vec![0u8; usize::try_from(want.size())?];
        f.read_exact_at(&mut buf, start)?;
        Ok(want.matches(&buf))
    };
    if tail_is(&TailIs::Bytes(to.to_vec()))? {
        return Ok(());
    }
    let planned = tail_is(from)? && meta.is_none_or(|want| Meta::from_std(&m).same_content(want));
    if !planned {
        // Prove the prefix is untouched before writing over whatever the tail holds now.
        if size < start || prefix_hash(&f, start)? != prefix_sha256 {
            bail!(
                "{} changed since it was planned; left as it is",
                p.display()
            );
        }
    }
    f.write_all_at(to, start)?;
    f.set_len(start + to.len() as u64)?;
    Ok(())
}

fn prefix_hash(f: &File, len: u64) -> Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut off = 0u64;
    while off < len {
        let k = usize::try_from(len - off)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        f.read_exact_at(&mut buf[..k], off)?;
        h.update(&buf[..k]);
        off += k as u64;
    }
    Ok(hex_digest(h))
}

/// Stream `input` to a new file `temp` applying `ops` (sorted by offset in `input`), checking the input hashes to `in_sha` and the output to `out_sha`.
/// When the input already hashes to `out_sha`, the work is done and no temp is kept.
fn rewrite_into(
    input: &Path,
    temp: &Path,
    mode: u32,
    meta: Option<&Meta>,
    ops: &[Splice<impl AsRef<[u8]>>],
    in_sha: &str,
    out_sha: &str,
) -> Result<Prepared> {
    let mut src = File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    // Seal's copy keeps the mode of the file it replaces, as it is now: the mode a journal
    // states is never applied to a file of the dist (the journal may not be ours).
    let mode = match meta {
        Some(_) => src.metadata()?.mode() & 0o7777,
        None => mode,
    };
    let out = fsutil::create_with_mode(temp, 0o600)
        .with_context(|| format!("cannot create {}", temp.display()))?;
    let mut w = BufWriter::with_capacity(256 * 1024, out);
    let werr =
        |e: io::Error| anyhow::Error::new(e).context(format!("cannot write {}", temp.display()));
    let (mut hin, mut hout) = (Sha256::new(), Sha256::new());
    let mut buf = vec![0u8; 256 * 1024];
    let mut pos = 0u64;
    let mut next = 0usize;
    let mut skip = 0u64;
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hin.update(&buf[..n]);
        let mut i = 0usize;
        while i < n {
            if skip > 0 {
                let k = (skip as usize).min(n - i);
                i += k;
                pos += k as u64;
                skip -= k as u64;
                continue;
            }
            if next < ops.len() && ops[next].offset == pos {
                let ins = ops[next].insert_bytes();
                w.write_all(ins).map_err(werr)?;
                hout.update(ins);
                skip = ops[next].len;
                next += 1;
                continue;
            }
            let until = if next < ops.len() {
                (ops[next].offset - pos) as usize
            } else {
                usize::MAX
            };
            let k = until.min(n - i);
            w.write_all(&buf[i..i + k]).map_err(werr)?;
            hout.update(&buf[i..i + k]);
            i += k;
            pos += k as u64;
        }
    }
    // Inserts at the very end of the input.
    while next < ops.len() && ops[next].offset == pos && skip == 0 {
        let ins = ops[next].insert_bytes();
        w.write_all(ins).map_err(werr)?;
        hout.update(ins);
        skip = ops[next].len;
        next += 1;
    }
    let out = w.into_inner().map_err(|e| werr(e.into_error()))?;
    let (got_in, got_out) = (hex_digest(hin), hex_digest(hout));
    if got_in == out_sha {
        drop(out);
        let _ = fs::remove_file(temp);
        return Ok(Prepared::Done);
    }
    if got_in != in_sha || got_out != out_sha || next != ops.len() || skip != 0 {
        drop(out);
        let _ = fs::remove_file(temp);
        bail!(
            "{} changed since it was planned; left as it is",
            input.display()
        );
    }
    // Root can give the copy its original owner; anyone else owns the new file (noted in the
    // README: a rewrite makes a new inode).
    if let Some(m) = meta
        && fsutil::euid() == 0
    {
        sys::fchown(&out, m.uid, m.gid)?;
    }
    sys::set_mode(&out, mode)?;
    keep_xattrs(&src, &out, input)?;
    Ok(Prepared::Ready)
}

/// Give the rewritten copy `to` of file `path` (open as `from`) every extended attribute of the
/// original — `user.*`, and ACLs (`system.posix_acl_access`), after the mode since an ACL sets
/// it too — so a rewrite (seal's, and unseal's undoing of it, which copies them back the same
/// way) loses none. A file system without extended attributes lists none; one that lists an
/// attribute it will not set on the copy fails the step, naming it: the file is left as it is.
#[cfg(unix)]
fn keep_xattrs(from: &File, to: &File, path: &Path) -> Result<()> {
    use xattr::FileExt;
    let names = match from.list_xattr() {
        Ok(names) => names,
        Err(e) if e.raw_os_error() == Some(sys::ENOTSUP) => return Ok(()),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot list the extended attributes of {}",
                path.display()
            )));
        }
    };
    for name in names {
        let shown = name.to_string_lossy().into_owned();
        let Some(value) = from.get_xattr(&name).with_context(|| {
            format!(
                "cannot read extended attribute {shown} of {}",
                path.display()
            )
        })?
        else {
            continue;
        };
        to.set_xattr(&name, &value).with_context(|| {
            format!(
                "cannot keep extended attribute {shown} of {}",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Windows has no extended attributes to keep (see `crate::sys`): alternate data streams of
/// the original are not copied to the rewrite.
#[cfg(windows)]
fn keep_xattrs(_from: &File, _to: &File, _path: &Path) -> Result<()> {
    Ok(())
}

/// The bytes an edit removed, rebuilt from the manifest and vault and checked against their
/// recorded hash.
pub fn removed_bytes(vault: &Vault, e: &EditRecord) -> Result<Vec<u8>> {
    let bytes = match &e.removed {
        Bytes::Text(t) => t.as_bytes().to_vec(),
        Bytes::Base64(b) => B64
            .decode(b)
            .context("removed bytes: invalid base64 in the manifest")?,
        Bytes::Blob(sha) => vault.get(&Stored::Blob(sha.clone()))?,
        Bytes::InlineMap { map, prefix } => {
            let data = vault.get(&Stored::Map(map.clone()))?;
            let mut v = prefix.as_bytes().to_vec();
            v.extend_from_slice(B64.encode(data).as_bytes());
            v
        }
    };
    let sha = hash::sha256_hex(&bytes);
    if sha != e.removed_sha256 || bytes.len() as u64 != e.len {
        bail!(
            "cannot rebuild the removed bytes at offset {} (hash mismatch); the manifest or vault was altered",
            e.offset
        );
    }
    Ok(bytes)
}

/// Splices of the sealed file that undo `edits`: each drops what seal inserted and puts back
/// what it removed.
pub fn unedit_ops(vault: &Vault, edits: &[EditRecord]) -> Result<Vec<Splice<Vec<u8>>>> {
    // Sealed offset = original offset + Σ (inserted − removed) of the edits before it.
    let mut delta: i128 = 0;
    let mut out = Vec::with_capacity(edits.len());
    for e in edits {
        let at = u64::try_from(i128::from(e.offset) + delta)
            .map_err(|_| anyhow!("edit offsets in the manifest do not add up"))?;
        out.push(Splice {
            offset: at,
            len: e.inserted_len(),
            insert: removed_bytes(vault, e)?,
        });
        delta += i128::from(e.inserted_len()) - i128::from(e.len);
    }
    Ok(out)
}
