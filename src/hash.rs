//! Hashing helpers shared by every layer: sha256 as lowercase hex, of bytes or streamed from a
//! reader. Content addressing (vault object names), change detection (a file is only touched if
//! it still hashes as planned) and lookups by a deployed file's bytes all go through here.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Finish a hasher as lowercase hex.
pub fn hex_digest(h: Sha256) -> String {
    hex::encode(h.finalize())
}

/// Is `s` a lowercase hex sha256 (64 characters)?
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

const CHUNK: usize = 256 * 1024;

thread_local! {
    /// One read buffer per thread for [`hash_reader`]: a fresh 256 KiB buffer per file cost a
    /// zeroing memset (and page faults) per map, ~3 GB of memset on a 12,000-map dist.
    static HASH_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Stream `r` through sha256. Returns `(hex, bytes read)`.
pub fn hash_reader(r: &mut dyn Read) -> io::Result<(String, u64)> {
    HASH_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < CHUNK {
                buf.resize(CHUNK, 0);
            }
            hash_with(r, &mut buf)
        }
        // Only reachable through re-entrancy, which `hash_with` never does.
        Err(_) => hash_with(r, &mut vec![0u8; CHUNK]),
    })
}

fn hash_with(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut total = 0u64;
    loop {
        let n = match r.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex_digest(h), total))
}
