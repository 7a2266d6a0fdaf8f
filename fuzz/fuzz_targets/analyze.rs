//! `scan::analyze(name, data)` never panics, for a file name picked by the first byte, and
//! its references (and those of a decompressed copy) satisfy [`mapvault_fuzz::check_refs`].
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::scan::{self, Analysis};

const NAMES: &[&[u8]] = &[
    b"app.js",
    b"chunk.mjs",
    b"server.cjs",
    b"view.jsx",
    b"lib.ts",
    b"comp.tsx",
    b"index.d.ts",
    b"main.css",
    b"app.js.map",
    b"cli",
    b"data.json",
    b"index.html",
    b"mod.wasm",
    b"_headers",
    b".htaccess",
    b"netlify.toml",
    b"vercel.json",
    b"app.js.gz",
    b"main.css.br",
    b"app.js.zst",
];

fn check(a: &Analysis, bytes: &[u8]) {
    if a.encoding.is_some() {
        // Decoded text (UTF-16, windows-1252): spans are in the original bytes, the pattern
        // holds in the decoded text; the cut property holds on the bytes.
        mapvault_fuzz::check_cut(bytes, &a.refs);
    } else {
        mapvault_fuzz::check_refs(bytes, &a.refs);
    }
    let _ = scan::leaks(a, bytes);
    let _ = a.leaks_anything();
    if let Some(inner) = &a.inner {
        check(&inner.analysis, &inner.bytes);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[sel as usize % NAMES.len()];
    // Small decompression limit: a bomb must be refused, not fill memory.
    let limits = scan::Limits {
        max_decompressed: 1 << 20,
    };
    let a = scan::analyze_with(name, bytes, limits);
    check(&a, bytes);
    let head = &bytes[..bytes.len().min(scan::HEAD_LEN)];
    let _ = scan::head_needs_all(head);
});
