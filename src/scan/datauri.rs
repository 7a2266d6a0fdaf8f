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
    let is_b64 = trimmed.len() >= 7
        && trimmed.as_bytes()[trimmed.len() - 7..].eq_ignore_ascii_case(b";base64");
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

/// Length of the `data:` URI at the start of `text` when it sits inside a string literal
/// (webpack's `eval("…//# sourceMappingURL=data:…")`), where nothing marks where it ends: a
/// base64 body ends at the first byte outside the base64 alphabets, any other body at an
/// unescaped quote, backtick or line break. `None` when `text` does not start with a `data:`
/// URI whose header (media type) is short and plain.
pub fn embedded_len(text: &[u8]) -> Option<usize> {
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
    let body_at = 5 + comma + 1;
    let body = &text[body_at..];
    let n = if header.len() >= 7 && header[header.len() - 7..].eq_ignore_ascii_case(b";base64") {
        body.iter()
            .take_while(|&&c| {
                c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_')
            })
            .count()
    } else {
        let mut i = 0;
        while let Some(&c) = body.get(i) {
            match c {
                b'\\' => i += 2,
                b'"' | b'\'' | b'`' | b'\n' | b'\r' => break,
                _ => i += 1,
            }
        }
        i.min(body.len())
    };
    Some(body_at + n)
}

trait TrimPad {
    fn trim_ascii_end_eq(&self) -> &[u8];
}
impl TrimPad for Vec<u8> {
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
        let len = |t: &[u8]| embedded_len(t).map(|n| String::from_utf8_lossy(&t[..n]).into_owned());
        assert_eq!(
            len(br#"data:application/json;charset=utf-8;base64,eyJ9\n//# sourceURL=x");"#)
                .as_deref(),
            Some("data:application/json;charset=utf-8;base64,eyJ9")
        );
        assert_eq!(
            len(br#"data:application/json;base64," + to_base64(map);"#).as_deref(),
            Some("data:application/json;base64,")
        );
        assert_eq!(
            len(br#"data:application/json,{\"mappings\":\"AAAA\"}", x"#).as_deref(),
            Some(r#"data:application/json,{\"mappings\":\"AAAA\"}"#)
        );
        assert_eq!(
            len(b"data:application/json,%7B%7D\nnext").as_deref(),
            Some("data:application/json,%7B%7D")
        );
        assert_eq!(
            len(b"data:application/json,ends with a backslash\\"),
            Some("data:application/json,ends with a backslash\\".into())
        );
        assert_eq!(len(br#"data:" + type + ",x"#), None);
        assert_eq!(len(b"data:no comma"), None);
        assert_eq!(len(b"http://x"), None);
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
