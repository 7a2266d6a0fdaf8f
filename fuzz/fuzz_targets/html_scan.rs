//! `scan::html::scan` never panics; its references satisfy [`mapvault_fuzz::check_refs`] (they
//! sit in bytes that are exactly the script's text), and every body lies inside the document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::scan::html;

fuzz_target!(|data: &[u8]| {
    for b in html::bodies(data) {
        assert!(b.start <= b.end && b.end <= data.len(), "body {}..{} out of bounds", b.start, b.end);
        for p in b.pieces.iter().flatten() {
            assert!(p.raw.start <= p.raw.end && p.raw.end <= data.len());
        }
    }
    let s = html::scan(data);
    mapvault_fuzz::check_refs(data, &s.refs);
    for l in &s.literals {
        assert!(l.raw.start <= l.raw.end && l.raw.end <= data.len());
    }
});
