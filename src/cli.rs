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
  mapvault unseal dist                      put every map and comment back";

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

    /// Link each bundle and its map by a debug ID (ECMA-426 proposal), the same ID
    /// `sentry-cli sourcemaps inject` derives: `//# debugId=` replaces the stripped comment
    /// (or follows the last line) and the vaulted map gets `"debugId"`. `=sentry` also
    /// appends Sentry's runtime registration snippet after the last line.
    #[arg(long, value_enum, value_name = "KIND", num_args = 0..=1, require_equals = true, default_missing_value = "comment")]
    pub debug_ids: Option<DebugIdsArg>,
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
