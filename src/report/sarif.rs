//! SARIF 2.1.0 for `verify --format sarif`, as GitHub code scanning accepts it: one rule per leak
//! kind, one `error` result per leak with a physical location (and line where known), the same
//! with a `suppressions` entry for each `--allow`ed one, `note` results for non-failing
//! findings, and `toolExecutionNotifications` for files that could not be read.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::findings::LeakKind;
use crate::verify::VerifyReport;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const HELP: &str = "https://github.com/mapvault/mapvault#what-counts-as-a-leak";

/// Location of a finding: `root` (the PATH argument) joined with the report path, `/`-separated.
fn uri(root: &str, path: &str) -> String {
    // A URL finding (`verify https://…`): its path is already a valid absolute URI.
    if crate::relpath::is_url(path.as_ref()) {
        return path.to_string();
    }
    let root = root.trim_end_matches('/');
    // Archive members (`a.tgz!/x.js`) and odd characters must still form a valid URI reference.
    // A name that is not UTF-8 is reported with its raw bytes percent-encoded already
    // (`relpath::display_bytes`): those escapes are kept, so the URI names the real bytes.
    let enc = |s: &str| {
        let set = if crate::relpath::is_encoded_name(s) {
            URI_SET_KEEPING_ESCAPES
        } else {
            URI_SET
        };
        percent_encoding::utf8_percent_encode(s, set).to_string()
    };
    if root.is_empty() || root == "." {
        enc(path)
    } else {
        format!("{}/{}", enc(root), enc(path))
    }
}

const URI_SET_KEEPING_ESCAPES: &percent_encoding::AsciiSet = &URI_SET.remove(b'%');

const URI_SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

fn location(root: &str, path: &str, line: Option<u64>) -> Value {
    let mut phys = json!({ "artifactLocation": { "uri": uri(root, path) } });
    if let Some(l) = line {
        phys["region"] = json!({ "startLine": l });
    }
    json!({ "physicalLocation": phys })
}

/// Build the SARIF log. `root` is how the scanned path was given (for single-root reports;
/// reports of several roots carry full paths already).
pub fn to_value(r: &VerifyReport, root: &str) -> Value {
    let mut rules: Vec<Value> = LeakKind::ALL
        .iter()
        .map(|k| {
            json!({
                "id": k.as_str(),
                "name": k.as_str(),
                "shortDescription": { "text": k.description() },
                "fullDescription": { "text": format!("{} Run `mapvault seal` on the build output, or fix the build so it does not emit this.", k.description()) },
                "helpUri": HELP,
                "defaultConfiguration": { "level": "error" },
                "properties": { "tags": ["security", "source-maps"] }
            })
        })
        .collect();
    rules.push(json!({
        "id": "wasm-dwarf",
        "name": "wasm-dwarf",
        "shortDescription": { "text": "WebAssembly DWARF debug sections embed source paths." },
        "helpUri": HELP,
        "defaultConfiguration": { "level": "note" }
    }));
    let rule_index = |id: &str| rules.iter().position(|r| r["id"] == id).unwrap_or(0);
    let mut results: Vec<Value> = r
        .leaks
        .iter()
        .map(|l| {
            let mut v = json!({
                "ruleId": l.kind.as_str(),
                "ruleIndex": rule_index(l.kind.as_str()),
                "level": "error",
                "message": { "text": l.message },
                "locations": [location(l.root.as_deref().unwrap_or(root), &l.path, l.line)]

            });
            // A leak at a URL: its HTTP status and the request that found it.
            if let Some(h) = &l.http {
                v["properties"] = json!(h);
            }
            v
        })
        .collect();
    // Leaks in `--allow`ed files stay visible, as results suppressed by the user's own list
    // (code scanning shows them as dismissed rather than open).
    results.extend(r.allowed.iter().map(|l| {
        json!({
            "ruleId": l.kind.as_str(),
            "ruleIndex": rule_index(l.kind.as_str()),
            "level": "error",
            "message": { "text": l.message },
            "locations": [location(l.root.as_deref().unwrap_or(root), &l.path, l.line)],
            "suppressions": [{
                "kind": "external",
                "status": "accepted",
                "justification": "allowed by mapvault verify --allow"
            }]
        })
    }));
    for n in &r.notes {
        if let Some(k) = n.kind {
            let k = k.as_str();
            results.push(json!({
                "ruleId": k,
                "ruleIndex": rule_index(k),
                "level": "note",
                "message": { "text": n.message },
                "locations": [location(root, &n.path, None)]
            }));
        }
    }
    let notifications: Vec<Value> = r
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": { "text": format!("{}: {}", e.path, e.message) },
                "locations": [location(root, &e.path, None)]
            })
        })
        .collect();
    log(rules, r.errors.is_empty(), notifications, results)
}

/// A SARIF log of one run of mapvault: its rules, whether it succeeded with the notifications
/// saying why not, and its results.
fn log(
    rules: Vec<Value>,
    succeeded: bool,
    notifications: Vec<Value>,
    results: Vec<Value>,
) -> Value {
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mapvault",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/mapvault/mapvault",
                "rules": rules
            }},
            "invocations": [{
                "executionSuccessful": succeeded,
                "toolExecutionNotifications": notifications
            }],
            "results": results
        }]
    })
}

/// The SARIF log of a run that ended before it had a report (a typo'd path, a bad option):
/// no results, one error notification, `executionSuccessful: false` — so an upload step
/// reading the file gets a valid log that says the scan did not run, not an empty file.
pub fn fatal_value(message: &str, path: Option<&str>) -> Value {
    let mut notification = json!({ "level": "error", "message": { "text": message } });
    if let Some(p) = path {
        notification["locations"] = json!([location("", p, None)]);
    }
    log(vec![], false, vec![notification], vec![])
}

pub fn write(out: &mut dyn Write, r: &VerifyReport, root: &str) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(r, root)).map_err(io::Error::from)?;
    writeln!(out)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{LeakRecord, NoteKind, NoteRecord};

    #[test]
    fn one_rule_per_kind_and_results_point_at_lines() {
        let r = VerifyReport {
            clean: false,
            files_scanned: 2,
            leaks: vec![LeakRecord {
                root: None,
                path: "a b.js".into(),
                kind: LeakKind::MapReference,
                line: Some(3),
                message: "x".into(),
                http: None,
            }],
            allowed: vec![],
            notes: vec![NoteRecord {
                path: "m.wasm".into(),
                kind: Some(NoteKind::WasmDwarf),
                message: "d".into(),
            }],
            errors: vec![],
            requests: None,
        };
        let v = to_value(&r, "dist");
        let run = &v["runs"][0];
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().map(Vec::len),
            Some(LeakKind::ALL.len() + 1)
        );
        assert_eq!(run["results"][0]["ruleId"], "map-reference");
        assert_eq!(
            run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "dist/a%20b.js"
        );
        assert_eq!(
            run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            3
        );
        assert_eq!(run["results"][1]["level"], "note");
        let idx = run["results"][0]["ruleIndex"].as_u64().unwrap_or(99) as usize;
        assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], "map-reference");
    }
}

/// Validation against the published SARIF 2.1.0 schema. The schema file ships inside the
/// `serde-sarif` crate (its types are generated from it); `cargo metadata` finds it.
#[cfg(test)]
mod schema {
    use super::*;
    use crate::findings::{ErrorRecord, LeakRecord, NoteKind, NoteRecord};

    fn schema_path() -> std::path::PathBuf {
        let out = std::process::Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata runs");
        let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
        let pkg = meta["packages"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == "serde-sarif"))
            .expect("serde-sarif is a dev-dependency");
        let manifest = std::path::PathBuf::from(pkg["manifest_path"].as_str().unwrap_or_default());
        manifest.with_file_name("src").join("schema.json")
    }

    fn sample() -> VerifyReport {
        let mut leaks: Vec<LeakRecord> = LeakKind::ALL
            .iter()
            .enumerate()
            .map(|(i, k)| LeakRecord {
                root: None,
                path: format!("assets/file {i}.js"),
                kind: *k,
                line: (i % 2 == 0).then_some(i as u64 + 1),
                message: format!("{} leak", k.as_str()),
                http: None,
            })
            .collect();
        leaks.push(LeakRecord {
            root: Some("pkg.tgz".into()),
            path: "pkg.tgz!/package/dist/a.js.map".into(),
            kind: LeakKind::SourceMap,
            line: None,
            message: "m".into(),
            http: None,
        });
        VerifyReport {
            clean: false,
            files_scanned: 9,
            leaks,
            allowed: vec![LeakRecord {
                root: None,
                path: "public/vendor.js.map".into(),
                kind: LeakKind::SourceMap,
                line: None,
                message: "source map file".into(),
                http: None,
            }],
            notes: vec![NoteRecord {
                path: "m.wasm".into(),
                kind: Some(NoteKind::WasmDwarf),
                message: "d".into(),
            }],
            errors: vec![ErrorRecord {
                kind: None,
                path: "x.js".into(),
                message: "cannot read".into(),
            }],
            requests: None,
        }
    }

    #[test]
    fn output_validates_against_the_official_schema() {
        let schema: Value =
            serde_json::from_slice(&std::fs::read(schema_path()).expect("schema.json is readable"))
                .expect("schema.json is JSON");
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        for report in [
            sample(),
            VerifyReport {
                clean: true,
                ..VerifyReport::default()
            },
        ] {
            let v = to_value(&report, "dist");
            let errors: Vec<String> = validator
                .iter_errors(&v)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(
                errors.is_empty(),
                "SARIF does not validate:\n{}",
                errors.join("\n")
            );
            // And the typed model generated from the same schema reads it back.
            let typed: serde_sarif::sarif::Sarif =
                serde_json::from_value(v).expect("typed SARIF parses");
            assert_eq!(typed.runs.len(), 1);
        }
    }

    #[test]
    fn a_broken_log_fails_the_check() {
        // Guard against a vacuous validator: an invalid level must be rejected.
        let schema: Value =
            serde_json::from_slice(&std::fs::read(schema_path()).expect("schema.json is readable"))
                .expect("schema.json is JSON");
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let mut v = to_value(&sample(), "dist");
        v["runs"][0]["results"][0]["level"] = json!("catastrophic");
        assert!(!validator.is_valid(&v));
    }
}
