//! The v2 vault files' loaders — `seals::parse_record`, `seals::parse_unsealed`,
//! `seals::parse_marker` and `index::SealIndex::parse` — on the same bytes: never a panic, and
//! what is accepted names the seal and survives serialize → parse (see
//! `mapvault_fuzz::vault_files_property`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mapvault_fuzz::vault_files_property(data);
});
