//! The vault: a private, append-only archive of releases — content-addressed source maps plus
//! one record per seal saying where every byte came from. Owns every write outside the dist.
//!
//! Layout version 2 (a public contract):
//! ```text
//! VAULT/                        0700
//!   vault.json                  0600  {"format":"mapvault-vault","version":2}, written once
//!   seals/<id>.json             0600  one seal's record, written once (see seals.rs, manifest.rs)
//!   seals/<id>.unsealed.json    0600  written once when that seal was unsealed
//!   index/<id>.json             0600  derived from seals/<id>.json, written once (index.rs)
//!   maps/<sha256>.map           0600  each map, byte-identical (inline maps decoded)
//!   blobs/<sha256>              0600  removed bytes too large for a record
//!   damaged/<name>-<time>       0600  objects found not to hash to their name, moved aside
//!   journal.json                0600  only while a seal/unseal is under way (or was interrupted)
//!   manifest.v1.json            0600  a v1 vault's manifest, kept after migration
//!   tmp/                        0700  temporary files; emptied at every start
//!   lock                        0600  advisory lock held by the running command
//! ```
//! Nothing but `vault prune` (prune.rs) deletes: objects and records are immutable, a seal adds one
//! record, an unseal adds one marker and copies maps out. Every object is trusted only after
//! its bytes hash to its name ([`Vault::object_sound`]). A vault that is world-writable or owned
//! by another user is refused. A v1 vault (`manifest.json`) is read as it is and migrated by the
//! first command that writes (`seals.rs`).

pub(crate) mod catalog;
pub(crate) mod fsck;
pub(crate) mod fsutil;
pub mod index;
pub mod journal;
pub(crate) mod json;
pub(crate) mod listing;
pub mod manifest;
pub mod multihash;
pub(crate) mod prune;
pub mod remote;
pub mod seals;
pub mod store;

use crate::sys::{self, DirBuilderExt, MetadataExt};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use journal::Journal;
use manifest::Stored;

pub(crate) struct Vault {
    root: PathBuf,
    dev: u64,
    _lock: File,
    /// A remote vault: `root` is its local cache, mirrored to this store (see remote.rs).
    remote: Option<remote::Mirror>,
}

/// Where `--vault` points: a directory (a plain path or `file:///abs/path`), or a URL of an
/// object store, whose local state lives in its cache directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultLoc {
    path: PathBuf,
    remote: Option<remote::RemoteSpec>,
}

impl VaultLoc {
    /// A local vault directory.
    pub fn local(path: PathBuf) -> VaultLoc {
        VaultLoc { path, remote: None }
    }

    /// `--vault` as given (anything with `://` is a URL; anything else a path, made absolute
    /// by `absolute`) and its `--vault-option`s, which only a remote vault takes.
    pub fn parse(
        arg: &Path,
        options: &[String],
        absolute: impl FnOnce(&Path) -> Result<PathBuf>,
    ) -> Result<VaultLoc> {
        let text = arg.to_string_lossy();
        let Some((scheme, rest)) = text.split_once("://") else {
            if !options.is_empty() {
                bail!("--vault-option is for a remote vault (s3://, gs://, az://) only");
            }
            return Ok(VaultLoc::local(absolute(arg)?));
        };
        if scheme.eq_ignore_ascii_case("file") {
            if !options.is_empty() {
                bail!("--vault-option is for a remote vault (s3://, gs://, az://) only");
            }
            if !rest.starts_with('/') {
                bail!("--vault {text}: a file:// URL names an absolute path (file:///abs/path)");
            }
            let p = percent_encoding::percent_decode_str(rest).collect::<Vec<u8>>();
            let p = PathBuf::from(<std::ffi::OsStr as sys::OsStrExt>::from_bytes(&p));
            return Ok(VaultLoc::local(absolute(&p)?));
        }
        let spec = remote::RemoteSpec::parse(&text, options)?;
        Ok(VaultLoc {
            path: spec.cache_dir()?,
            remote: Some(spec),
        })
    }

    /// The vault directory: the vault itself, or a remote vault's cache.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// How messages name the vault: its path, or its URL.
    pub fn display(&self) -> String {
        match &self.remote {
            Some(r) => r.url.clone(),
            None => self.path.display().to_string(),
        }
    }
}

/// How long to wait for another mapvault holding the vault or dist lock before giving up.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Take an exclusive advisory lock on `file`, waiting up to [`LOCK_WAIT`]. `on_wait` is called
/// once if we have to wait.
pub(crate) fn lock_file(file: &File, what: &str, on_wait: &mut dyn FnMut(&str)) -> Result<()> {
    wait_for_lock(what, on_wait, || file.try_lock())
}

/// Keep trying `try_lock` until it succeeds, for at most [`LOCK_WAIT`].
fn wait_for_lock(
    what: &str,
    on_wait: &mut dyn FnMut(&str),
    try_lock: impl Fn() -> std::result::Result<(), fs::TryLockError>,
) -> Result<()> {
    let start = Instant::now();
    let mut told = false;
    loop {
        match try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) => {
                if !told {
                    on_wait(&format!("waiting for another mapvault using {what}"));
                    told = true;
                }
                if start.elapsed() > LOCK_WAIT {
                    bail!(
                        "{what} is in use by another mapvault process (waited {}s)",
                        LOCK_WAIT.as_secs()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {what}"));
            }
        }
    }
}

/// "vault X does not exist", saying where the vault was looked for when it is the default
/// `.mapvault` of the current directory (relative to where mapvault runs, not to the dist) and
/// how to name another.
fn missing_vault(path: &Path) -> anyhow::Error {
    let in_cwd = std::env::current_dir().is_ok_and(|d| path == d.join(".mapvault"));
    if in_cwd || path == Path::new(".mapvault") {
        return anyhow::anyhow!(
            "vault {} does not exist: the default vault .mapvault is looked for relative to the \
             current directory, not to the dist; give the vault seal used with --vault DIR",
            path.display()
        );
    }
    anyhow::anyhow!(
        "vault {} does not exist (give the vault seal used with --vault DIR)",
        path.display()
    )
}

fn make_private_dir(p: &Path) -> Result<()> {
    match fs::DirBuilder::new().mode(0o700).create(p) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", p.display())),
    }
    let m = fs::symlink_metadata(p).with_context(|| format!("cannot stat {}", p.display()))?;
    if !m.is_dir() {
        bail!("{} exists and is not a directory", p.display());
    }
    if m.mode() & 0o777 != 0o700 {
        sys::set_mode_path(p, 0o700)
            .with_context(|| format!("cannot make {} private (0700)", p.display()))?;
    }
    Ok(())
}

/// An existing vault directory must be a real directory (not a symlink), owned by us, and not
/// world-writable.
fn check_vault_dir(path: &Path, m: &fs::Metadata) -> Result<()> {
    if m.file_type().is_symlink() {
        bail!(
            "vault {} is a symbolic link; refusing to follow it",
            path.display()
        );
    }
    if !m.is_dir() {
        bail!("vault {} exists and is not a directory", path.display());
    }
    let me = fsutil::euid();
    if m.uid() != me {
        bail!(
            "vault {} is owned by uid {}, not by you (uid {me}); refusing to use it",
            path.display(),
            m.uid()
        );
    }
    if m.mode() & 0o002 != 0 {
        bail!(
            "vault {} is world-writable; refusing to use it (chmod 700 it if it is yours)",
            path.display()
        );
    }
    Ok(())
}

impl Vault {
    /// Open the vault at `path` (absolute), creating it if `create`. Checks ownership and
    /// permissions, takes the lock, and clears `tmp/`.
    pub fn open(path: &Path, create: bool, on_wait: &mut dyn FnMut(&str)) -> Result<Vault> {
        match fs::symlink_metadata(path) {
            Ok(m) => {
                check_vault_dir(path, &m)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                // Only the vault directory itself is created: a typo in `--vault` must not
                // leave a tree of directories behind.
                if let Some(parent) = path.parent()
                    && !fs::metadata(parent).is_ok_and(|m| m.is_dir())
                {
                    bail!(
                        "cannot create the vault {}: {} does not exist or is not a directory \
                         (mapvault creates only the vault directory itself; create its parent \
                         first, or check --vault)",
                        path.display(),
                        parent.display()
                    );
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing_vault(path)),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read vault {}", path.display()));
            }
        }
        make_private_dir(path)?;
        for sub in ["maps", "blobs", "tmp"] {
            make_private_dir(&path.join(sub))?;
        }
        // Never through a symlink, never blocking on a FIFO: see `fsutil::open_lock`.
        let lock = fsutil::open_lock(&path.join("lock"), true)
            .with_context(|| format!("cannot open {}", path.join("lock").display()))?;
        lock_file(&lock, &format!("vault {}", path.display()), on_wait)?;
        let dev = sys::dev_of(path)?;
        let v = Vault {
            root: path.to_path_buf(),
            dev,
            _lock: lock,
            remote: None,
        };
        v.clear_tmp()?;
        v.migrate()?;
        Ok(v)
    }

    /// Open an existing vault for reading only (`resolve`, `export`): the same ownership and
    /// permission checks as [`Vault::open`], but nothing is created or cleaned, and the lock is
    /// taken shared, so readers run side by side and wait only for a seal or unseal in progress.
    pub fn open_shared(path: &Path, on_wait: &mut dyn FnMut(&str)) -> Result<Vault> {
        let m = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing_vault(path)),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read vault {}", path.display()));
            }
        };
        check_vault_dir(path, &m)?;
        let lock_path = path.join("lock");
        let lock = match fsutil::open_lock(&lock_path, false) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                bail!("{} is not a mapvault vault (no lock file)", path.display())
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot open {}", lock_path.display()));
            }
        };
        wait_for_lock(&format!("vault {}", path.display()), on_wait, || {
            lock.try_lock_shared()
        })?;
        Ok(Vault {
            root: path.to_path_buf(),
            dev: sys::dev_of(path)?,
            _lock: lock,
            remote: None,
        })
    }

    /// Open the vault `loc` names for a command that writes: [`Vault::open`] of a directory, or
    /// a remote vault's cache, pulled from its store (see remote.rs).
    pub fn open_at(loc: &VaultLoc, create: bool, on_wait: &mut dyn FnMut(&str)) -> Result<Vault> {
        match &loc.remote {
            None => Vault::open(&loc.path, create, on_wait),
            Some(spec) => remote::open(spec, &loc.path, true, on_wait),
        }
    }

    /// [`Vault::open_shared`] of a directory; a remote vault's cache is opened exclusively (a
    /// reader updates it from the store).
    pub fn open_shared_at(loc: &VaultLoc, on_wait: &mut dyn FnMut(&str)) -> Result<Vault> {
        match &loc.remote {
            None => Vault::open_shared(&loc.path, on_wait),
            Some(spec) => remote::open(spec, &loc.path, false, on_wait),
        }
    }

    /// The store a remote vault mirrors.
    pub(crate) fn remote(&self) -> Option<&remote::Mirror> {
        self.remote.as_ref()
    }

    /// Bring object `s` into a remote vault's cache when it is not there (downloaded and
    /// verified against its name); a no-op for a local vault. Readers that open an object's
    /// path themselves (resolve, export) call this first.
    pub fn fetch(&self, s: &Stored) -> Result<()> {
        let Some(m) = &self.remote else {
            return Ok(());
        };
        if self.has_local(s, None) {
            return Ok(());
        }
        let tmp = self.unique_tmp("fetch");
        m.store.get_object(&remote::object_key(s), s.sha(), &tmp)?;
        fs::rename(&tmp, self.object_path(s)).context("cannot move a fetched object into the cache")
    }

    /// Is a seal or unseal unfinished (a journal left by a crash)? Readers warn about it: the
    /// manifest does not yet describe that run.
    pub fn has_journal(&self) -> bool {
        self.journal_path().exists()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Device id of the vault's file system (renames work only within one). A remote vault
    /// answers a device no file is on: seal then copies (or links, [`Vault::link_in`]) maps into
    /// its cache instead of renaming them, so each is uploaded from the cache at the barrier
    /// while the dist still has it.
    pub fn dev(&self) -> u64 {
        if self.remote.is_some() {
            u64::MAX
        } else {
            self.dev
        }
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// A temp file name no other thread or process will use: two threads may store the same
    /// object at once (identical inline maps), and each needs its own temp file; the second
    /// rename then replaces the first object with identical bytes, which is harmless.
    fn unique_tmp(&self, what: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.tmp_dir()
            .join(format!("{what}-{}-{n}", std::process::id()))
    }

    pub fn object_path(&self, s: &Stored) -> PathBuf {
        match s {
            Stored::Map(sha) => self.root.join("maps").join(format!("{sha}.map")),
            Stored::Blob(sha) => self.root.join("blobs").join(sha),
        }
    }

    /// Is the object present with the expected size? A cheap check (no hashing), for planning
    /// and for reads that verify the bytes they read; before anything relies on an object to
    /// delete the dist's copy, [`Vault::object_sound`] hashes it.
    pub fn has(&self, s: &Stored, size: Option<u64>) -> bool {
        if self.has_local(s, size) {
            return true;
        }
        // A remote vault: fetched into the cache (verified) when the store has it.
        self.remote.is_some() && self.fetch(s).is_ok() && self.has_local(s, size)
    }

    /// [`Vault::fetch`] of an object the store has; one it does not have is left for the
    /// caller to report as missing. Errors (the store cannot be reached, the object does not
    /// hash to its name) are returned, naming the key.
    pub fn fetch_if_stored(&self, s: &Stored) -> Result<()> {
        let Some(m) = &self.remote else {
            return Ok(());
        };
        if self.has_local(s, None) || m.store.head(&remote::object_key(s))?.is_none() {
            return Ok(());
        }
        self.fetch(s)
    }

    /// [`Vault::has`] of the directory alone (a remote vault's cache).
    fn has_local(&self, s: &Stored, size: Option<u64>) -> bool {
        match fs::symlink_metadata(self.object_path(s)) {
            Ok(m) => m.is_file() && size.is_none_or(|n| m.len() == n),
            Err(_) => false,
        }
    }

    /// Which of `wanted` are present, for planning (apply checks each again before relying on
    /// it). One listing of `maps/` and `blobs/` when they are small next to `wanted` — a new or
    /// young vault, one syscall instead of a `statx` per object — else a `statx` per object,
    /// in parallel, so the memory used stays bounded by `wanted` however big the vault grows.
    pub fn which_present<'a>(
        &self,
        wanted: impl IntoIterator<Item = &'a Stored>,
    ) -> std::collections::HashSet<Stored> {
        use rayon::prelude::*;
        let wanted: std::collections::HashSet<&Stored> = wanted.into_iter().collect();
        // Bytes a directory holds per entry is ~30–80 on ext4/xfs/btrfs/tmpfs: a directory up
        // to 64 bytes per wanted object lists faster than stat'ing each.
        let small = |dir: &str| {
            fs::symlink_metadata(self.root.join(dir))
                .is_ok_and(|m| m.len() <= 64 * (wanted.len() as u64) + 64 * 1024)
        };
        if small("maps") && small("blobs") {
            let mut found = std::collections::HashSet::new();
            for (dir, is_map) in [("maps", true), ("blobs", false)] {
                let Ok(rd) = fs::read_dir(self.root.join(dir)) else {
                    continue;
                };
                for e in rd.flatten() {
                    let name = e.file_name();
                    let Some(name) = name.to_str() else { continue };
                    let obj = if is_map {
                        match name.strip_suffix(".map") {
                            Some(sha) => Stored::Map(sha.to_string()),
                            None => continue,
                        }
                    } else {
                        Stored::Blob(name.to_string())
                    };
                    if wanted.contains(&obj) && e.file_type().is_ok_and(|t| t.is_file()) {
                        found.insert(obj);
                    }
                }
            }
            found
        } else {
            wanted
                .into_par_iter()
                .filter(|s| self.has_local(s, None))
                .cloned()
                .collect()
        }
    }

    /// Is object `s` present and sound: a regular file (of `size`, when known) whose bytes hash
    /// to its name? An object that is there but is not — truncated, bit-flipped, tampered with,
    /// a symlink or FIFO — is moved aside to `VAULT/damaged/` for inspection and `Ok(false)`
    /// returned, so the caller stores the good bytes under its name before the dist's copy
    /// goes. Never trusts an object by its name alone.
    pub fn object_sound(&self, s: &Stored, size: Option<u64>) -> Result<bool> {
        let p = self.object_path(s);
        let m = match fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", p.display())),
        };
        let sound = m.is_file()
            && size.is_none_or(|n| m.len() == n)
            && fsutil::open_regular(&p)
                .and_then(|(mut f, _)| crate::hash::hash_reader(&mut f))
                .is_ok_and(|(sha, _)| sha == s.sha());
        if !sound {
            self.move_aside(&p)?;
        } else if let Some(m) = &self.remote {
            // Relied on: the barrier confirms the store has it too.
            m.queue(s);
        }
        Ok(sound)
    }

    /// Move a damaged vault file to `VAULT/damaged/<name>-<unix nanos>-<pid>`.
    fn move_aside(&self, p: &Path) -> Result<()> {
        let dir = self.root.join("damaged");
        make_private_dir(&dir)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let to = dir.join(format!("{name}-{nanos}-{}", std::process::id()));
        match fs::rename(p, &to) {
            Ok(()) => Ok(()),
            // Moved aside meanwhile by another thread storing the same object.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e)
                .with_context(|| format!("cannot move damaged vault object {} aside", p.display())),
        }
    }

    /// Give the checked temp `tmp` its object name. Objects are named by their hash, so one that
    /// another thread stored meanwhile is as good as this one: where a rename over a file open
    /// elsewhere is refused (Windows without POSIX rename semantics: `Access denied`), a sound
    /// object already there is kept and the temp dropped.
    fn publish(&self, tmp: &Path, s: &Stored) -> Result<()> {
        match fs::rename(tmp, self.object_path(s)) {
            Ok(()) => Ok(()),
            Err(e)
                if cfg!(windows)
                    && e.kind() == io::ErrorKind::PermissionDenied
                    && self.object_sound(s, None).unwrap_or(false) =>
            {
                let _ = fs::remove_file(tmp);
                Ok(())
            }
            Err(e) => Err(e).context("cannot move object into the vault"),
        }
    }

    /// Store `bytes` as object `s` (verifying the hash) unless it is already there. Not yet
    /// durable: the caller's barrier makes it so.
    pub fn put_bytes(&self, s: &Stored, bytes: &[u8]) -> Result<()> {
        let sha = crate::hash::sha256_hex(bytes);
        if sha != s.sha() {
            bail!("content hash {sha} does not match the expected {}", s.sha());
        }
        if self.object_sound(s, Some(bytes.len() as u64))? {
            return Ok(());
        }
        let tmp = self.unique_tmp("put");
        {
            use std::io::Write;
            let mut f = fsutil::create_private(&tmp)?;
            f.write_all(bytes)?;
        }
        self.publish(&tmp, s)?;
        if let Some(m) = &self.remote {
            m.queue(s);
        }
        Ok(())
    }

    /// Copy a file into the vault as object `s`, verifying its hash while copying.
    /// The source is read as a regular file only, never through a symbolic link
    /// ([`fsutil::copy_regular`]). A remote vault's cache links it in instead when it can
    /// ([`Vault::link_in`]).
    pub fn put_file(&self, src: &Path, s: &Stored) -> Result<()> {
        let _turn = StoreTurn::take(self.object_path(s));
        // Stored meanwhile by another thread of this run (a map's copy-in and its unlink step
        // are prepared in parallel, and either may store it): kept when it hashes to its name,
        // so a linked object is not replaced by the other thread's copy.
        if self.has_local(s, None) && self.object_sound(s, None)? {
            return Ok(());
        }
        let tmp = self.unique_tmp("copy");
        let linked = if self.remote.is_some() {
            self.link_in(src, &tmp)
        } else {
            None
        };
        let sha = match linked {
            Some(sha) => sha,
            None => {
                fsutil::copy_regular(src, &tmp)
                    .map_err(|e| {
                        anyhow::anyhow!("cannot copy {} into the vault", fsutil::describe(src, &e))
                    })?
                    .0
            }
        };
        if sha != s.sha() {
            let _ = fs::remove_file(&tmp);
            bail!(
                "{} changed while it was being copied (hash {sha}, expected {})",
                src.display(),
                s.sha()
            );
        }
        self.publish(&tmp, s)?;
        if let Some(m) = &self.remote {
            m.queue(s);
        }
        Ok(())
    }

    /// A remote vault's cache on the file system of `src`: hard-link `src` as `tmp` and hash
    /// it there, instead of copying it (`None`: not linked, nothing left at `tmp`; the caller
    /// copies). The cache then shares the dist file's inode until the commit unlinks the dist's
    /// name, so prepare writes nothing, the barrier's `syncfs` has no data to flush and the
    /// commit's `unlink` drops a name instead of freeing blocks.
    ///
    /// Only a regular file of ours with no other name (one link before ours, two with it, as
    /// for seal's rename into a local vault), so after the commit no path but the cache's
    /// reaches the object. Its bytes are trusted as everywhere: hashed here against the name
    /// (the caller's check); hashed again by the upload, which sends only bytes that hash to
    /// the name (a write to the dist file in place before then fails the barrier, and the dist
    /// stays as it is); and the commit unlinks the dist file only if its size and mtime are as
    /// planned. The object keeps the dist file's mode (the cache directory is 0700).
    fn link_in(&self, src: &Path, tmp: &Path) -> Option<String> {
        fs::hard_link(src, tmp).ok()?;
        let hashed = fsutil::open_regular(tmp).and_then(|(mut f, m)| {
            if m.nlink() == 2 && m.uid() == fsutil::euid() && m.dev() == self.dev {
                crate::hash::hash_reader(&mut f).map(|(sha, _)| sha)
            } else {
                Err(io::Error::other("another name or owner"))
            }
        });
        match hashed {
            Ok(sha) => Some(sha),
            Err(_) => {
                let _ = fs::remove_file(tmp);
                None
            }
        }
    }

    /// Copy object `s` out to `dest` (a new private file), checking its hash on the way. The
    /// object is read as a regular file only and `dest` is created anew, so a symbolic link
    /// at either end is never followed: a temp name left by an interrupted run is removed
    /// first (the name, not what a link there points at).
    pub fn put_file_to(&self, s: &Stored, dest: &Path) -> Result<()> {
        match fs::remove_file(dest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", dest.display()));
            }
        }
        self.fetch(s)?;
        let p = self.object_path(s);
        fsutil::copy_verified(&p, s.sha(), None, dest)
            .map_err(|e| anyhow::anyhow!("vault object {}", fsutil::describe(&p, &e)))?;
        Ok(())
    }

    /// Read an object, checking its hash.
    pub fn get(&self, s: &Stored) -> Result<Vec<u8>> {
        self.fetch(s)?;
        let p = self.object_path(s);
        // A regular file only (no symlink to /dev/zero, no FIFO), read up to its size.
        fsutil::read_verified(&p, s.sha(), Some(u64::MAX))
            .map_err(|e| anyhow::anyhow!("vault object {}", fsutil::describe(&p, &e)))
    }

    /// The durability barrier: flush the vault's file system (and `also`'s, when different).
    pub fn barrier(&self, also: Option<&Path>) -> Result<()> {
        fsutil::syncfs(&self.root).context("cannot flush the vault to disk (syncfs)")?;
        if let Some(p) = also
            && sys::dev_of(p).ok() != Some(self.dev)
        {
            fsutil::syncfs(p)
                .with_context(|| format!("cannot flush {} to disk (syncfs)", p.display()))?;
        }
        // A remote vault: every object stored or relied on since the last barrier must be in
        // the store before the dist changes.
        if let Some(m) = &self.remote {
            let uploads: Vec<store::Upload> = m
                .take_pending()
                .into_iter()
                .map(|s| store::Upload {
                    key: remote::object_key(&s),
                    src: self.object_path(&s),
                    sha: s.sha().to_string(),
                })
                .collect();
            // Prepared and flushed, nothing sent yet (the cache may share inodes with the dist).
            crate::failpoint::failpoint("before-upload");
            m.store.put_objects(&uploads)?;
        }
        Ok(())
    }

    /// A v1 vault's manifest (see `seals.rs` for its migration).
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join("manifest.json")
    }

    fn journal_path(&self) -> PathBuf {
        self.root.join("journal.json")
    }

    pub fn load_journal(&self) -> Result<Option<Journal>> {
        // Never through a symlink, never blocking on a FIFO, never past its size.
        match fsutil::read_json_file(&self.journal_path()) {
            Ok(b) => Journal::parse(&b).map(Some).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e}; an interrupted run cannot be finished from it — restore it from \
                         a backup or fix it by hand (it lists every step and the manifest record)",
                    self.journal_path().display()
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!(
                "cannot read {}",
                fsutil::describe(&self.journal_path(), &e)
            )),
        }
    }

    /// Write the journal durably (the commit point of a plan). Returns the bytes of its seal
    /// record, for [`Vault::put_record`].
    pub fn save_journal(&self, j: &Journal) -> Result<Option<json::Pieces>> {
        // A journal names the vault it belongs to; recovery refuses one that names another.
        if j.vault.to_path() != self.root {
            bail!(
                "internal error: journal {} names vault {}, not {}",
                j.id,
                j.vault,
                self.root.display()
            );
        }
        let text = json::journal(j)?;
        fsutil::write_atomic(&self.tmp_dir(), &self.journal_path(), text.slices())
            .with_context(|| format!("cannot write {}", self.journal_path().display()))?;
        Ok(text.record)
    }

    pub fn remove_journal(&self) -> Result<()> {
        match fs::remove_file(self.journal_path()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context("cannot remove journal.json"),
        }
        fsutil::sync_dir(&self.root).context("cannot sync the vault directory")
    }

    fn clear_tmp(&self) -> Result<()> {
        for e in fs::read_dir(self.tmp_dir())? {
            let p = e?.path();
            let _ = fs::remove_file(&p).or_else(|_| fs::remove_dir_all(&p));
        }
        Ok(())
    }
}

/// One thread at a time stores a given object with [`Vault::put_file`] (the others wait, then
/// find it there): held while the object's path is in `TURNS`.
struct StoreTurn(PathBuf);

static TURNS: std::sync::Mutex<std::collections::BTreeSet<PathBuf>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());
static TURN_FREED: std::sync::Condvar = std::sync::Condvar::new();

impl StoreTurn {
    fn take(p: PathBuf) -> StoreTurn {
        let mut held = TURNS.lock().unwrap_or_else(|e| e.into_inner());
        while held.contains(&p) {
            held = TURN_FREED.wait(held).unwrap_or_else(|e| e.into_inner());
        }
        held.insert(p.clone());
        StoreTurn(p)
    }
}

impl Drop for StoreTurn {
    fn drop(&mut self) {
        TURNS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
        TURN_FREED.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_threads_storing_the_same_object_both_succeed() -> Result<()> {
        // Regression: temp names were per (sha, pid), so the second rename found no file.
        let t = tempfile::tempdir()?;
        let v = Vault::open(&t.path().join("v"), true, &mut |_| {})?;
        let data = b"{\"version\":3,\"sources\":[],\"mappings\":\"\"}".repeat(2000);
        let obj = Stored::Map(crate::hash::sha256_hex(&data));
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| v.put_bytes(&obj, &data)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().map_err(|_| anyhow::anyhow!("panicked"))?)
                .collect::<Result<Vec<()>>>()
        })?;
        assert_eq!(v.get(&obj)?, data);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_remote_cache_links_a_map_in_even_when_threads_race_to_store_it() -> Result<()> {
        // A map's copy-in and its unlink step are prepared in parallel and may both store it:
        // the one that comes second must find the link, not replace it with a copy.
        let t = tempfile::tempdir()?;
        let store = Box::new(store::DirStore::new(&t.path().join("remote"))?);
        let v = remote::open_with(store, &t.path().join("cache/v"), true, &mut |_| {})?;
        let data = b"{\"version\":3,\"sources\":[],\"mappings\":\"\"}".repeat(50_000);
        let src = t.path().join("a.js.map");
        fs::write(&src, &data)?;
        let obj = Stored::Map(crate::hash::sha256_hex(&data));
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..8).map(|_| s.spawn(|| v.put_file(&src, &obj))).collect();
            hs.into_iter()
                .map(|h| h.join().map_err(|_| anyhow::anyhow!("panicked"))?)
                .collect::<Result<Vec<()>>>()
        })?;
        let (o, d) = (fs::metadata(v.object_path(&obj))?, fs::metadata(&src)?);
        assert_eq!((o.ino(), d.nlink()), (d.ino(), 2), "copied, not linked");
        assert_eq!(v.get(&obj)?, data);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn world_writable_or_symlinked_vaults_are_refused() -> Result<()> {
        let t = tempfile::tempdir()?;
        let p = t.path().join("v");
        fs::create_dir(&p)?;
        sys::set_mode_path(&p, 0o777)?;
        let e = Vault::open(&p, true, &mut |_| {})
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("world-writable"), "{e}");
        std::os::unix::fs::symlink(&p, t.path().join("link"))?;
        let e = Vault::open(&t.path().join("link"), true, &mut |_| {})
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("symbolic link"), "{e}");
        Ok(())
    }
}
