//! `scan::css::scan` never panics and its references satisfy [`mapvault_fuzz::check_refs`]
//! (all block comments).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::scan::css;
use mapvault::scan::js::Form;

fuzz_target!(|data: &[u8]| {
    let refs = css::scan(data);
    assert!(
        refs.iter().all(|r| r.form == Form::BlockComment),
        "CSS has only block comments"
    );
    mapvault_fuzz::check_refs(data, &refs);
});
