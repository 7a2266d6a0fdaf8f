//! `scan::js::scan` never panics, its references satisfy [`mapvault_fuzz::check_refs`], and
//! when it took the trailing-region fast path on a program oxc parses cleanly, the parser
//! tier (`scan_slow`) reports exactly the same references.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::scan::js::{self, Flavor, Method};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, src)) = data.split_first() else {
        return;
    };
    let flavor = match sel % 8 {
        0 | 7 => Flavor::Js,
        1 => Flavor::Module,
        2 => Flavor::Script,
        3 => Flavor::Jsx,
        4 => Flavor::Ts,
        5 => Flavor::Tsx,
        _ => Flavor::Dts,
    };
    let fast = js::scan(src, flavor);
    mapvault_fuzz::check_refs(src, &fast.refs);
    if fast.method == Method::Trailing && std::str::from_utf8(src).is_ok() {
        let slow = js::scan_slow(src, flavor);
        if slow.method == Method::Parsed {
            assert_eq!(
                fast.refs, slow.refs,
                "trailing fast path and parser disagree ({flavor:?})"
            );
        }
    }
});
