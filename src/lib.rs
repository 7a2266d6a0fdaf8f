//! mapvault: make sure a JavaScript build never ships its source maps.
//!
//! The library behind the `mapvault` binary. Data flows one way:
//! `cli → config → command (seal / verify / unseal …) → {walk, inspect → scan, txn → apply →
//! vault} → report`. [`scan`] is pure detection; [`vault`] owns every byte written outside the
//! dist; the commands return reports of `findings` and `report` renders them. The modules are
//! layered (docs/architecture.md); `scripts/modcycles.py` keeps the import graph acyclic.

// The binary (`main.rs`), the benches and the fuzz targets use the public modules; everything
// else is crate-private, so dead code shows. Layers, bottom up, are in docs/architecture.md.
pub mod app;
pub mod archive;
pub mod budget;
pub mod compress;
pub mod hash;
pub mod parallel;
pub mod remote;
pub mod scan;
pub mod seal;
pub mod vault;

mod allow;
mod apply;
mod cli;
mod color;
mod config;
mod debugid;
mod dist_copy;
mod exit;
mod export;
mod failpoint;
mod findings;
mod inspect;
mod mapread;
mod meta;
mod progress;
mod relpath;
mod report;
mod resolve;
mod sanitize;
mod splice;
mod stacktrace;
mod sys;
mod txn;
mod unseal;
mod verify;
mod walk;
