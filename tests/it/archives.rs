//! `verify` on archives (issue 14): compressed archives are opened whatever the compression,
//! by name or by magic number; nesting past the limit is an incomplete scan (exit 2), never
//! clean; a tar is read past zero blocks as node-tar and GNU tar `--ignore-zeros` read it
//! (checked against both, and Python's `tarfile`); archive bombs stay an error naming the
//! member.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Command;

use serde_json::Value;

use crate::harness::TestEnv;

const MAP: &[u8] = br#"{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}"#;

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).expect("tar entry");
    }
    b.into_inner().expect("tar")
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b).expect("gzip");
    gz.finish().expect("gzip")
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        z.write_all(data).expect("zip data");
    }
    z.finish().expect("zip").into_inner()
}

/// `verify --format json` on `path`: exit code and report.
fn verify_json(env: &TestEnv, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["verify", "--format", "json"];
    all.extend_from_slice(args);
    let run = env.mapvault(all).run();
    let v: Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| run.fail(format_args!("stdout is not JSON: {e}")));
    (run.code.unwrap_or(-1), v)
}

fn leak_paths(v: &Value) -> BTreeSet<String> {
    v["leaks"]
        .as_array()
        .expect("leaks")
        .iter()
        .map(|l| l["path"].as_str().expect("path").to_string())
        .collect()
}

#[test]
fn compressed_archives_are_opened_by_name_and_by_magic() {
    let env = TestEnv::new();
    let tar = tar_of(&[
        ("package/dist/a.js", b"a()\n//# sourceMappingURL=a.js.map\n"),
        ("package/dist/a.js.map", MAP),
    ]);
    let zip = zip_of(&[("dist/b.css.map", MAP)]);
    let xz = {
        let mut w = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1))
            .expect("xz");
        w.write_all(&tar).expect("xz");
        w.finish().expect("xz")
    };
    let bz = {
        let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        w.write_all(&tar).expect("bz2");
        w.finish().expect("bz2")
    };
    let br = {
        let mut out = Vec::new();
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(&tar).expect("br");
        drop(w);
        out
    };
    let zst = zstd::stream::encode_all(&tar[..], 3).expect("zstd");
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "p.tar.zst",
            zst.clone(),
            &["package/dist/a.js", "package/dist/a.js.map"],
        ),
        (
            "p.tzst",
            zst.clone(),
            &["package/dist/a.js", "package/dist/a.js.map"],
        ),
        (
            "p.tar.br",
            br,
            &["package/dist/a.js", "package/dist/a.js.map"],
        ),
        (
            "p.tar.xz",
            xz.clone(),
            &["package/dist/a.js", "package/dist/a.js.map"],
        ),
        ("p.txz", xz, &["package/dist/a.js", "package/dist/a.js.map"]),
        (
            "p.tar.bz2",
            bz,
            &["package/dist/a.js", "package/dist/a.js.map"],
        ),
        // A `.tgz` that is really zstd, as some registries' mirrors serve them.
        (
            "p.tgz",
            zst,
            &["package/dist/a.js", "package/dist/a.js.map"],
        ),
        ("p.zip.gz", gzip(&zip), &["dist/b.css.map"]),
        // No archive name: only the bytes say tar.
        (
            "download.gz",
            gzip(&tar),
            &["package/dist/a.js", "package/dist/a.js.map"],
        ),
        (
            "download",
            tar.clone(),
            &["package/dist/a.js", "package/dist/a.js.map"],
        ),
    ];
    for (name, bytes, members) in &cases {
        env.write(format!("one/{name}"), bytes);
        let (code, v) = verify_json(&env, &[&format!("one/{name}")]);
        let want: BTreeSet<String> = members.iter().map(|m| format!("{name}!/{m}")).collect();
        assert_eq!(leak_paths(&v), want, "{name}: {v}");
        assert_eq!(code, 1, "{name}: {v}");
    }
    // The same files in a folder: the walk finds every one of them.
    let (code, v) = verify_json(&env, &["one"]);
    assert_eq!(code, 1);
    let want: usize = cases.iter().map(|(_, _, m)| m.len()).sum();
    assert_eq!(leak_paths(&v).len(), want, "{v}");
    // A precompressed bundle is still a bundle, not an archive.
    env.write("two/a.js.gz", gzip(b"a()\n//# sourceMappingURL=a.js.map\n"));
    let (code, v) = verify_json(&env, &["two"]);
    assert_eq!(
        (code, leak_paths(&v)),
        (1, BTreeSet::from(["a.js.gz".to_string()]))
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_an_incomplete_scan_not_clean() {
    let env = TestEnv::new();
    // The map is four archives down; verify looks three deep.
    let mut a = tar_of(&[("deep/a.js.map", MAP)]);
    for i in 0..3 {
        a = gzip(&tar_of(&[(&format!("level{i}.tgz"), &a)]));
    }
    env.write("pkg.tgz", &a);
    let (code, v) = verify_json(&env, &["pkg.tgz"]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["leaks"], serde_json::json!([]), "no leak was seen: {v}");
    assert_eq!(v["clean"], false, "an incomplete scan is never clean: {v}");
    let errors = v["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{v}");
    assert_eq!(
        errors[0]["path"],
        "pkg.tgz!/level2.tgz!/level1.tgz!/level0.tgz"
    );
    let msg = errors[0]["message"].as_str().expect("message");
    assert!(
        msg.contains("nested more than 3 deep") && msg.contains("incomplete"),
        "{msg}"
    );
    // Human output says the scan is not clean.
    env.mapvault(["verify", "pkg.tgz"]).expect_code(2);
    // Three deep is fine.
    env.write(
        "ok.tgz",
        gzip(&tar_of(&[("x.tgz", &gzip(&tar_of(&[("y.js.map", MAP)])))])),
    );
    let (code, v) = verify_json(&env, &["ok.tgz"]);
    assert_eq!(code, 1);
    assert_eq!(
        leak_paths(&v),
        BTreeSet::from(["ok.tgz!/x.tgz!/y.js.map".to_string()])
    );
}

/// What a tool lists, or `None` (with a printed reason) when it is missing outside CI.
fn oracle(what: &str, cmd: &mut Command) -> Option<BTreeSet<String>> {
    match cmd.output() {
        Ok(out) if out.status.success() || what == "GNU tar" => Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        Ok(out) => panic!("{what} failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("{what} is needed by this test in CI: {e}")
        }
        Err(e) => {
            crate::harness::say(&format!("skipped: {what} cannot run here ({e})"));
            None
        }
    }
}

/// Tars with zero blocks between members, at the start and after an end marker: verify reads
/// every member GNU tar `--ignore-zeros` and Python's `tarfile(ignore_zeros=True)` list, which
/// includes everything node-tar (npm) extracts.
#[test]
fn a_tar_with_zero_blocks_in_the_middle_is_read_on_like_node_tar_and_gnu_tar() {
    let env = TestEnv::new();
    let block = |name: &str| {
        let t = tar_of(&[(name, MAP)]);
        t[..1024].to_vec() // header + one data block, no end marker
    };
    let zero = vec![0u8; 512];
    let layouts: Vec<(&str, Vec<u8>)> = vec![
        (
            "lone-zero",
            [block("p/a.js.map"), zero.clone(), block("p/b.js.map")].concat(),
        ),
        (
            "two-lone-zeros",
            [
                block("p/a.js.map"),
                zero.clone(),
                block("p/b.js.map"),
                zero.clone(),
                block("p/c.js.map"),
            ]
            .concat(),
        ),
        ("leading-zero", [zero.clone(), block("p/a.js.map")].concat()),
        (
            "after-end-marker",
            [
                block("p/a.js.map"),
                zero.repeat(2),
                block("p/b.js.map"),
                zero.repeat(2),
            ]
            .concat(),
        ),
    ];
    let node_tar = crate::resolve::npm_tool("tar");
    for (name, mut bytes) in layouts {
        bytes.extend_from_slice(&zero.repeat(2));
        let file = env.write(format!("{name}.tar"), &bytes);
        let (code, v) = verify_json(&env, &[&format!("{name}.tar")]);
        assert_eq!(code, 1, "{name}: {v}");
        let ours: BTreeSet<String> = leak_paths(&v)
            .into_iter()
            .map(|p| p.trim_start_matches(&format!("{name}.tar!/")).to_string())
            .collect();
        let gnu = oracle("GNU tar", Command::new("tar").arg("-itf").arg(&file));
        let py = oracle(
            "python3",
            Command::new("python3").arg("-c").arg(
                "import sys, tarfile\nfor n in tarfile.open(sys.argv[1], ignore_zeros=True).getnames(): print(n)",
            ).arg(&file),
        );
        let node = oracle(
            "node",
            Command::new("node")
                .arg("-e")
                .arg(
                    "const t = require(process.argv[1]);\
                     t.t({ file: process.argv[2], sync: true, onReadEntry: e => console.log(e.path) })",
                )
                .arg(&node_tar)
                .arg(&file),
        );
        if let Some(gnu) = gnu {
            assert_eq!(ours, gnu, "{name}: GNU tar --ignore-zeros lists these");
        }
        if let Some(py) = py {
            assert_eq!(ours, py, "{name}: python tarfile(ignore_zeros) lists these");
        }
        if let Some(node) = node {
            assert!(!node.is_empty(), "{name}: node-tar listed nothing");
            assert!(
                node.is_subset(&ours),
                "{name}: node-tar (npm) extracts {node:?}, verify saw {ours:?}"
            );
        }
    }
}

#[test]
fn a_bomb_inside_nested_archives_is_an_error_naming_the_member() {
    let env = TestEnv::new();
    let zeros = vec![0u8; 40 << 20];
    let inner = gzip(&tar_of(&[("big.js", &zeros)]));
    env.write("bomb.tgz", gzip(&tar_of(&[("inner.tgz", &inner)])));
    let run = env
        .mapvault(["verify", "bomb.tgz", "--format", "json"])
        .env("MAPVAULT_MAX_EXPANDED", "32MiB")
        .expect_code(2);
    let v: Value = serde_json::from_slice(&run.stdout).expect("json");
    let msg = v["errors"][0]["message"].as_str().expect("message");
    assert_eq!(v["errors"][0]["path"], "bomb.tgz", "{v}");
    assert!(
        msg.contains("bomb.tgz!/inner.tgz!/big.js") && msg.contains("--max-expanded"),
        "{msg}"
    );
    // Within a larger budget the same file is read and is clean.
    env.mapvault(["--max-expanded", "128MiB", "verify", "bomb.tgz"])
        .expect_code(0);
}
