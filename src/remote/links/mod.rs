//! The URLs a browser loads from a page, a script or a stylesheet, as the parsers see them:
//! pure functions, bytes in, links out, no I/O and no URL resolution (the crawl resolves each
//! link against the base it names).
//!
//! - [`html`]: a WHATWG tokenizer (html5gum) finds `<script src>`, module preloads, preloads,
//!   stylesheets, the web app manifest, `<base href>`, import maps, and hands inline scripts and
//!   styles to the other two;
//! - [`js`]: oxc's AST gives static imports and re-exports, `import('…')`, workers,
//!   `new URL('…', import.meta.url)`, `navigator.serviceWorker.register('…')` and
//!   `importScripts('…')` — only literal URLs; a name computed at run time (webpack's lazy
//!   chunks) cannot be followed without running the code;
//! - [`css`]: cssparser's tokens give `@import` and `url(…)`.

pub mod css;
pub mod html;
pub mod js;

use super::Via;

/// One URL found in a document, as written there (entities and escapes decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub url: String,
    pub base: Base,
    pub via: Via,
    pub hint: Hint,
}

/// What a relative link is resolved against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The document's base URL (`<base href>` or the page's URL; for code running in a worker,
    /// the worker script's URL): HTML attributes, inline scripts, `new Worker('…')`,
    /// `navigator.serviceWorker.register('…')`.
    Document,
    /// The URL of the script or stylesheet that contains the link: imports, `import.meta.url`,
    /// CSS `@import` and `url()`.
    Resource,
}

/// What the request is expected to return, for responses that do not say (`text/plain`,
/// no `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Script,
    Style,
    Manifest,
    /// Anything: judged by `Content-Type`, then the URL's extension, then the content.
    Any,
}

/// Everything found in one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    pub links: Vec<Link>,
    /// `<base href>` of an HTML page (the first one, as browsers take it).
    pub base_href: Option<String>,
    /// Why some links may have been missed (a script that does not parse), for notes.
    pub notes: Vec<String>,
}

impl Extracted {
    fn push(&mut self, url: &str, base: Base, via: Via, hint: Hint) {
        let url = url.trim_matches(|c: char| c.is_ascii_whitespace());
        // Nothing to fetch: empty, in-page, or a scheme that is not a request.
        if url.is_empty() || url.starts_with('#') {
            return;
        }
        let lower = url.get(..11).unwrap_or(url).to_ascii_lowercase();
        if ["data:", "blob:", "javascript:", "about:", "mailto:"]
            .iter()
            .any(|s| lower.starts_with(s))
        {
            return;
        }
        // The first mention decides how a URL is reported (the crawl keeps the first too).
        if self.links.iter().any(|l| l.url == url && l.base == base) {
            return;
        }
        self.links.push(Link {
            url: url.to_owned(),
            base,
            via,
            hint,
        });
    }

    fn extend_from(&mut self, other: Extracted, base_override: Option<Base>) {
        for l in other.links {
            self.push(&l.url, base_override.unwrap_or(l.base), l.via, l.hint);
        }
        self.notes.extend(other.notes);
    }
}

#[cfg(test)]
impl Extracted {
    /// `(url, via)` of every link, in order: what the extractor tests compare.
    pub(crate) fn url_via(self) -> Vec<(String, Via)> {
        self.links.into_iter().map(|l| (l.url, l.via)).collect()
    }
}
