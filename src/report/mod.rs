//! The renderers: the one layer that turns what commands found and did ([`crate::findings`],
//! the commands' reports) into text for people (human), machines (JSON) and code scanning
//! (SARIF). This module (through [`Output`]) is the only code that writes to stdout; reports
//! are built by the commands and never printed by them.

mod action;
pub mod human;
pub mod json;
pub mod resolve;
pub mod sarif;

use std::io::{self, IsTerminal, Write};

/// Output format chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0 (verify only).
    Sarif,
}

/// Where reports go: stdout for the report itself, stderr for messages. Colour only on a
/// terminal and only without `NO_COLOR`.
pub struct Output {
    pub stdout: Box<dyn Write>,
    pub stderr: Box<dyn Write>,
    pub color: bool,
}

impl Output {
    pub fn stdio() -> Self {
        let color = io::stdout().is_terminal() && crate::color::allowed_by_env();
        Output {
            stdout: Box::new(io::stdout().lock()),
            stderr: Box::new(io::stderr()),
            color,
        }
    }

    /// A message for humans on stderr (`mapvault: …`).
    pub fn message(&mut self, text: &str) {
        let _ = writeln!(self.stderr, "mapvault: {text}");
    }
}

/// `n word` or `n words` (`y` → `ies`), for counts in sentences.
pub(crate) fn plural(n: u64, word: &str) -> String {
    let many = match word.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{word}s"),
    };
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {many}")
    }
}

/// Treat a closed stdout (`mapvault verify … | head`) as success, like ripgrep does.
pub fn ignore_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "directory"), "1 directory");
        assert_eq!(plural(2, "empty directory"), "2 empty directories");
        assert_eq!(plural(0, "map"), "0 maps");
    }
}
