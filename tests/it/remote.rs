//! `mapvault verify https://…`: real servers on 127.0.0.1 started by each test — a static host
//! over real bundler output (unsealed and sealed), Debian's nginx with an SPA fallback and a
//! `SourceMap` header rule, gzip/brotli/zstd encodings, proxies, and hostile servers that
//! loop, stall, never end or speak no HTTP. Every one must end, bounded, with a clear exit code.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::fixtures::leak_keys;
use crate::harness::{Run, TestEnv};
use crate::httpd::{Nginx, Request, Response, Server, Site, require_nginx, static_site};

/// `verify URL… --format json` with the proxy variables of the machine neutralised (a CI
/// runner's proxy must not see loopback traffic).
fn verify_json(env: &TestEnv, args: &[&str]) -> Run {
    let mut c = env.command();
    c.arg("verify").args(args).args(["--format", "json"]);
    c.env("NO_PROXY", "*");
    c.run()
}

/// (path, kind) of every leak.
fn kinds(j: &serde_json::Value) -> BTreeSet<(String, String)> {
    j["leaks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["path"].as_str().unwrap_or("").to_owned(),
                l["kind"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn leak<'a>(j: &'a serde_json::Value, path: &str, kind: &str) -> &'a serde_json::Value {
    j["leaks"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["path"] == path && l["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} leak at {path} in {j:#}"))
}

fn error_text(j: &serde_json::Value) -> String {
    j["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{} {}: {}\n", e["kind"], e["path"], e["message"]))
        .collect()
}

/// The leaks `verify DIR` reports for files, as the URLs a server of DIR at `base` serves
/// them under.
fn file_leaks_as_urls(env: &TestEnv, dir: &str, base: &str) -> BTreeSet<(String, String)> {
    let run = env.mapvault(["verify", dir, "--format", "json"]).run();
    leak_keys(&run.json())
        .into_iter()
        .map(|(p, k, _)| (format!("{base}/{p}"), k))
        .collect()
}

#[test]
fn a_static_host_of_an_unsealed_vite_build_shows_every_map_and_reference() {
    let env = TestEnv::new();
    let dist = env.copy_fixture("vite", "dist");
    let server = Server::http(static_site(dist, Site::default()));
    let base = server.url("");
    let run = verify_json(&env, &[&server.url("/")]);
    let j = run.json();
    run.ensure(run.code == Some(1), "leaks: exit 1");
    let want = file_leaks_as_urls(&env, "dist", &base);
    run.ensure(
        want.len() == 6,
        format_args!("the fixture has 3 maps and 3 references: {want:?}"),
    );
    run.ensure(
        kinds(&j) == want,
        format_args!("the same leaks as `verify dist`:\n{want:#?}"),
    );
    run.ensure(
        j["errors"].as_array().is_some_and(Vec::is_empty),
        "no errors",
    );
    // How each was found: the lazy chunk only through `import()`, the worker through
    // `new Worker(new URL(new URL('…', import.meta.url).href, …))`, the maps through the
    // references that name them.
    let lazy = leak(
        &j,
        &format!("{base}/assets/lazy-BOcWjl4z.js"),
        "map-reference",
    );
    run.ensure(lazy["found_by"] == "js-dynamic-import", "lazy via import()");
    run.ensure(lazy["status"] == 200, "status 200");
    run.ensure(
        lazy["linked_from"] == format!("{base}/assets/index-SezSZ-FV.js"),
        "lazy is linked from the entry chunk",
    );
    let worker = leak(
        &j,
        &format!("{base}/assets/worker--rS7y3IJ.js"),
        "map-reference",
    );
    run.ensure(worker["found_by"] == "js-worker", "worker via new Worker");
    let map = leak(
        &j,
        &format!("{base}/assets/index-SezSZ-FV.js.map"),
        "source-map",
    );
    run.ensure(
        map["found_by"] == "map-reference",
        "the map via its reference",
    );
    let entry = leak(
        &j,
        &format!("{base}/assets/index-SezSZ-FV.js"),
        "map-reference",
    );
    run.ensure(
        entry["found_by"] == "html-script",
        "the entry via <script src>",
    );
    run.ensure(entry["line"] == 2, "the comment's line");
    run.ensure(
        j["requests"].as_u64().is_some_and(|n| n > 6),
        "requests counted",
    );
    // The human report says the same, with how each leak was found.
    let mut c = env.command();
    c.args(["verify", &server.url("/")]).env("NO_PROXY", "*");
    let human = c.expect_code(1).stdout_str();
    assert!(
        human.contains("[HTTP 200, js-dynamic-import from ")
            && human.contains("leaks: 6 leaks in 6 of "),
        "{human}"
    );
}

#[test]
fn the_same_build_after_seal_is_clean() {
    let env = TestEnv::new();
    env.copy_fixture("vite", "dist");
    env.mapvault(["seal", "dist", "--vault", "vault", "--quiet"])
        .ok();
    let server = Server::http(static_site(env.path("dist"), Site::default()));
    let run = verify_json(&env, &[&server.url("/")]);
    run.ensure(run.code == Some(0), "a sealed build is clean");
    let j = run.json();
    run.ensure(j["clean"] == true && kinds(&j).is_empty(), "no leaks");
    // It did look: every chunk and the `.map` next to each (404 now).
    let paths = server.paths();
    for p in [
        "/assets/lazy-BOcWjl4z.js",
        "/assets/worker--rS7y3IJ.js",
        "/assets/index-SezSZ-FV.js.map",
        "/assets/index-CfSG9aIb.css.map",
        "/assets/lazy-BOcWjl4z.js.map",
    ] {
        run.ensure(
            paths.iter().any(|x| x == p),
            format_args!("{p} was requested: {paths:?}"),
        );
    }
}

#[test]
fn gzip_brotli_and_zstd_bodies_are_decoded() {
    let env = TestEnv::new();
    let dist = env.copy_fixture("vite", "dist");
    let want = file_leaks_as_urls(&env, "dist", "BASE");
    for enc in ["gzip", "br", "zstd"] {
        let server = Server::http(static_site(
            dist.clone(),
            Site {
                encodings: vec![enc],
                ..Site::default()
            },
        ));
        let run = verify_json(&env, &[&server.url("/")]);
        let base = server.url("");
        let got: BTreeSet<(String, String)> = kinds(&run.json())
            .into_iter()
            .map(|(p, k)| (p.replace(&base, "BASE"), k))
            .collect();
        // Scanning compressed bytes would find no reference at all.
        run.ensure(
            got == want,
            format_args!("{enc}: the same leaks as plain files: {want:#?}"),
        );
    }
}

#[test]
fn a_map_reachable_only_through_a_dynamic_import_is_found() {
    let env = TestEnv::new();
    env.write(
        "site/index.html",
        r#"<!doctype html><script type="module" src="/main.js"></script>"#,
    );
    env.write(
        "site/main.js",
        "document.body.onclick = () => import('./chunks/late.js');\n",
    );
    // A hidden map: no comment, but the file sits next to the chunk.
    env.write("site/chunks/late.js", "export const late = 1;\n");
    env.write(
        "site/chunks/late.js.map",
        r#"{"version":3,"sources":["late.ts"],"mappings":"AAAA"}"#,
    );
    let server = Server::http(static_site(env.path("site"), Site::default()));
    let run = verify_json(&env, &[&server.url("/")]);
    run.ensure(run.code == Some(1), "the hidden map is a leak");
    let j = run.json();
    let l = leak(&j, &server.url("/chunks/late.js.map"), "source-map");
    run.ensure(
        l["found_by"] == "map-suffix" && l["linked_from"] == server.url("/chunks/late.js"),
        "found by guessing <chunk>.map",
    );
    run.ensure(kinds(&j).len() == 1, "nothing else");
}

#[test]
fn nginx_spa_fallback_is_not_a_leak_but_a_sourcemap_header_is() {
    let Some(bin) = require_nginx("nginx_spa_fallback_is_not_a_leak_but_a_sourcemap_header_is")
    else {
        return;
    };
    let env = TestEnv::new();
    env.copy_fixture("vite", "dist");
    env.mapvault(["seal", "dist", "--vault", "vault", "--quiet"])
        .ok();
    // The dist is clean; the host adds a header naming a map for every script, answers every
    // missing path (the probes for maps too) with index.html, and gzips text.
    let server = format!(
        "    root {};\n    gzip on;\n    gzip_min_length 1;\n\
         gzip_types text/css application/javascript application/json;\n\
         location / {{ try_files $uri /index.html; }}\n\
         location ~ \\.js$ {{ add_header SourceMap $uri.map; try_files $uri /index.html; }}",
        env.path("dist").display()
    );
    let nginx = Nginx::start(&bin, &env.path("nginx"), &server);
    let run = verify_json(&env, &[&nginx.url("/")]);
    let j = run.json();
    let want: BTreeSet<(String, String)> = [
        "index-SezSZ-FV.js",
        "lazy-BOcWjl4z.js",
        "worker--rS7y3IJ.js",
    ]
    .iter()
    .map(|f| (nginx.url(&format!("/assets/{f}")), "http-header".to_owned()))
    .collect();
    run.ensure(
        kinds(&j) == want,
        format_args!(
            "exactly the header leaks, no fallback page taken for a map:\n{want:#?}\nnginx log:\n{}",
            nginx.log()
        ),
    );
    run.ensure(run.code == Some(1), "exit 1");
    run.ensure(
        j["errors"].as_array().is_some_and(Vec::is_empty),
        "no errors",
    );
    let l = leak(&j, &nginx.url("/assets/lazy-BOcWjl4z.js"), "http-header");
    run.ensure(
        l["message"] == "SourceMap header → /assets/lazy-BOcWjl4z.js.map",
        "the header's value",
    );
}

#[test]
fn https_uses_the_platforms_roots() {
    let Some(bin) = require_nginx("https_uses_the_platforms_roots") else {
        return;
    };
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl is missing and CI is set"
        );
        crate::harness::say("skipped: https_uses_the_platforms_roots: no openssl");
        return;
    }
    let env = TestEnv::new();
    env.copy_fixture("vite", "dist");
    // A private CA and a server certificate it signed, as a real deployment has.
    env.mkdir("tls");
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(env.path("tls"))
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    env.write(
        "tls/leaf.ext",
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=mapvault test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    let (key, cert, ca) = (
        env.path("tls/key.pem"),
        env.path("tls/cert.pem"),
        env.path("tls/ca.pem"),
    );
    let port = crate::httpd::free_port();
    let server = format!(
        "    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {};\n    ssl_certificate_key {};\n    root {};",
        cert.display(),
        key.display(),
        env.path("dist").display()
    );
    let nginx = Nginx::start(&bin, &env.path("nginx"), &server);
    let url = format!("https://localhost:{port}/");
    // Untrusted: the certificate is nobody's root.
    let run = verify_json(&env, &[&url]);
    run.ensure(run.code == Some(2), "an untrusted certificate is an error");
    run.ensure(
        error_text(&run.json())
            .to_lowercase()
            .contains("certificate"),
        "the error says why",
    );
    // Trusted through the platform's own mechanism (SSL_CERT_FILE, as OpenSSL reads it).
    let mut c = env.command();
    c.args(["verify", &url, "--format", "json"])
        .env("NO_PROXY", "*")
        .env("SSL_CERT_FILE", &ca);
    let run = c.run();
    run.ensure(
        run.code == Some(1) && kinds(&run.json()).len() == 6,
        format_args!("over TLS the same 6 leaks; nginx log:\n{}", nginx.log()),
    );
}

#[test]
fn other_origins_are_fetched_only_when_allowed() {
    let env = TestEnv::new();
    env.write("cdn/app.js", "run();\n//# sourceMappingURL=app.js.map\n");
    let cdn = Server::http(static_site(env.path("cdn"), Site::default()));
    env.write(
        "site/index.html",
        format!(r#"<script src="{}"></script>"#, cdn.url("/app.js")),
    );
    let site = Server::http(static_site(env.path("site"), Site::default()));
    let run = verify_json(&env, &[&site.url("/")]);
    run.ensure(run.code == Some(0), "nothing of this origin leaks");
    run.ensure(cdn.paths().is_empty(), "the other origin was not contacted");
    let notes = run.json()["notes"].to_string();
    run.ensure(
        notes.contains("--allow-origin") && notes.contains(&cdn.url("/app.js")),
        "a note says what was left out and how to include it",
    );
    let run = verify_json(&env, &[&site.url("/"), "--allow-origin", &cdn.url("")]);
    run.ensure(run.code == Some(1), "allowed: its leak is found");
    run.ensure(
        kinds(&run.json()).contains(&(cdn.url("/app.js"), "map-reference".into())),
        "the CDN script's reference",
    );
}

#[test]
fn headers_are_sent_for_staging_auth() {
    let env = TestEnv::new();
    env.write("site/index.html", "<script src=/a.js></script>");
    env.write("site/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    let site = static_site(env.path("site"), Site::default());
    let server = Server::http(move |r: &Request| {
        if r.header("authorization") == Some("Bearer s3cret") {
            site(r)
        } else {
            Response::new(401, "text/plain", "who are you")
        }
    });
    let run = verify_json(&env, &[&server.url("/")]);
    run.ensure(run.code == Some(2), "a 401 on the page: could not check it");
    run.ensure(error_text(&run.json()).contains("HTTP 401"), "says so");
    let run = verify_json(
        &env,
        &[&server.url("/"), "--header", "Authorization: Bearer s3cret"],
    );
    run.ensure(run.code == Some(1), "with the header, the leak");
}

#[test]
fn proxies_come_from_the_environment() {
    let env = TestEnv::new();
    env.write("site/index.html", "<script src=/a.js></script>");
    env.write("site/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    let site = Server::http(static_site(env.path("site"), Site::default()));
    let site_port = site.port();
    // A forward proxy (CONNECT tunnels, as ureq uses them for http and https alike) that is
    // the only way to reach `site.invalid`.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = std::sync::Arc::clone(&seen);
    let proxy = Server::raw(move |mut conn, _stop| {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
            match conn.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let line = String::from_utf8_lossy(&head)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        log.lock().expect("proxy log").push(line.clone());
        if !line.starts_with("CONNECT site.invalid:80 ") {
            let _ = conn.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        let Ok(upstream) = TcpStream::connect(("127.0.0.1", site_port)) else {
            return;
        };
        let _ = conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        let (mut c2, mut u2) = match (conn.try_clone(), upstream.try_clone()) {
            (Ok(c), Ok(u)) => (c, u),
            _ => return,
        };
        let mut upstream = upstream;
        let up = std::thread::spawn(move || {
            let _ = std::io::copy(&mut c2, &mut upstream);
            let _ = upstream.shutdown(std::net::Shutdown::Write);
        });
        let _ = std::io::copy(&mut u2, &mut conn);
        let _ = conn.shutdown(std::net::Shutdown::Both);
        let _ = up.join();
    });
    let mut c = env.command();
    c.args(["verify", "http://site.invalid/", "--format", "json"])
        .env("HTTP_PROXY", proxy.url(""))
        .env("NO_PROXY", "");
    let run = c.run();
    run.ensure(run.code == Some(1), "through the proxy: the leak");
    run.ensure(
        kinds(&run.json()).contains(&("http://site.invalid/a.js".into(), "map-reference".into())),
        "the script's reference, at its own URL",
    );
    run.ensure(
        site.paths().iter().any(|p| p == "/a.js"),
        "the script was fetched through the tunnel",
    );
    // NO_PROXY names the host: no proxy, and `site.invalid` does not resolve.
    let before = seen.lock().expect("proxy log").len();
    let mut c = env.command();
    c.args(["verify", "http://site.invalid/", "--timeout", "5s"])
        .env("HTTP_PROXY", proxy.url(""))
        .env("NO_PROXY", "site.invalid");
    c.expect_code(2);
    assert_eq!(
        seen.lock().expect("proxy log").len(),
        before,
        "the proxy was not asked"
    );
}

#[test]
fn limits_make_a_run_incomplete_never_clean() {
    let env = TestEnv::new();
    env.copy_fixture("vite", "dist");
    env.mapvault(["seal", "dist", "--vault", "vault", "--quiet"])
        .ok();
    let server = Server::http(static_site(env.path("dist"), Site::default()));
    let run = verify_json(&env, &[&server.url("/"), "--max-requests", "3"]);
    run.ensure(run.code == Some(2), "cut short: exit 2");
    let j = run.json();
    run.ensure(j["requests"] == 3, "exactly 3 requests");
    run.ensure(
        j["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["kind"] == "request-limit")),
        "a request-limit error",
    );
    // The human report never calls it clean.
    let mut c = env.command();
    c.args(["verify", &server.url("/"), "--max-requests", "3"])
        .env("NO_PROXY", "*");
    let r = c.expect_code(2);
    assert!(
        r.stdout_str().starts_with("incomplete:"),
        "{}",
        r.stdout_str()
    );

    // A slow host and a short time limit.
    let slow = static_site(env.path("dist"), Site::default());
    let server = Server::http(move |r: &Request| {
        std::thread::sleep(Duration::from_millis(400));
        slow(r)
    });
    let run = verify_json(
        &env,
        &[&server.url("/"), "--time-limit", "1s", "--jobs", "1"],
    );
    run.ensure(run.code == Some(2), "out of time: exit 2");
    run.ensure(
        error_text(&run.json()).contains("time-limit"),
        "a time-limit error",
    );
}

#[test]
fn a_redirect_loop_ends_with_exit_2() {
    let env = TestEnv::new();
    let server = Server::http(|r: &Request| match r.path() {
        "/a" => Response::redirect(302, "/b"),
        _ => Response::redirect(301, "/a"),
    });
    let run = verify_json(&env, &[&server.url("/a")]);
    run.ensure(run.code == Some(2), "exit 2");
    run.ensure(
        error_text(&run.json()).contains("redirect loop"),
        "says why",
    );
    let hits = server.paths().len();
    run.ensure(hits <= 11, format_args!("bounded: {hits} requests"));
}

/// A server that answers every connection with these bytes, then does `after`.
fn raw_server(head: &'static [u8], after: fn(&mut TcpStream, &AtomicBool)) -> Server {
    Server::raw(move |mut conn, stop| {
        let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf);
        if conn.write_all(head).is_ok() {
            after(&mut conn, stop);
        }
    })
}

#[test]
fn an_endless_body_is_cut_at_max_body_in_bounded_memory() {
    let env = TestEnv::new();
    let server = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nConnection: close\r\n\r\n",
        |conn, stop| {
            let chunk = vec![b'x'; 64 << 10];
            while !stop.load(Ordering::SeqCst) && conn.write_all(&chunk).is_ok() {}
        },
    );
    // The default --max-body (64 MiB) in 1.5 GiB of address space: the workers' stacks fit,
    // an unbounded body does not (the server sends far more than that within the timeout on
    // loopback; with `--max-body 100G` this run ends "out of memory").
    let mut c = env.command();
    c.args(["verify", &server.url("/app.js"), "--format", "json"])
        .env("NO_PROXY", "*")
        .ulimit("-v", 1536 << 10);
    let run = c.run();
    run.ensure(run.code == Some(2), "exit 2");
    run.ensure(
        error_text(&run.json()).contains("larger than --max-body"),
        "says the body was cut",
    );
}

#[test]
fn a_stalled_server_times_out_with_exit_2() {
    let env = TestEnv::new();
    // Never answers.
    let silent = raw_server(b"", |_, stop| {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    // Answers, then stalls in the middle of the body.
    let half = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n<html>",
        |_, stop| {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        },
    );
    for server in [&silent, &half] {
        let run = verify_json(&env, &[&server.url("/"), "--timeout", "2s"]);
        run.ensure(run.code == Some(2), "exit 2");
        run.ensure(
            error_text(&run.json()).contains("timed out after 2s"),
            "says why",
        );
        run.ensure(
            run.elapsed < Duration::from_secs(60),
            "ends soon after the timeout",
        );
    }
}

#[test]
fn garbage_that_is_not_http_is_exit_2() {
    let env = TestEnv::new();
    let server = raw_server(
        b"\x00\xffSSH-2.0-OpenSSH_9.2\r\n\x16\x03\x01garbage\r\n\r\n",
        |_, _| {},
    );
    let run = verify_json(&env, &[&server.url("/")]);
    run.ensure(run.code == Some(2), "exit 2");
    run.ensure(
        error_text(&run.json()).contains("not a valid HTTP response"),
        "says why",
    );
    // A refused connection, too.
    let port = crate::httpd::free_port();
    let run = verify_json(&env, &[&format!("http://127.0.0.1:{port}/")]);
    run.ensure(run.code == Some(2), "refused: exit 2");
}

#[test]
fn file_reports_keep_their_shape_and_url_reports_add_http_fields() {
    let env = TestEnv::new();
    env.write("dist/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    let run = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let j = run.json();
    let keys: BTreeSet<&str> = j["leaks"][0]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    run.ensure(
        keys == BTreeSet::from(["path", "kind", "line", "message"]),
        format_args!("a file leak has exactly its four fields: {keys:?}"),
    );
    run.ensure(j.get("requests").is_none(), "no `requests` for files");

    let server = Server::http(static_site(env.path("dist"), Site::default()));
    let url = server.url("/a.js");
    // Mixed: a folder and a URL in one run; each leak names its argument.
    let run = verify_json(&env, &["dist", &url]);
    let j = run.json();
    let at_url = leak(&j, &url, "map-reference");
    let keys: BTreeSet<&str> = at_url
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    run.ensure(
        keys == BTreeSet::from([
            "path",
            "root",
            "kind",
            "line",
            "message",
            "status",
            "found_by",
            "linked_from",
        ]),
        format_args!("a URL leak adds status, found_by, linked_from: {keys:?}"),
    );
    run.ensure(
        at_url["linked_from"].is_null() && at_url["found_by"] == "argument",
        "the argument itself",
    );
    run.ensure(
        leak(&j, "a.js", "map-reference")["root"] == "dist",
        "the folder's leak",
    );

    // SARIF: the URL is the artifact location, the HTTP fields are properties.
    let mut c = env.command();
    c.args(["verify", &url, "--format", "sarif"])
        .env("NO_PROXY", "*");
    let run = c.expect_code(1);
    let s: serde_json::Value = serde_json::from_slice(&run.stdout).expect("SARIF is JSON");
    let result = &s["runs"][0]["results"][0];
    run.ensure(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == url.as_str(),
        "the URL as location",
    );
    run.ensure(
        result["properties"]["status"] == 200,
        "status as a property",
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let env = TestEnv::new();
    for args in [
        &["verify", "https://"][..],
        &["verify", "http://x.test/", "--header", "no colon"],
        &["verify", "http://x.test/", "--allow-origin", "x.test"],
        &["verify", "http://x.test/", "--timeout", "0s"],
        &["verify", "http://x.test/", "--max-body", "12 parsecs"],
    ] {
        env.mapvault(args).expect_code(2);
    }
}
