//! File-system primitives with the durability rules written down once: private file creation
//! (0600 whatever the umask), atomic replace (temp → write → rename), directory fsync, the
//! `syncfs` barrier, hashing while reading, and copying while hashing.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::hash::hex_digest;

const CHUNK: usize = 256 * 1024;

/// The effective user id, asked once per process (seal checks it for every edited file).
pub fn euid() -> u32 {
    static EUID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *EUID.get_or_init(|| rustix::process::geteuid().as_raw())
}

/// Stream a file through sha256. Returns `(hex, bytes read)`.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    crate::hash::hash_reader(&mut f)
}

/// Create (or truncate) a file readable and writable by its owner only.
pub fn create_private(path: &Path) -> io::Result<File> {
    create_with_mode(path, 0o600)
}

/// Create (or truncate) a file with `mode` exactly (not filtered by the umask); it is never
/// more open than 0600 before it gets `mode`.
pub fn create_with_mode(path: &Path, mode: u32) -> io::Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
    Ok(f)
}

/// fsync a directory, making renames and unlinks in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Write `bytes` to `dest` atomically: a private temp file in `tmp_dir` (same file system),
/// fsync, rename over `dest`, fsync `dest`'s directory.
pub fn write_atomic<'a>(
    tmp_dir: &Path,
    dest: &Path,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> io::Result<()> {
    let tmp = tmp_dir.join(format!(
        ".{}.{}.tmp",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    {
        let mut f = create_private(&tmp)?;
        for bytes in pieces {
            f.write_all(bytes)?;
        }
        f.sync_all()?;
    }
    if let Err(e) = fs::rename(&tmp, dest) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Some(parent) = dest.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Flush every dirty page of the file system holding `path` (one barrier for many files,
/// instead of an fsync per file).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn syncfs(path: &Path) -> io::Result<()> {
    let f = File::open(path)?;
    rustix::fs::syncfs(&f).map_err(io::Error::from)
}

/// Without `syncfs(2)` (macOS, the BSDs) the barrier is `sync(2)`, which covers every file
/// system. It is weaker: POSIX lets `sync` return before the writes are done, and on macOS only
/// `F_FULLFSYNC` reaches the platter, so the crash-safety argument of src/apply.rs is made for
/// Linux; elsewhere this only orders what the OS will do. `path` is still opened, so a
/// missing directory fails here as it does on Linux.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn syncfs(path: &Path) -> io::Result<()> {
    File::open(path)?;
    rustix::fs::sync();
    Ok(())
}

/// Copy `src` to a new private file `dest` while hashing; returns `(sha256, size)` of what was
/// copied. The caller compares it with what it expects before trusting `dest`.
pub fn copy_hashing(src: &Path, dest: &Path) -> io::Result<(String, u64)> {
    let mut input = File::open(src)?;
    let mut out = create_private(dest)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
    out.flush()?;
    Ok((hex_digest(h), total))
}

/// Set a file's modification time (atime follows it), for restoring what seal changed.
pub fn set_mtime(path: &Path, secs: i64, nsecs: i64) -> io::Result<()> {
    let t = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0))
        + std::time::Duration::from_nanos(u64::try_from(nsecs).unwrap_or(0));
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .or_else(|_| File::open(path))?;
    f.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{is_sha256_hex, sha256_hex};

    #[test]
    fn hashes_match_and_files_are_private() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let src = t.path().join("a");
        fs::write(&src, b"hello")?;
        let (h, n) = hash_file(&src)?;
        assert_eq!(h, sha256_hex(b"hello"));
        assert_eq!(n, 5);
        let dest = t.path().join("b");
        assert_eq!(copy_hashing(&src, &dest)?, (h, 5));
        assert_eq!(fs::metadata(&dest)?.permissions().mode() & 0o777, 0o600);
        write_atomic(t.path(), &t.path().join("c"), [&b"x"[..]])?;
        assert_eq!(fs::read(t.path().join("c"))?, b"x");
        assert!(is_sha256_hex(&sha256_hex(b"")));
        assert!(!is_sha256_hex("../../etc/passwd"));
        Ok(())
    }
}
