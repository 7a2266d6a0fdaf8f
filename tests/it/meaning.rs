//! Seal never changes what a program means (issue 14): a cut comment leaves the white space the
//! grammar needs. Checked from outside the scanner, on the real binary's output:
//!
//! - **oxc's token stream**: every token's kind and text, whether a line break precedes it (what
//!   automatic semicolon insertion reads), and its line and UTF-16 column (what a mapping points
//!   at) must be the same before and after seal. Tokens rather than the AST printed back by
//!   `oxc_codegen`: a printed AST forgets positions, so it would pass a seal that moved every
//!   mapping; equal tokens with equal positions imply an equal AST (same goal, same parser);
//! - **V8** (`node:vm`, the completion value or the error of each script; modules through
//!   `import()`): the sealed program behaves the same.
//!
//! Over the issue's cases, ASI and HTML-like comment cases, every fixture dist (and the ECMA-426
//! corpus in `../shared` when present), and generated programs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use oxc_allocator::Allocator;
use oxc_parser::Parser;
use oxc_parser::config::TokensParserConfig;
use oxc_span::SourceType;

use crate::harness::{TestEnv, fixtures_dir, say, shared_dir};

const MAP: &str = r#"{"version":3,"sources":["a.src.js"],"names":[],"mappings":"AAAA"}"#;

/// One token: kind, text, line break before it, line, UTF-16 column.
type Tok = (String, String, bool, usize, usize);

/// The goals a file of this name may run as: `.mjs` a module, else a classic script, or a
/// module when it does not parse as one (bundles with `import`).
fn goals(name: &str) -> &'static [fn() -> SourceType] {
    if name.ends_with(".mjs") {
        &[SourceType::mjs]
    } else {
        &[SourceType::cjs, SourceType::mjs]
    }
}

/// Every token of `src`, or `None` when oxc reports an error (nothing to compare).
fn tokens(src: &str, st: SourceType) -> Option<Vec<Tok>> {
    let alloc = Allocator::default();
    let ret = Parser::new(&alloc, src, st)
        .with_config(TokensParserConfig)
        .parse();
    if !ret.diagnostics.is_empty() || ret.panicked {
        return None;
    }
    // Line starts, counting CRLF once, for line and column of each token.
    let mut starts = vec![0usize];
    let b = src.as_bytes();
    for (k, c) in src.char_indices() {
        match c {
            '\r' if b.get(k + 1) == Some(&b'\n') => {}
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => starts.push(k + c.len_utf8()),
            _ => {}
        }
    }
    Some(
        ret.tokens
            .iter()
            .map(|t| {
                let (s, e) = (t.start() as usize, t.end() as usize);
                let line = starts.partition_point(|&l| l <= s) - 1;
                let col = src[starts[line]..s].chars().map(char::len_utf16).sum();
                (
                    format!("{:?}", t.kind()),
                    src[s..e].to_owned(),
                    t.is_on_new_line(),
                    line,
                    col,
                )
            })
            .collect(),
    )
}

/// Compare the token streams of `before` and `after` for file `name`. Returns whether there was
/// anything to compare (the original parses).
fn same_tokens(name: &str, before: &[u8], after: &[u8]) -> bool {
    same_tokens_with(name, before, after, false)
}

/// [`same_tokens`]; with `blanked`, a string or template token may also be its original text
/// with some UTF-16 code units turned into spaces (an embedded reference overwritten in
/// place): same kind, line break before, line and column, same length. Every other token must
/// be the same.
fn same_tokens_with(name: &str, before: &[u8], after: &[u8], blanked: bool) -> bool {
    let (Ok(b), Ok(a)) = (std::str::from_utf8(before), std::str::from_utf8(after)) else {
        return false;
    };
    let Some((want, st)) = goals(name)
        .iter()
        .find_map(|g| tokens(b, g()).map(|t| (t, g())))
    else {
        return false;
    };
    let got = tokens(a, st);
    let same = |x: &Tok, y: &Tok| {
        x == y
            || (blanked
                && (x.0 == "Str" || x.0.starts_with("Template") || x.0 == "NoSubstitutionTemplate")
                && (&x.0, x.2, x.3, x.4) == (&y.0, y.2, y.3, y.4)
                && {
                    let (xs, ys): (Vec<u16>, Vec<u16>) =
                        (x.1.encode_utf16().collect(), y.1.encode_utf16().collect());
                    xs.len() == ys.len()
                        && xs
                            .iter()
                            .zip(&ys)
                            .all(|(o, n)| o == n || *n == u16::from(b' '))
                })
    };
    assert!(
        got.as_ref()
            .is_some_and(|g| g.len() == want.len() && g.iter().zip(&want).all(|(w, n)| same(n, w))),
        "{name}: the sealed file does not lex to the original token stream\n--- before\n{b}\n--- after\n{a}\n--- first difference: {:?}",
        got.as_ref().map(|g| g
            .iter()
            .zip(&want)
            .find(|(x, y)| !same(y, x))
            .map(|(x, y)| format!("{x:?} != {y:?}")))
    );
    true
}

/// `Some(output)` of a node script, `None` (with a reason) when node is missing locally; a
/// failure in CI.
fn node(args: &[&str], dir: &Path) -> Option<String> {
    match Command::new("node").args(args).current_dir(dir).output() {
        Ok(o) => {
            assert!(
                o.status.success(),
                "node {args:?} failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "node is needed in CI ({e})"
            );
            say(&format!("skipped the V8 comparison: node cannot run ({e})"));
            None
        }
    }
}

/// What V8 makes of each named file in `dir`: a classic script's completion value (run in a
/// fresh context holding `a`, `x`, `y`, `f`) or its error; a module's namespace. One JSON object.
const RUNNER: &str = r"
const vm = require('vm'), fs = require('fs'), path = require('path'), url = require('url');
(async () => {
  const out = {};
  for (const name of process.argv.slice(1)) {
    const src = fs.readFileSync(name, 'utf8');
    try {
      if (name.endsWith('.mjs')) {
        const ns = await import(url.pathToFileURL(path.resolve(name)).href);
        out[name] = JSON.stringify({ ...ns });
      } else {
        const ctx = vm.createContext({ a: 1, x: 2, y: 3, f() { return 4; } });
        const v = vm.runInContext(src, ctx, { filename: name });
        const vars = Object.fromEntries(Object.entries(ctx).filter(([, w]) => typeof w !== 'function'));
        out[name] = typeof v + ':' + String(v) + ' ' + JSON.stringify(vars);
      }
    } catch (e) {
      out[name] = 'threw ' + (e && e.name) + ': ' + (e && e.message);
    }
  }
  process.stdout.write(JSON.stringify(out));
})();
";

fn v8_results(dir: &Path, names: &[String]) -> Option<BTreeMap<String, String>> {
    let mut args = vec!["-e", RUNNER];
    args.extend(names.iter().map(String::as_str));
    let out = node(&args, dir)?;
    Some(serde_json::from_str(&out).unwrap_or_else(|e| panic!("runner output: {e}: {out}")))
}

/// Seal `dist` in `env` (into `vault`), then check every named script's tokens and V8 result,
/// and that unseal gives every byte back. Returns the sealed bytes by name.
fn seal_and_compare(env: &TestEnv, names: &[String]) -> BTreeMap<String, Vec<u8>> {
    seal_and_compare_with(env, names, false)
}

/// [`seal_and_compare`]; `blanked` as in [`same_tokens_with`].
fn seal_and_compare_with(
    env: &TestEnv,
    names: &[String],
    blanked: bool,
) -> BTreeMap<String, Vec<u8>> {
    let dist = env.path("dist");
    let before = env.snapshot("dist");
    let originals: BTreeMap<&String, Vec<u8>> = names
        .iter()
        .map(|n| (n, env.read(Path::new("dist").join(n))))
        .collect();
    let v8_before = v8_results(&dist, names);
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    env.mapvault(["verify", "dist"]).ok();
    let mut sealed = BTreeMap::new();
    for n in names {
        let was = &originals[n];
        let now = env.read(Path::new("dist").join(n));
        assert!(
            same_tokens_with(n, was, &now, blanked),
            "{n}: the original does not parse; the case is wrong"
        );
        sealed.insert(n.clone(), now);
    }
    if let (Some(b), Some(a)) = (v8_before, v8_results(&dist, names)) {
        for n in names {
            assert_eq!(
                b.get(n),
                a.get(n),
                "{n}: V8 runs the sealed file differently"
            );
        }
    }
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(
        &env.snapshot("dist"),
        crate::harness::Level::Restored,
        "unseal",
    );
    sealed
}

#[test]
fn a_cut_comment_never_joins_tokens_or_drops_a_line_break() {
    let env = TestEnv::new();
    let cases: &[(&str, &str)] = &[
        // The issue's two examples: ASI needs the line break, `return value` a space.
        ("a.js", "x = 1/*# sourceMappingURL=a.js.map\n*/y = 2\n"),
        (
            "b.js",
            "var value = 7;\nfunction g(){return/*# sourceMappingURL=b.js.map */value}\ng()\n",
        ),
        // A restricted production: `return` + line break returns undefined.
        (
            "c.js",
            "(function(){ return/*# sourceMappingURL=c.js.map\n*/42 })()\n",
        ),
        // `a\n++y` is `a; ++y`; without the break it is a syntax error.
        (
            "d.js",
            "var r = a/*# sourceMappingURL=d.js.map\r\n*/++y\nr\n",
        ),
        // `x - -a` must not become `x--a`.
        ("e.js", "x-/*# sourceMappingURL=e.js.map */-a\n"),
        // U+2028 is a line terminator too; an astral character is two columns.
        (
            "f.js",
            "var s = '\u{1F600}', t = a/*# sourceMappingURL=\u{1F600}.map\u{2028}*/x\nt\n",
        ),
        // HTML-like comments (classic scripts): `-->` at the start of a line, after a
        // comment that held a line break, stays a comment.
        (
            "g.js",
            "var z = 1\n/*# sourceMappingURL=g.js.map\n*/--> z = 2\nz\n",
        ),
        (
            "h.js",
            "var w = 5\n/*# sourceMappingURL=h.js.map */ --> w = 6\nw\n",
        ),
        // `<!--` may not appear out of `<` `!` `--`.
        (
            "i.js",
            "var q = a </*# sourceMappingURL=i.js.map */!--y\nq\n",
        ),
        // A module.
        (
            "m.mjs",
            "export const v = 1/*# sourceMappingURL=m.mjs.map */+1;\nexport const u = v\n/*# sourceMappingURL=m2.mjs.map\n*/-1;\n",
        ),
    ];
    let mut names = Vec::new();
    for (n, src) in cases {
        env.write(Path::new("dist").join(n), src);
        names.push((*n).to_owned());
    }
    for m in ["a.js.map", "b.js.map", "c.js.map", "d.js.map", "m.mjs.map"] {
        env.write(Path::new("dist").join(m), MAP);
    }
    let sealed = seal_and_compare(&env, &names);
    assert_eq!(sealed["a.js"], b"x = 1\n  y = 2\n");
    assert!(
        String::from_utf8_lossy(&sealed["b.js"])
            .contains("return                                value"),
        "{}",
        String::from_utf8_lossy(&sealed["b.js"])
    );
    for (n, s) in &sealed {
        assert!(
            !String::from_utf8_lossy(s).contains("sourceMappingURL"),
            "{n}: a reference was left"
        );
    }
}

#[test]
fn css_and_inline_scripts_keep_their_tokens_too() {
    let env = TestEnv::new();
    env.write(
        "dist/c.css",
        ".a/*# sourceMappingURL=c.css.map */.b{color:red}\n.c /*# sourceMappingURL=c.css.map */.d{}\n",
    );
    env.write("dist/c.css.map", MAP);
    env.write(
        "dist/i.html",
        "<!doctype html><script>var t = 1/*# sourceMappingURL=i.js.map\n*/t++</script>\n",
    );
    let before = env.snapshot("dist");
    let was = String::from_utf8_lossy(&env.read("dist/i.html")).into_owned();
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    assert_eq!(
        env.read("dist/c.css"),
        format!(
            ".a/*{}*/.b{{color:red}}\n.c {}.d{{}}\n",
            " ".repeat(29),
            " ".repeat(33)
        )
        .as_bytes()
    );
    let html = String::from_utf8_lossy(&env.read("dist/i.html")).into_owned();
    let body = |h: &str| {
        let s = h.find("<script>").map_or(0, |k| k + 8);
        let e = h.find("</script>").unwrap_or(h.len());
        h[s..e].to_owned()
    };
    assert!(same_tokens(
        "i.js",
        body(&was).as_bytes(),
        body(&html).as_bytes()
    ));
    env.mapvault(["unseal", "dist", "--vault", "vault"]).ok();
    before.assert_same(
        &env.snapshot("dist"),
        crate::harness::Level::Restored,
        "unseal",
    );
}

/// A leaking reference inside a string or template literal (an `embedded-reference`) is
/// overwritten with as many spaces: the literal keeps its length (the string its `length`),
/// every token its line and column, V8 the same results where the string's text is not read;
/// an inline map goes to the vault first, unseal puts every byte back, and a string naming no
/// map (a code generator's) is never touched.
#[test]
fn embedded_references_are_blanked_in_place_and_restored() {
    use base64::Engine;
    let full = base64::engine::general_purpose::STANDARD.encode(MAP);
    // Wrapped as the `base64` tool writes it: the comment spans lines inside the template.
    let wrapped: String = full
        .as_bytes()
        .chunks(40)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let env = TestEnv::new();
    let cases = [
        // Angular component styles naming a map that ships.
        (
            "main.js",
            "const styles = [\"a{color:red}\\n/*# sourceMappingURL=app.component.css.map */\"];\nconst n = styles[0].length; n + a\n".to_owned(),
        ),
        // CSS-in-JS holding the whole map, wrapped across lines, then code on the last line.
        (
            "css-in-js.js",
            format!(
                "const css = `a{{}}\n/*# sourceMappingURL=data:application/json;base64,{wrapped} */`; const k = css.split('\\n').length;\nk + x\n"
            ),
        ),
        // A module reading only the string's length.
        (
            "mod.mjs",
            "const s = '/*# sourceMappingURL=app.component.css.map */';\nexport const len = s.length;\n".to_owned(),
        ),
        // A code generator's string: names no map, a note, never touched.
        (
            "gen.js",
            "var c = '/*# sourceMappingURL=foo.css.map */'; c.length\n".to_owned(),
        ),
    ];
    let mut names = Vec::new();
    for (n, src) in &cases {
        env.write(Path::new("dist").join(n), src);
        names.push((*n).to_owned());
    }
    env.write("dist/assets/app.component.css.map", MAP);
    let sealed = seal_and_compare_with(&env, &names, true);
    for (n, src) in &cases {
        let now = String::from_utf8_lossy(&sealed[*n]).into_owned();
        assert_eq!(now.len(), src.len(), "{n}: the literal keeps its length");
        if *n == "gen.js" {
            assert_eq!(&now, src, "a string naming no map is left alone");
        } else {
            assert!(!now.contains("sourceMappingURL"), "{n}: {now}");
        }
    }
    assert_eq!(
        String::from_utf8_lossy(&sealed["main.js"]),
        format!(
            "const styles = [\"a{{color:red}}\\n{}\"];\nconst n = styles[0].length; n + a\n",
            " ".repeat("/*# sourceMappingURL=app.component.css.map */".len())
        )
    );
    // The template's line breaks stayed: the lines after it keep their numbers.
    assert_eq!(
        sealed["css-in-js.js"]
            .iter()
            .filter(|&&c| c == b'\n')
            .count(),
        cases[1].1.matches('\n').count()
    );
    // The inline map was vaulted (decoded) before its comment was blanked; seal and unseal ran
    // in `seal_and_compare`: seal them again to look at the vault.
    env.mapvault(["seal", "dist", "--vault", "vault"]).ok();
    let sha = crate::harness::sha256_hex(MAP.as_bytes());
    assert_eq!(
        env.vault("vault").map(&sha).as_deref(),
        Some(MAP.as_bytes()),
        "the inline map and the external one are one object in the vault"
    );
    let manifest: String = std::fs::read_dir(env.path("vault/seals"))
        .expect("vault/seals")
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    assert!(
        manifest.contains("embedded-reference"),
        "the record names the edit's kind: {manifest}"
    );
}

/// Seal a copy of `src` and compare the token stream of every script seal changed. Returns how
/// many files were compared.
fn dist_keeps_its_tokens(src: &Path) -> usize {
    let env = TestEnv::new();
    env.copy_dir(src, "dist");
    let scripts: BTreeMap<String, Vec<u8>> = env
        .snapshot("dist")
        .files()
        .filter(|p| p.ends_with(".js") || p.ends_with(".mjs") || p.ends_with(".cjs"))
        .map(|p| (p.to_owned(), env.read(Path::new("dist").join(p))))
        .collect();
    // Some of these dists hold what seal refuses (an eval map): it still seals the rest.
    env.mapvault(["seal", "dist", "--vault", "vault"]).run();
    let mut compared = 0;
    for (p, was) in &scripts {
        let Ok(now) = std::fs::read(env.path("dist").join(p)) else {
            continue;
        };
        // The tricky fixture's `string.js` holds an embedded reference seal blanks.
        if *was != now && same_tokens_with(p, was, &now, true) {
            compared += 1;
        }
    }
    compared
}

#[test]
fn every_fixture_seals_to_the_same_tokens() {
    let mut dists: Vec<PathBuf> = [
        "vite",
        "vite-compressed",
        "webpack-source-map",
        "webpack-hidden-source-map",
        "webpack-inline-source-map",
        "rollup",
        "esbuild",
        "tricky/dist",
    ]
    .iter()
    .map(|d| fixtures_dir().join(d))
    .collect();
    match shared_dir() {
        Some(s) => dists.push(s.join("conformance/tc39-source-map-tests/resources")),
        None => say("skipped the ECMA-426 corpus: ../shared is not there"),
    }
    for d in dists {
        let n = dist_keeps_its_tokens(&d);
        say(&format!("{}: {n} sealed scripts lex the same", d.display()));
        if !d.ends_with("webpack-hidden-source-map") {
            assert!(n > 0, "{}: no sealed script was compared", d.display());
        }
    }
}

/// A small deterministic generator (xorshift): programs made of the pieces the unit property
/// test uses, one file each, sealed in one run.
fn generated_programs(count: usize) -> Vec<String> {
    const GAPS: &[&str] = &[
        "",
        " ",
        "\n",
        "\r\n",
        "\u{2028}",
        "/*# sourceMappingURL=a.map */",
        "/*# sourceMappingURL=a.map\n*/",
        "/*# sourceMappingURL=\u{1F600}.map\r\n*/",
        "//# sourceMappingURL=a.map\n",
        "/* kept */",
    ];
    const OPERANDS: &[&str] = &["a", "1", "'s'", "(x)", "y++", "--x", "f()", "`t${a}`"];
    const OPERATORS: &[&str] = &["+", "-", "/", "*", "<", "==", "in"];
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % n as u64) as usize
    };
    let mut out = Vec::new();
    while out.len() < count {
        let mut p = String::new();
        for _ in 0..1 + next(4) {
            match next(6) {
                0 => p.push_str(&format!(
                    "(function(){{return{}a{}}})();",
                    GAPS[next(GAPS.len())],
                    GAPS[next(GAPS.len())]
                )),
                1 => p.push_str(&format!("x{}++\n", GAPS[next(GAPS.len())])),
                _ => {
                    p.push_str(OPERANDS[next(OPERANDS.len())]);
                    for _ in 0..next(4) {
                        p.push_str(GAPS[next(GAPS.len())]);
                        p.push_str(OPERATORS[next(OPERATORS.len())]);
                        p.push_str(GAPS[next(GAPS.len())]);
                        p.push_str(OPERANDS[next(OPERANDS.len())]);
                    }
                    p.push_str(GAPS[next(GAPS.len())]);
                    p.push(';');
                }
            }
        }
        // Only programs that parse, and that hold a reference to cut.
        if p.contains("# sourceMappingURL") && tokens(&p, SourceType::cjs()).is_some() {
            out.push(p);
        }
    }
    out
}

#[test]
fn generated_programs_lex_and_run_the_same_once_sealed() {
    let env = TestEnv::new();
    let programs = generated_programs(120);
    let mut names = Vec::new();
    for (k, p) in programs.iter().enumerate() {
        let n = format!("p{k}.js");
        env.write(Path::new("dist").join(&n), p);
        names.push(n);
    }
    seal_and_compare(&env, &names);
}
