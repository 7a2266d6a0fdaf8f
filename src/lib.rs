//! mapvault: make sure a JavaScript build never ships its source maps.
//!
//! The library behind the `mapvault` binary. Data flows one way:
//! `cli → config → command (seal / verify / unseal) → {walk, inspect → scan, vault} → report`.
//! [`scan`] is pure detection; [`vault`] owns every byte written outside the dist; the commands
//! return reports and [`report`] renders them.

pub mod allow;
pub mod app;
pub mod apply;
pub mod archive;
pub mod catalog;
pub mod cli;
pub mod compress;
pub mod config;
pub mod debugid;
pub mod exit;
pub mod export;
pub mod inspect;
pub mod mapread;
pub mod parallel;
pub mod progress;
pub mod relpath;
pub mod report;
pub mod resolve;
pub mod sanitize;
pub mod scan;
pub mod seal;
pub mod stacktrace;
pub mod unseal;
pub mod vault;
pub mod verify;
pub mod walk;
