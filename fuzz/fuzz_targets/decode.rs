//! `scan::encoding::decode` never panics; the decoded text is UTF-8 and maps back to original
//! offsets in order, ending at the original length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::scan::encoding;

fuzz_target!(|data: &[u8]| {
    let Some(d) = encoding::decode(data) else {
        assert!(std::str::from_utf8(data).is_ok() && !data.starts_with(b"\xff\xfe") && !data.starts_with(b"\xfe\xff"));
        return;
    };
    let text = std::str::from_utf8(&d.text).expect("decoded text is UTF-8");
    let mut last = 0;
    for (k, _) in text.char_indices().chain([(text.len(), ' ')]) {
        let r = d.original(0..k);
        assert_eq!(r.start, d.original(0..0).start);
        assert!(r.end >= last && r.end <= data.len(), "offset {k} maps to {} after {last}", r.end);
        last = r.end;
    }
    assert_eq!(d.original(0..d.text.len()).end, data.len());
});
