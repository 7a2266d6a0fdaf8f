//! Micro-benchmarks for the pure parts of a seal, on real bundler output from `fixtures/`:
//! the JS scanner (fast path vs the parse tier), the map sniffer, and sha256 (one input, and many inputs four lanes at a time).
//!
//! `cargo bench --bench scan`; throughput is reported in bytes of input per second.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mapvault::hash;
use mapvault::scan::js::{self, Flavor};
use mapvault::scan::mapsniff;
use mapvault::vault::multihash;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The first file in `fixtures/<dir>` whose name starts with `prefix` and ends with `suffix`
/// (bundler file names carry content hashes, so they are found rather than spelled out).
fn fixture(dir: &str, prefix: &str, suffix: &str) -> (String, Vec<u8>) {
    let d = fixtures().join(dir);
    let mut names: Vec<String> = fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix) && n.ends_with(suffix))
        .collect();
    names.sort();
    let name = names
        .first()
        .unwrap_or_else(|| panic!("no {prefix}*{suffix} in {}", d.display()))
        .clone();
    let bytes = fs::read(d.join(&name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
    (format!("{dir}/{name}"), bytes)
}

/// Real minified bundles: a trailing `//# sourceMappingURL=` comment (the fast path applies),
/// an inline map, and webpack's eval-source-map output, where the text sits inside strings all
/// through the file (only the parse tier can answer).
fn bundles() -> Vec<(String, Vec<u8>)> {
    vec![
        fixture("vite/assets", "index-", ".js"),
        fixture("webpack-source-map", "main.", ".js"),
        fixture("rollup", "node-main", ".cjs"),
        fixture("esbuild", "node-main", ".js"),
        fixture("webpack-inline-source-map", "main.", ".js"),
        fixture("webpack-eval-source-map", "main", ".js"),
    ]
}

fn flavor(name: &str) -> Flavor {
    if name.ends_with(".cjs") {
        Flavor::Script
    } else {
        Flavor::Js
    }
}

fn js_scan(c: &mut Criterion) {
    let mut g = c.benchmark_group("js_scan");
    for (name, src) in bundles() {
        let fl = flavor(&name);
        let method = js::scan(&src, fl).method;
        g.throughput(Throughput::Bytes(src.len() as u64));
        g.bench_with_input(
            BenchmarkId::new(format!("scan ({method:?})"), &name),
            &src,
            |b, s| b.iter(|| js::scan(black_box(s), fl)),
        );
        g.bench_with_input(BenchmarkId::new("scan_slow", &name), &src, |b, s| {
            b.iter(|| js::scan_slow(black_box(s), fl));
        });
    }
    g.finish();
}

fn map_sniff(c: &mut Criterion) {
    let mut g = c.benchmark_group("mapsniff");
    let maps = [
        fixture("webpack-source-map", "main.", ".js.map"),
        fixture("esbuild", "node-main", ".js.map"),
        fixture("rollup", "lazy-", ".js.map"),
        fixture("vite/assets", "index-", ".js.map"),
    ];
    for (name, bytes) in &maps {
        assert!(mapsniff::sniff(bytes).is_map(), "{name} is a map");
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("sniff", name), bytes, |b, m| {
            b.iter(|| mapsniff::sniff(black_box(m)));
        });
    }
    // A JS bundle is rejected at the first byte; a JSON file that is not a map after the
    // memmem pre-check.
    let (name, js) = fixture("webpack-source-map", "main.", ".js");
    g.throughput(Throughput::Bytes(js.len() as u64));
    g.bench_with_input(BenchmarkId::new("sniff (not JSON)", &name), &js, |b, s| {
        b.iter(|| mapsniff::sniff(black_box(s)));
    });
    g.finish();
}

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("sha256_hex");
    // Real bytes (maps and bundles back to back), repeated up to the largest size.
    let mut corpus = Vec::new();
    for (_, b) in bundles() {
        corpus.extend_from_slice(&b);
    }
    let one = corpus.clone();
    while corpus.len() < 16 << 20 {
        corpus.extend_from_slice(&one);
    }
    for size in [4 << 10, 64 << 10, 1 << 20, 16 << 20] {
        let input = &corpus[..size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), input, |b, s| {
            b.iter(|| hash::sha256_hex(black_box(s)));
        });
    }
    g.finish();

    // The same bytes as 16 inputs of a sixteenth each: one after another with `sha2` (what a
    // seal did before), then four lanes at a time (what it does on CPUs with SHA extensions).
    let mut g = c.benchmark_group("sha256_16_inputs");
    let parts: Vec<&[u8]> = corpus[..16 << 20].chunks(1 << 20).collect();
    g.throughput(Throughput::Bytes(16 << 20));
    g.bench_function("one_at_a_time", |b| {
        b.iter(|| {
            for p in &parts {
                black_box(hash::hash_reader(&mut black_box(*p)).ok());
            }
        });
    });
    g.bench_function(format!("{}_lanes", multihash::LANES), |b| {
        b.iter(|| black_box(multihash::hash_all(parts.iter().map(|p| Ok(black_box(*p))))));
    });
    g.finish();
}

criterion_group!(benches, js_scan, map_sniff, hashing);
criterion_main!(benches);
