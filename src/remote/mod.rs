//! `mapvault verify https://…`: what a visitor — or an attacker's source-map scraper — can fetch
//! from a deployed site.
//!
//! Starting from each URL given, the crawl fetches the page, the scripts, module preloads,
//! stylesheets, web app manifest and service worker it names, follows JavaScript imports
//! (static and dynamic), workers and `new URL('…', import.meta.url)` assets and CSS `@import` /
//! `url()`, and stays on the same origin unless `--allow-origin` names another. Every response
//! body goes through the same scanner as a file ([`crate::scan::analyze_with`]), every
//! response's `SourceMap` / `X-SourceMap` headers are checked, and for every script,
//! stylesheet and WebAssembly module the crawl *probes*: the URL each reference names, the URL
//! each header names, and `<asset>.map`.
//!
//! What is a leak, as for files:
//! - a reference still served (a comment in a body, a `SourceMap` header) — whatever its target
//!   returns, as a comment is in a file;
//! - a response whose body **is a source map by content**. A probe answered with an SPA's
//!   `index.html` (200), a 403 or a 404 is not a leak.
//!
//! A run that could not look at everything it found (a timeout, a refused connection, a 5xx, a
//! body over `--max-body`, `--max-requests` or `--time-limit` reached) reports errors, so it
//! exits 2 and is never called clean.
//!
//! Layout: [`client`] does the HTTP (ureq, rustls, bounded bodies, `Content-Encoding`),
//! [`links`] extracts URLs from HTML, JavaScript and CSS (pure), [`examine`] turns one
//! response into findings and follow-up requests (pure), [`probes`] judges probe answers, and
//! [`crawl`] schedules the requests on a few threads within the limits.

pub mod client;
pub mod crawl;
pub mod examine;
pub mod links;
pub mod probes;

use std::path::PathBuf;
use std::time::Duration;

use crate::verify::VerifyReport;

/// Everything `verify` needs to check URLs, validated.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// The URLs given on the command line (http or https), fragments removed.
    pub urls: Vec<url::Url>,
    /// Concurrent requests.
    pub jobs: usize,
    /// At most this many HTTP requests in the whole run (redirect hops count).
    pub max_requests: u64,
    /// Budget for one request, from connecting to the end of its body.
    pub timeout: Duration,
    /// Budget for the whole run.
    pub time_limit: Duration,
    /// Largest decoded body read for an asset; a longer one is an error (not fully scanned).
    pub max_body: u64,
    /// Extra request headers (`--header 'Name: value'`), sent with every request.
    pub headers: Vec<(String, String)>,
    /// Origins besides the arguments' own that may be fetched (`--allow-origin`).
    pub allow_origins: Vec<url::Origin>,
}

/// Concurrent requests when `--jobs` is not given: what a browser opens to one host over
/// HTTP/1.1 (Chrome, Firefox and Safari all use 6), so a run loads a site no harder than a
/// visitor's browser does.
pub const DEFAULT_JOBS: usize = 6;
pub const DEFAULT_MAX_REQUESTS: u64 = 500;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(300);
pub const DEFAULT_MAX_BODY: u64 = 64 << 20;
/// Redirects followed for one request before it counts as a loop.
pub const MAX_REDIRECTS: u32 = 10;

pub use crate::findings::{HttpFinding, Via};

pub use crate::relpath::is_url;

/// Parse a URL argument: http or https with a host; the fragment is dropped (never sent).
pub fn parse_url(arg: &str) -> anyhow::Result<url::Url> {
    let mut u =
        url::Url::parse(arg).map_err(|e| anyhow::anyhow!("{arg:?} is not a valid URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
        anyhow::bail!("{arg:?}: only http:// and https:// URLs with a host can be verified");
    }
    u.set_fragment(None);
    Ok(u)
}

/// Parse `--allow-origin`: `https://cdn.example.com` (a port if not the default; any path is
/// ignored).
pub fn parse_origin(arg: &str) -> anyhow::Result<url::Origin> {
    let u = parse_url(arg).map_err(|e| {
        anyhow::anyhow!(
            "--allow-origin wants scheme://host[:port], like https://cdn.example.com: {e}"
        )
    })?;
    Ok(u.origin())
}

/// Parse `--header 'Name: value'`.
pub fn parse_header(arg: &str) -> anyhow::Result<(String, String)> {
    let Some((name, value)) = arg.split_once(':') else {
        anyhow::bail!("--header {arg:?}: expected 'Name: value'");
    };
    let name = name.trim();
    let value = value.trim();
    ureq::http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| anyhow::anyhow!("--header {arg:?}: {name:?} is not a valid header name"))?;
    ureq::http::HeaderValue::from_str(value).map_err(|_| {
        anyhow::anyhow!("--header {arg:?}: the value has characters a header cannot carry")
    })?;
    Ok((name.to_owned(), value.to_owned()))
}

/// Check every URL in `opts`; `several` says whether the run has other arguments too (then
/// each leak carries its argument as `root`, as for paths). Leaks, notes and errors come back
/// sorted; `files_scanned` counts the responses examined, `requests` the requests sent.
pub fn verify(opts: &RemoteOptions, several: bool) -> VerifyReport {
    let mut report = crawl::run(opts, several);
    report.clean = report.leaks.is_empty() && report.errors.is_empty();
    report.sort();
    report
}

/// `verify PATH|URL…`: the local paths as [`crate::verify::verify`] does, then the URLs over HTTP
/// (this module), in one report. With several arguments in all, every leak names its
/// argument in `root`.
pub fn verify_all(paths: &[PathBuf], remote: Option<&RemoteOptions>) -> VerifyReport {
    let Some(remote) = remote else {
        return crate::verify::verify(paths);
    };
    let several = paths.len() + remote.urls.len() > 1;
    let mut report = if paths.is_empty() {
        VerifyReport::default()
    } else {
        let mut r = crate::verify::verify(paths);
        if several {
            let root = paths[0].display().to_string();
            for l in r.leaks.iter_mut().filter(|l| l.root.is_none()) {
                l.root = Some(root.clone());
            }
        }
        r
    };
    let r = verify(remote, several);
    report.files_scanned += r.files_scanned;
    report.leaks.extend(r.leaks);
    report.notes.extend(r.notes);
    report.errors.extend(r.errors);
    report.requests = r.requests;
    report.clean = report.leaks.is_empty() && report.errors.is_empty();
    report.sort();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_url("https://example.com".as_ref()));
        assert!(is_url("HTTP://127.0.0.1:8080/".as_ref()));
        assert!(!is_url("dist".as_ref()));
        assert!(!is_url("./http://x".as_ref()));
        assert!(!is_url("ftp://x".as_ref()));
    }

    #[test]
    fn arguments_are_validated() {
        assert!(parse_url("https://example.com/app/#top").is_ok_and(|u| u.fragment().is_none()));
        assert!(parse_url("https://").is_err());
        assert!(parse_url("file:///etc/passwd").is_err());
        assert_eq!(
            parse_origin("https://cdn.example.com/x").ok(),
            url::Url::parse("https://cdn.example.com")
                .ok()
                .map(|u| u.origin())
        );
        assert!(parse_origin("cdn.example.com").is_err());
        assert_eq!(
            parse_header("Authorization: Bearer x:y").ok(),
            Some(("Authorization".into(), "Bearer x:y".into()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert!(parse_header("X: a\nb").is_err());
    }

    #[test]
    fn via_names_match_serde() {
        for v in [
            Via::Argument,
            Via::HtmlModulepreload,
            Via::JsDynamicImport,
            Via::MapSuffix,
        ] {
            assert_eq!(
                serde_json::to_value(v).ok(),
                Some(serde_json::Value::String(v.as_str().into()))
            );
        }
    }
}
