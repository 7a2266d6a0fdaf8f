//! A full `seal` of a generated dist, timed alone: each iteration gets a fresh copy of the dist
//! and an empty vault, made outside the timed region (`iter_batched`), and seals it inside a
//! worker pool from `mapvault::parallel::pool`, as the CLI does. A dry run (inspect and plan,
//! nothing written) is measured too, to split reading/scanning/hashing from applying.
//!
//! The dist is the committed fixtures (real Vite, webpack, Rollup and esbuild output) copied
//! `COPIES` times, each copy with its own first line in every JS/CSS file and an `x_` key in
//! every map (inline ones included), so no two copies hash alike. `benches/e2e/run.sh` is the end-to-end version.
//!
//! `cargo bench --bench seal`; throughput is bytes of dist per second.

use std::fs;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mapvault::parallel;
use mapvault::seal::{self, SealOptions};

const COPIES: usize = 8;
const FIXTURES: &[&str] = &[
    "vite",
    "webpack-source-map",
    "webpack-hidden-source-map",
    "webpack-inline-source-map",
    "webpack-eval-source-map",
    "rollup",
    "esbuild",
];

/// Copy `src` into `dest`, marking every file as belonging to copy `k`.
fn copy_marked(src: &Path, dest: &Path, k: usize) -> u64 {
    fs::create_dir_all(dest).expect("create dir");
    let mut bytes = 0;
    let mut entries: Vec<_> = fs::read_dir(src)
        .expect("list fixtures")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let to = dest.join(&name);
        if p.is_dir() {
            bytes += copy_marked(&p, &to, k);
            continue;
        }
        let data = fs::read(&p).expect("read fixture");
        let out = if name.ends_with(".map") {
            // An extension field right after the opening brace: still a valid map.
            match data.iter().position(|&c| c == b'{') {
                Some(i) => [
                    &data[..=i],
                    format!("\"x_mapvault_bench\":\"{k} {name}\",").as_bytes(),
                    &data[i + 1..],
                ]
                .concat(),
                None => data,
            }
        } else if name.ends_with(".js") || name.ends_with(".cjs") || name.ends_with(".css") {
            let marked = [format!("/*! copy {k} */ ").as_bytes(), &data].concat();
            mark_inline_map(&marked, &format!("{k} {name}"))
        } else {
            data
        };
        bytes += out.len() as u64;
        fs::write(&to, out).expect("write copy");
    }
    bytes
}

/// Give an inline `base64` map its own `x_` field, so equal bundles in different copies do not
/// carry equal maps (every copy must hash differently).
fn mark_inline_map(src: &[u8], tag: &str) -> Vec<u8> {
    const KEY: &[u8] = b";base64,";
    let Some(at) = src.windows(KEY.len()).rposition(|w| w == KEY) else {
        return src.to_vec();
    };
    let start = at + KEY.len();
    let end = src[start..]
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')))
        .map_or(src.len(), |n| start + n);
    let Ok(map) = B64.decode(&src[start..end]) else {
        return src.to_vec();
    };
    let Some(brace) = map.iter().position(|&c| c == b'{') else {
        return src.to_vec();
    };
    let marked = [
        &map[..=brace],
        format!("\"x_mapvault_bench\":\"{tag}\",").as_bytes(),
        &map[brace + 1..],
    ]
    .concat();
    [&src[..start], B64.encode(marked).as_bytes(), &src[end..]].concat()
}

fn make_master(root: &Path) -> u64 {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut bytes = 0;
    for k in 0..COPIES {
        for f in FIXTURES {
            bytes += copy_marked(&fixtures.join(f), &root.join(format!("pkg-{k:02}/{f}")), k);
        }
    }
    bytes
}

fn copy_tree(src: &Path, dest: &Path) {
    fs::create_dir_all(dest).expect("create dir");
    for e in fs::read_dir(src).expect("list") {
        let p = e.expect("dir entry").path();
        let to = dest.join(p.file_name().expect("file name"));
        if p.is_dir() {
            copy_tree(&p, &to);
        } else {
            fs::copy(&p, &to).expect("copy");
        }
    }
}

struct Fresh {
    _dir: tempfile::TempDir,
    opts: SealOptions,
}

fn fresh(master: &Path, dry_run: bool) -> Fresh {
    let dir = tempfile::tempdir().expect("temp dir");
    let dist = dir.path().join("dist");
    copy_tree(master, &dist);
    let dist = dist.canonicalize().expect("canonical dist");
    let vault = dir.path().join("vault");
    Fresh {
        _dir: dir,
        opts: SealOptions {
            dist,
            vault: mapvault::vault::VaultLoc::local(vault),
            dry_run,
            debug_ids: None,
            allow: Default::default(),
        },
    }
}

fn run(opts: &SealOptions) -> seal::SealReport {
    let r = seal::seal(opts, &mut |_| {}).expect("seal runs");
    assert!(r.errors.is_empty(), "seal errors: {:?}", r.errors);
    r
}

fn bench_seal(c: &mut Criterion) {
    let master_dir = tempfile::tempdir().expect("temp dir");
    let master = master_dir.path().join("master");
    let bytes = make_master(&master);

    let mut g = c.benchmark_group("seal");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Bytes(bytes));
    for jobs in [1, 2] {
        let pool = parallel::pool(jobs).expect("worker pool");
        g.bench_function(
            format!("seal --jobs {jobs} ({COPIES} fixture copies)"),
            |b| {
                b.iter_batched(
                    || fresh(&master, false),
                    |f| pool.install(|| run(&f.opts)),
                    BatchSize::PerIteration,
                );
            },
        );
        // A dry run changes nothing, so one copy serves every iteration.
        let f = fresh(&master, true);
        g.bench_function(format!("seal --dry-run --jobs {jobs}"), |b| {
            b.iter(|| pool.install(|| run(&f.opts)));
        });
    }
    g.finish();
}

criterion_group!(benches, bench_seal);
criterion_main!(benches);
