//! Remote vaults against a real S3 server (moto on 127.0.0.1, `moto.rs`): seal → list → resolve
//! → export → unseal byte-exact, a moved dist, a fresh machine's cache, four concurrent seals
//! into one bucket, crashes (every failpoint, and SIGKILL at moments spread over the upload)
//! followed by a re-run, a server that fails or stalls (the fault proxy), prune, prune racing
//! a seal on another machine, and maps hard-linked into the cache (a dist file written in place
//! before the upload is refused on the way up).
//!
//! The scenarios that do not depend on the server are written once over [`VaultBucket`] (a
//! server and one bucket or container in it) and run here against moto and in azvault.rs against
//! Azurite.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::faultproxy::{Fault, FaultProxy};
use crate::harness::{Kind, Level, Snapshot, TestCommand, TestEnv};
use crate::moto::{S3Client, S3Server};

const BUCKET: &str = "mapvault-it";

/// A server with one bucket (container) the scenarios use, seen through the tests' own client.
pub(crate) trait VaultBucket: Sync {
    /// `--vault URL` (and any `--vault-option`s the server needs) for `prefix`.
    fn vault_args(&self, prefix: &str) -> Vec<String>;
    /// Point `cmd` at the server as machine `runner` (`None`: the default machine), each with
    /// its own cache directory.
    fn point(&self, cmd: &mut TestCommand, runner: Option<&str>);
    /// That machine's cache directory (`MAPVAULT_CACHE_DIR`).
    fn cache(&self, runner: Option<&str>) -> PathBuf;
    /// Every key under `prefix` in the bucket.
    fn keys(&self, prefix: &str) -> BTreeSet<String>;
    fn get_key(&self, key: &str) -> Option<Vec<u8>>;
    /// Write (or overwrite) a key, bypassing mapvault.
    fn put_key(&self, key: &str, bytes: &[u8]);
}

impl VaultBucket for S3Server {
    fn vault_args(&self, prefix: &str) -> Vec<String> {
        vec!["--vault".into(), S3Server::url(BUCKET, prefix)]
    }
    fn point(&self, cmd: &mut TestCommand, runner: Option<&str>) {
        match runner {
            None => self.apply(cmd),
            Some(r) => self.apply_as(cmd, r),
        };
    }
    fn cache(&self, runner: Option<&str>) -> PathBuf {
        runner.map_or_else(|| self.cache_dir(), |r| self.runner_cache_dir(r))
    }
    fn keys(&self, prefix: &str) -> BTreeSet<String> {
        self.list_keys(BUCKET, prefix).into_iter().collect()
    }
    fn get_key(&self, key: &str) -> Option<Vec<u8>> {
        S3Client::get_key(self, BUCKET, key)
    }
    fn put_key(&self, key: &str, bytes: &[u8]) {
        S3Client::put_key(self, BUCKET, key, bytes);
    }
}

/// `mapvault ARGS… --vault …` against `b`'s `prefix`, as machine `runner`.
fn on(
    env: &TestEnv,
    b: &dyn VaultBucket,
    runner: Option<&str>,
    prefix: &str,
    args: &[&str],
) -> TestCommand {
    let mut c = env.mapvault(args);
    c.args(b.vault_args(prefix));
    b.point(&mut c, runner);
    c
}

fn map_json(name: &str, pad: usize) -> String {
    format!(
        r#"{{"version":3,"sources":["src/{name}.ts"],"names":[],"mappings":"AAAA","x_pad":"{}"}}"#,
        "p".repeat(pad)
    )
}

/// A dist of `n` bundles with external maps, one inline map, and (with `big`) a map over the
/// 16 MiB multipart threshold. `tag` makes the maps differ between dists.
pub(crate) fn make_dist(env: &TestEnv, dir: &str, tag: &str, n: usize, big: bool) {
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

/// Run `cmd` with the failpoint `point` turned into a pause (`MAPVAULT_PAUSE`, see
/// src/failpoint.rs): once the command has reached it, call `meanwhile`, then let it go on and
/// wait for it. Fails the test if the command ends without reaching the point.
fn paused<R>(
    cmd: &mut TestCommand,
    point: &str,
    meanwhile: impl FnOnce() -> R,
) -> (crate::harness::Run, R) {
    let dir = tempfile::tempdir().expect("pause dir");
    cmd.env("MAPVAULT_PAUSE", point)
        .env("MAPVAULT_PAUSE_DIR", dir.path());
    let reached = dir.path().join(format!("{point}.reached"));
    let go = dir.path().join(format!("{point}.go"));
    let cmd = &*cmd;
    std::thread::scope(|s| {
        let h = s.spawn(move || cmd.run());
        // A hang guard, not a timing assertion: the command normally gets there in a second.
        let started = Instant::now();
        while !reached.exists() {
            if h.is_finished() {
                let run = h.join().expect("command thread");
                run.fail(format_args!("ended before reaching {point}"));
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "{} never reached {point}",
                cmd.cmdline()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the command go on even when `meanwhile` panics (no wait for its timeout).
        struct Go(PathBuf);
        impl Drop for Go {
            fn drop(&mut self) {
                let _ = std::fs::write(&self.0, b"");
            }
        }
        let r = {
            let _go = Go(go);
            meanwhile()
        };
        (h.join().expect("command thread"), r)
    })
}

/// The id of the interrupted seal whose journal is in cache directory `cache`.
fn journal_id(cache: &std::path::Path) -> String {
    for e in std::fs::read_dir(cache).expect("cache dir").flatten() {
        if let Ok(b) = std::fs::read(e.path().join("journal.json")) {
            let j: serde_json::Value = serde_json::from_slice(&b).expect("journal JSON");
            return j["id"].as_str().expect("journal id").to_owned();
        }
    }
    panic!("no journal in {}", cache.display());
}

/// Seal records are write-once: a seal whose record key was taken meanwhile (by other bytes)
/// fails naming it, and the bytes there stay. The same bytes again (a re-run) succeed: see
/// [`crash_at_every_failpoint`]'s `after-manifest`.
pub(crate) fn record_is_write_once(b: &dyn VaultBucket) {
    let env = TestEnv::new();
    let p = "once";
    make_dist(&env, "dist", "once", 2, false);
    let planted = b"{\"planted\": \"by someone else\"}\n".to_vec();
    let mut c = on(&env, b, None, p, &["seal", "dist"]);
    // Stopped after its objects are stored, before its record is written: take the key.
    let (r, key) = paused(&mut c, "before-record", || {
        let key = format!("{p}/seals/{}.json", journal_id(&b.cache(None)));
        assert_eq!(b.get_key(&key), None, "no record yet");
        b.put_key(&key, &planted);
        key
    });
    assert_ne!(
        r.code,
        Some(0),
        "the seal wrote over a record:\n{}",
        r.context("seal")
    );
    let err = r.stderr_str();
    let rel = key.strip_prefix(&format!("{p}/")).unwrap_or(&key);
    assert!(
        err.contains(rel) && err.contains("already exists with other content"),
        "{err}"
    );
    assert_eq!(
        b.get_key(&key),
        Some(planted),
        "the record there was replaced"
    );
}

/// Two dists whose maps are the same objects, at distinct paths (two seals, two dists).
fn twin_dists(env: &TestEnv, n: usize) -> Snapshot {
    make_dist(env, "d1", "twin", n, false);
    make_dist(env, "d2", "twin", n, false);
    env.snapshot("d2")
}

/// Prune on machine C removes d1's seal and, past a (test-shortened) grace period, the objects
/// it alone needed, while machine B's seal of d2 — the same objects — stands stalled between
/// uploading them and writing its record. The seal's check after its record finds them gone
/// and uploads them again from its cache: nothing is lost. `n` maps per dist (+ the inline
/// one): up to 64 objects the check looks each up, more it lists them (remote.rs).
pub(crate) fn seal_repairs_objects_pruned_before_its_record(b: &dyn VaultBucket, n: usize) {
    let env = TestEnv::new();
    let p = "race-seal";
    let d2 = twin_dists(&env, n);
    on(&env, b, Some("a"), p, &["seal", "d1"]).ok();
    let objects = b.keys(&format!("{p}/maps/"));
    assert_eq!(objects.len(), n + 1, "{objects:?}");
    let mut seal = on(&env, b, Some("b"), p, &["seal", "d2"]);
    let (r, ()) = paused(&mut seal, "before-record", || {
        let mut prune = on(
            &env,
            b,
            Some("c"),
            p,
            &["vault", "prune", "--older-than", "1ms"],
        );
        prune.env("MAPVAULT_PRUNE_GRACE_SECS", "0");
        prune.ok();
        assert!(
            b.keys(&format!("{p}/maps/")).is_empty(),
            "the race did not happen: prune left {:?}",
            b.keys(&format!("{p}/maps/"))
        );
    });
    r.ensure(r.code == Some(0), "the seal failed");
    assert_eq!(b.keys(&format!("{p}/maps/")), objects, "not repaired");
    on(&env, b, Some("fresh"), p, &["unseal", "d2"]).ok();
    env.snapshot("d2")
        .assert_same(&d2, Level::Restored, "unseal after the race");
    let fsck = on(&env, b, Some("fresh"), p, &["vault", "fsck"]).ok();
    assert!(fsck.stdout_str().contains("clean"), "{}", fsck.stdout_str());
}

/// Prune on machine C has chosen d1's objects to delete (looked up, old enough) and stands
/// stalled before deleting them, while machine B seals d2 — the same objects — to the end.
/// Prune lists the records again before its deletes and keeps what the new record names.
pub(crate) fn prune_keeps_objects_a_new_record_names(b: &dyn VaultBucket) {
    let env = TestEnv::new();
    let p = "race-prune";
    let d2 = twin_dists(&env, 2);
    on(&env, b, Some("a"), p, &["seal", "d1"]).ok();
    let objects = b.keys(&format!("{p}/maps/"));
    assert_eq!(objects.len(), 3, "{objects:?}");
    let mut prune = on(
        &env,
        b,
        Some("c"),
        p,
        &["vault", "prune", "--older-than", "1ms"],
    );
    prune.env("MAPVAULT_PRUNE_GRACE_SECS", "0");
    let (r, ()) = paused(&mut prune, "prune-before-deletes", || {
        on(&env, b, Some("b"), p, &["seal", "d2"]).ok();
    });
    r.ensure(r.code == Some(0), "prune failed");
    assert_eq!(
        b.keys(&format!("{p}/seals/")).len(),
        1,
        "d1's record stays pruned"
    );
    assert_eq!(
        b.keys(&format!("{p}/maps/")),
        objects,
        "prune deleted what d2's seal needs"
    );
    on(&env, b, Some("fresh"), p, &["unseal", "d2"]).ok();
    env.snapshot("d2")
        .assert_same(&d2, Level::Restored, "unseal after the race");
}

/// The cache object of `sha` on the default machine (`None` before it is there).
#[cfg(unix)]
fn cached_map(b: &dyn VaultBucket, sha: &str) -> Option<PathBuf> {
    std::fs::read_dir(b.cache(None))
        .ok()?
        .flatten()
        .map(|e| e.path().join("maps").join(format!("{sha}.map")))
        .find(|p| p.is_file())
}

/// With the cache on the dist's file system, seal hard-links each map into the cache instead
/// of copying it: while the seal stands between prepare and upload the cache object is the
/// dist file's inode. A write to the dist file in place then (the same inode, the same size
/// and mtime) changes the cache object too: the upload hashes what it sends, refuses it (the
/// bucket never gets bytes under a name they do not hash to) and the dist is left as it was.
/// With the bytes put back, the re-run finishes; afterwards the cache object has no name but
/// its own and still hashes to it.
#[cfg(unix)]
pub(crate) fn maps_are_linked_into_the_cache_and_checked_on_the_way_up(b: &dyn VaultBucket) {
    use std::io::{Seek, Write};
    use std::os::unix::fs::MetadataExt;
    let env = TestEnv::new();
    let p = "linked";
    make_dist(&env, "dist", "linked", 1, false);
    let before = env.snapshot("dist");
    let map = env.path("dist/assets/m0.js.map");
    let good = env.read("dist/assets/m0.js.map");
    let sha = crate::harness::sha256_hex(&good);
    let key = format!("{p}/maps/{sha}.map");
    let mtime = std::fs::metadata(&map)
        .expect("map")
        .modified()
        .expect("mtime");
    let rewrite = |bytes: &[u8]| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&map)
            .expect("open the dist map");
        f.seek(std::io::SeekFrom::Start(0)).expect("seek");
        f.write_all(bytes).expect("write in place");
        f.set_modified(mtime).expect("keep the mtime");
    };
    let mut bad = good.clone();
    let at = bad.len() - 3;
    bad[at] = b'q';
    let mut c = on(&env, b, None, p, &["seal", "dist"]);
    let (r, ()) = paused(&mut c, "before-upload", || {
        let obj = cached_map(b, &sha).expect("the map is in the cache before the upload");
        let (o, d) = (
            std::fs::metadata(&obj).expect("cache object"),
            std::fs::metadata(&map).expect("dist map"),
        );
        assert_eq!(
            (o.dev(), o.ino(), o.nlink()),
            (d.dev(), d.ino(), 2),
            "the map was copied into the cache, not linked"
        );
        rewrite(&bad);
    });
    assert_eq!(r.code, Some(2), "{}", r.context("seal of a changed map"));
    let err = r.stderr_str();
    assert!(
        err.contains(&format!("maps/{sha}.map")) && err.contains("not to its name"),
        "{err}"
    );
    assert_eq!(
        b.get_key(&key),
        None,
        "bytes went up under a name they do not hash to"
    );
    assert_eq!(env.read("dist/assets/m0.js.map"), bad, "the dist changed");
    assert!(
        String::from_utf8_lossy(&env.read("dist/assets/m0.js")).contains("sourceMappingURL"),
        "the bundle was edited though its map was not stored"
    );

    // The bytes back (in place, the mtime kept): the re-run finishes the seal.
    rewrite(&good);
    on(&env, b, None, p, &["seal", "dist"]).ok();
    assert!(!map.exists(), "the map is still in the dist");
    let obj = cached_map(b, &sha).expect("cache object after the seal");
    assert_eq!(std::fs::metadata(&obj).expect("cache object").nlink(), 1);
    assert_eq!(std::fs::read(&obj).expect("cache object"), good);
    assert_eq!(b.get_key(&key), Some(good.clone()));
    // A new file at the map's path is another inode: the cache object stays as it is.
    env.write("dist/assets/m0.js.map", &bad);
    assert_eq!(std::fs::read(&obj).expect("cache object"), good);
    std::fs::remove_file(&map).expect("remove");
    on(&env, b, None, p, &["unseal", "dist"]).ok();
    env.snapshot("dist")
        .assert_same(&before, Level::Content, "unseal after the linked seal");
}

#[cfg(unix)]
#[test]
fn maps_are_linked_into_the_cache_and_checked_on_the_way_up_to_s3() {
    if !cfg!(feature = "failpoints") {
        return;
    }
    let Some(s3) =
        S3Server::start("maps_are_linked_into_the_cache_and_checked_on_the_way_up_to_s3")
    else {
        return;
    };
    s3.create_bucket(BUCKET);
    maps_are_linked_into_the_cache_and_checked_on_the_way_up(&s3);
}

#[test]
fn a_record_key_taken_meanwhile_is_never_written_over_in_s3() {
    if !cfg!(feature = "failpoints") {
        return;
    }
    let Some(s3) = S3Server::start("a_record_key_taken_meanwhile_is_never_written_over_in_s3")
    else {
        return;
    };
    s3.create_bucket(BUCKET);
    record_is_write_once(&s3);
}

#[test]
fn a_seal_repairs_objects_a_concurrent_prune_deleted_before_its_record() {
    if !cfg!(feature = "failpoints") {
        return;
    }
    let Some(s3) = S3Server::start("a_seal_repairs_objects_a_concurrent_prune_deleted") else {
        return;
    };
    s3.create_bucket(BUCKET);
    // 70 maps: the check lists the store rather than looking each object up.
    seal_repairs_objects_pruned_before_its_record(&s3, 70);
}

#[test]
fn prune_keeps_objects_a_seal_recorded_while_it_ran() {
    if !cfg!(feature = "failpoints") {
        return;
    }
    let Some(s3) = S3Server::start("prune_keeps_objects_a_seal_recorded_while_it_ran") else {
        return;
    };
    s3.create_bucket(BUCKET);
    prune_keeps_objects_a_new_record_names(&s3);
}

#[test]
fn seal_list_resolve_export_unseal_through_s3_byte_exact() {
    let Some(s3) = S3Server::start("seal_list_resolve_export_unseal_through_s3_byte_exact") else {
        return;
    };
    s3.create_bucket(BUCKET);
    round_trip(&s3);
}

/// Seal (with a map over the multipart threshold) → list → resolve and export on a fresh
/// machine → unseal of the moved dist on a third → fsck, byte-exact, every object hashing to
/// its name in the bucket.
pub(crate) fn round_trip(b: &dyn VaultBucket) {
    let env = TestEnv::new();
    make_dist(&env, "dist", "a", 3, true);
    let before = env.snapshot("dist");
    let m2 = env.read("dist/assets/m2.js.map");
    let big = env.read("dist/big.js.map");
    let p = "team/web";
    on(&env, b, None, p, &["seal", "dist"]).ok();
    // Every map is in the bucket under the prefix, one record, the marker.
    let maps = b.keys("team/web/maps/");
    assert_eq!(maps.len(), 5, "{maps:?}");
    assert_eq!(b.keys("team/web/seals/").len(), 1);
    assert!(b.get_key("team/web/vault.json").is_some());
    for k in &maps {
        let bytes = b.get_key(k).expect("object");
        let sha = crate::harness::sha256_hex(&bytes);
        assert!(
            k.ends_with(&format!("{sha}.map")),
            "{k} does not hash to its name"
        );
    }
    let list = on(&env, b, None, p, &["vault", "list", "--format", "json"]).ok();
    assert!(
        list.stdout_str().contains("\"maps\""),
        "{}",
        list.stdout_str()
    );

    // Another machine (an empty cache): resolve and export fetch what they need.
    let r = on(&env, b, Some("other"), p, &["resolve", "assets/m1.js:1:1"]).ok();
    assert!(r.stdout_str().contains("src/a1.ts"), "{}", r.stdout_str());
    on(&env, b, Some("other"), p, &["export", "--out", "exp"]).ok();
    assert!(env.read("exp/assets/m2.js.map") == m2, "export of m2");
    assert!(
        env.read("exp/big.js.map") == big,
        "export of the multipart map"
    );

    // A moved dist, unsealed on a third machine: byte for byte.
    std::fs::rename(env.path("dist"), env.path("moved")).expect("move the dist");
    on(&env, b, Some("third"), p, &["unseal", "moved"]).ok();
    Snapshot::of(&env.path("moved")).assert_same(
        &before,
        Level::Restored,
        "unseal from the bucket",
    );
    let fsck = on(&env, b, None, p, &["vault", "fsck"]).ok();
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
    concurrent_seals(&s3);
}

/// Four machines seal into one bucket at once (one map shared by all): four records, every
/// object once, each dist unsealed byte-exact by a fifth machine.
pub(crate) fn concurrent_seals(b: &dyn VaultBucket) {
    let env = TestEnv::new();
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
            let env = &env;
            s.spawn(move || {
                let d = format!("d{r}");
                let runner = format!("runner{r}");
                on(env, b, Some(&runner), "", &["seal", d.as_str()]).ok();
            });
        }
    });
    assert_eq!(b.keys("seals/").len(), 4);
    // 4 × (6 maps + the inline one's, shared by all) + the shared one.
    assert_eq!(b.keys("maps/").len(), 4 * 6 + 2);
    for (r, before) in befores.iter().enumerate() {
        let d = format!("d{r}");
        on(&env, b, Some("checker"), "", &["unseal", d.as_str()]).ok();
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
    crash_at_every_failpoint(&s3);
}

/// A seal aborted at each failpoint loses no map, and its re-run finishes it (at
/// `after-manifest` by writing the same record bytes again: write-once, same bytes succeed);
/// unseal then restores the dist.
pub(crate) fn crash_at_every_failpoint(b: &dyn VaultBucket) {
    for point in [
        "after-journal",
        "prepare:2",
        "before-upload",
        "after-barrier-1",
        "commit:2",
        "after-commit",
        "before-record",
        "after-barrier-2",
        "after-manifest",
    ] {
        let env = TestEnv::new();
        let prefix = format!("fp-{}", point.replace(':', "-"));
        make_dist(&env, "dist", &prefix, 4, false);
        let before = env.snapshot("dist");
        let mut c = on(&env, b, None, &prefix, &["seal", "dist"]);
        c.env("MAPVAULT_FAILPOINT", point);
        let r = c.run();
        assert_ne!(r.code, Some(0), "{point}: the failpoint did not fire");
        let now = env.snapshot("dist");
        assert_no_map_lost_prefixed(b, &prefix, &before, &now, point);
        // The re-run finishes it (the journal is in this machine's cache) and unseal restores.
        on(&env, b, None, &prefix, &["seal", "dist"]).ok();
        on(&env, b, None, &prefix, &["unseal", "dist"]).ok();
        env.snapshot("dist").assert_same(
            &before,
            Level::Content,
            &format!("after a crash at {point}"),
        );
    }
}

/// After any interruption: every map of `before` is in the dist or in the bucket.
fn assert_no_map_lost_prefixed(
    b: &dyn VaultBucket,
    prefix: &str,
    before: &Snapshot,
    now: &Snapshot,
    what: &str,
) {
    // By name (one listing, not a download per object: the round-trip test checks that every
    // object hashes to its name, and the re-run's unseal checks every byte).
    let in_bucket: BTreeSet<String> = b
        .keys(&format!("{prefix}/maps/"))
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
    prune_old_seals(&s3);
}

/// Prune keeps unneeded objects within the grace period, then removes the first seal's own
/// maps and keeps the shared one; a fresh machine still unseals the kept seal.
pub(crate) fn prune_old_seals(b: &dyn VaultBucket) {
    let env = TestEnv::new();
    let p = "p";
    make_dist(&env, "dist", "one", 3, false);
    on(&env, b, None, p, &["seal", "dist"]).ok();
    std::fs::remove_dir_all(env.path("dist")).expect("rm dist");
    make_dist(&env, "dist", "two", 3, false);
    let second = env.snapshot("dist");
    on(&env, b, None, p, &["seal", "dist"]).ok();
    assert_eq!(b.keys("p/seals/").len(), 2);
    let before = b.keys("p/maps/");
    assert_eq!(before.len(), 3 + 3 + 1);
    // Within the grace period nothing unneeded goes.
    on(&env, b, None, p, &["vault", "prune", "--keep-last", "1"]).ok();
    assert_eq!(b.keys("p/seals/").len(), 1);
    assert_eq!(b.keys("p/maps/"), before);
    // Past it (shortened for the test), the first seal's own maps go, the shared one stays.
    let mut c = on(&env, b, None, p, &["vault", "prune", "--keep-last", "1"]);
    c.env("MAPVAULT_PRUNE_GRACE_SECS", "0");
    c.ok();
    assert_eq!(b.keys("p/maps/").len(), 3 + 1);
    on(&env, b, Some("fresh"), p, &["unseal", "dist"]).ok();
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
