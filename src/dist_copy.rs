//! Copying a dist to a new directory for `seal --out`: regular files with their modes and times,
//! directories, and symbolic links as links (never followed). The copy is then sealed in place.
//!
//! Directories are created writable by us, filled, and only then given the source's modes (a
//! read-only `0555` directory could not be filled otherwise, as a non-root user). A copy that
//! fails is removed — everything it created, and nothing else — so no half copy is left that
//! only a `chmod` could delete.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::vault::fsutil;
use crate::walk::{self, Walk};

/// Copy `src` to `dest`, which must be new or empty.
pub fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    // The top directory this copy creates (`dest` or a missing ancestor); `None` when `dest`
    // is an existing empty directory, whose contents only are ours.
    let created_top = if dest.exists() {
        let empty = std::fs::read_dir(dest)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            bail!("--out {} already exists and is not empty", dest.display());
        }
        None
    } else {
        let top = dest
            .ancestors()
            .take_while(|a| std::fs::symlink_metadata(a).is_err())
            .last()
            .map(Path::to_path_buf);
        std::fs::create_dir_all(dest)
            .with_context(|| format!("cannot create {}", dest.display()))?;
        top
    };
    let w = walk::walk(src, None);
    if let Some((rel, e)) = w.errors.first() {
        remove_copy(dest, created_top.as_deref(), &w);
        bail!("cannot copy {}: {rel}: {e}", src.display());
    }
    fill(&w, dest).inspect_err(|_| remove_copy(dest, created_top.as_deref(), &w))
}

/// Copy what walk `w` found into `dest`; directory modes last.
fn fill(w: &Walk, dest: &Path) -> Result<()> {
    for (rel, _) in &w.dirs {
        let d = rel.under(dest).context("bad path")?;
        std::fs::create_dir(&d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    for f in &w.files {
        let d = f.rel.under(dest).context("bad path")?;
        crate::apply::injected_failure("MAPVAULT_FAIL_COPY", &f.rel)
            .and_then(|()| Ok(std::fs::copy(&f.path, &d)?))
            .with_context(|| format!("cannot copy {}", f.path.display()))?;
        fsutil::set_mtime(&d, f.meta.mtime, f.meta.mtime_nsec)
            .with_context(|| format!("cannot set the time of {}", d.display()))?;
    }
    for (rel, target) in &w.symlinks {
        let d = rel.under(dest).context("bad path")?;
        crate::sys::symlink(target, &d)
            .with_context(|| format!("cannot create the link {}", d.display()))?;
    }
    // Filled: now the source's modes (children first is not needed: a mode is set by owner,
    // whatever the parent's).
    for (rel, mode) in &w.dirs {
        let d = rel.under(dest).context("bad path")?;
        crate::sys::set_mode_path(&d, *mode)
            .with_context(|| format!("cannot set the mode of {}", d.display()))?;
    }
    Ok(())
}

/// Remove a failed copy: every directory made writable again (a mode may already have been
/// set), then `created_top` removed, or, when `dest` existed before, its contents. Best effort:
/// the error that stopped the copy is the one reported.
fn remove_copy(dest: &Path, created_top: Option<&Path>, w: &Walk) {
    for (rel, _) in &w.dirs {
        if let Some(d) = rel.under(dest) {
            let _ = crate::sys::set_mode_path(&d, 0o700);
        }
    }
    match created_top {
        // `remove_dir_all` does not follow symbolic links.
        Some(top) => {
            let _ = std::fs::remove_dir_all(top);
        }
        None => {
            let Ok(entries) = std::fs::read_dir(dest) else {
                return;
            };
            for e in entries.flatten() {
                let p: PathBuf = e.path();
                let _ = match e.file_type() {
                    Ok(t) if t.is_dir() => std::fs::remove_dir_all(&p),
                    _ => std::fs::remove_file(&p),
                };
            }
        }
    }
}
