//! Precompressed copies (`x.js.gz`, `x.js.br`, `x.js.zst`, `x.map.gz`…): recognising them,
//! decompressing them with a hard size limit (a decompression bomb is an error, never an
//! out-of-memory kill), and compressing sealed bytes again in the same format.
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
    #[error(
        "decompresses to more than {limit} bytes (decompression bomb?); raise --max-decompressed to scan it"
    )]
    TooLarge { limit: u64 },
    #[error("not valid {codec} data: {msg}")]
    Corrupt { codec: &'static str, msg: String },
}

/// Default cap on the decompressed size of one file or archive member.
pub const DEFAULT_LIMIT: u64 = 1 << 30;

/// Decompress `input`, refusing to produce more than `limit` bytes.
pub fn decompress(codec: Codec, input: &[u8], limit: u64) -> Result<Vec<u8>, DecompressError> {
    let corrupt = |e: io::Error| DecompressError::Corrupt {
        codec: codec.name(),
        msg: e.to_string(),
    };
    let reader = decoder(codec, input).map_err(corrupt)?;
    read_limited(reader, limit).map_err(|e| match e {
        LimitedError::TooLarge => DecompressError::TooLarge { limit },
        LimitedError::Io(e) => corrupt(e),
    })
}

/// A reader that decodes `codec` from `input` as it is read: for streams (HTTP bodies with a
/// `Content-Encoding`) whose caller caps how much it reads.
pub fn decoder<'a>(codec: Codec, input: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match codec {
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Codec::Brotli => Box::new(brotli::Decompressor::new(input, 64 * 1024)),
        Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
    })
}

pub enum LimitedError {
    TooLarge,
    Io(io::Error),
}

/// Read everything from `r`, failing once more than `limit` bytes come out.
pub fn read_limited(r: impl Read, limit: u64) -> Result<Vec<u8>, LimitedError> {
    let mut out = Vec::new();
    let n = r
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(LimitedError::Io)?;
    if n as u64 > limit {
        return Err(LimitedError::TooLarge);
    }
    Ok(out)
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
