//! Validated settings, built from the parsed command line. Resolves paths (absolute, canonical
//! where they exist), refuses a vault inside the dist (or the dist inside the vault), and keeps
//! clap types out of the rest of the program.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use crate::allow::AllowList;
use crate::cli::{Cli, Command, FormatArg, Generated, RemoteArgs, VerifyFormatArg};
use crate::exit::PathError;
use crate::export::ExportOptions;
use crate::remote::RemoteOptions;
use crate::report::Format;
use crate::resolve::{Position, ResolveOptions};
use crate::seal::SealOptions;
use crate::unseal::UnsealOptions;
use crate::vault::VaultLoc;

#[derive(Debug)]
pub struct Config {
    pub quiet: bool,
    pub jobs: usize,
    pub format: Format,
    pub command: Job,
}

#[derive(Debug)]
pub enum Job {
    Seal {
        opts: SealOptions,
        /// `--out`: copy this source dist to `opts.dist` first.
        copy_from: Option<PathBuf>,
        verbose: bool,
    },
    Verify {
        paths: Vec<PathBuf>,
        /// `--allow GLOB`: leaks of matching files are reported as allowed.
        allow: AllowList,
        /// The URL arguments and how to check them (`None` when there are none).
        remote: Option<RemoteOptions>,
    },
    Unseal {
        opts: UnsealOptions,
    },
    /// `completions SHELL` / `man [COMMAND]`: text generated from the command-line definition.
    Generate(Generated),
    /// `resolve`: with no position, the stack trace is read from stdin.
    Resolve {
        opts: ResolveOptions,
    },
    Export {
        opts: ExportOptions,
    },
    /// `vault list` (`id: None`) or `vault show ID`.
    VaultInfo {
        vault: VaultLoc,
        id: Option<String>,
    },
    /// `vault fsck`.
    VaultFsck {
        vault: VaultLoc,
    },
    /// `vault prune`.
    VaultPrune {
        opts: crate::vault::prune::PruneOptions,
    },
}

fn format(f: FormatArg) -> Format {
    match f {
        FormatArg::Human => Format::Human,
        FormatArg::Json => Format::Json,
    }
}

/// `vault list|show|fsck|prune`.
fn vault_config(a: &crate::cli::VaultArgs, quiet: bool) -> Result<Config> {
    use crate::cli::VaultCommand;
    let (vault, f) = match &a.command {
        VaultCommand::List(l) => ((&l.vault, &l.vault_option), l.format),
        VaultCommand::Show(s) => ((&s.vault, &s.vault_option), s.format),
        VaultCommand::Fsck(c) => ((&c.vault, &c.vault_option), c.format),
        VaultCommand::Prune(p) => ((&p.vault, &p.vault_option), p.format),
    };
    let vault = vault_loc(vault.0, vault.1)?;
    let (jobs, command) = match &a.command {
        VaultCommand::List(_) => (1, Job::VaultInfo { vault, id: None }),
        VaultCommand::Show(s) => (
            1,
            Job::VaultInfo {
                vault,
                id: Some(s.id.clone()),
            },
        ),
        // Hashing is the work: one thread per core, like `seal`'s default.
        VaultCommand::Fsck(_) => (0, Job::VaultFsck { vault }),
        VaultCommand::Prune(p) => (
            1,
            Job::VaultPrune {
                opts: crate::vault::prune::PruneOptions {
                    vault,
                    keep_last: p.keep_last.map(|n| n as usize),
                    older_than: p.older_than,
                    dist: p.dist.as_deref().map(resolve_maybe_missing).transpose()?,
                    dry_run: p.dry_run,
                },
            },
        ),
    };
    Ok(Config {
        quiet,
        jobs,
        format: format(f),
        command,
    })
}

/// Make `p` absolute and remove `.`/`..` lexically (for paths that may not exist yet).
pub fn absolute(p: &Path) -> Result<PathBuf> {
    let base = if p.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir().context("cannot read the current directory")?
    };
    let mut out = PathBuf::new();
    for c in base.join(p).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Canonical form of a path that may not exist: canonicalize its longest existing ancestor and
/// append the rest.
pub fn resolve_maybe_missing(p: &Path) -> Result<PathBuf> {
    let abs = absolute(p)?;
    let mut existing = abs.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    Ok(out)
}

fn dist_dir(p: &Path) -> Result<PathBuf> {
    let m = std::fs::metadata(p)
        .map_err(|e| PathError::at(p, format!("{}: cannot read: {e}", p.display())))?;
    if !m.is_dir() {
        // A package or archive is a thing to check, not to change.
        let hint = if m.is_file() {
            format!(
                " (an archive or a single file is verified, not sealed: mapvault verify {})",
                p.display()
            )
        } else {
            String::new()
        };
        return Err(PathError::at(
            p,
            format!("{} is not a directory{hint}", p.display()),
        ));
    }
    p.canonicalize()
        .with_context(|| format!("{}: cannot resolve", p.display()))
}

/// `what` is `vault` or `--out`, as the message names it.
/// `--vault` and its `--vault-option`s (see [`VaultLoc::parse`]).
fn vault_loc(arg: &Path, options: &[String]) -> Result<VaultLoc> {
    VaultLoc::parse(arg, options, resolve_maybe_missing)
}

fn check_apart(dist: &Path, vault: &Path, what: &str) -> Result<()> {
    let (name, fix) = match what {
        "vault" => ("the vault", "Put the vault outside (--vault DIR)"),
        _ => ("--out", "Put the sealed copy outside (--out DIR)"),
    };
    if vault.starts_with(dist) {
        return Err(PathError::at(
            vault,
            format!(
                "{name} {} is inside the dist {}; it would ship with it. {fix}",
                vault.display(),
                dist.display()
            ),
        ));
    }
    if dist.starts_with(vault) {
        return Err(PathError::at(
            dist,
            format!(
                "the dist {} is inside {name} {}; {fix}",
                dist.display(),
                vault.display()
            ),
        ));
    }
    Ok(())
}

impl Config {
    fn generate(quiet: bool, what: Generated) -> Config {
        Config {
            quiet,
            jobs: 1,
            format: Format::Human,
            command: Job::Generate(what),
        }
    }

    pub fn from_cli(cli: Cli) -> Result<Config> {
        let quiet = cli.quiet;
        // The budget is the process's (all threads share it), so it is set here once, not
        // carried per command.
        crate::budget::set_limit(cli.max_expanded);
        Ok(match cli.command {
            Command::Seal(a) => {
                let vault = vault_loc(&a.vault, &a.vault_option)?;
                let (dist, copy_from) = match &a.out {
                    Some(out) => {
                        let src = dist_dir(&a.dist)?;
                        let out = resolve_maybe_missing(out)?;
                        check_apart(&src, &out, "--out")?;
                        (out, Some(src))
                    }
                    None => (dist_dir(&a.dist)?, None),
                };
                check_apart(&dist, vault.path(), "vault")?;
                if let Some(src) = &copy_from {
                    check_apart(src, vault.path(), "vault")?;
                }
                Config {
                    quiet,
                    jobs: a.jobs,
                    format: format(a.format),
                    command: Job::Seal {
                        opts: SealOptions {
                            dist,
                            vault,
                            dry_run: a.dry_run,
                            debug_ids: a.debug_ids.map(|d| match d {
                                crate::cli::DebugIdsArg::Comment => crate::seal::DebugIds::Comment,
                                crate::cli::DebugIdsArg::Sentry => crate::seal::DebugIds::Sentry,
                            }),
                            allow: AllowList::new(&a.allow)?,
                        },

                        copy_from,
                        verbose: a.verbose,
                    },
                }
            }
            Command::Verify(a) => {
                let (urls, paths): (Vec<PathBuf>, Vec<PathBuf>) = a
                    .paths
                    .into_iter()
                    .partition(|p| crate::relpath::is_url(p.as_os_str()));
                let remote = if urls.is_empty() {
                    None
                } else {
                    Some(remote_options(&urls, a.jobs, a.remote)?)
                };
                Config {
                    quiet,
                    jobs: a.jobs,
                    format: match a.format {
                        VerifyFormatArg::Human => Format::Human,
                        VerifyFormatArg::Json => Format::Json,
                        VerifyFormatArg::Sarif => Format::Sarif,
                    },
                    command: Job::Verify {
                        paths,
                        allow: AllowList::new(&a.allow)?,
                        remote,
                    },
                }
            }

            Command::Unseal(a) => {
                let dist = dist_dir(&a.dist)?;
                let vault = vault_loc(&a.vault, &a.vault_option)?;
                check_apart(&dist, vault.path(), "vault")?;
                Config {
                    quiet,
                    jobs: a.jobs,
                    format: format(a.format),
                    command: Job::Unseal {
                        opts: UnsealOptions {
                            dist,
                            vault,
                            seal: a.seal.clone(),
                        },
                    },
                }
            }
            Command::Completions(a) => Config::generate(quiet, Generated::Completions(a.shell)),
            Command::Man(a) => Config::generate(quiet, Generated::Man(a.command)),
            Command::Resolve(a) => {
                let position = match &a.position {
                    Some(p) => Some(Position::parse(p).map_err(anyhow::Error::msg)?),
                    None => None,
                };
                Config {
                    quiet,
                    jobs: 1,
                    format: format(a.format),
                    command: Job::Resolve {
                        opts: ResolveOptions {
                            vault: vault_loc(&a.vault, &a.vault_option)?,
                            dist: a.dist.as_deref().map(resolve_maybe_missing).transpose()?,
                            position,
                        },
                    },
                }
            }
            Command::Vault(a) => vault_config(&a, quiet)?,
            Command::Export(a) => {
                let with = a.with.as_deref().map(dist_dir).transpose()?;
                crate::export::refuse_symlinked_out(&a.out)?;
                Config {
                    quiet,
                    jobs: 1,
                    format: format(a.format),
                    command: Job::Export {
                        opts: ExportOptions {
                            vault: vault_loc(&a.vault, &a.vault_option)?,
                            out: resolve_maybe_missing(&a.out)?,
                            with,
                            dist: a.dist.as_deref().map(resolve_maybe_missing).transpose()?,
                            seal: a.seal.clone(),
                            all: a.all,
                        },
                    },
                }
            }
        })
    }
}

/// The URL arguments of `verify` and the flags that bound their crawl, validated.
fn remote_options(urls: &[PathBuf], jobs: usize, a: RemoteArgs) -> Result<RemoteOptions> {
    let urls = urls
        .iter()
        .map(|u| crate::remote::parse_url(&u.to_string_lossy()))
        .collect::<Result<Vec<_>>>()?;
    Ok(RemoteOptions {
        urls,
        jobs: if jobs == 0 {
            crate::remote::DEFAULT_JOBS
        } else {
            jobs
        },
        max_requests: a.max_requests,
        timeout: a.timeout,
        time_limit: a.time_limit,
        max_body: a.max_body,
        headers: a
            .headers
            .iter()
            .map(|h| crate::remote::parse_header(h))
            .collect::<Result<_>>()?,
        allow_origins: a
            .allow_origin
            .iter()
            .map(|o| crate::remote::parse_origin(o))
            .collect::<Result<_>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unix absolute paths: `absolute` of `/a/b` is drive-relative on Windows.

    #[cfg(unix)]
    #[test]
    fn absolute_is_lexical() -> Result<()> {
        assert_eq!(
            absolute(Path::new("/a/b/../c/./d"))?,
            PathBuf::from("/a/c/d")
        );
        Ok(())
    }

    #[test]
    fn vault_and_dist_must_be_apart() {
        assert!(
            check_apart(
                Path::new("/w/dist"),
                Path::new("/w/dist/.mapvault"),
                "vault"
            )
            .is_err()
        );
        assert!(check_apart(Path::new("/w/v/dist"), Path::new("/w/v"), "vault").is_err());
        assert!(check_apart(Path::new("/w/dist"), Path::new("/w/.mapvault"), "vault").is_ok());
        assert!(check_apart(Path::new("/w/dist"), Path::new("/w/dist2"), "vault").is_ok());
    }
}
