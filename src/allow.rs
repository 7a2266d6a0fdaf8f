//! `verify --allow GLOB`: files whose source maps (or references) are meant to be public.
//! A leak in a matching file is moved from `leaks` to `allowed`: still reported, never dropped,
//! but it no longer fails the run.
//!
//! How a glob is matched against a leak's path (relative to its PATH argument, `/`-separated):
//! - `*`, `?` and `[…]` never cross a `/`; `**` does (`assets/**/*.map`);
//! - a glob without a `/` matches the file name at any depth, like `.gitignore`
//!   (`vendor-*.js.map`);
//! - a glob with a `/` matches the whole path; a leading `./` or `/` only anchors it
//!   (`./*.map`: maps at the top level only);
//! - an archive member `pkg.tgz!/package/x.js.map` is tried both as its member path
//!   (`package/x.js.map`) and in full;
//! - a URL (`verify https://…`) is matched by its path without the leading `/`, query and
//!   fragment (`https://x.test/assets/a.js.map?v=1` as `assets/a.js.map`).

use anyhow::{Context, Result};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::relpath::RelPath;
use crate::verify::VerifyReport;

/// The `--allow` globs of one run.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    /// Globs with a `/`: matched against the whole path.
    paths: GlobSet,
    /// Globs without a `/`: matched against the file name.
    names: GlobSet,
    count: usize,
}

fn glob(pattern: &str) -> Result<Glob> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .with_context(|| format!("--allow {pattern:?} is not a valid glob"))
}

impl AllowList {
    /// Compile the globs; an invalid one is an error naming it.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<AllowList> {
        let mut paths = GlobSetBuilder::new();
        let mut names = GlobSetBuilder::new();
        for p in patterns {
            let p = p.as_ref();
            let trimmed = p.trim_start_matches("./").trim_start_matches('/');
            if trimmed.is_empty() {
                anyhow::bail!("--allow needs a glob, got {p:?}");
            }
            if p.contains('/') {
                paths.add(glob(trimmed)?);
            } else {
                names.add(glob(trimmed)?);
            }
        }
        Ok(AllowList {
            paths: paths.build().context("cannot compile the --allow globs")?,
            names: names.build().context("cannot compile the --allow globs")?,
            count: patterns.len(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether `path` (a report path, possibly `ARCHIVE!/member`) is allowed.
    pub fn matches(&self, path: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        if crate::relpath::is_url(path.as_ref()) {
            let Ok(u) = url::Url::parse(path) else {
                return false;
            };
            return self.matches(u.path().trim_start_matches('/'));
        }
        let member = path.rsplit_once("!/").map(|(_, m)| m);
        let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
        [Some(path), member].into_iter().flatten().any(|p| {
            self.paths.is_match(p) || (!self.names.is_empty() && self.names.is_match(name(p)))
        })
    }

    /// Whether a walked file (relative to the dist) is allowed; free when no glob was given.
    pub fn allows_file(&self, rel: &RelPath) -> bool {
        !self.is_empty() && self.matches(&rel.lossy())
    }

    /// Move every leak of an allowed file from `leaks` to `allowed`, and recompute `clean`.
    pub fn apply(&self, report: &mut VerifyReport) {
        if self.is_empty() {
            return;
        }
        let (allowed, leaks) = std::mem::take(&mut report.leaks)
            .into_iter()
            .partition(|l| self.matches(&l.path));
        report.leaks = leaks;
        report.allowed.extend(allowed);
        report.clean = report.leaks.is_empty();
        report.sort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{LeakKind, LeakRecord};

    fn allow(globs: &[&str]) -> AllowList {
        AllowList::new(globs).expect("valid globs")
    }

    #[test]
    fn urls_match_by_their_path() {
        let a = allow(&["assets/vendor-*.js.map", "public.css.map"]);
        assert!(a.matches("https://x.test/assets/vendor-1.js.map?v=2"));
        assert!(a.matches("http://127.0.0.1:8080/deep/public.css.map"));
        assert!(!a.matches("https://x.test/other/vendor-1.js.map"));
    }

    #[test]
    fn globs_without_a_slash_match_the_file_name_at_any_depth() {
        let a = allow(&["vendor-*.js.map"]);
        assert!(a.matches("vendor-abc.js.map"));
        assert!(a.matches("assets/deep/vendor-abc.js.map"));
        assert!(!a.matches("assets/index.js.map"));
        assert!(!a.matches("vendor-abc.js"));
    }

    #[test]
    fn globs_with_a_slash_match_the_whole_path_and_star_stays_in_one_directory() {
        let top = allow(&["./*.map"]);
        assert!(top.matches("a.js.map"));
        assert!(!top.matches("assets/a.js.map"));
        assert!(allow(&["/*.map"]).matches("a.js.map"));
        let a = allow(&["./public/*.map"]);
        assert!(a.matches("public/a.js.map"));
        assert!(!a.matches("public/sub/a.js.map"));
        assert!(!a.matches("other/public/a.js.map"));
        let deep = allow(&["public/**/*.map"]);
        assert!(deep.matches("public/sub/a.js.map"));
        assert!(deep.matches("public/a.js.map"));
    }

    #[test]
    fn archive_members_match_as_member_paths_and_in_full() {
        let member = allow(&["package/dist/*.map"]);
        assert!(member.matches("pkg-1.0.0.tgz!/package/dist/a.js.map"));
        let full = allow(&["*.tgz!/package/**"]);
        assert!(full.matches("pkg-1.0.0.tgz!/package/dist/a.js.map"));
        let name = allow(&["a.js.map"]);
        assert!(name.matches("pkg-1.0.0.tgz!/package/dist/a.js.map"));
        assert!(!allow(&["dist/*.map"]).matches("pkg-1.0.0.tgz!/package/dist/a.js.map"));
    }

    #[test]
    fn an_invalid_glob_is_an_error_naming_it() {
        let e = AllowList::new(&["a[b"]).expect_err("unclosed class");
        assert!(format!("{e:#}").contains("a[b"), "{e:#}");
        assert!(AllowList::new(&[""]).is_err());
    }

    #[test]
    fn apply_moves_allowed_leaks_and_recomputes_clean() {
        let leak = |p: &str| LeakRecord {
            path: p.into(),
            root: None,
            kind: LeakKind::SourceMap,
            line: None,
            message: "source map file".into(),
            http: None,
        };
        let mut r = VerifyReport {
            clean: false,
            leaks: vec![leak("public/a.js.map"), leak("b.js.map")],
            ..VerifyReport::default()
        };
        allow(&["public/**"]).apply(&mut r);
        assert_eq!(r.allowed, vec![leak("public/a.js.map")]);
        assert_eq!(r.leaks, vec![leak("b.js.map")]);
        assert!(!r.clean);
        allow(&["*.map"]).apply(&mut r);
        assert!(r.leaks.is_empty());
        assert_eq!(r.allowed.len(), 2);
        assert!(r.clean);
        assert_eq!(r.outcome(), crate::exit::Outcome::Clean);
    }
}
