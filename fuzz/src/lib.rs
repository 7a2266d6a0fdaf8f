//! Shared checks for mapvault's fuzz targets: the properties every reference list from a
//! scanner must have, whatever the input.

use std::ops::Range;

use mapvault::scan::js::{Form, Reference};
use mapvault::scan::embedded::wrapped_data_uri;
use mapvault::scan::pattern::{line_of, line_terminator_len, match_source_map_url};

/// The text the ECMA-426 pattern is applied to: what follows `//`, or what sits between `/*`
/// and `*/` (to the end of the span when a block comment is unterminated).
pub fn comment_text(src: &[u8], span: &Range<usize>, block: bool) -> Range<usize> {
    let s = &src[span.clone()];
    if block && s.len() >= 4 && s.ends_with(b"*/") {
        span.start + 2..span.end - 2
    } else {
        span.start + 2..span.end
    }
}

/// Spans must be in bounds, sorted and non-overlapping and hold their URL. Comment references
/// must also start with `//` or `/*` (matching their form), match the pattern exactly at that
/// URL and carry the right line; a line comment never contains a line terminator and a closed
/// block comment never contains an earlier `*/`. Other forms (WebAssembly sections, header
/// lines) get the bounds, order and cut checks only.
pub fn check_refs(src: &[u8], refs: &[Reference]) {
    let mut prev_end = 0usize;
    for (i, r) in refs.iter().enumerate() {
        let span = &r.span;
        assert!(
            span.start < span.end && span.end <= src.len(),
            "ref {i}: span {span:?} out of bounds (len {})",
            src.len()
        );
        assert!(
            span.start >= prev_end,
            "ref {i}: span {span:?} overlaps or precedes the previous one (ended at {prev_end})"
        );
        prev_end = span.end;
        assert!(
            span.start <= r.url.start && r.url.start <= r.url.end && r.url.end <= span.end,
            "ref {i}: url {:?} not inside span {span:?}",
            r.url
        );
        // What seal leaves in place of the comment holds no token: white space and line
        // breaks, at most wrapped in an empty CSS comment.
        let fill = r.fill.strip_prefix("/*").and_then(|f| f.strip_suffix("*/")).unwrap_or(&r.fill);
        // (A UTF-16 file's fill is its code units spelled as bytes: not checked here.)
        let utf16 = src.starts_with(b"\xff\xfe") || src.starts_with(b"\xfe\xff");
        assert!(
            utf16 || fill.chars().all(|c| matches!(c, ' ' | '\n' | '\r' | '\x0c' | '\u{2028}' | '\u{2029}')),
            "ref {i}: fill {:?} is not white space",
            r.fill
        );
        let block = match r.form {
            Form::LineComment => false,
            Form::BlockComment => true,
            Form::WasmSection | Form::Header => continue,
        };
        let text = &src[span.clone()];
        let opener: &[u8] = if block { b"/*" } else { b"//" };
        assert!(
            text.starts_with(opener),
            "ref {i}: span {span:?} does not start with {:?} ({:?})",
            String::from_utf8_lossy(opener),
            r.form
        );
        let inner = comment_text(src, span, block);
        let want = Some(r.url.start - inner.start..r.url.end - inner.start);
        // A base64 `data:` URI wrapped across lines counts in a block comment.
        let m = match_source_map_url(&src[inner.clone()])
            .filter(|m| Some(m) == want.as_ref())
            .or_else(|| block.then(|| wrapped_data_uri(&src[inner.clone()])).flatten());
        assert_eq!(
            m,
            want,
            "ref {i}: comment text {:?} does not match the pattern at url {:?}",
            String::from_utf8_lossy(&src[inner.clone()]),
            r.url
        );
        if block {
            if text.len() >= 4 && text.ends_with(b"*/") {
                assert!(
                    memchr::memmem::find(&text[2..text.len() - 2], b"*/").is_none(),
                    "ref {i}: block comment {span:?} contains an earlier */"
                );
            }
        } else {
            assert!(
                (0..text.len()).all(|k| line_terminator_len(text, k) == 0),
                "ref {i}: line comment {span:?} contains a line terminator"
            );
        }
        assert_eq!(r.line, line_of(src, span.start), "ref {i}: wrong line");
    }
    check_cut(src, refs);
}

/// Removing the spans changes no byte outside them: cutting them out back to front (as an
/// in-place editor would) gives exactly the concatenation of the gaps between them, and the
/// lengths add up.
pub fn check_cut(src: &[u8], refs: &[Reference]) {
    let mut gaps = Vec::with_capacity(src.len());
    let mut at = 0;
    for r in refs {
        gaps.extend_from_slice(&src[at..r.span.start]);
        at = r.span.end;
    }
    gaps.extend_from_slice(&src[at..]);

    let mut cut = src.to_vec();
    for r in refs.iter().rev() {
        cut.drain(r.span.clone());
    }
    let removed: usize = refs.iter().map(|r| r.span.len()).sum();
    assert_eq!(cut.len() + removed, src.len(), "cut length does not add up");
    assert!(cut == gaps, "cutting the spans changed bytes outside them");
}

/// The dist and vault the `journal` target checks journals against.
pub const FUZZ_DIST: &str = "/fuzz/dist";
pub const FUZZ_VAULT: &str = "/fuzz/vault";

/// The `journal` target's property: parsing and checking never panic, and a journal that
/// [`Journal::check`](mapvault::vault::journal::Journal::check) accepts for [`FUZZ_DIST`] and
/// [`FUZZ_VAULT`] names that dist and vault, has step paths that are plain relative paths
/// (no `..`, `.`, empty or absolute component), temps that are one name in `VAULT/tmp` or a
/// `.mapvault-*.tmp` beneath the dist, vault objects named by 64 hex digits, and modes of
/// permission bits only, never world-writable. It also survives serialize → parse → check.
pub fn journal_property(data: &[u8]) {
    use mapvault::vault::journal::{Journal, Step};
    use mapvault::vault::manifest::{Bytes, Stored};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Component, Path};

    let Ok(j) = Journal::parse(data) else {
        return;
    };
    let (dist, vault) = (Path::new(FUZZ_DIST), Path::new(FUZZ_VAULT));
    if j.check(dist, vault).is_err() {
        return;
    }
    assert_eq!(j.dist.to_path(), dist);
    assert_eq!(j.vault.to_path(), vault);
    let plain = |p: &Path| {
        !p.as_os_str().is_empty()
            && p.components().all(|c| matches!(c, Component::Normal(_)))
            && !p.as_os_str().as_encoded_bytes().contains(&0)
    };
    let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let tmp = vault.join("tmp");
    for s in &j.steps {
        let rel = s.path().lossy();
        let bytes = s.path().as_bytes();
        let p = Path::new(std::ffi::OsStr::from_bytes(bytes));
        assert!(
            plain(p) && !bytes.starts_with(b"/") && !bytes.windows(2).any(|w| w == b"//"),
            "accepted step path {rel:?}"
        );
        if let Some(t) = s.temp() {
            let t = t.to_path();
            if !t.as_os_str().is_empty() {
                let in_tmp = t.parent() == Some(tmp.as_path())
                    && t.file_name().is_some_and(|n| plain(Path::new(n)));
                let in_dist = t.strip_prefix(dist).is_ok_and(|r| {
                    plain(r)
                        && r.file_name().is_some_and(|n| {
                            let n = n.as_encoded_bytes();
                            n.starts_with(b".mapvault-") && n.ends_with(b".tmp")
                        })
                });
                assert!(in_tmp || in_dist, "accepted temp {}", t.display());
            }
        }
        let object = |o: &Stored| assert!(hex(o.sha()), "accepted object {o:?}");
        let mode = |m: u32| assert!(m & !0o777 == 0 && m & 0o002 == 0, "accepted mode {m:o}");
        match s {
            Step::StoreInline { sha256, .. }
            | Step::StoreWithDebugId { sha256, .. }
            | Step::StoreBlob { sha256, .. }
            | Step::StoreDecoded { sha256, .. } => assert!(hex(sha256)),
            Step::CopyIn { to, .. } | Step::RenameIn { to, .. } => object(to),
            Step::Unlink { object: o, .. } => object(o),
            Step::MakeDir { mode: m, .. } => mode(*m),
            Step::Restore { from, mode: m, .. } => {
                object(from);
                mode(*m);
            }
            Step::Unedit { edits, mode: m, .. } => {
                mode(*m);
                for e in edits {
                    match &e.removed {
                        Bytes::Blob(b) => assert!(hex(b)),
                        Bytes::InlineMap { map, .. } => assert!(hex(map)),
                        Bytes::Text(_) | Bytes::Base64(_) => {}
                    }
                }
            }
            Step::Recompress { .. } | Step::Edit { .. } | Step::RemoveDir { .. } => {}
        }
    }
    let json = serde_json::to_vec(&j).expect("a parsed journal serializes");
    let back = Journal::parse(&json).expect("a serialized journal parses");
    assert!(
        back.check(dist, vault).is_ok(),
        "a checked journal checks again"
    );
}

/// The seal id the `vault_files` target reads its input as the files of.
pub const FUZZ_SEAL: &str = "seal-20261204T000000.000Z-0badc0de";

/// The `vault_files` target's property: the same bytes read as each v2 vault file
/// (`seals/<id>.json`, `seals/<id>.unsealed.json`, `vault.json`, `index/<id>.json`) never
/// panic; what is accepted names [`FUZZ_SEAL`], a record passes `validate`, and a record,
/// marker or index survives serialize → parse unchanged.
pub fn vault_files_property(data: &[u8]) {
    use mapvault::vault::index::SealIndex;
    use mapvault::vault::seals::{self, LAYOUT_VERSION, RECORD_FORMAT};
    use std::path::Path;

    let p = Path::new("/fuzz/vault/seals/x.json");
    if let Ok(rec) = seals::parse_record(p, FUZZ_SEAL, data) {
        assert_eq!(rec.id, FUZZ_SEAL);
        assert!(rec.validate().is_ok());
        let again = serde_json::to_vec(&serde_json::json!({
            "format": RECORD_FORMAT, "version": LAYOUT_VERSION, "seal": rec,
        }))
        .expect("a record serializes");
        let back = seals::parse_record(p, FUZZ_SEAL, &again).expect("re-serialized record parses");
        assert_eq!(back, rec);
    }
    if let Ok(m) = seals::parse_unsealed(p, FUZZ_SEAL, data) {
        assert_eq!(m.seal, FUZZ_SEAL);
        let again = serde_json::to_vec(&m).expect("a marker serializes");
        let back = seals::parse_unsealed(p, FUZZ_SEAL, &again).expect("re-serialized marker parses");
        assert_eq!(back.run, m.run);
        assert_eq!(back.dist, m.dist);
    }
    let _ = seals::parse_marker(p, data);
    if let Ok(ix) = SealIndex::parse(FUZZ_SEAL, data) {
        assert_eq!(ix.id, FUZZ_SEAL);
        let again = ix.to_bytes().expect("an index serializes");
        assert_eq!(SealIndex::parse(FUZZ_SEAL, &again), Ok(ix));
    }
}

#[cfg(test)]
mod tests {
    /// The `journal` target's body over its committed seeds (runs without nightly:
    /// `cargo test` in `fuzz/`); the seeds include accepted journals, so the property's
    /// assertions are exercised, not only the refusals.
    /// The `vault_files` seeds (a real record, unsealed marker, vault.json and index of a
    /// seal renamed to `FUZZ_SEAL`) hold the property, and the record and index are accepted.
    #[test]
    fn vault_files_seeds_hold_the_property() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/vault_files");
        let (mut records, mut indexes) = (0, 0);
        for e in std::fs::read_dir(&dir).expect("seeds/vault_files") {
            let bytes = std::fs::read(e.expect("entry").path()).expect("seed");
            super::vault_files_property(&bytes);
            let p = std::path::Path::new("x");
            records += usize::from(
                mapvault::vault::seals::parse_record(p, super::FUZZ_SEAL, &bytes).is_ok(),
            );
            indexes += usize::from(
                mapvault::vault::index::SealIndex::parse(super::FUZZ_SEAL, &bytes).is_ok(),
            );
        }
        assert!(records >= 1 && indexes >= 1, "{records} records, {indexes} indexes");
    }

    #[test]
    fn journal_seeds_hold_the_property() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/journal");
        let mut accepted = 0;
        for e in std::fs::read_dir(&dir).expect("seeds/journal") {
            let bytes = std::fs::read(e.expect("entry").path()).expect("seed");
            super::journal_property(&bytes);
            let ok = mapvault::vault::journal::Journal::parse(&bytes).is_ok_and(|j| {
                j.check(
                    std::path::Path::new(super::FUZZ_DIST),
                    std::path::Path::new(super::FUZZ_VAULT),
                )
                .is_ok()
            });
            accepted += usize::from(ok);
        }
        assert!(
            accepted >= 2,
            "the seeds hold accepted journals ({accepted})"
        );
    }
}
