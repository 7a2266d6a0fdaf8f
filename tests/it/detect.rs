//! What `verify` must find (issue 14) and what it must not flag: one test per class of leak a
//! browser, node, a server or a deploy tool would see, each with a file built to fail before the
//! scanner learnt that class. Where an outside oracle is cheap it is asked too (V8 through
//! `node:vm` for classic scripts).

use std::collections::BTreeSet;

use crate::harness::TestEnv;

const MAP: &str = r#"{"version":3,"sources":["a.src.js"],"names":[],"mappings":"AAAA"}"#;

/// `(path, kind)` of every leak of `verify dist --format json`, and the exit code.
fn leaks(env: &TestEnv) -> (i32, BTreeSet<(String, String)>, serde_json::Value) {
    let run = env.mapvault(["verify", "dist", "--format", "json"]).run();
    let j = run.json();
    let set = j["leaks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| {
                    (
                        l["path"].as_str().unwrap_or_default().to_owned(),
                        l["kind"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (run.code.unwrap_or(-1), set, j)
}

fn has(set: &BTreeSet<(String, String)>, path: &str, kind: &str) -> bool {
    set.contains(&(path.to_owned(), kind.to_owned()))
}

/// V8's own reading of a classic script's `sourceMappingURL` (`vm.Script#sourceMapURL`), or
/// `None` when node is missing (a failure in CI).
fn v8_classic_url(src: &str) -> Option<String> {
    let out = std::process::Command::new("node")
        .args([
            "-e",
            "const s=require('fs').readFileSync(0,'utf8');process.stdout.write(String(new (require('vm').Script)(s).sourceMapURL))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            if let Some(mut i) = c.stdin.take() {
                i.write_all(src.as_bytes())?;
            }
            c.wait_with_output()
        });
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        _ => {
            assert!(std::env::var_os("CI").is_none(), "node is needed in CI");
            crate::harness::say("skipped the V8 oracle: node is not available");
            None
        }
    }
}

/// V8's own reading of a module's `sourceMappingURL` (issue 14's module-goal oracle): node 20
/// has no `sourceMapURL` on `vm.SourceTextModule`, but its ESM loader hands V8's reading of the
/// module to `--enable-source-maps`. So `src` goes to a temp `m.mjs` that throws on an added
/// last line, `url` gets a map whose source is `ORACLE.ts`, and the stack says whether V8 took
/// `url` as the module's map. `None` when node is missing (a failure in CI).
fn v8_module_reads(src: &str, url: &str) -> Option<bool> {
    let dir = tempfile::tempdir().expect("temp dir");
    let module = format!("{src}\nthrow new Error('oracle');\n");
    let lines = module.split('\n').count();
    let mappings = vec!["AAAA"; lines].join(";");
    std::fs::write(dir.path().join("m.mjs"), &module).expect("write m.mjs");
    std::fs::write(
        dir.path().join(url),
        format!(r#"{{"version":3,"sources":["ORACLE.ts"],"names":[],"mappings":"{mappings}"}}"#),
    )
    .expect("write map");
    let out = std::process::Command::new("node")
        .args([
            "--enable-source-maps",
            "-e",
            "import('./m.mjs').then(() => console.log('no throw'), e => console.log(String(e.stack)))",
        ])
        .current_dir(dir.path())
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let stack = String::from_utf8_lossy(&o.stdout).into_owned();
            assert!(stack.contains("oracle"), "the module did not run: {stack}");
            Some(stack.contains("ORACLE.ts"))
        }
        _ => {
            assert!(std::env::var_os("CI").is_none(), "node is needed in CI");
            crate::harness::say("skipped the V8 module oracle: node is not available");
            None
        }
    }
}

/// Module goal, against V8: a reference a module reads is found; text V8 does not read as a
/// comment (a string, a template literal) is no `map-reference`. (`<!--` cannot be asked: V8
/// refuses HTML-like comments in a module outright, "HTML comments are not allowed in
/// modules"; the classic goal's reading is `a_classic_script_hides_…`.)
#[test]
fn module_goal_references_match_v8s_reading() {
    // (file, text, V8 reads the reference, mapvault reports it).
    let cases: &[(&str, &str, bool, bool)] = &[
        // A module: `import.meta` fails as a classic script.
        (
            "a.mjs",
            "export const u = import.meta.url;\n//# sourceMappingURL=oracle.js.map",
            true,
            true,
        ),
        // V8 reads only `//#` comments; ECMA-426 also names `/*# … */`, which other consumers
        // (and CSS) read: mapvault reports it, a superset of V8 on purpose.
        (
            "b.mjs",
            "export const v = 1;\n/*# sourceMappingURL=oracle.js.map */",
            false,
            true,
        ),
        // The last real comment wins; the look-alike in a template is text.
        (
            "c.mjs",
            "//# sourceMappingURL=oracle.js.map\nexport const s = `\n//# sourceMappingURL=other.js.map\n`;",
            true,
            true,
        ),
        (
            "d.mjs",
            "export const s = `\n//# sourceMappingURL=oracle.js.map\n`;",
            false,
            false,
        ),
        // A string is text to V8 and to mapvault (a note at most).
        (
            "e.mjs",
            "export const s = \"//# sourceMappingURL=oracle.js.map\";",
            false,
            false,
        ),
    ];
    let env = TestEnv::new();
    for (name, src, _, _) in cases {
        env.write(format!("dist/{name}"), src);
    }
    let (_, set, _) = leaks(&env);
    for (name, src, reads, reports) in cases {
        if let Some(v8) = v8_module_reads(src, "oracle.js.map") {
            assert_eq!(v8, *reads, "{name}: the case is wrong about V8");
        }
        assert_eq!(
            has(&set, name, "map-reference"),
            *reports,
            "{name}: mapvault's verdict: {set:?}"
        );
    }
}

#[test]
fn a_classic_script_hides_a_reference_the_module_goal_reads_as_a_comment() {
    // Classic script: `<!--` starts a comment to the end of the line, so line 2 is a real
    // comment. Module: `a < !--b;` and a block comment around line 2. Both goals parse; the
    // old scan tried the module goal first and reported nothing.
    let src = "var a = 1, b = 2, c = a <!--b; /*\n//# sourceMappingURL=hidden.js.map\n// */\n";
    if let Some(url) = v8_classic_url(src) {
        assert_eq!(url, "hidden.js.map", "V8 reads the reference");
    }
    let env = TestEnv::new();
    env.write("dist/a.js", src);
    let (code, set, _) = leaks(&env);
    assert_eq!(code, 1);
    assert!(has(&set, "a.js", "map-reference"), "{set:?}");
    // An extension-less node script in a `"type": "module"` package parses as a module.
    env.write(
        "dist/bin/cli",
        "#!/usr/bin/env node\nconsole.log(import.meta.url);\n//# sourceMappingURL=cli.map\nrun();\n",
    );
    let (_, set, j) = leaks(&env);
    assert!(has(&set, "bin/cli", "map-reference"), "{set:?}");
    assert!(
        !j["notes"].to_string().contains("lexical fallback"),
        "parsed, not the fallback: {}",
        j["notes"]
    );
}

#[test]
fn a_regex_after_a_block_no_longer_inflates_the_nesting_estimate() {
    // `if (a) {}` then a regex, then 300 KB of string: the old lexer took `}` + `/` for an
    // uncertain guess and counted every string byte as possible nesting ("nesting too deep").
    let src = format!(
        "var a, s;\nif (a) {{}}\n/x/.test(s);\ns = '{}';\n//# sourceMappingURL=a.js.map\ns.x();\n",
        "y".repeat(300_000)
    );
    let env = TestEnv::new();
    env.write("dist/big.js", &src);
    let (code, set, j) = leaks(&env);
    assert_eq!(code, 1);
    assert!(has(&set, "big.js", "map-reference"));
    assert!(
        !j["notes"].to_string().contains("lexical fallback"),
        "{}",
        j["notes"]
    );
}

#[test]
fn eval_map_needs_evaluated_code_and_a_map_with_content() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let empty = b64(r#"{"version":3,"sources":[],"names":[],"mappings":""}"#);
    let full = b64(MAP);
    let env = TestEnv::new();
    // A minifier's bug-report helper: an empty map in a string pushed into an array.
    env.write(
        "dist/helper.js",
        format!(
            "var out = [];\nout.push(\"x()\\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,{empty}\");\nmodule.exports = out;\n"
        ),
    );
    let (code, set, _) = leaks(&env);
    assert_eq!(code, 0, "{set:?}");
    // The same with a real map, evaluated: a dev build.
    env.write(
        "dist/dev.js",
        format!("eval(\"x()\\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,{full}\\n//# sourceURL=webpack-internal:///./a.js\");\n"),
    );
    let (_, set, _) = leaks(&env);
    assert!(has(&set, "dev.js", "eval-map"), "{set:?}");
    assert!(!set.iter().any(|(p, _)| p == "helper.js"));
}

#[test]
fn embedded_references_are_leaks_only_when_they_publish_a_map() {
    use base64::Engine;
    let full = base64::engine::general_purpose::STANDARD.encode(MAP);
    let env = TestEnv::new();
    // Angular component styles naming a map that ships.
    env.write(
        "dist/main.js",
        "var styles = [\"a{color:red}\\n/*# sourceMappingURL=app.component.css.map */\"];\nexport { styles };\n",
    );
    env.write("dist/assets/app.component.css.map", MAP);
    // CSS-in-JS holding the whole map.
    env.write(
        "dist/css-in-js.js",
        format!("const css = `a{{}}\n/*# sourceMappingURL=data:application/json;base64,{full} */`;\ninject(css);\n"),
    );
    // Code generators: a URL that names nothing, and an empty one.
    env.write(
        "dist/terser.js",
        "var c = \"//# sourceMappingURL=\" + name;\nvar d = '/*# sourceMappingURL=foo.css.map */';\n",
    );
    let (code, set, j) = leaks(&env);
    assert_eq!(code, 1);
    assert!(has(&set, "main.js", "embedded-reference"), "{set:?}");
    assert!(has(&set, "css-in-js.js", "embedded-reference"), "{set:?}");
    assert!(!set.iter().any(|(p, _)| p == "terser.js"), "{set:?}");
    assert!(j["notes"].to_string().contains("terser.js"));
}

#[test]
fn links_that_name_or_point_at_maps_are_leaks() {
    let env = TestEnv::new();
    env.write("outside/real.js.map", MAP);
    env.write("outside/renamed.json", MAP);
    env.write("outside/plain.txt", "hello");
    env.write("dist/a.js", "a();\n");
    env.symlink("../outside/plain.txt", "dist/named.js.map");
    env.symlink("../outside/renamed.json", "dist/data.json");
    env.symlink("../outside/real.js.map", "dist/innocent.txt");
    env.symlink("../outside/plain.txt", "dist/plain.txt");
    env.symlink("../outside", "dist/dir");
    env.write("plain/only.txt", "hello");
    env.symlink("../plain", "dist/plaindir");
    env.symlink("nowhere", "dist/dangling");
    let before = env.snapshot("");
    let (code, set, j) = leaks(&env);
    assert_eq!(code, 1);
    // `dir` serves `outside/real.js.map` as `dir/real.js.map`.
    for p in ["named.js.map", "data.json", "innocent.txt", "dir"] {
        assert!(has(&set, p, "source-map"), "{p}: {set:?}");
    }
    let notes = j["notes"].to_string();
    for p in ["plain.txt", "plaindir", "dangling"] {
        assert!(!set.iter().any(|(q, _)| q == p), "{p}");
        assert!(notes.contains(&format!("\"{p}\"")), "{p}: {notes}");
    }
    let after = env.snapshot("");
    assert!(
        before
            .diff_only(&after, crate::harness::Level::Untouched, |_| true)
            .is_empty(),
        "verify wrote something"
    );
}

#[test]
fn text_that_is_not_utf8_is_decoded_as_a_browser_would() {
    let env = TestEnv::new();
    let mut utf16 = b"\xff\xfe".to_vec();
    utf16.extend(
        "var s = 'x';\n//# sourceMappingURL=u16.js.map\nrun();\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    env.write("dist/u16.js", &utf16);
    env.write(
        "dist/latin1.js",
        b"var s = 'caf\xe9 \"//# sourceMappingURL=no.map\"';\n//# sourceMappingURL=latin1.js.map\nrun();\n",
    );
    let (_, set, j) = leaks(&env);
    assert!(has(&set, "u16.js", "map-reference"), "{set:?}");
    assert!(has(&set, "latin1.js", "map-reference"), "{set:?}");
    let notes = j["notes"].to_string();
    assert!(
        notes.contains("UTF-16LE") && notes.contains("windows-1252"),
        "{notes}"
    );
    assert!(!notes.contains("lexical fallback"), "{notes}");
    let msgs = j["leaks"].to_string();
    assert!(
        msgs.contains("u16.js.map") && !msgs.contains("no.map"),
        "{msgs}"
    );
}

#[test]
fn html_is_read_by_the_spec() {
    let env = TestEnv::new();
    env.write(
        "dist/index.html",
        "<!doctype html><svg><script>a()\n//# sourceMappingURL=svg&#46;map\n</script></svg>\n\
         <noscript><script>b()\n//# sourceMappingURL=noscript.map\n</script></noscript>\n\
         <template><script type=\"text/jscript\">c()\n//# sourceMappingURL=template.map\n</script></template>\n\
         <div title=\"<!--\"><script>d()\n//# sourceMappingURL=after-attr.map\n</script></div>\n\
         <script><!--\nvar s = \"<script>\";\n</script>\n//# sourceMappingURL=double-escaped.map\n--></script>\n\
         <!-- a comment that ends --!><script>e()\n//# sourceMappingURL=after-bang.map\n</script>\n",
    );
    let (_, _, j) = leaks(&env);
    let msgs = j["leaks"].to_string();
    for url in [
        "svg.map",
        "noscript.map",
        "template.map",
        "after-attr.map",
        "double-escaped.map",
        "after-bang.map",
    ] {
        assert!(msgs.contains(url), "{url}: {msgs}");
    }
    assert!(
        msgs.contains("cannot be cut"),
        "the SVG one is not cut: {msgs}"
    );
}

#[test]
fn header_files_are_parsed_by_kind() {
    let env = TestEnv::new();
    env.write(
        "dist/.htaccess",
        "Header always setifempty SourceMap \"/a.map\"\nHeader merge X-SourceMap b.map\n",
    );
    env.write(
        "dist/netlify.toml",
        "[build]\npublish = \"dist\"\n[[headers]]\nfor = \"/*\"\nvalues = { X-Frame = \"DENY\", SourceMap = \"/c.map\" }\n",
    );
    env.write(
        "dist/vercel.json",
        r#"{"headers":[{"source":"/(.*)","headers":[{"k\u0065y":"SourceMap","value":"/d.map"}]}]}"#,
    );
    let (_, set, j) = leaks(&env);
    for p in [".htaccess", "netlify.toml", "vercel.json"] {
        assert!(has(&set, p, "http-header"), "{p}: {set:?}");
    }
    assert_eq!(
        j["leaks"]
            .as_array()
            .map(|a| a.iter().filter(|l| l["path"] == ".htaccess").count()),
        Some(2)
    );
}

#[test]
fn a_vercel_json_of_brackets_is_read_in_constant_memory() {
    // Issue 15: 20 MB of `[` took 9.5 GB. Nesting past the limit stops the reader with a note.
    let env = TestEnv::new();
    let mut s = "[".repeat(4_000_000);
    s.push_str("\"SourceMap\"");
    env.write("dist/vercel.json", &s);
    let (code, _, j) = leaks(&env);
    assert_eq!(code, 0);
    assert!(
        j["notes"].to_string().contains("deeper than"),
        "{}",
        j["notes"]
    );
}

#[test]
fn content_that_consumers_read_as_maps() {
    let env = TestEnv::new();
    env.write(
        "dist/dup.json",
        r#"{"version":3,"sources":[],"sources":["a.ts"],"m\u0061ppings":"AAAA"}"#,
    );
    env.write(
        "dist/index.android.bundle",
        "__d(function(){});\n//# sourceMappingURL=index.android.bundle.map\n",
    );
    env.write(
        "dist/wrapped.css",
        "a{}\n/*# sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozLCJzb3VyY2Vz\nIjpbImEuY3NzIl0sIm1hcHBpbmdzIjoiQUFBQSJ9 */\n",
    );
    let (_, set, _) = leaks(&env);
    assert!(has(&set, "dup.json", "source-map"), "{set:?}");
    assert!(
        has(&set, "index.android.bundle", "map-reference"),
        "{set:?}"
    );
    assert!(has(&set, "wrapped.css", "inline-map"), "{set:?}");
}

#[test]
fn inline_maps_in_utf16_files_are_extracted_like_any_other() {
    let env = TestEnv::new();
    let map = br#"{"version":3,"sources":["u.ts"],"names":[],"mappings":"AAAA"}"#;
    let map_be = br#"{"version":3,"sources":["b.ts"],"names":[],"mappings":"AAAA"}"#;
    let uri = |m: &[u8]| {
        use base64::Engine;
        format!(
            "data:application/json;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(m)
        )
    };
    let text = |m: &[u8]| {
        format!(
            "var s = '\u{e9}';\n//# sourceMappingURL={}\nrun();\n",
            uri(m)
        )
    };
    let mut le = b"\xff\xfe".to_vec();
    le.extend(text(map).encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = b"\xfe\xff".to_vec();
    be.extend(text(map_be).encode_utf16().flat_map(u16::to_be_bytes));
    env.write("dist/le.js", &le);
    env.write("dist/be.js", &be);
    let (code, set, _) = leaks(&env);
    assert_eq!(code, 1);
    assert!(
        has(&set, "le.js", "inline-map") && has(&set, "be.js", "inline-map"),
        "{set:?}"
    );
    let before = env.snapshot("dist");
    let seal = env
        .mapvault(["seal", "dist", "--vault", "vault", "--format", "json"])
        .ok();
    let j = seal.json();
    assert_eq!(j["inline_maps_extracted"], 2, "{j}");
    let vault = env.vault("vault");
    for m in [&map[..], &map_be[..]] {
        let sha = crate::harness::sha256_hex(m);
        assert_eq!(vault.map(&sha).as_deref(), Some(m), "maps/{sha}.map");
    }
    // The sealed file is still UTF-16 with its line breaks, and the report shows no URL made of
    // NUL bytes.
    let mut want = b"\xff\xfe".to_vec();
    want.extend(
        "var s = '\u{e9}';\n\nrun();\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    assert_eq!(env.read("dist/le.js"), want);
    assert!(!j.to_string().contains("\\u0000"), "{j}");
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(
        &env.snapshot("dist"),
        crate::harness::Level::Restored,
        "unseal",
    );
}

#[test]
fn directory_links_whose_tree_holds_maps_are_leaks_and_never_followed_to_write() {
    let env = TestEnv::new();
    env.write("dist/assets/a.js", "a();\n//# sourceMappingURL=a.js.map\n");
    env.write("dist/assets/a.js.map", MAP);
    env.write("outside/deep/o.js.map", MAP);
    env.write("outside/deep/o.js", "o();\n//# sourceMappingURL=o.js.map\n");
    env.symlink("assets", "dist/latest");
    env.symlink("../outside", "dist/vendor");
    // A loop inside the linked tree ends the listing; it is not followed.
    env.symlink("..", "outside/deep/up");
    let (code, set, _) = leaks(&env);
    assert_eq!(code, 1);
    for p in ["latest", "vendor", "assets/a.js.map"] {
        assert!(has(&set, p, "source-map"), "{p}: {set:?}");
    }
    let outside = env.snapshot("outside");
    let before = env.snapshot("dist");
    // Seal vaults the map inside the dist, which settles `latest`; `vendor`'s tree is outside
    // the dist: reported, not touched.
    let run = env
        .mapvault(["seal", "dist", "--vault", "vault", "--format", "json"])
        .expect_code(1);
    let j = run.json();
    let left: Vec<&str> = j["leaks"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l["path"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(left, ["vendor"], "{j}");
    outside.assert_same(
        &env.snapshot("outside"),
        crate::harness::Level::Untouched,
        "seal must not write through a link",
    );
    assert_eq!(
        std::fs::read_link(env.path("dist/vendor")).ok(),
        Some(std::path::PathBuf::from("../outside"))
    );
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(
        &env.snapshot("dist"),
        crate::harness::Level::Restored,
        "unseal",
    );
}

/// A linked directory outside the dist whose tree holds no map *name* but a bundle with a
/// reference (a CDN URL), an inline map, or a map under another name still ships a leak under
/// the link; a tree of plain files stays a note.
#[test]
fn directory_links_whose_tree_holds_a_leaking_bundle_are_leaks() {
    use base64::Engine;
    let full = base64::engine::general_purpose::STANDARD.encode(MAP);
    let env = TestEnv::new();
    env.write("dist/index.js", "i();\n");
    env.write(
        "ref/deep/app.js",
        "a();\n//# sourceMappingURL=https://cdn.example/app.js.map\n",
    );
    env.write(
        "inline/s.css",
        format!("a{{}}\n/*# sourceMappingURL=data:application/json;base64,{full} */\n"),
    );
    env.write("renamed/data.json", MAP);
    env.write("plain/p.js", "p();\n");
    env.write("plain/readme.txt", "sourceMappingURL= in prose\n");
    for d in ["ref", "inline", "renamed", "plain"] {
        env.symlink(format!("../{d}"), format!("dist/{d}"));
    }
    let outside = env.snapshot("");
    let (code, set, j) = leaks(&env);
    assert_eq!(code, 1);
    for p in ["ref", "inline", "renamed"] {
        assert!(has(&set, p, "source-map"), "{p}: {set:?}");
    }
    assert!(!set.iter().any(|(p, _)| p == "plain"), "{set:?}");
    assert!(j["notes"].to_string().contains("\"plain\""));
    // Seal leaves these links (their trees are outside) and writes nothing through them.
    env.mapvault(["seal", "dist", "--vault", "vault"])
        .expect_code(1);
    let d = outside.diff_only(&env.snapshot(""), crate::harness::Level::Untouched, |p| {
        !p.starts_with("vault")
    });
    assert!(d.is_empty(), "seal wrote through a link: {d:?}");
}
