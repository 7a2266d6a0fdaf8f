//! The command line, as clap derive structs. The only module (besides `main`/`app`) that knows
//! clap; everything else receives a validated [`crate::config`] value.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
pub use clap_complete::Shell;

const ABOUT: &str = "Make sure a JavaScript build never ships its source maps.";

const LONG_ABOUT: &str = "\
Make sure a JavaScript build never ships its source maps.

Run it after webpack, Vite, Rollup, esbuild, Parcel or Bun: `seal` strips every source-map
reference from the dist (changing no other byte), moves every map into a private vault keyed by
sha256, and proves the result clean. `verify` is the read-only CI gate. `unseal` restores the dist
byte for byte.

Exit codes: 0 clean, 1 leaks remain, 2 usage or I/O error (2 wins over 1).";

const EXAMPLES: &str = "\
Examples:
  mapvault seal dist                        strip references, vault maps in ./.mapvault
  mapvault seal dist --vault ../maps-vault  keep the vault somewhere else
  mapvault seal dist --dry-run              show what would change, change nothing
  mapvault verify dist                      exit 1 if anything in dist leaks a source map
  mapvault verify dist --format json        machine-readable report on stdout
  mapvault verify dist --allow 'vendor/**'  report vendor/ maps as allowed, not as leaks
  mapvault unseal dist                      put every map and comment back
  mapvault resolve assets/index-x.js:1:2345 original source:line:column of a position
  mapvault resolve < stacktrace.txt         symbolicate a pasted stack trace
  mapvault export --out maps --with dist    maps beside their bundles, for an uploader
  mapvault completions bash > mapvault.bash shell completions (bash zsh fish powershell elvish)
  mapvault man > mapvault.1                 the manual page (`mapvault man seal`: one command's)";

#[derive(Debug, Parser)]
#[command(name = "mapvault", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print nothing but errors (and the JSON report when one is asked for). Also hides the
    /// progress bar, which otherwise appears on stderr when stderr is a terminal.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Memory for decompressed and unpacked bytes (precompressed copies, archive members), all
    /// threads together; one file may use all but a quarter of it (at most 64 MiB held back). A
    /// file needing more is an error (exit 2). Sizes like 384MiB, 1GiB, 2GB.
    #[arg(
        long,
        global = true,
        value_name = "SIZE",
        env = crate::budget::ENV,
        default_value = "384MiB",
        value_parser = crate::budget::parse_limit,
    )]
    pub max_expanded: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Strip every source-map reference from DIST, move every map into the vault, then verify.
    #[command(after_help = "\
Examples:
  mapvault seal dist
  mapvault seal dist --vault /secure/maps --format json
  mapvault seal dist --dry-run
  mapvault seal dist --out /tmp/sealed     seal a copy, leave dist untouched
  mapvault seal dist --allow 'public/**'   leave public/ as it is (its maps reported as allowed)")]
    Seal(SealArgs),

    /// Scan folders or files — or a deployed site, over HTTP — for source-map leaks; exit 1 if
    /// any. Never writes.
    ///
    /// A URL is crawled the way a browser loads it (scripts, module preloads, stylesheets,
    /// manifest, service worker, imports, workers, CSS @import/url()), on its own origin
    /// (--allow-origin adds others); every response is scanned like a file, its SourceMap /
    /// X-SourceMap headers checked, and <asset>.map plus each referenced map URL probed. A probe
    /// is a leak only when the body is a source map by content. A run cut short by a timeout, an
    /// error or a limit exits 2.
    #[command(after_help = "\
Examples:
  mapvault verify dist
  mapvault verify dist other-dist --format json
  mapvault verify my-pkg-1.0.0.tgz          look inside an npm pack tarball (or .zip, .vsix)
  mapvault verify dist --format sarif > mapvault.sarif
  mapvault verify dist --allow 'vendor-*.js.map' --allow 'public/**'
  mapvault verify https://example.com/      check the deployed site over HTTP
  mapvault verify https://staging.example.com/ -H 'Authorization: Bearer …' --allow-origin https://cdn.example.com")]
    Verify(VerifyArgs),

    /// Restore DIST byte for byte from its latest seal in the vault (the seal whose files DIST
    /// still holds as sealed); the vault keeps every map and record.
    #[command(after_help = "\
Examples:
  mapvault unseal dist
  mapvault unseal dist --vault /secure/maps
  mapvault unseal dist --seal seal-20261204T154100.123Z-1a2b3c4d")]
    Unseal(UnsealArgs),

    /// Map a position in a sealed file (or every frame of a stack trace on stdin) back to the
    /// original source, with the maps in the vault.
    ///
    /// FILE is a dist-relative path (assets/index-x.js), a URL
    /// (https://cdn.example.com/assets/index-x.js), a local copy of the deployed file (matched by
    /// its sha256 or its //# debugId= comment), or a debug ID. LINE and COL are 1-based, as browsers print them; so is the output.
    ///
    /// Without POSITION, reads a stack trace from stdin (V8/Chrome/Node `at fn (url:line:col)`,
    /// Firefox/Safari `fn@url:line:col`) and prints it with every frame it can resolve rewritten,
    /// each function named from its call site in the frame below; other lines are left as they
    /// are.
    ///
    /// Exit codes (single position): 0 resolved, 1 the file was found but nothing maps to that
    /// position, 2 no map for FILE, ambiguous (use --dist), or an error. Stack traces: 0 unless an
    /// error.
    #[command(after_help = "\
Examples:
  mapvault resolve assets/index-SezSZ-FV.js:1:2345
  mapvault resolve https://cdn.example.com/assets/index-SezSZ-FV.js:1:2345 --format json
  mapvault resolve 85314830-023f-4cf1-a267-535f4e37bb17:1:200
  mapvault resolve --vault ../maps-vault < stacktrace.txt
  mapvault resolve --dist /builds/web/dist main.js:1:99")]
    Resolve(ResolveArgs),

    /// Write the vault's maps back at their original paths in a new private directory
    /// (optionally with the sealed bundles beside them), ready for an error-tracker uploader.
    ///
    /// Maps are written at their dist-relative paths; an inline map as BUNDLE.map beside its
    /// bundle. OUT must be new or empty, is created 0700 with files 0600, and may not be inside a
    /// dist. See docs/uploaders.md for the sentry-cli, datadog-ci and bugsnag commands.
    #[command(after_help = "\
Examples:
  mapvault export --out /tmp/maps --with dist
  mapvault export --vault ../maps-vault --out /tmp/maps --dist /builds/web/dist")]
    Export(ExportArgs),

    /// List the seals a vault holds, show one, check every object and record, or prune old seals.
    #[command(after_help = "\
Examples:
  mapvault vault list
  mapvault vault list --vault /secure/maps --format json
  mapvault vault show seal-20261204T154100.123Z-1a2b3c4d
  mapvault vault fsck                       re-hash every object; exit 1 if any is damaged
  mapvault vault prune --keep-last 10       keep each dist's 10 newest seals, drop the rest")]
    Vault(VaultArgs),

    /// Print a shell completion script for SHELL on stdout.
    #[command(
        hide = true,
        after_help = "\
Examples:
  mapvault completions bash > ~/.local/share/bash-completion/completions/mapvault
  mapvault completions zsh > \"${fpath[1]}/_mapvault\"
  mapvault completions fish > ~/.config/fish/completions/mapvault.fish"
    )]
    Completions(CompletionsArgs),

    /// Print the manual page (roff) on stdout: mapvault(1), or mapvault-COMMAND(1).
    #[command(
        hide = true,
        after_help = "\
Examples:
  mapvault man > /usr/local/share/man/man1/mapvault.1
  mapvault man seal > /usr/local/share/man/man1/mapvault-seal.1
  mapvault man | man -l -"
    )]
    Man(ManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
}

impl Cli {
    /// Was `--format json` asked for? Then an error that ends the run before its report still
    /// prints one JSON object ([`crate::report::Output::fatal`]).
    pub fn wants_json(&self) -> bool {
        match &self.command {
            Command::Seal(a) => a.format == FormatArg::Json,
            Command::Verify(a) => a.format == VerifyFormatArg::Json,
            Command::Unseal(a) => a.format == FormatArg::Json,
            Command::Resolve(a) => a.format == FormatArg::Json,
            Command::Export(a) => a.format == FormatArg::Json,
            Command::Vault(a) => match &a.command {
                VaultCommand::List(l) => l.format == FormatArg::Json,
                VaultCommand::Show(sh) => sh.format == FormatArg::Json,
                VaultCommand::Fsck(f) => f.format == FormatArg::Json,
                VaultCommand::Prune(p) => p.format == FormatArg::Json,
            },
            Command::Completions(_) | Command::Man(_) => false,
        }
    }
}

impl Cli {
    /// Was `verify --format sarif` asked for? Then a fatal error still prints one SARIF log.
    pub fn wants_sarif(&self) -> bool {
        matches!(&self.command, Command::Verify(a) if a.format == VerifyFormatArg::Sarif)
    }
}

/// Formats `verify` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormatArg {
    Human,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

#[derive(Debug, Args)]
pub struct SealArgs {
    /// The build output folder to seal.
    pub dist: PathBuf,

    /// The vault directory (created 0700 if missing; must not be inside DIST), or a remote
    /// vault: `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`
    /// (`file:///abs/path` is a directory).
    #[arg(long, value_name = "DIR|URL", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// A setting of the remote vault's object store (repeatable): `endpoint=URL`,
    /// `region=R`, `allow_http=true`, `virtual_hosted_style_request=false`, … (object_store's
    /// config keys), and `max_retries=N`, `retry_timeout=DURATION`.
    #[arg(long = "vault-option", value_name = "KEY=VALUE")]
    pub vault_option: Vec<String>,

    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,

    /// Worker threads (default: one per core).
    #[arg(
        long,
        short,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub jobs: usize,

    /// Seal a copy of DIST written to this new directory; DIST itself is left untouched.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// List every change in the human report (a dry run always does).
    #[arg(long, short)]
    pub verbose: bool,

    /// Link each bundle and its map by a debug ID (ECMA-426 proposal), the same ID
    /// `sentry-cli sourcemaps inject` derives: `//# debugId=` replaces the stripped comment
    /// (or follows the last line) and the vaulted map gets `"debugId"`. `=sentry` also
    /// appends Sentry's runtime registration snippet after the last line.
    #[arg(long, value_enum, value_name = "KIND", num_args = 0..=1, require_equals = true, default_missing_value = "comment")]
    pub debug_ids: Option<DebugIdsArg>,

    /// Leave files matching GLOB as they are — maps meant to be public (repeatable). Their
    /// leaks are reported as allowed and do not fail the run. Matching as for `verify --allow`.
    #[arg(long, value_name = "GLOB")]
    pub allow: Vec<String>,
}

/// What `seal --debug-ids` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DebugIdsArg {
    /// The `//# debugId=` comment and the map's `"debugId"` field.
    Comment,
    /// Also Sentry's runtime snippet, so Sentry SDKs report the ID with every event.
    Sentry,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Folders or files to scan (package archives — .tgz, .zip, .vsix… — are opened, never
    /// extracted), or http:// and https:// URLs of a deployed site to check over HTTP.
    #[arg(required = true, value_name = "PATH|URL")]
    pub paths: Vec<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = VerifyFormatArg::Human)]
    pub format: VerifyFormatArg,

    /// Worker threads for files (default: one per core); concurrent requests for URLs
    /// (default: 6, what a browser opens to one host).
    #[arg(
        long,
        short,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub jobs: usize,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Report leaks of files matching GLOB as allowed instead of failing (repeatable): for
    /// maps meant to be public. GLOB is matched against the path relative to PATH (`*` stays
    /// within a directory, `**` crosses them); a GLOB without `/` matches the file name at any
    /// depth; archive members match as `member/path` or `ARCHIVE!/member/path`.
    #[arg(long, value_name = "GLOB")]
    pub allow: Vec<String>,
}

/// `verify URL`: what a crawl of a deployed site may do.
#[derive(Debug, Args)]
#[command(next_help_heading = "Checking URLs")]
pub struct RemoteArgs {
    /// Send at most N requests (redirects and map probes count); more is an incomplete run
    /// (exit 2).
    #[arg(long, value_name = "N", default_value_t = crate::remote::DEFAULT_MAX_REQUESTS)]
    pub max_requests: u64,

    /// Give up on one request after this long (connecting, waiting, reading the body):
    /// `30s`, `1m 30s`…
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub timeout: std::time::Duration,

    /// Stop starting requests after this long; what is left unfetched makes the run
    /// incomplete (exit 2).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub time_limit: std::time::Duration,

    /// Largest body read for one asset (after decoding gzip/br/zstd): `64MiB`, `500K`…; a
    /// longer one is an error (only its start is scanned).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = size)]
    pub max_body: u64,

    /// Send this header with every request, e.g. `Authorization: Bearer …` for a staging site
    /// (repeatable).
    #[arg(long = "header", short = 'H', value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,

    /// Also fetch from this origin (scheme://host[:port]), e.g. the CDN that serves the
    /// assets (repeatable). By default only the URLs' own origins are fetched.
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
}

fn duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (e.g. 30s, 2m, 1h)"))?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

/// `123`, `500K`, `64MiB`, `1G` (K/M/G are powers of 1024, with or without `iB`).
fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 64MiB)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("{s:?}: unknown unit (use K, M or G)")),
    };
    match n.checked_shl(shift).filter(|v| v >> shift == n) {
        Some(0) => Err("must be more than zero".into()),
        Some(v) => Ok(v),
        None => Err(format!("{s:?} is too large")),
    }
}

#[derive(Debug, Args)]
pub struct UnsealArgs {
    /// The sealed folder to restore.
    pub dist: PathBuf,

    /// The vault the dist was sealed into.
    #[arg(long, value_name = "DIR|URL", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// A setting of the remote vault's object store (repeatable): `endpoint=URL`,
    /// `region=R`, `allow_http=true`, `virtual_hosted_style_request=false`, … (object_store's
    /// config keys), and `max_retries=N`, `retry_timeout=DURATION`.
    #[arg(long = "vault-option", value_name = "KEY=VALUE")]
    pub vault_option: Vec<String>,

    /// Restore this seal record (its id, as `seal` printed it) instead of the latest one of
    /// the dist; the dist must still be as that seal left it.
    #[arg(long, value_name = "ID")]
    pub seal: Option<String>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,

    /// Worker threads (default: one per core).
    #[arg(
        long,
        short,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub jobs: usize,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// FILE:LINE:COL (1-based). Omit it to read a stack trace from standard input.
    #[arg(value_name = "FILE:LINE:COL")]
    pub position: Option<String>,

    /// The vault the dist was sealed into.
    #[arg(long, value_name = "DIR|URL", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// A setting of the remote vault's object store (repeatable): `endpoint=URL`,
    /// `region=R`, `allow_http=true`, `virtual_hosted_style_request=false`, … (object_store's
    /// config keys), and `max_retries=N`, `retry_timeout=DURATION`.
    #[arg(long = "vault-option", value_name = "KEY=VALUE")]
    pub vault_option: Vec<String>,

    /// Only use maps of this sealed dist (when several dists share the vault).
    #[arg(long, value_name = "DIR")]
    pub dist: Option<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The vault to export maps from.
    #[arg(long, value_name = "DIR|URL", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// A setting of the remote vault's object store (repeatable): `endpoint=URL`,
    /// `region=R`, `allow_http=true`, `virtual_hosted_style_request=false`, … (object_store's
    /// config keys), and `max_retries=N`, `retry_timeout=DURATION`.
    #[arg(long = "vault-option", value_name = "KEY=VALUE")]
    pub vault_option: Vec<String>,

    /// The directory to write into: must be new or empty; created private (0700).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Also copy the sealed bundles from this dist next to their maps (each checked against
    /// the hash seal recorded).
    #[arg(long = "with", value_name = "DIST")]
    pub with: Option<PathBuf>,

    /// Which sealed dist's maps to export (needed when several dists share the vault and
    /// --with is not one of them).
    #[arg(long, value_name = "DIR")]
    pub dist: Option<PathBuf>,

    /// Export this seal record (its id) instead of the latest seal of the dist.
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub seal: Option<String>,

    /// Export every seal of the dist (the newest record of each path wins; maps of several
    /// builds may be mixed).
    #[arg(long)]
    pub all: bool,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct VaultArgs {
    #[command(subcommand)]
    pub command: VaultCommand,
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Every seal in the vault, oldest first: id, sealed at, dist, files, maps, bytes, and
    /// whether it was unsealed.
    List(VaultListArgs),
    /// One seal record: its dist, time and every file it changed.
    Show(VaultShowArgs),
    /// Re-hash every object and read every record: report each damaged or missing object and
    /// the seals and files it affects (exit 1), and objects no record needs (a note).
    Fsck(VaultFsckArgs),
    /// Remove old seal records, then every object no remaining record needs (and is older
    /// than the 1-hour grace period). The only command that deletes from the vault.
    Prune(VaultPruneArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["keep_last", "older_than"])))]
pub struct VaultPruneArgs {
    /// Keep the N newest seals of each dist (N >= 1); remove the older ones.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_last: Option<u64>,

    /// Remove seals sealed more than DURATION ago (e.g. 30days, 12h). With --keep-last, a
    /// seal is removed only when both select it.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub older_than: Option<std::time::Duration>,

    /// Only prune the seals of this dist (the path it was sealed at).
    #[arg(long, value_name = "DIR")]
    pub dist: Option<PathBuf>,

    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The vault to prune.
    #[arg(long, value_name = "DIR|URL", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// A setting of the remote vault's object store (repeatable): `endpoint=URL`,
    /// `region=R`, `allow_http=true`, `virtual_hosted_style_request=false`, … (object_store's
    /// config keys), and `max_retries=N`, `retry_timeout=DURATION`.
    #[arg(long = "vault-option", value_name = "KEY=VALUE")]
    pub vault_option: Vec<String>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct VaultFsckArgs {
    /// The vault to check.
    #[arg(long, value_name = "DIR|URL", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// A setting of the remote vault's object store (repeatable): `endpoint=URL`,
    /// `region=R`, `allow_http=true`, `virtual_hosted_style_request=false`, … (object_store's
    /// config keys), and `max_retries=N`, `retry_timeout=DURATION`.
    #[arg(long = "vault-option", value_name = "KEY=VALUE")]
    pub vault_option: Vec<String>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct VaultListArgs {
    /// The vault to read.
    #[arg(long, value_name = "DIR|URL", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// A setting of the remote vault's object store (repeatable): `endpoint=URL`,
    /// `region=R`, `allow_http=true`, `virtual_hosted_style_request=false`, … (object_store's
    /// config keys), and `max_retries=N`, `retry_timeout=DURATION`.
    #[arg(long = "vault-option", value_name = "KEY=VALUE")]
    pub vault_option: Vec<String>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct VaultShowArgs {
    /// The seal's id (as `seal` and `vault list` print it).
    pub id: String,

    /// The vault to read.
    #[arg(long, value_name = "DIR|URL", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// A setting of the remote vault's object store (repeatable): `endpoint=URL`,
    /// `region=R`, `allow_http=true`, `virtual_hosted_style_request=false`, … (object_store's
    /// config keys), and `max_retries=N`, `retry_timeout=DURATION`.
    #[arg(long = "vault-option", value_name = "KEY=VALUE")]
    pub vault_option: Vec<String>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Print the page of this command (`mapvault-COMMAND(1)`) instead of mapvault(1).
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// Something generated from these definitions rather than computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    Completions(Shell),
    /// The man page of the main command, or of the named subcommand.
    Man(Option<String>),
}

/// The commands a user sees (hidden ones, like `completions` and `man`, left out).
pub fn visible_commands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .collect()
}

/// Write a completion script or a man page to `out`. An unknown command name is an error;
/// write errors come back as `io::Error` (so a closed pipe can be ignored like for reports).
pub fn generate(what: &Generated, out: &mut dyn Write) -> anyhow::Result<std::io::Result<()>> {
    let mut cmd = Cli::command();
    // Rendered in memory first: clap_complete panics on a failed write.
    let mut text = Vec::new();
    match what {
        Generated::Completions(shell) => {
            clap_complete::generate(*shell, &mut cmd, "mapvault", &mut text);
        }
        Generated::Man(None) => clap_mangen::Man::new(cmd).render(&mut text)?,
        Generated::Man(Some(name)) => {
            // Build first, so global options (`--quiet`) appear on every command's page.
            cmd.build();
            let sub = cmd
                .get_subcommands()
                .find(|c| c.get_name() == name && !c.is_hide_set())
                .cloned()
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "no command named {name:?}; one of: {}",
                        visible_commands().join(", ")
                    )
                })?;
            let page = sub
                .name(format!("mapvault-{name}"))
                .display_name(format!("mapvault-{name}"))
                .version(env!("CARGO_PKG_VERSION"));
            clap_mangen::Man::new(page).render(&mut text)?;
        }
    }
    Ok(out.write_all(&text).and_then(|()| out.flush()))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(super::size("64MiB"), Ok(64 << 20));
        assert_eq!(super::size("500k"), Ok(500 << 10));
        assert_eq!(super::size("123"), Ok(123));
        assert!(super::size("0").is_err());
        assert!(super::size("1T").is_err());
        assert!(super::size("99999999999G").is_err());
        assert_eq!(
            super::duration("1m 30s"),
            Ok(std::time::Duration::from_secs(90))
        );
        assert!(super::duration("0s").is_err());
        assert!(super::duration("soon").is_err());
    }

    /// Every subcommand with `--format json` says so, so a fatal error prints JSON too.
    #[test]
    fn wants_json_covers_every_format_flag() {
        use clap::Parser;
        for args in [
            &["mapvault", "seal", "d", "--format", "json"][..],
            &["mapvault", "verify", "d", "--format", "json"],
            &["mapvault", "unseal", "d", "--format", "json"],
            &["mapvault", "resolve", "a.js:1:2", "--format", "json"],
            &["mapvault", "export", "--out", "o", "--format", "json"],
            &["mapvault", "vault", "list", "--format", "json"],
            &["mapvault", "vault", "show", "x", "--format", "json"],
            &["mapvault", "vault", "fsck", "--format", "json"],
            &[
                "mapvault",
                "vault",
                "prune",
                "--keep-last",
                "2",
                "--format",
                "json",
            ],
        ] {
            let cli = super::Cli::try_parse_from(args).expect("parses");
            assert!(cli.wants_json(), "{args:?}");
            let human: Vec<&str> = args
                .iter()
                .copied()
                .filter(|a| *a != "--format" && *a != "json")
                .collect();
            let cli = super::Cli::try_parse_from(&human).expect("parses");
            assert!(!cli.wants_json(), "{human:?}");
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// `--help` of every command ends with examples.
    #[test]
    fn every_command_has_examples() {
        let cmd = super::Cli::command();
        let mut all = vec![&cmd];
        all.extend(cmd.get_subcommands());
        for c in all {
            let help = c
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                help.starts_with("Examples:") && help.contains("mapvault "),
                "`{}` has no examples in --help",
                c.get_name()
            );
        }
    }

    #[test]
    fn generated_outputs_name_every_command() {
        use super::{Generated, Shell, generate, visible_commands};
        let names = visible_commands();
        assert!(names.iter().any(|n| n == "seal"), "{names:?}");
        let mut outputs = Vec::new();
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            outputs.push((format!("{shell:?}"), Generated::Completions(shell)));
        }
        outputs.push(("man".into(), Generated::Man(None)));
        for (what, g) in outputs {
            let mut buf = Vec::new();
            generate(&g, &mut buf).expect("generates").expect("writes");
            let text = String::from_utf8(buf).expect("UTF-8");
            for n in &names {
                assert!(text.contains(n.as_str()), "{what} does not mention `{n}`");
            }
        }
        for n in &names {
            let mut buf = Vec::new();
            generate(&Generated::Man(Some(n.clone())), &mut buf)
                .expect("generates")
                .expect("writes");
            let text = String::from_utf8(buf).expect("UTF-8");
            assert!(text.contains(&format!("mapvault\\-{n}")), "man {n}: {text}");
            assert!(text.contains("quiet"), "man {n} lacks the global --quiet");
        }
        let err = generate(&Generated::Man(Some("nope".into())), &mut Vec::new())
            .expect_err("unknown command");
        assert!(err.to_string().contains("seal"), "{err}");
    }
}
