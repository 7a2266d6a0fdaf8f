//! Links in an HTML page, found with html5gum, a tokenizer that follows the WHATWG spec
//! (character references in attributes, comments, `<script>` data and `<style>` raw text end
//! where a browser ends them). Raw-text states are switched by tag name
//! ([`html5gum::naive_next_state`]), which is what a tree builder does for these elements in
//! a document's head and body.
//!
//! Followed: `<script src>` (JavaScript and module types), `<link rel=modulepreload>`,
//! `<link rel=stylesheet>`, `<link rel=preload|prefetch>` for scripts, styles and workers,
//! `<link rel=manifest>`, the URLs of a `<script type=importmap>`, and whatever inline scripts
//! and `<style>` elements load. `<base href>` is reported for the crawl to resolve against.

use html5gum::{DefaultEmitter, Token, Tokenizer};

use super::{Base, Extracted, Hint, js};
use crate::remote::Via;

/// What a `<script>` element holds, from its `type` attribute (HTML § 4.12.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScriptType {
    Classic,
    Module,
    ImportMap,
    /// A data block (`application/json`, templates…): not run, not followed.
    Data,
}

fn script_type(ty: Option<&str>) -> ScriptType {
    let Some(t) = ty.map(|t| t.trim().to_ascii_lowercase()) else {
        return ScriptType::Classic;
    };
    const JS_TYPES: [&str; 16] = [
        "",
        "application/ecmascript",
        "application/javascript",
        "application/x-ecmascript",
        "application/x-javascript",
        "text/ecmascript",
        "text/javascript",
        "text/javascript1.0",
        "text/javascript1.1",
        "text/javascript1.2",
        "text/javascript1.3",
        "text/javascript1.4",
        "text/javascript1.5",
        "text/jscript",
        "text/livescript",
        "text/x-javascript",
    ];
    match t.as_str() {
        "module" => ScriptType::Module,
        "importmap" => ScriptType::ImportMap,
        t if JS_TYPES.contains(&t) || t == "text/x-ecmascript" => ScriptType::Classic,
        _ => ScriptType::Data,
    }
}

/// An element whose text the tokenizer is collecting.
enum Open {
    Script(ScriptType),
    Style,
}

/// Every link of the page `src`.
pub fn extract(src: &[u8]) -> Extracted {
    let mut out = Extracted::default();
    let mut emitter = DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut open: Option<Open> = None;
    let mut text: Vec<u8> = Vec::new();
    for token in Tokenizer::new_with_emitter(src, emitter) {
        let Ok(token) = token;
        match token {
            Token::StartTag(tag) => {
                let attr = |name: &str| {
                    tag.attributes
                        .get(name.as_bytes())
                        .map(|v| String::from_utf8_lossy(&v.value).into_owned())
                };
                // A start tag inside script data cannot happen (the tokenizer is in a raw
                // state there); a new element simply ends whatever was collected.
                open = None;
                text.clear();
                match tag.name.as_slice() {
                    b"script" => {
                        let ty = script_type(attr("type").as_deref());
                        match (attr("src"), ty) {
                            (Some(src), ScriptType::Classic | ScriptType::Module) => {
                                out.push(&src, Base::Document, Via::HtmlScript, Hint::Script);
                            }
                            // An external script's own text is not run.
                            (Some(_), _) => {}
                            (None, ty) => open = Some(Open::Script(ty)),
                        }
                    }
                    b"style" => open = Some(Open::Style),
                    b"link" => link(&mut out, attr("rel"), attr("as"), attr("href")),
                    b"base" if out.base_href.is_none() => out.base_href = attr("href"),
                    _ => {}
                }
            }
            Token::String(s) => {
                if open.is_some() {
                    text.extend_from_slice(&s.value);
                }
            }
            Token::EndTag(_) => {
                if let Some(what) = open.take() {
                    inline(&mut out, what, &text);
                }
                text.clear();
            }
            Token::Comment(_) | Token::Doctype(_) | Token::Error(_) => {}
        }
    }
    // An unclosed `<script>` runs to the end of the document (browsers run it too).
    if let Some(what) = open.take() {
        inline(&mut out, what, &text);
    }
    out
}

fn link(out: &mut Extracted, rel: Option<String>, as_: Option<String>, href: Option<String>) {
    let (Some(rel), Some(href)) = (rel, href) else {
        return;
    };
    let rel = rel.to_ascii_lowercase();
    let as_ = as_.unwrap_or_default().trim().to_ascii_lowercase();
    for r in rel.split_ascii_whitespace() {
        let found = match r {
            "stylesheet" => Some((Via::HtmlStylesheet, Hint::Style)),
            "modulepreload" => Some((Via::HtmlModulepreload, Hint::Script)),
            "manifest" => Some((Via::HtmlManifest, Hint::Manifest)),
            "preload" | "prefetch" => match as_.as_str() {
                "script" | "worker" | "sharedworker" | "serviceworker" | "audioworklet"
                | "paintworklet" => Some((Via::HtmlPreload, Hint::Script)),
                "style" => Some((Via::HtmlPreload, Hint::Style)),
                _ => None,
            },
            _ => None,
        };
        if let Some((via, hint)) = found {
            out.push(&href, Base::Document, via, hint);
            return;
        }
    }
}

/// The links an inline script or style loads. All of them resolve against the document: an
/// inline module's `import.meta.url` is the document's URL.
fn inline(out: &mut Extracted, what: Open, text: &[u8]) {
    match what {
        Open::Script(ScriptType::Classic | ScriptType::Module) => {
            out.extend_from(js::extract(text), Some(Base::Document));
        }
        Open::Script(ScriptType::ImportMap) => import_map(out, text),
        Open::Script(ScriptType::Data) => {}
        Open::Style => out.extend_from(super::css::extract(text), Some(Base::Document)),
    }
}

/// `{"imports": {"name": "url"}, "scopes": {"/scope/": {"name": "url"}}}`: every URL value.
fn import_map(out: &mut Extracted, text: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(text) else {
        out.notes
            .push("an import map is not valid JSON; its URLs were not followed".into());
        return;
    };
    let mut maps: Vec<&serde_json::Value> = vec![&v["imports"]];
    if let Some(scopes) = v["scopes"].as_object() {
        maps.extend(scopes.values());
    }
    for m in maps {
        for url in m.as_object().into_iter().flat_map(|o| o.values()) {
            if let Some(u) = url.as_str() {
                out.push(u, Base::Document, Via::HtmlImportmap, Hint::Script);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(src: &str) -> Vec<(String, Via)> {
        extract(src.as_bytes()).url_via()
    }

    #[test]
    fn finds_what_a_vite_page_loads() {
        let page = r#"<!doctype html><html><head>
            <script type="module" crossorigin src="./assets/index-SezSZ-FV.js"></script>
            <link rel="modulepreload" crossorigin href="/assets/vendor.js">
            <link rel="stylesheet" crossorigin href="./assets/index-CfSG9aIb.css">
            <link rel="manifest" href="/manifest.webmanifest">
            <link rel="preload" as="font" href="/f.woff2">
            <link rel="icon" href="/favicon.ico">
          </head><body></body></html>"#;
        assert_eq!(
            urls(page),
            [
                ("./assets/index-SezSZ-FV.js".into(), Via::HtmlScript),
                ("/assets/vendor.js".into(), Via::HtmlModulepreload),
                ("./assets/index-CfSG9aIb.css".into(), Via::HtmlStylesheet),
                ("/manifest.webmanifest".into(), Via::HtmlManifest),
            ]
        );
    }

    #[test]
    fn inline_scripts_styles_and_import_maps_are_followed() {
        let page = r#"<base href="/app/">
            <script>if ("serviceWorker" in navigator) navigator.serviceWorker.register('/sw.js')</script>
            <script type="module">import "./main.js"; import('./lazy.js')</script>
            <script type="importmap">{"imports": {"lib": "/lib.js"}, "scopes": {"/x/": {"y": "./y.js"}}}</script>
            <script type="application/json">{"a": "import('/not.js')"}</script>
            <style>@import url("print.css"); .a { background: url(bg.svg) }</style>"#;
        let e = extract(page.as_bytes());
        assert_eq!(e.base_href.as_deref(), Some("/app/"));
        let got: Vec<(&str, Via, Base)> = e
            .links
            .iter()
            .map(|l| (l.url.as_str(), l.via, l.base))
            .collect();
        assert_eq!(
            got,
            [
                ("/sw.js", Via::JsServiceWorker, Base::Document),
                ("./main.js", Via::JsImport, Base::Document),
                ("./lazy.js", Via::JsDynamicImport, Base::Document),
                ("/lib.js", Via::HtmlImportmap, Base::Document),
                ("./y.js", Via::HtmlImportmap, Base::Document),
                ("print.css", Via::CssImport, Base::Document),
                ("bg.svg", Via::CssUrl, Base::Document),
            ]
        );
    }

    #[test]
    fn text_that_only_looks_like_markup_is_not_followed() {
        let page = r#"<!-- <script src="/commented.js"></script> -->
            <pre>&lt;script src="/escaped.js"&gt;</pre>
            <script>var s = "<script src='/in-a-string.js'><\/script>";</script>
            <textarea><link rel=stylesheet href=/in-textarea.css></textarea>
            <script src="/a.js?x=1&amp;y=2"></script>
            <script type="text/template"><script src="/template.js"></script>"#;
        assert_eq!(urls(page), [("/a.js?x=1&y=2".into(), Via::HtmlScript)]);
    }

    #[test]
    fn junk_never_panics() {
        for junk in [
            &b"<script"[..],
            b"<script>import('/x.js')",
            b"<<<>>><scr\xffipt src=\xff>",
            b"\x00\x00<link rel=stylesheet href",
            b"<style>@import",
        ] {
            let _ = extract(junk);
        }
        assert_eq!(
            extract(b"<script type=module>import('/x.js')").links[0].url,
            "/x.js"
        );
    }
}
