//! A real Azure Blob server for the remote-vault tests: Azurite (npm `azurite`, pinned in
//! `scripts/azurite.sh`, installed under `target/`), started per test on 127.0.0.1 on a port the
//! kernel picks, and stopped when dropped. Plus an Azure client of the tests' own
//! (`tests/tools/azctl.py`, standard-library Python signing Shared Key requests) to create the
//! container and to look at and plant blobs independently of mapvault's `object_store` code.
//!
//! ```ignore
//! let Some(az) = AzServer::start("seal_into_azure") else { return };  // skipped locally only
//! az.create_container("vault");
//! let mut seal = env.mapvault(["seal", "dist", "--vault", "az://vault/p",
//!     "--vault-option", "azure_storage_use_emulator=true"]);
//! az.apply(&mut seal).ok();            // AZURITE_BLOB_STORAGE_URL, MAPVAULT_CACHE_DIR
//! ```
//!
//! Finding the server: `scripts/azurite.sh` (`npm ci` of `scripts/azurite/` on first use,
//! ~30–50 s, then a no-op) prints the path of `azurite-blob`. When that fails (no npm, no
//! registry) the test panics with the reason if `CI` is set and is skipped with a printed reason
//! otherwise.
//!
//! How mapvault reaches it: object_store's Azure emulator mode
//! (`--vault-option azure_storage_use_emulator=true`, or `AZURE_STORAGE_USE_EMULATOR=true`)
//! uses Azurite's well-known account `devstoreaccount1` and key, plain HTTP, path-style URLs,
//! and the endpoint in `AZURITE_BLOB_STORAGE_URL` (default `http://127.0.0.1:10000`). In
//! emulator mode object_store ignores the `endpoint` option; the variable is the only way to
//! name another port.
//!
//! What Azurite 3.37.0 does with the requests the Azure backend makes (checked by the tests
//! here and in azvault.rs): `Put Blob` with `If-None-Match: *` over an existing blob is `409
//! BlobAlreadyExists` (object_store maps it to `AlreadyExists`); large objects go up as `Put
//! Block` + `Put Block List`; listing, `HEAD`, ranged `GET` and `DELETE` work. There is no
//! upload checksum like `x-amz-checksum-sha256` on this path: the backend reads every object
//! back after a put and hashes it ([`AzServer::requests`] shows the `GET` after each upload).
//! Telemetry is turned off (`--disableTelemetry`); state and Azurite's debug log (every
//! request) live in a temp directory removed on drop.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::harness::{TestCommand, manifest_dir, needed};

/// How long Azurite may take to listen on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// An Azurite blob server on 127.0.0.1, stopped when dropped.
pub struct AzServer {
    /// `sh` running Azurite until its stdin closes (see [`AzServer::start`]).
    child: Child,
    port: u16,
    /// Azurite's workspace, its log, and the default cache directory live here.
    dir: tempfile::TempDir,
}

/// `azurite-blob`, found or installed once per test process, or why there is none.
fn azurite_bin() -> &'static Result<PathBuf, String> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = manifest_dir().join("scripts/azurite.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run bash {}: {e}", script.display()))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = err.lines().collect();
            return Err(format!(
                "bash scripts/azurite.sh failed ({}): {}",
                out.status,
                lines[lines.len().saturating_sub(20)..].join("\n")
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let path = PathBuf::from(stdout.lines().last().unwrap_or("").trim());
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "scripts/azurite.sh printed {}, which is not a file",
                path.display()
            ))
        }
    })
}

/// `AZURE_*`/`AZURITE_*` variables of the test process, which must not reach a command
/// pointed at Azurite.
fn inherited_azure_vars() -> Vec<OsString> {
    std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| {
            let k = k.to_string_lossy();
            k.starts_with("AZURE_") || k.starts_with("AZURITE_")
        })
        .collect()
}

impl AzServer {
    /// Start a fresh, empty server. `None` (with a printed reason) only when Azurite cannot be
    /// installed and `CI` is not set; with `CI` set that is a panic.
    pub fn start(test: &str) -> Option<AzServer> {
        let found = azurite_bin().clone();
        let bin = needed(test, "no Azurite", found)?;
        Some(Self::start_with(&bin))
    }

    fn start_with(bin: &Path) -> AzServer {
        let dir = tempfile::Builder::new()
            .prefix("mapvault-azurite-")
            .tempdir()
            .expect("temp dir for azurite");
        let work = dir.path().join("data");
        std::fs::create_dir(&work).expect("azurite workspace");
        let log_path = dir.path().join("azurite.log");
        let log = std::fs::File::create(&log_path).expect("azurite log");
        // Azurite ends with its parent shell, which ends when its stdin closes: when this
        // `AzServer` drops, or when the test process dies before `Drop` runs.
        let script = "\"$0\" \"$@\" & pid=$!; cat >/dev/null; kill $pid; wait $pid";
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", "0", "--location"])
            .arg(&work)
            .args([
                "--silent",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--debug",
            ])
            .arg(dir.path().join("debug.log"))
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("azurite log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut server = AzServer {
            child,
            port: 0,
            dir,
        };
        server.port = server.wait_for_port(&log_path);
        server
    }

    /// The port from Azurite's `successfully listens on http://127.0.0.1:PORT` line (printed
    /// once it listens).
    fn wait_for_port(&mut self, log_path: &Path) -> u16 {
        let started = Instant::now();
        loop {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            let port = log
                .split("listens on http://127.0.0.1:")
                .nth(1)
                .and_then(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse::<u16>().ok()
                });
            if let Some(port) = port {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("azurite exited ({status}) before listening:\n{log}");
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "azurite did not listen within {START_TIMEOUT:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, Azurite's blob endpoint (`AZURITE_BLOB_STORAGE_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request Azurite has served so far, as `(method, path)`: the path after the
    /// account, with its query (`/vault/p/maps/….map`, `/vault/p/x?comp=block&…`), from its
    /// debug log.
    pub fn requests(&self) -> Vec<(String, String)> {
        let log = std::fs::read_to_string(self.dir.path().join("debug.log")).unwrap_or_default();
        let mut out = Vec::new();
        for rest in log.split("RequestMethod=").skip(1) {
            let Some((method, rest)) = rest.split_once(" RequestURL=") else {
                continue;
            };
            let url = rest.split_whitespace().next().unwrap_or("");
            if let Some((_, path)) = url.split_once("/devstoreaccount1") {
                out.push((method.to_owned(), path.to_owned()));
            }
        }
        out
    }

    /// `--vault az://CONTAINER[/PREFIX] --vault-option azure_storage_use_emulator=true`.
    pub fn vault_args(container: &str, prefix: &str) -> Vec<String> {
        let url = if prefix.is_empty() {
            format!("az://{container}")
        } else {
            format!("az://{container}/{prefix}")
        };
        vec![
            "--vault".into(),
            url,
            "--vault-option".into(),
            "azure_storage_use_emulator=true".into(),
        ]
    }

    /// The default local cache directory ([`AzServer::apply`] sets `MAPVAULT_CACHE_DIR`).
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// The cache directory of another "machine" ([`AzServer::apply_as`]).
    pub fn runner_cache_dir(&self, runner: &str) -> PathBuf {
        self.dir.path().join(format!("cache-{runner}"))
    }

    /// The variables a command needs to reach this server: the endpoint, and the proxy
    /// variables neutralised so loopback traffic goes straight to Azurite.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURITE_BLOB_STORAGE_URL", self.endpoint()),
            ("NO_PROXY", "*".to_owned()),
            ("no_proxy", "*".to_owned()),
        ]
    }

    /// Point a harness command at this server, with the default cache directory.
    pub fn apply<'c>(&self, cmd: &'c mut TestCommand) -> &'c mut TestCommand {
        self.apply_with_cache(cmd, &self.cache_dir())
    }

    /// [`AzServer::apply`] as another machine: its own cache directory.
    pub fn apply_as<'c>(&self, cmd: &'c mut TestCommand, runner: &str) -> &'c mut TestCommand {
        self.apply_with_cache(cmd, &self.runner_cache_dir(runner))
    }

    fn apply_with_cache<'c>(&self, cmd: &'c mut TestCommand, cache: &Path) -> &'c mut TestCommand {
        for k in inherited_azure_vars() {
            cmd.env_remove(k);
        }
        for (k, v) in self.env_vars() {
            cmd.env(k, v);
        }
        cmd.env("MAPVAULT_CACHE_DIR", cache)
    }

    /// Run `azctl.py ENDPOINT ARGS…` with `stdin`.
    fn azctl(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new("python3")
            .arg(manifest_dir().join("tests/tools/azctl.py"))
            .arg(self.endpoint())
            .args(args)
            .env("NO_PROXY", "*")
            .env("no_proxy", "*")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run tests/tools/azctl.py");
        let mut w = child.stdin.take().expect("azctl stdin");
        let bytes = stdin.to_vec();
        let feeder = std::thread::spawn(move || {
            let _ = w.write_all(&bytes);
        });
        let out = child.wait_with_output().expect("azctl output");
        let _ = feeder.join();
        out
    }

    fn azctl_ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.azctl(args, stdin);
        assert!(
            out.status.success(),
            "azctl {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    pub fn create_container(&self, container: &str) {
        self.azctl_ok(&["create-container", container], b"");
    }

    /// Every blob name starting with `prefix`, sorted.
    pub fn list_keys(&self, container: &str, prefix: &str) -> Vec<String> {
        let out = self.azctl_ok(&["list", container, prefix], b"");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("azctl list: JSON");
        v.as_array()
            .expect("azctl list: an array")
            .iter()
            .map(|o| o["key"].as_str().expect("key").to_owned())
            .collect()
    }

    /// The blob's bytes, `None` when there is no such blob.
    pub fn get_key(&self, container: &str, key: &str) -> Option<Vec<u8>> {
        let out = self.azctl(&["get", container, key], b"");
        match out.status.code() {
            Some(0) => Some(out.stdout),
            Some(3) => None,
            _ => panic!(
                "azctl get {container} {key} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// Write (or overwrite) a blob: plant damage or a foreign record.
    pub fn put_key(&self, container: &str, key: &str, bytes: &[u8]) {
        self.azctl_ok(&["put", container, key], bytes);
    }

    /// `Put Blob` with `If-None-Match: *`: `true` if written, `false` if the blob existed.
    pub fn put_key_if_absent(&self, container: &str, key: &str, bytes: &[u8]) -> bool {
        let out = self.azctl(&["put", container, key, "--if-none-match"], bytes);
        match out.status.code() {
            Some(0) => true,
            Some(4) => false,
            _ => panic!(
                "azctl put --if-none-match {container} {key} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    pub fn delete_key(&self, container: &str, key: &str) {
        self.azctl_ok(&["delete", container, key], b"");
    }
}

impl Drop for AzServer {
    fn drop(&mut self) {
        // Closing stdin makes the shell kill Azurite and wait for it.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The harness's own tests.

/// Start, container, put/get/list/delete through the Blob API, conditional put, stop.
#[test]
fn azurite_starts_stores_lists_honours_if_none_match_and_stops() {
    let Some(az) = AzServer::start("azurite_starts_stores_lists_honours_if_none_match_and_stops")
    else {
        return;
    };
    az.create_container("vault-one");
    assert!(az.list_keys("vault-one", "").is_empty());
    az.put_key("vault-one", "p/maps/a.map", b"{\"version\":3}");
    az.put_key("vault-one", "p/seals/x.json", b"{}\n");
    az.put_key("vault-one", "other/vault.json", b"{}");
    assert_eq!(
        az.list_keys("vault-one", "p/"),
        vec!["p/maps/a.map", "p/seals/x.json"]
    );
    assert!(!az.put_key_if_absent("vault-one", "p/seals/x.json", b"second"));
    assert!(az.put_key_if_absent("vault-one", "p/seals/y.json", b"first"));
    assert_eq!(
        az.get_key("vault-one", "p/seals/x.json").as_deref(),
        Some(&b"{}\n"[..]),
        "a refused conditional put leaves the blob alone"
    );
    az.delete_key("vault-one", "p/maps/a.map");
    assert_eq!(az.get_key("vault-one", "p/maps/a.map"), None);

    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], az.port()));
    drop(az);
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "azurite still listening on {addr} after drop"
    );
}
