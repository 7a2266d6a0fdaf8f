//! The hand-made tricky dist in `fixtures/tricky/dist` (documented, file by file, in
//! `fixtures/tricky/README.md`), plus what cannot be committed: a symlink to a map outside the
//! dist, a symlink to a directory of maps, the real `../outside.map` a reference points at.
//!
//! [`TRICKY`] says, for every file, exactly what must happen: left alone (not even rewritten),
//! moved to the vault, or stripped of exactly the listed comments. verify's leaks, the sealed
//! bytes, the vault's objects and unseal's result are all derived from it and checked exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use crate::fixtures::{LeakKey, contents, leak_keys};
use crate::harness::{Level, TestEnv, fixtures_dir, sha256_hex};
use crate::maps;

/// One comment seal must remove, located by its *last* occurrence in the original file (so a
/// string literal holding the same text earlier in the file is not it).
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// Exactly this text.
    Exact(&'static str),
    /// From this prefix to the end of its line (for long `data:` URIs).
    ToEol(&'static str),
    /// A leaking reference inside a string literal, located by its *first* occurrence:
    /// overwritten with as many spaces (an `embedded-reference`), nothing moves.
    Blank(&'static str),
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Not a leak: never rewritten (same inode, same mtime).
    Untouched,
    /// A source map (by name or content): moved to the vault byte-identical.
    Moved,
    /// These comments, and no other byte, are removed.
    Strip(&'static [Cut]),
}

use Cut::{Blank, Exact, ToEol};
use Expect::{Moved, Strip, Untouched};

/// Every file in `fixtures/tricky/dist` and what seal must do with it.
const TRICKY: &[(&str, Expect)] = &[
    (
        "app.js",
        Strip(&[Exact("//# sourceMappingURL=maps/app.js.map")]),
    ),
    (
        "block.js",
        Strip(&[Exact("/*# sourceMappingURL=block.js.map */")]),
    ),
    ("block.js.map", Moved),
    ("broken.js.map", Moved),
    (
        "bundle.js",
        Strip(&[
            Exact("//# sourceMappingURL=part-one.js.map"),
            Exact("//# sourceMappingURL=part-two.js.map"),
            Exact("//# sourceMappingURL=bundle.js.map"),
        ]),
    ),
    ("bundle.js.map", Moved),
    (
        "common.cjs",
        Strip(&[Exact("//# sourceMappingURL=common.cjs.map")]),
    ),
    ("common.cjs.map", Moved),
    (
        "crlf.css",
        Strip(&[Exact("/*# sourceMappingURL=crlf.css.map */")]),
    ),
    ("crlf.css.map", Moved),
    (
        "crlf.js",
        Strip(&[Exact("//# sourceMappingURL=crlf.js.map")]),
    ),
    ("crlf.js.map", Moved),
    ("debug-id.js", Untouched),
    ("dup-a.js.map", Moved),
    ("dup-b.js.map", Moved),
    (
        "inline-base64.js",
        Strip(&[ToEol("//# sourceMappingURL=data:")]),
    ),
    (
        "inline-charset.js",
        Strip(&[ToEol("//# sourceMappingURL=data:")]),
    ),
    (
        "inline-percent.js",
        Strip(&[ToEol("//# sourceMappingURL=data:")]),
    ),
    ("inline.css", Strip(&[ToEol("/*# sourceMappingURL=data:")])),
    (
        "legacy.css",
        Strip(&[Exact("/*@ sourceMappingURL=legacy.css.map */")]),
    ),
    ("legacy.css.map", Moved),
    (
        "legacy.js",
        Strip(&[Exact("//@ sourceMappingURL=legacy.js.map")]),
    ),
    ("legacy.js.map", Moved),
    ("mapdata", Moved),
    ("maps/app.js.map", Moved),
    ("maps/vendor/vendor.js.map", Moved),
    (
        "module.mjs",
        Strip(&[Exact("//# sourceMappingURL=module.mjs.map")]),
    ),
    ("module.mjs.map", Moved),
    (
        "no-final-newline.js",
        Strip(&[Exact("//# sourceMappingURL=no-final-newline.js.map")]),
    ),
    ("no-final-newline.js.map", Moved),
    (
        "nospace.js",
        Strip(&[Exact("//#sourceMappingURL=nospace.js.map")]),
    ),
    ("notes.txt", Untouched),
    ("orphan.js.map", Moved),
    (
        "outside-ref.js",
        Strip(&[Exact("//# sourceMappingURL=../outside.map")]),
    ),
    ("package.json", Untouched),
    ("part-two.js.map", Moved),
    (
        "percent.js",
        Strip(&[Exact("//# sourceMappingURL=with%20space.js.map")]),
    ),
    ("prose.js", Untouched),
    (
        "query.js",
        Strip(&[Exact("//# sourceMappingURL=query.js.map?v=3#frag")]),
    ),
    ("query.js.map", Moved),
    (
        "regex.js",
        Strip(&[Exact("//# sourceMappingURL=regex.js.map")]),
    ),
    ("regex.js.map", Moved),
    (
        "remote.js",
        Strip(&[Exact(
            "//# sourceMappingURL=https://cdn.example.com/maps/remote.js.map",
        )]),
    ),
    ("renamed.map.txt", Moved),
    (
        "shared-a.js",
        Strip(&[Exact("//# sourceMappingURL=shared.js.map")]),
    ),
    (
        "shared-b.js",
        Strip(&[Exact("//# sourceMappingURL=shared.js.map")]),
    ),
    ("shared.js.map", Moved),
    ("sourcemap.json", Moved),
    (
        "string.js",
        Strip(&[
            Blank("//# sourceMappingURL=string.js.map"),
            Exact("//# sourceMappingURL=string.js.map"),
        ]),
    ),
    ("string.js.map", Moved),
    (
        "style.css",
        Strip(&[Exact("/*# sourceMappingURL=style.css.map */")]),
    ),
    ("style.css.map", Moved),
    (
        "syntax-error.js",
        Strip(&[Exact("//# sourceMappingURL=syntax-error.js.map")]),
    ),
    ("syntax-error.js.map", Moved),
    ("template-tail.js", Untouched),
    (
        "template.js",
        Strip(&[Exact("//# sourceMappingURL=template.js.map")]),
    ),
    ("template.js.map", Moved),
    ("tsconfig.json", Untouched),
    (
        "types.d.ts",
        Strip(&[Exact("//# sourceMappingURL=types.d.ts.map")]),
    ),
    ("types.d.ts.map", Moved),
    (
        "utf16.js",
        Strip(&[Exact("//# sourceMappingURL=utf16.js.map")]),
    ),
    ("utf16.js.map", Moved),
    ("with space.js.map", Moved),
    ("xssi.json", Moved),
];

/// Annotation look-alikes inside literals that must survive seal untouched.
const KEEP: &[(&str, &str)] = &[
    (
        "string.js",
        "'continued \\\n//# sourceMappingURL=continued-in-string.js.map'",
    ),
    (
        "template.js",
        "`first line\n//# sourceMappingURL=in-template.js.map\nlast line`",
    ),
    (
        "template-tail.js",
        "`\n//# sourceMappingURL=template-tail.js.map`",
    ),
    ("regex.js", "/[//# sourceMappingURL=in-regex.js.map]/g"),
    ("regex.js", "/\\/\\/# sourceMappingURL=(\\S+)/"),
    ("style.css", "\"/*# sourceMappingURL=in-string.css.map */\""),
];

/// Where each blanked reference of `cuts` is in `bytes` (sorted).
fn blanks(path: &str, bytes: &[u8], cuts: &[Cut]) -> Vec<Range<usize>> {
    let text = String::from_utf8_lossy(bytes);
    let mut out: Vec<Range<usize>> = cuts
        .iter()
        .filter_map(|c| match c {
            Blank(s) => Some(*s),
            _ => None,
        })
        .map(|needle| {
            let start = text.find(needle).unwrap_or_else(|| {
                panic!("{path}: expected reference {needle:?} is not in the file")
            });
            start..start + needle.len()
        })
        .collect();
    out.sort_by_key(|r| r.start);
    out
}

/// `bytes` with `blanks` overwritten by spaces and then `cuts` removed.
fn sealed_bytes(bytes: &[u8], blanks: &[Range<usize>], cuts: &[Range<usize>]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for r in blanks {
        b[r.clone()].fill(b' ');
    }
    maps::cut(&b, cuts)
}

/// Where each cut of `exp` is in `bytes` (sorted; blanked references are not cuts).
fn spans(path: &str, bytes: &[u8], cuts: &[Cut]) -> Vec<Range<usize>> {
    let text = String::from_utf8_lossy(bytes);
    let mut out: Vec<Range<usize>> = cuts
        .iter()
        .filter_map(|c| match c {
            Exact(s) => Some((*s, false)),
            ToEol(s) => Some((*s, true)),
            Blank(_) => None,
        })
        .map(|(needle, to_eol)| {
            let start = text.rfind(needle).unwrap_or_else(|| {
                panic!("{path}: expected comment {needle:?} is not in the file")
            });
            let end = if to_eol {
                text[start..]
                    .find(['\r', '\n'])
                    .map_or(text.len(), |i| start + i)
            } else {
                start + needle.len()
            };
            start..end
        })
        .collect();
    out.sort_by_key(|r| r.start);
    out
}

fn line_of(bytes: &[u8], offset: usize) -> u64 {
    maps::count(&bytes[..offset], b'\n') as u64 + 1
}

/// The tricky dist in a temp dir, plus the things that cannot be committed.
struct Tricky {
    env: TestEnv,
    files: BTreeMap<String, Vec<u8>>,
}

const OUTSIDE_MAP: &str = r#"{"version":3,"file":"outside.js","sources":["outside.src.js"],"names":[],"mappings":"AAAA"}"#;
const SECRET_MAP: &str =
    r#"{"version":3,"file":"real.js","sources":["secret.src.js"],"names":[],"mappings":"AAAA"}"#;

fn setup() -> Tricky {
    setup_with(true)
}

/// The tricky dist without its symlink to a map. Such a link is a leak (servers follow links)
/// that seal removes and records (`seal::seal_moves_links_to_maps_into_the_record_and_unseal_
/// recreates_them`); the seal and unseal tests here check the files without it, and verify's
/// test uses the whole dist.
fn setup_for_seal() -> Tricky {
    setup_with(false)
}

fn setup_with(map_link: bool) -> Tricky {
    let env = TestEnv::new();
    env.copy_fixture("tricky/dist", "dist");
    let files = contents(&env.snapshot("dist"));
    // `../outside.map` from dist/outside-ref.js: a real file seal must never touch.
    env.write("outside.map", OUTSIDE_MAP);
    env.write("secret/real.js.map", SECRET_MAP);
    if map_link {
        env.symlink("../secret/real.js.map", "dist/linked.js.map");
    }
    // A link to a directory without maps stays a note (one to a directory holding a map is a
    // leak: `detect::directory_links_whose_tree_holds_maps_are_leaks…`).
    env.write("plain-dir/readme.txt", "no maps here\n");
    env.symlink("../plain-dir", "dist/linked-dir");
    // Modes and times unseal must bring back.
    env.set_mode("dist/maps", 0o750);
    env.set_mode("dist/orphan.js.map", 0o640);
    env.set_mtime("dist/orphan.js.map", 1_600_000_000, 123_456_789);
    env.set_mtime("dist/crlf.js", 1_500_000_000, 0);
    Tricky { env, files }
}

fn expected_leaks(files: &BTreeMap<String, Vec<u8>>) -> BTreeSet<LeakKey> {
    let mut out = BTreeSet::new();
    for (path, e) in TRICKY {
        match e {
            Untouched => {}
            Moved => {
                out.insert(((*path).to_owned(), "source-map".to_owned(), None));
            }
            Strip(cuts) => {
                let bytes = &files[*path];
                for s in spans(path, bytes, cuts) {
                    let inline = bytes[s.clone()].windows(5).any(|w| w == b"data:");
                    let kind = if inline {
                        "inline-map"
                    } else {
                        "map-reference"
                    };
                    out.insert((
                        (*path).to_owned(),
                        kind.to_owned(),
                        Some(line_of(bytes, s.start)),
                    ));
                }
                for s in blanks(path, bytes, cuts) {
                    out.insert((
                        (*path).to_owned(),
                        "embedded-reference".to_owned(),
                        Some(line_of(bytes, s.start)),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn table_lists_every_tricky_file_and_the_readme_explains_each() {
    let dir = fixtures_dir().join("tricky");
    let on_disk: BTreeSet<String> = crate::harness::Snapshot::of(&dir.join("dist"))
        .files()
        .map(str::to_owned)
        .collect();
    let listed: BTreeSet<String> = TRICKY.iter().map(|(p, _)| (*p).to_owned()).collect();
    assert_eq!(
        on_disk, listed,
        "fixtures/tricky/dist and the TRICKY table disagree"
    );
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("fixtures/tricky/README.md");
    let missing: Vec<_> = listed
        .iter()
        .filter(|p| !readme.contains(&format!("`{p}`")))
        .collect();
    assert!(missing.is_empty(), "README.md does not mention {missing:?}");
}

#[test]
fn verify_flags_exactly_the_expected_leaks_and_notes_symlinks() {
    let t = setup();
    let run = t
        .env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let report = run.json();
    let (got, mut want) = (leak_keys(&report), expected_leaks(&t.files));
    // A link named like a map ships the map it points at.
    want.insert(("linked.js.map".to_owned(), "source-map".to_owned(), None));
    run.ensure(
        got == want,
        format_args!(
            "leaks differ\n  missed: {:?}\n  unexpected: {:?}",
            want.difference(&got).collect::<Vec<_>>(),
            got.difference(&want).collect::<Vec<_>>()
        ),
    );
    let noted: BTreeSet<&str> = report["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n["path"].as_str())
        .collect();
    run.ensure(
        noted.contains("linked-dir") && !noted.contains("linked.js.map"),
        "the link to a directory is a note; the link to a map is a leak",
    );
    run.ensure(
        report["files_scanned"].as_u64() == Some(TRICKY.len() as u64),
        "files_scanned must count every regular file (symlinks are not followed)",
    );
}

#[test]
fn seal_cuts_exactly_the_comments_and_moves_exactly_the_maps() {
    let t = setup_for_seal();
    let env = &t.env;
    let before_all = env.snapshot("");
    let before = env.snapshot("dist");
    let seal = env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let after = env.snapshot("dist");
    let vault = env.vault("vault");
    let mut want_objects = BTreeSet::new();

    for (path, e) in TRICKY {
        let was = &t.files[*path];
        match e {
            Untouched => {
                let d = before.diff_only(&after, Level::Untouched, |p| p == *path);
                seal.ensure(
                    d.is_empty(),
                    format_args!("{path} must not be touched: {d:?}"),
                );
            }
            Moved => {
                seal.ensure(
                    after.get(path).is_none(),
                    format_args!("{path} still in dist"),
                );
                let sha = sha256_hex(was);
                seal.ensure(
                    vault.map(&sha).as_deref() == Some(was.as_slice()),
                    format_args!("{path} not in the vault as maps/{sha}.map"),
                );
                want_objects.insert(sha);
            }
            Strip(cuts) => {
                let s = spans(path, was, cuts);
                let now = after.read(path);
                let want = sealed_bytes(was, &blanks(path, was, cuts), &s);
                seal.ensure(
                    now == want,
                    format_args!(
                        "{path}: sealed bytes differ\n  want: {:?}\n  got:  {:?}",
                        String::from_utf8_lossy(&want),
                        String::from_utf8_lossy(&now)
                    ),
                );
                for r in s {
                    let url = String::from_utf8_lossy(&was[r]).into_owned();
                    if let Some(i) = url.find("data:") {
                        let uri = url[i..].trim_end_matches("*/").trim_end();
                        let decoded = maps::decode_data_uri(uri);
                        let sha = sha256_hex(&decoded);
                        seal.ensure(
                            vault.map(&sha).as_deref() == Some(decoded.as_slice()),
                            format_args!("{path}: inline map not in the vault decoded"),
                        );
                        want_objects.insert(sha);
                    }
                }
            }
        }
    }
    for (path, text) in KEEP {
        let now = after.read(path);
        seal.ensure(
            now.windows(text.len()).any(|w| w == text.as_bytes()),
            format_args!("{path}: literal {text:?} must survive seal"),
        );
    }

    // The vault holds exactly the expected objects: shared and duplicate maps once, nothing
    // from outside the dist.
    let got_objects: BTreeSet<String> = vault.maps().into_keys().collect();
    seal.ensure(
        got_objects == want_objects,
        format_args!(
            "vault objects differ\n  missing: {:?}\n  unexpected: {:?}",
            want_objects.difference(&got_objects).collect::<Vec<_>>(),
            got_objects.difference(&want_objects).collect::<Vec<_>>()
        ),
    );
    seal.ensure(
        !got_objects.contains(&sha256_hex(OUTSIDE_MAP.as_bytes()))
            && !got_objects.contains(&sha256_hex(SECRET_MAP.as_bytes())),
        "a map outside the dist reached the vault",
    );

    // The maps/ directory held only maps: gone. Symlinks and everything outside: untouched.
    seal.ensure(
        !env.path("dist/maps").exists(),
        "dist/maps/ held only maps and must be removed",
    );
    let outside = |p: &str| {
        (!p.starts_with("dist/") && !p.starts_with("vault")) || p.starts_with("dist/linked")
    };
    let d = before_all.diff_only(&env.snapshot(""), Level::Untouched, outside);
    seal.ensure(
        d.is_empty(),
        format_args!("outside the dist or a symlink changed: {d:?}"),
    );

    let v = env.mapvault(["verify", "dist", "--format", "json"]).ok();
    v.ensure(v.json()["clean"] == true, "verify after seal must be clean");
}

#[test]
fn unseal_restores_every_byte_mode_mtime_and_the_removed_maps_dir() {
    let t = setup_for_seal();
    let env = &t.env;
    let before = env.snapshot("");
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    let after = env.snapshot("");
    let d = before.diff_only(&after, Level::Restored, |p| !p.starts_with("vault"));
    assert!(
        d.is_empty(),
        "unseal left differences: {d:?}\n{}",
        env.listing()
    );
}

#[test]
fn seal_counts_utf16_columns_when_tokens_sit_after_astral_characters() {
    let t = setup_for_seal();
    t.env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let map = &t.files["utf16.js.map"];
    let vaulted = t
        .env
        .vault("vault")
        .map(&sha256_hex(map))
        .expect("utf16.js.map in the vault");
    let sealed = t.env.read(Path::new("dist/utf16.js"));
    let c = maps::check_tokens("utf16.js", &vaulted, &t.files["utf16.js"], &sealed, 100);
    assert_eq!(c.sampled, c.tokens, "every token checked");
    assert!(
        c.named > 0 && c.named == c.names_matched,
        "{c:?}: named tokens must sit on their names"
    );
}
