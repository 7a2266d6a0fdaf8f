//! File-system primitives with the durability rules written down once: private file creation
//! (0600 whatever the umask), atomic replace (temp → write → rename), directory fsync, the
//! `syncfs` barrier, hashing while reading, and copying while hashing.
//!
//! And the safe way to read a vault file, whatever the vault has been replaced with (it may come
//! back from a CI cache or a bucket): [`open_regular`] never follows a symlink (`O_NOFOLLOW`),
//! never waits on a FIFO or device (`O_NONBLOCK`, and `lstat` first so a device is never even
//! opened) and accepts only a regular file; [`read_verified`] and [`copy_verified`] read at most
//! the size the record states and hash-check before anything is used (a copy is a reflink where
//! the file system allows one, never a hard link: see [`copy_verified_how`]); [`read_json_file`]
//! reads a record with no hash (the manifest) up to its size and stops at the first NUL byte,
//! which no JSON text holds, so a sparse hole never fills memory. Readers of any vault layout
//! use these.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::hash::hex_digest;
use crate::sys::{self, FileTypeExt, MetadataExt, OpenOptionsExt};

const CHUNK: usize = 256 * 1024;

/// The effective user id, asked once per process (seal checks it for every edited file).
pub fn euid() -> u32 {
    static EUID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *EUID.get_or_init(sys::geteuid)
}

/// Stream a regular file through sha256 (never through a symlink or into a FIFO: see
/// [`open_regular`]). Returns `(hex, bytes read)`.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let (mut f, _) = open_regular(path)?;
    crate::hash::hash_reader(&mut f)
}

/// Create (or truncate) a file readable and writable by its owner only.
pub fn create_private(path: &Path) -> io::Result<File> {
    create_with_mode(path, 0o600)
}

/// Create (or truncate) a file with `mode` exactly (not filtered by the umask); it is never
/// more open than 0600 before it gets `mode`. A symbolic link at `path` is refused, never
/// written through (`O_NOFOLLOW`).
pub fn create_with_mode(path: &Path, mode: u32) -> io::Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(sys::O_NOFOLLOW | sys::O_NONBLOCK)
        .open(path)
        .map_err(|e| nofollow_error(e, "writing through it"))?;
    if !f.metadata()?.is_file() {
        return Err(invalid(
            "is not a regular file; refusing to write it".into(),
        ));
    }
    sys::set_mode(&f, mode)?;
    Ok(f)
}

/// fsync a directory, making renames and unlinks in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    sys::sync_dir(dir)
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
/// instead of an fsync per file); what that is on each platform: [`sys::syncfs`].
pub fn syncfs(path: &Path) -> io::Result<()> {
    sys::syncfs(path)
}

/// What a file that should be a plain file is instead, for messages.
fn kind_of(t: fs::FileType) -> &'static str {
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// `path` and what is wrong with it, as one phrase: the refusals of this module read as a
/// predicate (`… is a FIFO, not a regular file`), other I/O errors follow a colon.
pub fn describe(path: &Path, e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::InvalidData {
        format!("{} {e}", path.display())
    } else {
        format!("{}: {e}", path.display())
    }
}

/// Open `path` for reading only if it is a regular file: `lstat` first (a device or FIFO is
/// never opened), then `open(O_NOFOLLOW | O_NONBLOCK)` (a symlink swapped in meanwhile fails, a
/// FIFO never blocks) and `fstat` of what was opened, which must be the same regular file.
/// Returns the file and its metadata.
pub fn open_regular(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let before = fs::symlink_metadata(path)?;
    if !before.file_type().is_file() {
        return Err(invalid(format!(
            "is {}, not a regular file; refusing to read it",
            kind_of(before.file_type())
        )));
    }
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(sys::O_NOFOLLOW | sys::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(sys::ELOOP) {
                invalid("is a symbolic link; refusing to follow it".into())
            } else {
                e
            }
        })?;
    let m = f.metadata()?;
    if !m.file_type().is_file() || m.dev() != before.dev() || m.ino() != before.ino() {
        return Err(invalid(
            "was replaced while it was being opened; refusing to read it".into(),
        ));
    }
    Ok((f, m))
}

/// The size a vault object may have: what its record states, else what `fstat` says.
fn size_limit(path_len: u64, max: Option<u64>) -> io::Result<u64> {
    match max {
        Some(max) if path_len > max => Err(invalid(format!(
            "is {path_len} bytes, but its record says at most {max}; refusing to read it"
        ))),
        Some(max) => Ok(max.min(path_len)),
        None => Ok(path_len),
    }
}

/// Stream at most `limit` bytes of `f` into `sink` while hashing; an error if the file holds
/// more (it grew since `fstat`). Returns the hex sha256 and the byte count.
fn hash_bounded(
    f: &mut File,
    limit: u64,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if total > limit {
            return Err(invalid(format!(
                "holds more than the {limit} bytes it had when opened; refusing to read it"
            )));
        }
        h.update(&buf[..n]);
        sink(&buf[..n])?;
    }
    Ok((hex_digest(h), total))
}

fn check_hash(sha: &str, want: &str) -> io::Result<()> {
    if sha == want {
        Ok(())
    } else {
        Err(invalid(format!("is corrupt (its content hashes to {sha})")))
    }
}

/// Read a whole vault object whose bytes must hash to `sha256` (its name). `max` is the size its
/// record states (an upper bound); a bigger file is refused before anything is read. Without a
/// stated size the object is first hashed as a stream (constant memory), so only bytes that
/// prove to be the object are ever held in memory.
pub fn read_verified(path: &Path, sha256: &str, max: Option<u64>) -> io::Result<Vec<u8>> {
    let (mut f, m) = open_regular(path)?;
    let limit = size_limit(m.len(), max)?;
    if max.is_none() {
        let (sha, _) = hash_bounded(&mut f, limit, &mut |_| Ok(()))?;
        check_hash(&sha, sha256)?;
        io::Seek::rewind(&mut f)?;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(limit).unwrap_or(0));
    let (sha, _) = hash_bounded(&mut f, limit, &mut |b| {
        bytes.extend_from_slice(b);
        Ok(())
    })?;
    check_hash(&sha, sha256)?;
    Ok(bytes)
}

/// How [`copy_verified`] made its copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyHow {
    /// `ioctl(FICLONE)`: `dest` shares the object's blocks (btrfs, XFS, bcachefs…) until
    /// either is written; nothing was copied, the bytes were read back and hashed.
    Reflink,
    /// Read, hashed and written as a stream.
    Stream,
}

/// Copy a vault object to `dest`, a new private file (never through an existing name), with
/// the checks of [`read_verified`], streaming (constant memory). `dest` is removed unless the
/// copy hashes to `sha256`. Returns the size. A reflink where the file system makes one (see
/// [`copy_verified_how`]).
pub fn copy_verified(path: &Path, sha256: &str, max: Option<u64>, dest: &Path) -> io::Result<u64> {
    copy_verified_how(path, sha256, max, dest).map(|(n, _)| n)
}

/// [`copy_verified`], and how the copy was made. First `ioctl(FICLONE)` from the object:
/// where the file system can (same btrfs/XFS file system) `dest` then shares the object's
/// blocks, copy-on-write, and what `dest` holds is read back and hashed (at most the size the
/// record allows) before it is accepted — the object is never trusted by name, a reflink of a
/// damaged object is refused like a copy of one. Anywhere else (ext4, tmpfs, another file
/// system: `EOPNOTSUPP`, `EXDEV`, `EINVAL`…) the object is streamed, hashed as it is copied.
/// Never a hard link: a dist or OUT file that is the vault object itself would let a later
/// in-place edit of it (`sentry-cli sourcemaps inject`, a minifier pass, a `chmod`) rewrite the
/// vault's only copy; a reflink is a separate file whose first write unshares it.
pub fn copy_verified_how(
    path: &Path,
    sha256: &str,
    max: Option<u64>,
    dest: &Path,
) -> io::Result<(u64, CopyHow)> {
    let (mut f, m) = open_regular(path)?;
    let limit = size_limit(m.len(), max)?;
    let mut out = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)?;
    let res = sys::set_mode(&out, 0o600)
        .and_then(|()| {
            if sys::clone_file(&out, &f).is_ok() {
                // What the clone holds, read back: the object as it is now, not as `fstat`
                // described it, so the bound and the hash apply to these bytes.
                hash_bounded(&mut out, limit, &mut |_| Ok(()))
                    .map(|(sha, n)| (sha, n, CopyHow::Reflink))
            } else {
                hash_bounded(&mut f, limit, &mut |b| out.write_all(b))
                    .map(|(sha, n)| (sha, n, CopyHow::Stream))
            }
        })
        .and_then(|(sha, n, how)| check_hash(&sha, sha256).map(|()| (n, how)));
    if res.is_err() {
        drop(out);
        let _ = fs::remove_file(dest);
    }
    res
}

/// Copy the regular file `src` (see [`open_regular`]) to `dest`, a new private file (never
/// through an existing name), as a stream: returns its sha256 and size, for the caller to check
/// before trusting `dest` (removed if the copy fails).
pub fn copy_regular(src: &Path, dest: &Path) -> io::Result<(String, u64)> {
    let (mut f, m) = open_regular(src)?;
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)?;
    let res = sys::set_mode(&out, 0o600)
        .and_then(|()| hash_bounded(&mut f, m.len(), &mut |b| out.write_all(b)));
    if res.is_err() {
        drop(out);
        let _ = fs::remove_file(dest);
    }
    res
}

/// The error [`read_json_file`] gives for a file that cannot be JSON: it holds a NUL byte at
/// this offset. Callers tell it apart (a corrupt record) from a file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("not JSON: it holds a NUL byte at offset {0}")]
pub struct NotJson(pub u64);

impl NotJson {
    /// Is `e` this error?
    pub fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|i| i.is::<NotJson>())
    }
}

/// Read a vault record that carries no hash of its own (the manifest): a regular file (see
/// [`open_regular`]), at most the size `fstat` gave, and no NUL byte — no JSON text holds one,
/// so a sparse file of zeros is refused at its first block ([`NotJson`]) instead of filling
/// memory.
pub fn read_json_file(path: &Path) -> io::Result<Vec<u8>> {
    let (mut f, m) = open_regular(path)?;
    let mut bytes = Vec::new();
    let mut seen = 0u64;
    hash_bounded(&mut f, m.len(), &mut |b| {
        if let Some(i) = memchr::memchr(0, b) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                NotJson(seen + i as u64),
            ));
        }
        seen += b.len() as u64;
        bytes.extend_from_slice(b);
        Ok(())
    })?;
    Ok(bytes)
}

/// Open the vault's advisory lock file (creating it when `create`): never through a symlink,
/// never blocking on a FIFO, and only a regular file is accepted.
pub fn open_lock(path: &Path, create: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    if create {
        o.create(true).truncate(false).write(true).mode(0o600);
    } else {
        o.read(true);
    }
    let f = o
        .custom_flags(sys::O_NOFOLLOW | sys::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(sys::ELOOP) => invalid("is a symbolic link; refusing to follow it".into()),
            // Opening a FIFO for writing without a reader, non-blocking.
            Some(sys::ENXIO) => invalid("is a FIFO, not a regular file".into()),
            _ => e,
        })?;
    let t = f.metadata()?.file_type();
    if !t.is_file() {
        return Err(invalid(format!("is {}, not a regular file", kind_of(t))));
    }
    Ok(f)
}

/// Did [`open_dir_beneath`] refuse because of a symbolic link?
pub fn is_through_symlink(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidData && e.to_string().contains("through a symbolic link")
}

pub use crate::sys::open_dir_beneath;

/// `e` from an `O_NOFOLLOW` open, with a symbolic link said as such.
fn nofollow_error(e: io::Error, doing: &str) -> io::Error {
    if e.raw_os_error() == Some(sys::ELOOP) {
        invalid(format!("is a symbolic link; refusing {doing}"))
    } else {
        e
    }
}

/// Open `path` itself, never a symbolic link's target, nor blocking on a FIFO; `write` when it
/// can be, else for reading (enough for `fchmod` and `futimens` as the owner).
fn open_nofollow(path: &Path, doing: &str) -> io::Result<File> {
    let flags = sys::O_NOFOLLOW | sys::O_NONBLOCK;
    OpenOptions::new()
        .write(true)
        .custom_flags(flags)
        .open(path)
        .or_else(|_| OpenOptions::new().read(true).custom_flags(flags).open(path))
        .map_err(|e| nofollow_error(e, doing))
}

/// Set a file's modification time (atime follows it), for restoring what seal changed. Never
/// through a symbolic link.
pub fn set_mtime(path: &Path, secs: i64, nsecs: i64) -> io::Result<()> {
    let t = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0))
        + std::time::Duration::from_nanos(u64::try_from(nsecs).unwrap_or(0));
    let f = open_nofollow(path, "to set its time through it")?;
    f.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))
}

/// [`chmod_nofollow`] for a path known to name a regular file (a map just renamed into the
/// vault): one `open` fewer, as no directory open is tried first.
pub fn chmod_file_nofollow(path: &Path, mode: u32) -> io::Result<()> {
    match open_nofollow(path, "to change its mode through it") {
        Ok(f) => sys::set_mode(&f, mode),
        Err(_) => chmod_nofollow(path, mode),
    }
}

/// `chmod` a file or directory itself, never a symbolic link's target: through a file
/// descriptor opened with `O_NOFOLLOW`. A file its owner cannot open (mode 0000, not root)
/// is checked with `lstat` and changed by name.
pub fn chmod_nofollow(path: &Path, mode: u32) -> io::Result<()> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(sys::O_NOFOLLOW | sys::O_NONBLOCK | sys::O_DIRECTORY)
        .open(path);
    match dir.or_else(|_| open_nofollow(path, "to change its mode through it")) {
        Ok(f) => sys::set_mode(&f, mode),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            if fs::symlink_metadata(path)?.file_type().is_symlink() {
                return Err(invalid(
                    "is a symbolic link; refusing to change its mode through it".into(),
                ));
            }
            sys::set_mode_path(path, mode)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{is_sha256_hex, sha256_hex};
    #[cfg(unix)]
    use crate::sys::PermissionsExt;

    #[test]
    fn hashes_match_and_files_are_private() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let src = t.path().join("a");
        fs::write(&src, b"hello")?;
        let (h, n) = hash_file(&src)?;
        assert_eq!(h, sha256_hex(b"hello"));
        assert_eq!(n, 5);
        let dest = t.path().join("b");
        assert_eq!(copy_regular(&src, &dest)?, (h, 5));
        #[cfg(unix)]
        assert_eq!(fs::metadata(&dest)?.permissions().mode() & 0o777, 0o600);
        write_atomic(t.path(), &t.path().join("c"), [&b"x"[..]])?;
        assert_eq!(fs::read(t.path().join("c"))?, b"x");
        assert!(is_sha256_hex(&sha256_hex(b"")));
        assert!(!is_sha256_hex("../../etc/passwd"));
        Ok(())
    }

    /// A copy out of the vault on the file system at `dir`: byte-identical, private, and
    /// refused (nothing left at `dest`) when the object does not hash to its name. Returns
    /// how the good copy was made.
    fn copy_out_in(dir: &Path) -> io::Result<CopyHow> {
        // 1 MiB and a bit, not all one byte: several extents' worth, and an odd tail.
        let bytes: Vec<u8> = (0..(1u32 << 20) + 4097)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let sha = sha256_hex(&bytes);
        let obj = dir.join("object");
        fs::write(&obj, &bytes)?;
        let dest = dir.join("copy");
        let (n, how) = copy_verified_how(&obj, &sha, Some(bytes.len() as u64), &dest)?;
        assert_eq!(n, bytes.len() as u64);
        assert_eq!(fs::read(&dest)?, bytes, "byte-identical ({how:?})");
        #[cfg(unix)]
        assert_eq!(fs::metadata(&dest)?.permissions().mode() & 0o777, 0o600);
        #[cfg(unix)]
        assert_ne!(
            fs::metadata(&dest)?.ino(),
            fs::metadata(&obj)?.ino(),
            "not a link"
        );
        // The copy is its own file: writing it leaves the object as it was.
        fs::write(&dest, b"edited in place")?;
        assert_eq!(fs::read(&obj)?, bytes);
        // A damaged object (one byte flipped) is refused whichever way it would be copied.
        let mut bad = bytes.clone();
        bad[4096] ^= 1;
        fs::write(&obj, &bad)?;
        let dest2 = dir.join("copy2");
        let e = refusal(copy_verified_how(&obj, &sha, None, &dest2));
        assert!(e.contains("corrupt"), "{e}");
        assert!(!dest2.exists(), "a refused copy is removed");
        Ok(how)
    }

    #[test]
    fn copies_out_of_the_vault_are_byte_identical_and_hash_checked() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        copy_out_in(t.path())?;
        Ok(())
    }

    /// With `MAPVAULT_REFLINK_DIR` set to a directory on a file system that makes reflinks
    /// (XFS with reflink=1, btrfs), the copy is a reflink there — and is checked the same way.
    /// `scripts/reflink-test.sh` makes such a file system on a loop device and runs this.
    #[test]
    fn copies_are_reflinks_where_the_file_system_makes_them() -> io::Result<()> {
        let Some(dir) = std::env::var_os("MAPVAULT_REFLINK_DIR") else {
            return Ok(());
        };
        let t = tempfile::tempdir_in(dir)?;
        assert_eq!(copy_out_in(t.path())?, CopyHow::Reflink);
        Ok(())
    }

    fn refusal(r: io::Result<impl std::fmt::Debug>) -> String {
        match r {
            Ok(v) => panic!("expected a refusal, got {v:?}"),
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
                e.to_string()
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn vault_files_that_are_not_regular_are_refused_without_reading() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let zero = t.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero)?;
        let fifo = t.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600))?;
        let dir = t.path().join("dir");
        fs::create_dir(&dir)?;
        let sha = sha256_hex(b"");
        for p in [&zero, &fifo, &dir] {
            // None of these returns (or blocks) reading: each is refused up front.
            assert!(refusal(read_verified(p, &sha, None)).contains("not a regular file"));
            assert!(refusal(read_json_file(p)).contains("not a regular file"));
            assert!(
                refusal(copy_verified(p, &sha, Some(10), &t.path().join("out")))
                    .contains("not a regular file")
            );
            assert!(!t.path().join("out").exists());
        }
        assert!(refusal(open_lock(&zero, false)).contains("symbolic link"));
        assert!(refusal(open_lock(&fifo, false)).contains("FIFO"));
        assert!(refusal(open_lock(&fifo, true)).contains("FIFO"));
        Ok(())
    }

    #[test]
    fn objects_are_read_within_their_recorded_size_and_only_when_they_hash_right() -> io::Result<()>
    {
        let t = tempfile::tempdir()?;
        let p = t.path().join("obj");
        fs::write(&p, b"hello")?;
        let sha = sha256_hex(b"hello");
        assert_eq!(read_verified(&p, &sha, Some(5))?, b"hello");
        assert_eq!(read_verified(&p, &sha, Some(50))?, b"hello");
        assert_eq!(read_verified(&p, &sha, None)?, b"hello");
        assert!(refusal(read_verified(&p, &sha, Some(4))).contains("at most 4"));
        assert!(refusal(read_verified(&p, &sha256_hex(b"x"), None)).contains("corrupt"));
        assert_eq!(copy_regular(&p, &t.path().join("plain"))?, (sha.clone(), 5));
        let out = t.path().join("out");
        assert_eq!(copy_verified(&p, &sha, Some(5), &out)?, 5);
        assert_eq!(fs::read(&out)?, b"hello");
        #[cfg(unix)]
        assert_eq!(fs::metadata(&out)?.permissions().mode() & 0o777, 0o600);
        // Never through an existing name; a copy that does not hash right is removed.
        assert_eq!(
            copy_verified(&p, &sha, None, &out)
                .map_err(|e| e.kind())
                .err(),
            Some(io::ErrorKind::AlreadyExists)
        );
        let bad = t.path().join("bad");
        assert!(refusal(copy_verified(&p, &sha256_hex(b"x"), None, &bad)).contains("corrupt"));
        assert!(!bad.exists());
        // A JSON record: a NUL (a sparse hole) stops the read.
        let j = t.path().join("m.json");
        fs::write(&j, b"{\"a\":1}")?;
        assert_eq!(read_json_file(&j)?, b"{\"a\":1}");
        fs::File::create(&j)?.set_len(1 << 30)?;
        let e = read_json_file(&j)
            .err()
            .map(|e| (NotJson::is(&e), e.to_string()));
        assert_eq!(
            e,
            Some((true, "not JSON: it holds a NUL byte at offset 0".into()))
        );
        Ok(())
    }
}

// Symbolic links, modes: Unix by nature.
#[cfg(all(test, unix))]
mod beneath_tests {
    use super::*;
    use crate::sys::{PermissionsExt, walk_dir_beneath};
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn directories_are_opened_beneath_without_links() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        fs::create_dir_all(t.path().join("d/a/b"))?;
        fs::create_dir_all(t.path().join("elsewhere"))?;
        std::os::unix::fs::symlink(t.path().join("elsewhere"), t.path().join("d/link"))?;
        std::os::unix::fs::symlink("a", t.path().join("d/rel"))?;
        let root = File::open(t.path().join("d"))?;
        for f in [open_dir_beneath, walk_dir_beneath] {
            assert!(f(&root, Path::new("a/b")).is_ok());
            for bad in ["link", "rel/b", "link/x", "../d/a", "/tmp"] {
                let e = f(&root, Path::new(bad)).err();
                assert!(e.as_ref().is_some_and(is_through_symlink), "{bad}: {e:?}");
            }
            let e = f(&root, Path::new("a/missing")).err().map(|e| e.kind());
            assert_eq!(e, Some(io::ErrorKind::NotFound));
        }
        Ok(())
    }

    #[test]
    fn nothing_is_written_chmodded_or_touched_through_a_link() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let target = t.path().join("target");
        fs::write(&target, b"keep")?;
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640))?;
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&target, &link)?;
        let refused = |r: io::Result<()>| {
            r.err()
                .is_some_and(|e| e.to_string().contains("symbolic link"))
        };
        assert!(refused(create_with_mode(&link, 0o600).map(drop)));
        assert!(refused(chmod_nofollow(&link, 0o777)));
        assert!(refused(set_mtime(&link, 0, 0)));
        assert!(hash_file(&link).is_err());
        let m = fs::metadata(&target)?;
        assert_eq!((m.permissions().mode() & 0o7777, m.len()), (0o640, 4));
        assert_ne!(m.mtime(), 0);
        // The file itself and a directory are changed.
        chmod_nofollow(&target, 0o600)?;
        chmod_nofollow(t.path(), 0o700)?;
        set_mtime(&target, 7, 0)?;
        let m = fs::metadata(&target)?;
        assert_eq!((m.permissions().mode() & 0o7777, m.mtime()), (0o600, 7));
        Ok(())
    }
}
