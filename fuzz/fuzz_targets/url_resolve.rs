//! `scan::url::resolve(file, url)` never panics, and an `Inside(p)` result is a clean
//! dist-relative path: not empty, no leading `/`, no empty, `.` or `..` segment.
//! Input: first byte = length of `file` (mod the rest's length + 1); then `file`, then `url`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::scan::url::{self, Target};

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let k = k as usize % (rest.len() + 1);
    let (file, u) = rest.split_at(k);
    if let Target::Inside(p) = url::resolve(file, u) {
        assert!(!p.is_empty(), "empty Inside path");
        assert!(!p.starts_with(b"/"), "Inside path starts with /: {p:?}");
        for seg in p.split(|&c| c == b'/') {
            assert!(
                !seg.is_empty() && seg != b"." && seg != b"..",
                "Inside path {:?} has segment {:?}",
                String::from_utf8_lossy(&p),
                String::from_utf8_lossy(seg)
            );
        }
    }
});
