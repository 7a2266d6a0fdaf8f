//! `mapvault resolve`: positions and stack traces checked against an independent consumer
//! (Mozilla's `source-map`, pinned in `tests/tools`), and the matching rules — path suffix,
//! sealed hash, debug ID, ambiguity between dists, `--dist`, index maps.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{TestEnv, fixtures_dir, manifest_dir, say, shared_dir};
use crate::maps::{decode_data_uri, line_references};

/// `tests/tools/node_modules/<package>`, or a failure that says how to install it: these tests
/// must not pass silently without the tool they compare against.
pub fn npm_tool(package: &str) -> PathBuf {
    let dir = manifest_dir().join("tests/tools");
    let p = dir.join("node_modules").join(package);
    assert!(
        p.join("package.json").is_file(),
        "the npm package {package} is missing from {}: run `npm ci` there \
         (`cd tests/tools && npm ci`; scripts/test.sh does it)",
        dir.display()
    );
    p
}

/// Run `tests/tools/original-positions.cjs` on a map file: Mozilla's answers for many
/// positions, 1-based.
fn mozilla_positions(map: &Path) -> Vec<(u64, u64, Option<Value>)> {
    npm_tool("source-map");
    let script = manifest_dir().join("tests/tools/original-positions.cjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(map)
        .arg("300")
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); node is required by this test"));
    assert!(
        out.status.success(),
        "node {} {} failed:\n{}",
        script.display(),
        map.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value =
        serde_json::from_slice(&out.stdout).expect("original-positions.cjs printed no JSON");
    v["positions"]
        .as_array()
        .expect("positions")
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().expect("line"),
                p["column"].as_u64().expect("column"),
                (!p["expected"].is_null()).then(|| p["expected"].clone()),
            )
        })
        .collect()
}

/// Mozilla's `source-map` normalizes source URLs (drops `./` segments, percent-encodes spaces);
/// mapvault prints the source as the map names it. Compare them in one form.
fn normal_source(s: &str) -> String {
    let d: Vec<u8> = percent_encoding::percent_decode_str(s).collect();
    let d = String::from_utf8_lossy(&d).into_owned();
    let mut out = d.replace("/./", "/");
    while let Some(rest) = out.strip_prefix("./") {
        out = rest.to_string();
    }
    out
}

/// Every (bundle, map file) pair of a fixture: `X.map` beside `X`, and inline maps decoded to
/// a temp file.
fn fixture_pairs(env: &TestEnv, name: &str) -> Vec<(String, PathBuf)> {
    let root = fixtures_dir().join(name);
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read fixture dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p
                .strip_prefix(&root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            if let Some(bundle) = rel.strip_suffix(".map") {
                if root.join(bundle).is_file() && !bundle.ends_with(".wasm") {
                    out.push((bundle.to_string(), p.clone()));
                }
                continue;
            }
            let bytes = std::fs::read(&p).expect("read fixture");
            if let Some(r) = line_references(&bytes)
                .into_iter()
                .rev()
                .find(|r| r.is_inline())
            {
                let tmp = env.write(format!("inline-maps/{rel}.map"), decode_data_uri(&r.url));
                out.push((rel, tmp));
            }
        }
    }
    out.sort();
    out
}

fn check_fixture_against_mozilla(name: &str) {
    let env = TestEnv::new();
    env.copy_fixture(name, "dist");
    let pairs = fixture_pairs(&env, name);
    assert!(!pairs.is_empty(), "fixture {name} has no maps");
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();

    let mut trace = String::from("Error: boom\n");
    let mut expected = Vec::new();
    for (i, (bundle, map)) in pairs.iter().enumerate() {
        for (j, (line, col, want)) in mozilla_positions(map).into_iter().enumerate() {
            // Alternate the engines' syntaxes and URL shapes.
            let url = format!("https://cdn.example.com/static/{bundle}?v={i}");
            if j % 2 == 0 {
                trace.push_str(&format!("    at fn{j} ({url}:{line}:{col})\n"));
            } else {
                trace.push_str(&format!("fn{j}@{url}:{line}:{col}\n"));
            }
            expected.push((bundle.clone(), line, col, want));
        }
    }
    let run = env
        .mapvault(["resolve", "--vault", "vault", "--format", "json"])
        .stdin(&trace)
        .ok();
    let v = run.json();
    let frames = v["frames"].as_array().expect("frames");
    run.ensure(
        frames.len() == expected.len(),
        format!("{} frames for {} positions", frames.len(), expected.len()),
    );
    let mut mapped = 0;
    for (f, (bundle, line, col, want)) in frames.iter().zip(&expected) {
        let at = format!("{name}/{bundle}:{line}:{col}");
        run.ensure(
            f["bundle"]["path"] == bundle.as_str(),
            format!("{at}: matched bundle {}", f["bundle"]),
        );
        match want {
            None => run.ensure(
                f["resolved"] == false && f["failure"] == "unmapped",
                format!("{at}: source-map maps nothing there, mapvault says {f}"),
            ),
            Some(w) => {
                mapped += 1;
                let o = &f["original"];
                let same = o["line"] == w["line"]
                    && o["column"] == w["column"]
                    && o["name"] == w["name"]
                    && normal_source(o["source"].as_str().unwrap_or("?"))
                        == normal_source(w["source"].as_str().unwrap_or("!"));
                run.ensure(
                    same,
                    format!("{at}: source-map says {w}, mapvault says {o}"),
                );
            }
        }
    }
    run.ensure(
        mapped * 2 > expected.len(),
        format!(
            "only {mapped} of {} positions map: the sample is too thin",
            expected.len()
        ),
    );
    assert_eq!(v["resolved"], mapped, "resolved count");
}

#[test]
fn resolve_agrees_with_mozilla_source_map_on_vite() {
    check_fixture_against_mozilla("vite");
}

#[test]
fn resolve_agrees_with_mozilla_source_map_on_webpack() {
    for name in [
        "webpack-source-map",
        "webpack-hidden-source-map",
        "webpack-inline-source-map",
    ] {
        check_fixture_against_mozilla(name);
    }
}

#[test]
fn resolve_agrees_with_mozilla_source_map_on_esbuild_and_rollup() {
    check_fixture_against_mozilla("esbuild");
    check_fixture_against_mozilla("rollup");
}

/// An index map (`sections`) built from two real maps: resolve follows the sections as
/// Mozilla's `IndexedSourceMapConsumer` does.
#[test]
fn resolve_follows_index_maps_like_mozilla_source_map() {
    let env = TestEnv::new();
    let read = |p: &str| -> Value {
        serde_json::from_slice(&std::fs::read(fixtures_dir().join(p)).expect("read map"))
            .expect("map JSON")
    };
    let a = read("esbuild/main.js.map");
    let b = read("rollup/main.js.map");
    let index = serde_json::json!({"version": 3, "file": "bundle.js", "sections": [
        {"offset": {"line": 0, "column": 0}, "map": a},
        {"offset": {"line": 40, "column": 10}, "map": b},
    ]});
    let index = serde_json::to_vec(&index).expect("json");
    env.write(
        "dist/bundle.js",
        "x();\n//# sourceMappingURL=bundle.js.map\n",
    );
    let map = env.write("dist/bundle.js.map", &index);
    let want = mozilla_positions(&map);
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let trace: String = want
        .iter()
        .map(|(l, c, _)| format!("    at f (/srv/www/bundle.js:{l}:{c})\n"))
        .collect();
    let run = env
        .mapvault(["resolve", "--vault", "vault", "--format", "json"])
        .stdin(&trace)
        .ok();
    let v = run.json();
    let frames = v["frames"].as_array().expect("frames");
    let mut sections_hit = [false, false];
    for (f, (l, c, w)) in frames.iter().zip(&want) {
        match w {
            None => run.ensure(
                f["resolved"] == false,
                format!("{l}:{c} should not map: {f}"),
            ),
            Some(w) => {
                let o = &f["original"];
                run.ensure(
                    o["line"] == w["line"]
                        && o["column"] == w["column"]
                        && o["name"] == w["name"]
                        && normal_source(o["source"].as_str().unwrap_or("?"))
                            == normal_source(w["source"].as_str().unwrap_or("!")),
                    format!("{l}:{c}: source-map says {w}, mapvault says {o}"),
                );
                sections_hit[usize::from(*l >= 41)] = true;
            }
        }
    }
    assert_eq!(frames.len(), want.len());
    assert_eq!(sections_hit, [true, true], "positions in both sections");
}

/// A hand-made dist: one bundle, one map with names and sourcesContent.
fn small_dist(env: &TestEnv, dir: &str, source: &str, debug_id: Option<&str>) {
    // Generated line 1: col 0 -> src 0:0 ("greet"), col 9 -> src 1:2.
    let id = debug_id.map_or(String::new(), |d| format!(r#","debugId":"{d}""#));
    let map = format!(
        r#"{{"version":3,"sources":["{source}"],"names":["greet"],"sourcesContent":["function greet() {{\n  return 42;\n}}\n"],"mappings":"AAAAA,SACE"{id}}}"#
    );
    env.write(
        format!("{dir}/app.js"),
        "function a(){return 42}\n//# sourceMappingURL=app.js.map\n",
    );
    env.write(format!("{dir}/app.js.map"), map);
}

#[test]
fn single_position_prints_source_line_and_name() {
    let env = TestEnv::new();
    small_dist(&env, "dist", "src/greet.ts", None);
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let run = env
        .mapvault(["resolve", "--vault", "vault", "app.js:1:1"])
        .ok();
    assert_eq!(
        run.stdout_str(),
        "src/greet.ts:1:1  greet\n   1 | function greet() {\n     | ^\n"
    );
    let run = env
        .mapvault([
            "resolve",
            "--vault",
            "vault",
            "https://example.com/app.js?x=1#y:1:12",
        ])
        .ok();
    assert_eq!(
        run.stdout_str(),
        "src/greet.ts:2:3\n   2 |   return 42;\n     |   ^\n"
    );
    // Past the last segment of the line still maps (greatest lower bound); line 2 has none.
    env.mapvault(["resolve", "--vault", "vault", "app.js:1:20"])
        .ok();
    let run = env
        .mapvault(["resolve", "--vault", "vault", "app.js:2:1"])
        .expect_code(1);
    run.ensure(
        run.stderr_str().contains("no mapping at line 2 column 1"),
        "unmapped position explained",
    );
    let run = env
        .mapvault(["resolve", "--vault", "vault", "other.js:1:1"])
        .expect_code(2);
    run.ensure(
        run.stderr_str()
            .contains("no sealed file in the vault matches"),
        "unknown file explained",
    );
    env.mapvault(["resolve", "--vault", "vault", "app.js:0:1"])
        .expect_code(2);
    env.mapvault(["resolve", "--vault", "vault", "app.js"])
        .expect_code(2);
}

#[test]
fn a_local_copy_of_the_sealed_file_is_matched_by_its_hash() {
    let env = TestEnv::new();
    small_dist(&env, "dist", "src/one.ts", None);
    small_dist(&env, "dist2", "src/two.ts", None);
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    env.mapvault(["seal", "dist2", "--vault", "vault", "-q"])
        .ok();
    // Renamed copy of dist2's sealed bundle: its name matches nothing, its bytes do — but
    // both dists sealed identical bytes, so the hash alone is ambiguous between two maps.
    std::fs::copy(env.path("dist2/app.js"), env.path("downloaded.js")).expect("copy");
    let run = env
        .mapvault(["resolve", "--vault", "vault", "downloaded.js:1:1"])
        .expect_code(2);
    run.ensure(run.stderr_str().contains("ambiguous"), "ambiguous by hash");
    let run = env
        .mapvault([
            "resolve",
            "--vault",
            "vault",
            "--dist",
            "dist2",
            "downloaded.js:1:1",
            "--format",
            "json",
        ])
        .ok();
    let f = &run.json()["frames"][0];
    assert_eq!(f["bundle"]["matched_by"], "sha256");
    assert_eq!(f["original"]["source"], "src/two.ts");

    // A file whose bytes differ is matched by path, with a note.
    env.write("elsewhere/app.js", "changed();\n");
    let run = env
        .mapvault([
            "resolve",
            "--vault",
            "vault",
            "--dist",
            "dist",
            "elsewhere/app.js:1:1",
            "--format",
            "json",
        ])
        .ok();
    let f = &run.json()["frames"][0];
    assert_eq!(f["bundle"]["matched_by"], "path");
    run.ensure(
        f["note"]
            .as_str()
            .unwrap_or("")
            .contains("match no sealed file"),
        "note about the hash",
    );
}

#[test]
fn two_dists_with_the_same_path_are_ambiguous_until_dist_is_given() {
    let env = TestEnv::new();
    small_dist(&env, "web", "src/web.ts", None);
    small_dist(&env, "web/assets", "src/web-assets.ts", None);
    small_dist(&env, "admin", "src/admin.ts", None);
    env.mapvault(["seal", "web", "--vault", "vault", "-q"]).ok();
    env.mapvault(["seal", "admin", "--vault", "vault", "-q"])
        .ok();
    let run = env
        .mapvault(["resolve", "--vault", "vault", "app.js:1:1"])
        .expect_code(2);
    let err = run.stderr_str();
    run.ensure(
        err.contains("ambiguous")
            && err.contains("--dist")
            && err.contains("web")
            && err.contains("admin"),
        "names both dists and --dist",
    );
    let run = env
        .mapvault([
            "resolve",
            "--vault",
            "vault",
            "--dist",
            "admin",
            "app.js:1:1",
        ])
        .ok();
    assert!(
        run.stdout_str().starts_with("src/admin.ts:1:1"),
        "{}",
        run.stdout_str()
    );

    // In a stack trace the line stays as it was, with a note.
    let trace = "TypeError: x\r\n    at a (https://cdn.example.com/app.js:1:1)\r\n  at b (https://cdn.example.com/assets/app.js:1:10)\n";
    let run = env
        .mapvault(["resolve", "--vault", "vault"])
        .stdin(trace)
        .ok();
    assert_eq!(
        run.stdout_str(),
        "TypeError: x\r\n    at a (https://cdn.example.com/app.js:1:1)\r\n  at b (src/web-assets.ts:2:3)\n",
        "the longest path suffix (assets/app.js) is only in the web dist; CRLF kept"
    );
    run.ensure(
        run.stderr_str().contains("line 2:") && run.stderr_str().contains("ambiguous"),
        "note for the ambiguous line",
    );
    run.ensure(
        run.stderr_str().contains("resolved 1 of 2 frames"),
        "summary",
    );
}

#[test]
fn debug_ids_from_the_map_and_from_the_deployed_file_find_the_map() {
    let env = TestEnv::new();
    let id = "85314830-023f-4cf1-a267-535f4e37bb17";
    small_dist(&env, "dist", "src/ided.ts", Some(id));
    small_dist(&env, "other", "src/other.ts", None);
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    env.mapvault(["seal", "other", "--vault", "vault", "-q"])
        .ok();
    for key in [id.to_string(), id.to_uppercase(), id.replace('-', "")] {
        let run = env
            .mapvault([
                "resolve",
                "--vault",
                "vault",
                "--format",
                "json",
                &format!("{key}:1:12"),
            ])
            .ok();
        let f = &run.json()["frames"][0];
        assert_eq!(f["bundle"]["matched_by"], "debug-id", "{key}");
        assert_eq!(f["original"]["source"], "src/ided.ts");
        assert_eq!(f["original"]["line"], 2);
    }
    env.mapvault([
        "resolve",
        "--vault",
        "vault",
        "00000000-0000-4000-8000-000000000000:1:1",
    ])
    .expect_code(2);
    // A deployed copy whose bytes changed (a CDN rewrote it) but kept its debugId comment.
    env.write(
        "deployed.js",
        format!("function a(){{return 42}}\n//# debugId={id}\n"),
    );
    let run = env
        .mapvault([
            "resolve",
            "--vault",
            "vault",
            "--format",
            "json",
            "deployed.js:1:1",
        ])
        .ok();
    let f = &run.json()["frames"][0];
    assert_eq!(f["bundle"]["matched_by"], "debug-id");
    assert_eq!(f["original"]["name"], "greet");
}

#[test]
fn stack_trace_lines_that_are_not_frames_pass_through() {
    let env = TestEnv::new();
    small_dist(&env, "dist", "src/greet.ts", None);
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let trace = "Uncaught Error: boom\n    at new Promise (<anonymous>)\n    at https://x.test/app.js:1:12\ngreet@https://x.test/app.js:1:1\n@https://x.test/missing.js:3:4\nno newline at end";
    let human = env
        .mapvault(["resolve", "--vault", "vault"])
        .stdin(trace)
        .ok();
    assert_eq!(
        human.stdout_str(),
        // The app.js:1:12 frame is named from the frame below it, whose position (1:1) maps
        // to the name `greet`; the last resolved frame has no frame below that resolves, so
        // it keeps the name the trace gave it.
        "Uncaught Error: boom\n    at new Promise (<anonymous>)\n    at greet (src/greet.ts:2:3)\ngreet@src/greet.ts:1:1\n@https://x.test/missing.js:3:4\nno newline at end"
    );
    let run = env
        .mapvault(["resolve", "--vault", "vault", "--format", "json"])
        .stdin(trace)
        .ok();
    let v = run.json();
    assert_eq!(
        (v["resolved"].as_u64(), v["unresolved"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(v["frames"][2]["input_line"], 5);
    assert_eq!(v["frames"][2]["failure"], "not-found");
    assert_eq!(v["text"].as_str(), Some(human.stdout_str().as_str()));
}

#[test]
fn a_bare_file_name_finds_the_one_path_that_ends_with_it() {
    let env = TestEnv::new();
    small_dist(&env, "dist/static/js", "src/deep.ts", None);
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let run = env
        .mapvault([
            "resolve",
            "--vault",
            "vault",
            "--format",
            "json",
            "app.js:1:1",
        ])
        .ok();
    let f = &run.json()["frames"][0];
    assert_eq!(f["bundle"]["path"], "static/js/app.js");
    assert_eq!(f["original"]["source"], "src/deep.ts");
    env.mapvault(["resolve", "--vault", "vault", "css/app.js:1:1"])
        .expect_code(2);
}

#[test]
fn resolve_without_a_vault_is_an_error() {
    let env = TestEnv::new();
    let run = env
        .mapvault(["resolve", "--vault", "nope", "a.js:1:1"])
        .expect_code(2);
    run.ensure(run.stderr_str().contains("does not exist"), "says so");
}

/// `esbuild app.js --minify --format=iife --sourcemap` (esbuild 0.28.2, from
/// fixtures/bundlers) of `greet` throwing when `handler` calls it, and the trace
/// `node app.js` printed (Node 20, paths replaced by a URL).
const THROWING_JS: &str = "(()=>{function n(r){if(!r)throw new Error(\"no name\");return r}function e(){return n(\"\")}e();})();\n//# sourceMappingURL=app.js.map\n";
const THROWING_MAP: &str = r#"{"version":3,"sources":["../app.js"],"sourcesContent":["function greet(name) {\n  if (!name) throw new Error('no name');\n  return name;\n}\nfunction handler() {\n  return greet('');\n}\nhandler();\n"],"mappings":"MAAA,SAASA,EAAMC,EAAM,CACnB,GAAI,CAACA,EAAM,MAAM,IAAI,MAAM,SAAS,EACpC,OAAOA,CACT,CACA,SAASC,GAAU,CACjB,OAAOF,EAAM,EAAE,CACjB,CACAE,EAAQ","names":["greet","name","handler"]}"#;
const THROWING_TRACE: &str = "Error: no name\n    at n (https://x.test/app.js:1:33)\n    at e (https://x.test/app.js:1:83)\n    at https://x.test/app.js:1:89\n    at Object.<anonymous> (https://x.test/app.js:1:95)\n    at Module._compile (node:internal/modules/cjs/loader:1521:14)\n    at Module._extensions..js (node:internal/modules/cjs/loader:1623:10)\n    at Module.load (node:internal/modules/cjs/loader:1266:32)\n";

/// Each frame's function is named from the call site in the frame below it, as Node's
/// `--enable-source-maps` does, not from the token at the frame's own position (which is the
/// callee: `throw`'s frame would be called nothing and `handler`'s frame `greet`). Frames in
/// Node's own modules (`node:`) pass through without a lookup or a complaint.
#[test]
fn stack_frames_are_named_from_their_call_sites() {
    let env = TestEnv::new();
    env.write("dist/app.js", THROWING_JS);
    env.write("dist/app.js.map", THROWING_MAP);
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let run = env
        .mapvault(["resolve", "--vault", "vault"])
        .stdin(THROWING_TRACE)
        .ok();
    assert_eq!(
        run.stdout_str(),
        "Error: no name\n    at greet (../app.js:2:20)\n    at handler (../app.js:6:10)\n    at ../app.js:8:1\n    at Object.<anonymous> (../app.js:8:9)\n    at Module._compile (node:internal/modules/cjs/loader:1521:14)\n    at Module._extensions..js (node:internal/modules/cjs/loader:1623:10)\n    at Module.load (node:internal/modules/cjs/loader:1266:32)\n"
    );
    run.ensure(
        !run.stderr_str().contains("node:internal"),
        "node: frames are not looked up",
    );
    run.ensure(
        run.stderr_str().contains("resolved 4 of 4 frames"),
        "the four dist frames resolve",
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 19: resolve and export on untrusted vaults, maps and stack traces. Each regression test
// below failed before its fix.

/// A dist of one bundle `m.js` and its map (paired by name), sealed into `vault`.
fn sealed_map(env: &TestEnv, map: &str) {
    env.write("dist/m.js", "f();\n");
    env.write("dist/m.js.map", map);
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
}

/// `resolve --format json` of one position: the exit code and the frame.
fn resolve_one(env: &TestEnv, pos: &str) -> (i32, Value) {
    let run = env
        .mapvault(["resolve", "--vault", "vault", "--format", "json", pos])
        .run();
    let v: Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| run.fail(format!("stdout is not JSON: {e}")));
    (run.code.unwrap_or(-1), v["frames"][0].clone())
}

/// The vault object the map of `m.js` is stored as.
fn map_object(env: &TestEnv) -> PathBuf {
    let maps = env.vault("vault").maps();
    assert_eq!(maps.len(), 1, "one map in the vault");
    let sha = maps.keys().next().expect("a map");
    env.vault("vault").map_path(sha)
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let _ = std::fs::remove_file(p);
    let st = Command::new("mkfifo").arg(p).status().expect("run mkfifo");
    assert!(st.success(), "mkfifo {}", p.display());
}

#[test]
fn regression_invalid_mappings_are_bad_map_never_a_confident_answer() {
    // Original line driven negative (was `a.ts:4294967295:1`), a character that is not base64
    // (was read as `/`), a VLQ cut short.
    for (mappings, why) in [
        ("AAAA,CADA", "negative"),
        ("AAAA,CAAD", "negative"),
        ("AA!A", "not base64"),
        ("AAAA,g", "ends in the middle"),
    ] {
        let env = TestEnv::new();
        sealed_map(
            &env,
            &format!(r#"{{"version":3,"sources":["a.ts"],"names":[],"mappings":"{mappings}"}}"#),
        );
        let (code, f) = resolve_one(&env, "m.js:1:2");
        assert_eq!(code, 2, "{mappings}: {f}");
        assert_eq!(f["failure"], "bad-map", "{mappings}: {f}");
        let note = f["note"].as_str().unwrap_or("");
        assert!(note.contains(why), "{mappings}: {note}");
    }
}

#[test]
fn regression_one_odd_optional_field_does_not_fail_the_map() {
    // Mozilla resolves all of these; each used to make every position `bad-map`.
    for extra in [
        r#""ignoreList":[-1]"#,
        r#""sourcesContent":[1]"#,
        r#""debugId":5"#,
        r#""names":["x",1]"#,
    ] {
        let env = TestEnv::new();
        sealed_map(
            &env,
            &format!(r#"{{"version":3,"sources":["a.ts"],"mappings":"AAAA",{extra}}}"#),
        );
        let (code, f) = resolve_one(&env, "m.js:1:1");
        assert_eq!(
            (code, &f["original"]["source"]),
            (0, &Value::from("a.ts")),
            "{extra}: {f}"
        );
    }
    let env = TestEnv::new();
    sealed_map(
        &env,
        r#"{"version":"3","sources":["a.ts"],"names":["\ud800x"],"mappings":"AAAAA"}"#,
    );
    let (code, f) = resolve_one(&env, "m.js:1:1");
    assert_eq!(code, 0, "{f}");
    assert_eq!(
        f["original"]["name"], "\u{fffd}x",
        "a lone surrogate reads as U+FFFD"
    );
}

#[test]
fn regression_ties_and_shared_section_offsets_are_resolved_as_mozilla_does() {
    // Two segments at one generated column: Mozilla takes the greatest (line 2), not the first.
    let env = TestEnv::new();
    sealed_map(
        &env,
        r#"{"version":3,"sources":["a.ts","b.ts"],"mappings":"AAAA,AACA"}"#,
    );
    let (_, f) = resolve_one(&env, "m.js:1:1");
    assert_eq!(f["original"]["line"], 2, "{f}");
    // Two sections at one offset: at the offset Mozilla's search lands on the first.
    let sec = |src: &str| {
        format!(
            r#"{{"offset":{{"line":0,"column":0}},"map":{{"version":3,"sources":["{src}"],"mappings":"AAAA"}}}}"#
        )
    };
    let env = TestEnv::new();
    sealed_map(
        &env,
        &format!(
            r#"{{"version":3,"sections":[{},{}]}}"#,
            sec("first.ts"),
            sec("second.ts")
        ),
    );
    let (_, f) = resolve_one(&env, "m.js:1:1");
    assert_eq!(f["original"]["source"], "first.ts", "{f}");
    let (_, f) = resolve_one(&env, "m.js:1:5");
    assert_eq!(f["original"]["source"], "second.ts", "{f}");
}

#[test]
fn regression_source_root_applies_to_absolute_sources_and_a_null_source_is_unknown() {
    let env = TestEnv::new();
    sealed_map(
        &env,
        r#"{"version":3,"sourceRoot":"root","sources":["/a.ts",null],"sourcesContent":[null,"x = 1;\n"],"mappings":"AAAA,CCAA"}"#,
    );
    let (_, f) = resolve_one(&env, "m.js:1:1");
    assert_eq!(f["original"]["source"], "root/a.ts", "{f}");
    let (code, f) = resolve_one(&env, "m.js:1:2");
    assert_eq!(code, 0, "{f}");
    assert_eq!(f["original"]["source"], Value::Null, "{f}");
    assert_eq!(f["original"]["source_line"], "x = 1;", "{f}");
    let run = env
        .mapvault(["resolve", "--vault", "vault", "m.js:1:2"])
        .ok();
    assert!(
        run.stdout_str().starts_with("<anonymous>:1:1\n"),
        "{}",
        run.stdout_str()
    );
}

#[test]
fn regression_a_huge_source_line_is_windowed_not_copied_into_every_frame() {
    // One 1 MB line of minified source and a trace of 64 frames into it: the JSON output used
    // to hold the whole line in every frame (64 MB).
    let env = TestEnv::new();
    let line = format!("{}TARGET{}", "a".repeat(500_000), "b".repeat(500_000));
    // Generated column c maps to original column 500000 (VLQ of 500000 is "gywe").
    sealed_map(
        &env,
        &format!(
            r#"{{"version":3,"sources":["vendor.js"],"sourcesContent":["{line}"],"names":[],"mappings":"AAAgywe"}}"#
        ),
    );
    let trace: String = (1..=64)
        .map(|c| format!("    at f (https://x.test/m.js:1:{c})\n"))
        .collect();
    let run = env
        .mapvault(["resolve", "--vault", "vault", "--format", "json"])
        .stdin(&trace)
        .ok();
    run.ensure(
        run.stdout.len() < 200_000,
        format!("{} bytes of output for 64 frames", run.stdout.len()),
    );
    let v = run.json();
    for f in v["frames"].as_array().expect("frames") {
        let o = &f["original"];
        let text = o["source_line"].as_str().unwrap_or("");
        let start = o["source_line_start"].as_u64().unwrap_or(0) as usize;
        assert!(text.chars().count() <= 400, "{} characters", text.len());
        assert_eq!(o["source_line_truncated"], true);
        assert_eq!(o["column"], 500_001);
        // The window holds the column: TARGET starts at 1-based column 500001.
        assert_eq!(text.find("TARGET").map(|i| start + i), Some(500_001), "{o}");
    }
    let human = env
        .mapvault(["resolve", "--vault", "vault", "m.js:1:1"])
        .ok();
    let out = human.stdout_str();
    run.ensure(
        out.len() < 2000 && out.contains("…") && out.contains("TARGET"),
        &out,
    );
    // The caret sits under the T of TARGET.
    let lines: Vec<&str> = out.lines().collect();
    let (text, caret) = (lines[1], lines[2]);
    assert_eq!(
        text.chars().position(|c| c == 'T'),
        caret.chars().position(|c| c == '^'),
        "{out}"
    );
}

#[test]
fn regression_trace_mode_escapes_terminal_controls_from_the_map() {
    // Sources and names carrying ESC, OSC, CSI, C1 and bidi characters: the single-position
    // output escaped them, the rewritten trace printed them raw.
    let env = TestEnv::new();
    sealed_map(
        &env,
        r#"{"version":3,"sources":["\u001b]0;pwned\u0007\u202eevil.js"],"names":["\u001b[2J\u009b31mx"],"mappings":"AAAAA"}"#,
    );
    let trace = "Error: x\n    at f (https://x.test/m.js:1:1)\n    at g (https://x.test/m.js:1:1)\nh@https://x.test/m.js:1:1\n";
    for format in ["human", "json"] {
        let run = env
            .mapvault(["resolve", "--vault", "vault", "--format", format])
            .stdin(trace)
            .ok();
        let text = match format {
            "json" => run.json()["text"].as_str().unwrap_or("").to_string(),
            _ => run.stdout_str(),
        };
        for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
            run.ensure(
                !text.contains(bad),
                format!("{format}: {bad:?} printed raw in {text:?}"),
            );
        }
        run.ensure(
            text.contains("\\u{1b}]0;pwned"),
            format!("{format}: escaped, still visible: {text:?}"),
        );
        run.ensure(
            text.lines().count() == 4,
            format!("{format}: no line added: {text:?}"),
        );
    }
}

#[cfg(unix)]
#[test]
fn regression_vault_entries_that_are_not_regular_files_are_refused_at_once() {
    // A map object or manifest.json (now: a seal record) that is a symlink to /dev/zero was
    // read without end, a FIFO in their place or as VAULT/lock hung forever. The address-space limit keeps a
    // failure of this test from taking the machine with it.
    const LIMIT_KB: u64 = 2 << 20;
    type Plant = fn(&TestEnv, &Path);
    fn record(env: &TestEnv) -> std::path::PathBuf {
        let id = env.vault("vault").record_files().remove(0).0;
        env.path(format!("vault/seals/{id}.json"))
    }
    let cases: [(&str, Plant, &str); 6] = [
        (
            "map → /dev/zero",
            |env, map| {
                std::fs::remove_file(map).expect("rm map");
                std::os::unix::fs::symlink("/dev/zero", map).expect("symlink");
                let _ = env;
            },
            "symbolic link",
        ),
        ("map FIFO", |_, map| mkfifo(map), "FIFO"),
        (
            "record → /dev/zero",
            |env, _| {
                let m = record(env);
                std::fs::remove_file(&m).expect("rm record");
                std::os::unix::fs::symlink("/dev/zero", &m).expect("symlink");
            },
            "symbolic link",
        ),
        (
            "record FIFO",
            |env, _| {
                let m = record(env);
                std::fs::remove_file(&m).expect("rm record");
                mkfifo(&m);
            },
            "FIFO",
        ),
        (
            "v1 manifest FIFO",
            |env, _| mkfifo(&env.path("vault/manifest.json")),
            "FIFO",
        ),
        (
            "lock FIFO",
            |env, _| mkfifo(&env.path("vault/lock")),
            "FIFO",
        ),
    ];
    for (what, plant, why) in cases {
        let env = TestEnv::new();
        sealed_map(
            &env,
            r#"{"version":3,"sources":["a.ts"],"mappings":"AAAA"}"#,
        );
        plant(&env, &map_object(&env));
        let run = env
            .mapvault(["resolve", "--vault", "vault", "m.js:1:1"])
            .ulimit("-v", LIMIT_KB)
            .run();
        run.ensure(run.code == Some(2), format!("{what}: exit {:?}", run.code));
        run.ensure(
            run.stderr_str().contains(why),
            format!("{what}: says {why}"),
        );
    }
}

#[test]
fn regression_a_map_object_bigger_than_its_record_is_never_read() {
    // The record says how big the map is; a vault object that grew (a 64 MiB sparse file
    // here) is refused from its size, before a byte of it is read.
    let env = TestEnv::new();
    sealed_map(
        &env,
        r#"{"version":3,"sources":["a.ts"],"mappings":"AAAA"}"#,
    );
    let obj = map_object(&env);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&obj)
        .and_then(|f| f.set_len(64 << 20))
        .expect("grow the object");
    let (code, f) = resolve_one(&env, "m.js:1:1");
    assert_eq!((code, &f["failure"]), (2, &Value::from("bad-map")), "{f}");
    let note = f["note"].as_str().unwrap_or("");
    assert!(note.contains("its record says at most"), "{note}");
}

#[test]
fn regression_seal_debug_ids_never_writes_a_duplicate_key() {
    // A map whose `debugId` is not a string got a second `"debugId"` member inserted.
    let env = TestEnv::new();
    env.write("dist/app.js", "f();\n//# sourceMappingURL=app.js.map\n");
    env.write(
        "dist/app.js.map",
        r#"{"version":3,"debugId":5,"sources":["a.ts"],"names":[],"mappings":"AAAA"}"#,
    );
    env.mapvault(["seal", "dist", "--vault", "vault", "--debug-ids", "-q"])
        .ok();
    for (sha, bytes) in env.vault("vault").maps() {
        let keys = top_level_keys(&bytes);
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            keys.len(),
            unique.len(),
            "maps/{sha}.map has duplicate keys: {keys:?}"
        );
    }
    let (code, f) = resolve_one(&env, "app.js:1:1");
    assert_eq!(
        (code, &f["original"]["source"]),
        (0, &Value::from("a.ts")),
        "{f}"
    );
}

/// Seal `dist` into `vault` and resolve `trace` against it (`--format json`): the run and
/// its frames.
fn seal_and_resolve_trace(env: &TestEnv, trace: &str) -> (crate::harness::Run, Vec<Value>) {
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let run = env
        .mapvault(["resolve", "--vault", "vault", "--format", "json"])
        .stdin(trace)
        .ok();
    let frames = run.json()["frames"].as_array().cloned().unwrap_or_default();
    (run, frames)
}

/// The keys of a JSON object in the order written, duplicates kept.
fn top_level_keys(json: &[u8]) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Keys, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                        out.push(k);
                    }
                    Ok(Keys(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_slice::<Keys>(json)
        .map(|k| k.0)
        .unwrap_or_default()
}

#[test]
fn resolve_agrees_with_every_check_mapping_of_the_ecma426_corpus() {
    // Every `checkMapping` of a valid map of the tc39 corpus, asked through a stack trace.
    let Some(root) = shared_dir()
        .map(|s| s.join("conformance/tc39-source-map-tests"))
        .filter(|p| p.join("resources").is_dir())
    else {
        say(
            "SKIPPED resolve_agrees_with_every_check_mapping_of_the_ecma426_corpus: ../shared is absent",
        );
        assert!(std::env::var_os("CI").is_none(), "CI must have ../shared");
        return;
    };
    let spec: Value = serde_json::from_slice(
        &std::fs::read(root.join("source-map-spec-tests.json")).expect("spec tests"),
    )
    .expect("spec JSON");
    let env = TestEnv::new();
    let mut trace = String::new();
    let mut want = Vec::new();
    for (i, t) in spec["tests"].as_array().expect("tests").iter().enumerate() {
        if t["sourceMapIsValid"] != true {
            continue;
        }
        let map = std::fs::read(
            root.join("resources")
                .join(t["sourceMapFile"].as_str().expect("file")),
        )
        .expect("map");
        env.write(format!("dist/t{i}.js"), "f();\n");
        env.write(format!("dist/t{i}.js.map"), map);
        for a in t["testActions"].as_array().into_iter().flatten() {
            if a["actionType"] != "checkMapping" {
                continue;
            }
            let (l, c) = (
                a["generatedLine"].as_u64().expect("line"),
                a["generatedColumn"].as_u64().expect("col"),
            );
            trace.push_str(&format!(
                "    at f (https://x.test/t{i}.js:{}:{})\n",
                l + 1,
                c + 1
            ));
            want.push((t["name"].clone(), a.clone()));
        }
    }
    let (run, frames) = seal_and_resolve_trace(&env, &trace);
    run.ensure(
        frames.len() == want.len() && want.len() > 50,
        "every action asked",
    );
    for (f, (name, a)) in frames.iter().zip(&want) {
        if a["originalLine"].is_null() {
            run.ensure(
                f["failure"] == "unmapped",
                format!("{name}: expected nothing mapped, got {f}"),
            );
            continue;
        }
        let o = &f["original"];
        let source_ok = match a["originalSource"].as_str() {
            None => o["source"].is_null(),
            Some(s) => normal_source(o["source"].as_str().unwrap_or("?")).ends_with(s),
        };
        run.ensure(
            f["resolved"] == true
                && source_ok
                && o["line"].as_u64() == a["originalLine"].as_u64().map(|l| l + 1)
                && o["column"].as_u64() == a["originalColumn"].as_u64().map(|c| c + 1)
                && o["name"] == a["mappedName"],
            format!("{name}: expected {a}, got {f}"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property: resolve answers what Mozilla `source-map` answers, on generated maps.

/// SplitMix64: the maps of a case follow from its seed (proptest picks and reports seeds).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

fn vlq(out: &mut String, v: i64) {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u64 = if v < 0 {
        (v.unsigned_abs() << 1) | 1
    } else {
        (v as u64) << 1
    };
    loop {
        let mut d = (x & 31) as usize;
        x >>= 5;
        if x > 0 {
            d |= 32;
        }
        out.push(B64[d] as char);
        if x == 0 {
            break;
        }
    }
}

/// Sources Mozilla's URL normalization leaves as they are, so the answers compare exactly;
/// `null` is an unknown source (Mozilla prints `null`).
const GEN_SOURCES: &[&str] = &[
    r#""a.js""#,
    r#""src/b.ts""#,
    r#""/abs/c.js""#,
    r#""https://cdn.test/d.js""#,
    r#""webpack://app/e.js""#,
    "null",
];
const GEN_ROOTS: &[&str] = &[
    "",
    r#""sourceRoot":"","#,
    r#""sourceRoot":"root","#,
    r#""sourceRoot":"root/","#,
    r#""sourceRoot":"/r","#,
    r#""sourceRoot":"https://x.test/r","#,
];
const GEN_NAMES: &[&str] = &[
    r#""x""#,
    r#""y""#,
    r#""\ud800""#,
    r#""z\udc00w""#,
    r#""\u00e9t\u00e9""#,
];
/// Fields Mozilla ignores and a strict reader might trip on.
const GEN_EXTRAS: &[&str] = &[
    r#""ignoreList":[-1],"#,
    r#""x_google_ignoreList":[7],"#,
    r#""sourcesContent":[1],"#,
    r#""sourcesContent":["l0\nl1\r\nl2"],"#,
    r#""debugId":5,"#,
    r#""file":3,"#,
];

/// What the generated maps of a run held, to check the run covered what it claims.
#[derive(Debug, Default, Clone, Copy)]
struct Coverage {
    ties: usize,
    long_lines: usize,
    shared_offsets: usize,
    nested: usize,
    invalid: usize,
    roots: usize,
    answers: usize,
    unmapped: usize,
    refused: usize,
    unknown_sources: usize,
}

/// A regular map: 1–4 generated lines of segments with 1, 4 or 5 fields, ties at one column,
/// columns out of order, indexes sometimes out of range, and now and then invalid VLQ; now and
/// then a first line of over a thousand segments (sorted or not), as a minifier writes. Returns
/// the map, its number of lines and the greatest column of its first line.
fn gen_regular(rng: &mut Rng, cov: &mut Coverage) -> (String, u32, u32) {
    let n_sources = 1 + rng.below(3) as i64;
    let sources: Vec<&str> = (0..n_sources).map(|_| *rng.pick(GEN_SOURCES)).collect();
    let n_names = rng.below(4) as i64;
    let names: Vec<&str> = (0..n_names).map(|_| *rng.pick(GEN_NAMES)).collect();
    let lines = 1 + rng.below(4) as u32;
    let mut m = String::new();
    let (mut src, mut oline, mut ocol, mut name) = (0i64, 0i64, 0i64, 0i64);
    let long = rng.chance(8);
    let sorted = rng.chance(50);
    let mut first_line_cols = 0;
    for l in 0..lines {
        if l > 0 {
            m.push(';');
        }
        let mut col = 0i64;
        let count = if long && l == 0 {
            cov.long_lines += 1;
            1100 + rng.below(900)
        } else {
            rng.below(6)
        };
        for k in 0..count {
            if k > 0 {
                m.push(',');
            }
            // Ties (the same column again) are common; a step back now and then.
            let next = match rng.below(10) {
                0..=2 if k > 0 => {
                    cov.ties += 1;
                    col
                }
                3 if col > 0 && !(long && sorted) => col - 1,
                _ => col + 1 + rng.below(3) as i64,
            };
            vlq(&mut m, next - col);
            col = next;
            if l == 0 {
                first_line_cols = first_line_cols.max(col as u32);
            }
            let fields = *rng.pick(&[1, 4, 4, 5, 5]);
            if fields == 1 {
                continue;
            }
            let s = if rng.chance(4) {
                n_sources
            } else {
                rng.below(n_sources as u64) as i64
            };
            let ol = rng.below(4) as i64;
            let oc = rng.below(6) as i64;
            for (v, prev) in [(s, &mut src), (ol, &mut oline), (oc, &mut ocol)] {
                vlq(&mut m, v - *prev);
                *prev = v;
            }
            if fields == 5 && (n_names > 0 || rng.chance(10)) {
                let n = if rng.chance(5) {
                    n_names
                } else {
                    rng.below(n_names as u64) as i64
                };
                vlq(&mut m, n - name);
                name = n;
            }
        }
    }
    // Invalid mappings, as Mozilla and ECMA-426 define them (ASCII only: Mozilla reads other
    // characters modulo 256, a documented difference).
    if rng.chance(12) {
        cov.invalid += 1;
        let at = rng.below(m.len() as u64 + 1) as usize;
        match rng.below(4) {
            0 => m.insert(at, *rng.pick(&['!', '=', '.', '#', ' '])),
            1 => m.push('g'),
            2 => m.push_str(",AAD"),
            _ => m.push_str(",AD"),
        }
    }
    let version = if rng.chance(15) { r#""3""# } else { "3" };
    let root = *rng.pick(GEN_ROOTS);
    cov.roots += usize::from(root.len() > 15);
    let extra = if rng.chance(30) {
        *rng.pick(GEN_EXTRAS)
    } else {
        ""
    };
    let names = if names.is_empty() && rng.chance(50) {
        String::new()
    } else {
        format!(r#""names":[{}],"#, names.join(","))
    };
    let json = format!(
        r#"{{"version":{version},{root}{extra}{names}"sources":[{}],"mappings":"{m}"}}"#,
        sources.join(",")
    );
    (json, lines, first_line_cols)
}

/// A regular map, or an index map whose sections often share an offset (nested now and then).
fn gen_map(rng: &mut Rng, depth: u32, cov: &mut Coverage) -> (String, u32, u32) {
    if depth > 1 || !rng.chance(30) {
        return gen_regular(rng, cov);
    }
    cov.nested += usize::from(depth > 0);
    let (mut line, mut col) = (0u32, 0u32);
    let mut sections = Vec::new();
    let mut last_line = 1;
    for i in 0..1 + rng.below(3) {
        if i > 0 && rng.chance(40) {
            cov.shared_offsets += 1;
        } else if i > 0 {
            if rng.chance(50) {
                line += 1;
                col = rng.below(3) as u32;
            } else {
                col += 1 + rng.below(3) as u32;
            }
        }
        let (map, lines, _) = gen_map(rng, depth + 1, cov);
        last_line = line + lines;
        sections.push(format!(
            r#"{{"offset":{{"line":{line},"column":{col}}},"map":{map}}}"#
        ));
    }
    (
        format!(r#"{{"version":3,"sections":[{}]}}"#, sections.join(",")),
        last_line,
        0,
    )
}

/// Run `tests/tools/mozilla-lookup.cjs` on maps and 1-based positions.
fn mozilla_answers(env: &TestEnv, maps: &[String], queries: &[(usize, u32, u32)]) -> Vec<Value> {
    npm_tool("source-map");
    let job = serde_json::json!({"maps": maps, "queries": queries});
    let path = env.write("job.json", serde_json::to_vec(&job).expect("job"));
    let script = manifest_dir().join("tests/tools/mozilla-lookup.cjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(&path)
        .current_dir(manifest_dir().join("tests/tools"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); node is required by this test"));
    assert!(
        out.status.success(),
        "node {} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("mozilla-lookup.cjs printed no JSON");
    v["answers"].as_array().expect("answers").clone()
}

/// Does mapvault's frame say what Mozilla's answer says?
fn agrees(ours: &Value, moz: &Value) -> bool {
    if moz.get("error").is_some() {
        return ours["failure"] == "bad-map";
    }
    if moz.is_null() {
        return ours["failure"] == "unmapped";
    }
    let o = &ours["original"];
    let source_ok = match o["source"].as_str() {
        Some(s) => moz["source"] == s,
        // An unknown source (`null` in `sources`): Mozilla prints `null`, joined to the root.
        None => moz["source"].as_str().is_some_and(|s| s.ends_with("null")),
    };
    ours["resolved"] == true
        && source_ok
        && o["line"] == moz["line"]
        && o["column"] == moz["column"]
        && o["name"] == moz["name"]
}

fn check_against_mozilla(seed: u64, cov: &mut Coverage) {
    let mut rng = Rng(seed);
    let env = TestEnv::new();
    let mut maps = Vec::new();
    let mut queries = Vec::new();
    let mut trace = String::new();
    for k in 0..24 {
        let (map, lines, wide) = gen_map(&mut rng, 0, cov);
        env.write(format!("dist/m{k}.js"), "f();\n");
        env.write(format!("dist/m{k}.js.map"), &map);
        let mut ask = |line: u32, col: u32| {
            queries.push((k, line, col));
            trace.push_str(&format!("    at f (https://x.test/m{k}.js:{line}:{col})\n"));
        };
        for line in 1..=(lines + 1).min(6) {
            for col in [1, 2, 3, 4, 6, 9] {
                ask(line, col);
            }
        }
        // A long first line: columns all along it.
        if wide > 20 {
            for i in 0..40 {
                ask(1, 1 + i * (wide + 2) / 40);
            }
        }
        maps.push(map);
    }
    let want = mozilla_answers(&env, &maps, &queries);
    let (run, frames) = seal_and_resolve_trace(&env, &trace);
    run.ensure(frames.len() == queries.len(), "one frame per position");
    for ((f, m), &(k, line, col)) in frames.iter().zip(&want).zip(&queries) {
        run.ensure(
            agrees(f, m),
            format!(
                "seed {seed}: map m{k} at {line}:{col}\n  map: {}\n  Mozilla: {m}\n  mapvault: {f}",
                maps[k]
            ),
        );
        match f["failure"].as_str() {
            Some("bad-map") => cov.refused += 1,
            Some(_) => cov.unmapped += 1,
            None => {
                cov.answers += 1;
                cov.unknown_sources += usize::from(f["original"]["source"].is_null());
            }
        }
    }
}

/// Generated maps (ties, unsorted columns, index maps with shared offsets and nesting,
/// `sourceRoot` variants, `null` sources, lone surrogates, odd optional fields, invalid VLQ,
/// out-of-range indexes), 24 per case with ~30 positions each: every answer of `resolve` is
/// Mozilla's. `MOZILLA_CASES` cases (default 12); proptest reports the failing seed.
#[test]
fn resolve_answers_what_mozilla_source_map_answers() {
    use proptest::test_runner::{Config, TestRunner};
    let cases = std::env::var("MOZILLA_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let cov = std::cell::Cell::new(Coverage::default());
    let result = runner.run(&proptest::prelude::any::<u64>(), |seed| {
        let mut c = cov.get();
        check_against_mozilla(seed, &mut c);
        cov.set(c);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let c = cov.get();
    say(&format!("resolve vs Mozilla, {cases} cases: {c:?}"));
    // The run saw every kind of case it claims to (a failure here means the generator drifted).
    assert!(
        c.ties > 0
            && c.long_lines > 0
            && c.shared_offsets > 0
            && c.nested > 0
            && c.invalid > 0
            && c.roots > 0
            && c.answers > 100
            && c.unmapped > 0
            && c.refused > 0
            && c.unknown_sources > 0,
        "{c:?}"
    );
}
