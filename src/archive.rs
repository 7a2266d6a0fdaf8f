//! Looking inside archives for `verify`: `npm pack` tarballs (`.tgz`, `.tar.gz`, `.tar`), tars
//! under any compression (`.tar.zst`, `.tar.br`, `.tar.xz`, `.tar.bz2`, `.tzst`, `.txz`…) and
//! zips (`.zip`, `.vsix`, `.jar`, `.whl`, `.zip.gz`…). Every member is scanned with the same
//! rules as a file in a folder and reported as `ARCHIVE!/member/path`; archives inside archives
//! are scanned too, to a limited depth. Nothing is ever extracted to disk.
//!
//! # What counts as an archive
//!
//! The name proposes, the bytes decide. A file or member is looked at when its name is an
//! archive's (possibly with compression suffixes), a compressed file of no scannable type
//! (`data.gz`), or of no known type at all. Its first bytes then decide the compression
//! (gzip, zstd, xz, bzip2 by magic number; brotli has none, so only a `.br` name says so) and,
//! once decoded, the format (`ustar` or a valid tar header checksum; a zip signature). A name
//! that says archive is opened as one even when the bytes disagree, so a damaged archive is an
//! error, never silently skipped.
//!
//! # Reading like npm
//!
//! A tar is read on past zero blocks (GNU tar's `--ignore-zeros`): node-tar, which npm uses,
//! skips a lone zero block and extracts what follows, and every byte after an end marker ships
//! with the tarball anyway. Links inside an archive are notes, never followed.
//!
//! # Bounded
//!
//! Tars are streamed, nested tars included: a member is read whole only when its kind needs
//! its content (scripts, styles, pages, maps by content), held within the process's memory
//! budget ([`crate::budget`]); `*.map` members are judged by name, unknown ones by their first
//! 4 KiB. A zip needs its central directory, so a zip inside anything is read into memory
//! (charged to the budget). Decoded bytes per top-level archive, member count, zip compression
//! ratio and nesting depth are capped ([`Limits`]); passing any of them makes the scan
//! incomplete, which `verify` reports as an error (exit 2) naming the archive and the reason.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek};
use std::path::Path;

use crate::budget::{self, ReadError};
use crate::inspect::read_up_to;
use crate::scan::{self, ArchiveKind, FileKind, Leak, Need, Note};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest member read whole (besides the memory budget, which usually decides first).
    pub max_member: u64,
    /// Most bytes decoded (decompressed or read) for one top-level archive, all levels
    /// together: bounds the time a small bomb can take.
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
            max_member: u64::MAX,
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
    /// The member could not be examined: the scan is incomplete.
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub members_scanned: u64,
    pub members: Vec<Member>,
    /// A limit was hit or the archive is unreadable: the scan is incomplete.
    pub fatal: Option<String>,
}

/// A compression layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    Gzip,
    Zstd,
    Xz,
    Bzip2,
    Brotli,
}

impl Wrap {
    /// By magic number (brotli has none).
    pub fn by_magic(head: &[u8]) -> Option<Wrap> {
        if head.starts_with(b"\x1f\x8b") {
            Some(Wrap::Gzip)
        } else if head.starts_with(b"\x28\xb5\x2f\xfd") {
            Some(Wrap::Zstd)
        } else if head.starts_with(b"\xfd7zXZ\x00") {
            Some(Wrap::Xz)
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Some(Wrap::Bzip2)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Wrap::Gzip => "gzip",
            Wrap::Zstd => "zstd",
            Wrap::Xz => "xz",
            Wrap::Bzip2 => "bzip2",
            Wrap::Brotli => "brotli",
        }
    }

    /// A decoder over `r`, whose first bytes are `head`. xz's dictionary (64 MiB for `xz -9`)
    /// is capped at 96 MiB; zstd's window is charged to the budget ([`crate::compress::decoder`]).
    fn decoder<'a>(self, r: Box<dyn Read + 'a>, head: &[u8]) -> io::Result<Box<dyn Read + 'a>> {
        use crate::compress::{self, Codec};
        let via = |c: Codec, r| compress::decoder(c, r, head).map_err(io::Error::other);
        Ok(match self {
            Wrap::Gzip => via(Codec::Gzip, r)?,
            Wrap::Zstd => via(Codec::Zstd, r)?,
            Wrap::Brotli => via(Codec::Brotli, r)?,
            Wrap::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
                BufReader::new(r),
                true,
                96 * 1024,
            )),
            Wrap::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(BufReader::new(r))),
        })
    }
}

/// An archive format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tar,
    Zip,
}

impl Format {
    /// By the first bytes of the (decoded) stream.
    pub fn by_magic(head: &[u8]) -> Option<Format> {
        if [&b"PK\x03\x04"[..], b"PK\x05\x06", b"PK\x07\x08"]
            .iter()
            .any(|m| head.starts_with(m))
        {
            return Some(Format::Zip);
        }
        if head.len() >= 512 && (&head[257..262] == b"ustar" || tar_checksum_ok(&head[..512])) {
            return Some(Format::Tar);
        }
        None
    }
}

/// A pre-POSIX (v7) tar header has no `ustar` magic; its checksum (the byte sum of the header
/// with the checksum field read as spaces, in octal at 148) still identifies it.
fn tar_checksum_ok(h: &[u8]) -> bool {
    if h[0] == 0 {
        return false;
    }
    let field = &h[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&c| c == b' ')
        .take_while(|c| (b'0'..=b'7').contains(c))
        .collect();
    let Some(want) = std::str::from_utf8(&digits)
        .ok()
        .filter(|d| !d.is_empty())
        .and_then(|d| u32::from_str_radix(d, 8).ok())
    else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == want
}

/// What a name says: the compression layers it names (outermost first) and the format under
/// them, and the name with those suffixes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hint {
    wraps: Vec<Wrap>,
    format: Option<Format>,
    inner: Vec<u8>,
}

/// Short names of compressed tars.
const TAR_SHORT: [(&[u8], Wrap); 7] = [
    (b".tgz", Wrap::Gzip),
    (b".taz", Wrap::Gzip),
    (b".tbz", Wrap::Bzip2),
    (b".tbz2", Wrap::Bzip2),
    (b".tb2", Wrap::Bzip2),
    (b".txz", Wrap::Xz),
    (b".tzst", Wrap::Zstd),
];

/// Compression suffixes.
const SUFFIXES: [(&[u8], Wrap); 7] = [
    (b".gz", Wrap::Gzip),
    (b".br", Wrap::Brotli),
    (b".zst", Wrap::Zstd),
    (b".zstd", Wrap::Zstd),
    (b".xz", Wrap::Xz),
    (b".bz2", Wrap::Bzip2),
    (b".bz", Wrap::Bzip2),
];

fn hint(name: &[u8]) -> Hint {
    let lower = name.to_ascii_lowercase();
    let mut end = lower.len();
    let mut wraps = Vec::new();
    for _ in 0..2 {
        let s = &lower[..end];
        if let Some((ext, w)) = TAR_SHORT.iter().find(|(e, _)| s.ends_with(e)) {
            wraps.push(*w);
            let inner = [&name[..end - ext.len()], b".tar"].concat();
            return Hint {
                wraps,
                format: Some(Format::Tar),
                inner,
            };
        }
        match SUFFIXES
            .iter()
            .find(|(e, _)| s.ends_with(e) && s.len() > e.len())
        {
            Some((ext, w)) => {
                wraps.push(*w);
                end -= ext.len();
            }
            None => break,
        }
    }
    let inner = name[..end].to_vec();
    let format = match scan::classify(&inner) {
        FileKind::Archive(ArchiveKind::Tar) => Some(Format::Tar),
        FileKind::Archive(ArchiveKind::Zip) => Some(Format::Zip),
        // `.tar.gz` (`.tgz` is caught above).
        FileKind::Archive(ArchiveKind::TarGz) => {
            wraps.push(Wrap::Gzip);
            Some(Format::Tar)
        }
        _ => None,
    };
    Hint {
        wraps,
        format,
        inner,
    }
}

/// Is a file or member with this name worth a look at its first bytes? Archives by name, and
/// anything that is not already a known kind of content: a compressed file of no scannable
/// type (`data.gz`) or a file of no known type.
pub fn candidate(name: &[u8]) -> bool {
    let h = hint(name);
    h.format.is_some() || matches!(scan::classify(&h.inner), FileKind::Other)
}

/// Should `verify` open this file as an archive? By name, or for a [`candidate`] by its first
/// bytes (see the module docs). Errors reading it say no: the ordinary scan reports them.
pub fn is_archive_file(path: &Path, name: &[u8]) -> bool {
    if !candidate(name) {
        return false;
    }
    if hint(name).format.is_some() {
        return true;
    }
    let Ok(f) = crate::inspect::open_nofollow(path) else {
        return false;
    };
    let ctx = Ctx::new(Limits::default());
    matches!(
        open_layers(Box::new(f), name, &ctx),
        Ok(Opened::Archive { .. })
    )
}

/// Scan the archive at `path`, naming members under `shown`.
pub fn scan_file(path: &Path, shown: &str, limits: Limits) -> Scan {
    let mut out = Scan::default();
    let ctx = Ctx::new(limits);
    let name = path
        .file_name()
        .map(|n| n.as_encoded_bytes().to_vec())
        .unwrap_or_default();
    let r = crate::inspect::open_nofollow(path)
        .map_err(Stop::Io)
        .and_then(|f| scan_top(f, &name, shown, &ctx, &mut out));
    if let Err(e) = r {
        out.fatal = Some(ctx.limit_hit.take().unwrap_or_else(|| e.to_string()));
    }
    out.members_scanned = ctx.members.get();
    out
}

fn scan_top(f: File, name: &[u8], shown: &str, ctx: &Ctx, out: &mut Scan) -> Result<(), Stop> {
    // A zip on disk is read in place (it needs to seek); anything else is streamed.
    let mut head = [0u8; 4];
    let n = read_up_to(&mut (&f), &mut head)?;
    (&f).rewind()?;
    if Format::by_magic(&head[..n]) == Some(Format::Zip) {
        return scan_zip(f, shown, 1, ctx, out);
    }
    match open_layers(Box::new(counted(Box::new(f), ctx)), name, ctx)? {
        Opened::Archive { format, reader, .. } => scan_archive(format, reader, shown, 1, ctx, out),
        Opened::Plain { .. } => Err(Stop::Io(io::Error::other(
            "not an archive (no tar or zip inside)",
        ))),
    }
}

/// Per top-level archive state, shared by every level of it.
struct Ctx {
    limits: Limits,
    members: Cell<u64>,
    decoded: Cell<u64>,
    /// The limit that stopped the scan, when a reader failed because of it (the error that
    /// comes back through the tar reader may have lost the message).
    limit_hit: RefCell<Option<String>>,
}

impl Ctx {
    fn new(limits: Limits) -> Ctx {
        Ctx {
            limits,
            members: Cell::new(0),
            decoded: Cell::new(0),
            limit_hit: RefCell::new(None),
        }
    }

    fn count_member(&self, shown: &str) -> Result<(), Stop> {
        self.members.set(self.members.get() + 1);
        if self.members.get() > self.limits.max_members {
            return Err(self.stop(format!(
                "{shown}: more than {} members",
                self.limits.max_members
            )));
        }
        Ok(())
    }

    fn stop(&self, msg: String) -> Stop {
        self.limit_hit.borrow_mut().get_or_insert(msg.clone());
        Stop::Limit(msg)
    }

    /// Count `n` decoded bytes; an error once past [`Limits::max_total`].
    fn decode(&self, n: usize) -> io::Result<()> {
        self.decoded.set(self.decoded.get() + n as u64);
        if self.decoded.get() > self.limits.max_total {
            let msg = format!(
                "more than {} of decoded data in one archive (a decompression bomb?)",
                budget::human(self.limits.max_total)
            );
            self.limit_hit.borrow_mut().get_or_insert(msg.clone());
            return Err(io::Error::other(msg));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("{0}")]
    Limit(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A reader that counts what comes out of it against [`Limits::max_total`].
struct Counted<'a> {
    inner: Box<dyn Read + 'a>,
    ctx: &'a Ctx,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ctx.decode(n)?;
        Ok(n)
    }
}

fn counted<'a>(inner: Box<dyn Read + 'a>, ctx: &'a Ctx) -> Counted<'a> {
    Counted { inner, ctx }
}

/// A stream after its compression layers are taken off.
enum Opened<'a> {
    Archive {
        format: Format,
        reader: Box<dyn Read + 'a>,
    },
    /// Not an archive: the (decoded) stream, the name it goes by once decoded, and the layers
    /// taken off.
    Plain {
        reader: Box<dyn Read + 'a>,
        name: Vec<u8>,
        wraps: Vec<Wrap>,
    },
}

/// Take compression layers off `r` (by magic, or brotli by name; at most three) and say whether
/// an archive is underneath. The bytes peeked at are put back in front of the stream.
fn open_layers<'a>(r: Box<dyn Read + 'a>, name: &[u8], ctx: &'a Ctx) -> Result<Opened<'a>, Stop> {
    let mut r = r;
    let mut name = name.to_vec();
    let mut wraps = Vec::new();
    loop {
        let mut head = vec![0u8; 512];
        let n = read_up_to(&mut r, &mut head)?;
        head.truncate(n);
        let h = hint(&name);
        let by_name = h.wraps.first().copied();
        let wrap = Wrap::by_magic(&head).or(match by_name {
            // Brotli has no magic number: only a name ending in `.br` over an archive's name
            // says so.
            Some(Wrap::Brotli) if h.format.is_some() => Some(Wrap::Brotli),
            _ => None,
        });
        r = Box::new(Cursor::new(head.clone()).chain(r));
        match wrap {
            Some(w) if wraps.len() < 3 => {
                wraps.push(w);
                if by_name.is_some() {
                    name = strip_one(&name);
                }
                r = Box::new(counted(w.decoder(r, &head)?, ctx));
            }
            _ => {
                // A name that says archive is opened as one: bytes that are not are an error.
                let format = Format::by_magic(&head).or(h.format);
                return Ok(match format {
                    Some(format) => Opened::Archive { format, reader: r },
                    None => Opened::Plain {
                        reader: r,
                        name,
                        wraps,
                    },
                });
            }
        }
    }
}

/// `x.tar.gz` → `x.tar`, `x.tgz` → `x.tar`, `data.gz` → `data`.
fn strip_one(name: &[u8]) -> Vec<u8> {
    let lower = name.to_ascii_lowercase();
    if let Some((short, _)) = TAR_SHORT.iter().find(|(e, _)| lower.ends_with(e)) {
        return [&name[..name.len() - short.len()], b".tar"].concat();
    }
    match SUFFIXES
        .iter()
        .find(|(e, _)| lower.ends_with(e) && name.len() > e.len())
    {
        Some((ext, _)) => name[..name.len() - ext.len()].to_vec(),
        None => name.to_vec(),
    }
}

fn scan_archive(
    format: Format,
    reader: Box<dyn Read + '_>,
    shown: &str,
    depth: u32,
    ctx: &Ctx,
    out: &mut Scan,
) -> Result<(), Stop> {
    match format {
        Format::Tar => scan_tar(reader, shown, depth, ctx, out),
        Format::Zip => {
            let held = read_whole(reader, shown, ctx)?;
            scan_zip(Cursor::new(held.bytes), shown, depth, ctx, out)
        }
    }
}

/// Read a member or a nested zip into memory, within the member cap and the budget.
fn read_whole(r: impl Read, shown: &str, ctx: &Ctx) -> Result<budget::Held, Stop> {
    budget::read_to_end(r, ctx.limits.max_member).map_err(|e| match e {
        ReadError::Budget(e) => ctx.stop(format!("{shown}: {e} (a decompression bomb?)")),
        ReadError::TooLarge(n) => ctx.stop(format!(
            "{shown}: more than {} bytes, the limit per member",
            n
        )),
        ReadError::Io(e) => Stop::Io(e),
    })
}

/// One member: a nested archive, or content scanned like a file in a folder.
fn scan_member(
    r: Box<dyn Read + '_>,
    member_path: &[u8],
    shown: &str,
    depth: u32,
    ctx: &Ctx,
    out: &mut Scan,
) -> Result<(), Stop> {
    let display = format!("{shown}!/{}", String::from_utf8_lossy(member_path));
    let name = member_path
        .rsplit(|&c| c == b'/')
        .next()
        .unwrap_or(member_path);
    let (reader, name, wraps) = if candidate(name) {
        match open_layers(r, name, ctx)? {
            Opened::Archive { format, reader } => {
                if depth >= ctx.limits.max_depth {
                    out.members.push(Member {
                        path: display,
                        leaks: Vec::new(),
                        notes: Vec::new(),
                        error: Some(format!(
                            "archive nested more than {} deep: not opened, so the scan is incomplete",
                            ctx.limits.max_depth
                        )),
                    });
                    return Ok(());
                }
                return scan_archive(format, reader, &display, depth + 1, ctx, out);
            }
            Opened::Plain {
                reader,
                name,
                wraps,
            } => (reader, name, wraps),
        }
    } else {
        (r, name.to_vec(), Vec::new())
    };
    scan_content(reader, &name, &wraps, display, ctx, out)
}

/// Scan a member's content, reading only as much as its kind needs.
fn scan_content(
    mut r: Box<dyn Read + '_>,
    name: &[u8],
    wraps: &[Wrap],
    display: String,
    ctx: &Ctx,
    out: &mut Scan,
) -> Result<(), Stop> {
    let kind = scan::classify(name);
    let held = match scan::need(kind) {
        Need::Nothing => None,
        Need::Head => {
            let mut head = vec![0u8; scan::HEAD_LEN];
            let n = read_up_to(&mut r, &mut head)?;
            head.truncate(n);
            if !scan::head_needs_all(&head) {
                return Ok(());
            }
            Some(read_whole(Cursor::new(head).chain(r), &display, ctx)?)
        }
        Need::All => Some(read_whole(r, &display, ctx)?),
    };
    let bytes = held.as_ref().map_or(&[][..], |h| &h.bytes[..]);
    let a = match &held {
        Some(_) => scan::analyze(name, bytes),
        None => scan::Analysis::name_only(kind),
    };
    let mut leaks = scan::leaks(&a, bytes);
    // Content that was decompressed here (`data.gz` that is no archive) says so, as a
    // precompressed copy in a folder does.
    if let Some(w) = wraps.first() {
        for l in &mut leaks {
            l.message = format!(
                "in {} copy of {}: {}",
                w.name(),
                String::from_utf8_lossy(name),
                l.message
            );
        }
    }
    let notes: Vec<Note> = a
        .notes
        .iter()
        .chain(a.inner.iter().flat_map(|i| i.analysis.notes.iter()))
        .cloned()
        .collect();
    if !leaks.is_empty() || !notes.is_empty() || a.error.is_some() {
        out.members.push(Member {
            path: display,
            leaks,
            notes,
            error: a.error.clone(),
        });
    }
    Ok(())
}

fn scan_tar(
    r: Box<dyn Read + '_>,
    shown: &str,
    depth: u32,
    ctx: &Ctx,
    out: &mut Scan,
) -> Result<(), Stop> {
    let mut ar = tar::Archive::new(r);
    ar.set_ignore_zeros(true);
    for entry in ar.entries()? {
        let mut e = entry?;
        let ty = e.header().entry_type();
        let path = e.path_bytes().into_owned();
        if ty.is_symlink() || ty.is_hard_link() {
            ctx.count_member(shown)?;
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
        ctx.count_member(shown)?;
        scan_member(Box::new(&mut e), &path, shown, depth, ctx, out)?;
    }
    Ok(())
}

fn scan_zip<R: Read + Seek>(
    r: R,
    shown: &str,
    depth: u32,
    ctx: &Ctx,
    out: &mut Scan,
) -> Result<(), Stop> {
    let mut z = zip::ZipArchive::new(r)
        .map_err(|e| Stop::Io(io::Error::other(format!("not a readable zip: {e}"))))?;
    for i in 0..z.len() {
        let f = z
            .by_index(i)
            .map_err(|e| Stop::Io(io::Error::other(format!("member {i}: {e}"))))?;
        if f.is_dir() {
            continue;
        }
        let path = f.name_raw().to_vec();
        let display = format!("{shown}!/{}", String::from_utf8_lossy(&path));
        ctx.count_member(shown)?;
        if f.is_symlink() {
            continue;
        }
        let (size, csize) = (f.size(), f.compressed_size());
        if size > (1 << 20) && size / csize.max(1) > ctx.limits.max_ratio {
            return Err(ctx.stop(format!(
                "{display}: compression ratio {}:1 is over the {}:1 limit (a zip bomb?)",
                size / csize.max(1),
                ctx.limits.max_ratio
            )));
        }
        scan_member(
            Box::new(counted(Box::new(f), ctx)),
            &path,
            shown,
            depth,
            ctx,
            out,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tar_of(files: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data)?;
        }
        b.into_inner()
    }

    fn tgz(files: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar_of(files)?)?;
        gz.finish()
    }

    fn scan_bytes(name: &str, bytes: &[u8], limits: Limits) -> io::Result<Scan> {
        let t = tempfile::tempdir()?;
        let p = t.path().join(name);
        std::fs::write(&p, bytes)?;
        Ok(scan_file(&p, name, limits))
    }

    fn paths(s: &Scan) -> Vec<&str> {
        s.members.iter().map(|m| m.path.as_str()).collect()
    }

    #[test]
    fn finds_leaks_in_members_and_nested_archives() -> io::Result<()> {
        let inner = tgz(&[("package/dist/a.js.map", b"{}")])?;
        let outer = tgz(&[
            ("package/dist/a.js", b"a()\n//# sourceMappingURL=a.js.map\n"),
            ("package/package.json", br#"{"name":"x"}"#),
            ("package/vendor/inner.tgz", &inner),
        ])?;
        let s = scan_bytes("x-1.0.0.tgz", &outer, Limits::default())?;
        assert_eq!(s.fatal, None);
        assert_eq!(s.members_scanned, 4);
        assert_eq!(
            paths(&s),
            vec![
                "x-1.0.0.tgz!/package/dist/a.js",
                "x-1.0.0.tgz!/package/vendor/inner.tgz!/package/dist/a.js.map"
            ]
        );
        Ok(())
    }

    #[test]
    fn names_and_magic() {
        assert_eq!(hint(b"a.tar.zst").wraps, vec![Wrap::Zstd]);
        assert_eq!(hint(b"a.tar.zst").format, Some(Format::Tar));
        assert_eq!(hint(b"a.TGZ").format, Some(Format::Tar));
        assert_eq!(hint(b"a.zip.gz").format, Some(Format::Zip));
        assert_eq!(hint(b"a.tar.gz").wraps, vec![Wrap::Gzip]);
        assert_eq!(hint(b"a.js.gz").format, None);
        assert!(candidate(b"data.gz") && candidate(b"blob") && candidate(b"x.txz"));
        assert!(!candidate(b"a.js.gz") && !candidate(b"a.js") && !candidate(b"a.map"));
        assert_eq!(strip_one(b"a.tgz"), b"a.tar");
        assert_eq!(Wrap::by_magic(b"BZh91AY&SY"), Some(Wrap::Bzip2));
        assert_eq!(Wrap::by_magic(b"BZhx"), None);
    }

    #[test]
    fn every_compression_and_a_zip_in_a_gzip_are_opened() -> io::Result<()> {
        let tar = tar_of(&[("p/a.js.map", b"{}")])?;
        let xz = {
            let mut w =
                lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1))?;
            w.write_all(&tar)?;
            w.finish()?
        };
        let bz = {
            let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            w.write_all(&tar)?;
            w.finish()?
        };
        let zip = {
            let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
            z.start_file("p/b.css.map", zip::write::SimpleFileOptions::default())
                .map_err(io::Error::other)?;
            z.write_all(b"{}")?;
            z.finish().map_err(io::Error::other)?.into_inner()
        };
        let gz = |b: &[u8]| crate::compress::compress(crate::compress::Codec::Gzip, b);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("x.tar", tar.clone()),
            ("x.tar.zst", zstd::stream::encode_all(&tar[..], 3)?),
            (
                "x.tar.br",
                crate::compress::compress(crate::compress::Codec::Brotli, &tar)?,
            ),
            ("x.tar.xz", xz.clone()),
            ("x.txz", xz),
            ("x.tar.bz2", bz),
            // Named gzip, is zstd: the bytes decide.
            ("x.tgz", zstd::stream::encode_all(&tar[..], 3)?),
            ("x.zip.gz", gz(&zip)?),
            ("x.zip", zip),
            // No archive name at all: magic only.
            ("blob.gz", gz(&tar)?),
            ("blob", tar),
        ];
        for (name, bytes) in cases {
            let s = scan_bytes(name, &bytes, Limits::default())?;
            assert_eq!(s.fatal, None, "{name}");
            assert_eq!(s.members.len(), 1, "{name}: {:?}", s.members);
            assert_eq!(s.members[0].leaks.len(), 1, "{name}");
        }
        Ok(())
    }

    #[test]
    fn nesting_past_the_limit_is_an_error_not_a_note() -> io::Result<()> {
        let mut a = tar_of(&[("deep.js.map", b"{}")])?;
        for i in 0..3 {
            a = tgz(&[(&format!("level{i}.tgz"), &a)])?;
        }
        let s = scan_bytes("top.tgz", &a, Limits::default())?;
        assert_eq!(s.members.len(), 1);
        let m = &s.members[0];
        assert_eq!(m.path, "top.tgz!/level2.tgz!/level1.tgz!/level0.tgz");
        assert!(
            m.error.as_deref().is_some_and(|e| e.contains("nested")),
            "{m:?}"
        );
        let s = scan_bytes(
            "top.tgz",
            &a,
            Limits {
                max_depth: 4,
                ..Limits::default()
            },
        )?;
        assert_eq!(s.members[0].error, None);
        assert_eq!(s.members[0].leaks.len(), 1);
        Ok(())
    }

    #[test]
    fn a_tar_is_read_past_zero_blocks() -> io::Result<()> {
        let a = tar_of(&[("p/a.js", b"a()\n")])?;
        let b = tar_of(&[("p/b.js.map", b"{}")])?;
        // Member a (header + one data block), one zero block, then member b.
        let t = [&a[..1024], &[0u8; 512][..], &b[..]].concat();
        let s = scan_bytes("z.tar", &t, Limits::default())?;
        assert_eq!(paths(&s), vec!["z.tar!/p/b.js.map"]);
        Ok(())
    }

    #[test]
    fn decoded_bytes_are_capped_per_archive() -> io::Result<()> {
        let zeros = vec![0u8; 8 << 20];
        let bomb = tgz(&[("a.bin", &zeros), ("b.bin", &zeros)])?;
        let s = scan_bytes(
            "bomb.tgz",
            &bomb,
            Limits {
                max_total: 12 << 20,
                ..Limits::default()
            },
        )?;
        assert!(
            s.fatal.as_deref().is_some_and(|e| e.contains("decoded")),
            "{:?}",
            s.fatal
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
        let s = scan_file(&p, "bomb.zip", Limits::default());
        assert!(
            s.fatal.as_deref().is_some_and(|e| e.contains("ratio")),
            "{:?}",
            s.fatal
        );
        let s = scan_file(
            &p,
            "bomb.zip",
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
        for (name, bytes) in [
            ("junk.tgz", &b"\x1f\x8b\x08\x00garbage"[..]),
            ("junk.zip", b"PK\x03\x04garbage"),
            ("junk.tar.xz", b"\xfd7zXZ\x00garbage"),
            ("junk.tar.br", b"\x00\x01garbage"),
        ] {
            assert!(
                scan_bytes(name, bytes, Limits::default())?.fatal.is_some(),
                "{name}"
            );
        }
        Ok(())
    }
}
