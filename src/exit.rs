//! The one place outcomes become exit codes: 0 clean, 1 leaks remain (for `vault fsck`: damage
//! found in the vault), 2 usage or I/O error (for `vault fsck`: the vault could not be checked).
//! An error beats a leak ([`Outcome::merge`]).

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Nothing leaks (verify), or everything was sealed/unsealed.
    Clean,
    /// Leaks remain: verify found some, or seal could not remove them all. For `vault fsck`:
    /// an object is damaged or missing, or a record unreadable.
    LeaksRemain,
    /// A usage or I/O error happened somewhere.
    Failed,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::LeaksRemain => 1,
            Outcome::Failed => 2,
        }
    }

    /// The outcome of a report: leaks left make it [`Outcome::LeaksRemain`], errors
    /// [`Outcome::Failed`] (an error beats a leak).
    pub fn of(leaks_remain: bool, errors: bool) -> Outcome {
        match (leaks_remain, errors) {
            (_, true) => Outcome::Failed,
            (true, false) => Outcome::LeaksRemain,
            (false, false) => Outcome::Clean,
        }
    }

    /// Combine two outcomes; the worse one wins (2 beats 1 beats 0).
    #[must_use]
    pub fn merge(self, other: Outcome) -> Outcome {
        self.max(other)
    }
}

/// An error about one path, which a fatal error's JSON object names in `path`
/// ([`crate::report::Output::fatal`]). Its text is the whole message (it names the path too).
#[derive(Debug)]
pub struct PathError {
    pub path: String,
    pub message: String,
}

impl PathError {
    /// The error (as an [`anyhow::Error`]) that `message` is about `path`.
    pub fn at(path: &std::path::Path, message: String) -> anyhow::Error {
        anyhow::Error::new(PathError {
            path: path.display().to_string(),
            message,
        })
    }
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PathError {}

#[cfg(test)]
mod tests {
    use super::Outcome::*;

    #[test]
    fn error_beats_leak_beats_clean() {
        assert_eq!(Clean.merge(LeaksRemain), LeaksRemain);
        assert_eq!(LeaksRemain.merge(Failed), Failed);
        assert_eq!(Failed.merge(Clean), Failed);
        assert_eq!([Clean, LeaksRemain, Failed].map(|o| o.code()), [0, 1, 2]);
    }

    #[test]
    fn a_report_with_errors_fails_whatever_it_leaks() {
        use super::Outcome;
        assert_eq!(Outcome::of(false, false), Clean);
        assert_eq!(Outcome::of(true, false), LeaksRemain);
        assert_eq!(Outcome::of(true, true), Failed);
        assert_eq!(Outcome::of(false, true), Failed);
    }
}
