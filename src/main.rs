//! The `mapvault` binary: hand the command line to [`mapvault::app::run`] and exit with its code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(mapvault::app::run(std::env::args_os()))
}
