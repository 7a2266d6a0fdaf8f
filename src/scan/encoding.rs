//! Decoding a text file the way a browser would before scanning it: a UTF-16LE/BE byte-order
//! mark decides the encoding; text that is not UTF-8 is read as windows-1252 (the Encoding
//! Standard's default for legacy Western content). Scanning then works on UTF-8 text, and every
//! offset it finds is mapped back to the original bytes, so cuts stay exact.
//!
//! UTF-8 (with or without a BOM) is scanned as it is: nothing here runs for it.

/// The encoding a file was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl Enc {
    pub fn name(self) -> &'static str {
        match self {
            Enc::Utf16Le => "UTF-16LE",
            Enc::Utf16Be => "UTF-16BE",
            Enc::Windows1252 => "windows-1252",
        }
    }

    /// A cut's fill ([`super::cut`]), worked out on the decoded text, in this encoding. The
    /// result is still a `String`: a fill is only spaces and line terminators, and their UTF-16
    /// code units (U+0020, U+000A, U+000D, U+000C, U+2028, U+2029) are all ASCII bytes.
    pub fn encode_fill(self, fill: &str) -> String {
        let unit_bytes = |u: u16| match self {
            Enc::Utf16Le => u.to_le_bytes(),
            _ => u.to_be_bytes(),
        };
        let mut out = String::with_capacity(fill.len() * 2);
        for c in fill.chars() {
            if self == Enc::Windows1252 {
                // windows-1252 decodes to no U+2028/9: its fills are ASCII, spelled as
                // themselves.
                out.push(if c.is_ascii() { c } else { ' ' });
                continue;
            }
            let mut units = [0u16; 2];
            for &u in c.encode_utf16(&mut units).iter() {
                // Every byte is ASCII (see above); a space would keep the length otherwise.
                out.extend(
                    unit_bytes(u)
                        .iter()
                        .map(|&b| if b.is_ascii() { char::from(b) } else { ' ' }),
                );
            }
        }
        out
    }

    /// Decode a slice of the original bytes (without a BOM) to UTF-8, lossily.
    pub fn decode_slice(self, bytes: &[u8]) -> Vec<u8> {
        decode_as(self, bytes, 0).text
    }
}

/// A file's text as UTF-8, with the original offset of every decoded byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub enc: Enc,
    pub text: Vec<u8>,
    /// `map[k]` is the original offset of the character decoded byte `k` belongs to;
    /// `map[text.len()]` is the original length.
    map: Vec<usize>,
}

impl Decoded {
    /// The original byte range of decoded range `r` (which must start and end on character
    /// boundaries, as every span the scanners report does).
    pub fn original(&self, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let at = |k: usize| self.map[k.min(self.map.len() - 1)];
        at(r.start)..at(r.end)
    }
}

/// The text of URL bytes `raw` cut from a file that starts with `head`: decoded when the file is
/// UTF-16 (its byte-order mark says so), else the bytes themselves (UTF-8, and windows-1252
/// text, whose `data:` URIs are ASCII). Seal's planning and the step that stores an inline map
/// both read URLs through this, so they agree on the map's bytes.
pub fn url_text<'a>(head: &[u8], raw: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    if head.starts_with(b"\xff\xfe") {
        Enc::Utf16Le.decode_slice(raw).into()
    } else if head.starts_with(b"\xfe\xff") {
        Enc::Utf16Be.decode_slice(raw).into()
    } else {
        raw.into()
    }
}

/// Decode `bytes` if a browser would not read them as UTF-8; `None` for UTF-8.
pub fn decode(bytes: &[u8]) -> Option<Decoded> {
    if bytes.starts_with(b"\xff\xfe") {
        Some(decode_as(Enc::Utf16Le, bytes, 2))
    } else if bytes.starts_with(b"\xfe\xff") {
        Some(decode_as(Enc::Utf16Be, bytes, 2))
    } else if std::str::from_utf8(bytes).is_ok() {
        None
    } else {
        Some(decode_as(Enc::Windows1252, bytes, 0))
    }
}

fn decode_as(enc: Enc, bytes: &[u8], from: usize) -> Decoded {
    let mut text = Vec::with_capacity(bytes.len());
    let mut map = Vec::with_capacity(bytes.len() + 1);
    let push = |c: char, at: usize, text: &mut Vec<u8>, map: &mut Vec<usize>| {
        let mut b = [0u8; 4];
        let s = c.encode_utf8(&mut b);
        text.extend_from_slice(s.as_bytes());
        map.extend(std::iter::repeat_n(at, s.len()));
    };
    match enc {
        Enc::Windows1252 => {
            for (k, &b) in bytes.iter().enumerate().skip(from) {
                let c = if b < 0x80 {
                    b as char
                } else {
                    let one = [b];
                    let (s, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&one);
                    s.chars().next().unwrap_or('\u{fffd}')
                };
                push(c, k, &mut text, &mut map);
            }
        }
        Enc::Utf16Le | Enc::Utf16Be => {
            let unit = |k: usize| {
                let p = [bytes[k], bytes[k + 1]];
                if enc == Enc::Utf16Le {
                    u16::from_le_bytes(p)
                } else {
                    u16::from_be_bytes(p)
                }
            };
            let mut k = from;
            while k + 1 < bytes.len() {
                let u = unit(k);
                let (c, len) = if (0xd800..0xdc00).contains(&u)
                    && k + 3 < bytes.len()
                    && (0xdc00..0xe000).contains(&unit(k + 2))
                {
                    let cp =
                        0x10000 + (((u as u32) - 0xd800) << 10) + (unit(k + 2) as u32 - 0xdc00);
                    (char::from_u32(cp).unwrap_or('\u{fffd}'), 4)
                } else {
                    (char::from_u32(u as u32).unwrap_or('\u{fffd}'), 2)
                };
                push(c, k, &mut text, &mut map);
                k += len;
            }
            if k < bytes.len() {
                // A trailing odd byte.
                push('\u{fffd}', k, &mut text, &mut map);
            }
        }
    }
    map.push(bytes.len());
    Decoded { enc, text, map }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        let mut v = b"\xff\xfe".to_vec();
        v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        v
    }

    #[test]
    fn utf16_with_bom_maps_back_to_original_offsets() {
        let b = utf16le("a\u{1F600}//# x");
        let d = decode(&b).expect("utf-16");
        assert_eq!(d.enc, Enc::Utf16Le);
        assert_eq!(d.text, "a\u{1F600}//# x".as_bytes());
        let start = "a\u{1F600}".len();
        assert_eq!(d.original(start..d.text.len()), 2 + 2 + 4..b.len());
        let mut be = b"\xfe\xff".to_vec();
        be.extend("ok".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&be).map(|d| d.text), Some(b"ok".to_vec()));
    }

    #[test]
    fn windows_1252_when_not_utf8() {
        assert_eq!(decode(b"plain ascii"), None);
        assert_eq!(decode("caf\u{e9}".as_bytes()), None);
        let d = decode(b"caf\xe9 \x80 x").expect("1252");
        assert_eq!(d.enc, Enc::Windows1252);
        assert_eq!(d.text, "caf\u{e9} \u{20ac} x".as_bytes());
        let x = d.text.len() - 1;
        assert_eq!(d.original(x..x + 1), 7..8);
        // Odd lengths and lone surrogates never panic.
        let _ = decode(b"\xff\xfe\x00\xd8a");
        let _ = decode(b"\xfe\xff\xd8");
    }
}
