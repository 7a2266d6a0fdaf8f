//! Running one command line: parse, validate, run the command in the worker pool, render its
//! report, and turn the outcome into an exit code.

use std::ffi::OsString;

use clap::Parser;

use crate::cli::Cli;
use crate::config::{Config, Job};
use crate::exit::Outcome;
use crate::report::{self, FatalFormat, Format, Output, human, json};
use crate::{export, parallel, progress, seal, unseal};

/// Run mapvault with `args` (including the program name); returns the exit code.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // Seal holds a group of maps open per worker; inspection also bounds the group by the
    // limit, so this only keeps a low soft limit from slowing it down.
    crate::sys::raise_open_files_limit();
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    let mut out = Output::stdio();
    let fatal = if cli.wants_json() {
        FatalFormat::Json
    } else if cli.wants_sarif() {
        FatalFormat::Sarif
    } else {
        FatalFormat::Human
    };
    match Config::from_cli(cli).and_then(|cfg| execute(cfg, &mut out)) {
        Ok(o) => o.code(),
        Err(e) => {
            out.fatal(&e, fatal);
            Outcome::Failed.code()
        }
    }
}

fn execute(cfg: Config, out: &mut Output) -> anyhow::Result<Outcome> {
    let pool = parallel::pool(cfg.jobs)?;
    let quiet = cfg.quiet;
    let mut waiting = |msg: &str| {
        if !quiet {
            crate::progress::suspend(|| eprintln_safe(&format!("mapvault: {msg}")));
        }
    };
    let Output {
        stdout,
        stderr,
        color,
        ..
    } = out;
    let (o, r) = match cfg.command {
        Job::Verify {
            paths,
            allow,
            remote,
        } => {
            let mut rep = {
                let _bar = progress::start(quiet);
                pool.install(|| crate::remote::verify_all(&paths, remote.as_ref()))
            };
            allow.apply(&mut rep);
            let root = match paths.as_slice() {
                [one] => one.display().to_string(),
                _ => String::new(),
            };
            let r = match cfg.format {
                Format::Json => json::write(stdout, &rep),
                Format::Sarif => report::sarif::write(stdout, &rep, &root),

                Format::Human if quiet => Ok(()),
                Format::Human => human::verify(&rep, stdout, stderr, *color),
            };
            (rep.outcome(), r)
        }
        Job::Seal {
            opts,
            copy_from,
            verbose,
        } => {
            if let Some(src) = &copy_from {
                crate::dist_copy::copy_tree(src, &opts.dist)?;
            }
            let rep = {
                let _bar = progress::start(quiet);
                pool.install(|| seal::seal(&opts, &mut waiting))?
            };
            let r = match cfg.format {
                Format::Json | Format::Sarif => json::write(stdout, &rep),
                Format::Human if quiet => Ok(()),
                Format::Human => human::seal(&rep, verbose, stdout, stderr, *color),
            };
            (rep.outcome(), r)
        }
        Job::Unseal { opts } => {
            let rep = {
                let _bar = progress::start(quiet);
                pool.install(|| unseal::unseal(&opts, &mut waiting))?
            };
            let r = match cfg.format {
                Format::Json | Format::Sarif => json::write(stdout, &rep),
                Format::Human if quiet => Ok(()),
                Format::Human => human::unseal(&rep, stdout, stderr, *color),
            };
            (rep.outcome(), r)
        }
        Job::Generate(what) => (Outcome::Clean, crate::cli::generate(&what, stdout)?),
        Job::Resolve { opts } => {
            // A stack trace is read from stdin and answered line by line.
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            report::resolve::run(
                &opts,
                cfg.format,
                quiet,
                &mut input,
                stdout,
                stderr,
                *color,
                &mut waiting,
            )?
        }
        Job::VaultInfo { vault, id } => {
            use crate::vault::listing;
            let r = match id {
                None => {
                    let rep = listing::list(&vault, &mut waiting)?;
                    match cfg.format {
                        Format::Human => crate::report::human::vault_list(&rep, stdout),
                        _ => json::write(stdout, &rep),
                    }
                }
                Some(id) => {
                    let rep = listing::show(&vault, &id, &mut waiting)?;
                    match cfg.format {
                        Format::Human => crate::report::human::vault_show(&rep, stdout),
                        _ => json::write(stdout, &rep),
                    }
                }
            };
            (Outcome::Clean, r)
        }
        Job::VaultFsck { vault } => {
            let rep = {
                let _bar = progress::start(quiet);
                pool.install(|| crate::vault::fsck::fsck(&vault, &mut waiting))?
            };
            let r = match cfg.format {
                Format::Json | Format::Sarif => json::write(stdout, &rep),
                Format::Human => human::fsck(&rep, stdout, stderr, *color),
            };
            (Outcome::of(rep.damage_found(), false), r)
        }
        Job::VaultPrune { opts } => {
            let rep = crate::vault::prune::prune(&opts, &mut waiting)?;
            let r = match cfg.format {
                Format::Json | Format::Sarif => json::write(stdout, &rep),
                Format::Human => human::prune(&rep, quiet, stdout, stderr),
            };
            (Outcome::Clean, r)
        }
        Job::Export { opts } => {
            let rep = export::export(&opts, &mut waiting)?;
            let r = match cfg.format {
                Format::Json | Format::Sarif => json::write(stdout, &rep),
                Format::Human => report::resolve::export(&rep, quiet, stdout, stderr, *color),
            };
            (rep.outcome(), r)
        }
    };
    report::ignore_broken_pipe(r)?;
    Ok(o)
}

fn eprintln_safe(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
}
