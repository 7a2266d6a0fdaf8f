//! `scan::mapsniff::sniff` never panics (nor overflows the stack on nested JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::scan::mapsniff;

fuzz_target!(|data: &[u8]| {
    let s = mapsniff::sniff(data);
    if mapsniff::json_start(data).is_none() {
        assert_eq!(s, mapsniff::Sniff::NotJson);
    }
});
