//! `seal --debug-ids`: the IDs equal what `sentry-cli sourcemaps inject` (pinned in
//! `tests/tools`) writes for the same input, the vaulted maps carry them, the dist verifies
//! clean, node still runs the bundles (and registers the ID with `=sentry`), and unseal restores
//! every byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Level, TestEnv, manifest_dir};

fn sentry_cli() -> PathBuf {
    let p = manifest_dir().join("tests/tools/node_modules/.bin/sentry-cli");
    assert!(
        p.exists(),
        "{} is missing: run `npm ci` in tests/tools (scripts/test.sh does)",
        p.display()
    );
    p
}

/// `path → debug ID` from every `//# debugId=` line of the JS files under `root`.
fn ids_in(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root) {
        let e = e.expect("walk");
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.file_type().is_file() || ![".js", ".mjs", ".cjs"].iter().any(|x| name.ends_with(x)) {
            continue;
        }
        let text = std::fs::read(e.path()).expect("read");
        let text = String::from_utf8_lossy(&text);
        let ids: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("//# debugId="))
            .collect();
        assert!(ids.len() <= 1, "{name}: {} debugId comments", ids.len());
        if let Some(id) = ids.first() {
            let rel = e.path().strip_prefix(root).expect("under root");
            out.insert(rel.to_string_lossy().into_owned(), (*id).to_owned());
        }
    }
    out
}

fn same_ids_as_sentry_cli(fixture: &str) {
    let env = TestEnv::new();
    let theirs = env.copy_fixture(fixture, "sentry");
    let ours = env.copy_fixture(fixture, "dist");
    let before = env.snapshot("dist");
    let out = Command::new(sentry_cli())
        .args(["sourcemaps", "inject"])
        .arg(&theirs)
        .output()
        .expect("run sentry-cli");
    assert!(
        out.status.success(),
        "sentry-cli failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = ids_in(&theirs);
    assert!(
        !expected.is_empty(),
        "{fixture}: sentry-cli injected nothing"
    );

    let run = env
        .mapvault([
            "seal",
            "dist",
            "--vault",
            "vault",
            "--debug-ids",
            "--format",
            "json",
        ])
        .ok();
    let got = ids_in(&ours);
    assert_eq!(
        got, expected,
        "{fixture}: debug IDs differ from sentry-cli's"
    );

    // Every ID is in the manifest, and a vaulted map carries it as "debugId".
    let vault = env.vault("vault");
    let manifest = vault.manifest();
    let maps = vault.maps();
    let mut recorded = BTreeMap::new();
    for f in manifest["seals"][0]["files"].as_array().expect("files") {
        if let Some(id) = f["debug_id"].as_str() {
            recorded
                .entry(id.to_owned())
                .or_insert_with(Vec::new)
                .push(f["path"].as_str().unwrap_or("?").to_owned());
        }
    }
    for (path, id) in &got {
        assert!(
            recorded.contains_key(id),
            "{fixture}/{path}: {id} not in the manifest"
        );
        let carried = maps.values().any(|m| {
            serde_json::from_slice::<serde_json::Value>(m)
                .is_ok_and(|v| v["debugId"].as_str() == Some(id.as_str()))
        });
        run.ensure(
            carried,
            format_args!("{fixture}/{path}: no vaulted map has \"debugId\": \"{id}\""),
        );
    }
    env.mapvault(["verify", "dist"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(
        &env.snapshot("dist"),
        Level::Restored,
        "unseal after --debug-ids",
    );
}

mod same_ids_as_sentry_cli {
    #[test]
    fn vite() {
        super::same_ids_as_sentry_cli("vite");
    }
    #[test]
    fn webpack_source_map() {
        super::same_ids_as_sentry_cli("webpack-source-map");
    }
    /// No reference comment: bundles and maps are paired by name, as sentry-cli does.
    #[test]
    fn webpack_hidden_source_map() {
        super::same_ids_as_sentry_cli("webpack-hidden-source-map");
    }
    #[test]
    fn webpack_inline_source_map() {
        super::same_ids_as_sentry_cli("webpack-inline-source-map");
    }
    #[test]
    fn rollup() {
        super::same_ids_as_sentry_cli("rollup");
    }
    #[test]
    fn esbuild() {
        super::same_ids_as_sentry_cli("esbuild");
    }
}

#[test]
fn sentry_snippet_registers_the_id_and_the_bundle_still_runs() {
    let env = TestEnv::new();
    let dist = env.copy_fixture("esbuild", "dist");
    env.mapvault(["seal", "dist", "--vault", "vault", "--debug-ids=sentry"])
        .ok();
    let id = ids_in(&dist)["node-main.js"].clone();
    let out = Command::new("node")
        .args([
            "-e",
            "require('./node-main.js'); console.log(JSON.stringify(Object.values(globalThis._sentryDebugIds || {})))",
        ])
        .current_dir(&dist)
        .output()
        .expect("node is required by this test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("mapvault-fixture 2024-03-17"),
        "bundle output changed: {stdout}"
    );
    assert!(
        stdout.contains(&format!("\"{id}\"")),
        "snippet did not register {id}: {stdout}"
    );
}

#[test]
fn existing_ids_are_reused_and_the_map_is_not_copied() {
    let env = TestEnv::new();
    let id = "0f6c1f3e-52ab-4c1e-9d6a-3b1c2d4e5f60";
    env.write("dist/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    env.write(
        "dist/a.js.map",
        format!(
            r#"{{"version":3,"debugId":"{id}","sources":["a.ts"],"names":[],"mappings":"AAAA"}}"#
        ),
    );
    env.write(
        "dist/b.js",
        format!("b();\n//# debugId={id}\n//# sourceMappingURL=b.js.map\n")
            .replace(id, &id.replace("0f6c", "1f6c")),
    );
    env.write(
        "dist/b.js.map",
        r#"{"version":3,"sources":["b.ts"],"names":[],"mappings":"AAAA"}"#,
    );
    env.mapvault(["seal", "dist", "--vault", "vault", "--debug-ids"])
        .ok();
    assert_eq!(
        env.read("dist/a.js"),
        format!("a();\n//# debugId={id}\n").into_bytes()
    );
    let b_id = id.replace("0f6c", "1f6c");
    // b.js already named its ID: nothing is added to it, but its map gets the ID.
    assert_eq!(
        env.read("dist/b.js"),
        format!("b();\n//# debugId={b_id}\n\n").into_bytes()
    );
    let maps = env.vault("vault").maps();
    assert_eq!(
        maps.len(),
        3,
        "a's map once, b's map twice (original and with the ID)"
    );
    assert!(
        maps.values()
            .any(|m| m.starts_with(format!(r#"{{"debugId":"{b_id}","version":3"#).as_bytes())),
        "b's map with its ID inserted textually after the brace"
    );
}

#[test]
fn block_comment_or_mid_file_reference_gets_the_id_appended() {
    let env = TestEnv::new();
    env.write(
        "dist/a.js",
        "a();\n/*# sourceMappingURL=a.js.map */\nb();\nc();\nd();\ne();\nf();",
    );
    env.write(
        "dist/a.js.map",
        r#"{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}"#,
    );
    let before = env.snapshot("dist");
    env.mapvault(["seal", "dist", "--vault", "vault", "--debug-ids"])
        .ok();
    let a = String::from_utf8(env.read("dist/a.js")).expect("utf8");
    let (code, id) = a.rsplit_once("\n//# debugId=").expect("appended");
    assert_eq!(
        code, "a();\n\nb();\nc();\nd();\ne();\nf();",
        "no newline added elsewhere"
    );
    assert_eq!(id.len(), 36);
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(&env.snapshot("dist"), Level::Restored, "unseal");
}

/// With the `failpoints` feature: crash seal `--debug-ids` at every point of the apply
/// sequence (several hits of the per-step points), run it again, and check the result equals
/// an uninterrupted run and unseals byte for byte.
#[cfg(feature = "failpoints")]
#[test]
fn crash_anywhere_then_rerun_gives_the_same_ids() {
    let clean = TestEnv::new();
    let d = clean.copy_fixture("webpack-hidden-source-map", "dist");
    clean
        .mapvault(["seal", "dist", "--vault", "vault", "--debug-ids"])
        .ok();
    let want = ids_in(&d);
    assert!(!want.is_empty());
    let points = [
        "after-journal",
        "prepare:1",
        "prepare:3",
        "after-barrier-1",
        "commit:1",
        "commit:4",
        "after-commit",
        "before-record",
        "after-barrier-2",
        "after-manifest",
    ];

    for point in points {
        let env = TestEnv::new();
        let dist = env.copy_fixture("webpack-hidden-source-map", "dist");
        let before = env.snapshot("dist");
        let crashed = env
            .mapvault(["seal", "dist", "--vault", "vault", "--debug-ids"])
            .env("MAPVAULT_FAILPOINT", point)
            .run();
        crashed.ensure(
            crashed.code != Some(0),
            format_args!("{point}: did not crash"),
        );
        env.mapvault(["seal", "dist", "--vault", "vault", "--debug-ids"])
            .ok();
        assert_eq!(ids_in(&dist), want, "{point}: IDs after the re-run");
        env.mapvault(["verify", "dist"]).ok();
        env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
        before.assert_same(&env.snapshot("dist"), Level::Restored, point);
    }
}

/// After `seal --debug-ids`, `resolve` finds every bundle by its ID and `export` writes the map
/// copy that carries the same `debugId` as the sealed bundle beside it (what an uploader pairs).
#[test]
fn resolve_and_export_use_the_maps_with_debug_ids() {
    for fixture in ["vite", "webpack-inline-source-map"] {
        let env = TestEnv::new();
        env.copy_fixture(fixture, "dist");
        env.mapvault(["seal", "dist", "--vault", "vault", "--debug-ids", "-q"])
            .ok();
        let ids = ids_in(&env.path("dist"));
        assert!(!ids.is_empty(), "{fixture}: no debug IDs given");
        for (path, id) in &ids {
            let run = env
                .mapvault([
                    "resolve",
                    "--vault",
                    "vault",
                    "--format",
                    "json",
                    &format!("{id}:1:1"),
                ])
                .run();
            // Position 1:1 may map to nothing; the bundle must be found by its ID either way.
            let v = run.json();
            let f = &v["frames"][0];
            assert_eq!(f["bundle"]["matched_by"], "debug-id", "{fixture} {path}");
            assert_eq!(f["bundle"]["path"], path.as_str(), "{fixture} {path}");
        }
        env.mapvault([
            "export", "--vault", "vault", "--out", "out", "--with", "dist", "-q",
        ])
        .ok();
        let exported = ids_in(&env.path("out"));
        assert_eq!(exported, ids, "{fixture}: exported bundles keep their IDs");
        for (path, id) in &ids {
            let map = std::fs::read(env.path("out").join(format!("{path}.map")))
                .unwrap_or_else(|e| panic!("{fixture}: {path}.map not exported: {e}"));
            let v: serde_json::Value = serde_json::from_slice(&map).expect("exported map is JSON");
            assert_eq!(v["debugId"], id.as_str(), "{fixture}: {path}.map");
        }
    }
}

/// `--debug-ids` on a dist sealed before without it finds no map to pair: it says so and how
/// to get IDs, instead of a silent "0 debug IDs".
#[test]
fn debug_ids_on_a_sealed_dist_say_why_none_were_given() {
    let env = TestEnv::new();
    env.write("dist/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    env.write(
        "dist/a.js.map",
        r#"{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}"#,
    );
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault", "--debug-ids"])
        .expect_code(0);
    run.ensure(
        run.stderr_str()
            .contains("--debug-ids gave no bundle an ID")
            && run.stderr_str().contains("unseal"),
        "a note says why no ID was given and what to do",
    );
    env.write("fresh/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    env.write(
        "fresh/a.js.map",
        r#"{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}"#,
    );
    let first = env
        .mapvault(["seal", "fresh", "--vault", "vault2", "--debug-ids"])
        .expect_code(0);
    first.ensure(
        !first.stderr_str().contains("gave no bundle an ID"),
        "no such note when IDs were given",
    );
}
