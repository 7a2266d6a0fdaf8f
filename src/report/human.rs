//! Human renderers. File names and URLs are untrusted, so everything printed passes through
//! [`crate::sanitize`].

use std::io::{self, Write};

use super::plural;
use crate::findings::{ErrorRecord, LeakRecord, NoteRecord};
use crate::sanitize::for_terminal;
use crate::seal::SealReport;
use crate::unseal::UnsealReport;
use crate::vault::fsck::FsckReport;
use crate::vault::listing::{ListReport, ShowReport};
use crate::vault::manifest::Action;
use crate::vault::prune::PruneReport;
use crate::verify::VerifyReport;

pub(crate) struct Style {
    pub color: bool,
}

impl Style {
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    pub fn red(&self, t: &str) -> String {
        self.paint("1;31", t)
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("1;32", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
}

pub(crate) fn location(path: &str, line: Option<u64>) -> String {
    match line {
        Some(l) => format!("{}:{l}", for_terminal(path)),
        None => for_terminal(path),
    }
}

/// One line per leak (`label` in red), then one per allowed leak: a list of their own, after
/// the real ones, so they are seen but not mistaken for failures.
fn leak_lines(
    out: &mut dyn Write,
    s: &Style,
    label: &str,
    leaks: &[LeakRecord],
    allowed: &[LeakRecord],
) -> io::Result<()> {
    let tagged = leaks.iter().map(|l| (l, false));
    for (l, ok) in tagged.chain(allowed.iter().map(|l| (l, true))) {
        let (tag, kind) = if ok {
            (s.dim("allowed"), s.dim(l.kind.as_str()))
        } else {
            (s.red(label), s.yellow(l.kind.as_str()))
        };
        let at = location(&l.path, l.line);
        let http = l.http.as_ref().map(http_detail).unwrap_or_default();
        writeln!(
            out,
            "{tag}  {at}  {kind}  {}{http}",
            for_terminal(&l.message)
        )?;
    }
    Ok(())
}

/// Interrupted runs a seal or unseal finished first, on stderr.
fn preamble(err: &mut dyn Write, resumed: &[String]) {
    for id in resumed {
        let _ = writeln!(
            err,
            "mapvault: note: finished an interrupted run first ({id})"
        );
    }
}

/// Notes and errors on stderr, one line each (failures to write there are not failures of the
/// run).
fn notes_and_errors(err: &mut dyn Write, notes: &[NoteRecord], errors: &[ErrorRecord]) {
    let notes = notes.iter().map(|n| ("note", &n.path, &n.message));
    let errors = errors.iter().map(|e| ("error", &e.path, &e.message));
    for (tag, path, message) in notes.chain(errors) {
        let _ = writeln!(
            err,
            "mapvault: {tag}: {}: {}",
            for_terminal(path),
            for_terminal(message)
        );
    }
}

/// ` [HTTP 200, map-suffix from URL]`: how a leak at a URL was found.
fn http_detail(h: &crate::findings::HttpFinding) -> String {
    match &h.linked_from {
        Some(from) => format!(
            " [HTTP {}, {} from {}]",
            h.status,
            h.found_by.as_str(),
            for_terminal(from)
        ),
        None => format!(" [HTTP {}]", h.status),
    }
}

/// The verify report: one line per leak on stdout, then a summary; notes and errors on stderr.
pub fn verify(
    r: &VerifyReport,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let s = Style { color };
    leak_lines(out, &s, "leak", &r.leaks, &r.allowed)?;
    notes_and_errors(err, &r.notes, &r.errors);
    let files: std::collections::BTreeSet<&str> = r.leaks.iter().map(|l| l.path.as_str()).collect();
    let req = r
        .requests
        .map(|n| format!(" ({})", plural(n, "HTTP request")))
        .unwrap_or_default();
    let allowed = if r.allowed.is_empty() {
        String::new()
    } else {
        format!(
            "{} {} (--allow)",
            if r.leaks.is_empty() { " except" } else { ";" },
            plural(r.allowed.len() as u64, "allowed leak")
        )
    };
    if r.leaks.is_empty() && !r.errors.is_empty() {
        // Never "clean" when something could not be read: the run proves nothing about it.
        if r.files_scanned == 0 {
            writeln!(
                out,
                "{} nothing scanned{req}: {}",
                s.red("incomplete:"),
                plural(r.errors.len() as u64, "error")
            )?;
        } else {
            writeln!(
                out,
                "{} {} scanned{req} without leaks{allowed}, but {}",
                s.red("incomplete:"),
                plural(r.files_scanned, "file"),
                plural(r.errors.len() as u64, "error")
            )?;
        }
    } else if r.leaks.is_empty() {
        writeln!(
            out,
            "{} {} scanned{req}, no source maps or references{allowed}",
            s.green("clean:"),
            plural(r.files_scanned, "file")
        )?;
    } else {
        writeln!(
            out,
            "{} {} in {} of {} scanned{req}{allowed}",
            s.red("leaks:"),
            plural(r.leaks.len() as u64, "leak"),
            files.len(),
            plural(r.files_scanned, "file")
        )?;
    }
    if !r.leaks.is_empty() && !r.errors.is_empty() {
        writeln!(
            out,
            "{} {}",
            s.red("errors:"),
            plural(r.errors.len() as u64, "file")
        )?;
    }
    out.flush()
}

/// Bytes in human units (KiB, MiB).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The seal report: the plan (dry run or `--verbose`), then a summary and anything left over.
pub fn seal(
    r: &SealReport,
    verbose: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let s = Style { color };
    preamble(err, &r.resumed);
    if r.dry_run || verbose {
        for a in &r.actions {
            let verb = if r.dry_run {
                format!("would {}", a.change.name())
            } else {
                a.change.name().to_string()
            };
            writeln!(
                out,
                "{}  {}  {}",
                s.yellow(&verb),
                location(&a.path, a.line),
                for_terminal(&super::action::detail(&a.change))
            )?;
        }
    }
    notes_and_errors(err, &r.notes, &r.errors);
    leak_lines(out, &s, "still leaks", &r.leaks, &r.allowed)?;
    let mut what = format!(
        "{} stripped, {} edited, {} ({}) moved, {} extracted, {} removed",
        plural(r.references_stripped, "reference"),
        plural(r.files_edited, "file"),
        plural(r.maps_moved, "map"),
        bytes(r.map_bytes),
        plural(r.inline_maps_extracted, "inline map"),
        plural(r.dirs_removed, "empty directory")
    );
    if r.debug_ids > 0 {
        what.push_str(&format!(", {} given", plural(r.debug_ids, "debug ID")));
    }

    let secs = r.elapsed_ms as f64 / 1000.0;
    if r.dry_run {
        writeln!(
            out,
            "{} would have: {what}; {} scanned, nothing changed",
            s.yellow("dry run:"),
            plural(r.files_scanned, "file")
        )?;
    } else {
        writeln!(
            out,
            "{} {what}; {} scanned in {secs:.2}s",
            s.green("sealed:"),
            plural(r.files_scanned, "file")
        )?;
        writeln!(out, "vault: {}", for_terminal(&r.vault))?;
        if r.clean && r.leaks.is_empty() && !r.allowed.is_empty() {
            writeln!(
                out,
                "{} the dist verifies clean except {} left in place (--allow)",
                s.green("verify:"),
                plural(r.allowed.len() as u64, "allowed leak")
            )?;
        } else if r.clean && r.leaks.is_empty() {
            writeln!(out, "{} the dist verifies clean", s.green("verify:"))?;
        } else {
            let n = r.leaks.len() as u64;
            writeln!(
                out,
                "{} {} {}",
                s.red("verify:"),
                plural(n, "leak"),
                if n == 1 { "remains" } else { "remain" }
            )?;
        }
    }
    if !r.errors.is_empty() {
        // Printed on stderr above; the summary must not read as a success without them.
        writeln!(
            out,
            "{} {} (printed above): what they name {} sealed; fix it and run seal again",
            s.red("errors:"),
            plural(r.errors.len() as u64, "error"),
            if r.dry_run { "would not be" } else { "was not" }
        )?;
    }
    out.flush()
}

/// The unseal report.
pub fn unseal(
    r: &UnsealReport,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let s = Style { color };
    preamble(err, &r.resumed);
    notes_and_errors(err, &r.notes, &r.errors);
    if r.seals.is_empty() {
        writeln!(out, "{} nothing to restore", s.dim("unseal:"))?;
    } else {
        writeln!(
            out,
            "{} {} restored ({} copied back, {} put back), {} recreated from seal {} in {:.2}s; the vault keeps them",
            s.green("unsealed:"),
            plural(r.files_restored, "file"),
            plural(r.maps_restored, "map"),
            plural(r.references_restored, "comment"),
            plural(r.dirs_recreated, "directory"),
            r.seals.join(", "),
            r.elapsed_ms as f64 / 1000.0
        )?;
    }
    out.flush()
}

/// The `vault fsck` report: one line per damaged object (with the seals and files it breaks),
/// per unparsable record and per unreferenced object, then a summary; notes on stderr.
pub fn fsck(
    r: &FsckReport,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let s = Style { color };
    for n in &r.notes {
        let _ = writeln!(err, "mapvault: note: {}", for_terminal(n));
    }
    for d in &r.damaged {
        let problem = match d.problem {
            crate::vault::fsck::Problem::Missing => "missing",
            _ => "damaged",
        };
        writeln!(
            out,
            "{} {}: {}",
            s.red(&format!("{problem}:")),
            d.object,
            for_terminal(&d.reason)
        )?;
        if d.affects.is_empty() {
            writeln!(out, "  {}", s.dim("no seal needs it"))?;
        }
        for a in &d.affects {
            writeln!(
                out,
                "  breaks seal {}: {}",
                a.seal,
                for_terminal(&a.files.join(", "))
            )?;
        }
    }
    for b in &r.bad_records {
        writeln!(
            out,
            "{} {}: {}",
            s.red("unreadable record:"),
            for_terminal(&b.path),
            for_terminal(&b.reason)
        )?;
    }
    for u in &r.unreferenced {
        writeln!(
            out,
            "{} {} ({}; no seal needs it: `vault prune` removes it)",
            s.yellow("unreferenced:"),
            u.object,
            plural(u.bytes, "byte")
        )?;
    }
    let checked = format!(
        "{} ({}) and {} checked",
        plural(r.objects, "object"),
        plural(r.bytes, "byte"),
        plural(r.records, "record")
    );
    if r.clean {
        writeln!(out, "{} {checked}", s.green("clean:"))?;
    } else {
        writeln!(
            out,
            "{} {checked}: {} damaged or missing, {} unreadable",
            s.red("damaged:"),
            plural(r.damaged.len() as u64, "object"),
            plural(r.bad_records.len() as u64, "record")
        )?;
    }
    out.flush()
}

/// The `vault prune` report: each seal and object removed (or, with `--dry-run`, that would
/// be), then a summary; notes on stderr. `quiet`: the summary only.
pub fn prune(
    r: &PruneReport,
    quiet: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    for n in &r.notes {
        let _ = writeln!(err, "mapvault: note: {}", for_terminal(n));
    }
    let verb = if r.dry_run { "would remove" } else { "removed" };
    if !quiet {
        for id in &r.seals_removed {
            writeln!(out, "{verb} seal {id}")?;
        }
        for o in &r.objects_removed {
            writeln!(out, "{verb} {} ({})", o.object, plural(o.bytes, "byte"))?;
        }
    }
    writeln!(
        out,
        "{}: {verb} {} and {} ({} freed); {} kept",
        if r.dry_run { "dry run" } else { "pruned" },
        plural(r.seals_removed.len() as u64, "seal"),
        plural(r.objects_removed.len() as u64, "object"),
        plural(r.bytes_freed, "byte"),
        plural(r.seals_kept, "seal")
    )?;
    out.flush()
}

/// `vault list`, for people: one line per seal.
pub fn vault_list(r: &ListReport, out: &mut dyn Write) -> io::Result<()> {
    if r.seals.is_empty() {
        return writeln!(out, "vault {}: no seals", r.vault);
    }
    for s in &r.seals {
        writeln!(
            out,
            "{}  {}  {}  {}, {} ({}){}",
            s.id,
            s.sealed_at,
            for_terminal(&s.dist),
            plural(s.files, "file"),
            plural(s.maps, "map"),
            bytes(s.bytes),
            s.unsealed
                .as_ref()
                .map(|t| format!("  (unsealed {t})"))
                .unwrap_or_default()
        )?;
    }
    out.flush()
}

/// `vault show ID`, for people: the seal and each file it changed.
pub fn vault_show(r: &ShowReport, out: &mut dyn Write) -> io::Result<()> {
    let s = crate::vault::listing::summary(&r.seal, r.unsealed.as_ref());
    writeln!(out, "seal      {}", s.id)?;
    writeln!(out, "dist      {}", for_terminal(&s.dist))?;
    writeln!(out, "sealed at {}  ({})", s.sealed_at, s.tool)?;
    if let Some(t) = &s.unsealed {
        writeln!(out, "unsealed  {t}")?;
    }
    writeln!(
        out,
        "{}, {} ({} of maps)",
        plural(s.files, "file"),
        plural(s.maps, "map"),
        bytes(s.bytes)
    )?;
    for f in &r.seal.files {
        let what = match f.action {
            Action::Moved => "moved ",
            Action::Edited => "edited",
            Action::Replaced => "replaced",
        };
        writeln!(out, "  {what}  {}", for_terminal(&f.path.lossy()))?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verify_with_errors_is_never_called_clean() -> io::Result<()> {
        let report = |errors: usize| VerifyReport {
            clean: true,
            files_scanned: 3,
            leaks: vec![],
            allowed: vec![],
            notes: vec![],
            errors: (0..errors)
                .map(|i| ErrorRecord::new(format!("f{i}"), "cannot read"))
                .collect(),
            requests: None,
        };
        let text = |r: &VerifyReport| -> io::Result<String> {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            verify(r, &mut out, &mut err, false)?;
            Ok(String::from_utf8_lossy(&out).into_owned())
        };
        let out = text(&report(2))?;
        assert!(!out.contains("clean"), "{out}");
        assert!(
            out.starts_with("incomplete: 3 files scanned without leaks, but 2 errors"),
            "{out}"
        );
        assert!(text(&report(0))?.starts_with("clean: 3 files scanned"));
        // Counts in words: no "1 files", no "0 files scanned without leaks".
        let one = VerifyReport {
            files_scanned: 1,
            ..report(0)
        };
        assert!(
            text(&one)?.starts_with("clean: 1 file scanned,"),
            "{}",
            text(&one)?
        );
        let none = VerifyReport {
            files_scanned: 0,
            ..report(1)
        };
        assert!(
            text(&none)?.starts_with("incomplete: nothing scanned: 1 error"),
            "{}",
            text(&none)?
        );
        Ok(())
    }

    /// A seal that ended with errors says so in its summary (they are printed on stderr), and
    /// counts agree with their verbs.
    #[test]
    fn a_seal_with_errors_says_so_in_its_summary() -> io::Result<()> {
        let leak = |p: &str| LeakRecord {
            path: p.into(),
            root: None,
            kind: crate::findings::LeakKind::SourceMap,
            line: None,
            message: "source map file".into(),
            http: None,
        };
        let text = |r: &SealReport| -> io::Result<String> {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            seal(r, false, &mut out, &mut err, false)?;
            Ok(String::from_utf8_lossy(&out).into_owned())
        };
        let r = SealReport {
            leaks: vec![leak("a.js.map")],
            errors: vec![ErrorRecord::new("a.js.map", "cannot read")],
            ..SealReport::default()
        };
        let out = text(&r)?;
        assert!(out.contains("verify: 1 leak remains\n"), "{out}");
        assert!(
            out.contains("errors: 1 error (printed above): what they name was not sealed"),
            "{out}"
        );
        let r = SealReport {
            leaks: vec![leak("a.js.map"), leak("b.js.map")],
            ..SealReport::default()
        };
        let out = text(&r)?;
        assert!(out.contains("verify: 2 leaks remain\n"), "{out}");
        assert!(!out.contains("errors:"), "{out}");
        Ok(())
    }

    #[test]
    fn human_units() {
        assert_eq!(bytes(12), "12 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
    }
}
