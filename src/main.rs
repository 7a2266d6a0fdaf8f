//! The `mapvault` binary: hand the command line to [`mapvault::app::run`] and exit with its code.

fn main() -> std::process::ExitCode {
    ignore_sigxfsz();
    std::process::ExitCode::from(mapvault::app::run(std::env::args_os()))
}

/// A write past `ulimit -f` must fail with `EFBIG` (reported as an error naming the file, exit 2)
/// instead of killing the process with SIGXFSZ midway through a seal.
#[cfg(unix)]
#[expect(
    unsafe_code,
    reason = "setting a signal disposition has no safe std API"
)]
fn ignore_sigxfsz() {
    // SAFETY: SIG_IGN for SIGXFSZ installs no handler code; it only changes what the kernel
    // does when a write exceeds RLIMIT_FSIZE. Called first thing, before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Windows has no SIGXFSZ: a write past a quota fails as an error.
#[cfg(windows)]
fn ignore_sigxfsz() {}
