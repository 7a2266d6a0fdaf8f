//! `mapvault seal DIST [--vault DIR] [--dry-run] [--format …] [--jobs N] [--out DIR]`: the
//! contract details around the happy path (which `fixtures.rs` and `tricky.rs` cover): where
//! the vault goes and where it may not, dry runs, idempotence, privacy of the vault, files that
//! must not be rewritten, line endings, `--out`.

use crate::harness::{Kind, Level, Snapshot, TestEnv, sha256_hex};

const MAP_A: &str = r#"{"version":3,"sources":["a.src.js"],"names":[],"mappings":"AAAA"}"#;
const MAP_B: &str = r#"{"version":3,"sources":["b.src.css"],"names":[],"mappings":"AAAA"}"#;

/// A small dist with every kind of leak and some files that are not leaks.
fn small_dist(env: &TestEnv, rel: &str) {
    env.write(
        format!("{rel}/a.js"),
        "a();\n//# sourceMappingURL=a.js.map\n",
    );
    env.write(format!("{rel}/a.js.map"), MAP_A);
    env.write(
        format!("{rel}/css/b.css"),
        "b{}\n/*# sourceMappingURL=b.css.map */\n",
    );
    env.write(format!("{rel}/css/b.css.map"), MAP_B);
    env.write(
        format!("{rel}/inline.js"),
        "i();\n//# sourceMappingURL=data:application/json;base64,e30=\n",
    );
    env.write(format!("{rel}/clean.js"), "clean();\n");
    env.write(format!("{rel}/index.html"), "<script src=a.js></script>\n");
    env.write(format!("{rel}/logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    env.write(format!("{rel}/empty.js"), "");
}

const NOT_LEAKS: &[&str] = &["clean.js", "index.html", "logo.png", "empty.js"];

#[test]
fn seal_dry_run_changes_nothing_and_creates_no_vault() {
    let env = TestEnv::new();
    small_dist(&env, "dist");
    let before = env.snapshot("");
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault", "--dry-run"])
        .ok();
    run.ensure(
        run.stdout_str().contains("would"),
        "a dry run prints the plan (`would …`)",
    );
    before.assert_same(&env.snapshot(""), Level::Untouched, "seal --dry-run");
    run.ensure(!env.vault("vault").exists(), "--dry-run created the vault");

    let json = env
        .mapvault(["seal", "dist", "--dry-run", "--format", "json"])
        .ok();
    json.json();
    json.ensure(
        !env.path(".mapvault").exists(),
        "--dry-run created the default vault",
    );
    before.assert_same(
        &env.snapshot(""),
        Level::Untouched,
        "seal --dry-run --format json",
    );
}

#[test]
fn second_seal_changes_nothing_and_exits_0() {
    let env = TestEnv::new();
    env.copy_fixture("esbuild", "dist");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let dist = env.snapshot("dist");
    let vault = env.vault("vault");
    let manifest = vault.manifest_bytes();
    let maps = vault.maps();
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    dist.assert_same(&env.snapshot("dist"), Level::Untouched, "second seal");
    assert!(
        vault.manifest_bytes() == manifest,
        "second seal rewrote the manifest"
    );
    assert!(vault.maps() == maps, "second seal changed the vault's maps");
}

#[test]
fn default_vault_is_dot_mapvault_in_the_current_directory() {
    let env = TestEnv::new();
    small_dist(&env, "dist");
    env.mkdir("work");
    env.command()
        .current_dir("work")
        .args(["seal", "../dist"])
        .ok();
    assert!(
        env.path("work/.mapvault/vault.json").is_file()
            && env.path("work/.mapvault/seals").is_dir(),
        "vault not at ./.mapvault of the cwd:\n{}",
        env.listing()
    );
    assert!(!env.path(".mapvault").exists() && !env.path("dist/.mapvault").exists());
    env.command()
        .current_dir("work")
        .args(["unseal", "../dist"])
        .ok();
    assert!(
        env.path("dist/a.js.map").is_file(),
        "unseal used the same default vault"
    );
}

#[test]
fn vault_inside_dist_is_refused_with_exit_2() {
    let env = TestEnv::new();
    small_dist(&env, "dist");
    let before = env.snapshot("");
    env.mapvault(["seal", "dist", "--vault", "dist/vault"])
        .expect_code(2);
    // The default vault, run from inside the dist.
    env.command()
        .current_dir("dist")
        .args(["seal", "."])
        .expect_code(2);
    env.mapvault(["seal", "dist", "--vault", "dist"])
        .expect_code(2);
    env.mapvault(["unseal", "dist", "--vault", "dist/vault"])
        .expect_code(2);
    before.assert_same(&env.snapshot(""), Level::Untouched, "refused seals");
}

#[test]
fn dist_inside_vault_is_refused_with_exit_2() {
    let env = TestEnv::new();
    small_dist(&env, "v/dist");
    let before = env.snapshot("");
    let run = env
        .mapvault(["seal", "v/dist", "--vault", "v"])
        .expect_code(2);
    run.ensure(!run.stderr.is_empty(), "a refusal says why on stderr");
    env.mapvault(["unseal", "v/dist", "--vault", "v"])
        .expect_code(2);
    before.assert_same(&env.snapshot(""), Level::Untouched, "refused seal");
}

#[test]
fn seal_of_a_missing_dist_exits_2() {
    let env = TestEnv::new();
    env.mapvault(["seal", "nope", "--vault", "vault"])
        .expect_code(2);
    env.mapvault(["unseal", "nope", "--vault", "vault"])
        .expect_code(2);
    env.write("file.js", "x();\n");
    env.mapvault(["seal", "file.js", "--vault", "vault"])
        .expect_code(2);
}

#[cfg(unix)]
#[test]
fn vault_is_private_even_under_umask_000() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    small_dist(&env, "dist");
    env.mapvault(["seal", "dist", "--vault", "vault"])
        .umask(0o000)
        .ok();
    let mut wrong = Vec::new();
    let root = std::fs::metadata(env.path("vault")).expect("vault exists");
    if root.permissions().mode() & 0o7777 != 0o700 {
        wrong.push(format!(
            "vault/ is {:04o}",
            root.permissions().mode() & 0o7777
        ));
    }
    let snap = env.snapshot("vault");
    for (p, n) in &snap.nodes {
        let want = match n.kind {
            Kind::Dir => 0o700,
            Kind::File => 0o600,
            _ => continue,
        };
        if n.mode != want {
            wrong.push(format!("vault/{p} is {:04o}, want {want:04o}", n.mode));
        }
    }
    assert!(!snap.nodes.is_empty(), "empty vault");
    assert!(
        wrong.is_empty(),
        "vault not private:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn files_that_are_not_leaks_are_never_rewritten() {
    let env = TestEnv::new();
    small_dist(&env, "dist");
    let before = env.snapshot("dist");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let sealed = env.snapshot("dist");
    let keep = |p: &str| NOT_LEAKS.contains(&p);
    let d = before.diff_only(&sealed, Level::Untouched, keep);
    assert!(d.is_empty(), "seal rewrote files that are not leaks: {d:?}");
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    let d = before.diff_only(&env.snapshot("dist"), Level::Untouched, keep);
    assert!(
        d.is_empty(),
        "unseal rewrote files that are not leaks: {d:?}"
    );
}

/// A URL with a space inside (rspack writes one for a chunk named "my chunk") is outside
/// ECMA-426's pattern, so browsers ignore it, but the comment still names the map: verify
/// reports it, seal strips it and vaults the map it names, unseal puts it back.
#[test]
fn references_with_spaces_in_the_url_are_leaks_and_are_stripped() {
    let env = TestEnv::new();
    env.write(
        "dist/my chunk.js",
        "console.log(1);\n//# sourceMappingURL=my chunk.js.map",
    );
    env.write("dist/my chunk.js.map", MAP_A);
    env.write("dist/s p.css", "x{}\n/*# sourceMappingURL=s p.css.map */\n");
    env.write("dist/s p.css.map", MAP_B);
    env.write(
        "dist/prose.js",
        "p();\n/*# sourceMappingURL=a.map\nwritten over two lines */\n",
    );
    let orig = env.snapshot("dist");
    let run = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let leaks: Vec<String> = run.json()["leaks"]
        .as_array()
        .expect("leaks")
        .iter()
        .map(|l| format!("{} {}", l["path"].as_str().unwrap_or(""), l["kind"]))
        .collect();
    for want in ["my chunk.js \"map-reference\"", "s p.css \"map-reference\""] {
        run.ensure(
            leaks.iter().any(|l| l == want),
            format_args!("{want} reported: {leaks:?}"),
        );
    }
    run.ensure(
        !leaks.iter().any(|l| l.starts_with("prose.js")),
        "a comment with a line break in its URL is prose",
    );
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    assert_eq!(env.read("dist/my chunk.js"), b"console.log(1);\n");
    assert_eq!(env.read("dist/s p.css"), b"x{}\n\n");
    assert!(env.vault("vault").holds(&sha256_hex(MAP_A.as_bytes())));
    assert!(env.vault("vault").holds(&sha256_hex(MAP_B.as_bytes())));
    env.mapvault(["verify", "dist"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    orig.assert_same(&env.snapshot("dist"), Level::Restored, "unseal");
}

#[test]
fn crlf_stays_crlf_and_no_newline_is_added() {
    let env = TestEnv::new();
    env.write(
        "dist/a.js",
        "one();\r\n//# sourceMappingURL=one.js.map\r\ntwo();\r\n//# sourceMappingURL=a.js.map",
    );
    env.write("dist/b.css", "b{}\r\n/*# sourceMappingURL=b.css.map */\r\n");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    assert_eq!(
        String::from_utf8_lossy(&env.read("dist/a.js")),
        "one();\r\n\r\ntwo();\r\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&env.read("dist/b.css")),
        "b{}\r\n\r\n"
    );
}

#[test]
fn seal_out_seals_a_copy_and_leaves_dist_untouched() {
    let env = TestEnv::new();
    small_dist(&env, "dist");
    env.symlink("a.js", "dist/link.js");
    let before = env.snapshot("");
    let run = env
        .mapvault(["seal", "dist", "--out", "sealed", "--vault", "vault"])
        .ok();
    let d = before.diff_only(&env.snapshot(""), Level::Untouched, |p| {
        p.starts_with("dist")
    });
    run.ensure(
        d.is_empty(),
        format_args!("--out changed the source dist: {d:?}"),
    );
    env.mapvault(["verify", "sealed"]).ok();
    let sealed = env.snapshot("sealed");
    run.ensure(
        sealed.get("link.js").map(|n| &n.kind) == Some(&Kind::Symlink("a.js".into())),
        "the symlink is copied as a link",
    );
    run.ensure(
        env.vault("vault")
            .map(&sha256_hex(MAP_A.as_bytes()))
            .is_some(),
        "maps of the copy are in the vault",
    );
    env.mapvault(["unseal", "sealed", "--vault", "vault"]).ok();
    Snapshot::of(&env.path("dist")).assert_same(
        &env.snapshot("sealed"),
        Level::Mode,
        "unseal of the --out copy gives back the source dist",
    );
}

#[test]
fn seal_out_refuses_a_non_empty_or_nested_target() {
    let env = TestEnv::new();
    small_dist(&env, "dist");
    env.write("busy/x", "x");
    env.mapvault(["seal", "dist", "--out", "busy", "--vault", "vault"])
        .expect_code(2);
    env.mapvault(["seal", "dist", "--out", "dist/sealed", "--vault", "vault"])
        .expect_code(2);
}

/// A source with read-only (`0555`) directories: the copy gets the same modes, set once the
/// directories are filled. Run by a non-root user (`setpriv`, when we are root) the old order —
/// modes first, files after — failed with "Permission denied"; root ignores modes, so as root
/// alone this checks only the modes and contents.
#[test]
fn seal_out_copies_read_only_directories_with_their_modes() {
    let env = TestEnv::new();
    small_dist(&env, "dist");
    env.write("dist/ro/logo.svg", "<svg/>");
    env.write("dist/ro/sub/notes.txt", "n");
    env.set_mode("dist/ro/sub", 0o555);
    env.set_mode("dist/ro", 0o555);
    let check = |who: &str| {
        let src = Snapshot::of(&env.path("dist"));
        let out = env.snapshot("sealed");
        for d in ["ro", "ro/sub"] {
            assert_eq!(
                out.get(d).map(|n| n.mode & 0o7777),
                Some(0o555),
                "{who}: sealed/{d} has the source's mode"
            );
        }
        for f in ["ro/logo.svg", "ro/sub/notes.txt"] {
            assert_eq!(out.read(f), src.read(f), "{who}: {f} copied");
        }
    };
    env.mapvault(["seal", "dist", "--out", "sealed", "--vault", "vault"])
        .ok();
    check("as ourselves");
    if !crate::harness::is_root() {
        crate::harness::say("skipped the non-root run: setpriv needs root");
        return;
    }
    // The same copy by an unprivileged user, who owns the temp dir (the dist only needs to be
    // readable).
    let nobody = "65534";
    let chown = std::process::Command::new("chown")
        .args(["-R", &format!("{nobody}:{nobody}")])
        .arg(env.root())
        .status()
        .expect("chown runs");
    assert!(chown.success(), "chown -R of the temp dir");
    let run = std::process::Command::new("setpriv")
        .args(["--reuid", nobody, "--regid", nobody, "--clear-groups", "--"])
        .arg(crate::harness::BIN)
        .args([
            "seal", "dist", "--out", "sealed2", "--vault", "vault2", "-q",
        ])
        .current_dir(env.root())
        .output();
    let run = match run {
        Ok(r) => r,
        Err(e) if std::env::var_os("CI").is_none() => {
            crate::harness::say(&format!(
                "skipped the non-root run: cannot run setpriv: {e}"
            ));
            return;
        }
        Err(e) => panic!("setpriv is needed in CI (util-linux): {e}"),
    };
    assert!(
        run.status.success(),
        "seal --out as uid {nobody} failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = env.snapshot("sealed2");
    assert_eq!(
        out.get("ro").map(|n| n.mode & 0o7777),
        Some(0o555),
        "as uid {nobody}: sealed2/ro has the source's mode"
    );
    assert_eq!(out.read("ro/sub/notes.txt"), b"n");
}

/// A copy that fails part-way leaves nothing: a new `--out` is removed, an empty existing one
/// is emptied again — read-only directories included.
#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs `cargo test --features failpoints`"
)]
fn seal_out_removes_a_copy_that_failed() {
    let env = TestEnv::new();
    small_dist(&env, "dist");
    env.write("dist/ro/sub/notes.txt", "n");
    env.write("dist/ro/z.txt", "z");
    env.set_mode("dist/ro/sub", 0o555);
    env.set_mode("dist/ro", 0o555);
    for (out, existed) in [("new/sealed", false), ("empty", true)] {
        if existed {
            env.mkdir(out);
        }
        let run = env
            .mapvault(["seal", "dist", "--out", out, "--vault", "vault"])
            .env("MAPVAULT_FAIL_COPY", "ro/z.txt")
            .expect_code(2);
        run.ensure(
            run.stderr_str().contains("ro/z.txt"),
            "the message names the file that could not be copied",
        );
        if existed {
            let left: Vec<_> = std::fs::read_dir(env.path(out))
                .expect("the existing --out stays")
                .collect();
            run.ensure(
                left.is_empty(),
                format_args!("{out} emptied again: {left:?}"),
            );
        } else {
            run.ensure(
                !env.path("new").exists(),
                "the new --out and the parent it created are removed",
            );
        }
        run.ensure(!env.path("vault").exists(), "nothing sealed");
    }
}

#[test]
fn seal_with_one_job_gives_the_same_result() {
    let env = TestEnv::new();
    env.copy_fixture("vite", "one");
    env.copy_fixture("vite", "many");
    env.mapvault(["seal", "one", "--vault", "v1", "--jobs", "1"])
        .ok();
    env.mapvault(["seal", "many", "--vault", "v2", "--jobs", "4"])
        .ok();
    env.snapshot("one")
        .assert_same(&env.snapshot("many"), Level::Content, "--jobs 1 vs 4");
    assert!(env.vault("v1").maps() == env.vault("v2").maps());
}

#[test]
fn seal_json_report_is_one_object_and_seal_sees_hidden_files() {
    let env = TestEnv::new();
    env.write("dist/.hidden/app.js.map", MAP_A);
    env.write(
        "dist/node_modules/pkg/index.js",
        "module.exports=1;\n//# sourceMappingURL=index.js.map\n",
    );
    env.write("dist/node_modules/pkg/index.js.map", MAP_B);
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault", "--format", "json"])
        .ok();
    run.json();
    let snap = env.snapshot("dist");
    run.ensure(
        snap.files().collect::<Vec<_>>() == ["node_modules/pkg/index.js"],
        "only the stripped index.js may remain",
    );
    run.ensure(
        env.read("dist/node_modules/pkg/index.js") == b"module.exports=1;\n\n",
        "comment stripped in node_modules",
    );
}

#[test]
fn seal_moves_links_to_maps_into_the_record_and_unseal_recreates_them() {
    let env = TestEnv::new();
    env.write("outside/real.js.map", MAP_A);
    env.write("outside/renamed.json", MAP_B);
    env.write("outside/plain.txt", "hello");
    env.write("dist/a.js", "a();\n//# sourceMappingURL=link.js.map\n");
    env.write("dist/maps/in.js.map", MAP_A);
    // Outside the dist (relative and absolute), by content, inside the dist, dangling.
    env.symlink("../outside/real.js.map", "dist/link.js.map");
    env.symlink(env.path("outside/real.js.map"), "dist/abs.js.map");
    env.symlink("../outside/renamed.json", "dist/innocent.txt");
    env.symlink("maps/in.js.map", "dist/inside.js.map");
    env.symlink("nowhere.js.map", "dist/dangling.js.map");
    // A directory holding only a link to a map is left empty: removed, and made again.
    env.symlink("../../outside/real.js.map", "dist/sub/deep.js.map");
    // Not a map: a note, left alone.
    env.symlink("../outside/plain.txt", "dist/plain.txt");
    let links = [
        ("link.js.map", "../outside/real.js.map".to_owned()),
        (
            "abs.js.map",
            env.path("outside/real.js.map").display().to_string(),
        ),
        ("innocent.txt", "../outside/renamed.json".to_owned()),
        ("inside.js.map", "maps/in.js.map".to_owned()),
        ("dangling.js.map", "nowhere.js.map".to_owned()),
        ("sub/deep.js.map", "../../outside/real.js.map".to_owned()),
    ];
    let before = env.snapshot("");
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault", "--format", "json"])
        .ok();
    let j = run.json();
    run.ensure(
        j["clean"] == true,
        "the dist is clean once the links are gone",
    );
    let actions = j["actions"].as_array().cloned().unwrap_or_default();
    for (l, _) in &links {
        run.ensure(
            std::fs::symlink_metadata(env.path(format!("dist/{l}"))).is_err(),
            format_args!("the link {l} is gone"),
        );
        run.ensure(
            actions
                .iter()
                .any(|a| a["path"] == *l && a["action"] == "remove-link"),
            format_args!("{l}: a remove-link action: {actions:?}"),
        );
    }
    run.ensure(
        std::fs::read_link(env.path("dist/plain.txt")).is_ok(),
        "a link to something that is not a map stays",
    );
    run.ensure(
        !env.path("dist/sub").exists(),
        "a directory emptied of its link is removed",
    );
    // Nothing outside the dist changed; a map behind a link outside never reaches the vault.
    let d = before.diff_only(&env.snapshot(""), Level::Untouched, |p| {
        p.starts_with("outside")
    });
    run.ensure(d.is_empty(), format_args!("outside changed: {d:?}"));
    let vault = env.vault("vault");
    run.ensure(
        vault.map(&sha256_hex(MAP_B.as_bytes())).is_none(),
        "a map behind a link outside the dist reached the vault",
    );
    // The record holds each link's name and target text.
    let records = vault.record_files();
    let rec: serde_json::Value =
        serde_json::from_slice(&records.first().expect("one record").1).expect("record JSON");
    let recorded = rec["seal"]["links"].to_string();
    for (l, t) in &links {
        run.ensure(
            recorded.contains(&format!("\"path\":\"{l}\"")) && recorded.contains(t.as_str()),
            format_args!("{l} -> {t} recorded: {recorded}"),
        );
    }
    env.mapvault(["verify", "dist"]).ok();
    // Unseal recreates every link exactly (its target text, not a copy of the target).
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    let d = before.diff_only(&env.snapshot(""), Level::Content, |p| {
        !p.starts_with("vault")
    });
    assert!(d.is_empty(), "unseal did not restore the tree: {d:?}");
    for (l, t) in &links {
        let now = std::fs::read_link(env.path(format!("dist/{l}"))).expect("link back");
        assert_eq!(now, std::path::PathBuf::from(t), "{l}");
    }
}

/// A record whose link entry names a path outside the dist (a hand-edited record) is refused
/// as a whole: no link is made anywhere.
#[test]
fn records_with_links_outside_the_dist_are_refused() {
    let env = TestEnv::new();
    env.write("outside/real.js.map", MAP_A);
    env.write("dist/a.js", "a();\n");
    env.symlink("../outside/real.js.map", "dist/link.js.map");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let records = env.vault("vault").record_files();
    let (id, bytes) = records.first().expect("one seal record");
    for hostile in [
        "../escape.js.map",
        "/tmp/escape.js.map",
        "a/../../escape.js.map",
        "",
    ] {
        let mut r: serde_json::Value = serde_json::from_slice(bytes).expect("record JSON");
        r["seal"]["links"][0]["path"] = hostile.into();
        env.write(
            format!("vault/seals/{id}.json"),
            serde_json::to_vec(&r).expect("json"),
        );
        let dist = env.snapshot("dist");
        let run = env
            .mapvault(["unseal", "dist", "--vault", "vault"])
            .expect_code(2);
        run.ensure(
            std::fs::symlink_metadata(env.path("escape.js.map")).is_err()
                && std::fs::symlink_metadata("/tmp/escape.js.map").is_err(),
            format_args!("{hostile:?}: a link was made outside the dist"),
        );
        dist.assert_same(&env.snapshot("dist"), Level::Untouched, "the dist");
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: named after what broke.

/// Several files carrying the *same* inline map: seal stores one vault object from several
/// threads at once. `Vault::put_bytes` used to name its temp file `tmp/put-<sha>-<pid>`, the
/// same for every thread, so one thread's rename stole the other's file and the loser failed
/// with "cannot move object into the vault: No such file or directory" (exit 2, comment left in
/// place). Temp names are now unique per call (`Vault::unique_tmp`). It is a race, so the dist
/// is sealed afresh several times.
#[test]
fn regression_same_inline_map_in_two_files_races_on_one_temp_file() {
    const URI: &str = "data:application/json;base64,e30=";
    for attempt in 0..20 {
        let env = TestEnv::new();
        for k in 0..16 {
            env.write(
                format!("dist/f{k}.js"),
                format!("f{k}();\n//# sourceMappingURL={URI}\n"),
            );
        }
        let run = env
            .mapvault(["seal", "dist", "--vault", "vault", "--jobs", "4"])
            .run();
        run.ensure(
            run.code == Some(0),
            format_args!("attempt {attempt}: seal must exit 0"),
        );
        for k in 0..16 {
            let now = env.read(format!("dist/f{k}.js"));
            run.ensure(
                now == format!("f{k}();\n\n").as_bytes(),
                format_args!("attempt {attempt}: f{k}.js not stripped"),
            );
        }
        run.ensure(
            env.vault("vault").maps().len() == 1,
            "one vault object for one inline map",
        );
    }
}

/// A WebAssembly module with a DWARF section, a `sourceMappingURL` section, and a section cut
/// short: two notes (`wasm-dwarf`, and the malformed module).
fn wasm_with_two_notes() -> Vec<u8> {
    let section = |name: &[u8], payload: &[u8]| {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name);
        body.extend_from_slice(payload);
        let mut s = vec![0u8, body.len() as u8];
        s.extend(body);
        s
    };
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend(section(b".debug_info", b"\x01\x02\x03"));
    wasm.extend(section(b"sourceMappingURL", b"\x0am.wasm.map"));
    wasm.extend_from_slice(b"\0\x7f");
    wasm
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).expect("gzip in memory");
    z.finish().expect("gzip in memory")
}

/// Regression: seal kept only the first note of each file (`a.notes.first()`), without its
/// kind, and none of a precompressed copy's, so seal and verify disagreed about the same file.
/// Seal (dry run or not) must report exactly the notes verify reports for the files it seals.
#[test]
fn seal_reports_every_note_verify_reports_kinds_and_compressed_copies_included() {
    let env = TestEnv::new();
    let wasm = wasm_with_two_notes();
    env.write("dist/m.wasm", &wasm);
    env.write("dist/m.wasm.gz", gzip(&wasm));
    env.write("dist/m.wasm.map", MAP_A);
    // A parse error sends the scan to the lexical fallback (a note), in the file and its copy.
    let bad = b"var s = \"sourceMappingURL\"; let x = ;\n//# sourceMappingURL=bad.js.map\n";
    env.write("dist/bad.js", bad);
    env.write("dist/bad.js.gz", gzip(bad));
    env.write("dist/bad.js.map", MAP_B);

    let verify = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1)
        .json();
    let want = verify["notes"].clone();
    let notes = want.as_array().map_or(0, Vec::len);
    assert_eq!(
        notes, 6,
        "two notes per wasm file, one per script: {want:#}"
    );
    assert!(
        want.as_array()
            .into_iter()
            .flatten()
            .any(|n| n["path"] == "m.wasm.gz" && n["kind"] == "wasm-dwarf"),
        "{want:#}"
    );

    let dry = env
        .mapvault([
            "seal",
            "dist",
            "--vault",
            "vault",
            "--dry-run",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(dry["notes"], want, "seal --dry-run's notes are verify's");
    let sealed = env
        .mapvault(["seal", "dist", "--vault", "vault", "--format", "json"])
        .ok()
        .json();
    assert_eq!(sealed["notes"], want, "seal's notes are verify's");
}

/// Every `integrity` value that was already wrong is noted, not only the first one of a file
/// (nor only when the file has no other note).
#[test]
fn every_stale_integrity_value_is_noted() {
    let env = TestEnv::new();
    env.write("dist/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    env.write("dist/b.js", "b();\n//# sourceMappingURL=b.js.map\n");
    env.write("dist/a.js.map", MAP_A);
    env.write("dist/b.js.map", MAP_B);
    env.write(
        "dist/index.html",
        "<script src=\"a.js\" integrity=\"sha256-AAAA\"></script>\n\
         <script src=\"b.js\" integrity=\"sha256-BBBB\"></script>\n",
    );
    let v = env
        .mapvault([
            "seal",
            "dist",
            "--vault",
            "vault",
            "--dry-run",
            "--format",
            "json",
        ])
        .ok()
        .json();
    let lines: Vec<&str> = v["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["path"] == "index.html")
        .filter_map(|n| n["message"].as_str())
        .collect();
    assert_eq!(lines.len(), 2, "{v:#}");
    assert!(
        lines[0].starts_with("line 1: integrity of a.js did not match"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("line 2: integrity of b.js did not match"),
        "{lines:?}"
    );
}

/// Extended attributes (here `user.*`; ACLs are `system.posix_acl_access`, kept the same way)
/// survive seal's rewrite of a file and unseal's undoing of it — a comment in the middle of a
/// bundle (longer than seal rewrites in place: a new copy renamed over it) and one at its end (cut in place). Before, the rewritten
/// copy had none. Skipped where the file system refuses `user.*` attributes.
#[cfg(unix)]
#[test]
fn seal_and_unseal_keep_extended_attributes_of_rewritten_files() {
    let env = TestEnv::new();
    small_dist(&env, "dist");
    // More than the 64 KiB a seal rewrites in place after the comment: a new copy.
    let rest = "n();\n".repeat(20_000);
    env.write(
        "dist/mid.js",
        format!("m();\n//# sourceMappingURL=a.js.map\n{rest}"),
    );
    env.write("dist/end.js", "e();\n//# sourceMappingURL=a.js.map\n");
    let (name, value) = ("user.mapvault-test", &b"kept"[..]);
    for f in ["mid.js", "end.js"] {
        if let Err(e) = xattr::set(env.path(format!("dist/{f}")), name, value) {
            crate::harness::say(&format!(
                "skipped: this file system refuses user xattrs: {e}"
            ));
            return;
        }
    }
    let orig = env.snapshot("dist");
    let check = |when: &str| {
        for f in ["mid.js", "end.js"] {
            let got = xattr::get(env.path(format!("dist/{f}")), name).expect("xattr readable");
            assert_eq!(got.as_deref(), Some(value), "{when}: {f} keeps {name}");
        }
    };
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    assert_eq!(
        env.read("dist/mid.js"),
        format!("m();\n\n{rest}").as_bytes(),
        "mid.js was rewritten"
    );
    check("after seal");
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    orig.assert_same(
        &env.snapshot("dist"),
        Level::Mode,
        "unseal restores the bytes",
    );
    check("after unseal");
}
