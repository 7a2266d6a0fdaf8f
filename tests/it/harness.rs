//! The test harness, shared by every integration test (and meant to be reused by the
//! crash-safety and hostile-input suites).
//!
//! - [`TestEnv`]: a fresh temporary directory per test. Fixtures are *copied* into it; nothing
//!   ever writes into the source tree. Set `MAPVAULT_TEST_KEEP=1` to keep the directory of a
//!   failing test (its path is printed).
//! - [`TestCommand`]: runs the `mapvault` binary (built by cargo for this test binary) with a
//!   working directory inside the temp dir, optionally under a given `umask`, with a timeout.
//! - [`Run`]: what a command did. Every assertion on it ([`Run::ensure`], [`Run::fail`],
//!   [`TestCommand::expect_code`]) panics with the command line, cwd, exit code, stdout, stderr
//!   and a listing of the temp dir, like ripgrep's `TestCommand`.
//! - [`Snapshot`]: a tree as path → kind, sha256, mode, mtime, inode; compared at a chosen
//!   [`Level`] (content only … never rewritten) with a readable diff.
//! - [`VaultView`]: a read-only look at a vault (`maps/<sha256>.map`, `seals/<id>.json`).
//!
//! Helpers here know nothing about source maps; see `maps.rs` for those.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt::{self, Write as _};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mapvault");

/// How long one command may run before the harness kills it and fails the test. Generous: the
/// vault lock alone may wait 30 s.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The package root (where `Cargo.toml` is).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fixtures/` in the package root.
pub fn fixtures_dir() -> PathBuf {
    manifest_dir().join("fixtures")
}

/// `../shared` next to the checkout, when it is there (CI always has it).
pub fn shared_dir() -> Option<PathBuf> {
    let p = manifest_dir().join("..").join("shared");
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}

/// Tell the person running the tests something (a skipped suite, a kept temp dir). Goes to
/// stderr, which cargo shows for failing tests and with `--nocapture`.
#[expect(
    clippy::print_stderr,
    reason = "the one place tests talk to the developer"
)]
pub fn say(msg: &str) {
    eprintln!("{msg}");
}

/// A tool a test needs (a server, an interpreter): `Some` when `found` is `Ok`; otherwise,
/// with `CI` set, a panic naming `test` and `why` (CI must run every test), and locally a
/// printed skip and `None`.
pub fn needed<T>(test: &str, what: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(t) => Some(t),
        Err(why) if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => {
            panic!("{test}: {what}, and CI is set: {why}")
        }
        Err(why) => {
            say(&format!("skipped: {test}: {what}: {why}"));
            None
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `/`-separated path of `p` relative to `root`.
pub fn rel_string(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

// ---------------------------------------------------------------------------------------------
// TestEnv

/// A fresh temporary directory for one test, removed when the test ends.
pub struct TestEnv {
    tmp: Option<tempfile::TempDir>,
    root: PathBuf,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let tmp = tempfile::Builder::new()
            .prefix("mapvault-it-")
            .tempdir()
            .expect("cannot create a temp dir");
        // Canonical, so paths mapvault prints (it canonicalizes) compare equal to ours.
        let root = tmp
            .path()
            .canonicalize()
            .expect("cannot canonicalize the temp dir");
        TestEnv {
            tmp: Some(tmp),
            root,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` under the temp dir (absolute paths are returned as they are).
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// Write a file, creating parent directories.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        fs::write(&p, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }

    pub fn mkdir(&self, rel: impl AsRef<Path>) -> PathBuf {
        let p = self.path(rel);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        p
    }

    pub fn read(&self, rel: impl AsRef<Path>) -> Vec<u8> {
        let p = self.path(rel);
        fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
    }

    /// Create a symbolic link at `rel` whose target is `target`, written as given (not resolved).
    pub fn symlink(&self, target: impl AsRef<Path>, rel: impl AsRef<Path>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("cannot create the link's parent");
        }
        symlink(target.as_ref(), &p)
            .unwrap_or_else(|e| panic!("cannot create symlink {}: {e}", p.display()));
        p
    }

    /// `chmod`; on Windows the owner-write bit sets or clears the read-only attribute (what
    /// mapvault makes of a mode there).
    pub fn set_mode(&self, rel: impl AsRef<Path>, mode: u32) {
        let p = self.path(rel);
        set_mode(&p, mode).unwrap_or_else(|e| panic!("cannot chmod {}: {e}", p.display()));
    }

    /// Set a file's modification time (seconds and nanoseconds since the epoch).
    pub fn set_mtime(&self, rel: impl AsRef<Path>, secs: u64, nanos: u32) {
        let p = self.path(rel);
        let t = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        fs::File::options()
            .write(true)
            .open(&p)
            .and_then(|f| f.set_modified(t))
            .unwrap_or_else(|e| panic!("cannot set the mtime of {}: {e}", p.display()));
    }

    /// Copy `fixtures/<name>` to `rel` in the temp dir; returns the copy's path.
    pub fn copy_fixture(&self, name: &str, rel: impl AsRef<Path>) -> PathBuf {
        let src = fixtures_dir().join(name);
        assert!(src.is_dir(), "no fixture directory {}", src.display());
        self.copy_dir(&src, rel)
    }

    /// Copy a directory tree into the temp dir: files with their modes, symbolic links as links.
    pub fn copy_dir(&self, src: &Path, rel: impl AsRef<Path>) -> PathBuf {
        let dest = self.path(rel);
        copy_tree(src, &dest);
        dest
    }

    /// Snapshot the tree at `rel` (the root itself is not an entry).
    pub fn snapshot(&self, rel: impl AsRef<Path>) -> Snapshot {
        Snapshot::of(&self.path(rel))
    }

    /// A `mapvault` command with the temp dir as working directory.
    pub fn command(&self) -> TestCommand {
        TestCommand::new(&self.root)
    }

    /// Shorthand: `mapvault ARGS…` in the temp dir.
    pub fn mapvault<I, S>(&self, args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command();
        c.args(args);
        c
    }

    pub fn vault(&self, rel: impl AsRef<Path>) -> VaultView {
        VaultView {
            root: self.path(rel),
        }
    }

    /// A listing of the whole temp dir, for failure messages.
    pub fn listing(&self) -> String {
        listing(&self.root)
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::thread::panicking()
            && std::env::var_os("MAPVAULT_TEST_KEEP").is_some_and(|v| !v.is_empty())
            && let Some(tmp) = self.tmp.take()
        {
            let kept = tmp.keep();
            say(&format!("MAPVAULT_TEST_KEEP: kept {}", kept.display()));
        }
    }
}

fn copy_tree(src: &Path, dest: &Path) {
    let m = fs::symlink_metadata(src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    if m.file_type().is_symlink() {
        let target = fs::read_link(src).expect("readlink");
        symlink(&target, dest).expect("symlink");
    } else if m.is_dir() {
        fs::create_dir_all(dest).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
        let mut names: Vec<_> = fs::read_dir(src)
            .unwrap_or_else(|e| panic!("{}: {e}", src.display()))
            .map(|e| e.expect("read_dir entry").file_name())
            .collect();
        names.sort();
        for n in names {
            copy_tree(&src.join(&n), &dest.join(&n));
        }
        set_mode(dest, mode_of(&m)).expect("chmod dir");
    } else {
        fs::copy(src, dest).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    }
}

/// `ls -lR`-like listing of `root`, at most 400 lines.
pub fn listing(root: &Path) -> String {
    let mut out = String::new();
    let snap = Snapshot::of(root);
    let total = snap.nodes.len();
    for (path, n) in snap.nodes.iter().take(400) {
        let _ = match &n.kind {
            Kind::Dir => writeln!(out, "  {:04o} dir  {path}/", n.mode),
            Kind::File => writeln!(
                out,
                "  {:04o} file {path}  ({} bytes, sha256 {})",
                n.mode,
                n.size,
                &n.sha256[..12]
            ),
            Kind::Symlink(t) => writeln!(out, "  {:04o} link {path} -> {}", n.mode, t.display()),
            Kind::Other => writeln!(out, "  {:04o} special {path}", n.mode),
        };
    }
    if total > 400 {
        let _ = writeln!(out, "  … and {} more", total - 400);
    }
    if total == 0 {
        out.push_str("  (empty)\n");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink(PathBuf),
    Other,
}

/// One entry of a [`Snapshot`]. `sha256`/`size` are empty/0 for anything but files.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    pub sha256: String,
    pub size: u64,
    pub mode: u32,
    pub mtime: (i64, i64),
    pub ino: u64,
}

/// How much must match when comparing snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Same paths, kinds, file bytes and link targets.
    Content,
    /// … and the same permission bits (files and directories).
    Mode,
    /// … and the same file modification times (what unseal promises for restored files).
    Restored,
    /// … and the same inodes: the files were never rewritten or replaced.
    Untouched,
}

/// A tree: `/`-separated relative path → [`Node`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub root: PathBuf,
    pub nodes: BTreeMap<String, Node>,
}

impl Snapshot {
    /// Walk `root` (never following links). A missing root gives an empty snapshot.
    pub fn of(root: &Path) -> Snapshot {
        let mut nodes = BTreeMap::new();
        if root.is_dir() {
            walk_into(root, root, &mut nodes);
        }
        Snapshot {
            root: root.to_path_buf(),
            nodes,
        }
    }

    pub fn get(&self, rel: &str) -> Option<&Node> {
        self.nodes.get(rel)
    }

    /// Paths of regular files.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.kind == Kind::File)
            .map(|(p, _)| p.as_str())
    }

    /// Paths of regular files whose name ends with `suffix`.
    pub fn files_ending(&self, suffix: &str) -> Vec<String> {
        self.files()
            .filter(|p| p.ends_with(suffix))
            .map(str::to_owned)
            .collect()
    }

    /// Read a file of the snapshotted tree *as it is now*.
    pub fn read(&self, rel: &str) -> Vec<u8> {
        let p = self.root.join(rel);
        fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
    }

    /// Differences between `self` (before) and `other` (after) at `level`, one line each.
    pub fn diff(&self, other: &Snapshot, level: Level) -> Vec<String> {
        self.diff_only(other, level, |_| true)
    }

    /// Like [`Snapshot::diff`], restricted to paths for which `keep` is true.
    pub fn diff_only(
        &self,
        other: &Snapshot,
        level: Level,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let paths: BTreeSet<&String> = self.nodes.keys().chain(other.nodes.keys()).collect();
        for p in paths.into_iter().filter(|p| keep(p)) {
            match (self.nodes.get(p), other.nodes.get(p)) {
                (Some(_), None) => out.push(format!("{p}: removed")),
                (None, Some(_)) => out.push(format!("{p}: added")),
                (Some(a), Some(b)) => {
                    if a.kind != b.kind {
                        out.push(format!("{p}: kind {:?} -> {:?}", a.kind, b.kind));
                        continue;
                    }
                    if a.sha256 != b.sha256 {
                        out.push(format!(
                            "{p}: content changed ({} bytes -> {} bytes)",
                            a.size, b.size
                        ));
                    }
                    let is_link = matches!(a.kind, Kind::Symlink(_));
                    if level >= Level::Mode && !is_link && a.mode != b.mode {
                        out.push(format!("{p}: mode {:04o} -> {:04o}", a.mode, b.mode));
                    }
                    let is_file = a.kind == Kind::File;
                    if level >= Level::Restored && is_file && a.mtime != b.mtime {
                        out.push(format!("{p}: mtime {:?} -> {:?}", a.mtime, b.mtime));
                    }
                    if level >= Level::Untouched && (is_file || is_link) && a.ino != b.ino {
                        out.push(format!("{p}: inode {} -> {} (replaced)", a.ino, b.ino));
                    }
                }
                (None, None) => {}
            }
        }
        out
    }

    /// Panic (with `what` and the differences) unless `other` matches `self` at `level`.
    #[track_caller]
    pub fn assert_same(&self, other: &Snapshot, level: Level, what: &str) {
        let d = self.diff(other, level);
        assert!(
            d.is_empty(),
            "{what}: trees differ at level {level:?} ({}):\n  {}\n\nlisting now:\n{}",
            self.root.display(),
            d.join("\n  "),
            listing(&other.root)
        );
    }
}

fn walk_into(root: &Path, dir: &Path, nodes: &mut BTreeMap<String, Node>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        let ft = m.file_type();
        let kind = if ft.is_symlink() {
            Kind::Symlink(fs::read_link(&p).unwrap_or_default())
        } else if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        let sha256 = if kind == Kind::File {
            fs::read(&p).map(|b| sha256_hex(&b)).unwrap_or_default()
        } else {
            String::new()
        };
        let node = Node {
            kind: kind.clone(),
            sha256,
            size: if kind == Kind::File { m.len() } else { 0 },
            mode: mode_of(&m),
            mtime: mtime_of(&m),
            ino: ino_of(&m),
        };
        nodes.insert(rel_string(root, &p), node);
        if kind == Kind::Dir {
            walk_into(root, &p, nodes);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running the binary

/// Text to wait for on a running command's stderr, and what to do once it shows.
type Watch<'a> = (&'a str, Box<dyn FnOnce() + 'a>);

/// A `mapvault` command line to run inside a [`TestEnv`].
#[derive(Debug, Clone)]
pub struct TestCommand {
    root: PathBuf,
    args: Vec<OsString>,
    cwd: PathBuf,
    env: Vec<(OsString, OsString)>,
    /// Variables of the test process the command must not inherit (applied before `env`).
    env_remove: Vec<OsString>,
    umask: Option<u32>,
    /// `ulimit` settings (`("-f", 64)`) applied by the wrapping shell.
    ulimits: Vec<(&'static str, u64)>,
    stdin: Option<Vec<u8>>,
    /// Read only this many bytes of stdout, then close it (`| head -c N`).
    stdout_head: Option<u64>,
}

impl TestCommand {
    fn new(root: &Path) -> TestCommand {
        TestCommand {
            root: root.to_path_buf(),
            args: Vec::new(),
            cwd: root.to_path_buf(),
            env: Vec::new(),
            env_remove: Vec::new(),
            umask: None,
            ulimits: Vec::new(),
            stdin: None,
            stdout_head: None,
        }
    }

    pub fn arg(&mut self, a: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Working directory; relative paths are under the temp dir.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cwd = self.root.join(dir);
        self
    }

    pub fn env(&mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> &mut Self {
        self.env
            .push((k.as_ref().to_owned(), v.as_ref().to_owned()));
        self
    }

    /// Do not pass on the test process's `k` (an `env` setting of the same name still applies).
    pub fn env_remove(&mut self, k: impl AsRef<OsStr>) -> &mut Self {
        self.env_remove.push(k.as_ref().to_owned());
        self
    }

    /// Feed these bytes on standard input (default: none, `/dev/null`).
    pub fn stdin(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        self.stdin = Some(bytes.as_ref().to_vec());
        self
    }

    /// Read the first `n` bytes of stdout, then close the pipe while the command may still be
    /// writing, as `| head -c N` does.
    pub fn stdout_head(&mut self, n: u64) -> &mut Self {
        self.stdout_head = Some(n);
        self
    }

    /// Run the binary through `sh -c 'umask MASK; exec …'`.
    pub fn umask(&mut self, mask: u32) -> &mut Self {
        self.umask = Some(mask);
        self
    }

    /// Run the binary under `ulimit FLAG VALUE` (e.g. `("-f", 8)`: no file may grow past 8 KiB),
    /// through the same wrapping shell as [`TestCommand::umask`].
    pub fn ulimit(&mut self, flag: &'static str, value: u64) -> &mut Self {
        self.ulimits.push((flag, value));
        self
    }

    /// `umask …; ulimit …; ` as the wrapping shell runs it (empty when there is none).
    fn shell_prefix(&self) -> String {
        let mut s = String::new();
        if let Some(m) = self.umask {
            let _ = write!(s, "umask {m:03o}; ");
        }
        for (flag, v) in &self.ulimits {
            let _ = write!(s, "ulimit {flag} {v}; ");
        }
        s
    }

    /// The command line, shell-quoted, as shown in failure messages.
    pub fn cmdline(&self) -> String {
        let mut s = self.shell_prefix();
        s.push_str(&shell_quote(OsStr::new(BIN)));
        for a in &self.args {
            s.push(' ');
            s.push_str(&shell_quote(a));
        }
        s
    }

    /// Run to completion (or [`COMMAND_TIMEOUT`]) without judging the result.
    pub fn run(&self) -> Run {
        self.run_watching(None).0
    }

    /// Run, and once `needle` shows on stderr call `meanwhile` while the command keeps
    /// running; then wait for it as [`run`](Self::run) does. Fails the test if the command ends,
    /// or [`COMMAND_TIMEOUT`] passes, before `needle` shows. No sleeps to guess how long a busy
    /// machine needs to get the command that far.
    pub fn run_until_stderr(&self, needle: &str, meanwhile: impl FnOnce()) -> Run {
        let (run, unseen) = self.run_watching(Some((needle, Box::new(meanwhile))));
        if unseen.is_some() {
            run.fail(format_args!("never printed {needle:?} on stderr"));
        }
        run
    }

    /// [`run`](Self::run), calling `watch`'s function once its text shows on stderr; gives the
    /// watch back if it never did.
    fn run_watching<'a>(&self, mut watch: Option<Watch<'a>>) -> (Run, Option<Watch<'a>>) {
        let prefix = self.shell_prefix();
        let mut cmd = if prefix.is_empty() {
            Command::new(BIN)
        } else {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("{prefix}exec \"$0\" \"$@\""))
                .arg(BIN);
            c
        };
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "1")
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for k in &self.env_remove {
            cmd.env_remove(k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", self.cmdline()));
        let feeder = match (child.stdin.take(), self.stdin.clone()) {
            (Some(mut w), Some(bytes)) => Some(std::thread::spawn(move || {
                use std::io::Write;
                let _ = w.write_all(&bytes);
            })),
            _ => None,
        };
        // Each drain keeps what it has read so far in a shared buffer, so stderr can be
        // watched while the command runs.
        let drain = |r: Option<Box<dyn Read + Send>>| {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&seen);
            let handle = std::thread::spawn(move || {
                if let Some(mut r) = r {
                    let mut chunk = [0u8; 8192];
                    loop {
                        match r.read(&mut chunk) {
                            Ok(0) => break,
                            Ok(n) => sink
                                .lock()
                                .expect("drain buffer")
                                .extend_from_slice(&chunk[..n]),
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(_) => break,
                        }
                    }
                }
            });
            (handle, seen)
        };
        let (out, out_buf) = drain(child.stdout.take().map(|s| match self.stdout_head {
            Some(n) => Box::new(s.take(n)) as Box<dyn Read + Send>,
            None => Box::new(s) as Box<dyn Read + Send>,
        }));
        let (err, err_buf) = drain(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let taken = |h: std::thread::JoinHandle<()>, buf: Arc<Mutex<Vec<u8>>>| {
            let _ = h.join();
            std::mem::take(&mut *buf.lock().expect("drain buffer"))
        };
        let mut timed_out = false;
        let status = loop {
            let printed = |needle: &str| {
                String::from_utf8_lossy(&err_buf.lock().expect("drain buffer")).contains(needle)
            };
            if watch.as_ref().is_some_and(|(needle, _)| printed(needle))
                && let Some((_, f)) = watch.take()
            {
                f();
            }
            match child.try_wait().expect("cannot wait for mapvault") {
                Some(s) => break s,
                None if started.elapsed() > COMMAND_TIMEOUT => {
                    let _ = child.kill();
                    timed_out = true;
                    break child.wait().expect("cannot wait for killed mapvault");
                }
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        };
        if let Some(f) = feeder {
            let _ = f.join();
        }
        let run = Run {
            code: status.code(),
            stdout: taken(out, out_buf),
            stderr: taken(err, err_buf),
            cmdline: self.cmdline(),
            cwd: self.cwd.clone(),
            root: self.root.clone(),
            elapsed: started.elapsed(),
        };
        if timed_out {
            run.fail(format_args!(
                "timed out after {}s and was killed",
                COMMAND_TIMEOUT.as_secs()
            ));
        }
        (run, watch)
    }

    /// Run and require exit code `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> Run {
        let r = self.run();
        if r.code != Some(code) {
            r.fail(format_args!("expected exit code {code}"));
        }
        r
    }

    /// Run and require exit code 0.
    #[track_caller]
    pub fn ok(&self) -> Run {
        self.expect_code(0)
    }
}

fn shell_quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What one run of the binary did.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub cmdline: String,
    pub cwd: PathBuf,
    pub root: PathBuf,
    pub elapsed: Duration,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// stdout parsed as exactly one JSON object (surrounding white space allowed, nothing else).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_slice::<serde_json::Value>(&self.stdout) {
            Ok(v) if v.is_object() => v,
            Ok(_) => self.fail("stdout is JSON but not an object"),
            Err(e) => self.fail(format_args!("stdout is not exactly one JSON object: {e}")),
        }
    }

    /// Panic with `why` and everything needed to understand the run.
    #[track_caller]
    pub fn fail(&self, why: impl fmt::Display) -> ! {
        panic!("{}", self.context(&why.to_string()))
    }

    /// [`Run::fail`] with `why` unless `cond`.
    #[track_caller]
    pub fn ensure(&self, cond: bool, why: impl fmt::Display) {
        if !cond {
            self.fail(why);
        }
    }

    /// The full failure report.
    pub fn context(&self, why: &str) -> String {
        let code = self.code.map_or_else(
            || "none (killed by a signal)".to_string(),
            |c| c.to_string(),
        );
        format!(
            "\n\n==================== mapvault test failure ====================\n\
             {why}\n\n\
             command:   {}\n\
             cwd:       {}\n\
             exit code: {code}\n\
             took:      {:.2}s\n\n\
             ---- stdout ----\n{}\n\
             ---- stderr ----\n{}\n\
             ---- listing of {} ----\n{}\
             ===============================================================\n",
            self.cmdline,
            self.cwd.display(),
            self.elapsed.as_secs_f64(),
            clip(&self.stdout),
            clip(&self.stderr),
            self.root.display(),
            listing(&self.root),
        )
    }
}

/// Long output keeps its head and tail.
fn clip(bytes: &[u8]) -> String {
    const MAX: usize = 8 * 1024;
    let s = String::from_utf8_lossy(bytes);
    if s.len() <= MAX {
        return s.into_owned();
    }
    let head: String = s.chars().take(MAX / 2).collect();
    let tail: String = {
        let v: Vec<char> = s.chars().rev().take(MAX / 2).collect();
        v.into_iter().rev().collect()
    };
    format!(
        "{head}\n… [{} bytes omitted] …\n{tail}",
        s.len() - head.len() - tail.len()
    )
}

// ---------------------------------------------------------------------------------------------
// Vaults

/// Read-only view of a vault directory.
#[derive(Debug, Clone)]
pub struct VaultView {
    pub root: PathBuf,
}

impl VaultView {
    pub fn exists(&self) -> bool {
        self.root.exists()
    }

    /// `VAULT/maps/<sha256>.map`
    pub fn map_path(&self, sha: &str) -> PathBuf {
        self.root.join("maps").join(format!("{sha}.map"))
    }

    /// The stored object for `sha`, if any.
    pub fn map(&self, sha: &str) -> Option<Vec<u8>> {
        fs::read(self.map_path(sha)).ok()
    }

    /// Every stored map, by name (`<sha256>`); panics if a name is not the sha256 of its bytes.
    pub fn maps(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let Ok(rd) = fs::read_dir(self.root.join("maps")) else {
            return out;
        };
        for e in rd {
            let e = e.expect("read_dir entry");
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = fs::read(e.path()).expect("read vault map");
            let sha = name
                .strip_suffix(".map")
                .unwrap_or_else(|| panic!("vault maps/ holds {name}, not <sha256>.map"));
            assert_eq!(
                sha,
                sha256_hex(&bytes),
                "vault object {name} is not named by the sha256 of its bytes"
            );
            out.insert(sha.to_owned(), bytes);
        }
        out
    }

    /// The seal record files (`seals/<id>.json`), oldest first, as `(id, bytes)`.
    pub fn record_files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let Ok(rd) = fs::read_dir(self.root.join("seals")) else {
            return out;
        };
        for e in rd {
            let e = e.expect("read_dir entry");
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".unsealed.json") {
                continue;
            }
            if let Some(id) = name.strip_suffix(".json") {
                out.push((id.to_owned(), fs::read(e.path()).expect("read record")));
            }
        }
        out.sort();
        out
    }

    /// The ids of the seals marked unsealed (`seals/<id>.unsealed.json`).
    pub fn unsealed_ids(&self) -> Vec<String> {
        let mut out: Vec<String> = fs::read_dir(self.root.join("seals"))
            .map(|rd| {
                rd.filter_map(|e| {
                    let name = e.ok()?.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".unsealed.json").map(str::to_owned)
                })
                .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Every record file's bytes, concatenated in id order: changes whenever a record is added
    /// or rewritten.
    pub fn manifest_bytes(&self) -> Vec<u8> {
        self.record_files()
            .into_iter()
            .flat_map(|(_, b)| b)
            .collect()
    }

    /// Every seal record as the v1 manifest had them: `{"seals": [record, …]}`, oldest first.
    pub fn manifest(&self) -> serde_json::Value {
        let seals: Vec<serde_json::Value> = self
            .record_files()
            .into_iter()
            .map(|(id, b)| {
                let v: serde_json::Value = serde_json::from_slice(&b)
                    .unwrap_or_else(|e| panic!("seals/{id}.json is not JSON: {e}"));
                assert_eq!(v["format"], "mapvault-seal", "seals/{id}.json");
                assert_eq!(
                    v["seal"]["id"],
                    id.as_str(),
                    "seals/{id}.json names another id"
                );
                v["seal"].clone()
            })
            .collect();
        serde_json::json!({ "seals": seals })
    }

    /// The `dist` of every seal record in the manifest.
    pub fn sealed_dists(&self) -> Vec<String> {
        self.manifest()["seals"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["dist"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl VaultView {
    /// Does the vault hold an object with these bytes' sha256, as a map or as a blob?
    pub fn holds(&self, sha: &str) -> bool {
        self.map_path(sha).is_file() || self.root.join("blobs").join(sha).is_file()
    }
}

/// Nothing lost: every file of `before` whose name contains `.map` (maps and their compressed
/// copies) still has its exact bytes somewhere — in a file of `now` or in `vault`.
#[track_caller]
pub fn assert_no_map_lost(before: &Snapshot, now: &Snapshot, vault: &VaultView, what: &str) {
    let present: BTreeSet<&str> = now
        .nodes
        .values()
        .filter(|n| n.kind == Kind::File)
        .map(|n| n.sha256.as_str())
        .collect();
    let lost: Vec<&String> = before
        .nodes
        .iter()
        .filter(|(p, n)| n.kind == Kind::File && p.contains(".map"))
        .filter(|(_, n)| !present.contains(n.sha256.as_str()) && !vault.holds(&n.sha256))
        .map(|(p, _)| p)
        .collect();
    assert!(
        lost.is_empty(),
        "{what}: the bytes of {lost:?} are neither in {} nor in the vault {}\n\nlisting now:\n{}\nvault:\n{}",
        now.root.display(),
        vault.root.display(),
        listing(&now.root),
        listing(&vault.root)
    );
}

/// Are we root? (Some hostile-input tests need `mount`, `chown` or `chattr`.)
#[cfg(unix)]
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// No root on Windows: the tests that need one skip.
#[cfg(windows)]
pub fn is_root() -> bool {
    false
}

/// The metadata a snapshot keeps, and `chmod`/`ln -s`, on each platform: on Windows a mode is
/// the read-only attribute (`0o444`/`0o644`, directories `0o555`/`0o755`, as in src/sys), there
/// is no inode number from a listing (0), and a link is a file symlink.
#[cfg(unix)]
pub fn mode_of(m: &fs::Metadata) -> u32 {
    std::os::unix::fs::MetadataExt::mode(m) & 0o7777
}
#[cfg(unix)]
fn mtime_of(m: &fs::Metadata) -> (i64, i64) {
    use std::os::unix::fs::MetadataExt;
    (m.mtime(), m.mtime_nsec())
}
#[cfg(unix)]
pub fn ino_of(m: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(m)
}
#[cfg(unix)]
pub fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
}
#[cfg(unix)]
pub fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}
#[cfg(windows)]
pub fn mode_of(m: &fs::Metadata) -> u32 {
    match (m.is_dir(), m.permissions().readonly()) {
        (true, true) => 0o555,
        (true, false) => 0o755,
        (false, true) => 0o444,
        (false, false) => 0o644,
    }
}
#[cfg(windows)]
fn mtime_of(m: &fs::Metadata) -> (i64, i64) {
    let d = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    (
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        i64::from(d.subsec_nanos()),
    )
}
#[cfg(windows)]
pub fn ino_of(_m: &fs::Metadata) -> u64 {
    0
}
#[cfg(windows)]
pub fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    let mut perms = fs::metadata(p)?.permissions();
    perms.set_readonly(mode & 0o200 == 0);
    fs::set_permissions(p, perms)
}
#[cfg(windows)]
pub fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}
