//! WebAssembly: the `sourceMappingURL` custom section (ECMA-426 §11.1.3) and DWARF sections.
//!
//! A module is `\0asm`, a 4-byte version, then sections: an id byte, a LEB128 size, the
//! payload. A custom section (id 0) starts its payload with a LEB128-prefixed name. Removing a
//! custom section leaves a valid module with every other byte unchanged, so seal can cut it out
//! like a comment. An *export* named `sourceMappingURL` is just an export and is not a leak.

use std::ops::Range;

/// What the module says about source maps and debug info.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WasmScan {
    /// `sourceMappingURL` custom sections: whole section span and URL span.
    pub refs: Vec<(Range<usize>, Range<usize>)>,
    /// Names of DWARF (`.debug_*`) and `external_debug_info` custom sections.
    pub debug_sections: Vec<String>,
    /// Set when the module is malformed (truncated sections, bad LEB128).
    pub error: Option<String>,
}

pub fn is_wasm(b: &[u8]) -> bool {
    b.starts_with(b"\0asm")
}

fn leb_u32(b: &[u8], mut i: usize) -> Option<(u32, usize)> {
    let mut result: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *b.get(i)?;
        i += 1;
        result |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(result).ok().map(|v| (v, i));
        }
    }
    None
}

/// Walk the module's sections.
pub fn scan(b: &[u8]) -> WasmScan {
    let mut out = WasmScan::default();
    if !is_wasm(b) || b.len() < 8 {
        out.error = Some("not a WebAssembly module".into());
        return out;
    }
    let mut i = 8;
    while i < b.len() {
        let start = i;
        let id = b[i];
        let Some((size, body)) = leb_u32(b, i + 1) else {
            out.error = Some(format!("bad section size at byte {start}"));
            return out;
        };
        let end = body + size as usize;
        if end > b.len() {
            out.error = Some(format!(
                "section at byte {start} runs past the end of the module"
            ));
            return out;
        }
        if id == 0
            && let Some((name_len, name_at)) = leb_u32(b, body)
        {
            {
                let name_end = name_at + name_len as usize;
                if name_end <= end {
                    let name = &b[name_at..name_end];
                    if name == b"sourceMappingURL" {
                        match leb_u32(b, name_end) {
                            Some((url_len, url_at)) if url_at + url_len as usize <= end => {
                                out.refs
                                    .push((start..end, url_at..url_at + url_len as usize));
                            }
                            // A malformed payload still names the map: cut the whole section.
                            _ => out.refs.push((start..end, name_end..end)),
                        }
                    } else if name.starts_with(b".debug_") || name == b"external_debug_info" {
                        out.debug_sections
                            .push(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut body = vec![u8::try_from(name.len()).unwrap_or(0)];
        body.extend_from_slice(name);
        body.extend_from_slice(payload);
        let mut s = vec![0u8, u8::try_from(body.len()).unwrap_or(0)];
        s.extend(body);
        s
    }

    #[test]
    fn finds_the_section_and_debug_info() {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([1u8, 4, 1, 0x60, 0, 0]); // type section
        m.extend(custom(b".debug_info", b"xx"));
        let url = b"./a.wasm.map";
        let mut p = vec![u8::try_from(url.len()).unwrap_or(0)];
        p.extend_from_slice(url);
        let sec_start = m.len();
        m.extend(custom(b"sourceMappingURL", &p));
        let s = scan(&m);
        assert_eq!(s.error, None);
        assert_eq!(s.refs.len(), 1);
        assert_eq!(s.refs[0].0, sec_start..m.len());
        assert_eq!(&m[s.refs[0].1.clone()], url);
        assert_eq!(s.debug_sections, vec![".debug_info"]);
    }

    #[test]
    fn malformed_modules_are_reported_not_fatal() {
        assert!(
            scan(b"\0asm\x01\0\0\0\0\xff\xff\xff\xff\xff")
                .error
                .is_some()
        );
        assert!(scan(b"\0asm\x01\0\0\0\0\x10ab").error.is_some());
        assert!(scan(b"\0as").error.is_some());
        assert!(scan(b"\0asm\x01\0\0\0").error.is_none());
    }
}
