//! The HTML scanner against parse5, the WHATWG parser node tools use: for every document of a
//! corpus of the tokenizer's hard cases (script data escaped and double-escaped states, comments
//! in attribute values, `--!>`, character references and CDATA in SVG scripts, `<template>`,
//! `<noscript>` with scripting on and off, raw-text and RCDATA elements) and the HTML fixtures,
//! the `<script>`/`<style>` texts mapvault finds are exactly those parse5 builds.

use std::collections::BTreeSet;
use std::path::Path;

use mapvault::scan::html;

const CORPUS: &[&str] = &[
    "<script>a()\n//# sourceMappingURL=a.map\n</script>",
    "<script><!--\nvar a = \"<script>\";\n</script>\nb()\n--></script><p>after</p>",
    "<script><!--\na()\n</script>\n//# prose\n",
    "<script><!-- <script> --></script>x<script>y</script>",
    "<script><!--<script></script></script><script>z</script>",
    "<div title=\"<!--\"><script>a()</script></div>",
    "<!-- x --!><script>b()</script><!-- y --!-><script>c()</script>",
    "<!--><script>d()</script>",
    "<!---><script>e()</script>-->",
    "<svg><script>a()\n//# sourceMappingURL=x&#46;map\n</script></svg>",
    "<svg><script><![CDATA[a(1 > 0)\n//# sourceMappingURL=c.map\n]]></script></svg>",
    "<svg><script>a &amp; b<![CDATA[ < ]]>c</script><style>x{}&#47;*</style></svg>",
    "<svg><p><script>after breakout</script>",
    "<svg><foreignObject><script>html again</script></foreignObject></svg>",
    "<math><mi><script>in mi</script></mi><script>math script</script></math>",
    "<template><script>t()</script><style>s{}</style></template>",
    "<noscript><script>n()</script></noscript><script>m()</script>",
    "<noscript><style>ns{}</style></noscript>",
    "<textarea><script>not</script></textarea><title><script>not</script></title><script>yes</script>",
    "<xmp><script>not</script></xmp><iframe><script>not</script></iframe><script>yes</script>",
    "<noembed><script>no</script></noembed><noframes><script>no</script></noframes>",
    "<style>a{}</style ><STYLE>b{}</STYLE>",
    "<script type=\"text/template\"><div></div></script><script type=module>m()</script>",
    "<script>unterminated",
    "<script>a</scrip></script>",
    "<script>a</script/ ><script>b</script\t>",
    "<p><script>in p</script></p><table><script>in table</script><tr><td><script>in td</script></td></tr></table>",
    "<select><script>in select</script></select>",
    "<script>\r\nline\r\n</script>",
];

fn oracle(doc: &str, scripting: &str) -> Option<Vec<(String, String)>> {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools");
    if !tools.join("node_modules/parse5").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "parse5 is missing from tests/tools: run `npm ci` there"
        );
        crate::harness::say("skipped: parse5 is missing from tests/tools (run `npm ci` there)");
        return None;
    }
    use std::io::Write;
    let mut child = std::process::Command::new("node")
        .arg(tools.join("html-scripts.mjs"))
        .arg(scripting)
        .current_dir(&tools)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(doc.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("node runs");
    assert!(out.status.success(), "parse5 failed on {doc:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    Some(
        v.as_array()
            .expect("array")
            .iter()
            .map(|e| {
                (
                    e["tag"].as_str().unwrap_or_default().to_owned(),
                    e["text"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
    )
}

/// mapvault's bodies as parse5 would give their text: the decoded pieces of a foreign element,
/// else the bytes with the input stream's preprocessing (CR LF and CR to LF, NUL kept as the
/// tokenizer's U+FFFD).
fn ours(doc: &str) -> BTreeSet<(String, String)> {
    html::bodies(doc.as_bytes())
        .into_iter()
        .map(|b| {
            let bytes = match &b.pieces {
                Some(p) => p.iter().flat_map(|x| x.value.clone()).collect(),
                None => doc.as_bytes()[b.start..b.end].to_vec(),
            };
            let text = String::from_utf8_lossy(&bytes)
                .replace("\r\n", "\n")
                .replace('\r', "\n");
            let tag = if b.kind == html::BodyKind::Style {
                "style"
            } else {
                "script"
            };
            (tag.to_owned(), text)
        })
        .collect()
}

#[test]
fn script_and_style_texts_equal_parse5s() {
    let mut docs: Vec<String> = CORPUS.iter().map(|s| (*s).to_owned()).collect();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for e in walkdir::WalkDir::new(&fixtures).into_iter().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "html" || x == "htm")
            && let Ok(s) = std::fs::read_to_string(p)
        {
            docs.push(s);
        }
    }
    let mut failures = Vec::new();
    for doc in &docs {
        let (Some(on), Some(off)) = (oracle(doc, "on"), oracle(doc, "off")) else {
            return;
        };
        let want: BTreeSet<(String, String)> = on.into_iter().chain(off).collect();
        let got = ours(doc);
        if got != want {
            failures.push(format!(
                "{doc:?}\n  parse5 only: {:?}\n  mapvault only: {:?}",
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} documents differ:\n{}",
        failures.len(),
        docs.len(),
        failures.join("\n")
    );
}
