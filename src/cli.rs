//! The command line, as clap derive structs. The only module (besides `main`/`app`) that knows
//! clap; everything else receives a validated [`crate::config`] value.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
  mapvault unseal dist                      put every map and comment back
  mapvault resolve assets/index-x.js:1:2345  original source:line:column of a position
  mapvault resolve < stacktrace.txt          symbolicate a pasted stack trace
  mapvault export --out /tmp/maps --with dist  maps beside their bundles, for an uploader";

#[derive(Debug, Parser)]
#[command(name = "mapvault", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print nothing but errors (and the JSON report when one is asked for).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Strip every source-map reference from DIST, move every map into the vault, then verify.
    #[command(after_help = "\
Examples:
  mapvault seal dist
  mapvault seal dist --vault /secure/maps --format json
  mapvault seal dist --dry-run
  mapvault seal dist --out /tmp/sealed     seal a copy, leave dist untouched")]
    Seal(SealArgs),

    /// Scan folders or files for source-map leaks; exit 1 if any. Never writes.
    #[command(after_help = "\
Examples:
  mapvault verify dist
  mapvault verify dist other-dist --format json")]
    Verify(VerifyArgs),

    /// Restore DIST byte for byte from the vault, then drop its manifest entries.
    #[command(after_help = "\
Examples:
  mapvault unseal dist
  mapvault unseal dist --vault /secure/maps")]
    Unseal(UnsealArgs),

    /// Map a position in a sealed file (or every frame of a stack trace on stdin) back to the
    /// original source, with the maps in the vault.
    #[command(after_help = "\
FILE is a dist-relative path (assets/index-x.js), a URL (https://cdn.example.com/assets/index-x.js),
a local copy of the deployed file (matched by its sha256 or its //# debugId= comment), or a
debug ID. LINE and COL are 1-based, as browsers print them; so is the output.

Without POSITION, reads a stack trace from stdin (V8/Chrome/Node `at fn (url:line:col)`,
Firefox/Safari `fn@url:line:col`) and prints it with every frame it can resolve rewritten;
other lines are left as they are.

Exit codes (single position): 0 resolved, 1 the file was found but nothing maps to that
position, 2 no map for FILE, ambiguous (use --dist), or an error. Stack traces: 0 unless an
error.

Examples:
  mapvault resolve assets/index-SezSZ-FV.js:1:2345
  mapvault resolve https://cdn.example.com/assets/index-SezSZ-FV.js:1:2345 --format json
  mapvault resolve 85314830-023f-4cf1-a267-535f4e37bb17:1:200
  mapvault resolve --vault ../maps-vault < stacktrace.txt
  mapvault resolve --dist /builds/web/dist main.js:1:99")]
    Resolve(ResolveArgs),

    /// Write the vault's maps back at their original paths in a new private directory
    /// (optionally with the sealed bundles beside them), ready for an error-tracker uploader.
    #[command(after_help = "\
Maps are written at their dist-relative paths; an inline map as <bundle>.map beside its
bundle. OUT must be new or empty, is created 0700 with files 0600, and may not be inside a
dist. See docs/uploaders.md for the sentry-cli, datadog-ci and bugsnag commands.

Examples:
  mapvault export --out /tmp/maps --with dist
  mapvault export --vault ../maps-vault --out /tmp/maps --dist /builds/web/dist")]
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
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

    /// The vault directory (created 0700 if missing). Must not be inside DIST.
    #[arg(long, value_name = "DIR", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,

    /// Worker threads (default: one per core).
    #[arg(long, short, value_name = "N", default_value_t = 0)]
    pub jobs: usize,

    /// Seal a copy of DIST written to this new directory; DIST itself is left untouched.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// List every change in the human report (a dry run always does).
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Folders or files to scan (package archives — .tgz, .zip, .vsix… — are opened, never
    /// extracted).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = VerifyFormatArg::Human)]
    pub format: VerifyFormatArg,

    /// Worker threads (default: one per core).
    #[arg(long, short, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
}

#[derive(Debug, Args)]
pub struct UnsealArgs {
    /// The sealed folder to restore.
    pub dist: PathBuf,

    /// The vault the dist was sealed into.
    #[arg(long, value_name = "DIR", default_value = ".mapvault")]
    pub vault: PathBuf,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,

    /// Worker threads (default: one per core).
    #[arg(long, short, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// FILE:LINE:COL (1-based). Omit it to read a stack trace from standard input.
    #[arg(value_name = "FILE:LINE:COL")]
    pub position: Option<String>,

    /// The vault the dist was sealed into.
    #[arg(long, value_name = "DIR", default_value = ".mapvault")]
    pub vault: PathBuf,

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
    #[arg(long, value_name = "DIR", default_value = ".mapvault")]
    pub vault: PathBuf,

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

    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
