//! The Windows side of [`crate::sys`]: the Unix traits the crate names, given their Windows
//! meaning (the table in `sys/mod.rs`), and the few calls std has no safe API for —
//! `GetFileInformationByHandle` (volume serial, link count), `MoveFileExW` without
//! `MOVEFILE_REPLACE_EXISTING`, `GetFinalPathNameByHandleW` — through `windows-sys`.
#![allow(
    unsafe_code,
    reason = "Win32 calls with no safe std API; each block states its contract"
)]

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::os::windows::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::windows::fs::MetadataExt as _;
use std::os::windows::io::AsRawHandle;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

pub use std::os::windows::io::{AsHandle as AsFd, OwnedHandle as OwnedFd};

use windows_sys::Win32::Storage::FileSystem as w;

/// The type of the flags [`OpenOptionsExt::custom_flags`] takes here.
pub type Flags = u32;
/// Open a reparse point (symbolic link, junction) itself rather than what it points to; every
/// caller refuses what is not the regular file or directory it wanted.
pub const O_NOFOLLOW: Flags = w::FILE_FLAG_OPEN_REPARSE_POINT;
/// No FIFOs to wait on.
pub const O_NONBLOCK: Flags = 0;
/// Needed to open a directory at all.
pub const O_DIRECTORY: Flags = w::FILE_FLAG_BACKUP_SEMANTICS;

/// Win32 error codes standing for the `errno` values callers tell apart.
/// `ELOOP`: a name resolved through too many reparse points.
pub const ELOOP: i32 = 1921; // ERROR_CANT_RESOLVE_FILENAME
/// `ENXIO` (a FIFO without a reader) cannot happen: no code matches.
pub const ENXIO: i32 = i32::MIN;
pub const ENOTDIR: i32 = 267; // ERROR_DIRECTORY
pub const ENOTSUP: i32 = 50; // ERROR_NOT_SUPPORTED
pub const EINVAL: i32 = 87; // ERROR_INVALID_PARAMETER

const READ_ONLY: u32 = w::FILE_ATTRIBUTE_READONLY;
const REPARSE: u32 = w::FILE_ATTRIBUTE_REPARSE_POINT;

/// What the crate reads from a `Metadata` on Unix, as Windows can say it (see `sys/mod.rs`).
pub trait MetadataExt {
    fn mode(&self) -> u32;
    fn uid(&self) -> u32;
    fn gid(&self) -> u32;
    fn dev(&self) -> u64;
    fn ino(&self) -> u64;
    fn nlink(&self) -> u64;
    fn mtime(&self) -> i64;
    fn mtime_nsec(&self) -> i64;
    fn ctime(&self) -> i64;
}

/// Seconds and nanoseconds since the Unix epoch (negative before it).
fn unix_time(t: io::Result<std::time::SystemTime>) -> (i64, i64) {
    match t.map(|t| t.duration_since(UNIX_EPOCH)) {
        Ok(Ok(d)) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            i64::from(d.subsec_nanos()),
        ),
        Ok(Err(e)) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => (-secs, 0),
                n => (-secs - 1, 1_000_000_000 - i64::from(n)),
            }
        }
        Err(_) => (0, 0),
    }
}

impl MetadataExt for fs::Metadata {
    fn mode(&self) -> u32 {
        let ro = self.file_attributes() & READ_ONLY != 0;
        let ft = self.file_type();
        if ft.is_symlink() {
            0o120_777
        } else if ft.is_dir() {
            if ro { 0o040_555 } else { 0o040_755 }
        } else if ro {
            0o100_444
        } else {
            0o100_644
        }
    }
    fn uid(&self) -> u32 {
        0
    }
    fn gid(&self) -> u32 {
        0
    }
    fn dev(&self) -> u64 {
        0
    }
    fn ino(&self) -> u64 {
        0
    }
    fn nlink(&self) -> u64 {
        1
    }
    fn mtime(&self) -> i64 {
        unix_time(self.modified()).0
    }
    fn mtime_nsec(&self) -> i64 {
        unix_time(self.modified()).1
    }
    fn ctime(&self) -> i64 {
        self.mtime()
    }
}

/// `OpenOptions::mode` has no meaning here (a new file gets its directory's inherited ACL);
/// `custom_flags` goes to `CreateFileW`'s flags.
pub trait OpenOptionsExt {
    fn mode(&mut self, mode: u32) -> &mut Self;
    fn custom_flags(&mut self, flags: Flags) -> &mut Self;
}

impl OpenOptionsExt for fs::OpenOptions {
    fn mode(&mut self, _mode: u32) -> &mut Self {
        self
    }
    fn custom_flags(&mut self, flags: Flags) -> &mut Self {
        std::os::windows::fs::OpenOptionsExt::custom_flags(self, flags)
    }
}

/// `DirBuilder::mode` has no meaning here either.
pub trait DirBuilderExt {
    fn mode(&mut self, mode: u32) -> &mut Self;
}

impl DirBuilderExt for fs::DirBuilder {
    fn mode(&mut self, _mode: u32) -> &mut Self {
        self
    }
}

/// No FIFOs, sockets or devices in a Windows directory listing.
pub trait FileTypeExt {
    fn is_fifo(&self) -> bool;
    fn is_socket(&self) -> bool;
    fn is_block_device(&self) -> bool;
    fn is_char_device(&self) -> bool;
}

impl FileTypeExt for fs::FileType {
    fn is_fifo(&self) -> bool {
        false
    }
    fn is_socket(&self) -> bool {
        false
    }
    fn is_block_device(&self) -> bool {
        false
    }
    fn is_char_device(&self) -> bool {
        false
    }
}

/// Positional reads and writes: `seek_read`/`seek_write` until done (they move the cursor).
pub trait FileExt {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
}

impl FileExt for File {
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        use std::os::windows::fs::FileExt as _;
        while !buf.is_empty() {
            match self.seek_read(buf, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "failed to fill whole buffer",
                    ));
                }
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        use std::os::windows::fs::FileExt as _;
        while !buf.is_empty() {
            match self.seek_write(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A name that no Windows file has: `<` is reserved in Win32 names, so any operation on a path
/// holding it fails (`ERROR_INVALID_NAME`) instead of reaching some other file.
const NOT_UNICODE: &str = "<name is not valid Unicode>";

/// Paths as bytes: an `OsStr`'s WTF-8, which is its UTF-8 for every valid Unicode name. Bytes
/// that are not UTF-8 (a record made on Unix, or a name with a lone surrogate) become a name
/// Windows refuses: that one file fails, with its path in the caller's message.
pub trait OsStrExt {
    fn as_bytes(&self) -> &[u8];
    fn from_bytes(b: &[u8]) -> &Self;
}

impl OsStrExt for OsStr {
    fn as_bytes(&self) -> &[u8] {
        self.as_encoded_bytes()
    }
    fn from_bytes(b: &[u8]) -> &Self {
        OsStr::new(std::str::from_utf8(b).unwrap_or(NOT_UNICODE))
    }
}

/// No user ids: see `sys/mod.rs`.
pub fn geteuid() -> u32 {
    0
}

/// Windows has no per-process limit on open handles that seal could reach: nothing to raise.
pub fn raise_open_files_limit() -> Option<u64> {
    None
}

/// No limit on open handles (see [`raise_open_files_limit`]).
pub fn open_files_limit() -> Option<u64> {
    None
}

/// `GetFileInformationByHandle` of an open file or directory.
fn info(f: &impl AsRawHandle) -> io::Result<w::BY_HANDLE_FILE_INFORMATION> {
    // SAFETY: an all-zero BY_HANDLE_FILE_INFORMATION is a valid value (plain integers).
    let mut i: w::BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is open for the duration of the call (borrowed from `f`), and `i` is
    // a valid, writable BY_HANDLE_FILE_INFORMATION.
    if unsafe { w::GetFileInformationByHandle(f.as_raw_handle(), &mut i) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(i)
}

/// The volume serial number of the volume holding `path` (its "device").
pub fn dev_of(path: &Path) -> io::Result<u64> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_DIRECTORY)
        .open(path)?;
    Ok(u64::from(info(&f)?.dwVolumeSerialNumber))
}

/// The number of names the open file has (NTFS hard links).
pub fn link_count(f: &File) -> io::Result<u64> {
    Ok(u64::from(info(f)?.nNumberOfLinks))
}

fn wide(p: &Path) -> Vec<u16> {
    p.as_os_str().encode_wide().chain(Some(0)).collect()
}

/// Rename without replacing an existing file: `MoveFileExW` without
/// `MOVEFILE_REPLACE_EXISTING` (nor `MOVEFILE_COPY_ALLOWED`: another volume fails, as
/// `EXDEV` does on Unix).
pub fn rename_noreplace(src: &Path, dest: &Path) -> io::Result<()> {
    let (s, d) = (wide(src), wide(dest));
    // SAFETY: both are NUL-terminated UTF-16 strings that outlive the call.
    if unsafe { w::MoveFileExW(s.as_ptr(), d.as_ptr(), 0) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The file whose lock stands for a lock on the directory `dir`: a directory cannot be locked
/// (`LockFileEx` wants a file), and nothing may be created in a dist, so it is
/// `%TEMP%\mapvault-dir-<sha256 of the directory's final path, lowercased>.lock`, made once and
/// left there (empty). Two runs on one dist meet at the same file whoever started them, as long
/// as they share `%TEMP%` (the same user).
pub fn dir_lock_file(dir: File) -> io::Result<File> {
    use sha2::{Digest, Sha256};
    let p = path_of(&dir)?;
    let key = p.to_string_lossy().to_lowercase();
    let sha = Sha256::digest(key.as_bytes());
    let name: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(std::env::temp_dir().join(format!("mapvault-dir-{name}.lock")))
}

/// The mode's owner-write bit as the read-only attribute (the rest has no meaning here).
pub fn set_mode(f: &File, mode: u32) -> io::Result<()> {
    let mut p = f.metadata()?.permissions();
    p.set_readonly(mode & 0o200 == 0);
    f.set_permissions(p)
}

/// [`set_mode`] by name.
pub fn set_mode_path(path: &Path, mode: u32) -> io::Result<()> {
    let mut p = fs::metadata(path)?.permissions();
    p.set_readonly(mode & 0o200 == 0);
    fs::set_permissions(path, p)
}

/// No owners to give: the copy belongs to whoever wrote it, with its directory's ACL.
pub fn fchown(_f: &File, _uid: u32, _gid: u32) -> io::Result<()> {
    Ok(())
}

/// A symbolic link to a file (needs the privilege, or Developer Mode).
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}

/// The durability barrier. `FlushFileBuffers` on a volume handle (`\\.\C:`) writes every dirty
/// buffer of the volume, like `syncfs`, but needs an elevated process (CI runners are); without
/// it, the directory `path` itself is flushed (its entries), and the files written before were
/// each flushed where they were written (`sync_all`) or are covered only by NTFS's own write-back
/// — the crash-safety argument of src/apply.rs then rests on the journal's own `sync_all` and
/// NTFS's metadata journal, not on one barrier. `path` is opened either way, so a missing
/// directory fails here as it does on Linux.
pub fn syncfs(path: &Path) -> io::Result<()> {
    let dir = fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_DIRECTORY)
        .open(path)?;
    if let Some(vol) = volume_device(path)
        && let Ok(v) = fs::OpenOptions::new().read(true).write(true).open(vol)
    {
        match v.sync_all() {
            Err(e) if refused(&e) => {}
            r => return r,
        }
    }
    drop(dir);
    sync_dir(path)
}

/// Flush a directory's entries (renames, new names): `FlushFileBuffers` on the directory opened
/// for writing, which NTFS allows. Where it is refused (access denied: a handle on a directory
/// that cannot be opened for writing, or a file system that does not flush directories) there is
/// nothing more to ask: NTFS journals its metadata itself. A missing directory is an error.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(O_DIRECTORY)
        .open(dir)
    {
        Ok(d) => match d.sync_all() {
            Err(e) if refused(&e) => Ok(()),
            r => r,
        },
        Err(e) if refused(&e) => fs::metadata(dir).map(drop),
        Err(e) => Err(e),
    }
}

/// A flush the file system will not do (access denied, or `ERROR_INVALID_FUNCTION`: a volume or
/// directory it does not flush, as wine's).
fn refused(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(1)
}

/// `\\.\C:` for a path on drive C:, none for a UNC path.
fn volume_device(path: &Path) -> Option<PathBuf> {
    use std::path::{Component, Prefix};
    let abs = std::path::absolute(path).ok()?;
    match abs.components().next()? {
        Component::Prefix(p) => match p.kind() {
            Prefix::Disk(d) | Prefix::VerbatimDisk(d) => {
                Some(PathBuf::from(format!(r"\\.\{}:", char::from(d))))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Open `path` for reading, never through a reparse point (no `O_NOATIME` here: reading does
/// not dirty NTFS's last-access time by default since Windows Vista).
pub fn open_read_noatime(path: &Path) -> io::Result<File> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NOFOLLOW)
        .open(path)?;
    if f.metadata()?.file_attributes() & REPARSE != 0 {
        return Err(io::Error::from_raw_os_error(ELOOP));
    }
    Ok(f)
}

/// One read into `buf`'s spare capacity; the bytes read, 0 at the end.
pub fn read_spare(f: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    use std::io::Read;
    let n = buf.len();
    buf.resize(buf.capacity(), 0);
    let r = (&*f).read(&mut buf[n..]);
    buf.truncate(n + *r.as_ref().unwrap_or(&0));
    r
}

/// No reflinks through std here (ReFS block cloning is an ioctl this port does not make): the
/// caller streams the copy.
pub fn clone_file(_to: &File, _from: &File) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(ENOTSUP))
}

/// The error of [`open_dir_beneath`] for a path through a reparse point.
pub fn through_symlink() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "passes through a symbolic link; not following it",
    )
}

/// The path of an open directory (`GetFinalPathNameByHandleW`).
fn path_of(h: &impl AsRawHandle) -> io::Result<PathBuf> {
    let mut buf = vec![0u16; 512];
    loop {
        let cap = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        // SAFETY: the handle is open for the call; `buf` is writable for `cap` u16s.
        let n =
            unsafe { w::GetFinalPathNameByHandleW(h.as_raw_handle(), buf.as_mut_ptr(), cap, 0) };
        let n = n as usize;
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        if n < buf.len() {
            buf.truncate(n);
            return Ok(PathBuf::from(std::ffi::OsString::from_wide(&buf)));
        }
        buf.resize(n + 1, 0);
    }
}

/// Open the directory `rel` (relative, no `..`) beneath the open directory `root`, through no
/// reparse point: one component at a time from `root`'s final path, each opened as itself
/// (`FILE_FLAG_OPEN_REPARSE_POINT`) and refused if it is a reparse point. Windows has no
/// `openat`, so a directory renamed between two opens is not caught as `openat2` would.
pub fn open_dir_beneath(root: &impl AsFd, rel: &Path) -> io::Result<OwnedFd> {
    use std::path::Component;
    let root = root.as_handle().try_clone_to_owned()?;
    let mut cur = path_of(&root)?;
    let mut h = root;
    for c in rel.components() {
        let Component::Normal(name) = c else {
            return Err(through_symlink());
        };
        cur.push(name);
        let f = fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_DIRECTORY | O_NOFOLLOW)
            .open(&cur)?;
        let m = f.metadata()?;
        if m.file_attributes() & REPARSE != 0 {
            return Err(through_symlink());
        }
        if !m.is_dir() {
            return Err(io::Error::from_raw_os_error(ENOTDIR));
        }
        h = f.into();
    }
    Ok(h)
}
