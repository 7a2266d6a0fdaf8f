//! Test-only crash points (`--features failpoints`): a leaf module, so every layer — the
//! vault's migration and prune as well as apply, txn, seal and unseal — can mark where a crash
//! test may abort the process without importing a layer above it. Where the points sit in the
//! crash-safety ordering is explained in [`crate::apply`].

/// Test-only crash points, compiled in with `--features failpoints`: when
/// `MAPVAULT_FAILPOINT=NAME[:N]` is set, the process aborts (no destructors, no flushing — like a
/// SIGKILL) the N-th time (default: first) execution reaches point `NAME`. The points sit
/// between the steps of the ordering argument in `crate::apply`: `after-journal`, `prepare` (after each
/// prepare step), `after-barrier-1`, `commit` (after each commit step), `after-commit`,
/// `after-barrier-2`, `after-manifest` (after a seal's record or an unseal's markers), and the
/// v1 → v2 migration's `migrate-record` (after each record) and `migrate-before-rename`, and
/// `vault prune`'s `prune-record` (after each record removed), `prune-after-records` and
/// `prune-object` (after each object removed).
pub fn failpoint(name: &str) {
    #[cfg(feature = "failpoints")]
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static HITS: std::sync::Mutex<Vec<(String, usize)>> = std::sync::Mutex::new(Vec::new());
        static ARMED: AtomicUsize = AtomicUsize::new(0);
        let Ok(spec) = std::env::var("MAPVAULT_FAILPOINT") else {
            return;
        };
        let (want, nth) = match spec.split_once(':') {
            Some((w, n)) => (w.to_string(), n.parse().unwrap_or(1)),
            None => (spec.clone(), 1),
        };
        if want != name {
            return;
        }
        let count = match HITS.lock() {
            Ok(mut h) => match h.iter_mut().find(|(n, _)| n == name) {
                Some(e) => {
                    e.1 += 1;
                    e.1
                }
                None => {
                    h.push((name.to_string(), 1));
                    1
                }
            },
            Err(_) => return,
        };
        if count == nth && ARMED.fetch_add(1, Ordering::SeqCst) == 0 {
            std::process::abort();
        }
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}
