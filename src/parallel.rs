//! The worker pool: `--jobs` threads (default: one per core), each with a stack large enough
//! for the parser on ordinary input, registered with the JS scanner so it can parse in place.

use rayon::{ThreadPool, ThreadPoolBuilder};

/// Stack for each worker. Reserved virtual memory; only touched pages become resident.
pub const WORKER_STACK: usize = 64 << 20;

/// Build the pool. `jobs == 0` means one thread per available core.
pub fn pool(jobs: usize) -> anyhow::Result<ThreadPool> {
    ThreadPoolBuilder::new()
        .num_threads(jobs)
        .stack_size(WORKER_STACK)
        .thread_name(|i| format!("mapvault-{i}"))
        .start_handler(|_| crate::scan::js::set_thread_stack_size(WORKER_STACK))
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start worker threads: {e}"))
}

/// Phase timings for profiling a run: with `MAPVAULT_PHASES=1` in the environment, each
/// [`Phases::mark`] prints `mapvault: phase NAME: N ms` to stderr (the time since the previous
/// mark). Costs one environment lookup per run otherwise. Not a contract: for benchmarks only.
pub struct Phases {
    on: bool,
    last: std::time::Instant,
}

impl Phases {
    pub fn start() -> Self {
        Phases {
            on: std::env::var_os("MAPVAULT_PHASES").is_some_and(|v| !v.is_empty() && v != "0"),
            last: std::time::Instant::now(),
        }
    }

    pub fn mark(&mut self, name: &str) {
        if self.on {
            use std::io::Write;
            let now = std::time::Instant::now();
            let ms = now.duration_since(self.last).as_secs_f64() * 1000.0;
            let _ = writeln!(std::io::stderr(), "mapvault: phase {name}: {ms:.1} ms");
            self.last = now;
        }
    }
}
