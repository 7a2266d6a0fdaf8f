//! The one integration-test binary (ripgrep style): this file is only the table of contents.
//! Every test runs the real `mapvault` binary in a fresh temp dir; see `it/harness.rs`.

/// `TestEnv`, `TestCommand`, snapshots, vault views: the reusable harness.
#[allow(
    dead_code,
    reason = "a shared harness: not every helper is used by every suite"
)]
#[path = "it/harness.rs"]
mod harness;
/// Source-map helpers written independently of mapvault's scanner.
#[path = "it/maps.rs"]
mod maps;

/// `export`: layout, privacy, refusals, and datadog-ci's dry run on the result.
#[path = "it/export.rs"]
mod export;
/// `resolve`: positions and stack traces against Mozilla's `source-map`; matching rules.
#[path = "it/resolve.rs"]
mod resolve;
/// `seal`: vault placement, dry run, idempotence, privacy, untouched files, CRLF, `--out`.
#[path = "it/seal.rs"]
mod seal;
/// `unseal`: modes and mtimes, no-op runs, shared vaults.
#[path = "it/unseal.rs"]
mod unseal;
/// `verify`: exit codes, the JSON contract, what it sees, that it never writes.
#[path = "it/verify.rs"]
mod verify;

/// The ECMA-426 conformance corpus from `../shared` (skipped, loudly, when absent).
#[path = "it/conformance.rs"]
mod conformance;
/// The real bundler outputs: round trip, structural token check, node behaviour.
#[path = "it/fixtures.rs"]
mod fixtures;
/// Property test: `unseal(seal(dist)) == dist`, and seal cuts only comment bytes.
#[path = "it/props.rs"]
mod props;
/// The hand-made tricky dist (`fixtures/tricky/`): exact expectations per file.
#[path = "it/tricky.rs"]
mod tricky;
