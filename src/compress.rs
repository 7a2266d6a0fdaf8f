//! Precompressed copies (`x.js.gz`, `x.js.br`, `x.js.zst`, `x.map.gz`…): recognising them,
//! decompressing them within the process's memory budget ([`crate::budget`]: a decompression
//! bomb is an error naming the file, never an out-of-memory kill), and compressing sealed bytes
//! again in the same format.
//!
//! Compression is deterministic (fixed levels, no timestamps or file names in gzip headers), so
//! a re-run after a crash produces the same bytes and the same hash.

use std::io::{self, Read, Write};

/// A compression format, known from the file name's last extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    Gzip,
    Brotli,
    Zstd,
}

impl Codec {
    /// The codec for `name` and the name without its compression extension.
    pub fn from_name(name: &[u8]) -> Option<(Codec, &[u8])> {
        let lower = name.to_ascii_lowercase();
        for (ext, c) in [
            (&b".gz"[..], Codec::Gzip),
            (b".br", Codec::Brotli),
            (b".zst", Codec::Zstd),
        ] {
            if lower.ends_with(ext) && name.len() > ext.len() {
                return Some((c, &name[..name.len() - ext.len()]));
            }
        }
        None
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Brotli => "brotli",
            Codec::Zstd => "zstd",
        }
    }
}

/// Why decompression failed.
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    #[error("decompresses to more than {limit} bytes (decompression bomb?)")]
    TooLarge { limit: u64 },
    /// The process's memory budget for expanded bytes says no.
    #[error("{0} (a decompression bomb?)")]
    OverBudget(#[from] crate::budget::Exceeded),
    #[error("not valid {codec} data: {msg}")]
    Corrupt { codec: &'static str, msg: String },
}

/// No cap of its own: what one file may expand to is the memory budget's
/// ([`crate::budget::Budget::per_file`]).
pub const DEFAULT_LIMIT: u64 = u64::MAX;

/// A streaming decoder for `codec` over `input`, whose first bytes are `head` (at least the
/// frame header, for zstd).
///
/// A decoder's own window is memory too. gzip's is 32 KiB and brotli's at most 16 MiB, but a
/// zstd frame may ask for up to 128 MiB (the decoder refuses more), filled as it decodes:
/// that window, as the frame header declares it, is charged to the memory budget for as long
/// as the decoder lives.
pub fn decoder<'a>(
    codec: Codec,
    input: impl Read + 'a,
    head: &[u8],
) -> Result<Box<dyn Read + 'a>, DecompressError> {
    let corrupt = |e: io::Error| DecompressError::Corrupt {
        codec: codec.name(),
        msg: e.to_string(),
    };
    Ok(match codec {
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(input))),
        Codec::Brotli => Box::new(brotli::Decompressor::new(input, 64 * 1024)),
        Codec::Zstd => {
            let mut hold = crate::budget::Reservation::new();
            hold.grow(zstd_window(head).min(ZSTD_MAX_WINDOW))?;
            Box::new(Holding {
                inner: zstd::stream::read::Decoder::new(input).map_err(corrupt)?,
                _hold: hold,
            })
        }
    })
}

/// The largest window the zstd decoder accepts (its default `windowLogMax`, 2^27).
const ZSTD_MAX_WINDOW: u64 = 1 << 27;

/// The window a zstd frame declares (RFC 8878 §3.1.1.1): `Window_Descriptor`, or the content
/// size for a single-segment frame. 0 when the header is not there (the decoder will refuse
/// it).
pub fn zstd_window(head: &[u8]) -> u64 {
    let Some(&fhd) = head
        .get(4)
        .filter(|_| head.starts_with(b"\x28\xb5\x2f\xfd"))
    else {
        return 0;
    };
    let single_segment = fhd & 0x20 != 0;
    if !single_segment {
        let Some(&wd) = head.get(5) else { return 0 };
        let log = 10 + u64::from(wd >> 3);
        let base = 1u64 << log.min(63);
        return base + (base / 8) * u64::from(wd & 7);
    }
    // Single segment: Dictionary_ID (0/1/2/4 bytes) then Frame_Content_Size (1/2/4/8 bytes).
    let did = [0usize, 1, 2, 4][usize::from(fhd & 3)];
    let fcs_len = [1usize, 2, 4, 8][usize::from(fhd >> 6)];
    let at = 5 + did;
    let Some(b) = head.get(at..at + fcs_len) else {
        return 0;
    };
    let mut le = [0u8; 8];
    le[..fcs_len].copy_from_slice(b);
    let n = u64::from_le_bytes(le);
    if fcs_len == 2 { n + 256 } else { n }
}

/// A reader that keeps a budget reservation alive as long as itself.
struct Holding<R> {
    inner: R,
    _hold: crate::budget::Reservation,
}

impl<R: Read> Read for Holding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

/// Decompress `input`, refusing to produce more than `limit` bytes. The bytes are charged to
/// the memory budget only while decompressing: for bytes held longer use [`decompress_held`].
pub fn decompress(codec: Codec, input: &[u8], limit: u64) -> Result<Vec<u8>, DecompressError> {
    decompress_held(codec, input, limit).map(|h| h.bytes)
}

/// Decompress `input` into memory charged to the process's budget for as long as the returned
/// [`Held`](crate::budget::Held) lives.
pub fn decompress_held(
    codec: Codec,
    input: &[u8],
    limit: u64,
) -> Result<crate::budget::Held, DecompressError> {
    use crate::budget::ReadError;
    let corrupt = |e: io::Error| DecompressError::Corrupt {
        codec: codec.name(),
        msg: e.to_string(),
    };
    let reader = decoder(codec, input, input)?;
    crate::budget::read_to_end(reader, limit).map_err(|e| match e {
        ReadError::TooLarge(limit) => DecompressError::TooLarge { limit },
        ReadError::Budget(e) => DecompressError::OverBudget(e),
        ReadError::Io(e) => corrupt(e),
    })
}

/// Compress `data` the way precompression plugins do (gzip -9, brotli quality 11, zstd 19).
pub fn compress(codec: Codec, data: &[u8]) -> io::Result<Vec<u8>> {
    match codec {
        Codec::Gzip => {
            let mut e = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::best());
            e.write_all(data)?;
            e.finish()
        }
        Codec::Brotli => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
                w.write_all(data)?;
                w.flush()?;
            }
            Ok(out)
        }
        Codec::Zstd => zstd::stream::encode_all(data, 19),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            Codec::from_name(b"a.js.gz"),
            Some((Codec::Gzip, &b"a.js"[..]))
        );
        assert_eq!(
            Codec::from_name(b"a.map.BR"),
            Some((Codec::Brotli, &b"a.map"[..]))
        );
        assert_eq!(Codec::from_name(b"x.zst"), Some((Codec::Zstd, &b"x"[..])));
        assert_eq!(Codec::from_name(b".gz"), None);
        assert_eq!(Codec::from_name(b"a.tgz"), None);
    }

    #[test]
    fn round_trip_and_determinism() -> io::Result<()> {
        let data = b"console.log(1);\n//# sourceMappingURL=a.js.map\n".repeat(50);
        for c in [Codec::Gzip, Codec::Brotli, Codec::Zstd] {
            let z = compress(c, &data)?;
            assert_eq!(z, compress(c, &data)?, "{c:?} is deterministic");
            assert_eq!(decompress(c, &z, 1 << 20).map_err(io::Error::other)?, data);
        }
        Ok(())
    }

    #[test]
    fn zstd_windows_as_declared() -> io::Result<()> {
        // Window_Descriptor: 2^17 (exponent 7, mantissa 0) and 2^20 + 3/8 (exponent 10, 3).
        assert_eq!(zstd_window(b"\x28\xb5\x2f\xfd\x00\x38"), 1 << 17);
        assert_eq!(
            zstd_window(b"\x28\xb5\x2f\xfd\x00\x53"),
            (1 << 20) + 3 * (1 << 17)
        );
        // Single segment: the content size is the window (1 byte; 2 bytes + 256).
        assert_eq!(zstd_window(b"\x28\xb5\x2f\xfd\x20\xe8"), 232);
        assert_eq!(zstd_window(b"\x28\xb5\x2f\xfd\x60\xe8\x03"), 1000 + 256);
        // What our own encoder writes (level 19, size not pledged): zstd's 8 MiB window.
        let z = compress(Codec::Zstd, &[7u8; 1000])?;
        assert_eq!(zstd_window(&z), 8 << 20);
        assert_eq!(zstd_window(b"junk"), 0);
        Ok(())
    }

    #[test]
    fn bombs_and_junk_are_errors() -> io::Result<()> {
        let zeros = compress(Codec::Gzip, &vec![0u8; 10 << 20])?;
        assert!(matches!(
            decompress(Codec::Gzip, &zeros, 1 << 20),
            Err(DecompressError::TooLarge { .. })
        ));
        for c in [Codec::Gzip, Codec::Brotli, Codec::Zstd] {
            assert!(decompress(c, b"\x00\x01garbage", 1 << 20).is_err() || c == Codec::Brotli);
        }
        Ok(())
    }
}
