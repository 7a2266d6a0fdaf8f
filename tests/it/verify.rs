//! `mapvault verify PATH… [--format human|json]`: exit codes, the JSON contract, what it sees,
//! and that it never writes.

use std::collections::BTreeSet;

use crate::fixtures::leak_keys;
use crate::harness::{Level, TestEnv};

const MAP: &str = r#"{"version":3,"sources":["a.src.js"],"names":[],"mappings":"AAAA"}"#;

/// A small leaky dist: a reference, its map, a nested file, and a clean file.
fn leaky(env: &TestEnv, rel: &str) {
    env.write(
        format!("{rel}/a.js"),
        "a();\n//# sourceMappingURL=a.js.map\n",
    );
    env.write(format!("{rel}/a.js.map"), MAP);
    env.write(
        format!("{rel}/assets/b.css"),
        "b{}\n/*# sourceMappingURL=b.css.map */\n",
    );
    env.write(format!("{rel}/clean.js"), "clean();\n");
}

#[test]
fn verify_exits_0_when_clean_1_on_leaks_2_on_missing_path() {
    let env = TestEnv::new();
    env.write("clean/index.js", "console.log(1);\n");
    env.write(
        "clean/package.json",
        "{\"name\":\"x\",\"version\":\"1.0.0\"}\n",
    );
    leaky(&env, "leaky");
    env.mapvault(["verify", "clean"]).expect_code(0);
    env.mapvault(["verify", "leaky"]).expect_code(1);
    env.mapvault(["verify", "no-such-dir"]).expect_code(2);
    env.mapvault(["verify", "clean", "leaky"]).expect_code(1);
}

#[test]
fn verify_io_error_beats_leaks() {
    let env = TestEnv::new();
    leaky(&env, "leaky");
    let run = env
        .mapvault(["verify", "leaky", "no-such-dir", "--format", "json"])
        .expect_code(2);
    let j = run.json();
    run.ensure(
        j["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "the missing path must be reported in `errors`",
    );
    run.ensure(
        !j["leaks"].as_array().is_some_and(Vec::is_empty),
        "leaks of the readable path are still reported",
    );
}

#[test]
fn verify_usage_errors_exit_2() {
    let env = TestEnv::new();
    env.mkdir("dist");
    env.mapvault(["verify"]).expect_code(2);
    env.mapvault(["verify", "dist", "--format", "xml"])
        .expect_code(2);
    env.mapvault(["frobnicate", "dist"]).expect_code(2);
    env.mapvault(["verify", "dist", "--no-such-flag"])
        .expect_code(2);
}

#[test]
fn verify_json_is_exactly_one_object_with_the_contract_keys() {
    let env = TestEnv::new();
    leaky(&env, "dist");
    let run = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let j = run.json();
    let keys: BTreeSet<&str> = j
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    run.ensure(
        keys == BTreeSet::from(["clean", "files_scanned", "leaks", "notes", "errors"]),
        format_args!("top-level keys are {keys:?}"),
    );
    run.ensure(j["clean"] == false, "clean must be false");
    run.ensure(j["files_scanned"] == 4, "files_scanned must be 4");
    for l in j["leaks"].as_array().expect("leaks") {
        let keys: BTreeSet<&str> = l
            .as_object()
            .expect("leak object")
            .keys()
            .map(String::as_str)
            .collect();
        run.ensure(
            keys == BTreeSet::from(["path", "kind", "line", "message"]),
            format_args!("leak keys are {keys:?}"),
        );
        run.ensure(
            l["message"].is_string() && (l["line"].is_null() || l["line"].is_u64()),
            format_args!("leak field types: {l}"),
        );
    }
    let got = leak_keys(&j);
    let want = BTreeSet::from([
        ("a.js".into(), "map-reference".into(), Some(2)),
        ("a.js.map".into(), "source-map".into(), None),
        ("assets/b.css".into(), "map-reference".into(), Some(2)),
    ]);
    run.ensure(got == want, format_args!("leaks: {got:?}"));
    run.ensure(
        j["notes"].is_array() && j["errors"].as_array().is_some_and(Vec::is_empty),
        "notes is an array, errors is empty",
    );

    let clean = env
        .mapvault(["verify", "dist/clean.js", "--format", "json"])
        .ok();
    let j = clean.json();
    clean.ensure(
        j["clean"] == true && j["files_scanned"] == 1 && j["leaks"] == serde_json::json!([]),
        "a single clean file verifies clean",
    );
}

#[test]
fn verify_json_paths_are_relative_to_each_path_argument() {
    let env = TestEnv::new();
    leaky(&env, "one");
    env.write("two/x/y.js", "y();\n//# sourceMappingURL=y.js.map\n");
    let run = env
        .mapvault(["verify", "one/assets", "two", "--format", "json"])
        .expect_code(1);
    let got = leak_keys(&run.json());
    let want = BTreeSet::from([
        ("b.css".into(), "map-reference".into(), Some(2)),
        ("x/y.js".into(), "map-reference".into(), Some(2)),
    ]);
    run.ensure(got == want, format_args!("leaks: {got:?}"));
}

#[test]
fn verify_sees_dot_files_and_node_modules() {
    let env = TestEnv::new();
    env.write("dist/.hidden/app.js.map", MAP);
    env.write(
        "dist/node_modules/pkg/index.js",
        "module.exports=1;\n//# sourceMappingURL=index.js.map\n",
    );
    env.write(
        "dist/.well-known/.env.js",
        "x();\n//# sourceMappingURL=data:application/json;base64,e30=\n",
    );
    let run = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let got = leak_keys(&run.json());
    let want = BTreeSet::from([
        (".hidden/app.js.map".into(), "source-map".into(), None),
        (
            "node_modules/pkg/index.js".into(),
            "map-reference".into(),
            Some(2),
        ),
        (".well-known/.env.js".into(), "inline-map".into(), Some(2)),
    ]);
    run.ensure(got == want, format_args!("leaks: {got:?}"));
}

#[test]
fn verify_never_writes() {
    let env = TestEnv::new();
    leaky(&env, "dist");
    let before = env.snapshot("");
    env.mapvault(["verify", "dist"]).expect_code(1);
    env.mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    before.assert_same(&env.snapshot(""), Level::Untouched, "verify");
}

/// Reading with `O_NOATIME`: on a `relatime` mount, a file whose access time is older than its
/// modification time gets a new one on its next read, unless the reader asks otherwise.
#[cfg(unix)]
#[test]
fn verify_leaves_access_times_alone() {
    use std::os::unix::fs::MetadataExt;
    let env = TestEnv::new();
    leaky(&env, "dist");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    let files = [
        "dist/a.js",
        "dist/a.js.map",
        "dist/assets/b.css",
        "dist/clean.js",
    ];
    for f in files {
        std::fs::File::options()
            .write(true)
            .open(env.path(f))
            .and_then(|h| h.set_times(std::fs::FileTimes::new().set_accessed(old)))
            .expect("set the access time");
    }
    let atimes = || -> Vec<i64> {
        files
            .iter()
            .map(|f| std::fs::metadata(env.path(f)).expect("stat").atime())
            .collect()
    };
    let before = atimes();
    let run = env.mapvault(["verify", "dist"]).expect_code(1);
    run.ensure(
        atimes() == before,
        format_args!("access times moved: {before:?} -> {:?}", atimes()),
    );
}

#[test]
fn verify_human_report_lists_leaks_on_stdout() {
    let env = TestEnv::new();
    leaky(&env, "dist");
    let run = env.mapvault(["verify", "dist"]).expect_code(1);
    let out = run.stdout_str();
    run.ensure(
        out.contains("a.js:2") && out.contains("a.js.map") && out.contains("assets/b.css:2"),
        "each leak is listed with its path (and line)",
    );
}
