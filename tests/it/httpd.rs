//! Servers for the `verify https://…` tests, on 127.0.0.1 only, stopped when dropped.
//!
//! - [`Server::raw`]: a TCP listener that hands each connection to a function — for hostile
//!   servers (stalls, endless bodies, garbage, redirect loops).
//! - [`Server::http`]: a small HTTP/1.1 server (keep-alive, `Content-Length` responses) over a
//!   handler function, with every request recorded; [`static_site`] is a handler serving a
//!   directory the way static hosts do (content types, optional gzip/brotli encoding, an SPA
//!   fallback, extra headers per path).
//! - [`Nginx`]: Debian's nginx with a config of the test's own, a temp prefix and a free high
//!   port; no root needed. Missing nginx: a failure when `CI` is set, a printed skip otherwise.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::harness::needed;

/// A listener on 127.0.0.1 and its accept thread.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    /// Request lines (`GET /path`) of [`Server::http`] servers, in arrival order.
    pub hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Each connection goes to `serve` on a thread of its own. `serve` should return once
    /// `stop` is set or the peer is gone.
    pub fn raw<F>(serve: F) -> Server
    where
        F: Fn(TcpStream, &AtomicBool) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let serve = Arc::new(serve);
        let flag = Arc::clone(&stop);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let serve = Arc::clone(&serve);
                let flag = Arc::clone(&flag);
                std::thread::spawn(move || serve(conn, &flag));
            }
        });
        Server {
            addr,
            stop,
            accept: Some(accept),
            hits: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// An HTTP/1.1 server answering every request with `handler`.
    pub fn http<H>(handler: H) -> Server
    where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&hits);
        let mut s = Server::raw(move |conn, stop| {
            serve_http(conn, stop, &handler, &log);
        });
        s.hits = hits;
        s
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The paths requested so far.
    pub fn paths(&self) -> Vec<String> {
        self.hits
            .lock()
            .expect("hits")
            .iter()
            .map(|l| l.split(' ').nth(1).unwrap_or("").to_owned())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// One request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What a handler answers.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn redirect(status: u16, location: &str) -> Response {
        Response::new(status, "text/plain", "moved").header("Location", location)
    }
}

fn serve_http<H>(conn: TcpStream, stop: &AtomicBool, handler: &H, log: &Mutex<Vec<String>>)
where
    H: Fn(&Request) -> Response,
{
    let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        let Some(req) = read_request(&mut reader, stop) else {
            return;
        };
        log.lock()
            .expect("hits")
            .push(format!("{} {}", req.method, req.target));
        let resp = handler(&req);
        let mut head = format!("HTTP/1.1 {} X\r\n", resp.status);
        for (k, v) in &resp.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", resp.body.len()));
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&resp.body).is_err() {
            return;
        }
    }
}

/// Read one request head (bodies are not expected); `None` at the end of the connection or on
/// `stop`.
fn read_request(r: &mut BufReader<TcpStream>, stop: &AtomicBool) -> Option<Request> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            return None;
        }
        match r.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) => {
                if line.ends_with('\n') {
                    let l = line.trim_end().to_owned();
                    line.clear();
                    if l.is_empty() {
                        if lines.is_empty() {
                            continue;
                        }
                        break;
                    }
                    lines.push(l);
                    if lines.len() > 200 {
                        return None;
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
    let mut first = lines[0].split(' ');
    let method = first.next().unwrap_or("").to_owned();
    let target = first.next().unwrap_or("").to_owned();
    let headers = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Request {
        method,
        target,
        headers,
    })
}

/// How [`static_site`] serves a directory.
#[derive(Clone, Default)]
pub struct Site {
    /// Content codings the server may use, best first (`gzip`, `br`), when the client accepts
    /// them.
    pub encodings: Vec<&'static str>,
    /// Answer every missing path with `/index.html` and 200, like an SPA host.
    pub spa_fallback: bool,
    /// Extra headers for a path: `(path, name, value)`; `name` gets `value` with `{path}`
    /// replaced by the request path.
    pub headers: Vec<(String, String, String)>,
}

/// The `Content-Type` a static host sends for `path`.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "map" | "json" => "application/json",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// A handler serving `root` as a static host would.
pub fn static_site(root: PathBuf, site: Site) -> impl Fn(&Request) -> Response + Send + Sync {
    move |req| {
        let path = percent_decode(req.path());
        let rel = path.trim_start_matches('/');
        let mut file = root.join(if rel.is_empty() || rel.ends_with('/') {
            format!("{rel}index.html")
        } else {
            rel.to_owned()
        });
        if rel.split('/').any(|s| s == "..") {
            return Response::new(400, "text/plain", "bad path");
        }
        if !file.is_file() {
            if !site.spa_fallback {
                return Response::new(404, "text/html", "<h1>Not Found</h1>");
            }
            file = root.join("index.html");
        }
        let body = std::fs::read(&file).unwrap_or_default();
        let name = file.to_string_lossy().into_owned();
        let mut resp = Response::new(200, content_type(&name), body);
        for (p, k, v) in &site.headers {
            if p == req.path() {
                resp = resp.header(k, &v.replace("{path}", req.path()));
            }
        }
        let accepts = req.header("accept-encoding").unwrap_or("").to_owned();
        if let Some(enc) = site
            .encodings
            .iter()
            .find(|e| accepts.split(',').any(|a| a.trim() == **e))
        {
            let codec = match *enc {
                "gzip" => mapvault::compress::Codec::Gzip,
                "br" => mapvault::compress::Codec::Brotli,
                _ => mapvault::compress::Codec::Zstd,
            };
            resp.body = mapvault::compress::compress(codec, &resp.body).expect("compress");
            resp = resp.header("Content-Encoding", enc);
        }
        resp
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// nginx

/// Debian's nginx, when installed (`scripts/ci-deps.sh` installs it).
pub fn nginx_bin() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// `Some(nginx)`, or `None` after printing why the test is skipped. With `CI` set a missing
/// nginx fails the test: CI must run it.
pub fn require_nginx(test: &str) -> Option<PathBuf> {
    let found = nginx_bin().ok_or_else(|| "bash scripts/ci-deps.sh installs it".to_string());
    needed(test, "nginx is not installed", found)
}

/// An nginx master in the foreground with its own prefix, stopped (SIGKILL) when dropped.
pub struct Nginx {
    child: Child,
    pub port: u16,
    prefix: PathBuf,
}

impl Nginx {
    /// Start `bin` serving with `server` as the body of its `server {}` block (`listen` is
    /// added). `prefix` is a fresh directory for its config, logs and temp files.
    pub fn start(bin: &Path, prefix: &Path, server: &str) -> Nginx {
        std::fs::create_dir_all(prefix.join("tmp")).expect("nginx prefix");
        let mime = Path::new("/etc/nginx/mime.types");
        let types = if mime.is_file() {
            format!("include {};", mime.display())
        } else {
            "types { text/html html; text/css css; application/javascript js; application/json json map; }"
                .to_string()
        };
        // Root would have nginx switch workers to `nobody`, who cannot read the test's
        // private temp dir; single-process mode keeps one process as whoever runs the test.
        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let p = prefix.display();
            let conf = format!(
                "daemon off;\nmaster_process off;\nworker_processes 1;\npid {p}/nginx.pid;\n\
                 error_log {p}/error.log warn;\nevents {{ worker_connections 512; }}\n\
                 http {{\n  {types}\n  default_type application/octet-stream;\n  access_log off;\n\
                   client_body_temp_path {p}/tmp/body;\n  proxy_temp_path {p}/tmp/proxy;\n\
                   fastcgi_temp_path {p}/tmp/fastcgi;\n  uwsgi_temp_path {p}/tmp/uwsgi;\n\
                   scgi_temp_path {p}/tmp/scgi;\n\
                   server {{\n    listen 127.0.0.1:{port};\n{server}\n  }}\n}}\n"
            );
            let conf_path = prefix.join("nginx.conf");
            std::fs::write(&conf_path, conf).expect("write nginx.conf");
            let mut child = Command::new(bin)
                .arg("-p")
                .arg(prefix)
                .arg("-e")
                .arg(prefix.join("error.log"))
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Nginx {
                        child,
                        port,
                        prefix: prefix.to_path_buf(),
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            last_err = format!(
                "{err}\n{}",
                std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default()
            );
        }
        panic!("nginx did not start:\n{last_err}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// nginx's error log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.prefix.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now (the kernel's pick; a race with other processes is
/// retried by the caller).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
