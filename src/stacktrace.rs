//! Stack-trace lines as browsers and Node print them, parsed into frames and written back with
//! an original position. Pure text in, text out; knows nothing of vaults or maps.
//!
//! Understood forms (LINE and COLUMN 1-based, as every engine prints them):
//! - V8 (Chrome, Edge, Node): `    at fn (URL:LINE:COL)`, `    at URL:LINE:COL`,
//!   `    at async fn (…)`, `    at new Foo (…)`, `    at obj.fn [as alias] (…)`;
//! - SpiderMonkey (Firefox) and JavaScriptCore (Safari): `fn@URL:LINE:COL`, `@URL:LINE:COL`,
//!   `global code@URL:LINE:COL`.
//!
//! Anything else (`at <anonymous>`, `eval at …`, native frames, message lines) is not a frame.

/// Which engine's syntax a frame line uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `at fn (url:l:c)` / `at url:l:c`
    V8,
    /// `fn@url:l:c`
    Gecko,
}

/// One frame found in a line; the `&str`s borrow from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    pub style: Style,
    /// Leading whitespace, kept as it was.
    pub indent: &'a str,
    /// The function as printed (may be empty or absent).
    pub function: Option<&'a str>,
    pub url: &'a str,
    /// 1-based.
    pub line: u32,
    /// 1-based.
    pub column: u32,
}

/// `URL:LINE:COL` → its parts (the URL itself may contain `:`).
pub fn split_location(loc: &str) -> Option<(&str, u32, u32)> {
    let (rest, col) = loc.rsplit_once(':')?;
    let (url, line) = rest.rsplit_once(':')?;
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (line, col) = (num(line)?, num(col)?);
    (!url.is_empty()).then_some((url, line, col))
}

/// A URL a frame can point at: no whitespace, no brackets engines use for non-locations.
fn plausible_url(url: &str) -> bool {
    !url.is_empty()
        && !url.chars().any(char::is_whitespace)
        && !url.starts_with('<')
        && url != "native"
}

/// Parse one line (without its line terminator).
pub fn parse(line: &str) -> Option<Frame<'_>> {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let body = body.trim_end();
    if let Some(rest) = body.strip_prefix("at ") {
        let rest = rest.trim_start();
        let (function, loc) = match rest.strip_suffix(')') {
            Some(inner) => {
                let open = inner.rfind(" (")?;
                (Some(inner[..open].trim()), &inner[open + 2..])
            }
            None => (None, rest),
        };
        let (url, line, column) = split_location(loc)?;
        if !plausible_url(url) {
            return None;
        }
        return Some(Frame {
            style: Style::V8,
            indent,
            function,
            url,
            line,
            column,
        });
    }
    // Gecko: the first `@` whose remainder is a location (URLs may hold `@` too: `/@scope/`).
    for (i, _) in body.match_indices('@') {
        let loc = &body[i + 1..];
        if let Some((url, line, column)) = split_location(loc)
            && plausible_url(url)
        {
            return Some(Frame {
                style: Style::Gecko,
                indent,
                function: Some(&body[..i]),
                url,
                line,
                column,
            });
        }
    }
    None
}

/// The line rewritten to point at `source:line:column`; `name` (the function's original name,
/// when known) replaces the function as the trace printed it.
pub fn render(f: &Frame<'_>, name: Option<&str>, source: &str, line: u64, column: u64) -> String {
    let function = name.or(f.function).filter(|s| !s.is_empty());
    match f.style {
        Style::V8 => match function {
            Some(func) => format!("{}at {func} ({source}:{line}:{column})", f.indent),
            None => format!("{}at {source}:{line}:{column}", f.indent),
        },
        Style::Gecko => format!(
            "{}{}@{source}:{line}:{column}",
            f.indent,
            function.unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(line: &str) -> Option<(Style, Option<&str>, &str, u32, u32)> {
        parse(line).map(|f| (f.style, f.function, f.url, f.line, f.column))
    }

    #[test]
    fn v8_frames() {
        assert_eq!(
            frame("    at foo (https://cdn.example.com/assets/index-x.js:1:2345)"),
            Some((
                Style::V8,
                Some("foo"),
                "https://cdn.example.com/assets/index-x.js",
                1,
                2345
            ))
        );
        assert_eq!(
            frame("    at https://cdn.example.com/a.js?v=3:10:7"),
            Some((Style::V8, None, "https://cdn.example.com/a.js?v=3", 10, 7))
        );
        assert_eq!(
            frame("  at async Object.run [as go] (file:///srv/app/main.js:4:9)\r"),
            Some((
                Style::V8,
                Some("async Object.run [as go]"),
                "file:///srv/app/main.js",
                4,
                9
            ))
        );
        assert_eq!(frame("    at new Promise (<anonymous>)"), None);
        assert_eq!(
            frame("    at eval (eval at f (https://x/a.js:1:2), <anonymous>:1:1)"),
            None
        );
        assert_eq!(frame("Error: boom"), None);
        assert_eq!(frame("    at https://x/a.js:1"), None);
    }

    #[test]
    fn gecko_and_safari_frames() {
        assert_eq!(
            frame("foo@https://cdn.example.com/main.js:1:99"),
            Some((
                Style::Gecko,
                Some("foo"),
                "https://cdn.example.com/main.js",
                1,
                99
            ))
        );
        assert_eq!(
            frame("@https://cdn.example.com/node_modules/@scope/x.js:3:4"),
            Some((
                Style::Gecko,
                Some(""),
                "https://cdn.example.com/node_modules/@scope/x.js",
                3,
                4
            ))
        );
        assert_eq!(
            frame("global code@http://localhost:8080/a.js:12:30"),
            Some((
                Style::Gecko,
                Some("global code"),
                "http://localhost:8080/a.js",
                12,
                30
            ))
        );
        assert_eq!(frame("user@example.com wrote this"), None);
    }

    #[test]
    fn rendering_keeps_the_style() -> Result<(), &'static str> {
        let v8 = parse("    at e (https://x/a.js:1:200)").ok_or("no frame")?;
        assert_eq!(
            render(&v8, Some("greet"), "src/a.ts", 3, 7),
            "    at greet (src/a.ts:3:7)"
        );
        assert_eq!(
            render(&v8, None, "src/a.ts", 3, 7),
            "    at e (src/a.ts:3:7)"
        );
        let bare = parse("    at https://x/a.js:1:200").ok_or("no frame")?;
        assert_eq!(render(&bare, None, "src/a.ts", 3, 7), "    at src/a.ts:3:7");
        let ff = parse("e@https://x/a.js:1:200").ok_or("no frame")?;
        assert_eq!(
            render(&ff, Some("greet"), "src/a.ts", 3, 7),
            "greet@src/a.ts:3:7"
        );
        Ok(())
    }
}
