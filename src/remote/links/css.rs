//! Links in a stylesheet, from cssparser's tokens (CSS Syntax Level 3, Servo's tokenizer):
//! `@import "…"`, `@import url(…)`, and every `url(…)` (quoted or not) and `src("…")`, inside
//! rules and declarations at any depth a browser would read. Comments and strings are tokens of
//! their own, so text in them is never taken for a link.

use cssparser::{ParseError, Parser, Token};

use super::{Base, Extracted, Hint};
use crate::remote::Via;

/// Blocks deeper than this are skipped (cssparser skips them without recursion); real
/// stylesheets nest a handful of levels.
const MAX_DEPTH: u32 = 32;

/// Every URL the stylesheet `src` names.
pub fn extract(src: &[u8]) -> Extracted {
    let mut out = Extracted::default();
    if memchr::memmem::find(src, b"url").is_none()
        && memchr::memmem::find(src, b"import").is_none()
        && memchr::memmem::find(src, b"src").is_none()
    {
        return out;
    }
    let text = String::from_utf8_lossy(src);
    let mut parser = Parser::new(&text);
    walk(&mut parser, &mut out, 0);
    out
}

fn walk(p: &mut Parser<'_>, out: &mut Extracted, depth: u32) {
    let mut after_import = false;
    loop {
        let Ok(token) = p.next().cloned() else {
            return;
        };
        let (via, hint) = if after_import {
            (Via::CssImport, Hint::Style)
        } else {
            (Via::CssUrl, Hint::Any)
        };
        match token {
            Token::AtKeyword(k) if k.eq_ignore_ascii_case("import") => {
                after_import = true;
                continue;
            }
            Token::QuotedString(s) if after_import => {
                out.push(&s, Base::Resource, via, hint);
            }
            Token::UnquotedUrl(s) => out.push(&s, Base::Resource, via, hint),
            Token::Function(name)
                if name.eq_ignore_ascii_case("url") || name.eq_ignore_ascii_case("src") =>
            {
                let mut found = None;
                let _ = p.parse_nested_block(|p| {
                    if let Ok(Token::QuotedString(s)) = p.next() {
                        found = Some(s.to_string());
                    }
                    while p.next().is_ok() {}
                    Ok::<(), ParseError<()>>(())
                });
                if let Some(s) = found {
                    out.push(&s, Base::Resource, via, hint);
                }
            }
            Token::Function(_)
            | Token::ParenthesisBlock
            | Token::SquareBracketBlock
            | Token::CurlyBracketBlock
                if depth < MAX_DEPTH =>
            {
                let _ = p.parse_nested_block(|p| {
                    walk(p, out, depth + 1);
                    Ok::<(), ParseError<()>>(())
                });
            }
            _ => {}
        }
        after_import = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(src: &str) -> Vec<(String, Via)> {
        extract(src.as_bytes()).url_via()
    }

    #[test]
    fn imports_and_urls_at_any_depth() {
        let css = r#"@charset "utf-8";
            @import "a.css";
            @import url(b.css) screen;
            @import url("c.css") layer(x);
            @font-face { font-family: X; src: url(f.woff2) format("woff2"), url('f.woff') }
            .x { background: url( "bg.png" ) no-repeat; mask: src("m.svg") }
            @media (min-width: 1px) { .y { background-image: image-set(url(i.webp) 1x) } }"#;
        assert_eq!(
            urls(css),
            [
                ("a.css".into(), Via::CssImport),
                ("b.css".into(), Via::CssImport),
                ("c.css".into(), Via::CssImport),
                ("f.woff2".into(), Via::CssUrl),
                ("f.woff".into(), Via::CssUrl),
                ("bg.png".into(), Via::CssUrl),
                ("m.svg".into(), Via::CssUrl),
                ("i.webp".into(), Via::CssUrl),
            ]
        );
    }

    #[test]
    fn comments_strings_and_junk_are_not_links() {
        let css = r#"/* @import "no.css"; url(no.png) */
            .a::after { content: "url(no2.png)" }
            .b { background: url(data:image/png;base64,AAAA) }
            /*# sourceMappingURL=x.css.map */"#;
        assert!(urls(css).is_empty(), "{:?}", urls(css));
        let deep = format!(
            "{}url(deep.png){}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(urls(&deep).is_empty());
        let _ = extract(b"\xff\xfe@import url(");
    }
}
