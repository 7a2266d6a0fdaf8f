//! `mapvault export`: maps back at their original paths (inline maps beside their bundle),
//! bundles copied from `--with`, a private output directory, refusals, and the layout accepted by
//! a real uploader (`datadog-ci sourcemaps upload --dry-run`, pinned in `tests/tools`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::harness::{TestEnv, manifest_dir};
use crate::maps::{decode_data_uri, line_references};
use crate::resolve::npm_tool;

/// Every file under `root`, relative, with its bytes.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .expect("under")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

fn mode(p: &Path) -> u32 {
    crate::harness::mode_of(&std::fs::metadata(p).expect("stat")) & 0o777
}

/// Every directory and file under `root` has the private mode.
fn assert_private(root: &Path) {
    assert_eq!(mode(root), 0o700, "{}", root.display());
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                assert_eq!(mode(&p), 0o700, "{}", p.display());
                stack.push(p);
            } else {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
            }
        }
    }
}

#[test]
fn export_writes_maps_at_their_paths_and_bundles_beside_them() {
    let env = TestEnv::new();
    env.copy_fixture("vite", "dist");
    let original = files(&env.path("dist"));
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let sealed = files(&env.path("dist"));
    let run = env
        .mapvault([
            "export", "--vault", "vault", "--out", "out", "--with", "dist", "--format", "json",
        ])
        .umask(0o000)
        .ok();
    let out = files(&env.path("out"));
    let maps: Vec<&String> = original.keys().filter(|k| k.ends_with(".map")).collect();
    assert!(!maps.is_empty());
    for m in &maps {
        assert_eq!(
            out.get(*m),
            original.get(*m),
            "{m}: exported map differs from the original"
        );
        let bundle = m.strip_suffix(".map").expect("map name");
        assert_eq!(
            out.get(bundle),
            sealed.get(bundle),
            "{bundle}: the sealed bundle beside its map"
        );
    }
    assert_eq!(
        out.len(),
        maps.len() * 2,
        "only maps and their bundles: {:?}",
        out.keys()
    );
    assert_private(&env.path("out"));
    let v = run.json();
    assert_eq!(v["maps"], maps.len());
    assert_eq!(v["bundles"], maps.len());
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(0));
    // The dist and vault are as they were.
    assert_eq!(files(&env.path("dist")), sealed);
}

#[test]
fn inline_maps_are_exported_as_bundle_dot_map() {
    let env = TestEnv::new();
    env.copy_fixture("webpack-inline-source-map", "dist");
    let original = files(&env.path("dist"));
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    env.mapvault(["export", "--vault", "vault", "--out", "out"])
        .ok();
    let out = files(&env.path("out"));
    let mut n = 0;
    for (rel, bytes) in &original {
        let Some(r) = line_references(bytes)
            .into_iter()
            .rev()
            .find(|r| r.is_inline())
        else {
            continue;
        };
        n += 1;
        assert_eq!(
            out.get(&format!("{rel}.map")),
            Some(&decode_data_uri(&r.url)),
            "{rel}.map should hold the decoded inline map"
        );
    }
    assert!(n > 0);
    assert_eq!(
        out.len(),
        n,
        "without --with only the maps: {:?}",
        out.keys()
    );
}

#[test]
fn export_refuses_unsafe_or_unclear_destinations() {
    let env = TestEnv::new();
    env.copy_fixture("esbuild", "dist");
    env.copy_fixture("rollup", "other");
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();

    let run = env
        .mapvault([
            "export",
            "--vault",
            "vault",
            "--out",
            "dist/maps",
            "--with",
            "dist",
        ])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("inside the dist"),
        "inside --with",
    );
    assert!(
        !env.path("dist/maps").exists(),
        "nothing created in the dist"
    );
    let run = env
        .mapvault(["export", "--vault", "vault", "--out", "dist/maps"])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("inside the sealed dist"),
        "inside a sealed dist",
    );

    env.write("busy/file.txt", "x");
    let run = env
        .mapvault(["export", "--vault", "vault", "--out", "busy"])
        .expect_code(2);
    run.ensure(run.stderr_str().contains("not empty"), "non-empty out");
    env.mkdir("empty");
    env.set_mode("empty", 0o755);
    env.mapvault(["export", "--vault", "vault", "--out", "empty"])
        .ok();
    assert_eq!(
        mode(&env.path("empty")),
        0o700,
        "an empty OUT is made private"
    );

    // Two dists: say which.
    env.mapvault(["seal", "other", "--vault", "vault", "-q"])
        .ok();
    let run = env
        .mapvault(["export", "--vault", "vault", "--out", "out2"])
        .expect_code(2);
    run.ensure(run.stderr_str().contains("--dist"), "asks for --dist");
    env.mapvault([
        "export", "--vault", "vault", "--out", "out2", "--dist", "other",
    ])
    .ok();
    assert!(env.path("out2/main.js.map").is_file());
    assert!(
        !env.path("out2/chunk-7TVHT2ZJ.js.map").exists(),
        "only the chosen dist"
    );
}

#[test]
fn export_with_a_changed_bundle_reports_it_and_does_not_pair_it() {
    let env = TestEnv::new();
    env.copy_fixture("esbuild", "dist");
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    env.write("dist/main.js", "rebuilt();\n");
    let run = env
        .mapvault([
            "export", "--vault", "vault", "--out", "out", "--with", "dist",
        ])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("main.js")
            && run.stderr_str().contains("not the file that was sealed"),
        "names the changed bundle",
    );
    assert!(!env.path("out/main.js").exists());
    assert!(
        env.path("out/main.js.map").is_file(),
        "the map is still exported"
    );
    assert!(
        env.path("out/worker.js").is_file(),
        "other bundles are copied"
    );
}

/// The maps datadog-ci uploads: those of scripts (`.js.map`, `.cjs.map`, `.mjs.map`).
fn is_js_map(rel: &str) -> bool {
    [".js.map", ".cjs.map", ".mjs.map"]
        .iter()
        .any(|e| rel.ends_with(e))
}

/// datadog-ci's dry run must find every JS map of the export and pair it with its bundle.
/// Network: its metrics flush is sent to a closed loopback port through a proxy setting.
fn datadog_dry_run(env: &TestEnv, out: &str) -> (String, usize) {
    let tool = npm_tool("@datadog/datadog-ci");
    let bin = tool.join("dist/bundle.js");
    let dir = env.path(out);
    let run = Command::new("node")
        .arg(&bin)
        .args(["sourcemaps", "upload"])
        .arg(&dir)
        .args([
            "--service",
            "web",
            "--release-version",
            "1.0.0",
            "--minified-path-prefix",
            "https://cdn.example.com/static/",
            "--dry-run",
            "--disable-git",
        ])
        .current_dir(manifest_dir().join("tests/tools"))
        .env("DATADOG_API_KEY", "dry-run-no-key")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "")
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); node is required by this test"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "datadog-ci failed:\n{text}");
    let js_maps = files(&dir).keys().filter(|k| is_js_map(k)).count();
    (text, js_maps)
}

#[test]
fn datadog_ci_dry_run_pairs_every_exported_map() {
    for fixture in [
        "vite",
        "webpack-source-map",
        "webpack-inline-source-map",
        "esbuild",
        "rollup",
    ] {
        let env = TestEnv::new();
        env.copy_fixture(fixture, "dist");
        env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
            .ok();
        env.mapvault([
            "export", "--vault", "vault", "--out", "out", "--with", "dist",
        ])
        .ok();
        let (text, js_maps) = datadog_dry_run(&env, "out");
        assert!(js_maps > 0, "{fixture}: no script map exported");
        let out = env.path("out");
        for rel in files(&out).keys().filter(|k| is_js_map(k)) {
            let line = format!(
                "Uploading sourcemap {} for JS file available at https://cdn.example.com/static/{}",
                out.join(rel).display(),
                rel.strip_suffix(".map").expect("map")
            );
            assert!(
                text.contains(&line),
                "{fixture}: datadog-ci did not pair {rel}:\n{text}"
            );
        }
        assert!(
            text.contains(&format!("Handled {js_maps} sourcemaps with success")),
            "{fixture}: expected {js_maps} maps handled:\n{text}"
        );
        assert!(!text.contains("Failed upload"), "{fixture}:\n{text}");
    }
}

#[test]
fn datadog_ci_dry_run_notices_a_map_without_its_bundle() {
    // The check above can fail: without --with the bundles are missing and datadog-ci says so.
    let env = TestEnv::new();
    env.copy_fixture("esbuild", "dist");
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    env.mapvault(["export", "--vault", "vault", "--out", "out"])
        .ok();
    let (text, js_maps) = datadog_dry_run(&env, "out");
    assert!(js_maps > 0);
    assert!(
        text.contains("Missing corresponding JS file")
            && !text.contains(&format!("Handled {js_maps} sourcemaps with success")),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 19. Each regression test below failed before its fix.

#[test]
fn regression_export_writes_the_map_the_bundle_used_and_reports_the_clash() {
    // `a.js` carries an inline map; the dist also had an unrelated `a.js.map`. Export wrote the
    // file map at `a.js.map` (an uploader pairs it with `a.js`), reported nothing, exited 0.
    let env = TestEnv::new();
    let inline = r#"{"version":3,"sources":["inline.ts"],"names":[],"mappings":"AAAA"}"#;
    let unrelated = r#"{"version":3,"sources":["unrelated.ts"],"names":[],"mappings":"AAAA"}"#;
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(inline);
    env.write(
        "dist/a.js",
        format!("f();\n//# sourceMappingURL=data:application/json;base64,{b64}\n"),
    );
    env.write("dist/a.js.map", unrelated);
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let run = env
        .mapvault([
            "export", "--vault", "vault", "--out", "out", "--with", "dist", "--format", "json",
        ])
        .expect_code(2);
    assert_eq!(
        std::fs::read(env.path("out/a.js.map")).expect("a.js.map"),
        inline.as_bytes(),
        "a.js.map must be the map a.js used"
    );
    let v = run.json();
    let errors = v["errors"].as_array().expect("errors");
    run.ensure(
        errors.iter().any(|e| {
            e["kind"] == "map-clash"
                && e["path"] == "a.js.map"
                && e["message"].as_str().unwrap_or("").contains("not exported")
        }),
        "the clash is reported",
    );
    assert!(
        env.path("out/a.js").is_file(),
        "the bundle is copied beside it"
    );
    // Human output says so too.
    let run = env
        .mapvault(["export", "--vault", "vault", "--out", "out2"])
        .expect_code(2);
    run.ensure(run.stderr_str().contains("a.js.map"), "names the clash");
}

#[test]
fn regression_a_bundle_whose_map_lived_elsewhere_clashes_with_a_map_named_after_it() {
    // `b.js` used `maps/b.map`; an unrelated `b.js.map` sits where uploaders look for b.js's
    // map. Export writes both at their paths and reports the clash.
    let env = TestEnv::new();
    env.write("dist/b.js", "f();\n//# sourceMappingURL=maps/b.map\n");
    env.write(
        "dist/maps/b.map",
        r#"{"version":3,"sources":["b.ts"],"names":[],"mappings":"AAAA"}"#,
    );
    env.write(
        "dist/b.js.map",
        r#"{"version":3,"sources":["other.ts"],"names":[],"mappings":"AAAA"}"#,
    );
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let run = env
        .mapvault([
            "export", "--vault", "vault", "--out", "out", "--format", "json",
        ])
        .expect_code(2);
    let v = run.json();
    run.ensure(
        v["errors"].as_array().is_some_and(|e| {
            e.iter()
                .any(|e| e["kind"] == "map-clash" && e["path"] == "b.js.map")
        }),
        "clash at b.js.map",
    );
    assert!(env.path("out/maps/b.map").is_file() && env.path("out/b.js.map").is_file());
}

#[test]
fn regression_export_refuses_a_symlinked_out() {
    // `--out LINK` followed the link and chmodded its target.
    let env = TestEnv::new();
    env.copy_fixture("esbuild", "dist");
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    env.mkdir("target");
    env.set_mode("target", 0o755);
    env.symlink("target", "link");
    let run = env
        .mapvault(["export", "--vault", "vault", "--out", "link"])
        .expect_code(2);
    run.ensure(run.stderr_str().contains("symbolic link"), "says why");
    assert_eq!(
        mode(&env.path("target")),
        0o755,
        "the target was not chmodded"
    );
    assert_eq!(
        std::fs::read_dir(env.path("target"))
            .map(Iterator::count)
            .unwrap_or(1),
        0,
        "nothing was written through the link"
    );
}

#[cfg(unix)]
#[test]
fn regression_export_refuses_vault_objects_that_are_not_regular_files() {
    // A map object that is a symlink to /dev/zero was read without end (6 GB after 4 s).
    let env = TestEnv::new();
    env.copy_fixture("esbuild", "dist");
    env.mapvault(["seal", "dist", "--vault", "vault", "-q"])
        .ok();
    let maps = env.vault("vault").maps();
    let sha = maps.keys().next().expect("a map");
    let obj = env.vault("vault").map_path(sha);
    std::fs::remove_file(&obj).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &obj).expect("symlink");
    let run = env
        .mapvault([
            "export", "--vault", "vault", "--out", "out", "--format", "json",
        ])
        .ulimit("-v", 2 << 20)
        .expect_code(2);
    let v = run.json();
    run.ensure(
        v["errors"].as_array().is_some_and(|e| {
            e.iter().any(|e| {
                e["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("symbolic link")
            })
        }),
        "the object is named and refused",
    );
    assert_eq!(
        v["maps"].as_u64(),
        Some(maps.len() as u64 - 1),
        "every other map is exported"
    );
}
