//! The platform seam: every file-system call whose meaning differs between Unix and Windows
//! goes through here, so the rest of the crate names one set of traits and functions.
//!
//! On Unix this module is std's `std::os::unix` traits re-exported plus the `rustix` calls the
//! code made before the port (`O_NOFOLLOW`, `openat2`, `renameat2(NOREPLACE)`, `syncfs`, the
//! effective uid): nothing changes there. On Windows the same names stand for:
//!
//! | Unix | Windows |
//! |---|---|
//! | `O_NOFOLLOW` (open fails on a link) | `FILE_FLAG_OPEN_REPARSE_POINT`: the reparse point itself is opened, and every caller already refuses what is not a regular file / directory |
//! | `O_DIRECTORY` | `FILE_FLAG_BACKUP_SEMANTICS` (needed to open a directory at all) |
//! | `O_NONBLOCK` (FIFOs) | nothing: there are no FIFOs in the file system |
//! | dev + ino | volume serial number + file index ([`dev_of`], [`link_count`] ask the handle); a `Metadata` alone (a directory listing) knows neither and says `0`, so nothing compares equal to a real one by accident |
//! | `st_nlink` | the handle's link count where a file is open ([`link_count`]); `1` from a listing |
//! | mode bits | the read-only attribute: a file reads as `0o644`, or `0o444` when read-only, a directory `0o755`/`0o555`; applying a mode sets read-only exactly when the owner-write bit `0o200` is clear, and ignores the rest |
//! | owner (uid/gid), euid | none: every file reads as owned by `0` and the process is `0`, so an owner check always passes — what guards a vault there is the ACL of the directory it lives in (the user's profile by default), not a check of ours |
//! | `renameat2(RENAME_NOREPLACE)` | `MoveFileExW` without `MOVEFILE_REPLACE_EXISTING` |
//! | `syncfs` | `FlushFileBuffers` on the volume (`\\.\C:`, which needs an elevated process), else on the directory itself; see [`syncfs`] |
//! | `pread`/`pwrite` | `seek_read`/`seek_write` in a loop (they move the file cursor, which none of the callers use afterwards) |
//! | paths as bytes | UTF-8 (the `OsStr`'s WTF-8, which is UTF-8 for every valid Unicode name); bytes that are not UTF-8 name no Windows file and become a name Windows refuses, so the operation fails for that one file with the path in the message |
//! | extended attributes | none kept (alternate data streams are not copied by a rewrite) |

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File};
    use std::io;

    #[test]
    fn a_rename_never_replaces_an_existing_name() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        fs::write(&a, b"new")?;
        fs::write(&b, b"kept")?;
        assert!(rename_noreplace(&a, &b).is_err());
        assert_eq!(fs::read(&b)?, b"kept");
        fs::remove_file(&b)?;
        rename_noreplace(&a, &b)?;
        assert_eq!((fs::read(&b)?, a.exists()), (b"new".to_vec(), false));
        Ok(())
    }

    #[test]
    fn the_owner_write_bit_round_trips_through_a_mode() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let p = t.path().join("f");
        fs::write(&p, b"x")?;
        set_mode_path(&p, 0o444)?;
        assert_eq!(fs::metadata(&p)?.mode() & 0o222, 0);
        set_mode(&File::open(&p)?, 0o644)?;
        assert_eq!(fs::metadata(&p)?.mode() & 0o200, 0o200);
        Ok(())
    }

    #[test]
    fn link_counts_and_devices_come_from_the_file_system() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let p = t.path().join("f");
        fs::write(&p, b"x")?;
        assert_eq!(link_count(&File::open(&p)?)?, 1);
        fs::hard_link(&p, t.path().join("g"))?;
        assert_eq!(link_count(&File::open(&p)?)?, 2);
        fs::create_dir(t.path().join("d"))?;
        assert_eq!(dev_of(t.path())?, dev_of(&t.path().join("d"))?);
        Ok(())
    }

    #[test]
    fn two_locks_of_one_directory_exclude_each_other() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let open = || {
            fs::OpenOptions::new()
                .read(true)
                .custom_flags(O_DIRECTORY | O_NOFOLLOW)
                .open(t.path())
                .and_then(dir_lock_file)
        };
        let (first, second) = (open()?, open()?);
        first.try_lock().map_err(io::Error::from)?;
        assert!(matches!(
            second.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(first);
        second.try_lock().map_err(io::Error::from)?;
        Ok(())
    }
}
