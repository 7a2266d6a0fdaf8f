//! The storage seam under the vault: the handful of operations the v2 layout needs from wherever
//! its keys live, with the trust rules built in. Keys are the layout's file names relative to the
//! vault (`vault.json`, `seals/<id>.json`, `maps/<sha256>.map`, `blobs/<sha256>`, and any other
//! write-once file a later layout adds), so one trait fits a directory and an object store alike:
//!
//! - **immutable object by sha256** — [`Store::put_object`] is put-if-absent from a local file
//!   whose bytes hash to `sha`; an object already there is re-verified (its bytes hashed), never
//!   trusted by its name, and replaced by the good bytes when it does not hash right (content
//!   addressing makes that replacement harmless to a concurrent writer: both write the same
//!   bytes). [`Store::get_object`] writes a local file and fails unless it hashes to `sha`.
//! - **write-once small key** — [`Store::put_once`]: the same bytes again is success (a re-run),
//!   other bytes an error; [`Store::get_small`] reads one.
//! - [`Store::head`], [`Store::list`] (by prefix, with sizes and modification times), and
//!   [`Store::delete`] — which only `vault prune` calls.
//!
//! Design choice: the vault keeps its local fast paths (rename into `maps/`, one `syncfs`
//! barrier instead of an fsync per object, reflinks on unseal) on the directory itself, so
//! sealing into a local vault adds no copy and no hashing. A remote vault (`remote.rs`) is a
//! local cache vault — full v2 layout, journal, lock and tmp on local disk — mirrored to a
//! [`Store`]: objects go up at the vault's durability barrier, before the dist changes; records
//! go up before their local copy is written (so the cache never holds a record the store lacks).
//! [`DirStore`] is the directory implementation of the same trait: the mirror's tests run against
//! it as well as against a real S3 server, and it states the contract in code.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use super::fsutil;

/// One key as listed or looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the vault (`maps/<sha>.map`).
    pub key: String,
    pub size: u64,
    pub modified: SystemTime,
}

/// One immutable object to store: its key, the local file holding its bytes, their sha256.
#[derive(Debug, Clone)]
pub struct Upload {
    pub key: String,
    pub src: PathBuf,
    pub sha: String,
}

/// What the vault layout needs from a storage backend (see the module docs).
pub trait Store: Send + Sync {
    /// How the store is named in messages (a URL or a directory; never a credential).
    fn describe(&self) -> String;
    /// Put-if-absent of the immutable object `key` from `src`, whose bytes must hash to `sha`.
    fn put_object(&self, key: &str, src: &Path, sha: &str) -> Result<()>;
    /// Copy object `key` to the new file `dest`; an error (and no `dest`) unless it hashes to `sha`.
    fn get_object(&self, key: &str, sha: &str, dest: &Path) -> Result<()>;
    fn head(&self, key: &str) -> Result<Option<Entry>>;
    /// Every key under `prefix` (a directory-like prefix ending in `/`, or empty).
    fn list(&self, prefix: &str) -> Result<Vec<Entry>>;
    /// Write a small key once: the same bytes again is success, other bytes an error.
    fn put_once(&self, key: &str, bytes: &[u8]) -> Result<()>;
    /// Read a small key (a record, a marker, `vault.json`): at most [`SMALL_MAX`] bytes, a
    /// larger one is an error naming it (a store is untrusted: its answer must not fill memory).
    fn get_small(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Delete a key (`vault prune` only); a key already gone is success.
    fn delete(&self, key: &str) -> Result<()>;
    /// Which of `keys` the store does not have (by [`Store::head`]; a backend may look them up
    /// concurrently), in the order given.
    fn missing(&self, keys: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for k in keys {
            if self.head(k)?.is_none() {
                out.push(k.clone());
            }
        }
        Ok(out)
    }
    /// [`Store::put_object`] for many objects; a backend may run them concurrently. Stops at
    /// the first error.
    fn put_objects(&self, items: &[Upload]) -> Result<()> {
        items
            .iter()
            .try_for_each(|u| self.put_object(&u.key, &u.src, &u.sha))
    }
}

/// A key must be a relative path of plain names: no empty, `.` or `..` component, no
/// backslash or NUL; a key read from a listing is untrusted input like any vault file.
pub fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && !key.starts_with('/')
        && key.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    if !ok {
        bail!("{key:?} is not a valid vault key");
    }
    Ok(())
}

/// The directory implementation: keys are files under `root`, temp files in `root/tmp`.
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: &Path) -> Result<DirStore> {
        for d in ["", "tmp"] {
            let p = root.join(d);
            match fs::create_dir(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("cannot create {}", p.display())),
            }
        }
        Ok(DirStore {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    fn tmp(&self) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.root
            .join("tmp")
            .join(format!("store-{}-{n}", std::process::id()))
    }

    fn parent_dir(p: &Path) -> Result<()> {
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
        Ok(())
    }
}

impl Store for DirStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn put_object(&self, key: &str, src: &Path, sha: &str) -> Result<()> {
        let dest = self.path(key)?;
        if fsutil::hash_file(&dest).is_ok_and(|(h, _)| h == sha) {
            return Ok(());
        }
        Self::parent_dir(&dest)?;
        let tmp = self.tmp();
        let (h, _) = fsutil::copy_regular(src, &tmp)
            .map_err(|e| anyhow::anyhow!("cannot store {key}: {}", fsutil::describe(src, &e)))?;
        if h != sha {
            let _ = fs::remove_file(&tmp);
            bail!("cannot store {key}: {} hashes to {h}", src.display());
        }
        fs::rename(&tmp, &dest).with_context(|| format!("cannot store {key}"))
    }

    fn get_object(&self, key: &str, sha: &str, dest: &Path) -> Result<()> {
        let p = self.path(key)?;
        fsutil::copy_verified(&p, sha, None, dest)
            .map_err(|e| anyhow::anyhow!("{key}: {}", fsutil::describe(&p, &e)))?;
        Ok(())
    }

    fn head(&self, key: &str) -> Result<Option<Entry>> {
        let p = self.path(key)?;
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_file() => Ok(Some(Entry {
                key: key.to_string(),
                size: m.len(),
                modified: m.modified()?,
            })),
            Ok(_) => bail!("{key} is not a regular file"),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {key}")),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<Entry>> {
        let dir = if prefix.is_empty() {
            self.root.clone()
        } else {
            self.path(prefix.trim_end_matches('/'))?
        };
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e).with_context(|| format!("cannot list {prefix}")),
        };
        let mut out = Vec::new();
        for e in rd {
            let e = e.with_context(|| format!("cannot list {prefix}"))?;
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let m = e.metadata()?;
            if m.is_file() {
                out.push(Entry {
                    key: format!("{prefix}{name}"),
                    size: m.len(),
                    modified: m.modified()?,
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn put_once(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let dest = self.path(key)?;
        Self::parent_dir(&dest)?;
        let tmp = self.tmp();
        {
            let mut f = fsutil::create_private(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        let linked = fs::hard_link(&tmp, &dest);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if self.get_small(key)?.as_deref() == Some(bytes) {
                    Ok(())
                } else {
                    bail!("{key} already exists with other content; it is written once")
                }
            }
            Err(e) => Err(e).with_context(|| format!("cannot write {key}")),
        }
    }

    fn get_small(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let p = self.path(key)?;
        match fsutil::open_regular(&p) {
            Ok((f, _)) => {
                let mut b = Vec::new();
                io::Read::read_to_end(&mut io::Read::take(f, SMALL_MAX + 1), &mut b)
                    .with_context(|| format!("cannot read {key}"))?;
                if b.len() as u64 > SMALL_MAX {
                    bail!("{key}: larger than {SMALL_MAX} bytes, not a vault record");
                }
                Ok(Some(b))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => bail!("cannot read {key}: {}", fsutil::describe(&p, &e)),
        }
    }

    fn delete(&self, key: &str) -> Result<()> {
        match fs::remove_file(self.path(key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot delete {key}")),
        }
    }
}

/// The most bytes [`Store::get_small`] reads: a seal record of a 12,000-map release is about
/// 20 MB, so this leaves room for ten times that and still bounds what a hostile store can make
/// a reader hold.
pub const SMALL_MAX: u64 = 256 * 1024 * 1024;

/// An entry of `maps/` or `blobs/`, named as an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Key {
    pub is_map: bool,
    pub sha: String,
}

impl Key {
    pub(super) fn rel(&self) -> String {
        if self.is_map {
            format!("maps/{}.map", self.sha)
        } else {
            format!("blobs/{}", self.sha)
        }
    }
}

/// The object named by the entry `name` of `maps/` (`is_map`) or `blobs/`, if it is one.
pub(super) fn key_of(name: &str, is_map: bool) -> Option<Key> {
    let sha = if is_map {
        name.strip_suffix(".map")?
    } else {
        name
    };
    crate::hash::is_sha256_hex(sha).then(|| Key {
        is_map,
        sha: sha.to_string(),
    })
}

#[cfg(test)]
/// The contract every [`Store`] keeps, run against [`DirStore`] here and against a real S3
/// server by the integration tests (through the CLI).
pub(crate) fn check_contract(s: &dyn Store, scratch: &Path) -> Result<()> {
    let data = b"{\"version\":3,\"sources\":[],\"mappings\":\"\"}".to_vec();
    let sha = crate::hash::sha256_hex(&data);
    let src = scratch.join("src");
    fs::write(&src, &data)?;
    let key = format!("maps/{sha}.map");
    assert!(s.head(&key)?.is_none());
    s.put_object(&key, &src, &sha)?;
    s.put_object(&key, &src, &sha)?; // present: verified, not an error
    assert_eq!(s.head(&key)?.map(|e| e.size), Some(data.len() as u64));
    // A source that does not hash to the name is refused.
    let bad = format!("maps/{}.map", "0".repeat(64));
    assert!(s.put_object(&bad, &src, &"0".repeat(64)).is_err());
    assert!(s.head(&bad)?.is_none());
    let out = scratch.join("out");
    s.get_object(&key, &sha, &out)?;
    assert_eq!(fs::read(&out)?, data);
    assert!(
        s.get_object(&key, &"1".repeat(64), &scratch.join("out2"))
            .is_err()
    );
    s.put_once("seals/a.json", b"one")?;
    s.put_once("seals/a.json", b"one")?;
    let e = s
        .put_once("seals/a.json", b"two")
        .expect_err("other bytes are refused")
        .to_string();
    assert!(e.contains("seals/a.json"), "{e}");
    assert_eq!(s.get_small("seals/a.json")?.as_deref(), Some(&b"one"[..]));
    assert_eq!(s.get_small("seals/b.json")?, None);
    let keys: Vec<String> = s.list("seals/")?.into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["seals/a.json"]);
    s.delete("seals/a.json")?;
    s.delete("seals/a.json")?;
    assert!(s.list("seals/")?.is_empty());
    assert!(s.head("../x").is_err());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_store_keeps_the_contract() -> Result<()> {
        let t = tempfile::tempdir()?;
        let s = DirStore::new(&t.path().join("store"))?;
        check_contract(&s, t.path())
    }

    #[test]
    fn a_damaged_object_is_replaced_by_good_bytes_not_trusted_by_name() -> Result<()> {
        let t = tempfile::tempdir()?;
        let s = DirStore::new(&t.path().join("store"))?;
        let data = b"good bytes".to_vec();
        let sha = crate::hash::sha256_hex(&data);
        let src = t.path().join("src");
        fs::write(&src, &data)?;
        let key = format!("blobs/{sha}");
        s.put_object(&key, &src, &sha)?;
        fs::write(t.path().join("store").join(&key), b"bad bytes!")?;
        s.put_object(&key, &src, &sha)?;
        assert_eq!(fs::read(t.path().join("store").join(&key))?, data);
        Ok(())
    }
}
