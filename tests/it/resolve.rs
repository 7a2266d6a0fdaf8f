//! `mapvault resolve`: positions and stack traces checked against an independent consumer
//! (Mozilla's `source-map`, pinned in `tests/tools`), and the matching rules — path suffix,
//! sealed hash, debug ID, ambiguity between dists, `--dist`, index maps.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{TestEnv, fixtures_dir, manifest_dir};
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
