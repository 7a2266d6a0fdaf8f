//! [`FaultProxy`]: `tests/tools/faultproxy.py` (an asyncio HTTP/1.1 reverse proxy, standard
//! library only) on 127.0.0.1 in front of the moto server, breaking requests in the way chosen at
//! start ([`Fault`]): for the tests of a remote vault whose server fails, stalls or drops
//! connections. Stopped when dropped. Plus the proxy's own tests, one per mode.
//!
//! ```ignore
//! let Some(s3) = S3Server::start("seal_survives_503s") else { return };
//! let proxy = FaultProxy::start(&s3.endpoint(), Fault::FailAfter(5));
//! let mut seal = env.mapvault(["seal", "dist", "--vault", &S3Server::url("vault", "")]);
//! s3.apply(&mut seal);
//! proxy.apply(&mut seal);          // after s3.apply: the endpoint becomes the proxy's
//! seal.expect_code(2);
//! assert!(proxy.count("fail") > 0);
//! ```
//!
//! Mind object_store's own retries (0.14): a 5xx, a reset or a timeout is retried with backoff,
//! by default up to 10 times within 3 minutes (`RetryConfig`, set only through the builder's
//! `with_retry`, no string key), and a stalled request waits for the client `timeout` (30 s by
//! default; a string key, so `--vault-option timeout=2s` under the contract). A test of a failing
//! or stalling server needs both small, or it runs for minutes before mapvault sees the error.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::harness::{TestCommand, manifest_dir, needed};
use crate::httpd::{Response, Server};
use crate::moto::S3Server;

/// What the proxy does, counted over requests in arrival order from 1.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Forward everything.
    Pass,
    /// Forward the first N requests, answer every later one `503` (S3's `ServiceUnavailable`
    /// XML) without forwarding it.
    FailAfter(u32),
    /// Answer each request `503` with probability `rate`, drawn from a PRNG seeded with `seed`
    /// (the same seed gives the same sequence).
    FailRate { rate: f64, seed: u64 },
    /// Forward the first N; read every later request whole and never answer it.
    StallAfter(u32),
    /// Forward the first N; cut every later one with a TCP reset: a request with a body in the
    /// middle of that body (upstream never sees it), a bodyless one in the middle of its
    /// response's body.
    ResetAfter(u32),
}

impl Fault {
    /// The proxy's MODE argument and its options.
    fn args(self) -> Vec<String> {
        match self {
            Fault::Pass => vec!["pass".into()],
            Fault::FailAfter(n) => vec![format!("fail-after:{n}")],
            Fault::FailRate { rate, seed } => {
                vec![
                    format!("fail-rate:{rate}"),
                    "--seed".into(),
                    seed.to_string(),
                ]
            }
            Fault::StallAfter(n) => vec![format!("stall-after:{n}")],
            Fault::ResetAfter(n) => vec![format!("reset-after:{n}")],
        }
    }
}

/// `python3` can run the proxy: with `CI` set a missing one is a panic, locally a printed skip.
pub fn require_python3(test: &str) -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let found = if ok {
        Ok(())
    } else {
        Err("not on PATH".to_string())
    };
    needed(test, "python3 is missing", found).is_some()
}

/// A running `faultproxy.py`, killed when dropped.
pub struct FaultProxy {
    child: Child,
    port: u16,
    /// One line per request (`N METHOD PATH -> ACTION`), as the proxy printed them.
    lines: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// A proxy on a free port forwarding to `upstream` (`http://127.0.0.1:PORT`), breaking
    /// requests as `fault` says.
    pub fn start(upstream: &str, fault: Fault) -> FaultProxy {
        Self::start_for(upstream, fault, &[])
    }

    /// As [`FaultProxy::start`], but only requests with one of `methods` (`"PUT"`, …) are
    /// counted and broken; the others always pass. Empty: every method.
    pub fn start_for(upstream: &str, fault: Fault, methods: &[&str]) -> FaultProxy {
        let script = manifest_dir().join("tests/tools/faultproxy.py");
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg(upstream).args(fault.args());
        if !methods.is_empty() {
            cmd.arg("--methods").arg(methods.join(","));
        }
        // stdin stays a pipe the proxy watches: it exits when this process is gone.
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 {}: {e}", script.display()));
        let stdout = child.stdout.take().expect("proxy stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            let mut first = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match first.take() {
                    Some(tx) => {
                        let _ = tx.send(line);
                    }
                    None => sink.lock().expect("proxy lines").push(line),
                }
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(60));
        let port = first
            .as_deref()
            .ok()
            .and_then(|l| l.strip_prefix("listening on 127.0.0.1:"))
            .and_then(|p| p.trim().parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("faultproxy.py did not start: first line {first:?}");
        };
        FaultProxy { child, port, lines }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`: the endpoint to give the client instead of the server's.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Send a command's S3 traffic through the proxy: `AWS_ENDPOINT_URL` = [`Self::endpoint`].
    /// Call after [`S3Server::apply`], which sets the server's own.
    pub fn apply<'c>(&self, cmd: &'c mut TestCommand) -> &'c mut TestCommand {
        cmd.env("AWS_ENDPOINT_URL", self.endpoint())
    }

    /// The request lines so far (`3 PUT /bucket/key -> fail 503`).
    pub fn log(&self) -> Vec<String> {
        self.lines.lock().expect("proxy lines").clone()
    }

    /// The log once the proxy has stopped adding lines: the proxy prints a request's line after
    /// the client may already have its answer, and a reader thread copies it here, so a count
    /// taken right after the last request can miss it (seen under load). Waits until no line
    /// came for 300 ms, 10 s at most.
    pub fn settled_log(&self) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut seen = self.log().len();
        let mut quiet_since = std::time::Instant::now();
        while std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let now = self.log().len();
            if now != seen {
                seen = now;
                quiet_since = std::time::Instant::now();
            } else if quiet_since.elapsed() >= std::time::Duration::from_millis(300) {
                break;
            }
        }
        self.log()
    }

    /// How many requests got `action` (`pass`, `fail`, `stall`, `reset-request`,
    /// `reset-response`, `skip`). A line is printed once the action is taken, so a request
    /// still being forwarded is not counted yet.
    pub fn count(&self, action: &str) -> usize {
        self.settled_log()
            .iter()
            .filter(|l| {
                l.split_once(" -> ")
                    .is_some_and(|(_, a)| a.split(' ').next() == Some(action))
            })
            .count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The proxy's own tests: an in-test upstream (fixed body) read with a raw HTTP/1.1 client,
// and moto through boto3 for the pass-through of real S3 traffic.

/// What a raw request got back: the status (if a status line came), the body bytes read, and
/// the error that ended the reading early, if any.
#[derive(Debug)]
struct Got {
    status: Option<u16>,
    body: Vec<u8>,
    error: Option<std::io::ErrorKind>,
}

/// `METHOD path` with `body` on a fresh connection, reading the answer with a `wait` timeout.
fn request(port: u16, method: &str, path: &str, body: &[u8], wait: Duration) -> Got {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect(addr).expect("connect to the proxy");
    s.set_read_timeout(Some(wait)).expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let mut got = Got {
        status: None,
        body: Vec::new(),
        error: None,
    };
    if let Err(e) = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
    {
        got.error = Some(e.kind());
        return got;
    }
    let mut r = BufReader::new(s);
    let mut line = String::new();
    let mut length = None;
    let head_read = (|| -> std::io::Result<()> {
        r.read_line(&mut line)?;
        got.status = line.split(' ').nth(1).and_then(|c| c.parse().ok());
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
                return Ok(());
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse::<usize>().ok();
            }
        }
    })();
    if let Err(e) = head_read {
        got.error = Some(e.kind());
        return got;
    }
    let want = length.unwrap_or(0);
    let mut buf = [0u8; 8192];
    while got.body.len() < want {
        match r.read(&mut buf) {
            Ok(0) => {
                got.error = Some(std::io::ErrorKind::UnexpectedEof);
                break;
            }
            Ok(n) => got.body.extend_from_slice(&buf[..n]),
            Err(e) => {
                got.error = Some(e.kind());
                break;
            }
        }
    }
    got
}

const BODY_LEN: usize = 64 * 1024;

/// An upstream answering every request `200` with [`BODY_LEN`] bytes.
fn upstream() -> Server {
    Server::http(|_| Response::new(200, "application/octet-stream", vec![b'm'; BODY_LEN]))
}

fn get(p: &FaultProxy, path: &str) -> Got {
    request(p.port(), "GET", path, b"", Duration::from_secs(30))
}

#[test]
fn faultproxy_fail_after_n_answers_503_without_forwarding() {
    if !require_python3("faultproxy_fail_after_n_answers_503_without_forwarding") {
        return;
    }
    let up = upstream();
    let proxy = FaultProxy::start(&up.url(""), Fault::FailAfter(2));
    for i in 1..=4 {
        let got = get(&proxy, &format!("/b/k{i}"));
        if i <= 2 {
            assert_eq!(got.status, Some(200), "request {i}: {got:?}");
            assert_eq!(got.body.len(), BODY_LEN, "request {i}");
        } else {
            assert_eq!(got.status, Some(503), "request {i}: {got:?}");
            let text = String::from_utf8_lossy(&got.body);
            assert!(text.contains("<Code>ServiceUnavailable</Code>"), "{text}");
        }
    }
    assert_eq!(
        up.paths(),
        vec!["/b/k1", "/b/k2"],
        "failed requests never reach upstream"
    );
    assert_eq!(
        (proxy.count("pass"), proxy.count("fail")),
        (2, 2),
        "{:?}",
        proxy.log()
    );
}

#[test]
fn faultproxy_fail_rate_is_seeded() {
    if !require_python3("faultproxy_fail_rate_is_seeded") {
        return;
    }
    let up = upstream();
    let pattern = |seed: u64| -> Vec<u16> {
        let proxy = FaultProxy::start(&up.url(""), Fault::FailRate { rate: 0.5, seed });
        (0..24)
            .map(|i| get(&proxy, &format!("/r/{i}")).status.expect("a status"))
            .collect()
    };
    let a = pattern(7);
    assert!(
        a.contains(&200) && a.contains(&503),
        "rate 0.5 gives both: {a:?}"
    );
    assert!(a.iter().all(|s| *s == 200 || *s == 503), "{a:?}");
    assert_eq!(pattern(7), a, "the same seed, the same failures");
    assert_ne!(pattern(8), a, "another seed, other failures");
}

#[test]
fn faultproxy_stall_after_n_never_answers() {
    if !require_python3("faultproxy_stall_after_n_never_answers") {
        return;
    }
    let up = upstream();
    let proxy = FaultProxy::start(&up.url(""), Fault::StallAfter(1));
    assert_eq!(get(&proxy, "/s/1").status, Some(200));
    let stalled = request(
        proxy.port(),
        "GET",
        "/s/2",
        b"",
        Duration::from_millis(1500),
    );
    assert_eq!(stalled.status, None, "{stalled:?}");
    assert!(
        matches!(
            stalled.error,
            Some(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        ),
        "the read timed out rather than ended: {stalled:?}"
    );
    assert_eq!(up.paths(), vec!["/s/1"]);
    assert_eq!(proxy.count("stall"), 1, "{:?}", proxy.log());
}

#[test]
fn faultproxy_reset_cuts_response_and_request_bodies() {
    if !require_python3("faultproxy_reset_cuts_response_and_request_bodies") {
        return;
    }
    let up = upstream();
    let proxy = FaultProxy::start(&up.url(""), Fault::ResetAfter(1));
    assert_eq!(
        get(&proxy, "/x/1").body.len(),
        BODY_LEN,
        "the first passes whole"
    );

    // A GET: the status line, headers and half the body, then a reset.
    let cut = get(&proxy, "/x/2");
    assert_eq!(cut.status, Some(200), "{cut:?}");
    assert!(
        !cut.body.is_empty() && cut.body.len() < BODY_LEN,
        "half a body: {} bytes",
        cut.body.len()
    );
    assert_eq!(
        cut.error,
        Some(std::io::ErrorKind::ConnectionReset),
        "{cut:?}"
    );

    // A PUT: cut in the middle of its body, never forwarded.
    let put = request(
        proxy.port(),
        "PUT",
        "/x/3",
        &vec![b'u'; 256 * 1024],
        Duration::from_secs(30),
    );
    assert_eq!(put.status, None, "{put:?}");
    assert!(
        matches!(
            put.error,
            Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe)
        ),
        "{put:?}"
    );
    assert_eq!(
        up.paths(),
        vec!["/x/1", "/x/2"],
        "the PUT never reached upstream"
    );
    assert_eq!(
        (proxy.count("reset-response"), proxy.count("reset-request")),
        (1, 1),
        "{:?}",
        proxy.log()
    );
}

#[test]
fn faultproxy_methods_limit_what_is_counted_and_broken() {
    if !require_python3("faultproxy_methods_limit_what_is_counted_and_broken") {
        return;
    }
    let up = upstream();
    let proxy = FaultProxy::start_for(&up.url(""), Fault::FailAfter(0), &["PUT"]);
    assert_eq!(get(&proxy, "/m/1").status, Some(200), "GET is not counted");
    let put = request(
        proxy.port(),
        "PUT",
        "/m/2",
        b"body",
        Duration::from_secs(30),
    );
    assert_eq!(put.status, Some(503), "{put:?}");
    assert_eq!(get(&proxy, "/m/3").status, Some(200));
    assert_eq!(
        (proxy.count("skip"), proxy.count("fail")),
        (2, 1),
        "{:?}",
        proxy.log()
    );
}

/// Real S3 traffic through the proxy in pass mode: boto3's signed requests (with
/// `Expect: 100-continue` on the large PUT, a HEAD, a 412, a 404) reach moto and come back
/// unchanged; the bytes stored are the bytes sent.
#[test]
fn faultproxy_passes_s3_traffic_through_unchanged() {
    let Some(s3) = S3Server::start("faultproxy_passes_s3_traffic_through_unchanged") else {
        return;
    };
    let proxy = FaultProxy::start(&s3.endpoint(), Fault::Pass);
    let via = s3.client_via(&proxy.endpoint());
    via.create_bucket("through-proxy");
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    via.put_key("through-proxy", "maps/big.map", &big);
    assert_eq!(
        s3.get_key("through-proxy", "maps/big.map").as_deref(),
        Some(&big[..]),
        "stored as sent"
    );
    assert_eq!(
        via.get_key("through-proxy", "maps/big.map").as_deref(),
        Some(&big[..]),
        "read back as stored"
    );
    assert_eq!(
        via.head_key("through-proxy", "maps/big.map").expect("head")["size"],
        big.len()
    );
    assert!(
        !via.put_key_if_absent("through-proxy", "maps/big.map", b"x"),
        "412 passes through"
    );
    assert_eq!(
        via.get_key("through-proxy", "maps/none"),
        None,
        "404 passes through"
    );
    assert_eq!(
        via.list_keys("through-proxy", "maps/"),
        vec!["maps/big.map"]
    );
    let log = proxy.settled_log();
    assert_eq!(proxy.count("pass"), log.len(), "{log:?}");
    assert!(
        log.len() >= 7,
        "every request went through the proxy: {log:?}"
    );
}
