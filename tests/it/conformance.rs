//! The ECMA-426 conformance corpus (`../shared/conformance/tc39-source-map-tests`, see its
//! `PROVENANCE.md`) used as a dist: verify flags every commented `*.js` and every `*.map`; seal
//! vaults every map byte-identical (valid or not) and cuts only the comments; every
//! `checkMapping` action of a test with `"sourceMapIsValid": true` still holds using the vaulted
//! map, at a position that shows the same text in the sealed JS; unseal restores everything.
//!
//! The corpus is not copied into this repository. When `../shared` is absent these tests say
//! loudly that they were skipped (and pass); CI always has it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use sourcemap::DecodedMap;

use crate::fixtures::{LeakKey, contents, leak_keys};
use crate::harness::{Level, TestEnv, say, sha256_hex, shared_dir};
use crate::maps::{self, Generated};

fn corpus(test: &str) -> Option<PathBuf> {
    let found = shared_dir()
        .map(|s| s.join("conformance").join("tc39-source-map-tests"))
        .filter(|p| p.join("resources").is_dir());
    if found.is_none() {
        say(&format!(
            "SKIPPED {test}: ../shared/conformance/tc39-source-map-tests is not next to this \
             checkout ({}/../shared); the ECMA-426 conformance test did NOT run",
            env!("CARGO_MANIFEST_DIR")
        ));
    }
    found
}

/// The corpus's resources, copied to `dist/` of a fresh env, with the files read.
fn dist(root: &std::path::Path) -> (TestEnv, BTreeMap<String, Vec<u8>>) {
    let env = TestEnv::new();
    env.copy_dir(&root.join("resources"), "dist");
    let files = contents(&env.snapshot("dist"));
    (env, files)
}

fn expected_leaks(files: &BTreeMap<String, Vec<u8>>) -> BTreeSet<LeakKey> {
    let mut out = BTreeSet::new();
    for (p, b) in files {
        if p.ends_with(".map") {
            out.insert((p.clone(), "source-map".to_owned(), None));
        } else if p.ends_with(".js") {
            for r in maps::line_references(b) {
                out.insert((p.clone(), r.kind().to_owned(), Some(r.line)));
            }
        }
    }
    out
}

#[test]
fn tc39_corpus_verify_flags_every_commented_js_and_every_map() {
    let Some(root) = corpus("tc39_corpus_verify_flags_every_commented_js_and_every_map") else {
        return;
    };
    let (env, files) = dist(&root);
    let want = expected_leaks(&files);
    let commented = want.iter().filter(|(p, _, _)| p.ends_with(".js")).count();
    let maps_n = files.keys().filter(|p| p.ends_with(".map")).count();
    assert!(
        commented >= 100 && maps_n >= 100,
        "corpus looks incomplete: {commented} commented JS, {maps_n} maps"
    );
    let run = env
        .mapvault(["verify", "dist", "--format", "json"])
        .expect_code(1);
    let got = leak_keys(&run.json());
    run.ensure(
        got == want,
        format_args!(
            "leaks differ\n  missed: {:?}\n  unexpected: {:?}",
            want.difference(&got).collect::<Vec<_>>(),
            got.difference(&want).collect::<Vec<_>>()
        ),
    );
}

/// One `checkMapping` action: `Ok` if the map agrees with it. An action whose original
/// position is all `null` asks for "no mapping with a source" at that generated position; a
/// `null` source with a position means a mapping whose source is `null`.
fn check_mapping(map: &DecodedMap, a: &serde_json::Value) -> Result<(), String> {
    let num = |k: &str| a[k].as_u64().and_then(|n| u32::try_from(n).ok());
    let (line, col) = (
        num("generatedLine").ok_or("no generatedLine")?,
        num("generatedColumn").ok_or("no generatedColumn")?,
    );
    let tok = map
        .lookup_token(line, col)
        .filter(|t| t.get_dst_line() == line);
    let source =
        |t: &sourcemap::Token<'_>| t.get_source().filter(|s| !s.is_empty()).map(str::to_owned);
    if num("originalLine").is_none() {
        return match tok.as_ref().and_then(source) {
            None => Ok(()),
            Some(s) => Err(format!("expected no mapping, got one into {s:?}")),
        };
    }
    let t = tok.ok_or("expected a mapping, found none on that line")?;
    let got = (
        source(&t),
        Some(t.get_src_line()),
        Some(t.get_src_col()),
        t.get_name().map(str::to_owned),
    );
    let want = (
        a["originalSource"].as_str().map(str::to_owned),
        num("originalLine"),
        num("originalColumn"),
        a["mappedName"].as_str().map(str::to_owned),
    );
    if got == want {
        Ok(())
    } else {
        Err(format!("got {got:?}, expected {want:?}"))
    }
}

#[test]
fn tc39_corpus_seal_keeps_every_mapping_and_unseal_restores_it() {
    let Some(root) = corpus("tc39_corpus_seal_keeps_every_mapping_and_unseal_restores_it") else {
        return;
    };
    let spec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("source-map-spec-tests.json")).expect("spec tests json"),
    )
    .expect("spec tests json parses");
    let (env, files) = dist(&root);
    let before = env.snapshot("dist");

    let seal = env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let after = env.snapshot("dist");
    let vault = env.vault("vault");

    // Every map, valid or not, byte-identical in the vault; every JS lost exactly its comment.
    for (p, was) in &files {
        if p.ends_with(".map") {
            let sha = sha256_hex(was);
            seal.ensure(
                vault.map(&sha).as_deref() == Some(was.as_slice()),
                format_args!("{p} is not in the vault as maps/{sha}.map"),
            );
            seal.ensure(after.get(p).is_none(), format_args!("{p} left in the dist"));
        } else {
            let spans: Vec<_> = maps::line_references(was)
                .into_iter()
                .map(|r| r.span)
                .collect();
            seal.ensure(
                after.read(p) == maps::cut(was, &spans),
                format_args!("{p}: sealed bytes are not the original minus the comment"),
            );
        }
    }
    let v = env.mapvault(["verify", "dist", "--format", "json"]).ok();
    v.ensure(v.json()["clean"] == true, "verify after seal must be clean");

    // checkMapping, with the vaulted map, at positions that still show the same text.
    let (mut held, mut checked_tests) = (0, 0);
    for t in spec["tests"].as_array().expect("tests") {
        if t["sourceMapIsValid"] != true {
            continue;
        }
        let (Some(base), Some(map_file)) = (t["baseFile"].as_str(), t["sourceMapFile"].as_str())
        else {
            continue;
        };
        let actions: Vec<_> = t["testActions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|x| x["actionType"] == "checkMapping")
                    .collect()
            })
            .unwrap_or_default();
        if actions.is_empty() {
            continue;
        }
        checked_tests += 1;
        let original_map = &files[map_file];
        let vaulted = vault
            .map(&sha256_hex(original_map))
            .unwrap_or_else(|| seal.fail(format_args!("{map_file} not in the vault")));
        let decode = |b: &[u8]| sourcemap::decode_slice(b).map_err(|e| e.to_string());
        let (orig_map, vault_map) = (decode(original_map), decode(&vaulted));
        let (orig_js, sealed_js) = (&files[base], after.read(base));
        let (g_orig, g_sealed) = (Generated::new(orig_js), Generated::new(&sealed_js));
        for a in actions {
            let name = t["name"].as_str().unwrap_or("?");
            let pos = (
                a["generatedLine"].as_u64().unwrap_or(0) as u32,
                a["generatedColumn"].as_u64().unwrap_or(0) as u32,
            );
            seal.ensure(
                g_orig.text_at(pos.0, pos.1, 16) == g_sealed.text_at(pos.0, pos.1, 16),
                format_args!("{name}: generated text at {pos:?} differs in the sealed {base}"),
            );
            let before_seal = orig_map
                .as_ref()
                .map_err(String::clone)
                .and_then(|m| check_mapping(m, a));
            let after_seal = vault_map
                .as_ref()
                .map_err(String::clone)
                .and_then(|m| check_mapping(m, a));
            match (before_seal, after_seal) {
                (Ok(()), Ok(())) => held += 1,
                (Ok(()), Err(e)) => {
                    seal.fail(format_args!("{name} {a}: held before seal, not after: {e}"))
                }
                (Err(e), _) => panic!(
                    "{name} {a}: the decoder disagrees with the spec test even before seal \
                     ({e}); fix check_mapping before blaming seal"
                ),
            }
        }
    }
    assert!(
        checked_tests >= 15 && held >= 60,
        "too few checkMapping actions checked ({held} in {checked_tests} tests); the check is hollow"
    );

    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(
        &env.snapshot("dist"),
        Level::Restored,
        "unseal of the tc39 corpus",
    );
}
