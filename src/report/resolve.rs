//! Human renderers for `resolve` and `export`. Sources, names and URLs come from maps and stack
//! traces — untrusted — so everything printed passes through [`crate::sanitize`].

use std::io::{self, Write};

use super::human::Style;
use crate::export::ExportReport;
use crate::resolve::{Failure, FrameReport, ResolveReport};
use crate::sanitize::{for_terminal, truncate};

/// One note on stderr, escaped for the terminal (a failed write to stderr is not an error).
fn note(err: &mut dyn Write, text: &str) {
    let _ = writeln!(err, "mapvault: note: {}", for_terminal(text));
}

/// The source line with a caret under `column` (1-based); tabs kept so the caret lines up.
fn source_excerpt(line_no: u64, column: u64, text: &str) -> String {
    let text = truncate(text, 300);
    // Tabs are kept (the caret line repeats them); every other control character is escaped.
    let shown = text
        .split('\t')
        .map(for_terminal)
        .collect::<Vec<_>>()
        .join("\t");
    let width = line_no.to_string().len().max(4);
    let pad: String = text
        .chars()
        .take(usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!(
        "{line_no:>width$} | {shown}\n{blank:>width$} | {pad}^",
        blank = ""
    )
}

fn via(f: &FrameReport) -> Option<String> {
    let b = f.bundle.as_ref()?;
    let map = f.map.as_ref()?;
    let map_desc = match &map.path {
        Some(p) => format!("map {}", for_terminal(p)),
        None => "inline map".to_string(),
    };
    Some(format!(
        "{} in {} (matched by {}) → {map_desc} (vault maps/{}.map)",
        for_terminal(&b.path),
        for_terminal(&b.dist),
        b.matched_by,
        map.sha256
    ))
}

/// One position: `source:line:column  name`, the source line, and where it came from (stderr).
/// A stack trace: the rewritten trace on stdout, notes and a count on stderr.
pub fn resolve(
    r: &ResolveReport,
    quiet: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let s = Style { color };
    if !quiet {
        for n in &r.notes {
            note(err, n);
        }
    }
    if let Some(text) = &r.text {
        if !quiet {
            for f in r.frames.iter().filter(|f| !f.resolved) {
                let _ = writeln!(
                    err,
                    "mapvault: line {}: {}",
                    f.input_line.unwrap_or(0),
                    for_terminal(f.note.as_deref().unwrap_or("not resolved"))
                );
            }
        }
        // The trace is the user's own text, printed back as it came in, frames rewritten.
        out.write_all(text.as_bytes())?;
        if !quiet && !r.frames.is_empty() {
            let _ = writeln!(
                err,
                "mapvault: resolved {} of {} frames",
                r.resolved,
                r.frames.len()
            );
        }
        return out.flush();
    }
    for f in &r.frames {
        match &f.original {
            Some(o) => {
                let loc = format!("{}:{}:{}", for_terminal(&o.source), o.line, o.column);
                match &o.name {
                    Some(n) => writeln!(out, "{}  {}", s.green(&loc), for_terminal(n))?,
                    None => writeln!(out, "{}", s.green(&loc))?,
                }
                if let Some(text) = &o.source_line {
                    writeln!(out, "{}", source_excerpt(o.line, o.column, text))?;
                }
                if !quiet {
                    if let Some(v) = via(f) {
                        let _ = writeln!(err, "mapvault: {}", s.dim(&v));
                    }
                    if let Some(n) = &f.note {
                        note(err, n);
                    }
                }
            }
            None => {
                let level = match f.failure {
                    Some(Failure::Unmapped) => "",
                    _ => "error: ",
                };
                let _ = writeln!(
                    err,
                    "mapvault: {level}{}:{}:{}: {}",
                    for_terminal(&f.file),
                    f.line,
                    f.column,
                    for_terminal(f.note.as_deref().unwrap_or("not resolved"))
                );
                if f.failure == Some(Failure::Unmapped)
                    && !quiet
                    && let Some(v) = via(f)
                {
                    let _ = writeln!(err, "mapvault: {}", s.dim(&v));
                }
            }
        }
    }
    out.flush()
}

/// A summary line on stdout; notes and errors on stderr.
pub fn export(
    r: &ExportReport,
    quiet: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let s = Style { color };
    if !quiet {
        for n in &r.notes {
            note(err, n);
        }
    }
    for e in &r.errors {
        let _ = writeln!(
            err,
            "mapvault: error: {}: {}",
            for_terminal(&e.path),
            for_terminal(&e.message)
        );
    }
    if quiet {
        return Ok(());
    }
    let bundles = if r.bundles > 0 {
        format!(" and {} bundle(s)", r.bundles)
    } else {
        String::new()
    };
    let head = if r.errors.is_empty() {
        s.green("exported")
    } else {
        s.red("exported (with errors)")
    };
    writeln!(
        out,
        "{head} {} map(s){bundles} of {} to {}",
        r.maps,
        for_terminal(&r.dist),
        for_terminal(&r.out)
    )?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_lines_up_with_tabs() {
        assert_eq!(
            source_excerpt(7, 3, "\tx = f(y);"),
            "   7 | \tx = f(y);\n     | \t ^"
        );
    }
}
