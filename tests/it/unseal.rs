//! `mapvault unseal DIST [--vault DIR] [--format …]`: restores bytes, modes and mtimes, marks
//! only its own seal unsealed and keeps every record and object (several dists may share a
//! vault), and is a no-op when there is nothing to do. More in `vault.rs`.

use crate::harness::{Level, TestEnv, sha256_hex};

const SHARED_MAP: &str =
    r#"{"version":3,"sources":["shared.src.js"],"names":[],"mappings":"AAAA"}"#;

fn dist_with_own_and_shared_map(env: &TestEnv, rel: &str) -> String {
    let own = format!(r#"{{"version":3,"sources":["{rel}.src.js"],"names":[],"mappings":"AAAA"}}"#);
    env.write(
        format!("{rel}/own.js"),
        "own();\n//# sourceMappingURL=own.js.map\n",
    );
    env.write(format!("{rel}/own.js.map"), &own);
    env.write(
        format!("{rel}/shared.js"),
        "shared();\n//# sourceMappingURL=shared.js.map\n",
    );
    env.write(format!("{rel}/shared.js.map"), SHARED_MAP);
    own
}

#[test]
fn unseal_restores_modes_and_mtimes_of_moved_and_edited_files() {
    let env = TestEnv::new();
    dist_with_own_and_shared_map(&env, "dist");
    env.set_mode("dist/own.js.map", 0o600);
    env.set_mtime("dist/own.js.map", 1_000_000_000, 1);
    env.set_mode("dist/own.js", 0o755);
    env.set_mtime("dist/own.js", 1_100_000_000, 999_999_999);
    let before = env.snapshot("dist");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(&env.snapshot("dist"), Level::Restored, "unseal");
}

#[test]
fn unseal_with_nothing_to_do_exits_0_and_changes_nothing() {
    let env = TestEnv::new();
    dist_with_own_and_shared_map(&env, "dist");
    dist_with_own_and_shared_map(&env, "other");
    let before = env.snapshot("dist");
    // The vault knows another dist, not this one.
    env.mapvault(["seal", "other", "--vault", "vault"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(
        &env.snapshot("dist"),
        Level::Untouched,
        "unseal of a never-sealed dist",
    );
    assert_eq!(
        env.vault("vault").sealed_dists(),
        [env.path("other").display().to_string()],
        "the other dist's record must stay"
    );
    // Sealed and unsealed already.
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    let restored = env.snapshot("dist");
    before.assert_same(&restored, Level::Restored, "seal + unseal");
    env.mapvault(["unseal", "dist", "--vault", "vault", "--format", "json"])
        .ok()
        .json();
    restored.assert_same(&env.snapshot("dist"), Level::Untouched, "second unseal");
}

#[test]
fn unseal_with_a_missing_vault_exits_2_and_creates_nothing() {
    let env = TestEnv::new();
    dist_with_own_and_shared_map(&env, "dist");
    let before = env.snapshot("");
    let run = env
        .mapvault(["unseal", "dist", "--vault", "vault"])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("vault"),
        "the error names the missing vault",
    );
    before.assert_same(&env.snapshot(""), Level::Untouched, "unseal with no vault");
}

#[test]
fn unseal_marks_its_record_unsealed_and_keeps_it() {
    let env = TestEnv::new();
    dist_with_own_and_shared_map(&env, "dist");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let dist = env.path("dist").display().to_string();
    let vault = env.vault("vault");
    assert_eq!(
        vault.sealed_dists(),
        std::slice::from_ref(&dist),
        "one seal record for the dist"
    );
    let ids: Vec<String> = vault.record_files().into_iter().map(|r| r.0).collect();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    assert_eq!(
        vault.sealed_dists(),
        std::slice::from_ref(&dist),
        "unseal dropped the dist's record"
    );
    assert_eq!(vault.unsealed_ids(), ids, "the record is marked unsealed");
}

#[test]
fn two_dists_share_a_vault_and_unsealing_one_keeps_the_others_maps() {
    let env = TestEnv::new();
    let own_a = dist_with_own_and_shared_map(&env, "a");
    let own_b = dist_with_own_and_shared_map(&env, "b");
    let (before_a, before_b) = (env.snapshot("a"), env.snapshot("b"));
    env.mapvault(["seal", "a", "--vault", "vault"]).ok();
    env.mapvault(["seal", "b", "--vault", "vault"]).ok();
    let vault = env.vault("vault");
    let dist_b = env.path("b").display().to_string();
    let sealed_b = env.snapshot("b");

    env.mapvault(["unseal", "a", "--vault", "vault"]).ok();
    before_a.assert_same(&env.snapshot("a"), Level::Restored, "unseal a");
    sealed_b.assert_same(&env.snapshot("b"), Level::Untouched, "b while unsealing a");
    let dist_a = env.path("a").display().to_string();
    assert_eq!(
        vault.sealed_dists(),
        [dist_a, dist_b],
        "both records stay (append-only)"
    );
    let ids: Vec<String> = vault.record_files().into_iter().map(|r| r.0).collect();
    assert_eq!(
        vault.unsealed_ids(),
        [ids[0].clone()],
        "only a's is marked unsealed"
    );
    for (what, bytes) in [
        ("b's own map", own_b.as_str()),
        ("the map a and b share", SHARED_MAP),
    ] {
        assert!(
            vault.map(&sha256_hex(bytes.as_bytes())).is_some(),
            "unsealing a removed {what} from the vault"
        );
    }
    let _ = own_a;

    env.mapvault(["unseal", "b", "--vault", "vault"]).ok();
    before_b.assert_same(&env.snapshot("b"), Level::Restored, "unseal b");
}

#[test]
fn unseal_with_the_wrong_vault_changes_nothing() {
    let env = TestEnv::new();
    dist_with_own_and_shared_map(&env, "dist");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let sealed = env.snapshot("dist");
    let run = env.mapvault(["unseal", "dist", "--vault", "other"]).run();
    run.ensure(
        matches!(run.code, Some(0 | 2)),
        "unseal with a vault that knows nothing of the dist: nothing to do (0) or an error (2)",
    );
    sealed.assert_same(
        &env.snapshot("dist"),
        Level::Untouched,
        "unseal with another vault",
    );
}
