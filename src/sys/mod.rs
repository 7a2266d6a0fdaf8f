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
