//! `scan::headers::scan_file` never panics, in memory bounded whatever the nesting; its cuts
//! are in bounds, sorted and disjoint; and when they are offered as fixable, the file with them
//! applied declares no map header any more.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::scan::headers::{self, HeaderFile};

const KINDS: [HeaderFile; 4] = [
    HeaderFile::Lines,
    HeaderFile::Htaccess,
    HeaderFile::NetlifyToml,
    HeaderFile::Json,
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, src)) = data.split_first() else {
        return;
    };
    let kind = KINDS[sel as usize % KINDS.len()];
    let s = headers::scan_file(kind, src);
    let mut at = 0;
    for r in &s.refs {
        assert!(r.cut.start >= at && r.cut.end <= src.len(), "cut {:?} after {at}", r.cut);
        assert!(r.url.end <= src.len() && r.url.start <= r.url.end);
        at = r.cut.end;
    }
    if !s.refs.is_empty() && s.refs.iter().all(|r| r.fixable) {
        let mut after = Vec::new();
        let mut pos = 0;
        for r in &s.refs {
            after.extend_from_slice(&src[pos..r.cut.start]);
            pos = r.cut.end;
        }
        after.extend_from_slice(&src[pos..]);
        let again = headers::scan(kind, &after);
        assert!(again.is_empty(), "{kind:?}: cuts left {} headers", again.len());
    }
});
