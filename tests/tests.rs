//! The one integration-test binary (ripgrep style): this file is only the table of contents.
//! Every test runs the real `mapvault` binary in a fresh temp dir; see `it/harness.rs`.

/// Azurite (an Azure Blob server, npm, installed by scripts/azurite.sh) and an Azure client of
/// the tests' own (tests/tools/azctl.py); its own test pins what Azurite does with conditional
/// puts.
#[allow(
    dead_code,
    reason = "a shared harness: not every helper is used by every suite"
)]
#[path = "it/azurite.rs"]
mod azurite;
/// A fault-injecting HTTP proxy (tests/tools/faultproxy.py) in front of moto: 503s, stalls,
/// resets; its own tests, one per mode.
#[allow(
    dead_code,
    reason = "a shared harness: not every helper is used by every suite"
)]
#[path = "it/faultproxy.rs"]
mod faultproxy;
/// `TestEnv`, `TestCommand`, snapshots, vault views: the reusable harness.
#[allow(
    dead_code,
    reason = "a shared harness: not every helper is used by every suite"
)]
#[path = "it/harness.rs"]
mod harness;
/// Servers on 127.0.0.1 for the URL tests: in-test HTTP and raw TCP, and Debian's nginx.
#[allow(
    dead_code,
    reason = "a shared harness: not every helper is used by every suite"
)]
#[path = "it/httpd.rs"]
mod httpd;
/// Source-map helpers written independently of mapvault's scanner.
#[path = "it/maps.rs"]
mod maps;
/// The moto S3 server (a venv from scripts/moto.sh) and an S3 client of the tests' own, for the
/// remote-vault tests; its own tests pin what moto does with conditional puts and checksums.
#[allow(
    dead_code,
    reason = "a shared harness: not every helper is used by every suite"
)]
#[path = "it/moto.rs"]
mod moto;

/// Remote vaults in a real Azure Blob server (Azurite): s3vault.rs's scenarios, and the
/// read-back of every upload.
#[path = "it/azvault.rs"]
mod azvault;
/// `--help` examples, completions and man pages, `--allow`, summaries, the progress bar.
#[path = "it/cli.rs"]
mod cli;
/// `export`: layout, privacy, refusals, and datadog-ci's dry run on the result.
#[path = "it/export.rs"]
mod export;
/// `verify https://…`: static hosts, nginx, encodings, proxies, limits and hostile servers.
#[path = "it/remote.rs"]
mod remote;
/// `resolve`: positions and stack traces against Mozilla's `source-map`; matching rules.
#[path = "it/resolve.rs"]
mod resolve;
/// Remote vaults in a real S3 server (moto): round trip, concurrency, crashes, faults, prune.
#[path = "it/s3vault.rs"]
mod s3vault;
/// `seal`: vault placement, dry run, idempotence, privacy, untouched files, CRLF, `--out`.
#[path = "it/seal.rs"]
mod seal;
/// `unseal`: modes and mtimes, no-op runs, shared vaults.
#[path = "it/unseal.rs"]
mod unseal;
/// The vault as a release archive: write-once records, append-only unseal of the right
/// record, damaged objects, v1 migration.
#[path = "it/vault.rs"]
mod vault;
/// `verify`: exit codes, the JSON contract, what it sees, that it never writes.
#[path = "it/verify.rs"]
mod verify;

/// The ECMA-426 conformance corpus from `../shared` (skipped, loudly, when absent).
#[path = "it/conformance.rs"]
mod conformance;
/// `seal --debug-ids`: the same IDs as `sentry-cli sourcemaps inject`, maps carry them.
#[path = "it/debugid.rs"]
mod debugid;
/// Issue 14's classes of leak and of false alarm, one test each (with V8 as oracle where cheap).
#[path = "it/detect.rs"]
mod detect;
/// The real bundler outputs: round trip, structural token check, node behaviour.
#[path = "it/fixtures.rs"]
mod fixtures;
/// The HTML scanner's script and style texts against parse5's.
#[path = "it/html5.rs"]
mod html5;
/// SRI `integrity` and `ngsw.json` hashes follow sealed bytes; verify checks `integrity`.
#[path = "it/integrity.rs"]
mod integrity;
/// Seal never changes what a program means: oxc token streams and V8 before and after.
#[path = "it/meaning.rs"]
mod meaning;
/// Property test: `unseal(seal(dist)) == dist`, and seal cuts only comment bytes.
#[path = "it/props.rs"]
mod props;
/// The hand-made tricky dist (`fixtures/tricky/`): exact expectations per file.
#[path = "it/tricky.rs"]
mod tricky;

/// Archives: every compression, magic numbers, nesting limit, zero blocks (node-tar, GNU tar).
#[path = "it/archives.rs"]
mod archives;
/// Concurrent seals and unseals on one dist or one vault.
#[path = "it/concurrency.rs"]
mod concurrency;
/// Crash safety: `seal`/`unseal` aborted at every failpoint, then recovered.
#[path = "it/crash.rs"]
mod crash;
/// Write errors, hostile contents, corrupt manifests, vault privacy.
#[path = "it/hostile.rs"]
mod hostile;
/// A hostile vault: planted journals (other dists, escaping paths and temps, setuid modes),
/// vault files replaced by links or FIFOs, `--vault` typos.
// Modes, owners, FIFOs, devices and links in the vault: Unix by nature.
#[cfg(unix)]
#[path = "it/hostile_vault.rs"]
mod hostile_vault;
/// The memory budget for expanded bytes; a closed stdout is a quiet end.
#[path = "it/limits.rs"]
mod limits;
/// `../` and absolute URLs, symlinks, odd names and terminal escaping, hard links, read-only files.
#[path = "it/paths.rs"]
mod paths;
