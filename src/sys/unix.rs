//! The Unix side of [`crate::sys`]: std's `std::os::unix` traits as they are, and the calls the
//! code made before the Windows port (`rustix`, `libc`), moved here unchanged.

use std::fs::{self, File};
use std::io;
use std::path::Path;

pub use std::os::fd::{AsFd, OwnedFd};
pub use std::os::unix::ffi::OsStrExt;
pub use std::os::unix::fs::{
    DirBuilderExt, FileExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt,
};

/// The type of the flags [`OpenOptionsExt::custom_flags`] takes here.
pub type Flags = i32;
/// Open a symbolic link itself? No: the open fails with `ELOOP`.
pub const O_NOFOLLOW: Flags = libc::O_NOFOLLOW;
/// Never wait on a FIFO or a device.
pub const O_NONBLOCK: Flags = libc::O_NONBLOCK;
/// Only a directory.
pub const O_DIRECTORY: Flags = libc::O_DIRECTORY;

/// `errno` values callers tell apart (as [`io::Error::raw_os_error`] gives them).
pub const ELOOP: i32 = libc::ELOOP;
pub const ENXIO: i32 = libc::ENXIO;
pub const ENOTDIR: i32 = libc::ENOTDIR;
pub const ENOTSUP: i32 = libc::ENOTSUP;
pub const EINVAL: i32 = libc::EINVAL;

/// The effective user id of this process.
pub fn geteuid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Raise the soft limit on open files to the hard one, and return the soft limit now in force
/// (`None`: unlimited or unknown). Seal holds a group of maps open per worker thread, and a
/// `ulimit -Sn 1024` shell on a 32-core machine would otherwise run out. The hard limit stays
/// as it was; a child process (object_store may run the `az` CLI for Azure credentials)
/// inherits the raised soft limit, as it would from a shell that raised it.
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    // An unlimited hard limit (macOS reports one) is capped where macOS caps it, `OPEN_MAX`.
    let want = now.maximum.unwrap_or(10_240);
    if now.current.is_some_and(|soft| soft < want) {
        let raised = Rlimit {
            current: Some(want),
            maximum: now.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return Some(want);
        }
    }
    now.current
}

/// The soft limit on open files (`None`: unlimited or unknown).
pub fn open_files_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
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

/// Rename without replacing an existing file (`renameat2(RENAME_NOREPLACE)`).
pub fn rename_noreplace(src: &Path, dest: &Path) -> io::Result<()> {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        src,
        rustix::fs::CWD,
        dest,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .map_err(io::Error::from)
}

/// fsync a directory, making renames and unlinks in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The file whose advisory lock stands for a lock on the directory `dir`: `dir` itself.
pub fn dir_lock_file(dir: File) -> io::Result<File> {
    Ok(dir)
}

/// `fchmod(f, mode & 0o7777)`.
pub fn set_mode(f: &File, mode: u32) -> io::Result<()> {
    f.set_permissions(fs::Permissions::from_mode(mode & 0o7777))
}

/// `chmod(path, mode & 0o7777)` (follows a symbolic link: callers check first).
pub fn set_mode_path(path: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))
}

/// `fchown(f, uid, gid)`.
pub fn fchown(f: &File, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::fchown(f, Some(uid), Some(gid))
}

/// The device (file system) holding `path`.
pub fn dev_of(path: &Path) -> io::Result<u64> {
    Ok(fs::metadata(path)?.dev())
}

/// The number of names the open file has (only Windows needs to ask: `Meta` has it here).
#[cfg(test)]
pub fn link_count(f: &File) -> io::Result<u64> {
    Ok(f.metadata()?.nlink())
}

/// A symbolic link at `link` pointing to `target`.
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

/// Open `path` for reading, never through a symbolic link, with `O_NOATIME` where the kernel
/// allows it (the caller owns the file; `EPERM` otherwise, then it is opened without).
pub fn open_read_noatime(path: &Path) -> io::Result<File> {
    use rustix::fs::OFlags;
    // `O_NOATIME` is Linux's; elsewhere files open without it (and the retry below never runs).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const NOATIME: OFlags = OFlags::NOATIME;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const NOATIME: OFlags = OFlags::empty();
    let open = |flags: OFlags| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits() as i32)
            .open(path)
    };
    match open(OFlags::NOFOLLOW | NOATIME) {
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) => {
            open(OFlags::NOFOLLOW)
        }
        r => r,
    }
}

/// One `read(2)` into `buf`'s spare capacity (no `fstat`/`lseek` as std's `read_to_end` adds);
/// the bytes read, 0 at the end. `EINTR` comes back as [`io::ErrorKind::Interrupted`].
pub fn read_spare(f: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    rustix::io::read(f, rustix::buffer::spare_capacity(buf)).map_err(io::Error::from)
}

/// Reflink `from` into `to` (`ioctl(FICLONE)`); an error where the file system has none.
pub fn clone_file(to: &File, from: &File) -> io::Result<()> {
    rustix::fs::ioctl_ficlone(to, from).map_err(io::Error::from)
}

/// The error of [`open_dir_beneath`] for a path that passes through a symbolic link (or would
/// leave the directory it is resolved in).
pub fn through_symlink() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "passes through a symbolic link; not following it",
    )
}

/// Open the directory `rel` (relative, no `..`) beneath the directory `root`, following no
/// symbolic link on the way and never leaving `root`: `openat2(RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS)` where the kernel has it (Linux 5.6), else a walk opening one component
/// at a time with `O_NOFOLLOW` (containers whose seccomp policy answers `ENOSYS` or `EPERM` to
/// `openat2`, other systems). A link anywhere gives [`through_symlink`]; a missing component
/// `NotFound`.
pub fn open_dir_beneath(root: &impl AsFd, rel: &Path) -> io::Result<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        // Asked once: a kernel or seccomp policy without it answers the same every time.
        static NO_OPENAT2: AtomicBool = AtomicBool::new(false);
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            use rustix::fs::ResolveFlags;
            let how =
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            // Without `O_NOFOLLOW`: with it a final link is opened as itself and `O_DIRECTORY`
            // answers `ENOTDIR`; `RESOLVE_NO_SYMLINKS` refuses it with `ELOOP` instead.
            let flags = dir_flags() & !rustix::fs::OFlags::NOFOLLOW;
            match rustix::fs::openat2(root, rel, flags, rustix::fs::Mode::empty(), how) {
                Ok(fd) => return Ok(fd),
                Err(e) if e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::PERM => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                }
                Err(e) if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::XDEV => {
                    return Err(through_symlink());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    walk_dir_beneath(root, rel)
}

fn dir_flags() -> rustix::fs::OFlags {
    use rustix::fs::OFlags;
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK
}

/// The fallback of [`open_dir_beneath`]: one `openat(O_NOFOLLOW | O_DIRECTORY)` per component.
pub fn walk_dir_beneath(root: &impl AsFd, rel: &Path) -> io::Result<OwnedFd> {
    use std::path::Component;
    let mut cur = rustix::io::dup(root.as_fd())?;
    for c in rel.components() {
        let Component::Normal(name) = c else {
            return Err(through_symlink());
        };
        cur = match rustix::fs::openat(&cur, name, dir_flags(), rustix::fs::Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if e == rustix::io::Errno::LOOP => return Err(through_symlink()),
            // `O_DIRECTORY` may answer first for a link: ask what it is.
            Err(e) if e == rustix::io::Errno::NOTDIR => {
                let st = rustix::fs::statat(&cur, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)?;
                if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink
                {
                    return Err(through_symlink());
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
    }
    Ok(cur)
}
