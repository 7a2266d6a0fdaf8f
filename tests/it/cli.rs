//! The polish around the commands: `--help` examples, shell completions and man pages, the
//! `--allow GLOB` lists of `verify` and `seal`, the seal summary, and the progress bar (on a
//! terminal only, never on stdout, never with `--quiet`).

use std::path::Path;
use std::process::Command;

use crate::harness::{BIN, Level, TestEnv, fixtures_dir, say};

const MAP: &str = r#"{"version":3,"sources":["a.src.js"],"names":[],"mappings":"AAAA"}"#;
const COMMANDS: [&str; 3] = ["seal", "verify", "unseal"];

/// A dist with a private bundle + map and a public one under `public/`.
fn dist_with_public_maps(env: &TestEnv, rel: &str) {
    env.write(
        format!("{rel}/a.js"),
        "a();\n//# sourceMappingURL=a.js.map\n",
    );
    env.write(format!("{rel}/a.js.map"), MAP);
    env.write(
        format!("{rel}/public/v.js"),
        "v();\n//# sourceMappingURL=v.js.map\n",
    );
    env.write(format!("{rel}/public/v.js.map"), MAP);
    env.write(format!("{rel}/vendor-1.css.map"), MAP);
}

fn paths(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l["path"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_help_ends_with_examples() {
    let env = TestEnv::new();
    let top = env.mapvault(["--help"]).expect_code(0);
    top.ensure(
        top.stdout_str().contains("Examples:"),
        "top-level --help shows examples",
    );
    top.ensure(
        !top.stdout_str().contains("  completions "),
        "completions is hidden from the main help",
    );
    for c in COMMANDS.iter().chain(&["completions", "man"]) {
        let run = env.mapvault([*c, "--help"]).expect_code(0);
        run.ensure(
            run.stdout_str().contains("Examples:\n  mapvault "),
            format!("`{c} --help` ends with examples"),
        );
    }
}

#[test]
fn completions_and_man_pages_name_every_command() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = env.mapvault(["completions", shell]).expect_code(0);
        for c in COMMANDS {
            run.ensure(
                run.stdout_str().contains(c),
                format!("{shell} completions mention `{c}`"),
            );
        }
        run.ensure(
            run.stdout_str().contains("--allow"),
            format!("{shell} completions know the options"),
        );
    }
    let man = env.mapvault(["man"]).expect_code(0);
    man.ensure(man.stdout_str().starts_with(".ie"), "roff output");
    man.ensure(
        man.stdout_str().contains(".TH mapvault 1"),
        "a section 1 page",
    );
    for c in COMMANDS {
        man.ensure(
            man.stdout_str().contains(c),
            format!("mapvault(1) names `{c}`"),
        );
        let page = env.mapvault(["man", c]).expect_code(0);
        page.ensure(
            page.stdout_str().contains(&format!(".TH mapvault-{c} 1")),
            format!("mapvault-{c}(1) is its own page"),
        );
    }
    env.mapvault(["completions", "tcsh"]).expect_code(2);
    let bad = env.mapvault(["man", "nope"]).expect_code(2);
    bad.ensure(
        bad.stderr_str().contains("nope") && bad.stderr_str().contains("verify"),
        "an unknown command is named, with the list of real ones",
    );
}

#[test]
fn verify_allow_moves_matching_leaks_to_allowed_and_they_do_not_fail() {
    let env = TestEnv::new();
    dist_with_public_maps(&env, "dist");

    // Everything public allowed: the private bundle still fails the run.
    let run = env
        .mapvault([
            "verify",
            "dist",
            "--format",
            "json",
            "--allow",
            "public/**",
            "--allow",
            "vendor-*.map",
        ])
        .expect_code(1);
    let j = run.json();
    run.ensure(j["clean"] == false, "a.js still leaks");
    assert_eq!(paths(&j["leaks"]), ["a.js", "a.js.map"]);
    assert_eq!(
        paths(&j["allowed"]),
        ["public/v.js", "public/v.js.map", "vendor-1.css.map"]
    );
    run.ensure(
        j["allowed"][1]["kind"] == "source-map" && j["allowed"][0]["line"] == 2,
        "allowed entries are whole leak objects",
    );

    // Everything allowed: clean, exit 0, and still listed.
    let run = env
        .mapvault(["verify", "dist", "--format", "json", "--allow", "*"])
        .expect_code(0);
    let j = run.json();
    run.ensure(j["clean"] == true, "nothing outside --allow");
    assert_eq!(paths(&j["leaks"]), Vec::<String>::new());
    assert_eq!(paths(&j["allowed"]).len(), 5);

    // `*` stays within one directory when the glob has a `/`.
    let run = env
        .mapvault(["verify", "dist", "--format", "json", "--allow", "./*.map"])
        .expect_code(1);
    assert_eq!(
        paths(&run.json()["allowed"]),
        ["a.js.map", "vendor-1.css.map"]
    );

    // Human: a separate list and a summary that says so.
    let run = env
        .mapvault(["verify", "dist", "--allow", "public/**"])
        .expect_code(1);
    let out = run.stdout_str();
    run.ensure(
        out.contains("allowed  public/v.js.map  source-map"),
        "allowed leaks are listed",
    );
    run.ensure(
        out.contains("leak  a.js:2  map-reference") && !out.contains("leak  public/"),
        "allowed leaks are not listed as leaks",
    );
    run.ensure(
        out.contains("; 2 allowed leaks (--allow)"),
        "the summary counts them",
    );

    // Without --allow (or when it matches nothing) the report keeps its exact old shape.
    for extra in [&[][..], &["--allow", "nothing-*"][..]] {
        let run = env
            .mapvault(["verify", "dist", "--format", "json"].iter().chain(extra))
            .expect_code(1);
        run.ensure(run.json().get("allowed").is_none(), "no `allowed` key");
        assert_eq!(paths(&run.json()["leaks"]).len(), 5);
    }
}

#[test]
fn verify_allow_in_sarif_marks_results_suppressed() {
    let env = TestEnv::new();
    dist_with_public_maps(&env, "dist");
    let run = env
        .mapvault([
            "verify",
            "dist",
            "--format",
            "sarif",
            "--allow",
            "public/**",
        ])
        .expect_code(1);
    let results = run.json()["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let suppressed: Vec<&str> = results
        .iter()
        .filter(|r| r["suppressions"][0]["kind"] == "external")
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert_eq!(suppressed, ["dist/public/v.js", "dist/public/v.js.map"]);
}

#[test]
fn verify_allow_matches_archive_members() {
    let env = TestEnv::new();
    let fixture = fixtures_dir().join("npm-pack/mapvault-fixture-pkg-1.0.0.tgz");
    let tgz = env.write(
        "pkg.tgz",
        std::fs::read(&fixture).expect("the npm-pack fixture is readable"),
    );
    let tgz = tgz.display().to_string();
    let run = env
        .mapvault([
            "verify",
            &tgz,
            "--format",
            "json",
            "--allow",
            "package/dist/cli.*",
        ])
        .expect_code(1);
    assert_eq!(
        paths(&run.json()["allowed"]),
        [
            "pkg.tgz!/package/dist/cli.js",
            "pkg.tgz!/package/dist/cli.js.map"
        ]
    );
    env.mapvault([
        "verify",
        &tgz,
        "--format",
        "json",
        "--allow",
        "pkg.tgz!/package/**",
    ])
    .expect_code(0);
}

#[test]
fn verify_allow_rejects_an_invalid_glob() {
    let env = TestEnv::new();
    dist_with_public_maps(&env, "dist");
    let run = env
        .mapvault(["verify", "dist", "--allow", "public/[x"])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("public/[x"),
        "the bad glob is named",
    );
}

#[test]
fn seal_allow_leaves_public_files_in_place_and_reports_them() {
    let env = TestEnv::new();
    dist_with_public_maps(&env, "dist");
    let before = env.snapshot("dist");
    let run = env
        .mapvault([
            "seal",
            "dist",
            "--vault",
            "vault",
            "--format",
            "json",
            "--allow",
            "public/**",
        ])
        .expect_code(0);
    let j = run.json();
    run.ensure(j["clean"] == true, "only allowed leaks remain");
    assert_eq!(paths(&j["allowed"]), ["public/v.js", "public/v.js.map"]);
    let after = env.snapshot("dist");
    for f in ["public/v.js", "public/v.js.map"] {
        run.ensure(
            after.get(f).is_some() && after.read(f) == before.read(f),
            format!("{f} is left exactly as it was"),
        );
    }
    run.ensure(
        after.get("a.js.map").is_none(),
        "the private map is vaulted",
    );
    run.ensure(
        after.get("vendor-1.css.map").is_none(),
        "a map not allowed is vaulted",
    );

    let human = env
        .mapvault(["verify", "dist", "--allow", "public/**"])
        .expect_code(0);
    human.ensure(
        human
            .stdout_str()
            .contains("except 2 allowed leaks (--allow)"),
        "verify with the same list agrees",
    );
    env.mapvault(["unseal", "dist", "--vault", "vault"])
        .expect_code(0);
    env.snapshot("dist")
        .assert_same(&before, Level::Content, "unseal after seal --allow");
}

#[test]
fn seal_allow_of_a_map_alone_strips_the_comment_and_says_why() {
    let env = TestEnv::new();
    env.write("dist/a.js", "a();\n//# sourceMappingURL=public/a.js.map\n");
    env.write("dist/public/a.js.map", MAP);
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault", "--allow", "public/**"])
        .expect_code(0);
    run.ensure(
        run.stderr_str().contains(
            "a.js: line 2: reference points at public/a.js.map, left in place by --allow",
        ),
        "the note names --allow",
    );
    run.ensure(
        !String::from_utf8_lossy(&env.read("dist/a.js")).contains("sourceMappingURL"),
        "the comment is stripped",
    );
    run.ensure(
        env.read("dist/public/a.js.map") == MAP.as_bytes(),
        "the allowed map stays",
    );
    env.mapvault(["unseal", "dist", "--vault", "vault"])
        .expect_code(0);
    assert_eq!(
        env.read("dist/a.js"),
        b"a();\n//# sourceMappingURL=public/a.js.map\n"
    );
}

#[test]
fn seal_summary_and_json_carry_counts_vault_and_time() {
    let env = TestEnv::new();
    env.copy_fixture("vite", "dist");
    env.copy_fixture("vite", "dist2");
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault"])
        .expect_code(0);
    let out = run.stdout_str();
    for want in [
        "sealed: 3 references stripped, 3 files edited, 3 maps (",
        " moved,",
        "8 files scanned in ",
        "vault: ",
        "verify: the dist verifies clean",
    ] {
        run.ensure(out.contains(want), format!("summary has {want:?}"));
    }
    let run = env
        .mapvault(["seal", "dist2", "--vault", "vault2", "--format", "json"])
        .expect_code(0);
    let j = run.json();
    for key in [
        "files_scanned",
        "references_stripped",
        "maps_moved",
        "map_bytes",
        "elapsed_ms",
    ] {
        run.ensure(j[key].is_u64(), format!("seal JSON has a count {key}"));
    }
    assert_eq!(j["files_scanned"], 8);
    assert_eq!(j["maps_moved"], 3);
    run.ensure(
        j["map_bytes"].as_u64().is_some_and(|b| b > 0),
        "bytes moved",
    );
    run.ensure(
        j["vault"]
            .as_str()
            .is_some_and(|v| Path::new(v).ends_with("vault2")),
        "the vault path",
    );
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let env = TestEnv::new();
    env.copy_fixture("vite", "dist");
    for args in [
        vec!["verify", "dist"],
        vec!["verify", "dist", "--format", "json"],
        vec!["seal", "dist", "--vault", "vault"],
        vec!["unseal", "dist", "--vault", "vault"],
    ] {
        let run = env
            .mapvault(&args)
            .env("MAPVAULT_PROGRESS_DELAY_MS", "0")
            .run();
        run.ensure(
            !run.stderr_str().contains("files") && !run.stderr_str().contains('\u{1b}'),
            "no bar on a piped stderr",
        );
    }
}

/// Runs `sh_cmd` under `script(1)` (a pseudo-terminal on stdin/stdout/stderr) and returns what
/// the terminal showed, or `None` where util-linux `script` is not available.
fn on_a_terminal(dir: &Path, sh_cmd: &str, no_color: bool) -> Option<String> {
    let typescript = dir.join("typescript");
    let mut cmd = Command::new("script");
    cmd.arg("-qec")
        .arg(sh_cmd)
        .arg(&typescript)
        .current_dir(dir)
        .env("MAPVAULT_PROGRESS_DELAY_MS", "0")
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().ok()?;
    if !out.status.success() && !typescript.exists() {
        return None;
    }
    std::fs::read(&typescript)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[test]
fn progress_bar_on_a_terminal_goes_to_stderr_only() {
    let env = TestEnv::new();
    env.copy_fixture("vite", "dist");
    let bin = BIN.replace('\'', r"'\''");
    let Some(probe) = on_a_terminal(env.root(), "echo probe", true) else {
        say("progress test skipped: util-linux `script` is not available");
        return;
    };
    if !probe.contains("probe") {
        say("progress test skipped: `script` does not record a terminal here");
        return;
    }
    let shown = on_a_terminal(
        env.root(),
        &format!("'{bin}' verify dist --format json > report.json; echo exit=$?"),
        true,
    )
    .unwrap_or_default();
    assert!(
        shown.contains("scanning") && shown.contains("files"),
        "the bar is drawn on the terminal's stderr: {shown:?}"
    );
    assert!(shown.contains("exit=1"), "{shown:?}");
    let report = env.read("report.json");
    assert!(
        !report.contains(&0x1b) && !String::from_utf8_lossy(&report).contains("scanning"),
        "stdout holds the JSON report alone"
    );
    let j: serde_json::Value = serde_json::from_slice(&report).expect("one JSON object");
    assert_eq!(j["clean"], false);
    assert!(
        !shown.contains("\u{1b}[3"),
        "NO_COLOR: no colour in the bar: {shown:?}"
    );

    let quiet = on_a_terminal(
        env.root(),
        &format!("'{bin}' verify dist --quiet --format json > report.json"),
        true,
    )
    .unwrap_or_default();
    assert!(
        !quiet.contains("scanning"),
        "--quiet hides the bar: {quiet:?}"
    );

    let seal = on_a_terminal(
        env.root(),
        &format!("'{bin}' seal dist --vault vault"),
        false,
    )
    .unwrap_or_default();
    assert!(
        seal.contains("inspecting") && seal.contains("sealed:"),
        "seal shows its phases, then the report: {seal:?}"
    );
}

/// With `--format json` a run that ends in an error before any report still prints exactly one
/// JSON object on stdout, with `error` and `errors` (exit 2): a typo'd dist, a vault inside the
/// dist, a non-empty `export --out`, a bad `FILE:LINE:COL`. Before, stdout was empty.
#[test]
fn fatal_errors_print_one_json_object_with_format_json() {
    let env = TestEnv::new();
    env.write("dist/a.js", "a();\n");
    env.write("busy/x", "x");
    let cases: [(&[&str], Option<String>); 5] = [
        (&["seal", "dsit", "--format", "json"], Some("dsit".into())),
        (&["unseal", "dsit", "--format", "json"], Some("dsit".into())),
        (
            &["seal", "dist", "--vault", "dist/v", "--format", "json"],
            Some(env.path("dist/v").display().to_string()),
        ),
        (
            &[
                "export", "--vault", "vault", "--out", "busy", "--format", "json",
            ],
            None,
        ),
        (
            &[
                "resolve", "--vault", "vault", "a.js:1:b", "--format", "json",
            ],
            None,
        ),
    ];
    for (args, path) in cases {
        let run = env.mapvault(args).expect_code(2);
        let j = run.json();
        let message = j["error"]["message"].as_str().unwrap_or_default();
        run.ensure(
            !message.is_empty() && run.stderr_str().contains(message),
            "error.message is the message printed on stderr",
        );
        run.ensure(
            j["errors"][0]["message"] == message,
            "errors holds it, as in every report",
        );
        if let Some(p) = &path {
            run.ensure(
                j["error"]["path"] == p.as_str(),
                "error.path names the path",
            );
        }
    }
    // `verify --format sarif`: a fatal error still writes one SARIF log, a failed invocation
    // holding the message, so an upload step gets a valid file saying the scan did not run.
    let run = env
        .mapvault(["verify", "dist", "--allow", "[", "--format", "sarif"])
        .expect_code(2);
    let j = run.json();
    let inv = &j["runs"][0]["invocations"][0];
    run.ensure(j["version"] == "2.1.0", "a SARIF 2.1.0 log");
    run.ensure(inv["executionSuccessful"] == false, "the invocation failed");
    let text = inv["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .unwrap_or_default();
    run.ensure(
        text.contains("not a valid glob") && run.stderr_str().contains(text),
        "the notification is the message printed on stderr",
    );
    run.ensure(
        j["runs"][0]["results"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "no results",
    );
    // An archive given to seal: the message says what to run instead.
    env.write("pkg.tgz", "not really");
    let run = env.mapvault(["seal", "pkg.tgz"]).expect_code(2);
    run.ensure(
        run.stderr_str()
            .contains("is verified, not sealed: mapvault verify pkg.tgz"),
        "seal pkg.tgz points at verify",
    );
    // Human output: nothing on stdout, as before.
    let run = env.mapvault(["seal", "dsit"]).expect_code(2);
    run.ensure(run.stdout.is_empty(), "stdout empty without --format json");
}

/// A missing vault given as a relative path (the default `.mapvault`) says where it was looked
/// for: the current directory, not the dist, and how to name the right one.
#[test]
fn a_missing_relative_vault_says_it_is_relative_to_the_current_directory() {
    let env = TestEnv::new();
    dist_with_public_maps(&env, "dist");
    for cmd in ["unseal", "export"] {
        let args = if cmd == "export" {
            vec![cmd, "--out", "out"]
        } else {
            vec![cmd, "dist"]
        };
        let run = env.mapvault(args).expect_code(2);
        run.ensure(
            run.stderr_str().contains(".mapvault")
                && run
                    .stderr_str()
                    .contains("relative to the current directory")
                && run.stderr_str().contains("--vault"),
            format!("{cmd}: the message says where the default vault was looked for"),
        );
    }
}
