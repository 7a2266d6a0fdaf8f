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
