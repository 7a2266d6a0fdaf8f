//! Remote vaults: `--vault s3://bucket/prefix` (and `gs://`, `az://`). Owns the vault URL and its
//! local cache directory, the object-store backend of [`Store`] ([`BucketStore`], on the
//! `object_store` crate), and the mirror between a local cache vault and the store.
//!
//! A remote vault is a local v2 vault in the cache directory — `MAPVAULT_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/mapvault`, else `$HOME/.cache/mapvault`, one 0700 subdirectory per vault
//! named by the sha256 of the normalised URL — holding the journal, the lock, `tmp/`, the
//! records and the objects this machine has used, mirrored to the store:
//! - **Open** pulls: every `seals/` key the store has and the cache lacks is downloaded (records
//!   are write-once, so a cached record never goes stale), a cached record the store no longer
//!   has (pruned by another machine) is dropped, and `vault.json` is checked (and, for a command
//!   that writes, created once).
//! - **Every object's bytes are checked against its name on the way up**: on S3 by the
//!   `x-amz-checksum-sha256` object_store computes from the bytes it sends, which
//!   [`NamedPuts`] lets out only if it is the key's name, and which the server checks on
//!   arrival (AWS S3, s3s-fs; moto does not); on GCS and Azure by hashing before the upload and
//!   reading the object back after it.
//! - **Objects go up at the barrier.** Every object a seal stores or relies on (`put_file`,
//!   `put_bytes`, a sound `object_sound`) is queued; the vault's durability barrier — the point
//!   after which apply changes the dist — uploads the queue with put-if-absent and bounded
//!   concurrency, and fails (nothing in the dist changed) unless every object is confirmed
//!   stored. Maps are put into the cache rather than renamed (see [`super::Vault::dev`]) —
//!   hard-linked when the cache is on the dist's file system and the map has no other name,
//!   else copied (`Vault::link_in`) —, so every byte the dist loses is both in the store and
//!   in the cache first.
//! - **Records go up first**: `put_record` and `mark_unsealed` write the key to the store
//!   (write-once: identical bytes again succeed), then the cache. The cache therefore never
//!   holds a record the store lacks; a crash between the two leaves the local journal, whose
//!   re-run writes the same bytes again.
//! - **Reads fetch on demand**: an object the cache lacks is downloaded, verified against its
//!   name, into the cache before it is used (`has`, `get`, `put_file_to`, [`super::Vault::fetch`]).
//!
//! - **After a seal's record**, the store is checked for every object the record names, and any
//!   a concurrent `vault prune` deleted meanwhile is uploaded again from the cache
//!   (`RecordChecked`; prune's half is in prune.rs).
//!
//! Objects uploaded by a run that never wrote its record are reused by the next run (put-if-absent
//! finds them and re-verifies them) and deleted by `vault prune` once older than its grace period.
//! No lock is taken on the bucket: every key but those prune deletes is written once.

use crate::sys::OpenOptionsExt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

use super::store::{Entry, SMALL_MAX, Store, Upload, check_key};

/// How many requests run at once (uploads at the barrier, downloads of records).
const CONCURRENCY: usize = 8;
/// [`Store::missing`] looks up to this many keys up one by one, more by listing.
const HEAD_MAX: usize = 64;
/// ... unless the listing would pass this many entries per key asked about: a `HEAD` per key at
/// [`CONCURRENCY`] at a time is then the cheaper (1,000-entry pages come one after another).
const LIST_PER_KEY: usize = 125;
/// Objects up to this size go in one request; larger ones as multipart uploads of
/// [`PART`]-byte parts, streamed from the file (memory stays bounded).
const SINGLE_MAX: u64 = 16 * 1024 * 1024;
const PART: usize = 8 * 1024 * 1024;

/// A vault URL as given to `--vault`, normalised, with its `--vault-option` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpec {
    /// `scheme://bucket` or `scheme://bucket/prefix` (no trailing slash).
    pub url: String,
    pub scheme: String,
    pub bucket: String,
    /// Empty, or `a/b/` (ends in `/`).
    pub prefix: String,
    pub options: Vec<(String, String)>,
}

impl RemoteSpec {
    /// Parse `s3://bucket/prefix`, `gs://…`, `az://…`; other schemes are refused by name.
    pub fn parse(arg: &str, options: &[String]) -> Result<RemoteSpec> {
        let (scheme, rest) = arg
            .split_once("://")
            .ok_or_else(|| anyhow!("{arg:?} is not a vault URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "s3" | "gs" | "az") {
            bail!(
                "--vault {arg}: unknown scheme {scheme:?} (a vault is a directory, file:///path, \
                 s3://bucket/prefix, gs://bucket/prefix or az://container/prefix)"
            );
        }
        let mut parts = rest.split('/').filter(|c| !c.is_empty());
        let bucket = parts
            .next()
            .ok_or_else(|| anyhow!("--vault {arg}: no bucket named"))?
            .to_string();
        let comps: Vec<&str> = parts.collect();
        if comps.iter().any(|c| *c == "." || *c == "..") {
            bail!("--vault {arg}: the prefix may not hold `.` or `..`");
        }
        let prefix = if comps.is_empty() {
            String::new()
        } else {
            format!("{}/", comps.join("/"))
        };
        let mut opts = Vec::new();
        for o in options {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| anyhow!("--vault-option {o:?}: expected KEY=VALUE"))?;
            opts.push((k.trim().to_ascii_lowercase(), v.to_string()));
        }
        let url = format!(
            "{scheme}://{bucket}{}{}",
            if prefix.is_empty() { "" } else { "/" },
            prefix.trim_end_matches('/')
        );
        Ok(RemoteSpec {
            url,
            scheme,
            bucket,
            prefix,
            options: opts,
        })
    }

    /// This vault's cache directory (not created here).
    pub fn cache_dir(&self) -> Result<PathBuf> {
        Ok(cache_root()?.join(crate::hash::sha256_hex(self.url.as_bytes())))
    }
}

/// The root of every remote vault's cache (see the module docs).
pub fn cache_root() -> Result<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let p = if let Some(p) = env("MAPVAULT_CACHE_DIR") {
        p
    } else if let Some(p) = env("XDG_CACHE_HOME") {
        p.join("mapvault")
    } else if let Some(h) = env("HOME") {
        h.join(".cache").join("mapvault")
    } else {
        bail!("no cache directory for a remote vault: set MAPVAULT_CACHE_DIR (or HOME)")
    };
    if !p.is_absolute() {
        bail!(
            "the cache directory {} must be an absolute path",
            p.display()
        );
    }
    Ok(p)
}

/// The `object_store` backend of [`Store`]: one bucket and prefix, a current-thread tokio
/// runtime created here (only when a remote vault is used), put-if-absent by conditional put.
pub struct BucketStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
    /// S3 checks an upload's sha256 itself (`x-amz-checksum-sha256`); other stores are read
    /// back after a put.
    store_checks_sha256: bool,
    rt: tokio::runtime::Runtime,
}

/// Our own settings among `--vault-option`s (the rest go to the object_store builder).
fn retry_config(opts: &[(String, String)]) -> Result<object_store::RetryConfig> {
    let mut r = object_store::RetryConfig::default();
    for (k, v) in opts {
        match k.as_str() {
            "max_retries" => {
                r.max_retries = v
                    .parse()
                    .map_err(|_| anyhow!("--vault-option max_retries={v}: not a number"))?;
            }
            "retry_timeout" => {
                r.retry_timeout = humantime::parse_duration(v)
                    .map_err(|_| anyhow!("--vault-option retry_timeout={v}: not a duration"))?;
            }
            _ => {}
        }
    }
    Ok(r)
}

fn unknown_option(scheme: &str, k: &str) -> anyhow::Error {
    anyhow!("--vault-option {k}: not a setting of the {scheme} object store")
}

impl BucketStore {
    pub fn open(spec: &RemoteSpec) -> Result<BucketStore> {
        // reqwest is built without a crypto provider: ring, as for `verify https://`.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let retry = retry_config(&spec.options)?;
        let ours = |k: &str| matches!(k, "max_retries" | "retry_timeout");
        let bucket_url = format!("{}://{}", spec.scheme, spec.bucket);
        let fail = |e: object_store::Error| anyhow!("remote vault {}: {e}", spec.url);
        let store: Arc<dyn ObjectStore> = match spec.scheme.as_str() {
            "s3" => {
                use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, Checksum};
                let mut b = AmazonS3Builder::from_env()
                    .with_url(bucket_url)
                    .with_checksum_algorithm(Checksum::SHA256)
                    .with_http_connector(NamedPuts)
                    .with_retry(retry);
                for (k, v) in spec.options.iter().filter(|(k, _)| !ours(k)) {
                    let key: AmazonS3ConfigKey = k.parse().map_err(|_| unknown_option("S3", k))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.build().map_err(fail)?)
            }
            "gs" => {
                use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
                let mut b = GoogleCloudStorageBuilder::from_env()
                    .with_url(bucket_url)
                    .with_retry(retry);
                for (k, v) in spec.options.iter().filter(|(k, _)| !ours(k)) {
                    let key: GoogleConfigKey = k.parse().map_err(|_| unknown_option("GCS", k))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.build().map_err(fail)?)
            }
            "az" => {
                use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
                let mut b = MicrosoftAzureBuilder::from_env()
                    .with_url(bucket_url)
                    .with_retry(retry);
                for (k, v) in spec.options.iter().filter(|(k, _)| !ours(k)) {
                    let key: AzureConfigKey = k.parse().map_err(|_| unknown_option("Azure", k))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.build().map_err(fail)?)
            }
            s => bail!("--vault: unknown scheme {s:?}"),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the I/O runtime for the remote vault")?;
        Ok(BucketStore {
            store,
            prefix: spec.prefix.clone(),
            url: spec.url.clone(),
            store_checks_sha256: spec.scheme == "s3",
            rt,
        })
    }

    fn loc(&self, key: &str) -> Result<ObjPath> {
        check_key(key)?;
        Ok(ObjPath::from(format!("{}{key}", self.prefix)))
    }

    /// An error naming the vault, the key and the reason (object_store's messages hold the
    /// request path and the server's answer, never a credential).
    fn err(&self, op: &str, key: &str, e: impl std::fmt::Display) -> anyhow::Error {
        anyhow!("remote vault {}: cannot {op} {key}: {e}", self.url)
    }

    /// Does the stored `key` hash to `sha`? Streams it (constant memory).
    async fn verify_remote(&self, key: &str, sha: &str) -> Result<bool> {
        let loc = self.loc(key)?;
        let got = self
            .store
            .get(&loc)
            .await
            .map_err(|e| self.err("read back", key, e))?;
        let mut s = got.into_stream();
        let mut h = Sha256::new();
        while let Some(chunk) = s.next().await {
            h.update(chunk.map_err(|e| self.err("read back", key, e))?);
        }
        Ok(crate::hash::hex_digest(h) == sha)
    }

    async fn put_one(&self, key: &str, src: &Path, sha: &str) -> Result<()> {
        let loc = self.loc(key)?;
        let size = fs::metadata(src)
            .with_context(|| format!("cannot read {}", src.display()))?
            .len();
        if size > SINGLE_MAX {
            return self.put_multipart(key, &loc, src, sha).await;
        }
        let bytes = fs::read(src).with_context(|| format!("cannot read {}", src.display()))?;
        // S3: object_store hashes these bytes for `x-amz-checksum-sha256`, and [`NamedPuts`]
        // sends them only if that digest is the key's name: hashing them here too would be a
        // second pass over every byte. Other stores: hashed here.
        if !self.store_checks_sha256 {
            let got = crate::hash::sha256_hex(&bytes);
            if got != sha {
                bail!(
                    "cannot store {key}: {} hashes to {got}, not to its name",
                    src.display()
                );
            }
        }
        let payload = PutPayload::from(bytes::Bytes::from(bytes));
        match self
            .store
            .put_opts(&loc, payload.clone(), PutMode::Create.into())
            .await
        {
            Ok(_) if self.store_checks_sha256 => Ok(()),
            Ok(_) => self.confirm(key, sha).await,
            // Present: never trusted by name, and about to be relied on. Our verified bytes
            // are written over it: a damaged object is replaced, a sound one gets identical
            // bytes (content addressing: any concurrent writer writes the same), and either
            // way its last-modified time is renewed, so a concurrent `vault prune` sees it as
            // young (its grace period) until our record names it. One upload, instead of a
            // download to verify plus an upload to renew.
            Err(object_store::Error::AlreadyExists { .. }) => {
                let r = self
                    .store
                    .put_opts(&loc, payload, PutMode::Overwrite.into())
                    .await
                    .map_err(|e| self.err("store", key, e))?;
                drop(r);
                if self.store_checks_sha256 {
                    Ok(())
                } else {
                    self.confirm(key, sha).await
                }
            }
            Err(e) => Err(self.err("store", key, e)),
        }
    }

    /// For [`Store::missing`]: every key in the directories of `keys`, or `None` once the
    /// listing passes its budget (see there).
    async fn listed(&self, keys: &[String]) -> Result<Option<std::collections::HashSet<String>>> {
        let budget = keys.len().saturating_mul(LIST_PER_KEY);
        let dirs: std::collections::BTreeSet<&str> = keys
            .iter()
            .filter_map(|k| k.split_once('/').map(|(d, _)| d))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut n = 0usize;
        for d in dirs {
            let p = ObjPath::from(format!("{}{d}/", self.prefix));
            let mut s = self.store.list(Some(&p));
            while let Some(m) = s.next().await {
                let m = m.map_err(|e| self.err("list", &format!("{d}/"), e))?;
                n += 1;
                if n > budget {
                    return Ok(None);
                }
                if let Some(k) = m.location.as_ref().strip_prefix(&self.prefix) {
                    seen.insert(k.to_string());
                }
            }
        }
        Ok(Some(seen))
    }

    async fn confirm(&self, key: &str, sha: &str) -> Result<()> {
        if self.verify_remote(key, sha).await? {
            Ok(())
        } else {
            bail!(
                "remote vault {}: {key} does not hash to its name after it was stored",
                self.url
            )
        }
    }

    /// A large object: a multipart upload streamed from the file and hashed on the way
    /// (aborted unless the bytes hash to `sha`). Multipart has no put-if-absent, but content
    /// addressing makes a second identical upload harmless, and it renews the object's time
    /// as [`BucketStore::put_one`] does for a present object.
    async fn put_multipart(&self, key: &str, loc: &ObjPath, src: &Path, sha: &str) -> Result<()> {
        let up = self
            .store
            .put_multipart(loc)
            .await
            .map_err(|e| self.err("start uploading", key, e))?;
        let mut w = WriteMultipart::new_with_chunk_size(up, PART);
        let mut f =
            fs::File::open(src).with_context(|| format!("cannot read {}", src.display()))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; PART];
        loop {
            let n = f
                .read(&mut buf)
                .with_context(|| format!("cannot read {}", src.display()))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            w.wait_for_capacity(2)
                .await
                .map_err(|e| self.err("upload", key, e))?;
            w.write(&buf[..n]);
        }
        let got = crate::hash::hex_digest(h);
        if got != sha {
            let _ = w.abort().await;
            bail!(
                "cannot store {key}: {} hashes to {got}, not to its name",
                src.display()
            );
        }
        w.finish()
            .await
            .map_err(|e| self.err("finish uploading", key, e))?;
        if self.store_checks_sha256 {
            Ok(())
        } else {
            self.confirm(key, sha).await
        }
    }
}

impl Store for BucketStore {
    fn describe(&self) -> String {
        self.url.clone()
    }

    /// Up to [`HEAD_MAX`] keys: a `HEAD` each, [`CONCURRENCY`] at a time. More: one listing of
    /// their directories (`maps/`, `blobs/`; 1,000 keys a page on S3, 5,000 on Azure), unless
    /// that lists more than [`LIST_PER_KEY`] entries per key asked about (a large vault and a
    /// small seal), when it falls back to the `HEAD`s.
    fn missing(&self, keys: &[String]) -> Result<Vec<String>> {
        if keys.len() > HEAD_MAX
            && let Some(present) = self.rt.block_on(self.listed(keys))?
        {
            return Ok(keys
                .iter()
                .filter(|k| !present.contains(k.as_str()))
                .cloned()
                .collect());
        }
        let found: Vec<Option<String>> = self.rt.block_on(
            futures::stream::iter(keys)
                .map(|k| async move {
                    let loc = self.loc(k)?;
                    match self.store.head(&loc).await {
                        Ok(_) => Ok(None),
                        Err(object_store::Error::NotFound { .. }) => Ok(Some(k.clone())),
                        Err(e) => Err(self.err("look up", k, e)),
                    }
                })
                .buffered(CONCURRENCY)
                .try_collect(),
        )?;
        Ok(found.into_iter().flatten().collect())
    }

    fn put_object(&self, key: &str, src: &Path, sha: &str) -> Result<()> {
        self.rt.block_on(self.put_one(key, src, sha))
    }

    fn put_objects(&self, items: &[Upload]) -> Result<()> {
        self.rt.block_on(
            futures::stream::iter(items)
                .map(|u| self.put_one(&u.key, &u.src, &u.sha))
                .buffer_unordered(CONCURRENCY)
                .try_collect::<Vec<()>>(),
        )?;
        Ok(())
    }

    fn get_object(&self, key: &str, sha: &str, dest: &Path) -> Result<()> {
        let loc = self.loc(key)?;
        self.rt.block_on(async {
            let got = self
                .store
                .get(&loc)
                .await
                .map_err(|e| self.err("fetch", key, e))?;
            let mut out = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dest)
                .with_context(|| format!("cannot create {}", dest.display()))?;
            let mut s = got.into_stream();
            let mut h = Sha256::new();
            let res: Result<()> = async {
                while let Some(chunk) = s.next().await {
                    let chunk = chunk.map_err(|e| self.err("fetch", key, e))?;
                    h.update(&chunk);
                    out.write_all(&chunk)
                        .with_context(|| format!("cannot write {}", dest.display()))?;
                }
                Ok(())
            }
            .await;
            let res = res.and_then(|()| {
                let got = crate::hash::hex_digest(h);
                if got == sha {
                    Ok(())
                } else {
                    Err(anyhow!(
                        "remote vault {}: {key} does not hash to its name (sha256 {got}); \
                         `mapvault vault fsck` reports what it affects",
                        self.url
                    ))
                }
            });
            if res.is_err() {
                drop(out);
                let _ = fs::remove_file(dest);
            }
            res
        })
    }

    fn head(&self, key: &str) -> Result<Option<Entry>> {
        let loc = self.loc(key)?;
        match self.rt.block_on(self.store.head(&loc)) {
            Ok(m) => Ok(Some(Entry {
                key: key.to_string(),
                size: m.size,
                modified: m.last_modified.into(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("look up", key, e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<Entry>> {
        let p = ObjPath::from(format!("{}{prefix}", self.prefix));
        let metas: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.store.list(Some(&p)).try_collect())
            .map_err(|e| self.err("list", prefix, e))?;
        let mut out: Vec<Entry> = metas
            .into_iter()
            .filter_map(|m| {
                let full = m.location.to_string();
                let key = full.strip_prefix(&self.prefix)?.to_string();
                check_key(&key).ok()?;
                Some(Entry {
                    key,
                    size: m.size,
                    modified: m.last_modified.into(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn put_once(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let loc = self.loc(key)?;
        let payload = PutPayload::from(bytes::Bytes::copy_from_slice(bytes));
        match self
            .rt
            .block_on(self.store.put_opts(&loc, payload, PutMode::Create.into()))
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => {
                if self.get_small(key)?.as_deref() == Some(bytes) {
                    Ok(())
                } else {
                    bail!(
                        "remote vault {}: {key} already exists with other content; it is \
                         written once and never replaced",
                        self.url
                    )
                }
            }
            Err(e) => Err(self.err("write", key, e)),
        }
    }

    fn get_small(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let loc = self.loc(key)?;
        self.rt.block_on(async {
            match self.store.get(&loc).await {
                Ok(g) => {
                    let too_big = || {
                        self.err(
                            "read",
                            key,
                            format!("larger than {SMALL_MAX} bytes, not a vault record"),
                        )
                    };
                    if g.meta.size > SMALL_MAX {
                        return Err(too_big());
                    }
                    // The stated size is the server's word: count what actually arrives.
                    let mut out = Vec::new();
                    let mut body = g.into_stream();
                    while let Some(chunk) = body.next().await {
                        let chunk = chunk.map_err(|e| self.err("read", key, e))?;
                        if (out.len() + chunk.len()) as u64 > SMALL_MAX {
                            return Err(too_big());
                        }
                        out.extend_from_slice(&chunk);
                    }
                    Ok(Some(out))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.err("read", key, e)),
            }
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        let loc = self.loc(key)?;
        match self.rt.block_on(self.store.delete(&loc)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err("delete", key, e)),
        }
    }
}

/// The HTTP layer under the S3 client: a single-request `PUT` of an object key (`…/maps/<sha256>.map`,
/// `…/blobs/<sha256>`) goes out only when the `x-amz-checksum-sha256` header object_store
/// computed from the very bytes it is about to send is the key's name; it fails otherwise
/// (not retried), naming both. Every other request (records, reads, multipart parts, whose
/// whole object `put_multipart` hashes itself) passes unchanged to object_store's reqwest
/// client. So the bytes that leave are checked against their name by one sha256 pass — the
/// one object_store makes anyway for the header, and signs — and the store checks them again
/// on arrival.
#[derive(Debug, Default)]
struct NamedPuts;

impl object_store::client::HttpConnector for NamedPuts {
    fn connect(
        &self,
        options: &object_store::ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        let inner = object_store::client::ReqwestConnector::default().connect(options)?;
        Ok(object_store::client::HttpClient::new(CheckedPuts(inner)))
    }
}

#[derive(Debug)]
struct CheckedPuts(object_store::client::HttpClient);

/// What [`object_store::client::HttpService::call`] returns (its `async_trait` form).
type Sent<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    object_store::client::HttpResponse,
                    object_store::client::HttpError,
                >,
            > + Send
            + 'a,
    >,
>;

impl object_store::client::HttpService for CheckedPuts {
    fn call<'life0, 'async_trait>(
        &'life0 self,
        req: object_store::client::HttpRequest,
    ) -> Sent<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        if let Some(e) = unnamed_put(&req) {
            let fail: Sent<'async_trait> = Box::pin(async move {
                Err(object_store::client::HttpError::new(
                    object_store::client::HttpErrorKind::Unknown,
                    e,
                ))
            });
            return fail;
        }
        Box::pin(self.0.execute(req))
    }
}

/// Why [`NamedPuts`] holds a `PUT` back.
#[derive(Debug, thiserror::Error)]
#[error("the bytes to send hash to {got}, not to its name (sha256 {name}); not sent")]
struct NotItsName {
    name: String,
    /// The digest sent, or why there is none.
    got: String,
}

/// A single-request `PUT` of an object key whose `x-amz-checksum-sha256` is not its name (or
/// is missing): the reason, else `None`.
fn unnamed_put(req: &object_store::client::HttpRequest) -> Option<NotItsName> {
    use base64::Engine as _;
    if req.method().as_str() != "PUT"
        || req
            .uri()
            .query()
            .is_some_and(|q| q.contains("uploadId=") || q.contains("partNumber="))
    {
        return None;
    }
    let path = percent_encoding::percent_decode_str(req.uri().path()).decode_utf8_lossy();
    let mut segs = path.rsplit('/');
    let (file, dir) = (segs.next()?, segs.next()?);
    let k =
        super::store::key_of(file, dir == "maps").filter(|_| dir == "maps" || dir == "blobs")?;
    let name = hex::decode(&k.sha).ok()?;
    let header = req.headers().get("x-amz-checksum-sha256");
    let got = header
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.as_bytes())
                .ok()
        })
        .unwrap_or_default();
    if got == name {
        return None;
    }
    Some(NotItsName {
        name: k.sha,
        got: if header.is_some() {
            hex::encode(got)
        } else {
            "an unknown value (no x-amz-checksum-sha256 header: is another checksum \
             algorithm set in a --vault-option?)"
                .into()
        },
    })
}

/// The store a cache vault mirrors (wrapped in `RecordChecked`), and the objects queued for
/// the next barrier.
pub struct Mirror {
    pub store: Box<dyn Store>,
    pending: Mutex<Vec<super::manifest::Stored>>,
}

impl Mirror {
    /// `cache`: the cache vault's directory, whose objects repair the store (see
    /// `RecordChecked`).
    pub fn new(store: Box<dyn Store>, cache: &Path) -> Mirror {
        Mirror {
            store: Box::new(RecordChecked {
                inner: store,
                cache: cache.to_path_buf(),
            }),
            pending: Mutex::new(Vec::new()),
        }
    }

    pub fn queue(&self, s: &super::manifest::Stored) {
        if let Ok(mut p) = self.pending.lock() {
            p.push(s.clone());
        }
    }

    pub fn take_pending(&self) -> Vec<super::manifest::Stored> {
        let mut v = self
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    }
}

/// The store as a remote vault uses it: every call goes to the backend, and writing a seal
/// record (`seals/<id>.json`) is followed by a check that the store has every object the record
/// names, any it lacks uploaded again from the cache (a seal copies each map into the cache, so
/// the cache holds them), before the seal reports success.
///
/// Why: `vault prune` on another machine deletes an object no record it read needs once the
/// object is older than the grace period, and an object store has no conditional delete. A seal
/// that stalled past the grace period between uploading (or renewing) its objects and writing
/// its record could lose one to such a prune; this check finds and repairs that. The other half
/// — a prune that deletes after this check — is prune's: it lists the records again just
/// before deleting and keeps every object a new record names (see prune.rs).
struct RecordChecked {
    inner: Box<dyn Store>,
    cache: PathBuf,
}

impl RecordChecked {
    fn ensure_named_objects(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let Some(id) = key
            .strip_prefix("seals/")
            .and_then(|n| n.strip_suffix(".json"))
            .filter(|_| !key.ends_with(super::seals::UNSEALED_SUFFIX))
        else {
            return Ok(());
        };
        let what = PathBuf::from(format!("{}/{key}", self.inner.describe()));
        let rec = super::seals::parse_record(&what, id, bytes)?;
        let keys: Vec<String> = super::manifest::Manifest {
            seals: vec![rec],
            ..Default::default()
        }
        .referenced_objects()
        .into_iter()
        .map(|(is_map, sha)| {
            object_key(&if is_map {
                super::manifest::Stored::Map(sha)
            } else {
                super::manifest::Stored::Blob(sha)
            })
        })
        .collect();
        let mut uploads = Vec::new();
        for k in self.inner.missing(&keys)? {
            let src = self.cache.join(&k);
            let sha = k
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".map")
                .to_string();
            if !src.is_file() {
                bail!(
                    "remote vault {}: seal {id} was recorded, but {k} it needs is gone from the \
                     store (a concurrent `vault prune`?) and not in the cache {}; unseal from \
                     this vault will miss it",
                    self.inner.describe(),
                    self.cache.display()
                );
            }
            uploads.push(Upload { key: k, src, sha });
        }
        self.inner.put_objects(&uploads)
    }
}

impl Store for RecordChecked {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn put_object(&self, key: &str, src: &Path, sha: &str) -> Result<()> {
        self.inner.put_object(key, src, sha)
    }
    fn put_objects(&self, items: &[Upload]) -> Result<()> {
        self.inner.put_objects(items)
    }
    fn get_object(&self, key: &str, sha: &str, dest: &Path) -> Result<()> {
        self.inner.get_object(key, sha, dest)
    }
    fn head(&self, key: &str) -> Result<Option<Entry>> {
        self.inner.head(key)
    }
    fn missing(&self, keys: &[String]) -> Result<Vec<String>> {
        self.inner.missing(keys)
    }
    fn list(&self, prefix: &str) -> Result<Vec<Entry>> {
        self.inner.list(prefix)
    }
    fn put_once(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.inner.put_once(key, bytes)?;
        self.ensure_named_objects(key, bytes)
    }
    fn get_small(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get_small(key)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key)
    }
}

/// The key of an object in the layout.
pub fn object_key(s: &super::manifest::Stored) -> String {
    match s {
        super::manifest::Stored::Map(sha) => format!("maps/{sha}.map"),
        super::manifest::Stored::Blob(sha) => format!("blobs/{sha}"),
    }
}

/// Open a remote vault: its cache directory as a local vault (created 0700, locked), checked
/// against the store's `vault.json` (created once by a command that writes), its records pulled.
pub(crate) fn open(
    spec: &RemoteSpec,
    cache: &Path,
    write: bool,
    on_wait: &mut dyn FnMut(&str),
) -> Result<super::Vault> {
    let store = BucketStore::open(spec)?;
    open_with(Box::new(store), cache, write, on_wait)
}

/// [`open`] with any [`Store`] (the unit tests mirror to a [`super::store::DirStore`]).
pub(crate) fn open_with(
    store: Box<dyn Store>,
    cache: &Path,
    write: bool,
    on_wait: &mut dyn FnMut(&str),
) -> Result<super::Vault> {
    if let Some(parent) = cache.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the cache directory {}", parent.display()))?;
    }
    let mut v = super::Vault::open(cache, true, on_wait)?;
    let what = format!("{}/vault.json", store.describe());
    match store.get_small("vault.json")? {
        Some(b) => super::seals::check_marker_bytes(&what, &b)?,
        None if write => store.put_once("vault.json", &super::seals::marker_bytes()?)?,
        None => bail!(
            "{} is not a mapvault vault (no vault.json there); give the vault seal used with \
             --vault URL",
            store.describe()
        ),
    }
    pull_records(&v, &*store)?;
    v.remote = Some(Mirror::new(store, cache));
    Ok(v)
}

/// Make the cache's `seals/` what the store's is: new keys downloaded (write-once, so a cached
/// one never changes), keys the store no longer has (pruned by another machine) dropped. This
/// machine's own records reached the store before the cache, so none is dropped by mistake.
fn pull_records(v: &super::Vault, store: &dyn Store) -> Result<()> {
    use std::collections::BTreeSet;
    let there: BTreeSet<String> = store
        .list("seals/")?
        .into_iter()
        .filter_map(|e| e.key.strip_prefix("seals/").map(str::to_string))
        .filter(|n| !n.contains('/') && n.ends_with(".json"))
        .collect();
    let dir = v.seals_dir();
    let mut here = BTreeSet::new();
    for e in fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
        if let Some(n) = e.file_name().to_str()
            && n.ends_with(".json")
        {
            here.insert(n.to_string());
        }
    }
    for gone in here.difference(&there) {
        let p = dir.join(gone);
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", p.display())),
        }
    }
    for new in there.difference(&here) {
        let key = format!("seals/{new}");
        // Gone meanwhile (a concurrent prune): nothing to cache.
        let Some(bytes) = store.get_small(&key)? else {
            continue;
        };
        super::seals::write_once(&v.tmp_dir(), &dir.join(new), [bytes.as_slice()])?;
    }
    Ok(())
}

/// For `vault fsck` of a remote vault: make the cache hold exactly the store's objects, each
/// downloaded anew and verified. An object that fails (does not hash to its name, cannot be
/// read) is left out of the cache, so fsck reports it, and its reason is returned as a note.
pub(crate) fn refresh_objects(v: &super::Vault) -> Result<Vec<String>> {
    let Some(m) = v.remote() else {
        return Ok(vec![]);
    };
    let mut notes = Vec::new();
    for (dir, is_map) in [("maps", true), ("blobs", false)] {
        let listed = m.store.list(&format!("{dir}/"))?;
        let mut there = std::collections::BTreeSet::new();
        for e in listed {
            let name = e.key.strip_prefix(&format!("{dir}/")).unwrap_or_default();
            let Some(k) = super::store::key_of(name, is_map) else {
                continue;
            };
            there.insert(name.to_string());
            let obj = if is_map {
                super::manifest::Stored::Map(k.sha)
            } else {
                super::manifest::Stored::Blob(k.sha)
            };
            let dest = v.object_path(&obj);
            let _ = fs::remove_file(&dest);
            if let Err(e) = v.fetch(&obj) {
                notes.push(format!("{e:#}"));
            }
        }
        let d = v.root().join(dir);
        for e in fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))? {
            let e = e.with_context(|| format!("cannot read {}", d.display()))?;
            if let Some(n) = e.file_name().to_str()
                && !there.contains(n)
            {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::super::store::DirStore;
    use super::*;
    use crate::vault::manifest::Stored;

    #[test]
    fn urls_are_normalised_and_unknown_schemes_named() -> Result<()> {
        let s = RemoteSpec::parse("S3://bkt//a/b/", &["Endpoint=http://x".into()])?;
        assert_eq!(s.url, "s3://bkt/a/b");
        assert_eq!(s.prefix, "a/b/");
        assert_eq!(
            s.options,
            [("endpoint".to_string(), "http://x".to_string())]
        );
        assert_eq!(RemoteSpec::parse("gs://bkt", &[])?.prefix, "");
        let e = RemoteSpec::parse("ftp://h/p", &[])
            .expect_err("ftp is refused")
            .to_string();
        assert!(e.contains("\"ftp\""), "{e}");
        assert!(RemoteSpec::parse("s3://b/../x", &[]).is_err());
        assert!(RemoteSpec::parse("s3://b", &["novalue".into()]).is_err());
        Ok(())
    }

    #[test]
    fn objects_go_up_at_the_barrier_and_records_are_pulled_and_dropped() -> Result<()> {
        let t = tempfile::tempdir()?;
        let remote = t.path().join("remote");
        let store = || -> Result<Box<dyn Store>> { Ok(Box::new(DirStore::new(&remote)?)) };
        let v = open_with(store()?, &t.path().join("c1/v"), true, &mut |_| {})?;
        assert!(remote.join("vault.json").is_file());
        let data = b"{\"version\":3,\"sources\":[],\"mappings\":\"\"}".to_vec();
        let obj = Stored::Map(crate::hash::sha256_hex(&data));
        v.put_bytes(&obj, &data)?;
        assert!(
            !remote.join(object_key(&obj)).exists(),
            "not before the barrier"
        );
        v.barrier(None)?;
        assert_eq!(fs::read(remote.join(object_key(&obj)))?, data);
        drop(v);

        // Another machine: a fresh cache fetches the object on demand, pulls records.
        store()?.put_once("seals/seal-x.unsealed.json", b"{}")?;
        let w = open_with(store()?, &t.path().join("c2/v"), false, &mut |_| {})?;
        assert!(w.root().join("seals/seal-x.unsealed.json").is_file());
        assert!(w.has(&obj, None));
        assert_eq!(w.get(&obj)?, data);
        drop(w);
        // Pruned elsewhere: dropped from the cache at the next open.
        store()?.delete("seals/seal-x.unsealed.json")?;
        let w = open_with(store()?, &t.path().join("c2/v"), false, &mut |_| {})?;
        assert!(!w.root().join("seals/seal-x.unsealed.json").exists());
        Ok(())
    }

    #[test]
    fn an_object_put_goes_out_only_with_its_name_as_checksum() {
        use base64::Engine as _;
        let body = b"{}".to_vec();
        let sha = crate::hash::sha256_hex(&body);
        let b64 = |hex_sha: &str| {
            base64::engine::general_purpose::STANDARD
                .encode(hex::decode(hex_sha).unwrap_or_default())
        };
        let req = |method: &str, path: &str, sum: Option<String>| {
            let mut r = object_store::client::HttpRequest::new(body.clone().into());
            *r.method_mut() = method.parse().expect("method");
            *r.uri_mut() = format!("http://127.0.0.1:9/bkt/p{path}")
                .parse()
                .expect("uri");
            if let Some(v) = sum {
                r.headers_mut()
                    .insert("x-amz-checksum-sha256", v.parse().expect("header"));
            }
            r
        };
        let other = "0".repeat(64);
        assert!(unnamed_put(&req("PUT", &format!("/maps/{sha}.map"), Some(b64(&sha)))).is_none());
        assert!(unnamed_put(&req("PUT", &format!("/blobs/{sha}"), Some(b64(&sha)))).is_none());
        // Percent-encoded as object_store may send it.
        assert!(unnamed_put(&req("PUT", &format!("/maps/{sha}%2Emap"), Some(b64(&sha)))).is_none());
        let e = unnamed_put(&req("PUT", &format!("/maps/{other}.map"), Some(b64(&sha))))
            .expect("held back")
            .to_string();
        assert!(e.contains(&sha) && e.contains(&other), "{e}");
        assert!(unnamed_put(&req("PUT", &format!("/blobs/{other}"), None)).is_some());
        // Records, reads and multipart parts pass.
        assert!(unnamed_put(&req("PUT", "/seals/a.json", None)).is_none());
        assert!(unnamed_put(&req("GET", &format!("/maps/{other}.map"), None)).is_none());
        assert!(
            unnamed_put(&req(
                "PUT",
                &format!("/maps/{other}.map?partNumber=1&uploadId=x"),
                Some(b64(&sha))
            ))
            .is_none()
        );
    }

    #[test]
    fn a_reader_of_an_empty_store_is_told_it_is_no_vault() -> Result<()> {
        let t = tempfile::tempdir()?;
        let s = Box::new(DirStore::new(&t.path().join("remote"))?);
        let e = open_with(s, &t.path().join("c/v"), false, &mut |_| {})
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("is not a mapvault vault"), "{e}");
        Ok(())
    }
}
