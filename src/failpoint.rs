//! Test-only crash points (`--features failpoints`): a leaf module, so every layer — the
//! vault's migration and prune as well as apply, txn, seal and unseal — can mark where a crash
//! test may abort the process without importing a layer above it. Where the points sit in the
//! crash-safety ordering is explained in [`crate::apply`].

/// Test-only crash points, compiled in with `--features failpoints`: when
/// `MAPVAULT_FAILPOINT=NAME[:N]` is set, the process aborts (no destructors, no flushing — like a
/// SIGKILL) the N-th time (default: first) execution reaches point `NAME`. The points sit
/// between the steps of the ordering argument in `crate::apply`: `after-journal`, `prepare` (after each
/// prepare step), `before-upload` (a remote vault: in a barrier, before its objects go up),
/// `after-barrier-1`, `commit` (after each commit step), `after-commit`, `before-record` (a
/// seal, before it writes its record: this and `after-manifest` come while the second barrier
/// runs, so before `after-barrier-2`), `after-barrier-2`, `after-manifest` (after a seal's
/// record or an unseal's markers), and the
/// v1 → v2 migration's `migrate-record` (after each record) and `migrate-before-rename`, and
/// `vault prune`'s `prune-record` (after each record removed), `prune-after-records`,
/// `prune-before-deletes` (a remote vault: after the objects to delete are chosen and looked up
/// again, before the records are listed once more) and `prune-object` (after each object
/// removed).
///
/// `MAPVAULT_PAUSE=NAME[:N]` with `MAPVAULT_PAUSE_DIR=DIR` pauses instead of aborting: at the
/// N-th hit the process creates `DIR/NAME.reached` and waits until `DIR/NAME.go` exists (for at
/// most 10 minutes, then goes on), so a test can run another command at exactly that point
/// (prune stopped between its checks and its deletes while a seal runs: tests/it/s3vault.rs).
pub fn failpoint(name: &str) {
    #[cfg(feature = "failpoints")]
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static HITS: AtomicUsize = AtomicUsize::new(0);
        static ARMED: AtomicUsize = AtomicUsize::new(0);
        pause(name);
        if is_nth_hit("MAPVAULT_FAILPOINT", name, &HITS)
            && ARMED.fetch_add(1, Ordering::SeqCst) == 0
        {
            std::process::abort();
        }
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// Is this hit of failpoint `name` the one the variable `var` (`NAME[:N]`, N from 1) asks
/// for? Counts, in `hits`, only the hits of the point it names.
#[cfg(feature = "failpoints")]
fn is_nth_hit(var: &str, name: &str, hits: &std::sync::atomic::AtomicUsize) -> bool {
    let Ok(spec) = std::env::var(var) else {
        return false;
    };
    let (want, nth) = match spec.split_once(':') {
        Some((w, n)) => (w, n.parse().unwrap_or(1)),
        None => (spec.as_str(), 1),
    };
    want == name && hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == nth
}

/// The pausing half of [`failpoint`] (see there).
#[cfg(feature = "failpoints")]
fn pause(name: &str) {
    use std::time::{Duration, Instant};
    static HITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let Some(dir) = std::env::var_os("MAPVAULT_PAUSE_DIR") else {
        return;
    };
    if !is_nth_hit("MAPVAULT_PAUSE", name, &HITS) {
        return;
    }
    let dir = std::path::PathBuf::from(dir);
    let _ = std::fs::write(dir.join(format!("{name}.reached")), b"");
    let go = dir.join(format!("{name}.go"));
    let started = Instant::now();
    while !go.exists() && started.elapsed() < Duration::from_secs(600) {
        std::thread::sleep(Duration::from_millis(20));
    }
}
