//! Is this file a source map, whatever its name? A cheap content check.
//!
//! A source map is JSON whose top level has `mappings` and `sources` (a regular map) or
//! `sections` (an index map), optionally behind the `)]}'` anti-XSSI first line that ECMA-426
//! tells consumers to skip. The check strips a BOM and white space, requires `{`, rejects files
//! that do not even contain the key names (a `memmem`, at tens of GB/s), and only then validates
//! the JSON without building values (`IgnoredAny`). serde_json's recursion limit turns absurdly
//! nested input into an error, never a stack overflow.

use memchr::memmem;
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// A regular source map.
    Map,
    /// An index map (`sections`).
    IndexMap,
    /// Valid JSON object, but not a source map.
    NotMap,
    /// Does not start like JSON, or is not valid JSON.
    NotJson,
}

impl Sniff {
    pub fn is_map(self) -> bool {
        matches!(self, Sniff::Map | Sniff::IndexMap)
    }
}

/// Which of the keys that matter a top-level object has, read the way `JSON.parse` reads it:
/// key names decoded (`"m\u0061ppings"` is `mappings`) and duplicate keys allowed (a derived
/// `Deserialize` would reject them as an error, and the map would pass for "not JSON").
#[derive(Default)]
struct Probe {
    mappings: bool,
    sources: bool,
    sections: bool,
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Probe;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Probe, A::Error> {
                let mut p = Probe::default();
                while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    m.next_value::<IgnoredAny>()?;
                    match &*k {
                        "mappings" => p.mappings = true,
                        "sources" => p.sources = true,
                        "sections" => p.sections = true,
                        _ => {}
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_map(V)
    }
}

/// The JSON text of a would-be map: after a UTF-8 BOM, leading white space and an optional
/// `)]}'` first line. `None` unless what remains starts with `{`.
pub fn json_start(bytes: &[u8]) -> Option<&[u8]> {
    let mut b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    b = b.trim_ascii_start();
    if let Some(rest) = b.strip_prefix(b")]}'") {
        let nl = memchr::memchr(b'\n', rest)?;
        b = rest[nl + 1..].trim_ascii_start();
    }
    (b.first() == Some(&b'{')).then_some(b)
}

/// Classify `bytes`.
pub fn sniff(bytes: &[u8]) -> Sniff {
    let Some(json) = json_start(bytes) else {
        return Sniff::NotJson;
    };
    let has = |k: &[u8]| memmem::find(json, k).is_some();
    // A key may be spelled with escapes: then only the parse can tell.
    let plausible =
        (has(b"\"mappings\"") && has(b"\"sources\"")) || has(b"\"sections\"") || has(b"\\u");
    let mut it = serde_json::Deserializer::from_slice(json).into_iter::<Probe>();
    match it.next() {
        Some(Ok(p)) if plausible => {
            if p.sections && !p.mappings {
                Sniff::IndexMap
            } else if p.mappings && p.sources {
                // `version` is not required here: a scanner errs towards flagging.
                Sniff::Map
            } else {
                Sniff::NotMap
            }
        }
        Some(Ok(_)) => Sniff::NotMap,
        _ => Sniff::NotJson,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_maps() {
        assert_eq!(
            sniff(br#"{"version":3,"sources":["a.js"],"mappings":"AAAA"}"#),
            Sniff::Map
        );
        assert_eq!(
            sniff(b"\xef\xbb\xbf  {\"mappings\":\"\",\"sources\":[]}"),
            Sniff::Map
        );
        assert_eq!(
            sniff(b")]}'\n{\"version\":3,\"sources\":[],\"mappings\":\"\"}"),
            Sniff::Map
        );
        assert_eq!(sniff(br#"{"version":3,"sections":[]}"#), Sniff::IndexMap);
        assert_eq!(
            sniff(br#"{"version":3,"sources":[],"mappings":""} trailing"#),
            Sniff::Map
        );
    }

    #[test]
    fn reads_maps_as_json_parse_does() {
        // Duplicate keys (last wins in JSON.parse; a derived Deserialize rejected them).
        assert_eq!(
            sniff(br#"{"version":3,"sources":[],"mappings":"A","mappings":"AAAA"}"#),
            Sniff::Map
        );
        // Escaped key names.
        assert_eq!(
            sniff(br#"{"version":3,"s\u006furces":["a"],"m\u0061ppings":"AAAA"}"#),
            Sniff::Map
        );
        // Any amount of leading white space, a BOM, the XSSI prefix.
        let ws = format!(
            "{}{{\"sources\":[],\"mappings\":\"\"}}",
            " \n\t\r".repeat(5000)
        );
        assert_eq!(sniff(ws.as_bytes()), Sniff::Map);
        assert!(super::super::head_needs_all(
            &ws.as_bytes()[..super::super::HEAD_LEN]
        ));
        assert_eq!(
            sniff(b"\xef\xbb\xbf)]}'\n  {\"sources\":[],\"mappings\":\"\"}"),
            Sniff::Map
        );
    }

    #[test]
    fn rejects_other_json_and_junk() {
        assert_eq!(sniff(br#"{"name":"pkg","version":"1.0.0"}"#), Sniff::NotMap);
        assert_eq!(sniff(br#"{"mappings":"x"}"#), Sniff::NotMap);
        assert_eq!(sniff(br#"{"sources": ["mappings"]}"#), Sniff::NotMap);
        assert_eq!(sniff(b"[1,2]"), Sniff::NotJson);
        assert_eq!(sniff(b"{\"mappings\":\"\",\"sources\":["), Sniff::NotJson);
        assert_eq!(sniff(b""), Sniff::NotJson);
        assert_eq!(sniff(b"\x00\x01\x02"), Sniff::NotJson);
        // Deeply nested values are skipped without recursion (serde_json ignores them
        // iteratively): an answer, never a stack overflow.
        let deep = format!(
            "{{\"sources\":[],\"mappings\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(sniff(deep.as_bytes()), Sniff::Map);
        let deep_key = format!("{{\"x\":{}", "[".repeat(100_000));
        assert_eq!(sniff(deep_key.as_bytes()), Sniff::NotJson);
    }
}
