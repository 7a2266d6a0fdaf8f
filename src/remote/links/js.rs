//! Links in a script, from oxc's AST: what a browser fetches because of this code, when the URL
//! is a literal.
//!
//! - `import … from '…'`, `export … from '…'`, `import('…')` (a template without
//!   substitutions counts: Vite writes ``import(`./lazy-x.js`)``) — relative to the script;
//! - `new URL('…', import.meta.url)` anywhere (how bundlers name workers, WebAssembly and other
//!   assets) — relative to the script;
//! - `new Worker(…)` / `new SharedWorker(…)` with a literal (relative to the document) or with
//!   a `new URL('…', import.meta.url)` inside its first argument (Vite nests two);
//! - `….serviceWorker.register('…')` (relative to the document);
//! - `importScripts('…')` in a classic worker (relative to the worker).
//!
//! The parse runs on a stack sized from the scanner's nesting estimate
//! ([`crate::scan::js::with_parse_stack`]), so hostile nesting gives a note, never a crash.

use std::cell::RefCell;

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, CallExpression, ExportAllDeclaration, ExportFromDeclaration, Expression,
    ImportDeclaration, ImportExpression, NewExpression,
};
use oxc_ast_visit::{Visit, walk};
use oxc_parser::Parser;
use oxc_span::SourceType;

use super::{Base, Extracted, Hint};
use crate::remote::Via;
use crate::scan::{js::with_parse_stack, jslex};

thread_local! {
    /// One allocator per thread, reset between scripts.
    static ALLOCATOR: RefCell<Allocator> = RefCell::new(Allocator::default());
}

/// Every literal URL the script `src` loads.
pub fn extract(src: &[u8]) -> Extracted {
    let mut out = Extracted::default();
    let Ok(text) = std::str::from_utf8(src) else {
        out.notes
            .push("a script is not UTF-8; its imports were not followed".into());
        return out;
    };
    // Nothing that can load anything: skip the parse (most classic scripts, every worker
    // without imports…).
    let needles = ["import", "Worker", "URL", "serviceWorker", "importScripts"];
    if !needles
        .iter()
        .any(|n| memchr::memmem::find(src, n.as_bytes()).is_some())
    {
        return out;
    }
    let estimate = jslex::lex_with(src, false).depth_estimate;
    match with_parse_stack(estimate, || parse(text)) {
        Ok((links, note)) => {
            out.links = links;
            out.notes.extend(note);
        }
        Err(_) => out.notes.push(format!(
            "a script nests too deeply to parse safely (estimate {estimate}); its imports were not followed"
        )),
    }
    out
}

/// Parse as a module, then as a classic script; the first parse without errors wins. When
/// both report errors the module parse is used anyway (its AST is what oxc recovered), with a
/// note that some imports may have been missed.
fn parse(text: &str) -> (Vec<super::Link>, Option<String>) {
    ALLOCATOR.with(|cell| {
        let Ok(mut alloc) = cell.try_borrow_mut() else {
            return (
                Vec::new(),
                Some("internal: the parser allocator is busy".into()),
            );
        };
        let mut recovered: Option<Vec<super::Link>> = None;
        let mut first_error = None;
        for st in [SourceType::mjs(), SourceType::cjs()] {
            alloc.reset();
            let ret = Parser::new(&alloc, text, st).parse();
            if ret.panicked {
                first_error.get_or_insert_with(|| {
                    ret.diagnostics
                        .first()
                        .map_or_else(|| "unrecoverable syntax error".into(), |d| d.to_string())
                });
                continue;
            }
            let mut v = Collector::default();
            v.visit_program(&ret.program);
            if ret.diagnostics.is_empty() {
                return (v.out.links, None);
            }
            if first_error.is_none() {
                first_error = ret.diagnostics.first().map(|d| d.to_string());
            }
            recovered.get_or_insert(v.out.links);
        }
        (
            recovered.unwrap_or_default(),
            Some(format!(
                "a script does not parse ({}); its imports may not all be followed",
                first_error.unwrap_or_default()
            )),
        )
    })
}

#[derive(Default)]
struct Collector {
    out: Extracted,
}

/// The text of a string literal or of a template literal without substitutions.
fn literal<'b>(e: &'b Expression<'_>) -> Option<&'b str> {
    match e.without_parentheses() {
        Expression::StringLiteral(s) => Some(s.value.as_str()),
        Expression::TemplateLiteral(t) if t.expressions.is_empty() && t.quasis.len() == 1 => {
            t.quasis[0].value.cooked.as_ref().map(|c| c.as_str())
        }
        _ => None,
    }
}

fn argument<'b, 'a>(args: &'b [Argument<'a>], i: usize) -> Option<&'b Expression<'a>> {
    args.get(i).and_then(Argument::as_expression)
}

/// `new URL('lit', import.meta.url)` → `lit`.
fn url_from_import_meta<'b>(e: &'b Expression<'_>) -> Option<&'b str> {
    match e.without_parentheses() {
        Expression::NewExpression(n) => new_url_from_import_meta(n),
        _ => None,
    }
}

fn new_url_from_import_meta<'b>(n: &'b NewExpression<'_>) -> Option<&'b str> {
    if !n.callee.is_specific_id("URL") {
        return None;
    }
    let base = argument(&n.arguments, 1)?;
    let Expression::StaticMemberExpression(m) = base.without_parentheses() else {
        return None;
    };
    if m.property.name != "url"
        || !matches!(m.object.without_parentheses(), Expression::ImportMeta(_))
    {
        return None;
    }
    literal(argument(&n.arguments, 0)?)
}

/// The `new URL('lit', import.meta.url)` somewhere inside a worker's first argument, through
/// `new URL(…)` arguments and `.href` (Vite: `new URL(new URL('w.js', import.meta.url).href,
/// '' + import.meta.url)`), at most a few levels down.
fn nested_import_meta_url<'b>(e: &'b Expression<'_>, depth: u8) -> Option<&'b str> {
    if depth > 4 {
        return None;
    }
    if let Some(u) = url_from_import_meta(e) {
        return Some(u);
    }
    match e.without_parentheses() {
        Expression::NewExpression(n) if n.callee.is_specific_id("URL") => n
            .arguments
            .iter()
            .filter_map(Argument::as_expression)
            .find_map(|a| nested_import_meta_url(a, depth + 1)),
        Expression::StaticMemberExpression(m) => nested_import_meta_url(&m.object, depth + 1),
        _ => None,
    }
}

impl<'a> Visit<'a> for Collector {
    fn visit_import_declaration(&mut self, it: &ImportDeclaration<'a>) {
        self.out.push(
            it.source.value.as_str(),
            Base::Resource,
            Via::JsImport,
            Hint::Script,
        );
        walk::walk_import_declaration(self, it);
    }

    fn visit_export_from_declaration(&mut self, it: &ExportFromDeclaration<'a>) {
        self.out.push(
            it.source.value.as_str(),
            Base::Resource,
            Via::JsImport,
            Hint::Script,
        );
        walk::walk_export_from_declaration(self, it);
    }

    fn visit_export_all_declaration(&mut self, it: &ExportAllDeclaration<'a>) {
        self.out.push(
            it.source.value.as_str(),
            Base::Resource,
            Via::JsImport,
            Hint::Script,
        );
        walk::walk_export_all_declaration(self, it);
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        if let Some(u) = literal(&it.source) {
            self.out
                .push(u, Base::Resource, Via::JsDynamicImport, Hint::Script);
        }
        walk::walk_import_expression(self, it);
    }

    fn visit_new_expression(&mut self, it: &NewExpression<'a>) {
        if it.callee.is_specific_id("Worker") || it.callee.is_specific_id("SharedWorker") {
            if let Some(first) = argument(&it.arguments, 0) {
                if let Some(u) = literal(first) {
                    self.out
                        .push(u, Base::Document, Via::JsWorker, Hint::Script);
                } else if let Some(u) = nested_import_meta_url(first, 0) {
                    self.out
                        .push(u, Base::Resource, Via::JsWorker, Hint::Script);
                }
            }
        } else if let Some(u) = new_url_from_import_meta(it) {
            self.out.push(u, Base::Resource, Via::JsUrl, Hint::Any);
        }
        walk::walk_new_expression(self, it);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if let Expression::StaticMemberExpression(m) = it.callee.without_parentheses()
            && m.property.name == "register"
            && let Expression::StaticMemberExpression(sw) = m.object.without_parentheses()
            && sw.property.name == "serviceWorker"
            && let Some(first) = argument(&it.arguments, 0)
        {
            if let Some(u) = literal(first) {
                self.out
                    .push(u, Base::Document, Via::JsServiceWorker, Hint::Script);
            } else if let Some(u) = nested_import_meta_url(first, 0) {
                self.out
                    .push(u, Base::Resource, Via::JsServiceWorker, Hint::Script);
            }
        }
        let import_scripts = it.callee.is_specific_id("importScripts")
            || it.callee.is_specific_member_access("self", "importScripts");
        if import_scripts {
            for a in it.arguments.iter().filter_map(Argument::as_expression) {
                if let Some(u) = literal(a) {
                    self.out
                        .push(u, Base::Resource, Via::JsImportScripts, Hint::Script);
                }
            }
        }
        walk::walk_call_expression(self, it);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(src: &str) -> Vec<(String, Via, Base)> {
        extract(src.as_bytes())
            .links
            .into_iter()
            .map(|l| (l.url, l.via, l.base))
            .collect()
    }

    #[test]
    fn imports_exports_and_dynamic_imports() {
        let src = r#"import a from "./a.js"; import "./side.js"; export * from "./all.js";
            export { b } from './b.js'; const l = () => import(`./lazy.js`);
            import(name); import(`./${x}.js`); import("./c.js", { with: { type: "json" } });"#;
        assert_eq!(
            links(src),
            [
                ("./a.js".into(), Via::JsImport, Base::Resource),
                ("./side.js".into(), Via::JsImport, Base::Resource),
                ("./all.js".into(), Via::JsImport, Base::Resource),
                ("./b.js".into(), Via::JsImport, Base::Resource),
                ("./lazy.js".into(), Via::JsDynamicImport, Base::Resource),
                ("./c.js".into(), Via::JsDynamicImport, Base::Resource),
            ]
        );
    }

    #[test]
    fn workers_urls_and_service_workers() {
        // Vite's worker, a classic worker, a shared worker, an asset URL, a service worker
        // (minified), importScripts in a worker.
        let src = r#"var $=new Worker(new URL(new URL(`worker-x.js`,import.meta.url).href,``+import.meta.url),{type:`module`});
            new Worker("classic.js"); new SharedWorker(new URL("./shared.js", import.meta.url));
            const wasm = new URL("./m.wasm", import.meta.url);
            "serviceWorker"in navigator&&navigator.serviceWorker.register("/sw.js",{scope:"/"});
            importScripts("workbox-a.js", "b.js");
            new URL("not-an-asset.js", location.href);"#;
        assert_eq!(
            links(src),
            [
                ("worker-x.js".into(), Via::JsWorker, Base::Resource),
                ("classic.js".into(), Via::JsWorker, Base::Document),
                ("./shared.js".into(), Via::JsWorker, Base::Resource),
                ("./m.wasm".into(), Via::JsUrl, Base::Resource),
                ("/sw.js".into(), Via::JsServiceWorker, Base::Document),
                ("workbox-a.js".into(), Via::JsImportScripts, Base::Resource),
                ("b.js".into(), Via::JsImportScripts, Base::Resource),
            ]
        );
    }

    #[test]
    fn strings_and_comments_are_not_imports() {
        let src = r#"const s = "import('./in-a-string.js')"; // import('./in-a-comment.js')
            /* new Worker('./in-a-block.js') */ const re = /import\("\.\/re\.js"\)/;"#;
        assert!(links(src).is_empty(), "{:?}", links(src));
    }

    #[test]
    fn broken_or_hostile_scripts_give_notes_never_a_crash() {
        // oxc leaves strictness to semantic analysis: `with` in a module still gives links.
        let e = extract(b"import './ok.js';\nwith (a) {}\n");
        assert_eq!(e.links.len(), 1, "{e:?}");
        // A syntax error it cannot recover from: a note saying why, no links.
        let e = extract(b"import './ok.js';\n({a:1} = 1);\n");
        assert!(e.links.is_empty(), "{e:?}");
        assert!(e.notes[0].starts_with("a script does not parse ("), "{e:?}");
        assert!(
            !e.notes[0].contains("unrecoverable syntax error)"),
            "the parser's message: {e:?}"
        );
        let e = extract(b"\xff\xfe import './x.js'");
        assert!(e.links.is_empty() && e.notes.len() == 1);
        // Deep enough to overflow a normal stack; parsed on a bigger one, or refused.
        for depth in [20_000usize, 2_000_000] {
            let src = format!(
                "import('./deep.js');{}1{}",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            let e = extract(src.as_bytes());
            assert!(
                e.links.len() == 1 || e.notes.iter().any(|n| n.contains("too deeply")),
                "{depth}: {e:?}"
            );
        }
    }
}
