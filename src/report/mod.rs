//! What commands found, as data, and the renderers that print it. This module (through
//! [`Output`]) is the only code that writes to stdout; reports are built by the commands and
//! never printed by them.

pub mod human;
pub mod json;
pub mod resolve;
pub mod sarif;

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::exit::Outcome;
use crate::scan::LeakKind;

/// One leak, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeakRecord {
    /// Relative to the PATH argument (or the DIST), `/`-separated.
    pub path: String,
    /// The PATH argument the path is relative to — only when verify got several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,

    pub kind: LeakKind,
    pub line: Option<u64>,
    pub message: String,
    /// For a leak at a URL (`verify https://…`): the HTTP status and the request that found
    /// it, as fields of the leak itself; absent for files, so file reports keep their shape.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub http: Option<crate::remote::HttpFinding>,
}

/// Something worth knowing that is neither a leak nor an error (a symlink not followed, a
/// parser fallback, a reference whose target is outside the dist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRecord {
    pub path: String,
    /// A stable name for notes tools may act on (e.g. `wasm-dwarf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub message: String,
}

impl NoteRecord {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        NoteRecord {
            path: path.into(),
            kind: None,
            message: message.into(),
        }
    }
}

/// A file or step that failed (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    pub path: String,
    /// Absent for files that could not be read or changed; `integrity-mismatch` for an HTML
    /// `integrity` value that does not match the local file it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub message: String,
}

/// The result of `verify`. Serialized as the JSON contract:
/// `{"clean", "files_scanned", "leaks": [{"path","kind","line","message"}]}` plus `notes`,
/// `errors`, and `allowed` when `--allow` matched anything.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub clean: bool,
    pub files_scanned: u64,
    pub leaks: Vec<LeakRecord>,
    /// Leaks in files matched by `--allow GLOB`: reported, but they do not fail the run. Left
    /// out of the JSON when empty, so reports without `--allow` keep their exact shape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<LeakRecord>,
    pub notes: Vec<NoteRecord>,
    pub errors: Vec<ErrorRecord>,
    /// HTTP requests sent, when URLs were verified (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
}

impl VerifyReport {
    pub fn outcome(&self) -> Outcome {
        let o = if self.leaks.is_empty() {
            Outcome::Clean
        } else {
            Outcome::LeaksRemain
        };
        if self.errors.is_empty() {
            o
        } else {
            o.merge(Outcome::Failed)
        }
    }

    /// Deterministic order for output.
    pub fn sort(&mut self) {
        for leaks in [&mut self.leaks, &mut self.allowed] {
            leaks.sort_by(|a, b| (&a.path, a.line, a.kind).cmp(&(&b.path, b.line, b.kind)));
        }
        self.notes
            .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        self.errors
            .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    }
}

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
    pub quiet: bool,
}

impl Output {
    pub fn stdio(quiet: bool) -> Self {
        let color = io::stdout().is_terminal() && color_allowed_by_env();
        Output {
            stdout: Box::new(io::stdout().lock()),
            stderr: Box::new(io::stderr()),
            color,
            quiet,
        }
    }

    /// A message for humans on stderr (`mapvault: …`).
    pub fn message(&mut self, text: &str) {
        let _ = writeln!(self.stderr, "mapvault: {text}");
    }
}

/// `NO_COLOR` set to anything but the empty string turns colour off (<https://no-color.org>),
/// in reports and in the progress bar alike.
pub fn color_allowed_by_env() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Treat a closed stdout (`mapvault verify … | head`) as success, like ripgrep does.
pub fn ignore_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
