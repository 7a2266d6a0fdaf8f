//! Decoding `data:` URIs found in reference comments (inline source maps).
//!
//! Follows the WHATWG data-URL processing model closely enough for source maps: the body is
//! percent-decoded first, then, if the media type ends in `;base64`, decoded with forgiving
//! base64 (ASCII white space removed, padding optional). Works on bytes; never panics.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A decoded `data:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUri {
    /// Media type with parameters as written (e.g. `application/json;charset=utf-8`).
    pub media_type: String,
    pub base64: bool,
    pub data: Vec<u8>,
}

/// Why a `data:` URI could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataUriError {
    #[error("not a data: URI")]
    NotData,
    #[error("data: URI has no comma")]
    NoComma,
    #[error("invalid base64 in data: URI: {0}")]
    Base64(String),
}

/// True when `url` starts with `data:` (ASCII case-insensitive).
pub fn is_data_uri(url: &[u8]) -> bool {
    url.len() >= 5 && url[..5].eq_ignore_ascii_case(b"data:")
}

const FORGIVING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decode a `data:` URI.
pub fn decode(url: &[u8]) -> Result<DataUri, DataUriError> {
    if !is_data_uri(url) {
        return Err(DataUriError::NotData);
    }
    let rest = &url[5..];
    let comma = memchr::memchr(b',', rest).ok_or(DataUriError::NoComma)?;
    let header = String::from_utf8_lossy(&rest[..comma]).into_owned();
    let body: Vec<u8> = percent_encoding::percent_decode(&rest[comma + 1..]).collect();
    let trimmed = header.trim_end_matches([' ', '\t']);
    // Compare bytes: the header is lossy UTF-8, so its last 7 bytes may start inside a
    // character. When they match, the cut falls on the ASCII `;`, a character boundary.
    let is_b64 = base64_header(trimmed.as_bytes());
    let media_type = if is_b64 {
        trimmed[..trimmed.len() - 7].to_string()
    } else {
        header.clone()
    };
    let data = if is_b64 {
        let clean: Vec<u8> = body
            .into_iter()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        FORGIVING
            .decode(&clean)
            .or_else(|_| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(clean.trim_ascii_end_eq())
            })
            .map_err(|e| DataUriError::Base64(e.to_string()))?
    } else {
        body
    };
    Ok(DataUri {
        media_type,
        base64: is_b64,
        data,
    })
}

/// Re-encode `data` the way the most common generators write it, so an inline comment can be
/// rebuilt from the vaulted map instead of being stored twice. Returns `None` unless `original`
/// (the URL as it was in the file) is exactly `prefix + STANDARD.encode(data)`.
pub fn canonical_prefix(original: &[u8], data: &[u8]) -> Option<usize> {
    let comma = memchr::memchr(b',', original)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    (original[comma + 1..] == *encoded.as_bytes()).then_some(comma + 1)
}

/// Whether the body of the `data:` URI at the start of `text` contains `needle` once decoded,
/// when the URI sits inside a string literal (webpack's `eval("…//# sourceMappingURL=data:…")`)
/// where nothing marks where it ends: a base64 body ends at the first byte outside the base64
/// alphabets, any other body at an unescaped quote, backtick or line break. False when `text`
/// does not start with a `data:` URI whose header (media type) is short and plain.
///
/// A base64 body is decoded a block at a time and the search stops at the first hit (or the end
/// of the body): webpack's eval maps name `mappings` in their first hundred bytes, so telling one
/// from code that merely writes such a comment costs little, however big the map.
pub fn embedded_body_contains(text: &[u8], needle: &[u8]) -> bool {
    let Some((at, base64)) = embedded_body(text) else {
        return false;
    };
    let body = &text[at..];
    if !base64 {
        let data: Vec<u8> = percent_encoding::percent_decode(&body[..escaped_run(body)]).collect();
        return memchr::memmem::find(&data, needle).is_some();
    }
    // Blocks of whole base64 quanta, small first (the needle is usually near the start),
    // then doubling; the bytes carried over catch a needle across blocks.
    let keep = needle.len().saturating_sub(1);
    let mut buf = Vec::new();
    let (mut at, mut size) = (0, FIRST_BLOCK);
    while at < body.len() {
        let block = &body[at..body.len().min(at + size)];
        at += block.len();
        size = (size * 2).min(MAX_BLOCK);
        let end = block.iter().position(|&c| !is_base64_char(c));
        let part = block[..end.unwrap_or(block.len())].trim_ascii_end_eq();
        let engine = if part.iter().any(|&c| c == b'-' || c == b'_') {
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
        } else {
            &FORGIVING
        };
        if engine.decode_vec(part, &mut buf).is_err() {
            return false;
        }
        if memchr::memmem::find(&buf, needle).is_some() {
            return true;
        }
        if end.is_some() {
            return false;
        }
        buf.drain(..buf.len().saturating_sub(keep));
    }
    false
}

/// Where the body of the `data:` URI at the start of `text` begins, and whether it is base64;
/// `None` unless the header is at most 256 bytes with no quote, backslash or white space.
fn embedded_body(text: &[u8]) -> Option<(usize, bool)> {
    if !is_data_uri(text) {
        return None;
    }
    let head = &text[5..text.len().min(5 + 256)];
    let comma = memchr::memchr(b',', head)?;
    let header = &head[..comma];
    if header
        .iter()
        .any(|&c| matches!(c, b'"' | b'\'' | b'`' | b'\\') || c.is_ascii_whitespace())
    {
        return None;
    }
    Some((5 + comma + 1, base64_header(header)))
}

/// Length of a non-base64 body inside a string: up to an unescaped quote, backtick or line break.
fn escaped_run(body: &[u8]) -> usize {
    let mut i = 0;
    while let Some(&c) = body.get(i) {
        match c {
            b'\\' => i += 2,
            b'"' | b'\'' | b'`' | b'\n' | b'\r' => break,
            _ => i += 1,
        }
    }
    i.min(body.len())
}

/// A byte of the standard or the URL-safe base64 alphabet, or padding.
fn is_base64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// Base64 characters [`embedded_body_contains`] decodes first, and at most at a time (both
/// multiples of 4).
const FIRST_BLOCK: usize = 256;
const MAX_BLOCK: usize = 64 * 1024;

/// A `data:` header (what precedes the comma) that ends in `;base64`, any case.
fn base64_header(header: &[u8]) -> bool {
    header.len() >= 7 && header[header.len() - 7..].eq_ignore_ascii_case(b";base64")
}

trait TrimPad {
    fn trim_ascii_end_eq(&self) -> &[u8];
}
impl TrimPad for [u8] {
    fn trim_ascii_end_eq(&self) -> &[u8] {
        let mut end = self.len();
        while end > 0 && self[end - 1] == b'=' {
            end -= 1;
        }
        &self[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_common_forms() {
        let d = decode(b"data:application/json;base64,eyJ2ZXJzaW9uIjozfQ==").expect("decodes");
        assert_eq!(d.data, br#"{"version":3}"#);
        assert_eq!(d.media_type, "application/json");
        let d = decode(b"data:application/json;charset=utf-8;base64,eyJ2ZXJzaW9uIjozfQ")
            .expect("no pad");
        assert_eq!(d.data, br#"{"version":3}"#);
        let d = decode(b"data:application/json,%7B%22version%22%3A3%7D").expect("percent");
        assert_eq!(d.data, br#"{"version":3}"#);
        assert!(!d.base64);
        let d = decode(b"DATA:;BASE64,e30").expect("case");
        assert_eq!(d.data, b"{}");
    }

    #[test]
    fn embedded_uris_end_where_their_string_would() {
        let has = |t: &[u8], needle: &str| embedded_body_contains(t, needle.as_bytes());
        // base64 of {"mappings":1}, then the rest of webpack's eval string.
        let eval = br#"data:application/json;charset=utf-8;base64,eyJtYXBwaW5ncyI6MX0=\n//# sourceURL=x");"#;
        assert!(has(eval, "mappings"));
        assert!(!has(eval, "sourceURL"));
        assert!(!has(
            br#"data:application/json;base64," + to_base64(map);"#,
            "mappings"
        ));
        let escaped = br#"data:application/json,{\"mappings\":\"AAAA\"}", mappings"#;
        assert!(has(escaped, "AAAA"));
        assert!(!has(escaped, "\", mappings"));
        let pct = b"data:application/json,%7B%7D\nnext";
        assert!(has(pct, "{}"));
        assert!(!has(pct, "next"));
        assert!(!has(b"data:application/json,ends with a backslash\\", "x"));
        assert!(!has(br#"data:" + type + ",mappings"#, "mappings"));
        assert!(!has(b"data:no comma mappings", "mappings"));
        assert!(!has(b"http://x,mappings", "mappings"));
    }

    #[test]
    fn embedded_bodies_are_searched_across_blocks() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let map = |pad: usize| {
            format!(
                r#"{{"sourcesContent":["{}"],"mappings":"AAAA"}}"#,
                "x".repeat(pad)
            )
        };
        // The needle at every offset around the first block boundaries.
        // Block boundaries fall after 256, 768, 1792, ... base64 characters.
        let edges = [256, 768, 1792, 3840].map(|c: usize| c / 4 * 3);
        let pads = edges.into_iter().flat_map(|e| e - 40..e + 10);
        for pad in pads.chain([0, 5000, 20_000, 300_000]) {
            let m = map(pad);
            for enc in [STANDARD.encode(&m), URL_SAFE_NO_PAD.encode(&m)] {
                let uri = format!("data:application/json;charset=utf-8;base64,{enc}\\n//# x\");");
                assert!(
                    embedded_body_contains(uri.as_bytes(), b"mappings"),
                    "pad {pad}"
                );
                assert!(
                    !embedded_body_contains(uri.as_bytes(), b"names"),
                    "pad {pad}"
                );
            }
        }
        let pct = br#"data:application/json,%7B%22mappings%22%3A%22%22%7D" + x"#;
        assert!(embedded_body_contains(pct, b"mappings"));
        assert!(!embedded_body_contains(
            b"data:application/json;base64,\" + b64",
            b"mappings"
        ));
        assert!(!embedded_body_contains(
            b"data:application/json;base64,A\"",
            b"mappings"
        ));
        assert!(!embedded_body_contains(b"no uri", b"mappings"));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert_eq!(decode(b"http://x"), Err(DataUriError::NotData));
        assert_eq!(decode(b"data:abc"), Err(DataUriError::NoComma));
        assert!(matches!(
            decode(b"data:;base64,!!!!"),
            Err(DataUriError::Base64(_))
        ));
        let _ = decode(b"data:\xff\xfe;base64,%ff%");
    }

    #[test]
    fn non_utf8_header_ending_near_base64_does_not_panic() {
        // Found by the datauri fuzz target: the header's last 7 bytes began inside U+FFFD.
        let d = decode(b"data:\xffbase64,e30").expect("not base64, so percent-decoded");
        assert!(!d.base64);
        assert_eq!(d.data, b"e30");
        let d = decode(b"data:\xff;base64,e30").expect("base64");
        assert_eq!(
            (d.media_type.as_str(), d.data.as_slice()),
            ("\u{fffd}", &b"{}"[..])
        );
    }

    #[test]
    fn canonical_prefix_only_when_reencoding_is_exact() {
        let url = b"data:application/json;base64,eyJ2ZXJzaW9uIjozfQ==";
        let d = decode(url).expect("decodes");
        assert_eq!(canonical_prefix(url, &d.data), Some(29));
        let url = b"data:application/json;base64,eyJ2ZXJzaW9uIjozfQ";
        assert_eq!(canonical_prefix(url, &d.data), None);
    }
}
