//! Looking inside package archives — `npm pack` tarballs (`.tgz`, `.tar.gz`, `.tar`) and zips
//! (`.zip`, `.vsix`, `.jar`, `.whl`, …) — for `verify`. Every member is scanned with the same
//! rules as a file in a folder and reported as `ARCHIVE!/member/path`; archives inside archives
//! are scanned too, to a limited depth.
//!
//! Nothing is ever extracted to disk. Decompression is bounded — bytes per member, bytes per
//! archive, member count, compression ratio and nesting — so a zip bomb is a clear error, never
//! an out-of-memory kill.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::Path;

use crate::compress::{LimitedError, read_limited};
use crate::scan::{self, ArchiveKind, FileKind, Leak, Note};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest member, decompressed.
    pub max_member: u64,
    /// Largest total of decompressed bytes for one top-level archive.
    pub max_total: u64,
    pub max_members: u64,
    /// How many archives deep to look (1 = members of the archive itself).
    pub max_depth: u32,
    /// Largest decompressed/compressed ratio for a zip member over 1 MiB.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_member: 1 << 30,
            max_total: 4 << 30,
            max_members: 200_000,
            max_depth: 3,
            max_ratio: 1000,
        }
    }
}

/// What one archive member contributed.
#[derive(Debug, Clone)]
pub struct Member {
    /// `ARCHIVE!/member/path` (nested: `a.tgz!/x.zip!/y.js`).
    pub path: String,
    pub leaks: Vec<Leak>,
    pub notes: Vec<Note>,
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub members_scanned: u64,
    pub members: Vec<Member>,
    /// A limit was hit or the archive is unreadable: the scan is incomplete.
    pub fatal: Option<String>,
}

struct Budget {
    limits: Limits,
    total: u64,
    members: u64,
}

#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("{0}")]
    Limit(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Scan the archive at `path`, naming members under `shown`.
pub fn scan_file(path: &Path, shown: &str, kind: ArchiveKind, limits: Limits) -> Scan {
    let mut out = Scan::default();
    let mut budget = Budget {
        limits,
        total: 0,
        members: 0,
    };
    let r = File::open(path)
        .map_err(Stop::Io)
        .and_then(|f| scan_reader(f, shown, kind, 1, &mut budget, &mut out));
    if let Err(e) = r {
        out.fatal = Some(e.to_string());
    }
    out.members_scanned = budget.members;
    out
}

/// Scan an archive held in memory (a member of another archive).
fn scan_nested(
    bytes: &[u8],
    shown: &str,
    kind: ArchiveKind,
    depth: u32,
    budget: &mut Budget,
    out: &mut Scan,
) -> Result<(), Stop> {
    scan_reader(io::Cursor::new(bytes), shown, kind, depth, budget, out)
}

fn scan_reader<R: Read + Seek>(
    r: R,
    shown: &str,
    kind: ArchiveKind,
    depth: u32,
    budget: &mut Budget,
    out: &mut Scan,
) -> Result<(), Stop> {
    match kind {
        ArchiveKind::Tar => scan_tar(BufReader::new(r), shown, depth, budget, out),
        ArchiveKind::TarGz => scan_tar(
            flate2::read::MultiGzDecoder::new(BufReader::new(r)),
            shown,
            depth,
            budget,
            out,
        ),
        ArchiveKind::Zip => scan_zip(r, shown, depth, budget, out),
    }
}

fn read_member(
    r: impl Read,
    size_hint: u64,
    name: &str,
    budget: &mut Budget,
) -> Result<Vec<u8>, Stop> {
    let l = budget.limits;
    if size_hint > l.max_member {
        return Err(Stop::Limit(format!(
            "{name}: member is {size_hint} bytes, over the {}-byte limit per member",
            l.max_member
        )));
    }
    let room = l.max_total.saturating_sub(budget.total).min(l.max_member);
    let bytes = read_limited(r, room).map_err(|e| match e {
        LimitedError::TooLarge => Stop::Limit(format!(
            "{name}: decompressing it would pass the limit ({} bytes per member, {} per archive): a decompression bomb?",
            l.max_member, l.max_total
        )),
        LimitedError::Io(e) => Stop::Io(e),
    })?;
    budget.total += bytes.len() as u64;
    Ok(bytes)
}

fn count_member(budget: &mut Budget, shown: &str) -> Result<(), Stop> {
    budget.members += 1;
    if budget.members > budget.limits.max_members {
        return Err(Stop::Limit(format!(
            "{shown}: more than {} members",
            budget.limits.max_members
        )));
    }
    Ok(())
}

fn scan_member(
    member_path: &[u8],
    bytes: &[u8],
    shown: &str,
    depth: u32,
    budget: &mut Budget,
    out: &mut Scan,
) -> Result<(), Stop> {
    let display = format!("{shown}!/{}", String::from_utf8_lossy(member_path));
    let name = member_path
        .rsplit(|&c| c == b'/')
        .next()
        .unwrap_or(member_path);
    if let FileKind::Archive(k) = scan::classify(name) {
        if depth < budget.limits.max_depth {
            return scan_nested(bytes, &display, k, depth + 1, budget, out);
        }
        out.members.push(Member {
            path: display,
            leaks: Vec::new(),
            notes: vec![Note {
                kind: None,
                message: format!(
                    "archive nested more than {} deep; not opened",
                    budget.limits.max_depth
                ),
            }],
            error: None,
        });
        return Ok(());
    }
    let limits = scan::Limits {
        max_decompressed: budget.limits.max_member,
    };
    let a = scan::analyze_with(name, bytes, limits);
    let leaks = scan::leaks(&a, bytes);
    if !leaks.is_empty() || !a.notes.is_empty() || a.error.is_some() {
        out.members.push(Member {
            path: display,
            leaks,
            notes: a.notes.clone(),
            error: a.error.clone(),
        });
    }
    Ok(())
}

fn scan_tar(
    r: impl Read,
    shown: &str,
    depth: u32,
    budget: &mut Budget,
    out: &mut Scan,
) -> Result<(), Stop> {
    let mut ar = tar::Archive::new(r);
    for entry in ar.entries()? {
        let mut e = entry?;
        let ty = e.header().entry_type();
        let path = e.path_bytes().into_owned();
        if ty.is_symlink() || ty.is_hard_link() {
            count_member(budget, shown)?;
            out.members.push(Member {
                path: format!("{shown}!/{}", String::from_utf8_lossy(&path)),
                leaks: Vec::new(),
                notes: vec![Note {
                    kind: None,
                    message: "link inside the archive (not followed)".into(),
                }],
                error: None,
            });
            continue;
        }
        if !(ty.is_file() || ty == tar::EntryType::Continuous || ty == tar::EntryType::GNUSparse) {
            continue;
        }
        count_member(budget, shown)?;
        let size = e.header().size().unwrap_or(0);
        let bytes = read_member(
            &mut e,
            size,
            &format!("{shown}!/{}", String::from_utf8_lossy(&path)),
            budget,
        )?;
        scan_member(&path, &bytes, shown, depth, budget, out)?;
    }
    Ok(())
}

fn scan_zip<R: Read + Seek>(
    r: R,
    shown: &str,
    depth: u32,
    budget: &mut Budget,
    out: &mut Scan,
) -> Result<(), Stop> {
    let mut z = zip::ZipArchive::new(r)
        .map_err(|e| Stop::Io(io::Error::other(format!("not a readable zip: {e}"))))?;
    for i in 0..z.len() {
        let mut f = z
            .by_index(i)
            .map_err(|e| Stop::Io(io::Error::other(format!("member {i}: {e}"))))?;
        if f.is_dir() {
            continue;
        }
        let path = f.name_raw().to_vec();
        let display = format!("{shown}!/{}", String::from_utf8_lossy(&path));
        if f.is_symlink() {
            count_member(budget, shown)?;
            continue;
        }
        count_member(budget, shown)?;
        let (size, csize) = (f.size(), f.compressed_size());
        if size > (1 << 20) && size / csize.max(1) > budget.limits.max_ratio {
            return Err(Stop::Limit(format!(
                "{display}: compression ratio {}:1 is over the {}:1 limit (a zip bomb?)",
                size / csize.max(1),
                budget.limits.max_ratio
            )));
        }
        let bytes = read_member(&mut f, size, &display, budget)?;
        drop(f);
        scan_member(&path, &bytes, shown, depth, budget, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tgz(files: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data)?;
        }
        b.into_inner()?.finish()
    }

    #[test]
    fn finds_leaks_in_members_and_nested_archives() -> io::Result<()> {
        let inner = tgz(&[("package/dist/a.js.map", b"{}")])?;
        let outer = tgz(&[
            ("package/dist/a.js", b"a()\n//# sourceMappingURL=a.js.map\n"),
            ("package/package.json", br#"{"name":"x"}"#),
            ("package/vendor/inner.tgz", &inner),
        ])?;
        let t = tempfile::tempdir()?;
        let p = t.path().join("x-1.0.0.tgz");
        std::fs::write(&p, &outer)?;
        let s = scan_file(&p, "x-1.0.0.tgz", ArchiveKind::TarGz, Limits::default());
        assert_eq!(s.fatal, None);
        assert_eq!(s.members_scanned, 4);
        let paths: Vec<&str> = s.members.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "x-1.0.0.tgz!/package/dist/a.js",
                "x-1.0.0.tgz!/package/vendor/inner.tgz!/package/dist/a.js.map"
            ]
        );
        Ok(())
    }

    #[test]
    fn zip_bombs_are_refused() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let p = t.path().join("bomb.zip");
        {
            let f = File::create(&p)?;
            let mut z = zip::ZipWriter::new(f);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            z.start_file("zeros.js", opts).map_err(io::Error::other)?;
            let chunk = vec![0u8; 1 << 20];
            for _ in 0..50 {
                z.write_all(&chunk)?;
            }
            z.finish().map_err(io::Error::other)?;
        }
        let s = scan_file(&p, "bomb.zip", ArchiveKind::Zip, Limits::default());
        assert!(
            s.fatal.as_deref().is_some_and(|e| e.contains("ratio")),
            "{:?}",
            s.fatal
        );
        let s = scan_file(
            &p,
            "bomb.zip",
            ArchiveKind::Zip,
            Limits {
                max_ratio: u64::MAX,
                max_member: 10 << 20,
                ..Limits::default()
            },
        );
        assert!(
            s.fatal.as_deref().is_some_and(|e| e.contains("limit")),
            "{:?}",
            s.fatal
        );
        Ok(())
    }

    #[test]
    fn junk_is_an_error_not_a_panic() -> io::Result<()> {
        let t = tempfile::tempdir()?;
        let p = t.path().join("junk.tgz");
        std::fs::write(&p, b"\x1f\x8b\x08\x00garbage")?;
        assert!(
            scan_file(&p, "junk.tgz", ArchiveKind::TarGz, Limits::default())
                .fatal
                .is_some()
        );
        std::fs::write(&p, b"PK\x03\x04garbage")?;
        assert!(
            scan_file(&p, "junk.zip", ArchiveKind::Zip, Limits::default())
                .fatal
                .is_some()
        );
        Ok(())
    }
}
