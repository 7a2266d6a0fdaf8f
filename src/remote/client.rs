//! One HTTP GET at a time, bounded in time and memory: the only code in `remote` that touches
//! the network.
//!
//! Why ureq 3: a crawl of a few hundred URLs with a handful of concurrent requests needs
//! neither HTTP/2 nor an async runtime; ureq is a blocking HTTP/1.1 client (no tokio, no
//! hyper), so a small pool of plain threads drives it, and it has every knob this needs: rustls
//! with the platform's verifier (`rustls-platform-verifier`: the system's roots and
//! `SSL_CERT_FILE`), proxies from `ALL_PROXY` / `HTTPS_PROXY` / `HTTP_PROXY` with `NO_PROXY`, a
//! per-request budget that covers connecting, waiting and reading the body
//! (`timeout_global`), and redirects switched off so the crawl follows them itself (each hop
//! counted, its origin checked). ureq's own gzip/brotli features stay off: bodies are decoded
//! here by [`crate::compress`] (gzip, br, zstd), streaming, with the same output cap whether or
//! not the body was compressed — a decompression bomb stops at the cap like an endless body.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use crate::compress::{self, Codec};

use super::RemoteOptions;

/// Sent with every request, so a site's logs say what fetched its maps.
pub const USER_AGENT: &str = concat!(
    "mapvault/",
    env!("CARGO_PKG_VERSION"),
    " (source-map leak check; +https://github.com/mapvault/mapvault)"
);

/// What [`Client::get`] got back. A redirect's body is never read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// `Location` of a 3xx response.
    pub location: Option<String>,
    pub content_type: Option<String>,
    /// `SourceMap` and `X-SourceMap` headers, as (name as written here, value).
    pub source_map_headers: Vec<(&'static str, String)>,
    /// The decoded body, at most the cap given to [`Client::get`].
    pub body: Vec<u8>,
    /// The body was longer than the cap; `body` holds its start.
    pub truncated: bool,
}

/// Why a request gave no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("{0}")]
    Failed(String),
    #[error("cannot decode the body: {0}")]
    Decode(String),
}

/// The configured agent; cheap to share between threads (`&Client`).
pub struct Client {
    agent: ureq::Agent,
    headers: Vec<(String, String)>,
}

impl Client {
    pub fn new(opts: &RemoteOptions) -> Client {
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build();
        let jobs = opts.jobs.max(1);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(USER_AGENT)
            .accept_encoding("gzip, br, zstd")
            .tls_config(tls)
            .proxy(ureq::Proxy::try_from_env())
            // Keep one connection per worker alive, so a crawl of one host reuses them.
            .max_idle_connections(jobs * 2)
            .max_idle_connections_per_host(jobs)
            .timeout_global(Some(opts.timeout))
            .build();
        Client {
            agent: config.into(),
            headers: opts.headers.clone(),
        }
    }

    /// GET `url` (no redirect followed) within `timeout`, reading at most `cap` decoded bytes
    /// of the body.
    pub fn get(&self, url: &url::Url, timeout: Duration, cap: u64) -> Result<Response, FetchError> {
        let mut req = self
            .agent
            .get(url.as_str())
            .config()
            .timeout_global(Some(timeout))
            .build();
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = req.call().map_err(|e| request_error(e, timeout))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let location = header("location");
        let content_type = header("content-type");
        let content_encoding = header("content-encoding");
        let mut source_map_headers = Vec::new();
        for name in ["SourceMap", "X-SourceMap"] {
            for v in resp.headers().get_all(name) {
                source_map_headers.push((name, String::from_utf8_lossy(v.as_bytes()).into_owned()));
            }
        }
        let mut out = Response {
            status,
            location,
            content_type,
            source_map_headers,
            body: Vec::new(),
            truncated: false,
        };
        if (300..400).contains(&status) && out.location.is_some() {
            return Ok(out);
        }
        let raw = resp.body_mut().with_config().limit(u64::MAX).reader();
        let mut decoded = decode_chain(content_encoding.as_deref(), raw)
            .map_err(|e| FetchError::Decode(e.to_string()))?
            .take(cap.saturating_add(1));
        match decoded.read_to_end(&mut out.body) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) => return Err(FetchError::Timeout(timeout)),
            Err(e) if is_decode_error(&e) => return Err(FetchError::Decode(e.to_string())),
            Err(e) => return Err(FetchError::Failed(format!("reading the body: {e}"))),
        }
        if out.body.len() as u64 > cap {
            out.body
                .truncate(usize::try_from(cap).unwrap_or(usize::MAX));
            out.truncated = true;
        }
        Ok(out)
    }
}

fn request_error(e: ureq::Error, timeout: Duration) -> FetchError {
    match e {
        ureq::Error::Timeout(_) => FetchError::Timeout(timeout),
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => FetchError::Timeout(timeout),
        ureq::Error::Protocol(p) => FetchError::Failed(format!("not a valid HTTP response: {p}")),
        other => FetchError::Failed(other.to_string()),
    }
}

/// A read that failed because the request's time ran out (ureq reports its own timeouts
/// while reading a body as an `io::Error` wrapping [`ureq::Error::Timeout`]).
fn is_timeout(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::TimedOut
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)))
}

fn is_decode_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
    )
}

/// The codings of a `Content-Encoding` header, in the order they were applied.
pub fn codings(header: &str) -> Result<Vec<Codec>, String> {
    let mut out = Vec::new();
    for c in header.split(',').map(|c| c.trim().to_ascii_lowercase()) {
        match c.as_str() {
            "" | "identity" => {}
            "gzip" | "x-gzip" => out.push(Codec::Gzip),
            "br" => out.push(Codec::Brotli),
            "zstd" => out.push(Codec::Zstd),
            other => {
                return Err(format!(
                    "unsupported Content-Encoding {other:?} (not requested)"
                ));
            }
        }
    }
    if out.len() > 3 {
        return Err(format!("{} content codings stacked", out.len()));
    }
    Ok(out)
}

/// `raw` wrapped in a decoder per coding, the last applied coding undone first.
fn decode_chain<'a>(
    content_encoding: Option<&str>,
    raw: impl Read + 'a,
) -> io::Result<Box<dyn Read + 'a>> {
    let list = match content_encoding {
        Some(h) => codings(h).map_err(io::Error::other)?,
        None => Vec::new(),
    };
    let mut r: Box<dyn Read + 'a> = Box::new(raw);
    for c in list.into_iter().rev() {
        // The frame header is not at hand before the body streams in: a zstd window is
        // bounded by the decoder's own limit (128 MiB) and the body by `--max-body`.
        r = compress::decoder(c, r, &[]).map_err(io::Error::other)?;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_codings_are_parsed_in_order() {
        assert_eq!(codings("gzip"), Ok(vec![Codec::Gzip]));
        assert_eq!(codings("identity"), Ok(vec![]));
        assert_eq!(codings("br, zstd"), Ok(vec![Codec::Brotli, Codec::Zstd]));
        assert!(codings("deflate").is_err());
        assert!(codings("gzip,gzip,gzip,gzip").is_err());
    }

    #[test]
    fn stacked_codings_decode_last_first() -> io::Result<()> {
        let text = b"console.log(1)\n//# sourceMappingURL=a.js.map\n";
        let gz = compress::compress(Codec::Gzip, text)?;
        let br_of_gz = compress::compress(Codec::Brotli, &gz)?;
        let mut out = Vec::new();
        decode_chain(Some("gzip, br"), &br_of_gz[..])?.read_to_end(&mut out)?;
        assert_eq!(out, text);
        Ok(())
    }
}
