//! Probing for maps: which URL to guess for an asset (`<asset>.map`), and whether what came
//! back **is a source map by content** — the only thing that makes a probe answer a leak. An
//! SPA's `index.html` answered with 200, a JSON error, a 403 or 404 page are not maps, so they
//! are not leaks, whatever their status says.
//!
//! A probe reads at most [`PROBE_CAP`] bytes: enough to tell, without downloading every map of
//! a site whole. A body that fits is judged by [`crate::scan::mapsniff::sniff`], the check
//! `verify` uses for files. A longer one is judged by its start: it is a map when that start
//! is a valid prefix of a JSON object (the parser stops at the end of the data, not at an
//! error) that names `sources`, `mappings` or `sections` as keys.

use crate::scan::mapsniff::{self, Sniff};

/// Bytes of a probe answer read to judge it.
pub const PROBE_CAP: u64 = 1 << 20;

/// What a probe answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A source map. `partial`: judged by its first [`PROBE_CAP`] bytes.
    Map {
        index: bool,
        partial: bool,
    },
    NotMap,
}

impl Verdict {
    pub fn is_map(self) -> bool {
        matches!(self, Verdict::Map { .. })
    }

    pub fn message(self) -> &'static str {
        match self {
            Verdict::Map {
                index: false,
                partial: false,
            } => "source map served (by content)",
            Verdict::Map {
                index: true,
                partial: false,
            } => "source map served (by content; an index map)",
            Verdict::Map { partial: true, .. } => {
                "source map served (by content, judged on its first MiB)"
            }
            Verdict::NotMap => "not a source map",
        }
    }
}

/// Judge a probe answer's body; `truncated` when only its start was read.
pub fn judge(body: &[u8], truncated: bool) -> Verdict {
    if !truncated {
        return match mapsniff::sniff(body) {
            Sniff::Map => Verdict::Map {
                index: false,
                partial: false,
            },
            Sniff::IndexMap => Verdict::Map {
                index: true,
                partial: false,
            },
            Sniff::NotMap | Sniff::NotJson => Verdict::NotMap,
        };
    }
    let Some(json) = mapsniff::json_start(body) else {
        return Verdict::NotMap;
    };
    let mut it = serde_json::Deserializer::from_slice(json).into_iter::<serde::de::IgnoredAny>();
    let valid_prefix = match it.next() {
        Some(Err(e)) => e.is_eof(),
        // The whole object fits in the part read: judge it as a complete document.
        Some(Ok(_)) => return judge(json, false),
        None => false,
    };
    let has = |k: &[u8]| memchr::memmem::find(json, k).is_some();
    if valid_prefix && (has(b"\"sources\"") || has(b"\"mappings\"") || has(b"\"sections\"")) {
        Verdict::Map {
            index: has(b"\"sections\""),
            partial: true,
        }
    } else {
        Verdict::NotMap
    }
}

/// `<asset>.map`: the asset's URL with `.map` after its path (query and fragment dropped, as
/// scrapers do). `None` for a URL whose path ends in `/`.
pub fn suffix_url(asset: &url::Url) -> Option<url::Url> {
    if asset.path().ends_with('/') || asset.path().ends_with(".map") {
        return None;
    }
    let mut u = asset.clone();
    u.set_query(None);
    u.set_fragment(None);
    let path = format!("{}.map", u.path());
    u.set_path(&path);
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &[u8] = br#"{"version":3,"file":"a.js","sources":["a.ts"],"sourcesContent":["let a = 1;"],"names":[],"mappings":"AAAA"}"#;

    #[test]
    fn maps_by_content_only() {
        assert!(judge(MAP, false).is_map());
        assert!(
            judge(
                br#")]}'
{"version":3,"sections":[]}"#,
                false
            )
            .is_map()
        );
        for not in [
            &b"<!doctype html><html><script type=module src=/assets/index.js></script>"[..],
            b"Not Found",
            br#"{"error":"not found","sources":"none"}"#,
            b"",
        ] {
            assert_eq!(
                judge(not, false),
                Verdict::NotMap,
                "{}",
                String::from_utf8_lossy(not)
            );
        }
    }

    #[test]
    fn a_long_map_is_judged_by_its_start() {
        let mut long = br#"{"version":3,"sources":["a.ts"],"sourcesContent":[""#.to_vec();
        long.extend(std::iter::repeat_n(b'x', 2000));
        assert_eq!(
            judge(&long, true),
            Verdict::Map {
                index: false,
                partial: true
            }
        );
        // Broken JSON, or JSON that is not a map, is not one however long.
        let mut broken = br#"{"version":3,"sources":["a.ts"]]]"#.to_vec();
        broken.extend(std::iter::repeat_n(b'x', 2000));
        assert_eq!(judge(&broken, true), Verdict::NotMap);
        let mut other = br#"{"items":["#.to_vec();
        other.extend(std::iter::repeat_n(b'1', 2000));
        assert_eq!(judge(&other, true), Verdict::NotMap);
        let mut html = b"<!doctype html>".to_vec();
        html.extend(std::iter::repeat_n(b' ', 2000));
        assert_eq!(judge(&html, true), Verdict::NotMap);
    }

    #[test]
    fn suffix_urls() {
        let u = |s: &str| url::Url::parse(s).ok();
        assert_eq!(
            u("https://x.test/assets/a.js?v=1#h")
                .as_ref()
                .and_then(suffix_url),
            u("https://x.test/assets/a.js.map")
        );
        assert_eq!(u("https://x.test/app/").as_ref().and_then(suffix_url), None);
    }
}
