//! The vault as a release archive (layout v2, issue 13): one write-once record per seal,
//! append-only unseal that picks the right record (never another build's), a moved dist
//! recognised by content, objects trusted only after they hash to their name, and the
//! migration of a v1 vault made by the last v1 release (`fixtures/vault-v1`).

use crate::harness::{Level, TestEnv, fixtures_dir, sha256_hex};

fn map_json(src: &str) -> String {
    format!(r#"{{"version":3,"sources":["{src}"],"names":[],"mappings":"AAAA"}}"#)
}

/// A build: `NAME.js` referencing `NAME.js.map`, plus `index.html`.
fn build(env: &TestEnv, dist: &str, name: &str) -> String {
    let map = map_json(&format!("{name}.ts"));
    env.write(
        format!("{dist}/{name}.js"),
        format!("{name}();\n//# sourceMappingURL={name}.js.map\n"),
    );
    env.write(format!("{dist}/{name}.js.map"), &map);
    env.write(
        format!("{dist}/index.html"),
        format!("<script src={name}.js></script>\n"),
    );
    map
}

#[test]
fn a_seal_writes_one_record_once_and_never_rewrites_another() {
    let env = TestEnv::new();
    build(&env, "dist", "a");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let v = env.vault("vault");
    let first = v.record_files();
    assert_eq!(first.len(), 1, "one record per seal");
    assert!(!env.path("vault/manifest.json").exists(), "no v1 manifest");
    let marker: serde_json::Value =
        serde_json::from_slice(&env.read("vault/vault.json")).expect("vault.json is JSON");
    assert_eq!(marker["format"], "mapvault-vault");
    assert_eq!(marker["version"], 2);
    // A second build in the same dist: a new record; the first is left byte for byte.
    build(&env, "dist", "b");
    let rec_path = env.path(format!("vault/seals/{}.json", first[0].0));
    let ino = std::fs::metadata(&rec_path)
        .map(|m| crate::harness::ino_of(&m))
        .ok();
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let second = v.record_files();
    assert_eq!(second.len(), 2);
    assert_eq!(second[0], first[0], "the first record was rewritten");
    assert_eq!(
        std::fs::metadata(&rec_path)
            .map(|m| crate::harness::ino_of(&m))
            .ok(),
        ino,
        "the first record was replaced"
    );
    assert!(second[0].0 < second[1].0, "ids sort by time: {second:?}");
}

#[test]
fn rebuild_seal_unseal_restores_only_the_new_build_and_keeps_the_old_one() {
    // Issue 13: build A, seal, rm -rf dist, build B, seal, unseal.
    let env = TestEnv::new();
    let map_a = build(&env, "dist", "a");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    std::fs::remove_dir_all(env.path("dist")).expect("rm -rf dist");
    let map_b = build(&env, "dist", "b");
    let before_b = env.snapshot("dist");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let run = env
        .mapvault(["unseal", "dist", "--vault", "vault", "--format", "json"])
        .ok();
    let j = run.json();
    before_b.assert_same(&env.snapshot("dist"), Level::Restored, "unseal of build B");
    assert!(
        !env.path("dist/a.js.map").exists(),
        "build A's map restored into B"
    );
    assert_eq!(j["maps_restored"], 1, "{j}");
    assert_eq!(j["files_restored"], 2, "{j}");
    assert_eq!(j["objects_removed"], 0, "{j}");
    assert_eq!(j["errors"].as_array().map(Vec::len), Some(0), "{j}");
    let mut actions: Vec<(String, String)> = j["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap_or_default().to_owned(),
                a["action"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            ("b.js".to_owned(), "references-restored".to_owned()),
            ("b.js.map".to_owned(), "map-restored".to_owned())
        ],
        "{j}"
    );
    // The skipped record is named, with the reason.
    let ids: Vec<String> = env
        .vault("vault")
        .record_files()
        .into_iter()
        .map(|r| r.0)
        .collect();
    let notes = j["notes"].to_string();
    assert!(
        notes.contains(&ids[0]) && notes.contains("a.js is missing"),
        "the note names build A's seal and why: {notes}"
    );
    // Append-only: both maps are still in the vault, and A's record still resolves.
    let v = env.vault("vault");
    assert!(
        v.holds(&sha256_hex(map_a.as_bytes())),
        "build A's map left the vault"
    );
    assert!(
        v.holds(&sha256_hex(map_b.as_bytes())),
        "build B's map left the vault"
    );
    assert_eq!(
        v.unsealed_ids(),
        vec![ids[1].clone()],
        "only B is marked unsealed"
    );
    env.mapvault([
        "resolve", "--vault", "vault", "--format", "json", "a.js:1:1",
    ])
    .ok();
    // A second unseal: nothing to do, exit 0, nothing changes.
    let after = env.snapshot("dist");
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    after.assert_same(&env.snapshot("dist"), Level::Untouched, "second unseal");
    // `--seal` of A into build B is refused: B is not what A sealed.
    let run = env
        .mapvault(["unseal", "dist", "--vault", "vault", "--seal", &ids[0]])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("not the one that seal sealed"),
        "explains the refusal",
    );
    after.assert_same(&env.snapshot("dist"), Level::Untouched, "refused --seal");
}

#[test]
fn a_moved_dist_is_recognised_by_its_contents() {
    let env = TestEnv::new();
    build(&env, "old/dist", "a");
    let before = env.snapshot("old/dist");
    env.mapvault(["seal", "old/dist", "--vault", "vault"]).ok();
    std::fs::rename(env.path("old"), env.path("new")).expect("move the project");
    let j = env
        .mapvault(["unseal", "new/dist", "--vault", "vault", "--format", "json"])
        .ok()
        .json();
    before.assert_same(
        &env.snapshot("new/dist"),
        Level::Restored,
        "unseal of the moved dist",
    );
    assert_eq!(j["maps_restored"], 1, "{j}");
}

#[test]
fn unseal_seal_id_restores_that_record_and_reseal_makes_a_new_one() {
    let env = TestEnv::new();
    build(&env, "dist", "a");
    let before = env.snapshot("dist");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let id = env.vault("vault").record_files()[0].0.clone();
    env.mapvault(["unseal", "dist", "--vault", "vault", "--seal", &id])
        .ok();
    before.assert_same(&env.snapshot("dist"), Level::Restored, "unseal --seal");
    assert_eq!(env.vault("vault").unsealed_ids(), vec![id.clone()]);
    // Sealed again: a new record (the unsealed one is kept as it was), and unseal picks it.
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let recs = env.vault("vault").record_files();
    assert_eq!(recs.len(), 2);
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(&env.snapshot("dist"), Level::Restored, "second unseal");
    assert_eq!(env.vault("vault").unsealed_ids().len(), 2);
    let run = env
        .mapvault(["unseal", "dist", "--vault", "vault", "--seal", "seal-nope"])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("no such seal"),
        "names the unknown id",
    );
}

/// Damage the vault's copy of a map, then seal a dist holding that map again.
fn seal_over_damaged_object(damage: fn(&[u8]) -> Vec<u8>, what: &str) {
    let env = TestEnv::new();
    let map = build(&env, "one", "a");
    env.mapvault(["seal", "one", "--vault", "vault"]).ok();
    let sha = sha256_hex(map.as_bytes());
    let obj = env.vault("vault").map_path(&sha);
    let bad = damage(map.as_bytes());
    crate::harness::set_mode(&obj, 0o600).expect("chmod");
    std::fs::write(&obj, &bad).expect("damage the object");
    // Another dist with the same map: seal finds the object by name.
    build(&env, "two", "a");
    env.mapvault(["seal", "two", "--vault", "vault"]).ok();
    assert_eq!(
        std::fs::read(&obj).expect("object"),
        map.as_bytes(),
        "{what}: the good bytes were not stored"
    );
    let damaged: Vec<_> = std::fs::read_dir(env.path("vault/damaged"))
        .unwrap_or_else(|e| panic!("{what}: no vault/damaged: {e}"))
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    assert_eq!(
        damaged,
        vec![bad],
        "{what}: the damaged object was not kept aside"
    );
    // And the dist unseals from it.
    env.mapvault(["unseal", "two", "--vault", "vault"]).ok();
    assert_eq!(env.read("two/a.js.map"), map.as_bytes(), "{what}");
}

#[test]
fn seal_replaces_a_truncated_object_before_removing_the_dists_copy() {
    seal_over_damaged_object(|b| b[..b.len() / 2].to_vec(), "truncated");
}

#[test]
fn seal_replaces_a_bit_flipped_object_before_removing_the_dists_copy() {
    seal_over_damaged_object(
        |b| {
            let mut v = b.to_vec();
            v[10] ^= 0x01;
            v
        },
        "bit-flipped",
    );
}

fn copy_v1_fixture(env: &TestEnv) {
    env.copy_dir(&fixtures_dir().join("vault-v1"), "v1");
    crate::harness::set_mode(&env.path("v1/vault"), 0o700).expect("chmod");
}

#[test]
fn a_v1_vault_is_read_as_it_is_and_migrated_on_the_first_write() {
    let env = TestEnv::new();
    copy_v1_fixture(&env);
    let v1: serde_json::Value =
        serde_json::from_slice(&env.read("v1/vault/manifest.json")).expect("v1 manifest");
    let v1_ids: Vec<String> = v1["seals"]
        .as_array()
        .expect("seals")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(v1_ids.len(), 2);
    // Readers read it as it is, and write nothing.
    let before = env.snapshot("v1/vault");
    env.mapvault(["resolve", "--vault", "v1/vault", "assets/app.js:1:10"])
        .ok();
    let out = env.path("out");
    env.mapvault([
        "export",
        "--vault",
        "v1/vault",
        "--out",
        out.to_str().expect("utf-8"),
        "--all",
    ])
    .ok();
    assert!(env.path("out/assets/app.js.map").is_file());
    assert!(env.path("out/assets/lazy.js.map").is_file());
    before.assert_same(
        &env.snapshot("v1/vault"),
        Level::Untouched,
        "readers of a v1 vault",
    );

    // The first write (an unseal of the dist, moved since: found by content) migrates it.
    let j = env
        .mapvault([
            "unseal", "v1/dist", "--vault", "v1/vault", "--format", "json",
        ])
        .ok()
        .json();
    assert_eq!(j["maps_restored"], 2, "{j}");
    assert_eq!(j["references_restored"], 3, "{j}");
    let v = env.vault("v1/vault");
    let ids: Vec<String> = v.record_files().into_iter().map(|r| r.0).collect();
    assert_eq!(ids, v1_ids, "every v1 record, ids kept");
    assert!(!env.path("v1/vault/manifest.json").exists());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&env.read("v1/vault/manifest.v1.json"))
            .expect("backup"),
        v1,
        "the v1 manifest is kept as manifest.v1.json"
    );
    // The records carry what v1 had.
    let m = v.manifest();
    for (i, rec) in v1["seals"].as_array().expect("seals").iter().enumerate() {
        assert_eq!(&m["seals"][i], rec, "record {i} changed in migration");
    }
    assert!(
        env.read("v1/dist/assets/app.js")
            .ends_with(b"//# sourceMappingURL=app.js.map\n")
    );
}

#[test]
fn a_migration_cut_short_is_finished_by_the_next_run() {
    let env = TestEnv::new();
    copy_v1_fixture(&env);
    let v1 = env.read("v1/vault/manifest.json");
    // Killed after the first record was written.
    let run = env
        .mapvault(["unseal", "v1/dist", "--vault", "v1/vault"])
        .env("MAPVAULT_FAILPOINT", "migrate-record")
        .run();
    run.ensure(run.code != Some(0), "the failpoint fired");
    assert_eq!(env.vault("v1/vault").record_files().len(), 1);
    assert_eq!(
        env.read("v1/vault/manifest.json"),
        v1,
        "v1 manifest kept until the end"
    );
    // Killed just before the rename: every record and the marker written.
    let run = env
        .mapvault(["unseal", "v1/dist", "--vault", "v1/vault"])
        .env("MAPVAULT_FAILPOINT", "migrate-before-rename")
        .run();
    run.ensure(run.code != Some(0), "the failpoint fired");
    assert_eq!(env.vault("v1/vault").record_files().len(), 2);
    assert!(env.path("v1/vault/vault.json").is_file());
    // Readers meanwhile see each record once.
    let j = env
        .mapvault([
            "resolve",
            "--vault",
            "v1/vault",
            "--format",
            "json",
            "assets/app.js:1:10",
        ])
        .ok()
        .json();
    assert_eq!(j["resolved"].as_u64().unwrap_or(1), 1, "{j}");
    // The next run finishes the migration and the unseal.
    env.mapvault(["unseal", "v1/dist", "--vault", "v1/vault"])
        .ok();
    assert!(!env.path("v1/vault/manifest.json").exists());
    assert_eq!(env.read("v1/vault/manifest.v1.json"), v1);
    assert!(env.path("v1/dist/assets/app.js.map").is_file());
}

#[test]
fn export_takes_the_latest_seal_of_the_dist_unless_told_otherwise() {
    let env = TestEnv::new();
    build(&env, "dist", "a");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    std::fs::remove_dir_all(env.path("dist")).expect("rm -rf dist");
    build(&env, "dist", "b");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let ids: Vec<String> = env
        .vault("vault")
        .record_files()
        .into_iter()
        .map(|r| r.0)
        .collect();
    let export = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "export", "--vault", "vault", "--out", out, "--format", "json",
        ];
        args.extend_from_slice(extra);
        let j = env.mapvault(args).ok().json();
        let mut maps: Vec<String> = j["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["path"].as_str().unwrap_or_default().to_owned())
            .collect();
        maps.sort();
        (maps, j["seals"].clone())
    };
    let (maps, seals) = export("latest", &[]);
    assert_eq!(maps, ["b.js.map"], "only the latest build's maps");
    assert_eq!(seals, serde_json::json!([ids[1]]));
    let (maps, _) = export("old", &["--seal", &ids[0]]);
    assert_eq!(maps, ["a.js.map"], "--seal picks the old build");
    let (maps, seals) = export("all", &["--all"]);
    assert_eq!(maps, ["a.js.map", "b.js.map"], "--all: every seal");
    assert_eq!(seals, serde_json::json!(ids));
}

#[test]
fn vault_list_and_show_describe_every_seal() {
    let env = TestEnv::new();
    let map = build(&env, "dist", "a");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    build(&env, "dist", "b");
    std::fs::remove_file(env.path("dist/a.js.map")).expect("rm");
    std::fs::remove_file(env.path("dist/a.js")).expect("rm");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let j = env
        .mapvault(["vault", "list", "--vault", "vault", "--format", "json"])
        .ok()
        .json();
    let seals = j["seals"].as_array().expect("seals");
    assert_eq!(seals.len(), 2, "{j}");
    assert_eq!(seals[0]["maps"], 1, "{j}");
    assert_eq!(seals[0]["files"], 2, "{j}");
    assert_eq!(seals[0]["bytes"], map.len(), "{j}");
    assert!(
        seals[0]["unsealed"].is_string(),
        "the first was unsealed: {j}"
    );
    assert!(seals[1]["unsealed"].is_null(), "{j}");
    assert_eq!(seals[0]["dist"], env.path("dist").display().to_string());
    let id = seals[1]["id"].as_str().expect("id");
    let show = env
        .mapvault(["vault", "show", id, "--vault", "vault", "--format", "json"])
        .ok()
        .json();
    assert_eq!(show["seal"]["id"], id);
    assert_eq!(show["seal"]["files"].as_array().map(Vec::len), Some(2));
    let human = env.mapvault(["vault", "list", "--vault", "vault"]).ok();
    human.ensure(human.stdout_str().contains(id), "lists the id");
    human.ensure(
        human.stdout_str().contains("2 files, 1 map ("),
        "counts in words, one map singular",
    );
    env.mapvault(["vault", "show", "seal-nope", "--vault", "vault"])
        .expect_code(2);
}

/// Two releases in one vault: build A sealed, `rm -rf dist`, build B sealed. Returns the
/// vault's record ids (A's first) and the two maps' sha256.
fn two_releases(env: &TestEnv) -> ([String; 2], [String; 2]) {
    let map_a = build(env, "dist", "a");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    std::fs::remove_dir_all(env.path("dist")).expect("rm -rf dist");
    let map_b = build(env, "dist", "b");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let ids: Vec<String> = env
        .vault("vault")
        .record_files()
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    (
        [ids[0].clone(), ids[1].clone()],
        [sha256_hex(map_a.as_bytes()), sha256_hex(map_b.as_bytes())],
    )
}

fn fsck_json(env: &TestEnv, code: i32) -> serde_json::Value {
    env.mapvault(["vault", "fsck", "--vault", "vault", "--format", "json"])
        .expect_code(code)
        .json()
}

/// The one damaged object of `j`: its `problem`, and the seals it breaks with their files.
fn only_damage(j: &serde_json::Value) -> (String, String, Vec<(String, Vec<String>)>) {
    let d = j["damaged"].as_array().expect("damaged");
    assert_eq!(d.len(), 1, "{j}");
    let affects = d[0]["affects"]
        .as_array()
        .expect("affects")
        .iter()
        .map(|a| {
            let files = a["files"]
                .as_array()
                .expect("files")
                .iter()
                .map(|f| f.as_str().unwrap_or_default().to_owned())
                .collect();
            (a["seal"].as_str().unwrap_or_default().to_owned(), files)
        })
        .collect();
    (
        d[0]["object"].as_str().unwrap_or_default().to_owned(),
        d[0]["problem"].as_str().unwrap_or_default().to_owned(),
        affects,
    )
}

#[test]
fn fsck_of_a_sound_vault_is_clean_and_says_what_it_checked() {
    let env = TestEnv::new();
    let (_, [a, b]) = two_releases(&env);
    let j = fsck_json(&env, 0);
    assert_eq!(j["clean"], true, "{j}");
    assert_eq!(j["objects"], 2, "{j}");
    assert_eq!(j["records"], 2, "{j}");
    let maps = env.vault("vault").maps();
    let bytes: usize = maps.values().map(Vec::len).sum();
    assert_eq!(j["bytes"], bytes, "{j}");
    assert!(maps.contains_key(&a) && maps.contains_key(&b));
    for k in ["damaged", "bad_records", "unreferenced", "notes"] {
        assert_eq!(j[k].as_array().map(Vec::len), Some(0), "{k}: {j}");
    }
    assert_eq!(j["vault"], env.path("vault").display().to_string());
    let human = env.mapvault(["vault", "fsck", "--vault", "vault"]).ok();
    human.ensure(
        human.stdout_str().starts_with("clean: 2 objects"),
        "says clean",
    );
}

#[test]
fn fsck_names_the_seal_a_truncated_or_bit_flipped_object_breaks() {
    for damage in ["truncate", "flip"] {
        let env = TestEnv::new();
        let ([id_a, _], [a, _]) = two_releases(&env);
        let p = env.vault("vault").map_path(&a);
        let mut bytes = std::fs::read(&p).expect("read object");
        crate::harness::set_mode(&p, 0o600).expect("chmod");
        match damage {
            "truncate" => bytes.truncate(bytes.len() / 2),
            _ => bytes[3] ^= 0x01,
        }
        std::fs::write(&p, &bytes).expect("damage the object");
        let j = fsck_json(&env, 1);
        assert_eq!(j["clean"], false, "{damage}: {j}");
        let (object, problem, affects) = only_damage(&j);
        assert_eq!(object, format!("maps/{a}.map"), "{damage}: {j}");
        assert_eq!(problem, "corrupt", "{damage}: {j}");
        assert_eq!(
            affects,
            [(id_a.clone(), vec!["a.js".to_owned(), "a.js.map".to_owned()])],
            "only build A's seal: its map, and the bundle whose positions it maps: {j}"
        );
        // Read-only: the damaged object is reported, not moved aside or repaired.
        assert_eq!(std::fs::read(&p).expect("still there"), bytes, "{damage}");
        assert!(!env.path("vault/damaged").exists(), "{damage}");
        let human = env
            .mapvault(["vault", "fsck", "--vault", "vault"])
            .expect_code(1);
        let out = human.stdout_str();
        human.ensure(
            out.contains(&format!("damaged: maps/{a}.map")) && out.contains(&id_a),
            "names the object and the seal",
        );
    }
}

#[test]
fn fsck_reports_a_missing_object_and_the_seal_that_needs_it() {
    let env = TestEnv::new();
    let ([_, id_b], [_, b]) = two_releases(&env);
    std::fs::remove_file(env.vault("vault").map_path(&b)).expect("rm object");
    let j = fsck_json(&env, 1);
    let (object, problem, affects) = only_damage(&j);
    assert_eq!(object, format!("maps/{b}.map"), "{j}");
    assert_eq!(problem, "missing", "{j}");
    assert_eq!(
        affects,
        [(id_b, vec!["b.js".to_owned(), "b.js.map".to_owned()])],
        "{j}"
    );
    assert_eq!(j["objects"], 1, "{j}");
}

#[cfg(unix)]
#[test]
fn fsck_never_follows_a_symlink_in_maps_and_calls_it_damage() {
    let env = TestEnv::new();
    let ([id_a, _], [a, _]) = two_releases(&env);
    // The object replaced by a link to a file with the right bytes: still damage (a vault
    // object is a regular file; a link could point anywhere, and is never followed).
    let p = env.vault("vault").map_path(&a);
    let good = env.write("elsewhere.map", std::fs::read(&p).expect("read"));
    std::fs::remove_file(&p).expect("rm");
    std::os::unix::fs::symlink(&good, &p).expect("symlink");
    let j = fsck_json(&env, 1);
    let (object, problem, affects) = only_damage(&j);
    assert_eq!(object, format!("maps/{a}.map"), "{j}");
    assert_eq!(problem, "not_regular", "{j}");
    assert_eq!(
        affects,
        [(id_a, vec!["a.js".to_owned(), "a.js.map".to_owned()])],
        "{j}"
    );
    let reason = j["damaged"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("symbolic link"), "{j}");
    // A link to a FIFO must not hang it either: a FIFO named as an object.
    std::fs::remove_file(&p).expect("rm link");
    let made = std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let j = fsck_json(&env, 1);
        assert_eq!(only_damage(&j).1, "not_regular", "{j}");
    }
}

#[test]
fn fsck_reports_a_broken_record_as_damage_and_still_checks_the_rest() {
    let env = TestEnv::new();
    let ([id_a, id_b], [a, _]) = two_releases(&env);
    let rec = env.path(format!("vault/seals/{id_b}.json"));
    crate::harness::set_mode(&rec, 0o600).expect("chmod");
    std::fs::write(
        &rec,
        b"{\"format\":\"mapvault-seal\",\"version\":2,\"seal\":{",
    )
    .expect("break");
    let j = fsck_json(&env, 1);
    let bad = j["bad_records"].as_array().expect("bad_records");
    assert_eq!(bad.len(), 1, "{j}");
    assert_eq!(bad[0]["path"], format!("seals/{id_b}.json"), "{j}");
    assert_eq!(j["records"], 1, "A's record still read: {j}");
    assert_eq!(j["damaged"].as_array().map(Vec::len), Some(0), "{j}");
    // B's map is needed by no readable record now: a note, not damage.
    let unref = j["unreferenced"].as_array().expect("unreferenced");
    assert_eq!(unref.len(), 1, "{j}");
    assert_ne!(unref[0]["object"], format!("maps/{a}.map"), "{j}");
    // And damage to A's object is still found beside it.
    std::fs::remove_file(env.vault("vault").map_path(&a)).expect("rm");
    let j = fsck_json(&env, 1);
    assert_eq!(only_damage(&j).2[0].0, id_a, "{j}");
}

#[test]
fn fsck_notes_unreferenced_objects_and_fails_without_a_vault() {
    let env = TestEnv::new();
    let _ = two_releases(&env);
    let stray = b"{\"version\":3,\"sources\":[],\"mappings\":\"\"}";
    let sha = sha256_hex(stray);
    env.write(format!("vault/maps/{sha}.map"), stray);
    env.write("vault/maps/README", "not an object");
    let j = fsck_json(&env, 0);
    assert_eq!(
        j["clean"], true,
        "an unreferenced object is not damage: {j}"
    );
    assert_eq!(
        j["unreferenced"],
        serde_json::json!([{"object": format!("maps/{sha}.map"), "bytes": stray.len()}]),
        "{j}"
    );
    assert!(j["notes"].to_string().contains("maps/README"), "{j}");
    // No vault: it could not be checked (2), and says so in JSON.
    let j = env
        .mapvault(["vault", "fsck", "--vault", "nope", "--format", "json"])
        .expect_code(2)
        .json();
    assert!(j.to_string().contains("does not exist"), "{j}");
}

/// Three builds of `dist` sealed one after the other (A is unsealed before B is built, so it
/// has an unsealed marker). Returns the record ids and the maps' sha256, oldest first.
fn three_releases(env: &TestEnv) -> (Vec<String>, Vec<String>) {
    let mut shas = Vec::new();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        if i > 0 {
            std::fs::remove_dir_all(env.path("dist")).expect("rm -rf dist");
        }
        shas.push(sha256_hex(build(env, "dist", name).as_bytes()));
        env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
        if i == 0 {
            env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
        }
    }
    let ids: Vec<String> = env
        .vault("vault")
        .record_files()
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    (ids, shas)
}

fn prune(env: &TestEnv, args: &[&str]) -> crate::harness::TestCommand {
    let mut c = env.mapvault(["vault", "prune", "--vault", "vault", "--format", "json"]);
    c.args(args).env("MAPVAULT_PRUNE_GRACE_SECS", "0");
    c
}

fn ids_of(j: &serde_json::Value) -> Vec<String> {
    j["seals_removed"]
        .as_array()
        .expect("seals_removed")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn prune_keep_last_removes_old_records_markers_and_only_their_objects() {
    let env = TestEnv::new();
    let (ids, shas) = three_releases(&env);
    let v = env.vault("vault");
    assert_eq!(v.unsealed_ids(), [ids[0].clone()]);
    // --dry-run: says what would go, removes nothing.
    let before = env.snapshot("vault");
    let j = prune(&env, &["--keep-last", "1", "--dry-run"]).ok().json();
    assert_eq!(j["dry_run"], true, "{j}");
    assert_eq!(ids_of(&j), ids[..2], "{j}");
    assert_eq!(
        j["objects_removed"].as_array().map(Vec::len),
        Some(2),
        "{j}"
    );
    before.assert_same(&env.snapshot("vault"), Level::Untouched, "a dry run");
    // For real.
    let j = prune(&env, &["--keep-last", "1"]).ok().json();
    assert_eq!(ids_of(&j), ids[..2], "{j}");
    assert_eq!(j["seals_kept"], 1, "{j}");
    let removed: Vec<&str> = j["objects_removed"]
        .as_array()
        .expect("objects_removed")
        .iter()
        .filter_map(|o| o["object"].as_str())
        .collect();
    let mut want = [
        format!("maps/{}.map", shas[0]),
        format!("maps/{}.map", shas[1]),
    ];
    want.sort();
    assert_eq!(removed, want, "{j}");
    assert_eq!(
        v.record_files()
            .into_iter()
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        [ids[2].clone()]
    );
    assert!(
        v.unsealed_ids().is_empty(),
        "A's unsealed marker went with it"
    );
    assert!(!v.holds(&shas[0]) && !v.holds(&shas[1]) && v.holds(&shas[2]));
    // The vault is whole, and the kept release still unseals.
    assert_eq!(fsck_json(&env, 0)["unreferenced"], serde_json::json!([]));
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    assert_eq!(env.read("dist/c.js.map"), v.map(&shas[2]).expect("c's map"));
    // Nothing more to do.
    let j = prune(&env, &["--keep-last", "1"]).ok().json();
    assert_eq!(ids_of(&j), Vec::<String>::new(), "{j}");
}

#[test]
fn prune_keeps_an_object_a_remaining_seal_needs_and_young_unreferenced_ones() {
    let env = TestEnv::new();
    // The same build sealed twice: both records need the one map.
    let map = build(&env, "dist", "a");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let sha = sha256_hex(map.as_bytes());
    let j = prune(&env, &["--keep-last", "1"]).ok().json();
    assert_eq!(ids_of(&j).len(), 1, "{j}");
    assert_eq!(j["objects_removed"], serde_json::json!([]), "{j}");
    assert!(
        env.vault("vault").holds(&sha),
        "the kept seal's map was removed"
    );
    // Without the test override the grace period is an hour: a fresh unreferenced object stays.
    let stray = b"{\"version\":3,\"sources\":[],\"mappings\":\"\"}";
    let stray_sha = sha256_hex(stray);
    env.write(format!("vault/maps/{stray_sha}.map"), stray);
    let j = env
        .mapvault([
            "vault",
            "prune",
            "--vault",
            "vault",
            "--keep-last",
            "1",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(j["objects_kept_young"], 1, "{j}");
    assert!(env.vault("vault").holds(&stray_sha));
    assert!(j["notes"].to_string().contains("grace"), "{j}");
    // Older than the grace period: removed.
    let j = prune(&env, &["--keep-last", "1"]).ok().json();
    assert_eq!(
        j["objects_removed"],
        serde_json::json!([{"object": format!("maps/{stray_sha}.map"), "bytes": stray.len()}]),
        "{j}"
    );
}

#[test]
fn prune_older_than_and_dist_select_only_those_seals() {
    let env = TestEnv::new();
    let (ids, _) = three_releases(&env);
    // Another dist in the same vault.
    build(&env, "other", "o");
    env.mapvault(["seal", "other", "--vault", "vault"]).ok();
    // A's record says it was sealed in 2020 (records are write-once; a test may age one).
    let p = env.path(format!("vault/seals/{}.json", ids[0]));
    let mut rec: serde_json::Value = serde_json::from_slice(&env.read(&p)).expect("record");
    rec["seal"]["sealed_at"] = "2020-01-01T00:00:00Z".into();
    std::fs::write(&p, serde_json::to_vec(&rec).expect("json")).expect("age the record");
    let j = prune(&env, &["--older-than", "30days"]).ok().json();
    assert_eq!(ids_of(&j), [ids[0].clone()], "{j}");
    // --dist: the other dist's only seal is never touched by a prune of dist.
    let j = prune(&env, &["--keep-last", "1", "--dist", "dist"])
        .ok()
        .json();
    assert_eq!(ids_of(&j), [ids[1].clone()], "{j}");
    let left = env.vault("vault").record_files().len();
    assert_eq!(left, 2, "dist's newest and other's only seal");
    // Both criteria: a seal goes only when both select it (nothing is 30 days old now).
    let j = prune(
        &env,
        &[
            "--keep-last",
            "1",
            "--older-than",
            "30days",
            "--dist",
            "other",
        ],
    )
    .ok()
    .json();
    assert_eq!(ids_of(&j), Vec::<String>::new(), "{j}");
    // Neither criterion: a usage error.
    env.mapvault(["vault", "prune", "--vault", "vault"])
        .expect_code(2);
    env.mapvault(["vault", "prune", "--vault", "vault", "--keep-last", "0"])
        .expect_code(2);
}

#[test]
fn prune_refuses_with_an_unreadable_record_or_an_unfinished_journal() {
    let env = TestEnv::new();
    let (ids, _) = three_releases(&env);
    let p = env.path(format!("vault/seals/{}.json", ids[2]));
    let good = env.read(&p);
    std::fs::write(&p, b"{").expect("break the newest record");
    let before = env.snapshot("vault");
    let run = prune(&env, &["--keep-last", "1"]).expect_code(2);
    run.ensure(run.stdout_str().contains(&ids[2]), "names the record");
    before.assert_same(&env.snapshot("vault"), Level::Untouched, "a refused prune");
    std::fs::write(&p, good).expect("mend it");
    env.write("vault/journal.json", "{}");
    let run = prune(&env, &["--keep-last", "1"]).expect_code(2);
    run.ensure(run.stdout_str().contains("interrupted"), "says why");
    assert_eq!(env.vault("vault").record_files().len(), 3);
}

#[test]
fn prune_crashed_at_any_point_loses_nothing_a_kept_seal_needs_and_a_rerun_finishes() {
    let expected = {
        let env = TestEnv::new();
        let (ids, shas) = three_releases(&env);
        prune(&env, &["--keep-last", "1"]).ok();
        (ids, shas)
    };
    let mut fired = Vec::new();
    for point in ["prune-record", "prune-after-records", "prune-object"] {
        for n in 1..=10 {
            let spec = format!("{point}:{n}");
            let env = TestEnv::new();
            let (ids, shas) = three_releases(&env);
            assert_eq!(ids.len(), expected.0.len());
            let run = prune(&env, &["--keep-last", "1"])
                .env("MAPVAULT_FAILPOINT", &spec)
                .ulimit("-c", 0)
                .run();
            if run.code == Some(0) {
                break;
            }
            run.ensure(run.code.is_none(), format!("crashed at {spec}"));
            fired.push(spec.clone());
            // Whatever is left is whole: every remaining record's objects are there.
            let j = fsck_json(&env, 0);
            assert_eq!(j["clean"], true, "after a crash at {spec}: {j}");
            // A re-run finishes the job.
            prune(&env, &["--keep-last", "1"]).ok();
            let v = env.vault("vault");
            assert_eq!(
                v.record_files()
                    .into_iter()
                    .map(|r| r.0)
                    .collect::<Vec<_>>(),
                [ids[2].clone()],
                "{spec}"
            );
            assert!(v.unsealed_ids().is_empty(), "{spec}");
            assert_eq!(
                v.maps().into_keys().collect::<Vec<_>>(),
                [shas[2].clone()],
                "{spec}"
            );
        }
    }
    for p in ["prune-record:2", "prune-after-records:1", "prune-object:2"] {
        assert!(fired.iter().any(|f| f == p), "{p} never fired: {fired:?}");
    }
}

/// The one index file of `vault` (`index/<id>.json`), by id.
fn index_files(env: &TestEnv) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(env.path("vault/index"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let id = name.strip_suffix(".json").unwrap_or(&name).to_owned();
                    (id, std::fs::read(e.path()).expect("read index"))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn resolve_a(env: &TestEnv) -> serde_json::Value {
    env.mapvault([
        "resolve", "--vault", "vault", "--format", "json", "a.js:1:1",
    ])
    .ok()
    .json()
}

#[test]
fn readers_build_each_seals_index_once_and_never_trust_a_corrupt_one() {
    let env = TestEnv::new();
    // A map carrying its own debug ID: found through the index, without reading the map.
    let id = "85314830-023f-4cf1-a267-535f4e37bb17";
    env.write("dist/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    env.write(
        "dist/a.js.map",
        format!(
            r#"{{"version":3,"debugId":"{id}","sources":["a.ts"],"names":[],"mappings":"AAAA"}}"#
        ),
    );
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let recs = env.vault("vault").record_files();
    assert!(index_files(&env).is_empty(), "seal writes no index");
    let j = resolve_a(&env);
    assert_eq!(j["frames"][0]["original"]["source"], "a.ts", "{j}");
    let built = index_files(&env);
    assert_eq!(built.len(), 1, "the first reader writes the index");
    assert_eq!(built[0].0, recs[0].0, "named after its record");
    let ix: serde_json::Value = serde_json::from_slice(&built[0].1).expect("index is JSON");
    assert_eq!(ix["format"], "mapvault-index");
    assert_eq!(ix["record_sha256"], sha256_hex(&recs[0].1));
    assert_eq!(
        ix["body"]["map_debug_ids"]
            .as_object()
            .map(|m| m.values().cloned().collect::<Vec<_>>()),
        Some(vec![serde_json::json!(id)]),
        "{ix}"
    );
    // Later readers leave it as it is.
    let by_id = env
        .mapvault([
            "resolve",
            "--vault",
            "vault",
            "--format",
            "json",
            &format!("{id}:1:1"),
        ])
        .ok()
        .json();
    assert_eq!(
        by_id["frames"][0]["bundle"]["matched_by"], "debug-id",
        "{by_id}"
    );
    assert_eq!(index_files(&env), built);

    // Corrupt it: a body that no longer hashes right (another map named), then junk. Each
    // time the record wins, and the file is rebuilt as it was.
    let p = env.path(format!("vault/index/{}.json", built[0].0));
    let text = String::from_utf8(built[0].1.clone()).expect("utf-8");
    let map_sha = ix["body"]["entries"][0]["map"]
        .as_str()
        .expect("map")
        .to_owned();
    for bad in [
        text.replace(&map_sha, &"0".repeat(64)),
        "{\"format\":".to_string(),
    ] {
        std::fs::write(&p, bad).expect("corrupt the index");
        let j = resolve_a(&env);
        assert_eq!(j["frames"][0]["original"]["source"], "a.ts", "{j}");
        assert_eq!(j["frames"][0]["map"]["sha256"], map_sha.as_str(), "{j}");
        assert_eq!(index_files(&env), built, "rebuilt from the record");
    }
    // A vault that lost its index works as before (and gets it back).
    std::fs::remove_dir_all(env.path("vault/index")).expect("rm index");
    let out = env.path("out");
    env.mapvault([
        "export",
        "--vault",
        "vault",
        "--out",
        out.to_str().expect("utf-8"),
    ])
    .ok();
    assert!(env.path("out/a.js.map").is_file());
    assert_eq!(index_files(&env), built);
}

#[test]
fn fsck_rebuilds_a_missing_or_disagreeing_index_and_prune_removes_a_pruned_seals() {
    let env = TestEnv::new();
    let (ids, _) = three_releases(&env);
    env.mapvault(["vault", "list", "--vault", "vault"]).ok();
    let built = index_files(&env);
    assert_eq!(
        built.iter().map(|b| b.0.clone()).collect::<Vec<_>>(),
        ids,
        "vault list builds every index"
    );
    // A well-formed index that disagrees with its record (its body re-hashed): readers cannot
    // tell, fsck does, and rebuilds it; a missing one is rebuilt quietly. Neither is damage.
    let p = env.path(format!("vault/index/{}.json", ids[1]));
    let mut ix: serde_json::Value = serde_json::from_slice(&built[1].1).expect("JSON");
    // Both copies of the counts: the body's and the head's (what `vault list` reads).
    ix["body"]["info"]["files"] = serde_json::json!(999);
    ix["head"]["info"]["files"] = serde_json::json!(999);
    let body = serde_json::to_vec(&ix["body"]).expect("body");
    ix["body_sha256"] = serde_json::json!(sha256_hex(&body));
    let head = serde_json::to_vec(&ix["head"]).expect("head");
    ix["head_sha256"] = serde_json::json!(sha256_hex(&head));
    std::fs::write(&p, serde_json::to_vec(&ix).expect("index")).expect("forge the index");
    let forged = env
        .mapvault(["vault", "list", "--vault", "vault", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        forged["seals"][1]["files"], 999,
        "a well-formed index is read: {forged}"
    );
    std::fs::remove_file(env.path(format!("vault/index/{}.json", ids[2]))).expect("rm");
    let j = fsck_json(&env, 0);
    let notes = j["notes"].to_string();
    assert!(
        notes.contains(&format!("index/{}.json did not match its record", ids[1])),
        "{j}"
    );
    assert_eq!(j["notes"].as_array().map(Vec::len), Some(1), "{j}");
    assert_eq!(index_files(&env), built, "fsck put both right");
    assert_eq!(
        fsck_json(&env, 0)["notes"],
        serde_json::json!([]),
        "and then has nothing to say"
    );

    // Prune: the pruned seals' indexes go with their records (a dry run removes none).
    prune(&env, &["--keep-last", "1", "--dry-run"]).ok();
    assert_eq!(index_files(&env), built);
    prune(&env, &["--keep-last", "1"]).ok();
    assert_eq!(
        index_files(&env)
            .into_iter()
            .map(|b| b.0)
            .collect::<Vec<_>>(),
        [ids[2].clone()]
    );
}

#[test]
fn prune_dry_run_only_reads_a_v1_vault_it_does_not_migrate_it() {
    let env = TestEnv::new();
    copy_v1_fixture(&env);
    let before = env.snapshot("v1/vault");
    let j = env
        .mapvault([
            "vault",
            "prune",
            "--vault",
            "v1/vault",
            "--keep-last",
            "1",
            "--dry-run",
            "--format",
            "json",
        ])
        .env("MAPVAULT_PRUNE_GRACE_SECS", "0")
        .ok()
        .json();
    assert_eq!(ids_of(&j).len(), 1, "{j}");
    before.assert_same(
        &env.snapshot("v1/vault"),
        Level::Untouched,
        "a dry run of a v1 vault",
    );
    assert!(env.path("v1/vault/manifest.json").is_file(), "not migrated");
}

/// Damage the body of seal `id`'s index file (its head left as it was): a reader that reads
/// the index whole finds it invalid and writes it again from the record.
fn damage_index_body(env: &TestEnv, id: &str) -> Vec<u8> {
    let p = env.path(format!("vault/index/{id}.json"));
    let text = String::from_utf8(env.read(&p)).expect("utf-8");
    let at = text.find(",\"body\":").expect("a head, then the body");
    let (head, body) = text.split_at(at);
    let damaged = format!("{head}{}", body.replacen("\"map\":\"", "\"map\":\"0", 1));
    assert_ne!(damaged, text, "the body names a map");
    std::fs::write(&p, &damaged).expect("damage the index");
    damaged.into_bytes()
}

#[test]
fn readers_read_the_catalogs_of_the_seals_they_need_not_the_whole_history() {
    let env = TestEnv::new();
    let (ids, shas) = three_releases(&env);
    env.mapvault(["vault", "list", "--vault", "vault"]).ok();
    let built = index_files(&env);
    assert_eq!(built.len(), 3, "every index written");
    let damaged: Vec<Vec<u8>> = ids.iter().map(|id| damage_index_body(&env, id)).collect();
    let file_of = |id: &str| env.read(env.path(format!("vault/index/{id}.json")));
    // `vault list` reads heads only: no body is read (a damaged one would be rewritten).
    let list = env
        .mapvault(["vault", "list", "--vault", "vault", "--format", "json"])
        .ok()
        .json();
    assert_eq!(list["seals"].as_array().map(Vec::len), Some(3), "{list}");
    for (id, bad) in ids.iter().zip(&damaged) {
        assert_eq!(&file_of(id), bad, "vault list read {id}'s body");
    }
    // Export of the latest release reads its catalog only (and it is put right first).
    let out = env.path("out");
    let j = env
        .mapvault([
            "export",
            "--vault",
            "vault",
            "--out",
            out.to_str().expect("utf-8"),
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(j["seals"], serde_json::json!([ids[2]]), "{j}");
    assert!(
        env.path("out/c.js.map").is_file() && !env.path("out/a.js.map").exists(),
        "release C's map only"
    );
    assert_eq!(
        file_of(&ids[2]),
        built[2].1,
        "the exported seal's index rebuilt"
    );
    assert_eq!(
        file_of(&ids[0]),
        damaged[0],
        "export read release A's catalog"
    );
    assert_eq!(
        file_of(&ids[1]),
        damaged[1],
        "export read release B's catalog"
    );
    // Resolve of the latest build's file: that seal, and the one before it (for the note
    // that older seals of a file have other maps); never the first.
    let r = env
        .mapvault([
            "resolve", "--vault", "vault", "--format", "json", "c.js:1:1",
        ])
        .ok()
        .json();
    assert_eq!(r["frames"][0]["map"]["sha256"], shas[2].as_str(), "{r}");
    assert_eq!(
        file_of(&ids[0]),
        damaged[0],
        "resolve read release A's catalog"
    );
    // A file only the first release has: found by walking back to it.
    let r = resolve_a(&env);
    assert_eq!(r["frames"][0]["map"]["sha256"], shas[0].as_str(), "{r}");
    assert_eq!(
        index_files(&env),
        built,
        "every index read whole was put right"
    );
}

#[test]
fn resolve_answers_from_the_newest_seal_that_holds_the_file() {
    let env = TestEnv::new();
    let release = |src: &str| {
        env.write("dist/app.js", "app();\n//# sourceMappingURL=app.js.map\n");
        env.write("dist/app.js.map", map_json(src));
        env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    };
    release("one.ts");
    // The deployed (sealed) bundle of release one, kept aside.
    env.write("deployed/app.js", env.read("dist/app.js"));
    std::fs::remove_dir_all(env.path("dist")).expect("rm -rf dist");
    env.write("dist/app.js", "app(2);\n//# sourceMappingURL=app.js.map\n");
    env.write("dist/app.js.map", map_json("two.ts"));
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let resolve = |what: &str| {
        env.mapvault(["resolve", "--vault", "vault", "--format", "json", what])
            .ok()
            .json()
    };
    // By path: the newest seal's map, and a note that an older one had another.
    let j = resolve("https://cdn.example/app.js:1:1");
    assert_eq!(j["frames"][0]["original"]["source"], "two.ts", "{j}");
    assert!(
        j["frames"][0]["note"]
            .as_str()
            .is_some_and(|n| n.contains("older seals of this file")),
        "{j}"
    );
    // By the deployed bytes of release one: its own map, from the older seal.
    let deployed = env.path("deployed/app.js");
    let j = resolve(&format!("{}:1:1", deployed.display()));
    assert_eq!(j["frames"][0]["original"]["source"], "one.ts", "{j}");
    assert_eq!(j["frames"][0]["bundle"]["matched_by"], "sha256", "{j}");
}
