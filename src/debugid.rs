//! Debug IDs (the ECMA-426 debug-ID proposal): derive them exactly as `sentry-cli sourcemaps
//! inject` 3.8 does, find ones already present, and say where the `//# debugId=` comment, the
//! map's `"debugId"` member and Sentry's runtime snippet go. Pure: no I/O.
//!
//! Derivation, read from sentry-cli 3.8.0's source (`src/utils/sourcemaps/inject.rs`) and checked
//! against the binary in `tests/it/debugid.rs`:
//! - a bundle with a map (external, or inline behind exactly `data:application/json;base64,`):
//!   SHA-1 over `"js"`, the bundle's length (u64 little-endian), the bundle's bytes,
//!   `"sourcemap"`, the map's length (u64 LE), the map's bytes (decoded, for an inline map);
//! - otherwise (no map, or one sentry-cli would not find): SHA-1 of the bundle's bytes;
//! - the first 16 bytes of the digest, made an RFC 4122 version-5 UUID, lowercase, hyphenated.
//!
//! An ID already in the map (`debugId`, or legacy `debug_id`) or in the bundle
//! (`//# debugId=`) is reused, never replaced.

use sha1::{Digest, Sha1};

/// The inline-map prefix sentry-cli recognises; any other data URI it treats as a missing map.
pub const SENTRY_DATA_PREAMBLE: &[u8] = b"data:application/json;base64,";

/// Sentry's runtime registration snippet (`@sentry/cli` 3.8.0, `CODE_SNIPPET_TEMPLATE`): at load
/// time it records the bundle's stack-trace URL under its debug ID in `_sentryDebugIds`, which
/// the Sentry SDKs send with every event so the server can pick the map without a URL.
pub const SENTRY_SNIPPET: &str = r#"!function(){try{var e="undefined"!=typeof window?window:"undefined"!=typeof global?global:"undefined"!=typeof globalThis?globalThis:"undefined"!=typeof self?self:{},n=(new e.Error).stack;n&&(e._sentryDebugIds=e._sentryDebugIds||{},e._sentryDebugIds[n]="__SENTRY_DEBUG_ID__")}catch(e){}}();"#;

fn uuid_v5(digest: &[u8]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The ID of a bundle without a map sentry-cli would find.
pub fn of_bundle(js: &[u8]) -> String {
    uuid_v5(&Sha1::digest(js))
}

/// The ID of a bundle and its map (the map's bytes as on disk, or an inline map decoded).
pub fn of_bundle_and_map(js: &[u8], map: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(b"js");
    h.update((js.len() as u64).to_le_bytes());
    h.update(js);
    h.update(b"sourcemap");
    h.update((map.len() as u64).to_le_bytes());
    h.update(map);
    uuid_v5(&h.finalize())
}

/// `s` as a canonical debug ID (lowercase hyphenated UUID), from `xxxxxxxx-xxxx-…` or 32 hex
/// digits in any case, surrounding whitespace ignored; `None` if it is not one. (sentry-cli also
/// accepts an appendix (`…-a`) and braces; those are rare enough to be left out.)
pub fn normalize(s: &str) -> Option<String> {
    let s = s.trim();
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let dashes_ok = s.len() == 32
        || (s.len() == 36
            && s.char_indices()
                .all(|(i, c)| (c == '-') == matches!(i, 8 | 13 | 18 | 23)));
    if hex.len() != 32 || !dashes_ok || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// A top-level `debugId` (or legacy `debug_id`) already in a map's JSON (after an XSSI
/// prefix), canonical; `None` if it has none, it is not a debug ID, or the map is not JSON.
pub fn in_map(map: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Ids {
        #[serde(rename = "debugId")]
        debug_id: Option<serde_json::Value>,
        #[serde(rename = "debug_id")]
        legacy: Option<serde_json::Value>,
    }
    let json = crate::scan::mapsniff::json_start(map)?;
    let ids: Ids = serde_json::from_slice(json).ok()?;
    [ids.debug_id, ids.legacy]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().and_then(normalize))
}

/// The last `//# debugId=` line comment in a bundle (a comment at the start of a line, as
/// injectors write it).
pub fn in_bundle(js: &[u8]) -> Option<String> {
    const NEEDLE: &[u8] = b"//# debugId=";
    let mut end = js.len();
    while let Some(i) = memchr::memmem::rfind(&js[..end], NEEDLE) {
        let at_line_start = i == 0 || matches!(js[i - 1], b'\n' | b'\r');
        if at_line_start {
            let rest = &js[i + NEEDLE.len()..];
            let stop = rest
                .iter()
                .position(|&c| matches!(c, b'\n' | b'\r'))
                .unwrap_or(rest.len());
            if let Some(id) = std::str::from_utf8(&rest[..stop]).ok().and_then(normalize) {
                return Some(id);
            }
        }
        end = i;
    }
    None
}

/// Does the map's top-level object have a `debugId` member at all, whatever its value (a
/// number, `null`, a string that is not an ID)? Keys are compared decoded (`"debug\u0049d"`).
fn has_debug_id_key(json: &[u8]) -> bool {
    use serde::de::IgnoredAny;
    let keys: Result<std::collections::HashMap<std::borrow::Cow<'_, str>, IgnoredAny>, _> =
        serde_json::from_slice(json);
    keys.is_ok_and(|k| k.contains_key("debugId"))
}

/// Where and what to insert into a map's JSON so it carries `"debugId"`: right after the
/// opening `{` of the top-level object (so no other byte moves inside the object). `None` when
/// the map already has a `debugId` member that is not a usable ID (a number, say): inserting
/// another would make a duplicate key, which readers resolve differently (`JSON.parse` takes
/// the last, sentry-cli's serde refuses the map). Such a map gets no copy with an ID; its
/// bundle still gets its `//# debugId=` comment.
pub fn map_insertion(map: &[u8], id: &str) -> Option<(usize, String)> {
    let body = crate::scan::mapsniff::json_start(map)?;
    if has_debug_id_key(body) {
        return None;
    }
    let at = map.len() - body.len() + 1;
    let after = &body[1..];
    let next = after.iter().position(|c| !c.is_ascii_whitespace())?;
    let text = if after[next] == b'}' {
        format!("\"debugId\":\"{id}\"")
    } else {
        format!("\"debugId\":\"{id}\",")
    };
    Some((at, text))
}

/// The comment that names a bundle's debug ID.
pub fn comment(id: &str) -> String {
    format!("//# debugId={id}")
}

/// Sentry's snippet for `id`.
pub fn snippet(id: &str) -> String {
    SENTRY_SNIPPET.replace("__SENTRY_DEBUG_ID__", id)
}

/// The map sentry-cli would pair with a bundle that has no reference comment, by name, in its
/// order: `a.min.js` → `a.map`, `a.min.js.map`, `a.js.map` (only after `min.`), `a.min.map`.
/// `is_map` says whether a dist-relative path is a source map in the dist.
pub fn guess_map(js: &[u8], is_map: &dyn Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let (dir, file) = match js.iter().rposition(|&c| c == b'/') {
        Some(i) => (&js[..=i], &js[i + 1..]),
        None => (&b""[..], js),
    };
    let (base, ext) = match file.iter().position(|&c| c == b'.') {
        Some(i) => (&file[..i], Some(&file[i + 1..])),
        None => (file, None),
    };
    let with = |ext: &[u8]| -> Vec<u8> { [dir, base, b".", ext].concat() };
    let mut candidates = vec![with(b"map")];
    if let Some(ext) = ext {
        candidates.push(with(&[ext, b".map"].concat()));
        if let Some(rest) = ext.strip_prefix(b"min.") {
            candidates.push(with(&[rest, b".map"].concat()));
        }
        if let Some(dot) = ext.iter().rposition(|&c| c == b'.') {
            candidates.push(with(&[&ext[..dot], b".map"].concat()));
        }
    }
    candidates.into_iter().find(|c| is_map(c))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {

    use super::*;

    #[test]
    fn bundle_only_ids_are_sha1_as_uuid_v5() {
        // sha1("") = da39a3ee5e6b4b0d3255bfef95601890afd80709
        assert_eq!(of_bundle(b""), "da39a3ee-5e6b-5b0d-b255-bfef95601890");
    }

    #[test]
    fn pair_ids_hash_lengths_and_tags() {
        let a = of_bundle_and_map(b"ab", b"c");
        assert_ne!(a, of_bundle_and_map(b"a", b"bc"));
        assert_eq!(&a[14..15], "5");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn finds_existing_ids() {
        let id = "3f2c7c51-9d1e-4b7f-8a5e-0123456789ab";
        assert_eq!(
            in_map(format!(r#"{{"version":3,"debugId":"{id}"}}"#).as_bytes()),
            Some(id.into())
        );
        assert_eq!(
            in_map(br#"{"version":3,"debug_id":"3F2C7C519D1E4B7F8A5E0123456789AB"}"#).as_deref(),
            Some(id)
        );
        assert_eq!(in_map(br#"{"version":3}"#), None);
        assert_eq!(in_map(b"not json"), None);
        let js = format!("a()\n//# debugId={id}\n//# sourceMappingURL=a.map\n");
        assert_eq!(in_bundle(js.as_bytes()), Some(id.into()));
        assert_eq!(
            in_bundle(b"x='//# debugId=3f2c7c51-9d1e-4b7f-8a5e-0123456789ab'"),
            None
        );
    }

    #[test]
    fn map_insertion_goes_after_the_brace() {
        let (at, t) = map_insertion(b" {\"version\":3}", "x").unwrap();
        assert_eq!((at, t.as_str()), (2, "\"debugId\":\"x\","));
        let (at, t) = map_insertion(b")]}'\n{ }", "x").unwrap();
        assert_eq!((at, t.as_str()), (6, "\"debugId\":\"x\""));
        assert_eq!(map_insertion(b"[1]", "x"), None);
    }

    #[test]
    fn no_second_debug_id_key_is_ever_inserted() {
        // Regression: a map whose `debugId` is not a string got a second `"debugId"` member.
        for map in [
            &br#"{"version":3,"debugId":5,"mappings":""}"#[..],
            br#"{"version":3,"debugId":null}"#,
            br#"{"version":3,"debugId":"not-an-id"}"#,
            br#"{"version":3,"debug\u0049d":[]}"#,
        ] {
            assert_eq!(in_map(map), None, "{}", String::from_utf8_lossy(map));
            assert_eq!(
                map_insertion(map, "x"),
                None,
                "{}",
                String::from_utf8_lossy(map)
            );
        }
        // The legacy `debug_id` key is another key: `debugId` may still be added.
        assert!(map_insertion(br#"{"version":3,"debug_id":7}"#, "x").is_some());
    }

    #[test]
    fn guesses_like_sentry_cli() {
        let maps: &[&[u8]] = &[b"a/x.min.js.map", b"b/y.map", b"c/z.js.map", b"d/w.min.map"];
        let is_map = |p: &[u8]| maps.contains(&p);
        assert_eq!(
            guess_map(b"a/x.min.js", &is_map).unwrap(),
            b"a/x.min.js.map"
        );
        assert_eq!(guess_map(b"b/y.js", &is_map).unwrap(), b"b/y.map");
        assert_eq!(guess_map(b"c/z.min.js", &is_map).unwrap(), b"c/z.js.map");
        assert_eq!(guess_map(b"d/w.min.js", &is_map).unwrap(), b"d/w.min.map");
        assert_eq!(guess_map(b"e/v.js", &is_map), None);
    }
}
