//! The colour policy, in one place for reports and the progress bar: `NO_COLOR` set to anything
//! but the empty string turns colour off (<https://no-color.org>).

/// Whether the environment allows colour (the caller also checks for a terminal).
pub fn allowed_by_env() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
