//! Paths and inodes that try to lead mapvault astray: references with `../` or absolute URLs
//! (never reach outside the dist), symbolic links to files, to directories, in loops and
//! dangling (never followed or changed, reported as notes), odd file names (spaces, quotes,
//! leading `-`, newline, non-UTF-8 bytes, unicode, control and bidi characters: sealed,
//! verified and restored; escaped when printed; exact in the manifest), hard links (the other
//! link never changes) and read-only files (modes kept through seal and unseal).

#[cfg(unix)]
use std::ffi::OsStr;
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;
#[cfg(unix)]
use std::path::PathBuf;

#[cfg(unix)]
use crate::harness::Run;
use crate::harness::{Kind, Level, TestEnv, sha256_hex};

const MAP: &str = r#"{"version":3,"sources":["src/x.ts"],"names":[],"mappings":"AAAA"}"#;

fn map_for(name: &str) -> String {
    MAP.replace("x.ts", name)
}

#[test]
fn references_outside_the_dist_never_reach_it() {
    let env = TestEnv::new();
    env.write("outside/out.js.map", map_for("out"));
    let abs = env.path("outside/out.js.map");
    let abs = abs.to_str().expect("utf-8 temp path");
    let refs = [
        ("sub/dotdot.js", "../../outside/out.js.map".to_string()),
        (
            "sub/encoded.js",
            "%2e%2e/%2e%2e/outside/out.js.map".to_string(),
        ),
        ("slash.js", "sub/..%2f..%2foutside/out.js.map".to_string()),
        ("abs.js", abs.to_string()),
        ("file.js", format!("file://{abs}")),
        ("http.js", "https://example.com/out.js.map".to_string()),
        ("root.js", "/../outside/out.js.map".to_string()),
        ("deep.js", "../".repeat(40) + "etc/passwd"),
    ];
    for (file, url) in &refs {
        env.write(
            format!("dist/{file}"),
            format!("f();\n//# sourceMappingURL={url}\n"),
        );
    }
    let outside = env.snapshot("outside");
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault", "--format", "json"])
        .ok();
    outside.assert_same(&env.snapshot("outside"), Level::Untouched, "seal");
    run.ensure(
        !env.vault("vault")
            .holds(&sha256_hex(map_for("out").as_bytes())),
        "a map outside the dist reached the vault",
    );
    for (file, _) in &refs {
        run.ensure(
            env.read(format!("dist/{file}")) == b"f();\n\n",
            format_args!("the comment in {file} is still stripped"),
        );
    }
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    outside.assert_same(&env.snapshot("outside"), Level::Untouched, "unseal");
    for (file, url) in &refs {
        assert_eq!(
            env.read(format!("dist/{file}")),
            format!("f();\n//# sourceMappingURL={url}\n").into_bytes(),
            "{file} restored"
        );
    }
}

#[test]
fn symlinks_of_every_kind_are_never_followed_or_changed() {
    let env = TestEnv::new();
    env.write("outside/out.js.map", map_for("out"));
    env.write("outside/dir/in.js.map", map_for("in"));
    env.write(
        "outside/dir/in.js",
        "i();\n//# sourceMappingURL=in.js.map\n",
    );
    env.write("dist/a.js", "a();\n//# sourceMappingURL=link.js.map\n");
    env.write("dist/real.js.map", map_for("real"));
    env.symlink("../outside/out.js.map", "dist/link.js.map");
    env.symlink(env.path("outside/out.js.map"), "dist/abs.js.map");
    env.symlink("../outside/dir", "dist/dirlink");
    env.symlink("real.js.map", "dist/inside-link.js.map");
    env.symlink("loop-a", "dist/loop-b");
    env.symlink("loop-b", "dist/loop-a");
    env.symlink("self", "dist/self");
    env.symlink("nowhere.js.map", "dist/dangling.js.map");
    env.symlink("..", "dist/up");
    let before = env.snapshot("");
    let links = [
        "link.js.map",
        "abs.js.map",
        "dirlink",
        "inside-link.js.map",
        "loop-a",
        "loop-b",
        "self",
        "dangling.js.map",
        "up",
    ];

    // A link named like a map, or pointing at one (inside or outside the dist), or at a
    // directory whose tree holds one (`dirlink` → `outside/dir/in.js.map`, `up` → the parent
    // holding `outside/`), ships the map (servers and copy tools follow links): a leak. Every
    // other link is a note. Either way nothing is followed to write.
    let map_links = [
        "link.js.map",
        "abs.js.map",
        "inside-link.js.map",
        "dangling.js.map",
        "dirlink",
        "up",
    ];
    let verify = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let j = verify.json();
    let notes = j["notes"].as_array().cloned().unwrap_or_default();
    let leaks = j["leaks"].as_array().cloned().unwrap_or_default();
    for l in links {
        let leak = leaks.iter().any(|n| {
            n["path"] == l
                && n["kind"] == "source-map"
                && n["message"].as_str().unwrap_or("").contains("link")
        });
        let note = notes
            .iter()
            .any(|n| n["path"] == l && n["message"].as_str().unwrap_or("").contains("link"));
        if map_links.contains(&l) {
            verify.ensure(leak && !note, format_args!("the symlink {l} is a leak"));
        } else {
            verify.ensure(note && !leak, format_args!("the symlink {l} is a note"));
        }
    }

    // Seal removes the links to map files (recorded, to be recreated by unseal) and leaves
    // every other link; a link to a directory holding maps stays a leak (exit 1). Nothing is
    // followed to write.
    let seal = env
        .mapvault(["seal", "dist", "--vault", "vault"])
        .expect_code(1);
    let after = env.snapshot("");
    let removed = [
        "link.js.map",
        "abs.js.map",
        "inside-link.js.map",
        "dangling.js.map",
    ];
    for l in removed {
        seal.ensure(
            std::fs::symlink_metadata(env.path(format!("dist/{l}"))).is_err(),
            format_args!("the link {l} to a map is removed"),
        );
    }
    let changed = before.diff_only(&after, Level::Untouched, |p| {
        p.starts_with("outside")
            || links
                .iter()
                .any(|l| !removed.contains(l) && p == format!("dist/{l}"))
    });
    seal.ensure(
        changed.is_empty(),
        format_args!("links or their targets changed: {changed:?}"),
    );
    let vault = env.vault("vault");
    seal.ensure(
        !vault.holds(&sha256_hex(map_for("out").as_bytes()))
            && !vault.holds(&sha256_hex(map_for("in").as_bytes())),
        "a map behind a symlink reached the vault",
    );
    seal.ensure(
        vault.holds(&sha256_hex(map_for("real").as_bytes())),
        "the real map is vaulted",
    );
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    let d = before.diff_only(&env.snapshot(""), Level::Content, |p| {
        !p.starts_with("vault")
    });
    assert!(d.is_empty(), "unseal did not restore the tree: {d:?}");
}

#[cfg(unix)]
/// File names that break naive tools. Each gets a JS file referencing its map.
fn odd_names() -> Vec<Vec<u8>> {
    [
        &b"sp ace"[..],
        b"qu'o\"te",
        b"-leading",
        b"--help",
        b"new\nline",
        b"bad\xff\xfe",
        "unicodé✓日本".as_bytes(),
        "bidi\u{202e}evil\u{2066}x".as_bytes(),
        b"esc\x1b[31mred",
        b"tab\there",
        b"cr\rret",
        b"back\\slash",
        b"per%25cent",
    ]
    .iter()
    .map(|n| n.to_vec())
    .collect()
}

#[cfg(unix)]
fn rel(name: &[u8], suffix: &str) -> PathBuf {
    let mut b = b"dist/".to_vec();
    b.extend_from_slice(name);
    b.extend_from_slice(suffix.as_bytes());
    PathBuf::from(OsStr::from_bytes(&b))
}

#[cfg(unix)]
/// A URL naming `name.js.map` (percent-encoding what a URL cannot hold raw).
fn url_for(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &c in name.iter().chain(b".js.map") {
        if c.is_ascii_alphanumeric() || b"-._~'\"".contains(&c) || c >= 0x80 {
            out.push(c);
        } else {
            out.extend_from_slice(format!("%{c:02X}").as_bytes());
        }
    }
    out
}

#[cfg(unix)]
const BIDI: &[char] = &[
    '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}',
];

#[cfg(unix)]
/// Raw control or bidi characters (other than line feeds between lines) on stdout or stderr.
fn assert_escaped(run: &Run) {
    for (stream, bytes) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let bad_ctl = bytes
            .iter()
            .any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f || b == 0xff || b == 0xfe);
        run.ensure(!bad_ctl, format_args!("{stream} holds a raw control byte"));
        let text = String::from_utf8_lossy(bytes);
        run.ensure(
            !text.chars().any(|c| BIDI.contains(&c)),
            format_args!("{stream} holds a raw bidi control character"),
        );
        run.ensure(
            !text.contains("\nline"),
            format_args!("{stream}: a newline inside a file name was printed raw"),
        );
    }
}

#[cfg(unix)]
#[test]
fn odd_file_names_seal_verify_unseal_and_print_escaped() {
    let env = TestEnv::new();
    for n in odd_names() {
        let mut js = b"f();\n//# sourceMappingURL=".to_vec();
        js.extend_from_slice(&url_for(&n));
        js.push(b'\n');
        env.write(rel(&n, ".js"), js);
        env.write(rel(&n, ".js.map"), map_for(&hex::encode(&n)));
        // A symlink with the odd name too (its note is printed).
        env.symlink(OsStr::from_bytes(&n), rel(&n, ".link"));
    }
    let orig = env.snapshot("dist");
    let count = odd_names().len();

    let verify = env.mapvault(["verify", "dist"]).expect_code(1);
    assert_escaped(&verify);
    let json = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let leaks = json.json()["leaks"].as_array().cloned().unwrap_or_default();
    json.ensure(
        leaks.len() == 2 * count,
        format_args!("{} leaks for {count} names", leaks.len()),
    );
    for n in odd_names() {
        if let Ok(s) = std::str::from_utf8(&n) {
            json.ensure(
                leaks.iter().any(|l| l["path"] == format!("{s}.js.map")),
                format_args!("JSON names {s:?}.js.map exactly"),
            );
        }
    }
    let dry = env
        .mapvault(["seal", "dist", "--vault", "vault", "--dry-run"])
        .ok();
    assert_escaped(&dry);
    let seal = env
        .mapvault(["seal", "dist", "--vault", "vault", "--verbose"])
        .run();
    if seal.code != Some(0) {
        seal.fail("seal of odd names");
    }
    assert_escaped(&seal);
    env.mapvault(["verify", "dist"]).ok();
    for n in odd_names() {
        assert_eq!(
            std::fs::read(env.path(rel(&n, ".js"))).expect("sealed file"),
            b"f();\n\n",
            "{} sealed",
            String::from_utf8_lossy(&n)
        );
    }

    // The manifest records the non-UTF-8 name exactly, as hex.
    let manifest = env.vault("vault").manifest();
    let paths: Vec<&serde_json::Value> = manifest["seals"][0]["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| &f["path"])
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p["hex"] == hex::encode(b"bad\xff\xfe.js.map")),
        "the non-UTF-8 name is recorded as {{\"hex\": …}}: {paths:?}"
    );

    let unseal = env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    assert_escaped(&unseal);
    orig.assert_same(
        &env.snapshot("dist"),
        Level::Restored,
        "unseal of odd names",
    );
}

#[test]
fn a_dist_named_like_an_option_works() {
    let env = TestEnv::new();
    env.write("-dist/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    env.write("-dist/a.js.map", MAP);
    let orig = env.snapshot("-dist");
    env.mapvault(["seal", "--vault", "vault", "--", "-dist"])
        .ok();
    env.mapvault(["verify", "--", "-dist"]).ok();
    env.mapvault(["unseal", "--vault", "vault", "--", "-dist"])
        .ok();
    orig.assert_same(&env.snapshot("-dist"), Level::Restored, "unseal of -dist");
}

#[cfg(unix)]
#[test]
fn hard_links_outside_and_inside_the_dist_keep_their_bytes() {
    let env = TestEnv::new();
    // A bundle and its map, each with a second link outside the dist.
    env.write("dist/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    env.write("dist/a.js.map", map_for("a"));
    env.mkdir("outside");
    for f in ["a.js", "a.js.map"] {
        std::fs::hard_link(
            env.path(format!("dist/{f}")),
            env.path(format!("outside/{f}")),
        )
        .expect("hard link");
    }
    // A bundle with both links inside the dist, and a map with both links inside.
    env.write("dist/b.js", "b();\n//# sourceMappingURL=b.js.map\n");
    env.mkdir("dist/copy");
    std::fs::hard_link(env.path("dist/b.js"), env.path("dist/copy/b.js")).expect("hard link");
    env.write("dist/b.js.map", map_for("b"));
    std::fs::hard_link(env.path("dist/b.js.map"), env.path("dist/copy/b.js.map"))
        .expect("hard link");
    let orig = env.snapshot("dist");
    let outside = env.snapshot("outside");

    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    outside.assert_same(
        &env.snapshot("outside"),
        Level::Untouched,
        "links outside the dist after seal",
    );
    env.mapvault(["verify", "dist"]).ok();
    assert_eq!(env.read("dist/b.js"), b"b();\n\n");
    assert_eq!(env.read("dist/copy/b.js"), b"b();\n\n");
    let vault = env.vault("vault");
    for m in ["a.js.map", "b.js.map"] {
        assert!(
            vault.holds(&orig.get(m).expect("map").sha256),
            "{m} not in the vault"
        );
    }
    // The vault object is a copy, not another link to the outside file.
    let a_map = vault.map_path(&orig.get("a.js.map").expect("map").sha256);
    let ino = |p: &std::path::Path| {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).expect("stat"))
    };
    assert_ne!(
        ino(&a_map),
        ino(&env.path("outside/a.js.map")),
        "the vault shares an inode with a file outside it"
    );

    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    orig.assert_same(&env.snapshot("dist"), Level::Restored, "unseal");
    outside.assert_same(
        &env.snapshot("outside"),
        Level::Untouched,
        "links outside the dist after unseal",
    );
}

#[test]
fn read_only_files_keep_their_modes_through_seal_and_unseal() {
    let env = TestEnv::new();
    env.write("dist/ro.js", "r();\n//# sourceMappingURL=ro.js.map\n");
    env.write("dist/ro.js.map", map_for("ro"));
    env.write("dist/x.js", "x();\n//# sourceMappingURL=x.js.map\n");
    env.write("dist/x.js.map", map_for("x"));
    env.mkdir("dist/locked");
    env.write("dist/locked/l.js.map", map_for("l"));
    env.set_mode("dist/ro.js", 0o444);
    env.set_mode("dist/ro.js.map", 0o444);
    env.set_mode("dist/x.js", 0o755);
    env.set_mode("dist/x.js.map", 0o400);
    env.set_mode("dist/locked", 0o555);
    let orig = env.snapshot("dist");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let sealed = env.snapshot("dist");
    for (f, mode) in [("ro.js", 0o444), ("x.js", 0o755)] {
        let n = sealed.get(f).expect("still there");
        assert_eq!(n.kind, Kind::File);
        assert_eq!(n.mode, mode, "{f} keeps its mode when sealed");
    }
    env.mapvault(["verify", "dist"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    orig.assert_same(&env.snapshot("dist"), Level::Restored, "unseal");
}

/// A directory of a sealed dist replaced by a symlink to somewhere else: unseal must not follow
/// it (it would restore maps outside the dist); it refuses those files with exit 2.
#[test]
fn unseal_never_follows_a_directory_replaced_by_a_symlink() {
    let env = TestEnv::new();
    env.write("dist/sub/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    env.write("dist/sub/a.js.map", map_for("a"));
    env.write("dist/b.js", "b();\n//# sourceMappingURL=b.js.map\n");
    env.write("dist/b.js.map", map_for("b"));
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    std::fs::rename(env.path("dist/sub"), env.path("elsewhere")).expect("move the dir away");
    env.symlink("../elsewhere", "dist/sub");
    let elsewhere = env.snapshot("elsewhere");
    let run = env
        .mapvault(["unseal", "dist", "--vault", "vault"])
        .expect_code(2);
    run.ensure(
        run.stderr_str().contains("symbolic link"),
        "the refusal says a symlink is in the way",
    );
    elsewhere.assert_same(
        &env.snapshot("elsewhere"),
        Level::Untouched,
        "the symlinked directory's target",
    );
    run.ensure(
        env.vault("vault")
            .holds(&sha256_hex(map_for("a").as_bytes())),
        "the map whose restore was refused stays in the vault",
    );
    // The rest of the dist is restored.
    assert_eq!(
        env.read("dist/b.js"),
        b"b();\n//# sourceMappingURL=b.js.map\n"
    );
}

/// Issue 19: two non-UTF-8 names used to print alike (`bad\u{fffd}.js`, in SARIF
/// `bad%EF%BF%BD.js`) and the summary counted them as one file. Each is now shown with its raw
/// bytes percent-encoded, in JSON, SARIF and human output.
#[cfg(unix)]
#[test]
fn regression_non_utf8_names_are_percent_encoded_and_counted_apart() {
    let env = TestEnv::new();
    for b in [&b"bad\xff"[..], b"bad\xfe"] {
        let mut name = b.to_vec();
        name.extend_from_slice(b".js.map");
        env.write(
            PathBuf::from("dist").join(OsStr::from_bytes(&name)),
            r#"{"version":3,"sources":[],"mappings":""}"#,
        );
    }
    let json = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let mut paths: Vec<String> = json.json()["leaks"]
        .as_array()
        .expect("leaks")
        .iter()
        .map(|l| l["path"].as_str().unwrap_or("").to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, ["bad%FE.js.map", "bad%FF.js.map"]);
    let sarif = env
        .mapvault(["verify", "dist", "--format", "sarif"])
        .expect_code(1);
    let text = sarif.stdout_str();
    sarif.ensure(
        text.contains("dist/bad%FF.js.map") && text.contains("dist/bad%FE.js.map"),
        "SARIF URIs carry the raw bytes percent-encoded",
    );
    let human = env.mapvault(["verify", "dist"]).expect_code(1);
    let out = human.stdout_str();
    human.ensure(
        out.contains("bad%FF.js.map") && out.contains("bad%FE.js.map"),
        "human output names both",
    );
    human.ensure(
        out.contains("in 2 of 2 files"),
        "the summary counts two files",
    );
}
