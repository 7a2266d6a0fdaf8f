//! `Journal::parse` then `Journal::check` against a fixed dist and vault never panic, and a
//! journal the check accepts acts only beneath the dist or `VAULT/tmp` with modes a dist file can
//! have — re-derived here independently of the check (see `mapvault_fuzz::journal_property`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mapvault_fuzz::journal_property(data);
});
