//! Concurrent runs: two `seal`s of one dist, two `seal`s of different dists sharing one vault,
//! and `seal` racing `unseal`. The advisory locks (the dist's directory, the vault's `lock`)
//! make the second run wait (or exit 2 with a message after `LOCK_WAIT`); whatever the
//! interleaving, nothing is corrupted: the dist verifies clean, no map is lost, and `unseal`
//! gives back the original byte for byte.

use std::thread;

use crate::harness::{Level, Run, TestCommand, TestEnv, assert_no_map_lost};

/// Fixture copies under `rel`: enough files that two runs overlap.
fn big_dist(env: &TestEnv, rel: &str, copies: usize) {
    for i in 0..copies {
        env.copy_fixture("vite-compressed", format!("{rel}/v{i}"));
        env.copy_fixture("webpack-inline-source-map", format!("{rel}/w{i}"));
    }
}

/// Run every command at once (one thread each) and return their runs.
fn at_once(cmds: Vec<TestCommand>) -> Vec<Run> {
    thread::scope(|s| {
        let hs: Vec<_> = cmds.iter().map(|c| s.spawn(|| c.run())).collect();
        hs.into_iter()
            .map(|h| h.join().expect("a runner thread panicked"))
            .collect()
    })
}

/// Exit 0, or exit 2 saying another mapvault holds the lock (or, for an unseal that ran before
/// any seal, that there is no vault yet); never anything else.
#[track_caller]
fn done_or_refused(run: &Run) {
    let err = run.stderr_str();
    match run.code {
        Some(0) => {}
        Some(2) if err.contains("in use by another mapvault") => {}
        Some(2) if run.cmdline.contains("unseal") && err.contains("does not exist") => {}
        _ => run.fail("a concurrent run must finish or exit 2 naming the lock"),
    }
}

#[test]
fn two_seals_of_one_dist_never_corrupt_it() {
    for round in 0..4 {
        let env = TestEnv::new();
        big_dist(&env, "dist", 3);
        let orig = env.snapshot("dist");
        let mut seal = env.command();
        seal.args(["seal", "dist", "--vault", "vault"]);
        let runs = at_once(vec![seal.clone(), seal.clone()]);
        for r in &runs {
            done_or_refused(r);
        }
        assert!(
            runs.iter().any(|r| r.code == Some(0)),
            "round {round}: neither seal finished"
        );
        env.mapvault(["verify", "dist"]).ok();
        assert_no_map_lost(
            &orig,
            &env.snapshot("dist"),
            &env.vault("vault"),
            "two seals",
        );
        let seals = env.vault("vault").sealed_dists();
        assert!(
            !seals.is_empty() && seals.len() <= 2,
            "round {round}: {} seal records",
            seals.len()
        );
        env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
        orig.assert_same(
            &env.snapshot("dist"),
            Level::Restored,
            "unseal after two seals",
        );
    }
}

#[test]
fn two_seals_of_different_dists_sharing_a_vault_never_corrupt_it() {
    for _ in 0..3 {
        let env = TestEnv::new();
        big_dist(&env, "one", 2);
        big_dist(&env, "two", 2);
        let (o1, o2) = (env.snapshot("one"), env.snapshot("two"));
        let mut a = env.command();
        a.args(["seal", "one", "--vault", "vault"]);
        let mut b = env.command();
        b.args(["seal", "two", "--vault", "vault"]);
        let runs = at_once(vec![a, b]);
        for r in &runs {
            r.ensure(r.code == Some(0), "both seals finish (the second waits)");
        }
        env.mapvault(["verify", "one", "two"]).ok();
        let vault = env.vault("vault");
        // Every stored object is named by its hash (maps() checks).
        let _ = vault.maps();
        assert_eq!(vault.sealed_dists().len(), 2, "both seals recorded");
        assert_no_map_lost(&o1, &env.snapshot("one"), &vault, "one");
        assert_no_map_lost(&o2, &env.snapshot("two"), &vault, "two");
        env.mapvault(["unseal", "one", "--vault", "vault"]).ok();
        o1.assert_same(&env.snapshot("one"), Level::Restored, "unseal one");
        // Unsealing one left everything the other needs.
        env.mapvault(["unseal", "two", "--vault", "vault"]).ok();
        o2.assert_same(&env.snapshot("two"), Level::Restored, "unseal two");
    }
}

#[test]
fn many_seals_and_unseals_racing_on_one_dist_end_consistent() {
    let env = TestEnv::new();
    big_dist(&env, "dist", 2);
    let orig = env.snapshot("dist");
    let mut seal = env.command();
    seal.args(["seal", "dist", "--vault", "vault"]);
    let mut unseal = env.command();
    unseal.args(["unseal", "dist", "--vault", "vault"]);
    let runs = at_once(vec![
        seal.clone(),
        unseal.clone(),
        seal.clone(),
        unseal.clone(),
        seal,
    ]);
    for r in &runs {
        done_or_refused(r);
    }
    assert_no_map_lost(
        &orig,
        &env.snapshot("dist"),
        &env.vault("vault"),
        "racing runs",
    );
    // Whatever order they ran in, one more seal gives a clean dist and unseal the original.
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    env.mapvault(["verify", "dist"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    orig.assert_same(&env.snapshot("dist"), Level::Restored, "after racing runs");
}

/// Hold the lock a running mapvault would take (the dist directory, or `VAULT/lock`) while a
/// `seal` starts: it must wait — print so, change nothing — and finish once the lock is free.
fn seal_waits_for(lock_path: &str, env: &TestEnv, what: &str) {
    let orig = env.snapshot("dist");
    let f = std::fs::File::open(env.path(lock_path)).expect("open the lock");
    f.lock().expect("take the lock");
    let mut seal = env.command();
    seal.args(["seal", "dist", "--vault", "vault"]);
    // It must say what it waits for; once it has, it cannot get past the lock.
    let run = seal.run_until_stderr(
        &format!("waiting for another mapvault using {what}"),
        || {
            orig.assert_same(
                &env.snapshot("dist"),
                Level::Untouched,
                "a seal waiting for the lock",
            );
            f.unlock().expect("release the lock");
        },
    );
    run.ensure(
        run.code == Some(0),
        "the seal finishes once the lock is free",
    );
    env.mapvault(["verify", "dist"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    orig.assert_same(&env.snapshot("dist"), Level::Restored, "unseal");
}

#[test]
fn a_seal_waits_while_another_process_holds_the_dist() {
    let env = TestEnv::new();
    env.copy_fixture("esbuild", "dist");
    seal_waits_for("dist", &env, "dist");
}

#[test]
fn a_seal_waits_while_another_process_holds_the_vault() {
    let env = TestEnv::new();
    env.copy_fixture("rollup", "other");
    env.mapvault(["seal", "other", "--vault", "vault"]).ok();
    env.copy_fixture("esbuild", "dist");
    seal_waits_for("vault/lock", &env, "vault");
}

/// Past `LOCK_WAIT` (30 s) the waiting run gives up: exit 2, a message, nothing changed.
#[test]
fn a_seal_gives_up_after_the_lock_wait_with_exit_2() {
    if std::env::var_os("MAPVAULT_LONG_TESTS").is_none_or(|v| v != "1") {
        crate::harness::say("skipped: set MAPVAULT_LONG_TESTS=1 for the 30 s lock-timeout test");
        return;
    }
    let env = TestEnv::new();
    env.copy_fixture("esbuild", "dist");
    let orig = env.snapshot("dist");
    let f = std::fs::File::open(env.path("dist")).expect("open dist");
    f.lock().expect("lock dist");
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault"])
        .expect_code(2);
    run.ensure(
        run.stderr_str()
            .contains("is in use by another mapvault process"),
        "the message says why",
    );
    orig.assert_same(
        &env.snapshot("dist"),
        Level::Untouched,
        "a seal that gave up",
    );
}

/// A dist and a directory inside it sealed at once into *different* vaults: the locks do not
/// serialize them (different directories, different vaults), so they may trip over each other
/// and report errors (exit 2) — but no map is lost, and unsealing both, in either order, gives
/// back the original.
#[test]
fn nested_dists_sealed_at_once_into_different_vaults_lose_nothing() {
    for round in 0..4 {
        let env = TestEnv::new();
        big_dist(&env, "x/sub", 2);
        big_dist(&env, "x", 1);
        let orig = env.snapshot("x");
        let mut outer = env.command();
        outer.args(["seal", "x", "--vault", "v1"]);
        let mut inner = env.command();
        inner.args(["seal", "x/sub", "--vault", "v2"]);
        for r in at_once(vec![outer, inner]) {
            r.ensure(
                r.code == Some(0) || r.code == Some(2),
                "exit 0, or 2 with per-file errors; never a crash or a leak left silently",
            );
        }
        let now = env.snapshot("x");
        let lost: Vec<String> = orig
            .nodes
            .iter()
            .filter(|(p, n)| p.contains(".map") && !n.sha256.is_empty())
            .filter(|(_, n)| {
                !now.nodes.values().any(|m| m.sha256 == n.sha256)
                    && !env.vault("v1").holds(&n.sha256)
                    && !env.vault("v2").holds(&n.sha256)
            })
            .map(|(p, _)| p.clone())
            .collect();
        assert!(lost.is_empty(), "round {round}: maps lost: {lost:?}");
        let order: [(&str, &str); 2] = if round % 2 == 0 {
            [("x/sub", "v2"), ("x", "v1")]
        } else {
            [("x", "v1"), ("x/sub", "v2")]
        };
        for (dist, vault) in order {
            env.mapvault(["unseal", dist, "--vault", vault]).ok();
        }
        orig.assert_same(&env.snapshot("x"), Level::Restored, "both unsealed");
    }
}
