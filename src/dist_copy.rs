//! Copying a dist to a new directory for `seal --out`: regular files with their modes and times,
//! directories, and symbolic links as links (never followed). The copy is then sealed in place.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::vault::fsutil;
use crate::walk;

/// Copy `src` to `dest`, which must be new or empty.
pub fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        let empty = std::fs::read_dir(dest)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            bail!("--out {} already exists and is not empty", dest.display());
        }
    }
    std::fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let w = walk::walk(src, None);
    if let Some((rel, e)) = w.errors.first() {
        bail!("cannot copy {}: {rel}: {e}", src.display());
    }
    for (rel, mode) in &w.dirs {
        let d = rel.under(dest).context("bad path")?;
        std::fs::create_dir_all(&d)?;
        std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(*mode))?;
    }
    for f in &w.files {
        let d = f.rel.under(dest).context("bad path")?;
        std::fs::copy(&f.path, &d).with_context(|| format!("cannot copy {}", f.path.display()))?;
        fsutil::set_mtime(&d, f.meta.mtime, f.meta.mtime_nsec)?;
    }
    for (rel, target) in &w.symlinks {
        let d = rel.under(dest).context("bad path")?;
        std::os::unix::fs::symlink(target, &d)?;
    }
    Ok(())
}
