//! Escaping untrusted text (file names, URLs from comments) before it reaches a terminal.
//!
//! Control characters could move the cursor or rewrite earlier output, and bidirectional
//! overrides could make `evil.map` read as something else ("Trojan Source"). Both are shown as
//! visible escapes; everything else passes through.

/// Escape control, bidi and invalid-UTF-8 content for display.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}' => {
                out.push_str(&format!("\\u{{{:04x}}}", ch as u32));
            }
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Like [`for_terminal`], for raw bytes (invalid UTF-8 shown as `\xNN`).
pub fn bytes_for_terminal(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.utf8_chunks() {
        out.push_str(&for_terminal(chunk.valid()));
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// Shorten long text (a data: URI can be megabytes) for one-line messages.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(for_terminal("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(for_terminal("x\u{202e}pam.js"), "x\\u{202e}pam.js");
        assert_eq!(for_terminal("new\nline"), "new\\nline");
        assert_eq!(for_terminal("ünïcødé ok"), "ünïcødé ok");
        assert_eq!(bytes_for_terminal(b"a\xffb"), "a\\xffb");
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("ééééé", 3), "ééé…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
