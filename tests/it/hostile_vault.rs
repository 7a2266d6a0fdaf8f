//! A hostile vault (issue 13 item 6): a `journal.json` planted in the vault (a poisoned CI
//! cache), a journal of another dist or another vault, journal paths and temps that leave the
//! dist, modes no dist file has, and vault files replaced by symbolic links or FIFOs.
//!
//! The rule: seal and unseal refuse such a vault with exit 2, a message naming the file and the
//! reason, and touch nothing — not the dist, not anything outside it.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{Level, TestEnv, is_root, say, sha256_hex};

const MAP: &str = r#"{"version":3,"sources":["src/x.ts"],"names":[],"mappings":"AAAA"}"#;

/// A dist with one bundle and its map, sealed into `vault` (so `vault/maps/` holds the map);
/// returns the map's sha256.
fn sealed_env(env: &TestEnv) -> String {
    env.write("dist/app.js", "x();\n//# sourceMappingURL=app.js.map\n");
    env.write("dist/app.js.map", MAP);
    env.mkdir("dist/sub");
    env.write("dist/sub/keep.txt", "keep");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    sha256_hex(MAP.as_bytes())
}

/// The `meta` a journal step carries for the file at `p`, as seal writes it.
fn meta_of(p: &Path) -> Value {
    let m = fs::symlink_metadata(p).expect("stat");
    json!({
        "size": m.len(), "mode": m.mode() & 0o7777, "mtime": m.mtime(),
        "mtime_nsec": m.mtime_nsec(), "ino": m.ino(), "dev": m.dev(), "nlink": m.nlink(),
        "uid": m.uid(), "gid": m.gid(),
    })
}

/// A journal as seal or unseal writes one, for `dist` in `vault` (`vault: None` leaves the
/// field out, as an attacker who does not know it would).
fn journal(op: &str, dist: &Path, vault: Option<&Path>, steps: Value) -> Value {
    let mut j = json!({
        "format": "mapvault-journal", "version": 1, "op": op,
        "id": format!("{op}-20261204T000000Z-deadbeef"),
        "dist": dist.to_str().expect("utf-8 temp dir"), "steps": steps,
    });
    if let Some(v) = vault {
        j["vault"] = v.to_str().expect("utf-8 temp dir").into();
    }
    j
}

fn plant(env: &TestEnv, j: &Value) {
    env.write("vault/journal.json", serde_json::to_vec(j).expect("json"));
}

/// Run `cmd dist --vault vault` against the planted journal: exit 2, the message names the
/// journal and contains `why`, and neither the dist nor `outside` changed.
#[track_caller]
fn refused(env: &TestEnv, cmd: &str, why: &str, outside: &str) {
    let dist = env.snapshot("dist");
    let out = env.snapshot(outside);
    let run = env
        .mapvault([cmd, "dist", "--vault", "vault"])
        .expect_code(2);
    let err = run.stderr_str();
    run.ensure(
        err.contains("journal.json") && err.contains(why),
        format_args!("{cmd}: the refusal names the journal and says {why:?}"),
    );
    dist.assert_same(&env.snapshot("dist"), Level::Untouched, "the dist");
    out.assert_same(&env.snapshot(outside), Level::Untouched, outside);
    assert!(
        env.path("vault/journal.json").exists(),
        "the refused journal is left for the user to inspect"
    );
}

/// The issue's first attack: a journal naming an unrelated directory as its dist makes the next
/// `seal` of this dist delete a file there.
#[test]
fn planted_seal_journal_of_another_dist_deletes_nothing_outside() {
    let env = TestEnv::new();
    let sha = sealed_env(&env);
    let victim = env.write("victim/secret.txt", "precious");
    let steps = json!([{"step": "unlink", "path": "secret.txt", "object": {"map": sha},
        "meta": meta_of(&victim)}]);
    plant(
        &env,
        &journal("seal", &env.path("victim"), Some(&env.path("vault")), steps),
    );
    refused(&env, "seal", "not this dist", "victim");
    refused(&env, "unseal", "not this dist", "victim");
    assert_eq!(env.read("victim/secret.txt"), b"precious");
}

/// A journal of this dist whose temp file lies outside: every run removes the temps of its
/// journal, so this deleted any file the user can delete.
#[test]
fn planted_journal_temps_outside_the_dist_and_vault_tmp_are_refused() {
    let env = TestEnv::new();
    sealed_env(&env);
    let victim = env.write("victim/secret.txt", "precious");
    let meta = meta_of(&env.path("dist/app.js"));
    for temp in [
        victim.clone(),
        env.path("vault/tmp/../../victim/secret.txt"),
        env.path("vault/vault.json"),
    ] {
        let steps = json!([{"step": "edit", "path": "app.js", "meta": meta,
            "original_sha256": "0".repeat(64), "sealed_sha256": "1".repeat(64),
            "cuts": [[0, 1]], "how": {"rewrite": {"temp": temp.to_str().expect("utf-8")}}}]);
        plant(
            &env,
            &journal("seal", &env.path("dist"), Some(&env.path("vault")), steps),
        );
        refused(&env, "seal", "temp", "victim");
    }
    assert_eq!(env.read("victim/secret.txt"), b"precious");
    assert!(env.path("vault/vault.json").exists());
}

/// The issue's second attack: a planted unseal journal chmods a directory elsewhere 0777 and
/// creates a setuid file there with vault content.
#[test]
fn planted_unseal_journal_cannot_chmod_or_plant_a_setuid_file_outside() {
    let env = TestEnv::new();
    let sha = sealed_env(&env);
    env.mkdir("elsewhere/pub");
    env.set_mode("elsewhere/pub", 0o755);
    let steps = |dist: &str| {
        let vault_tmp = env.path("vault/tmp/unseal-evil-0");
        json!([
            {"step": "make_dir", "seal_id": "s", "path": if dist == "dist" { "sub" } else { "pub" },
             "mode": 0o777},
            {"step": "restore", "seal_id": "s", "path": "evil", "from": {"map": sha},
             "sha256": sha, "size": MAP.len(), "mode": 0o4755, "mtime": 0, "mtime_nsec": 0,
             "rename": false, "temp": vault_tmp.to_str().expect("utf-8")},
        ])
    };
    // Another dist: refused for that alone.
    plant(
        &env,
        &journal(
            "unseal",
            &env.path("elsewhere"),
            Some(&env.path("vault")),
            steps("elsewhere"),
        ),
    );
    refused(&env, "unseal", "not this dist", "elsewhere");
    refused(&env, "seal", "not this dist", "elsewhere");
    // This dist: the modes are refused (a directory 0777, a setuid file).
    plant(
        &env,
        &journal(
            "unseal",
            &env.path("dist"),
            Some(&env.path("vault")),
            steps("dist"),
        ),
    );
    refused(&env, "unseal", "mode", "elsewhere");
    assert!(!env.path("elsewhere/evil").exists());
    assert!(!env.path("dist/evil").exists());
    let m = fs::metadata(env.path("elsewhere/pub")).expect("stat");
    assert_eq!(m.permissions().mode() & 0o7777, 0o755);
}

/// Each hostile field alone is enough for a refusal: an escaping path, a vault object that is
/// not a sha256 (a name with `/`), a world-writable or sticky mode, a missing or other vault.
#[test]
fn every_field_of_a_journal_is_checked() {
    let env = TestEnv::new();
    let sha = sealed_env(&env);
    let restore = |path: &str, from: Value, mode: u32| {
        json!([{"step": "restore", "seal_id": "s", "path": path, "from": from,
             "sha256": sha, "size": MAP.len(), "mode": mode, "mtime": 0, "mtime_nsec": 0,
             "rename": true, "temp": ""}])
    };
    let (dist, vault) = (env.path("dist"), env.path("vault"));
    let other_vault = env.mkdir("other-vault");
    let cases = [
        (
            journal(
                "unseal",
                &dist,
                Some(&vault),
                restore("../x", json!({"map": sha}), 0o644),
            ),
            "outside the dist",
        ),
        (
            journal(
                "unseal",
                &dist,
                Some(&vault),
                restore("x", json!({"blob": "../../victim/secret.txt"}), 0o644),
            ),
            "not a sha256",
        ),
        (
            journal(
                "unseal",
                &dist,
                Some(&vault),
                restore("x", json!({"map": sha}), 0o666),
            ),
            "world-writable",
        ),
        (
            journal(
                "unseal",
                &dist,
                Some(&vault),
                restore("x", json!({"map": sha}), 0o1644),
            ),
            "mode",
        ),
        (
            journal(
                "unseal",
                &dist,
                None,
                restore("x", json!({"map": sha}), 0o644),
            ),
            "names no vault",
        ),
        (
            journal(
                "unseal",
                &dist,
                Some(&other_vault),
                restore("x", json!({"map": sha}), 0o644),
            ),
            "not this vault",
        ),
    ];
    env.write("victim/secret.txt", "precious");
    for (j, why) in cases {
        plant(&env, &j);
        refused(&env, "unseal", why, "victim");
    }
}

/// A directory of the dist replaced by a symbolic link to somewhere else: a journal step under
/// it is refused before anything runs (no symlinked component is ever followed).
#[test]
fn journal_paths_through_a_symlinked_directory_are_refused() {
    let env = TestEnv::new();
    let sha = sealed_env(&env);
    env.mkdir("elsewhere");
    env.symlink(env.path("elsewhere"), "dist/link");
    let steps = json!([{"step": "restore", "seal_id": "s", "path": "link/app.js.map",
        "from": {"map": sha}, "sha256": sha, "size": MAP.len(), "mode": 0o644, "mtime": 0,
        "mtime_nsec": 0, "rename": true, "temp": ""}]);
    plant(
        &env,
        &journal("unseal", &env.path("dist"), Some(&env.path("vault")), steps),
    );
    refused(&env, "unseal", "symbolic link", "elsewhere");
    assert!(env.vault("vault").map(&sha).is_some(), "the object stays");
}

/// A journal left by a real crash, copied into another vault (a cache restored beside the
/// original): it names the vault it belongs to, so the copy is refused.
#[test]
fn a_journal_copied_into_another_vault_is_refused() {
    let env = TestEnv::new();
    env.write("dist/app.js", "x();\n//# sourceMappingURL=app.js.map\n");
    env.write("dist/app.js.map", MAP);
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault"])
        .env("MAPVAULT_FAILPOINT", "after-journal")
        .ulimit("-c", 0)
        .run();
    if run.code.is_some() {
        say("skipped: needs `--features failpoints` to leave a journal behind");
        return;
    }
    let st = Command::new("cp")
        .args(["-a", "vault", "copy"])
        .current_dir(env.root())
        .status()
        .expect("cp");
    assert!(st.success());
    let dist = env.snapshot("dist");
    let run = env
        .mapvault(["seal", "dist", "--vault", "copy"])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("not this vault"),
        "the refusal says whose journal it is",
    );
    dist.assert_same(&env.snapshot("dist"), Level::Untouched, "the dist");
    // The original vault finishes its own journal.
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    assert!(!env.path("dist/app.js.map").exists());
}

/// A journal of another dist sharing the vault (a crash while sealing `one`) is not finished by
/// a run on `two`: that run stops and says how to finish it, and the run on `one` does.
#[test]
fn a_journal_of_another_dist_is_left_for_that_dist() {
    let env = TestEnv::new();
    for d in ["one", "two"] {
        env.write(
            format!("{d}/app.js"),
            "x();\n//# sourceMappingURL=app.js.map\n",
        );
        env.write(format!("{d}/app.js.map"), MAP);
    }
    let run = env
        .mapvault(["seal", "one", "--vault", "vault"])
        .env("MAPVAULT_FAILPOINT", "after-barrier-1")
        .ulimit("-c", 0)
        .run();
    if run.code.is_some() {
        say("skipped: needs `--features failpoints` to leave a journal behind");
        return;
    }
    let two = env.snapshot("two");
    let run = env
        .mapvault(["seal", "two", "--vault", "vault"])
        .expect_code(2);
    run.ensure(
        run.stderr_str()
            .contains(&format!("mapvault seal {}", env.path("one").display())),
        "the refusal says which command finishes the journal",
    );
    two.assert_same(&env.snapshot("two"), Level::Untouched, "two");
    env.mapvault(["seal", "one", "--vault", "vault"]).ok();
    env.mapvault(["seal", "two", "--vault", "vault"]).ok();
    env.mapvault(["verify", "one", "two"]).ok();
}

/// The vault's files replaced by links or FIFOs: never followed, never waited on.
#[test]
fn vault_files_replaced_by_links_or_fifos_are_refused() {
    let env = TestEnv::new();
    sealed_env(&env);
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    let target = env.write("elsewhere/file", "x");
    env.mkdir("elsewhere/dir");
    let mkfifo = |p: &Path| {
        let _ = fs::remove_file(p);
        let st = Command::new("mkfifo").arg(p).status().expect("run mkfifo");
        assert!(st.success(), "mkfifo {}", p.display());
    };
    type Setup<'a> = (&'a str, Box<dyn Fn(&TestEnv)>, &'a str);
    let t = target.clone();
    let cases: Vec<Setup> = vec![
        (
            "lock",
            Box::new(move |env: &TestEnv| {
                std::os::unix::fs::symlink(&t, env.path("vault/lock")).expect("symlink");
            }),
            "symbolic link",
        ),
        (
            "lock",
            Box::new(move |env: &TestEnv| mkfifo(&env.path("vault/lock"))),
            "FIFO",
        ),
        (
            "journal.json",
            Box::new(move |env: &TestEnv| mkfifo(&env.path("vault/journal.json"))),
            "FIFO",
        ),
        (
            "journal.json",
            Box::new(|env: &TestEnv| {
                std::os::unix::fs::symlink("/dev/zero", env.path("vault/journal.json"))
                    .expect("symlink");
            }),
            "symbolic link",
        ),
    ];
    for sub in ["maps", "tmp", "blobs"] {
        let vault = env.path("vault");
        let saved = env.path(format!("saved-{sub}"));
        fs::rename(vault.join(sub), &saved).expect("move aside");
        std::os::unix::fs::symlink(env.path("elsewhere/dir"), vault.join(sub)).expect("symlink");
        let before = env.snapshot("elsewhere");
        for cmd in ["seal", "unseal"] {
            let run = env
                .mapvault([cmd, "dist", "--vault", "vault"])
                .expect_code(2);
            run.ensure(
                run.stderr_str().contains(sub),
                format_args!("{cmd} with a symlinked {sub}/: the refusal names it"),
            );
        }
        before.assert_same(&env.snapshot("elsewhere"), Level::Untouched, sub);
        fs::remove_file(vault.join(sub)).expect("rm link");
        fs::rename(&saved, vault.join(sub)).expect("move back");
    }
    for (name, setup, why) in cases {
        let saved = env.path("saved");
        let _ = fs::remove_file(&saved);
        let p = env.path("vault").join(name);
        let had = p.exists();
        if had {
            fs::rename(&p, &saved).expect("move aside");
        }
        setup(&env);
        let dist = env.snapshot("dist");
        for cmd in ["seal", "unseal"] {
            let run = env
                .mapvault([cmd, "dist", "--vault", "vault"])
                .expect_code(2);
            run.ensure(
                run.stderr_str().contains(name) && run.stderr_str().contains(why),
                format_args!("{cmd} with {name} replaced: the refusal names it and says {why}"),
            );
            dist.assert_same(&env.snapshot("dist"), Level::Untouched, name);
        }
        fs::remove_file(&p).expect("rm");
        if had {
            fs::rename(&saved, &p).expect("move back");
        }
    }
    assert_eq!(env.read("elsewhere/file"), b"x");
    // Whole again: it works.
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
}

/// `--vault` creates the vault directory itself, never a tree of missing parents (a typo).
#[test]
fn vault_option_creates_only_the_last_component() {
    let env = TestEnv::new();
    env.write("dist/app.js", "x();\n//# sourceMappingURL=app.js.map\n");
    env.write("dist/app.js.map", MAP);
    let run = env
        .mapvault(["seal", "dist", "--vault", "typo/deep/vault"])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("typo/deep") && run.stderr_str().contains("does not exist"),
        "the refusal names the missing parent",
    );
    assert!(!env.path("typo").exists(), "nothing created");
    assert!(env.path("dist/app.js.map").exists());
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    assert!(env.path("vault/maps").is_dir());
}

/// Running as root, the setuid attack matters most: a planted restore of mode 04755 is refused
/// even for a path inside the dist.
#[test]
fn no_journal_makes_a_setuid_file_in_the_dist() {
    if !is_root() {
        say("note: runs the same refusal as a non-root user");
    }
    let env = TestEnv::new();
    let sha = sealed_env(&env);
    env.write("victim/x", "x");
    let steps = json!([{"step": "restore", "seal_id": "s", "path": "evil", "from": {"map": sha},
        "sha256": sha, "size": MAP.len(), "mode": 0o4755, "mtime": 0, "mtime_nsec": 0,
        "rename": true, "temp": ""}]);
    plant(
        &env,
        &journal("unseal", &env.path("dist"), Some(&env.path("vault")), steps),
    );
    refused(&env, "unseal", "setuid", "victim");
    assert!(!env.path("dist/evil").exists());
}

/// Property: whatever journal a vault holds — another dist or vault, escaping paths and temps,
/// objects named by anything, any mode, steps of every kind — `seal` and `unseal` either refuse
/// it (exit 2) or act only beneath the dist and `VAULT/tmp`: nothing outside changes, and no file
/// or directory of the dist ends up setuid, setgid, sticky or world-writable.
mod journal_property {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    /// One field value: picked from benign and hostile choices, relative to the test's root.
    #[derive(Debug, Clone)]
    struct Pick(usize);

    fn pick() -> impl Strategy<Value = Pick> {
        (0usize..64).prop_map(Pick)
    }

    impl Pick {
        fn of<'a>(&self, choices: &[&'a str]) -> &'a str {
            choices[self.0 % choices.len()]
        }
        fn mode(&self) -> u32 {
            [
                0o644, 0o600, 0o755, 0o777, 0o666, 0o4755, 0o2755, 0o1777, 0o100644,
            ][self.0 % 9]
        }
    }

    #[derive(Debug, Clone)]
    struct Spec {
        op: Pick,
        dist: Pick,
        vault: Pick,
        steps: Vec<(Pick, Pick, Pick, Pick, Pick)>,
    }

    fn spec() -> impl Strategy<Value = Spec> {
        (
            pick(),
            pick(),
            pick(),
            prop::collection::vec((pick(), pick(), pick(), pick(), pick()), 1..5),
        )
            .prop_map(|(op, dist, vault, steps)| Spec {
                op,
                dist,
                vault,
                steps,
            })
    }

    const PATHS: &[&str] = &[
        "app.js",
        "app.js.map",
        "sub",
        "sub/new",
        "new.js",
        "../outside/victim",
        "link/x",
        "/etc/passwd",
        "sub/../../outside/victim",
        "link",
    ];
    const TEMPS: &[&str] = &[
        "VAULT/tmp/t-0",
        "DIST/.mapvault-t-0.tmp",
        "DIST/sub/.mapvault-t-1.tmp",
        "",
        "OUTSIDE/victim",
        "VAULT/tmp/../manifest.json",
        "DIST/app.js",
        "DIST/link/.mapvault-t.tmp",
    ];

    fn journal_of(env: &TestEnv, s: &Spec, sha: &str) -> Value {
        let root = env.root().to_str().expect("utf-8").to_owned();
        let abs = |p: &str| {
            p.replace("VAULT", &format!("{root}/vault"))
                .replace("DIST", &format!("{root}/dist"))
                .replace("OUTSIDE", &format!("{root}/outside"))
        };
        let objects = [
            sha.to_owned(),
            "0".repeat(64),
            "../../outside/victim".into(),
        ];
        let meta = meta_of(&env.path("dist/app.js"));
        let steps: Vec<Value> = s
            .steps
            .iter()
            .map(|(kind, path, temp, obj, mode)| {
                let path = path.of(PATHS);
                let temp = abs(temp.of(TEMPS));
                let obj = &objects[obj.0 % objects.len()];
                match kind.0 % 6 {
                    0 => json!({"step": "unlink", "path": path, "object": {"map": obj},
                        "meta": meta}),
                    1 => json!({"step": "make_dir", "seal_id": "s", "path": path,
                        "mode": mode.mode()}),
                    2 => json!({"step": "restore", "seal_id": "s", "path": path,
                        "from": {"map": obj}, "sha256": obj, "size": MAP.len(),
                        "mode": mode.mode(), "mtime": 0, "mtime_nsec": 0,
                        "rename": mode.0 % 2 == 0, "temp": temp}),
                    3 => json!({"step": "edit", "path": path, "meta": meta,
                        "original_sha256": obj, "sealed_sha256": obj, "cuts": [[0, 1]],
                        "how": {"rewrite": {"temp": temp}}}),
                    4 => json!({"step": "remove_dir", "path": path}),
                    _ => json!({"step": "rename_in", "path": path, "to": {"map": obj},
                        "meta": meta}),
                }
            })
            .collect();
        let dist = env.path(s.dist.of(&["dist", "dist", "outside"]));
        let vault = match s.vault.0 % 4 {
            0 => None,
            1 => Some(env.path("other-vault")),
            _ => Some(env.path("vault")),
        };
        journal(
            s.op.of(&["seal", "unseal"]),
            &dist,
            vault.as_deref(),
            json!(steps),
        )
    }

    fn check(s: &Spec) {
        let env = TestEnv::new();
        let sha = sealed_env(&env);
        env.write("outside/victim", "precious");
        env.mkdir("outside/dir");
        env.set_mode("outside/dir", 0o755);
        env.symlink(env.path("outside/dir"), "dist/link");
        plant(&env, &journal_of(&env, s, &sha));
        let outside = env.snapshot("outside");
        for cmd in ["unseal", "seal"] {
            let run = env.mapvault([cmd, "dist", "--vault", "vault"]).run();
            run.ensure(
                matches!(run.code, Some(0..=2)),
                format_args!("{cmd}: an exit code, never a crash"),
            );
            outside.assert_same(&env.snapshot("outside"), Level::Untouched, "outside");
            for (p, n) in &env.snapshot("dist").nodes {
                if matches!(n.kind, crate::harness::Kind::Symlink(_)) {
                    continue;
                }
                assert!(
                    n.mode & 0o7000 == 0 && n.mode & 0o002 == 0,
                    "{cmd}: dist/{p} got mode {:04o}",
                    n.mode
                );
            }
            if run.code == Some(2) {
                break;
            }
        }
    }

    fn config() -> Config {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(24);
        Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 128,
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn a_planted_journal_is_refused_or_stays_beneath_the_dist(s in spec()) {
            check(&s);
        }
    }
}

/// Set every file's mode in the (single) seal record of `vault` to `mode`, as a hand-edited
/// record (a poisoned cache) would.
fn edit_record_modes(env: &TestEnv, mode: u32) {
    let records = env.vault("vault").record_files();
    let (id, bytes) = records.first().expect("one seal record");
    let mut r: Value = serde_json::from_slice(bytes).expect("record JSON");
    for f in r["seal"]["files"].as_array_mut().expect("files") {
        f["mode"] = mode.into();
    }
    env.write(
        format!("vault/seals/{id}.json"),
        serde_json::to_vec(&r).expect("json"),
    );
}

/// A hand-edited record that would have unseal restore a setuid (setgid, sticky) file: refused
/// as a whole, nothing restored.
#[test]
fn records_with_modes_no_dist_file_has_are_refused() {
    let env = TestEnv::new();
    sealed_env(&env);
    edit_record_modes(&env, 0o4755);
    let dist = env.snapshot("dist");
    let run = env
        .mapvault(["unseal", "dist", "--vault", "vault"])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("seals") && run.stderr_str().contains("mode"),
        "the refusal names the records and the mode",
    );
    dist.assert_same(&env.snapshot("dist"), Level::Untouched, "the dist");
}

/// A world-writable mode in a record (a dist built under `umask 000`, or a tampered record):
/// the bytes come back, without the world-write bit, and a note says so.
#[test]
fn world_writable_modes_in_records_are_restored_without_world_write() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    sealed_env(&env);
    edit_record_modes(&env, 0o666);
    let run = env
        .mapvault(["unseal", "dist", "--vault", "vault", "--format", "json"])
        .expect_code(0);
    let out = run.json();
    run.ensure(
        out["notes"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n.to_string().contains("world-writable"))),
        "a note names the world-writable mode",
    );
    let mut restored = 0;
    for f in walkdir::WalkDir::new(env.path("dist")) {
        let f = f.expect("walk");
        if f.file_type().is_file() {
            let mode = f.metadata().expect("meta").permissions().mode() & 0o7777;
            assert_eq!(mode & 0o002, 0, "{} is world-writable", f.path().display());
            restored += 1;
        }
    }
    assert!(restored > 0, "files were restored");
}
