//! `scan::datauri::decode` never panics; when a base64 URI decodes and `canonical_prefix`
//! says it is canonical, `prefix + base64(data)` reproduces the URI byte for byte and decodes
//! back to the same value.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use mapvault::scan::datauri;

fuzz_target!(|data: &[u8]| {
    let _ = datauri::is_data_uri(data);
    let Ok(d) = datauri::decode(data) else {
        return;
    };
    if !d.base64 {
        return;
    }
    if let Some(prefix) = datauri::canonical_prefix(data, &d.data) {
        let mut rebuilt = data[..prefix].to_vec();
        rebuilt.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(&d.data)
                .as_bytes(),
        );
        assert!(rebuilt == data, "re-encoding does not reproduce the URI");
        assert_eq!(datauri::decode(&rebuilt).as_ref(), Ok(&d));
    }
});
