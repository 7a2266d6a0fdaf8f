//! `compress::decompress` never panics and never returns more than its limit, for gzip,
//! brotli and zstd picked by the first byte; what it returns compresses and decompresses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::compress::{self, Codec};

const LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let codec = match sel % 3 {
        0 => Codec::Gzip,
        1 => Codec::Brotli,
        _ => Codec::Zstd,
    };
    if let Ok(out) = compress::decompress(codec, input, LIMIT) {
        assert!(out.len() as u64 <= LIMIT);
        if out.len() <= 4096 {
            let again = compress::compress(codec, &out).expect("compresses");
            assert_eq!(
                compress::decompress(codec, &again, LIMIT).expect("round trip"),
                out
            );
        }
    }
});
