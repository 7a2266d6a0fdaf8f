//! The renderers: the one layer that turns what commands found and did ([`crate::findings`],
//! the commands' reports) into text for people (human), machines (JSON) and code scanning
//! (SARIF). This module (through [`Output`]) is the only code that writes to stdout; reports
//! are built by the commands and never printed by them.

mod action;
pub mod human;
pub mod json;
pub mod resolve;
pub mod sarif;

use std::cell::Cell;
use std::io::{self, IsTerminal, Write};
use std::rc::Rc;

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
    /// Set once anything was written to `stdout` (then a fatal error adds nothing there).
    wrote: Rc<Cell<bool>>,
}

impl Output {
    pub fn stdio() -> Self {
        let color = io::stdout().is_terminal() && crate::color::allowed_by_env();
        Self::new(Box::new(io::stdout().lock()), Box::new(io::stderr()), color)
    }

    pub fn new(stdout: Box<dyn Write>, stderr: Box<dyn Write>, color: bool) -> Self {
        let wrote = Rc::new(Cell::new(false));
        Output {
            stdout: Box::new(Tracked {
                inner: stdout,
                wrote: Rc::clone(&wrote),
            }),
            stderr,
            color,
            wrote,
        }
    }

    /// A message for humans on stderr (`mapvault: …`).
    pub fn message(&mut self, text: &str) {
        let _ = writeln!(self.stderr, "mapvault: {text}");
    }

    /// An error that ended the run (exit 2): `mapvault: error: …` on stderr, and, when no
    /// report was written, one machine-readable document on stdout so a pipeline reading it
    /// still gets one. `--format json`: `{"error": {"message", "path"}, "errors": [{"path",
    /// "message"}]}` (`path` names the file or directory the error is about, `null` and `""`
    /// when it is about none); `--format sarif`: a SARIF log with no results and the error as
    /// a failed invocation's notification ([`sarif::fatal_value`]).
    pub fn fatal(&mut self, e: &anyhow::Error, format: FatalFormat) {
        let message = format!("{e:#}");
        self.message(&format!(
            "error: {}",
            crate::sanitize::for_terminal(&message)
        ));
        if format == FatalFormat::Human || self.wrote.get() {
            return;
        }
        let path = e
            .chain()
            .find_map(|c| c.downcast_ref::<crate::exit::PathError>())
            .map(|p| p.path.clone());
        let value = match format {
            FatalFormat::Sarif => sarif::fatal_value(&message, path.as_deref()),
            _ => serde_json::json!({
                "error": { "message": message, "path": path },
                "errors": [{ "path": path.clone().unwrap_or_default(), "message": message }],
            }),
        };
        // A closed stdout is not worth a second message.
        let _ = json::write(&mut *self.stdout, &value);
    }
}

/// What stdout must hold when a run ends in a fatal error: nothing more (human output), or one
/// JSON object / one SARIF log, as the command's `--format` promised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatalFormat {
    Human,
    Json,
    Sarif,
}

/// Stdout, noting whether anything was written to it.
struct Tracked {
    inner: Box<dyn Write>,
    wrote: Rc<Cell<bool>>,
}

impl Write for Tracked {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            self.wrote.set(true);
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
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
