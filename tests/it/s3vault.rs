//! Remote vaults against a real S3 server (moto on 127.0.0.1, `moto.rs`): seal → list → resolve
//! → export → unseal byte-exact, a moved dist, a fresh machine's cache, four concurrent seals
//! into one bucket, crashes (every failpoint, and SIGKILL at moments spread over the upload)
//! followed by a re-run, a server that fails or stalls (the fault proxy), and prune.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::faultproxy::{Fault, FaultProxy};
use crate::harness::{Kind, Level, Snapshot, TestCommand, TestEnv};
use crate::moto::S3Server;

const BUCKET: &str = "mapvault-it";

fn map_json(name: &str, pad: usize) -> String {
    format!(
        r#"{{"version":3,"sources":["src/{name}.ts"],"names":[],"mappings":"AAAA","x_pad":"{}"}}"#,
        "p".repeat(pad)
    )
}

/// A dist of `n` bundles with external maps, one inline map, and (with `big`) a map over the
/// 16 MiB multipart threshold. `tag` makes the maps differ between dists.
fn make_dist(env: &TestEnv, dir: &str, tag: &str, n: usize, big: bool) {
    for i in 0..n {
        env.write(
            format!("{dir}/assets/m{i}.js"),
            format!("f{i}();\n//# sourceMappingURL=m{i}.js.map\n"),
        );
        env.write(
            format!("{dir}/assets/m{i}.js.map"),
            map_json(&format!("{tag}{i}"), 100),
        );
    }
    env.write(
        format!("{dir}/inline.js"),
        "i();\n//# sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozLCJzb3VyY2VzIjpbImkudHMiXSwibWFwcGluZ3MiOiJBQUFBIn0=\n",
    );
    if big {
        env.write(
            format!("{dir}/big.js"),
            "big();\n//# sourceMappingURL=big.js.map\n",
        );
        env.write(format!("{dir}/big.js.map"), map_json("big", 17 << 20));
    }
}

fn mv(env: &TestEnv, s3: &S3Server, args: &[&str]) -> TestCommand {
    let mut c = env.mapvault(args);
    s3.apply(&mut c);
    c
}

fn keys(s3: &S3Server, prefix: &str) -> BTreeSet<String> {
    s3.list_keys(BUCKET, prefix).into_iter().collect()
}

#[test]
fn seal_list_resolve_export_unseal_through_s3_byte_exact() {
    let Some(s3) = S3Server::start("seal_list_resolve_export_unseal_through_s3_byte_exact") else {
        return;
    };
    s3.create_bucket(BUCKET);
    let env = TestEnv::new();
    make_dist(&env, "dist", "a", 3, true);
    let before = env.snapshot("dist");
    let m2 = env.read("dist/assets/m2.js.map");
    let big = env.read("dist/big.js.map");
    let url = S3Server::url(BUCKET, "team/web");
    mv(&env, &s3, &["seal", "dist", "--vault", &url]).ok();
    // Every map is in the bucket under the prefix, one record, the marker.
    let maps = keys(&s3, "team/web/maps/");
    assert_eq!(maps.len(), 5, "{maps:?}");
    assert_eq!(keys(&s3, "team/web/seals/").len(), 1);
    assert!(s3.get_key(BUCKET, "team/web/vault.json").is_some());
    for k in &maps {
        let bytes = s3.get_key(BUCKET, k).expect("object");
        let sha = crate::harness::sha256_hex(&bytes);
        assert!(
            k.ends_with(&format!("{sha}.map")),
            "{k} does not hash to its name"
        );
    }
    let list = mv(
        &env,
        &s3,
        &["vault", "list", "--vault", &url, "--format", "json"],
    )
    .ok();
    assert!(
        list.stdout_str().contains("\"maps\""),
        "{}",
        list.stdout_str()
    );

    // Another machine (an empty cache): resolve and export fetch what they need.
    let mut c = env.mapvault(["resolve", "--vault", &url, "assets/m1.js:1:1"]);
    s3.apply_as(&mut c, "other");
    let r = c.ok();
    assert!(r.stdout_str().contains("src/a1.ts"), "{}", r.stdout_str());
    let mut c = env.mapvault(["export", "--vault", &url, "--out", "exp"]);
    s3.apply_as(&mut c, "other");
    c.ok();
    assert!(env.read("exp/assets/m2.js.map") == m2, "export of m2");
    assert!(
        env.read("exp/big.js.map") == big,
        "export of the multipart map"
    );

    // A moved dist, unsealed on a third machine: byte for byte.
    std::fs::rename(env.path("dist"), env.path("moved")).expect("move the dist");
    let mut c = env.mapvault(["unseal", "moved", "--vault", &url]);
    s3.apply_as(&mut c, "third");
    c.ok();
    Snapshot::of(&env.path("moved")).assert_same(&before, Level::Restored, "unseal from s3");
    let fsck = mv(&env, &s3, &["vault", "fsck", "--vault", &url]).ok();
    assert!(fsck.stdout_str().contains("clean"), "{}", fsck.stdout_str());
}

#[test]
fn bad_vault_urls_and_options_are_exit_2_naming_them() {
    let env = TestEnv::new();
    make_dist(&env, "dist", "a", 1, false);
    let r = env
        .mapvault(["seal", "dist", "--vault", "ftp://host/x"])
        .expect_code(2);
    assert!(r.stderr_str().contains("\"ftp\""), "{}", r.stderr_str());
    let r = env
        .mapvault([
            "seal",
            "dist",
            "--vault",
            "s3://b/p",
            "--vault-option",
            "colour=red",
        ])
        .expect_code(2);
    assert!(r.stderr_str().contains("colour"), "{}", r.stderr_str());
    // Nothing changed.
    assert!(env.path("dist/assets/m0.js.map").exists());
}

#[test]
fn four_concurrent_seals_into_one_bucket_lose_nothing() {
    let Some(s3) = S3Server::start("four_concurrent_seals_into_one_bucket_lose_nothing") else {
        return;
    };
    s3.create_bucket(BUCKET);
    let env = TestEnv::new();
    let url = S3Server::url(BUCKET, "");
    let mut befores = Vec::new();
    for r in 0..4 {
        // Each runner's dist shares one map with the others (the same bytes, one object).
        make_dist(&env, &format!("d{r}"), &format!("r{r}"), 6, false);
        env.write(
            format!("d{r}/shared.js"),
            "s();\n//# sourceMappingURL=shared.js.map\n",
        );
        env.write(format!("d{r}/shared.js.map"), map_json("shared", 10));
        befores.push(env.snapshot(format!("d{r}")));
    }
    std::thread::scope(|s| {
        for r in 0..4 {
            let (env, s3, url) = (&env, &s3, &url);
            s.spawn(move || {
                let d = format!("d{r}");
                let mut c = env.mapvault(["seal", d.as_str(), "--vault", url.as_str()]);
                s3.apply_as(&mut c, &format!("runner{r}"));
                c.ok();
            });
        }
    });
    assert_eq!(keys(&s3, "seals/").len(), 4);
    // 4 × (6 maps + the inline one's, shared by all) + the shared one.
    assert_eq!(keys(&s3, "maps/").len(), 4 * 6 + 2);
    for (r, before) in befores.iter().enumerate() {
        let d = format!("d{r}");
        let mut c = env.mapvault(["unseal", d.as_str(), "--vault", url.as_str()]);
        s3.apply_as(&mut c, "checker");
        c.ok();
        env.snapshot(&d)
            .assert_same(before, Level::Restored, "unseal after concurrent seals");
    }
}

#[test]
fn a_seal_crashed_at_every_failpoint_then_rerun_loses_no_map() {
    if !cfg!(feature = "failpoints") {
        return;
    }
    let Some(s3) = S3Server::start("a_seal_crashed_at_every_failpoint_then_rerun_loses_no_map")
    else {
        return;
    };
    s3.create_bucket(BUCKET);
    for point in [
        "after-journal",
        "prepare:2",
        "after-barrier-1",
        "commit:2",
        "after-commit",
        "after-barrier-2",
        "after-manifest",
    ] {
        let env = TestEnv::new();
        let prefix = format!("fp-{}", point.replace(':', "-"));
        let url = S3Server::url(BUCKET, &prefix);
        make_dist(&env, "dist", &prefix, 4, false);
        let before = env.snapshot("dist");
        let mut c = mv(&env, &s3, &["seal", "dist", "--vault", &url]);
        c.env("MAPVAULT_FAILPOINT", point);
        let r = c.run();
        assert_ne!(r.code, Some(0), "{point}: the failpoint did not fire");
        let now = env.snapshot("dist");
        assert_no_map_lost_prefixed(&s3, &prefix, &before, &now, point);
        // The re-run finishes it (the journal is in this machine's cache) and unseal restores.
        mv(&env, &s3, &["seal", "dist", "--vault", &url]).ok();
        mv(&env, &s3, &["unseal", "dist", "--vault", &url]).ok();
        env.snapshot("dist").assert_same(
            &before,
            Level::Content,
            &format!("after a crash at {point}"),
        );
    }
}

/// After any interruption: every map of `before` is in the dist or in the bucket.
fn assert_no_map_lost_prefixed(
    s3: &S3Server,
    prefix: &str,
    before: &Snapshot,
    now: &Snapshot,
    what: &str,
) {
    // By name (one listing, not a download per object: the round-trip test checks that every
    // object hashes to its name, and the re-run's unseal checks every byte).
    let in_bucket: BTreeSet<String> = keys(s3, &format!("{prefix}/maps/"))
        .into_iter()
        .filter_map(|k| Some(k.rsplit('/').next()?.strip_suffix(".map")?.to_string()))
        .collect();
    let files = |s: &Snapshot| -> Vec<(String, String)> {
        s.nodes
            .iter()
            .filter(|(_, n)| n.kind == Kind::File)
            .map(|(p, n)| (p.clone(), n.sha256.clone()))
            .collect()
    };
    let in_dist: BTreeSet<String> = files(now).into_iter().map(|(_, sha)| sha).collect();
    for (p, sha) in files(before)
        .into_iter()
        .filter(|(p, _)| p.ends_with(".map"))
    {
        assert!(
            in_dist.contains(&sha) || in_bucket.contains(&sha),
            "{what}: {p} is neither in the dist nor in the bucket"
        );
    }
}

#[test]
fn sigkill_at_moments_spread_over_the_upload_then_rerun_loses_no_map() {
    let Some(s3) = S3Server::start("sigkill_at_moments_spread_over_the_upload_then_rerun") else {
        return;
    };
    s3.create_bucket(BUCKET);
    // Delays spread over a seal of ~60 objects (a few hundred ms against moto); a fixed list
    // rather than a random one, so a failure reproduces.
    let mut cut_short = 0;
    for (n, ms) in [30u64, 90, 160, 250, 400].into_iter().enumerate() {
        let env = TestEnv::new();
        let prefix = format!("kill{n}");
        let url = S3Server::url(BUCKET, &prefix);
        make_dist(&env, "dist", &prefix, 60, false);
        let before = env.snapshot("dist");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mapvault"));
        cmd.current_dir(env.root())
            .args(["seal", "dist", "--vault", url.as_str()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        s3.apply_std(&mut cmd);
        let mut child = cmd.spawn().expect("spawn mapvault");
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().expect("wait for mapvault");
        // Killed mid-run (not finished, not before it wrote anything): a journal is left.
        let journal = std::fs::read_dir(s3.cache_dir())
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().join("journal.json").exists());
        if status.code().is_none() && journal {
            cut_short += 1;
        }
        crate::harness::say(&format!(
            "kill after {ms} ms: {status}, journal left: {journal}"
        ));
        let now = env.snapshot("dist");
        assert_no_map_lost_prefixed(&s3, &prefix, &before, &now, &format!("kill after {ms} ms"));
        mv(&env, &s3, &["seal", "dist", "--vault", &url]).ok();
        mv(&env, &s3, &["unseal", "dist", "--vault", &url]).ok();
        env.snapshot("dist").assert_same(
            &before,
            Level::Content,
            &format!("after a kill at {ms} ms"),
        );
    }
    assert!(cut_short > 0, "no kill landed while a seal was under way");
}

#[test]
fn a_failing_or_stalling_server_is_exit_2_naming_the_key_and_loses_nothing() {
    let Some(s3) = S3Server::start("a_failing_or_stalling_server_is_exit_2") else {
        return;
    };
    s3.create_bucket(BUCKET);
    for (what, fault) in [
        ("503s", Fault::FailAfter(6)),
        ("a stall", Fault::StallAfter(6)),
        ("resets", Fault::ResetAfter(6)),
    ] {
        let env = TestEnv::new();
        let prefix = what.replace(' ', "-");
        let url = S3Server::url(BUCKET, &prefix);
        make_dist(&env, "dist", &prefix, 8, false);
        let before = env.snapshot("dist");
        let proxy = FaultProxy::start(&s3.endpoint(), fault);
        let mut c = mv(
            &env,
            &s3,
            &[
                "seal",
                "dist",
                "--vault",
                &url,
                "--vault-option",
                "timeout=2s",
                "--vault-option",
                "max_retries=1",
                "--vault-option",
                "retry_timeout=3s",
            ],
        );
        proxy.apply(&mut c);
        let r = c.expect_code(2);
        let err = r.stderr_str();
        crate::harness::say(&format!("{what}: {err}"));
        assert!(
            err.contains(&format!("remote vault {url}")) && err.contains("cannot"),
            "{what}: {err}"
        );
        assert!(
            !err.contains(crate::moto::SECRET_ACCESS_KEY),
            "{what}: {err}"
        );
        // Nothing in the dist changed (the upload fails before the dist is touched).
        env.snapshot("dist")
            .assert_same(&before, Level::Content, &format!("after {what}"));
        drop(proxy);
        // With the server back, the same machine finishes, and unseal is byte-exact.
        mv(&env, &s3, &["seal", "dist", "--vault", &url]).ok();
        mv(&env, &s3, &["unseal", "dist", "--vault", &url]).ok();
        env.snapshot("dist").assert_same(
            &before,
            Level::Content,
            &format!("after {what} and a re-run"),
        );
    }
}

#[test]
fn prune_on_a_bucket_removes_old_seals_and_their_objects_only() {
    let Some(s3) = S3Server::start("prune_on_a_bucket_removes_old_seals_and_their_objects_only")
    else {
        return;
    };
    s3.create_bucket(BUCKET);
    let env = TestEnv::new();
    let url = S3Server::url(BUCKET, "p");
    make_dist(&env, "dist", "one", 3, false);
    mv(&env, &s3, &["seal", "dist", "--vault", &url]).ok();
    std::fs::remove_dir_all(env.path("dist")).expect("rm dist");
    make_dist(&env, "dist", "two", 3, false);
    let second = env.snapshot("dist");
    mv(&env, &s3, &["seal", "dist", "--vault", &url]).ok();
    assert_eq!(keys(&s3, "p/seals/").len(), 2);
    let before = keys(&s3, "p/maps/");
    assert_eq!(before.len(), 3 + 3 + 1);
    // Within the grace period nothing unneeded goes.
    mv(
        &env,
        &s3,
        &["vault", "prune", "--vault", &url, "--keep-last", "1"],
    )
    .ok();
    assert_eq!(keys(&s3, "p/seals/").len(), 1);
    assert_eq!(keys(&s3, "p/maps/"), before);
    // Past it (shortened for the test), the first seal's own maps go, the shared one stays.
    let mut c = mv(
        &env,
        &s3,
        &["vault", "prune", "--vault", &url, "--keep-last", "1"],
    );
    c.env("MAPVAULT_PRUNE_GRACE_SECS", "0");
    c.ok();
    assert_eq!(keys(&s3, "p/maps/").len(), 3 + 1);
    let mut c = env.mapvault(["unseal", "dist", "--vault", &url]);
    s3.apply_as(&mut c, "fresh");
    c.ok();
    env.snapshot("dist")
        .assert_same(&second, Level::Restored, "unseal after prune");
}

#[test]
fn unseal_from_a_failing_server_names_the_key_not_missing_objects() {
    let Some(s3) = S3Server::start("unseal_from_a_failing_server_names_the_key") else {
        return;
    };
    s3.create_bucket(BUCKET);
    let env = TestEnv::new();
    let url = S3Server::url(BUCKET, "u");
    make_dist(&env, "dist", "u", 4, false);
    mv(&env, &s3, &["seal", "dist", "--vault", &url]).ok();
    let sealed = env.snapshot("dist");
    // Another machine (nothing cached) whose server fails after listing the records.
    let proxy = FaultProxy::start(&s3.endpoint(), Fault::FailAfter(4));
    let mut c = env.mapvault([
        "unseal",
        "dist",
        "--vault",
        url.as_str(),
        "--vault-option",
        "max_retries=0",
    ]);
    s3.apply_as(&mut c, "other");
    proxy.apply(&mut c);
    let r = c.expect_code(2);
    let err = r.stderr_str();
    assert!(
        err.contains(&format!("remote vault {url}: cannot")) && !err.contains("are missing"),
        "{err}"
    );
    env.snapshot("dist")
        .assert_same(&sealed, Level::Content, "a failed unseal changes nothing");
}
