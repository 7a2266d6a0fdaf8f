//! The real bundler outputs in `fixtures/` (Vite, webpack `source-map` / `hidden-source-map` /
//! `inline-source-map`, Rollup, esbuild). For each: verify flags exactly the maps and reference
//! comments a line-based oracle finds; seal exits 0 and leaves a clean dist in which only the
//! comment bytes are gone; every map is in the vault by sha256 (inline ones decoded); sampled
//! tokens of every map still point at the same generated text; unseal restores every byte,
//! mode and mtime. Node runs the sealed node bundles with the same output.
//!
//! The other fixture dirs (vite-compressed, wasm, webpack-eval-source-map, npm-pack) need
//! features tested elsewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::harness::{Level, Snapshot, TestEnv, sha256_hex};
use crate::maps::{self, Reference};

/// `(path, kind, line)` of one leak, as verify's JSON reports it.
pub type LeakKey = (String, String, Option<u64>);

/// Leaks of a `verify --format json` report.
pub fn leak_keys(report: &serde_json::Value) -> BTreeSet<LeakKey> {
    report["leaks"]
        .as_array()
        .expect("`leaks` is an array")
        .iter()
        .map(|l| {
            (
                l["path"].as_str().expect("leak path").to_owned(),
                l["kind"].as_str().expect("leak kind").to_owned(),
                l["line"].as_u64(),
            )
        })
        .collect()
}

pub fn is_text_asset(path: &str) -> bool {
    [".js", ".mjs", ".cjs", ".css"]
        .iter()
        .any(|e| path.ends_with(e))
}

/// Every file of a snapshot, read now.
pub fn contents(snap: &Snapshot) -> BTreeMap<String, Vec<u8>> {
    snap.files().map(|p| (p.to_owned(), snap.read(p))).collect()
}

/// What the oracle expects of a real fixture: its `*.map` files and its reference comments.
struct Oracle {
    maps: Vec<String>,
    refs: BTreeMap<String, Vec<Reference>>,
}

impl Oracle {
    fn of(files: &BTreeMap<String, Vec<u8>>) -> Oracle {
        let maps = files
            .keys()
            .filter(|p| p.ends_with(".map"))
            .cloned()
            .collect();
        let refs = files
            .iter()
            .filter(|(p, _)| is_text_asset(p))
            .map(|(p, b)| (p.clone(), maps::line_references(b)))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        Oracle { maps, refs }
    }

    fn leaks(&self) -> BTreeSet<LeakKey> {
        let mut out: BTreeSet<LeakKey> = self
            .maps
            .iter()
            .map(|m| (m.clone(), "source-map".to_owned(), None))
            .collect();
        for (p, refs) in &self.refs {
            for r in refs {
                out.insert((p.clone(), r.kind().to_owned(), Some(r.line)));
            }
        }
        out
    }

    /// `(generated file, map bytes)` for every map: referenced (file or data: URI), or hidden
    /// (`X.map` next to `X`, as webpack's `hidden-source-map` leaves them).
    fn pairs(&self, files: &BTreeMap<String, Vec<u8>>) -> Vec<(String, Vec<u8>, String)> {
        let mut out = Vec::new();
        for p in files.keys().filter(|p| is_text_asset(p)) {
            match self.refs.get(p).and_then(|r| r.last()) {
                Some(r) if r.is_inline() => {
                    out.push((p.clone(), maps::decode_data_uri(&r.url), "inline".into()));
                }
                Some(r) => {
                    let target = maps::resolve(p, &r.url)
                        .unwrap_or_else(|| panic!("{p}: reference {} leaves the dist", r.url));
                    let m = files
                        .get(&target)
                        .unwrap_or_else(|| panic!("{p}: referenced map {target} is missing"));
                    out.push((p.clone(), m.clone(), target));
                }
                None => {
                    let hidden = format!("{p}.map");
                    if let Some(m) = files.get(&hidden) {
                        out.push((p.clone(), m.clone(), hidden));
                    }
                }
            }
        }
        out
    }
}

/// verify → seal → verify → vault contents → exact sealed bytes → unseal, on one fixture.
fn round_trip(fixture: &str) {
    let env = TestEnv::new();
    env.copy_fixture(fixture, "dist");
    let before = env.snapshot("dist");
    let files = contents(&before);
    let oracle = Oracle::of(&files);
    assert!(
        !oracle.maps.is_empty() || !oracle.refs.is_empty(),
        "{fixture}: the oracle finds nothing to seal; wrong fixture?"
    );

    let v = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let report = v.json();
    v.ensure(
        report["clean"] == false,
        "verify says clean on a leaky fixture",
    );
    let (got, want) = (leak_keys(&report), oracle.leaks());
    v.ensure(
        got == want,
        format_args!(
            "verify must flag exactly every map and reference comment\n  missed: {:?}\n  unexpected: {:?}",
            want.difference(&got).collect::<Vec<_>>(),
            got.difference(&want).collect::<Vec<_>>()
        ),
    );

    let seal = env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let after = env.snapshot("dist");
    let v = env.mapvault(["verify", "dist", "--format", "json"]).ok();
    let report = v.json();
    v.ensure(
        report["clean"] == true && report["leaks"].as_array().is_some_and(Vec::is_empty),
        "verify after seal must be clean",
    );

    // Every map is in the vault, byte-identical, named by its sha256; none is left behind.
    let vault = env.vault("vault");
    for m in &oracle.maps {
        let sha = sha256_hex(&files[m]);
        seal.ensure(
            vault.map(&sha).as_deref() == Some(files[m].as_slice()),
            format_args!("{m} is not in the vault as maps/{sha}.map"),
        );
    }
    for (p, refs) in &oracle.refs {
        for r in refs.iter().filter(|r| r.is_inline()) {
            let decoded = maps::decode_data_uri(&r.url);
            let sha = sha256_hex(&decoded);
            seal.ensure(
                vault.map(&sha).as_deref() == Some(decoded.as_slice()),
                format_args!("{p}:{}: the inline map is not in the vault decoded", r.line),
            );
        }
    }
    let left: Vec<_> = after.files_ending(".map");
    seal.ensure(left.is_empty(), format_args!(".map files left: {left:?}"));

    // Exactly the referencing files changed, by exactly their comment bytes.
    for (p, was) in &files {
        if oracle.maps.contains(p) {
            seal.ensure(
                after.get(p).is_none(),
                format_args!("{p} still in the dist"),
            );
            continue;
        }
        match oracle.refs.get(p) {
            Some(refs) => {
                let spans: Vec<_> = refs.iter().map(|r| r.span.clone()).collect();
                let now = after.read(p);
                seal.ensure(
                    now == maps::cut(was, &spans),
                    format_args!("{p}: sealed bytes are not the original minus the comments"),
                );
                seal.ensure(
                    maps::count(&now, b'\n') == maps::count(was, b'\n')
                        && maps::count(&now, b'\r') == maps::count(was, b'\r'),
                    format_args!("{p}: line count changed"),
                );
            }
            None => {
                let d = before.diff_only(&after, Level::Untouched, |q| q == p);
                seal.ensure(
                    d.is_empty(),
                    format_args!("{p} is not a leak but changed: {d:?}"),
                );
            }
        }
    }

    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(&env.snapshot("dist"), Level::Restored, "unseal");
}

/// Seal, then check every map's sampled tokens against the original and the sealed file,
/// using the map *from the vault*.
fn tokens_unmoved(fixture: &str) {
    tokens_unmoved_with(fixture, &[]);
}

fn tokens_unmoved_with(fixture: &str, extra: &[&str]) {
    let env = TestEnv::new();
    env.copy_fixture(fixture, "dist");
    let files = contents(&env.snapshot("dist"));
    let oracle = Oracle::of(&files);
    let pairs = oracle.pairs(&files);
    let covered: BTreeSet<&str> = pairs.iter().map(|(_, _, from)| from.as_str()).collect();
    for m in &oracle.maps {
        assert!(
            covered.contains(m.as_str()),
            "{fixture}: map {m} is paired with no generated file; the structural check would skip it"
        );
    }
    assert!(!pairs.is_empty(), "{fixture}: no maps to check");

    let seal = env
        .mapvault(["seal", "dist", "--vault", "vault"])
        .args(extra)
        .ok();
    let vault = env.vault("vault");
    for (generated, map, from) in &pairs {
        let sha = sha256_hex(map);
        let Some(vaulted) = vault.map(&sha) else {
            seal.fail(format_args!(
                "map of {generated} ({from}) is not in the vault"
            ));
        };
        let sealed = env.read(Path::new("dist").join(generated));
        let c = maps::check_tokens(
            &format!("{fixture}/{generated} with {from}"),
            &vaulted,
            &files[generated],
            &sealed,
            200,
        );
        assert!(
            c.sampled >= c.tokens.min(200),
            "{fixture}/{generated}: too few samples"
        );
    }
}

macro_rules! per_fixture {
    ($($name:ident => $dir:literal),* $(,)?) => {
        /// verify flags exactly the oracle's leaks; seal → clean, maps vaulted, only comment bytes
        /// removed; unseal restores bytes, modes and mtimes.
        mod round_trip {
            $( #[test] fn $name() { super::round_trip($dir) } )*
        }
        /// Sampled tokens of every (vaulted) map point at the same text before and after seal.
        mod tokens_unmoved {
            $( #[test] fn $name() { super::tokens_unmoved($dir) } )*
        }
        /// The same with `--debug-ids=sentry`: the comment and snippet move no token.
        mod tokens_unmoved_with_debug_ids {
            $( #[test] fn $name() { super::tokens_unmoved_with($dir, &["--debug-ids=sentry"]) } )*
        }

    };
}

per_fixture! {
    vite => "vite",
    webpack_source_map => "webpack-source-map",
    webpack_hidden_source_map => "webpack-hidden-source-map",
    webpack_inline_source_map => "webpack-inline-source-map",
    rollup => "rollup",
    esbuild => "esbuild",
}

// ---------------------------------------------------------------------------------------------
// Node behaviour

/// What `fixtures/README.md` says both node bundles print.
const NODE_LINE: &str =
    "mapvault-fixture 2024-03-17 12:34:56 groups=[[1,3],[5,7],[9]] total=25 idlen=21";

fn node(dir: &Path, script: &str) -> String {
    let out = Command::new("node")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("`node {script}` could not start ({e}); node is required by this test")
        });
    assert!(
        out.status.success(),
        "`node {script}` in {} failed ({}):\n{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

fn node_output_unchanged(fixture: &str, script: &str) {
    let env = TestEnv::new();
    let dist = env.copy_fixture(fixture, "dist");
    let before = node(&dist, script);
    assert_eq!(before, NODE_LINE, "{fixture}/{script} before seal");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    assert!(
        !dist.join(format!("{script}.map")).exists(),
        "the map should be gone"
    );
    let after = node(&dist, script);
    assert_eq!(after, before, "{fixture}/{script}: output changed by seal");
}

#[test]
fn node_runs_sealed_esbuild_bundle_unchanged() {
    node_output_unchanged("esbuild", "node-main.js");
}

#[test]
fn node_runs_sealed_rollup_bundle_unchanged() {
    node_output_unchanged("rollup", "node-main.cjs");
}
