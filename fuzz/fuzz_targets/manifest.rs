//! `Manifest::parse` and `Journal::parse` never panic; a manifest that parses serializes and
//! parses back to an equal value (so a seal record survives a rewrite of the manifest).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::vault::journal::Journal;
use mapvault::vault::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data) {
        let json = serde_json::to_vec_pretty(&m).expect("a parsed manifest serializes");
        let back = Manifest::parse(&json).expect("a serialized manifest parses");
        assert_eq!(back, m, "manifest does not round-trip");
    }
    if let Ok(j) = Journal::parse(data) {
        let json = serde_json::to_vec(&j).expect("a parsed journal serializes");
        Journal::parse(&json).expect("a serialized journal parses");
    }
});
