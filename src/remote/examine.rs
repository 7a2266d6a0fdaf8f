//! One response, judged: the leaks in it, the notes and errors it deserves, and the requests it
//! leads to (assets it loads, maps to probe for). Pure — the crawl does the fetching, this
//! module only reads a [`Response`] — so every rule is testable without a server.
//!
//! The rules, by the role of the request:
//! - **probe** (`<asset>.map`, a reference's URL, a header's URL): a leak only when the body is a
//!   source map by content ([`probes::judge`]); its status and headers do not matter.
//! - **page or asset**: a 4xx means nothing is served there (a note; an error for a URL given
//!   as argument, which the run could not check); a 5xx or another odd status is an error. A
//!   2xx response is checked for `SourceMap` / `X-SourceMap` headers (each a leak, its URL
//!   probed), then its body goes through the file scanner ([`crate::scan::analyze_with`]) under
//!   a name chosen from its `Content-Type` (so a script is scanned as a script whatever its URL
//!   looks like), and for scripts, stylesheets and WebAssembly the URLs their references name
//!   and `<asset>.map` are probed. A script or stylesheet request answered with an HTML page is
//!   an SPA's fallback: noted, not scanned.

use url::Url;

use super::Via;
use super::client::Response;
use super::links::{self, Base, Hint, Link};
use super::probes;
use crate::scan::{self, LeakKind, mapsniff};

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A URL given as argument: a page (links followed) or a single asset.
    Entry,
    /// Something a page or script loads.
    Asset(Hint),
    /// A guess or a reference target: only a map by content counts.
    Probe,
}

/// The request a response answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The URL requested (before any redirect).
    pub url: Url,
    pub role: Role,
    pub via: Via,
    /// The document base URL for links a script resolves against the document (the page that
    /// loaded it, or the worker script itself for code in a worker).
    pub page: Url,
}

/// A leak in one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: LeakKind,
    pub line: Option<u64>,
    pub message: String,
}

/// A request to make because of this response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    pub url: Url,
    pub role: Role,
    pub via: Via,
    pub page: Url,
}

/// Everything one response contributed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Examined {
    pub leaks: Vec<Finding>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
    pub follow: Vec<Follow>,
    /// The body was examined (counted in `files_scanned`).
    pub scanned: bool,
}

/// What the scanner is told a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Html,
    Js,
    Css,
    Wasm,
    Other,
}

impl BodyKind {
    /// The file name the scanner classifies the body by.
    fn scan_name(self) -> &'static [u8] {
        match self {
            BodyKind::Html => b"page.html",
            BodyKind::Js => b"script.js",
            BodyKind::Css => b"style.css",
            BodyKind::Wasm => b"module.wasm",
            // Sniffed by content: a map, a `#!node` script, a WebAssembly module.
            BodyKind::Other => b"response",
        }
    }
}

/// The kind of a body: its `Content-Type` first (what a browser goes by), then what the
/// request expected, then the URL's extension.
pub fn body_kind(content_type: Option<&str>, hint: Option<Hint>, url: &Url) -> BodyKind {
    let essence = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let by_type = match essence.as_str() {
        "text/html" | "application/xhtml+xml" => Some(BodyKind::Html),
        "text/css" => Some(BodyKind::Css),
        "application/wasm" => Some(BodyKind::Wasm),
        e if e.ends_with("javascript") || e.ends_with("ecmascript") || e == "text/jscript" => {
            Some(BodyKind::Js)
        }
        e if e == "application/json"
            || e.ends_with("+json")
            || e.starts_with("image/")
            || e.starts_with("font/") =>
        {
            Some(BodyKind::Other)
        }
        _ => None,
    };
    if let Some(k) = by_type {
        return k;
    }
    match hint {
        Some(Hint::Script) => return BodyKind::Js,
        Some(Hint::Style) => return BodyKind::Css,
        _ => {}
    }
    let name = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    match scan::classify(name.as_bytes()) {
        scan::FileKind::Js(_) => BodyKind::Js,
        scan::FileKind::Css => BodyKind::Css,
        scan::FileKind::Html => BodyKind::Html,
        scan::FileKind::Wasm => BodyKind::Wasm,
        _ if url.path().ends_with('/') => BodyKind::Html,
        _ => BodyKind::Other,
    }
}

/// `url()` targets that cannot carry a source map or load anything: not fetched, so fonts and
/// images do not eat the request budget.
fn is_media(url: &Url) -> bool {
    let name = url
        .path()
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    matches!(
        ext,
        "png"
            | "jpg"
            | "jpeg"
            | "gif"
            | "webp"
            | "avif"
            | "ico"
            | "bmp"
            | "cur"
            | "svg"
            | "woff"
            | "woff2"
            | "ttf"
            | "otf"
            | "eot"
            | "mp4"
            | "webm"
            | "mp3"
            | "ogg"
            | "wav"
            | "m4a"
            | "flac"
    )
}

/// Judge `resp`, the answer (at `at`, after any redirects) to `req`.
pub fn examine(req: &Request, at: &Url, resp: &Response, max_decompressed: u64) -> Examined {
    let mut out = Examined::default();
    if req.role == Role::Probe {
        out.scanned = true;
        let v = probes::judge(&resp.body, resp.truncated);
        if v.is_map() {
            out.leaks.push(Finding {
                kind: LeakKind::SourceMap,
                line: None,
                message: v.message().to_owned(),
            });
        }
        return out;
    }
    match resp.status {
        200..=299 => {}
        400..=499 if req.role != Role::Entry => {
            out.notes.push(format!(
                "not served (HTTP {}), nothing to check",
                resp.status
            ));
            return out;
        }
        s => {
            out.errors
                .push(format!("HTTP {s}: the response could not be checked"));
            return out;
        }
    }
    out.scanned = true;
    for (name, value) in &resp.source_map_headers {
        out.leaks.push(Finding {
            kind: LeakKind::HttpHeader,
            line: None,
            message: format!(
                "{name} header → {}",
                crate::sanitize::truncate(value.trim(), 160)
            ),
        });
        probe(&mut out, at, value.trim(), Via::MapHeader, req);
    }
    let hint = match req.role {
        Role::Asset(h) => Some(h),
        _ => None,
    };
    let kind = body_kind(resp.content_type.as_deref(), hint, at);
    if kind == BodyKind::Html && matches!(hint, Some(Hint::Script | Hint::Style | Hint::Manifest)) {
        out.notes.push(format!(
            "a {} request answered with an HTML page (an SPA fallback for a missing file?); not scanned",
            match hint {
                Some(Hint::Style) => "stylesheet",
                Some(Hint::Manifest) => "manifest",
                _ => "script",
            }
        ));
        return out;
    }
    if resp.truncated {
        out.errors.push(format!(
            "the body is larger than --max-body ({} bytes); only its start was scanned",
            resp.body.len()
        ));
    }
    let body = &resp.body;
    if mapsniff::json_start(body).is_some() && mapsniff::sniff(body).is_map() {
        out.leaks.push(Finding {
            kind: LeakKind::SourceMap,
            line: None,
            message: "source map served (by content)".into(),
        });
        return out;
    }
    let analysis = scan::analyze_with(kind.scan_name(), body, scan::Limits { max_decompressed });
    for l in scan::leaks(&analysis, body) {
        out.leaks.push(Finding {
            kind: l.kind,
            line: l.line,
            message: l.message,
        });
    }
    for n in &analysis.notes {
        out.notes.push(n.message.clone());
    }
    if let Some(e) = &analysis.error {
        out.errors.push(e.clone());
    }
    // Links a browser loads from this body (from a page, only when it is the page asked for:
    // an HTML answer to anything else is a fallback or a document, not followed).
    let found = match kind {
        BodyKind::Html => Some(links::html::extract(body)),
        BodyKind::Js => Some(links::js::extract(body)),
        BodyKind::Css => Some(links::css::extract(body)),
        BodyKind::Wasm | BodyKind::Other => None,
    };
    // A page's base URL: its first `<base href>` resolved against where it was served.
    let base = found
        .as_ref()
        .and_then(|f| f.base_href.as_deref())
        .and_then(|b| at.join(b.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| at.clone());
    // The URL each reference names: relative to the script (for an inline script, the page).
    for r in &analysis.refs {
        let text = body.get(r.url.clone()).unwrap_or_default();
        if matches!(
            LeakKind::of(r.form, text),
            LeakKind::MapReference | LeakKind::WasmSection
        ) {
            probe(
                &mut out,
                &base,
                &String::from_utf8_lossy(text),
                Via::MapReference,
                req,
            );
        }
    }
    if matches!(kind, BodyKind::Js | BodyKind::Css | BodyKind::Wasm)
        && let Some(u) = probes::suffix_url(at)
    {
        push(&mut out, u, Role::Probe, Via::MapSuffix, req.page.clone());
    }
    let follow_links = kind != BodyKind::Html || req.role == Role::Entry;
    if let Some(found) = found.filter(|_| follow_links) {
        out.notes.extend(found.notes);
        let page = match kind {
            BodyKind::Html => base.clone(),
            _ => req.page.clone(),
        };
        for l in &found.links {
            follow(&mut out, l, at, &page);
        }
    }
    out
}

fn follow(out: &mut Examined, l: &Link, at: &Url, page: &Url) {
    let base = match l.base {
        Base::Document => page,
        Base::Resource => at,
    };
    let Ok(mut u) = base.join(&l.url) else {
        out.notes
            .push(format!("{:?} is not a valid URL; not followed", l.url));
        return;
    };
    u.set_fragment(None);
    if !matches!(u.scheme(), "http" | "https") || (l.via == Via::CssUrl && is_media(&u)) {
        return;
    }
    // Code in a worker resolves document-relative URLs against the worker script.
    let page = match l.via {
        Via::JsWorker | Via::JsServiceWorker => u.clone(),
        _ => page.clone(),
    };
    push(out, u, Role::Asset(l.hint), l.via, page);
}

fn probe(out: &mut Examined, base: &Url, target: &str, via: Via, req: &Request) {
    if scan::datauri::is_data_uri(target.as_bytes()) || target.is_empty() {
        return;
    }
    match base.join(target) {
        Ok(mut u) if matches!(u.scheme(), "http" | "https") => {
            u.set_fragment(None);
            push(out, u, Role::Probe, via, req.page.clone());
        }
        Ok(u) => out.notes.push(format!(
            "a map reference names {}, which is not fetched over HTTP",
            crate::sanitize::truncate(u.as_str(), 160)
        )),
        Err(_) => out.notes.push(format!(
            "a map reference names {:?}, which is not a valid URL",
            crate::sanitize::truncate(target, 160)
        )),
    }
}

fn push(out: &mut Examined, url: Url, role: Role, via: Via, page: Url) {
    if !out.follow.iter().any(|f| f.url == url) {
        out.follow.push(Follow {
            url,
            role,
            via,
            page,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ok(content_type: &str, body: &[u8]) -> Response {
        Response {
            status: 200,
            location: None,
            content_type: Some(content_type.into()),
            source_map_headers: Vec::new(),
            body: body.to_vec(),
            truncated: false,
        }
    }

    fn req(u: &str, role: Role, via: Via) -> Request {
        Request {
            url: url(u),
            role,
            via,
            page: url("https://x.test/app/"),
        }
    }

    #[test]
    fn a_script_is_scanned_and_its_map_and_imports_probed() {
        let r = req(
            "https://x.test/app/a.js?v=2",
            Role::Asset(Hint::Script),
            Via::HtmlScript,
        );
        let body = b"import './b.js';\nimport('./c.js');\n//# sourceMappingURL=maps/a.js.map\n";
        let e = examine(&r, &r.url, &ok("text/javascript", body), 1 << 20);
        assert_eq!(e.leaks.len(), 1);
        assert_eq!(
            (e.leaks[0].kind, e.leaks[0].line),
            (LeakKind::MapReference, Some(3))
        );
        let f: Vec<(&str, Role, Via)> = e
            .follow
            .iter()
            .map(|f| (f.url.as_str(), f.role, f.via))
            .collect();
        assert_eq!(
            f,
            [
                (
                    "https://x.test/app/maps/a.js.map",
                    Role::Probe,
                    Via::MapReference
                ),
                ("https://x.test/app/a.js.map", Role::Probe, Via::MapSuffix),
                (
                    "https://x.test/app/b.js",
                    Role::Asset(Hint::Script),
                    Via::JsImport
                ),
                (
                    "https://x.test/app/c.js",
                    Role::Asset(Hint::Script),
                    Via::JsDynamicImport
                ),
            ]
        );
    }

    #[test]
    fn headers_are_leaks_and_their_urls_probed() {
        let r = req(
            "https://x.test/app/a.css",
            Role::Asset(Hint::Style),
            Via::HtmlStylesheet,
        );
        let mut resp = ok("text/css", b"a{}");
        resp.source_map_headers
            .push(("SourceMap", "/maps/a.css.map".into()));
        let e = examine(&r, &r.url, &resp, 1 << 20);
        assert_eq!(e.leaks[0].kind, LeakKind::HttpHeader);
        assert_eq!(e.leaks[0].message, "SourceMap header → /maps/a.css.map");
        assert_eq!(e.follow[0].url.as_str(), "https://x.test/maps/a.css.map");
        assert_eq!(e.follow[0].via, Via::MapHeader);
    }

    #[test]
    fn an_spa_fallback_is_not_a_leak() {
        let page = b"<!doctype html><script type=module src=/assets/index.js></script>";
        let probe = req(
            "https://x.test/assets/index.js.map",
            Role::Probe,
            Via::MapSuffix,
        );
        let e = examine(&probe, &probe.url, &ok("text/html", page), 1 << 20);
        assert!(e.leaks.is_empty() && e.errors.is_empty());
        let script = req(
            "https://x.test/assets/gone.js",
            Role::Asset(Hint::Script),
            Via::JsImport,
        );
        let e = examine(&script, &script.url, &ok("text/html", page), 1 << 20);
        assert!(e.leaks.is_empty() && e.follow.is_empty(), "{e:?}");
        assert_eq!(e.notes.len(), 1);
        // A map by content is a leak whatever the status or the type says.
        let map = br#"{"version":3,"sources":["a.ts"],"mappings":"AAAA"}"#;
        let mut resp = ok("text/html", map);
        resp.status = 404;
        assert_eq!(examine(&probe, &probe.url, &resp, 1 << 20).leaks.len(), 1);
    }

    #[test]
    fn statuses() {
        let script = req(
            "https://x.test/a.js",
            Role::Asset(Hint::Script),
            Via::HtmlScript,
        );
        let mut resp = ok("text/javascript", b"");
        resp.status = 404;
        let e = examine(&script, &script.url, &resp, 1 << 20);
        assert!(e.errors.is_empty() && e.notes.len() == 1);
        resp.status = 503;
        assert_eq!(
            examine(&script, &script.url, &resp, 1 << 20).errors.len(),
            1
        );
        let entry = req("https://x.test/", Role::Entry, Via::Argument);
        resp.status = 404;
        assert_eq!(examine(&entry, &entry.url, &resp, 1 << 20).errors.len(), 1);
    }

    #[test]
    fn pages_resolve_against_base_href_and_workers_against_themselves() {
        let entry = req("https://x.test/app/index.html", Role::Entry, Via::Argument);
        let page = br#"<base href="/static/"><script src="main.js"></script>"#;
        let e = examine(
            &entry,
            &entry.url,
            &ok("text/html; charset=utf-8", page),
            1 << 20,
        );
        assert_eq!(e.follow[0].url.as_str(), "https://x.test/static/main.js");
        assert_eq!(e.follow[0].page.as_str(), "https://x.test/static/");
        let main = Request {
            url: url("https://x.test/static/main.js"),
            role: Role::Asset(Hint::Script),
            via: Via::HtmlScript,
            page: url("https://x.test/static/"),
        };
        let js = b"new Worker(new URL('./w.js', import.meta.url)); navigator.serviceWorker.register('sw.js');";
        let e = examine(&main, &main.url, &ok("application/javascript", js), 1 << 20);
        let w = e.follow.iter().find(|f| f.via == Via::JsWorker);
        assert_eq!(
            w.map(|f| f.page.as_str()),
            Some("https://x.test/static/w.js")
        );
        let sw = e.follow.iter().find(|f| f.via == Via::JsServiceWorker);
        assert_eq!(
            sw.map(|f| f.url.as_str()),
            Some("https://x.test/static/sw.js")
        );
    }

    #[test]
    fn body_kinds() {
        let u = url("https://x.test/a.js");
        assert_eq!(
            body_kind(Some("text/javascript; charset=utf-8"), None, &u),
            BodyKind::Js
        );
        assert_eq!(
            body_kind(Some("text/plain"), Some(Hint::Style), &u),
            BodyKind::Css
        );
        assert_eq!(body_kind(None, None, &u), BodyKind::Js);
        assert_eq!(
            body_kind(Some("application/json"), Some(Hint::Script), &u),
            BodyKind::Other
        );
        assert_eq!(
            body_kind(None, None, &url("https://x.test/a.js.map")),
            BodyKind::Other
        );
        assert_eq!(
            body_kind(None, None, &url("https://x.test/app/")),
            BodyKind::Html
        );
    }
}
