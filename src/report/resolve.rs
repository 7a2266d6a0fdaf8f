//! Renderers for `resolve` and `export`. Sources, names and URLs come from maps and stack
//! traces — untrusted — so everything printed for a human passes through [`crate::sanitize`].
//!
//! A stack trace is rendered as it is resolved ([`run`] drives [`crate::resolve::trace`] with
//! a sink per format): the human sink writes each line of the rewritten trace at once, the JSON
//! sink writes each frame into the `frames` array at once and keeps only the rewritten text
//! (about the size of the input) for the `text` member at the end. So the output of a long
//! trace is never held in memory twice.

use std::io::{self, BufRead, Write};

use super::Format;
use super::human::Style;
use crate::exit::Outcome;
use crate::export::ExportReport;
use crate::resolve::{
    self, Failure, FrameReport, ResolveOptions, ResolveReport, TraceError, TraceSink,
};
use crate::sanitize::for_terminal;

/// One note on stderr, escaped for the terminal (a failed write to stderr is not an error).
fn note(err: &mut dyn Write, text: &str) {
    let _ = writeln!(err, "mapvault: note: {}", for_terminal(text));
}

/// The source line with a caret under `column` (1-based); tabs kept so the caret lines up. A
/// window of a longer line is marked with `…` where the line goes on.
fn source_excerpt(line_no: u64, column: u64, text: &str, start: u64, goes_on: bool) -> String {
    // Tabs are kept (the caret line repeats them); every other control character is escaped.
    let shown = text
        .split('\t')
        .map(for_terminal)
        .collect::<Vec<_>>()
        .join("\t");
    let before = if start > 1 { "…" } else { "" };
    let after = if goes_on { "…" } else { "" };
    let width = line_no.to_string().len().max(4);
    // Columns are UTF-16 units; the caret pads with one space per character before it.
    let mut pad: String = before.chars().map(|_| ' ').collect();
    let mut unit = start.max(1);
    for c in text.chars() {
        if unit >= column {
            break;
        }
        pad.push(if c == '\t' { '\t' } else { ' ' });
        unit += c.len_utf16() as u64;
    }
    format!(
        "{line_no:>width$} | {before}{shown}{after}\n{blank:>width$} | {pad}^",
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

/// `source:line:column` of an original position (`<anonymous>` for a source the map leaves
/// unnamed), escaped.
fn location(o: &crate::resolve::Original) -> String {
    let source = o
        .source
        .as_deref()
        .map_or_else(|| "<anonymous>".into(), for_terminal);
    format!("{source}:{}:{}", o.line, o.column)
}

/// One position: `source:line:column  name`, the source line, and where it came from (stderr).
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
    for f in &r.frames {
        match &f.original {
            Some(o) => {
                let loc = location(o);
                match &o.name {
                    Some(n) => writeln!(out, "{}  {}", s.green(&loc), for_terminal(n))?,
                    None => writeln!(out, "{}", s.green(&loc))?,
                }
                if let Some(text) = &o.source_line {
                    let start = o.source_line_start.unwrap_or(1);
                    let excerpt =
                        source_excerpt(o.line, o.column, text, start, o.source_line_goes_on);
                    writeln!(out, "{excerpt}")?;
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
            None => unresolved(f, quiet, err, color),
        }
    }
    out.flush()
}

fn unresolved(f: &FrameReport, quiet: bool, err: &mut dyn Write, color: bool) {
    let s = Style { color };
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

/// The human form of a stack trace: the rewritten trace on stdout, line by line; a note per
/// frame that did not resolve on stderr, as it happens.
struct HumanTrace<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    quiet: bool,
}

impl TraceSink for HumanTrace<'_> {
    fn frame(&mut self, f: &FrameReport) -> io::Result<()> {
        if !self.quiet && !f.resolved {
            let _ = writeln!(
                self.err,
                "mapvault: line {}: {}",
                f.input_line.unwrap_or(0),
                for_terminal(f.note.as_deref().unwrap_or("not resolved"))
            );
        }
        Ok(())
    }

    fn text(&mut self, line: &str) -> io::Result<()> {
        // The trace is the user's own text, printed back as it came in, frames rewritten (what
        // the map contributed to them is escaped).
        self.out.write_all(line.as_bytes())
    }
}

/// The JSON form of a stack trace, written as it goes: `{"frames": [` each frame `]`, then the
/// counts, `text` and `notes` — the shape of [`ResolveReport`] plus `text`.
struct JsonTrace<'a> {
    out: &'a mut dyn Write,
    frames: usize,
    text: String,
}

impl TraceSink for JsonTrace<'_> {
    fn frame(&mut self, f: &FrameReport) -> io::Result<()> {
        self.out.write_all(if self.frames == 0 {
            b"{\"frames\":["
        } else {
            b","
        })?;
        self.frames += 1;
        serde_json::to_writer(&mut *self.out, f).map_err(io::Error::other)
    }

    fn text(&mut self, line: &str) -> io::Result<()> {
        self.text.push_str(line);
        Ok(())
    }
}

impl JsonTrace<'_> {
    fn finish(self, resolved: usize, notes: &[String]) -> io::Result<()> {
        let out = self.out;
        out.write_all(if self.frames == 0 {
            b"{\"frames\":["
        } else {
            b""
        })?;
        write!(
            out,
            "],\"resolved\":{resolved},\"unresolved\":{},\"text\":",
            self.frames - resolved
        )?;
        serde_json::to_writer(&mut *out, &self.text).map_err(io::Error::other)?;
        out.write_all(b",\"notes\":")?;
        serde_json::to_writer(&mut *out, notes).map_err(io::Error::other)?;
        out.write_all(b"}\n")?;
        out.flush()
    }
}

/// Run `resolve`: one position, or the stack trace on `input`, rendered in `format`. Returns
/// the outcome and the result of writing the output (a closed stdout is the caller's call).
#[expect(
    clippy::too_many_arguments,
    reason = "the command's whole context, passed once"
)]
pub fn run(
    opts: &ResolveOptions,
    format: Format,
    quiet: bool,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
    on_wait: &mut dyn FnMut(&str),
) -> anyhow::Result<(Outcome, io::Result<()>)> {
    if let Some(pos) = &opts.position {
        let rep = resolve::resolve(opts, pos, on_wait)?;
        let w = match format {
            Format::Json | Format::Sarif => super::json::write(out, &rep),
            Format::Human => resolve(&rep, quiet, out, err, color),
        };
        return Ok((rep.outcome(), w));
    }
    let mut r = resolve::Resolver::open(opts, on_wait)?;
    let res = match format {
        Format::Json | Format::Sarif => {
            let mut sink = JsonTrace {
                out: &mut *out,
                frames: 0,
                text: String::new(),
            };
            match resolve::trace(&mut r, input, &mut sink) {
                Ok(sum) => Ok(sink.finish(sum.resolved, &r.notes)),
                Err(e) => Err(e),
            }
        }
        Format::Human => {
            if !quiet {
                for n in &r.notes {
                    note(err, n);
                }
            }
            let notes_before = r.notes.len();
            let mut sink = HumanTrace {
                out: &mut *out,
                err: &mut *err,
                quiet,
            };
            match resolve::trace(&mut r, input, &mut sink) {
                Ok(sum) => {
                    if !quiet {
                        for n in &r.notes[notes_before..] {
                            note(err, n);
                        }
                        if sum.frames > 0 {
                            let _ = writeln!(
                                err,
                                "mapvault: resolved {} of {} frames",
                                sum.resolved, sum.frames
                            );
                        }
                    }
                    Ok(out.flush())
                }
                Err(e) => Err(e),
            }
        }
    };
    match res {
        Ok(w) => Ok((Outcome::Clean, w)),
        Err(TraceError::Output(e)) => Ok((Outcome::Clean, Err(e))),
        Err(TraceError::Input(e)) => Err(anyhow::anyhow!(
            "cannot read the stack trace from stdin: {e}"
        )),
    }
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
            source_excerpt(7, 3, "\tx = f(y);", 1, false),
            "   7 | \tx = f(y);\n     | \t ^"
        );
    }

    #[test]
    fn a_window_is_marked_and_the_caret_stays_under_the_column() {
        // The window starts at column 101; column 103 is its third character.
        assert_eq!(
            source_excerpt(1, 103, "abcdef", 101, true),
            "   1 | …abcdef…\n     |    ^"
        );
        // A surrogate pair is two columns wide and one character.
        assert_eq!(
            source_excerpt(1, 4, "😀xy", 1, false),
            "   1 | 😀xy\n     |   ^"
        );
    }
}
