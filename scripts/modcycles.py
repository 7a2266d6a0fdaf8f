#!/usr/bin/env python3
"""The module import graph of a Rust crate must have no cycle.

    python3 scripts/modcycles.py [SRC_DIR]     # default: src/ next to this script's repo
    python3 scripts/modcycles.py --self-test   # proves the check fails on a planted cycle
    python3 scripts/modcycles.py --layers      # the modules by layer (0: imports nothing)

Nodes are the crate's top-level modules (`src/seal/plan.rs` belongs to `seal`). A module
imports another when its code (comments and string literals aside) names `crate::other`,
in a `use crate::…` line, a `use crate::{a, b::c}` group, or a path like `crate::other::f()`.
Within a folder module, sibling files must not form a cycle either (`super::x` and
`crate::folder::x` count); a child naming its parent (`super::`, `crate::folder::Item`) and the
parent declaring its children are the normal shape of a folder module and are ignored.
Exit 1 and print every cycle (as a path of modules) when there is one; 0 otherwise.
"""

import os
import re
import sys
import tempfile

PATH_RE = re.compile(r"\bcrate\s*::\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s*::\s*([A-Za-z_][A-Za-z0-9_]*))?")
GROUP_RE = re.compile(r"\buse\s+crate\s*::\s*\{([^;]*)\}\s*;", re.S)
SUPER_RE = re.compile(r"\bsuper\s*::\s*([A-Za-z_][A-Za-z0-9_]*)")
# `super::super::x` (any number of `super`s) resolved against the file's own module path, so a
# path that climbs to the crate root counts as `crate::x` (no cycle hides behind `super`).
SUPERS_RE = re.compile(r"\b((?:super\s*::\s*)+)([A-Za-z_][A-Za-z0-9_]*)(?:\s*::\s*([A-Za-z_][A-Za-z0-9_]*))?")


def strip_comments_and_strings(text):
    """Blank out comments (line, block, doc) and string/char literals, keeping line breaks."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append("\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]):
            i += len(re.match(r"'(\\.[^']*|[^\\'])'", text[i:]).group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_of(src, path):
    """`src/seal/plan.rs` -> ('seal', 'plan'); `src/seal/mod.rs` -> ('seal', None);
    `src/walk.rs` -> ('walk', None); deeper files -> (top, first child)."""
    rel = os.path.relpath(path, src).replace(os.sep, "/")
    parts = rel[:-3].split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    top = parts[0]
    child = parts[1] if len(parts) > 1 else None
    return top, child


def graphs(src):
    tops = set()
    files = []
    for root, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                p = os.path.join(root, name)
                top, child = module_of(src, p)
                if top in ("lib", "main"):
                    top = None
                files.append((p, top, child))
                if top:
                    tops.add(top)
    children = {}
    for _, top, child in files:
        if top and child:
            children.setdefault(top, set()).add(child)
    top_edges = {t: set() for t in tops}
    sib_edges = {}  # (top) -> {child: set(child)}
    for p, top, child in files:
        if top is None:
            continue
        with open(p, encoding="utf-8") as f:
            code = strip_comments_and_strings(f.read())
        named = []  # (module, submodule or None)
        for m in PATH_RE.finditer(code):
            named.append((m.group(1), m.group(2)))
        for m in GROUP_RE.finditer(code):
            for item in re.split(r",(?![^{]*\})", m.group(1)):
                item = item.strip()
                mm = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:\s*::\s*([A-Za-z_][A-Za-z0-9_]*))?", item)
                if mm:
                    named.append((mm.group(1), mm.group(2)))
        here = os.path.relpath(p, src).replace(os.sep, "/")[:-3].split("/")
        if here[-1] == "mod":
            here = here[:-1]
        for m in SUPERS_RE.finditer(code):
            k = m.group(1).count("super")
            if k <= len(here):
                full = here[: len(here) - k] + [m.group(2)] + ([m.group(3)] if m.group(3) else [])
                named.append((full[0], full[1] if len(full) > 1 else None))
        for mod, sub in named:
            if mod in tops and mod != top:
                top_edges[top].add(mod)
            if mod == top and child and sub in children.get(top, ()) and sub != child:
                sib_edges.setdefault(top, {}).setdefault(child, set()).add(sub)
        if child:
            for m in SUPER_RE.finditer(code):
                sub = m.group(1)
                if sub in children.get(top, ()) and sub != child:
                    sib_edges.setdefault(top, {}).setdefault(child, set()).add(sub)
    return top_edges, sib_edges


def cycles(edges):
    """Every elementary cycle found by a DFS from each node, reported once (as found)."""
    found, seen_sets = [], set()
    state = {}

    def dfs(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cyc = stack[stack.index(nxt):] + [nxt]
                key = frozenset(cyc)
                if key not in seen_sets:
                    seen_sets.add(key)
                    found.append(cyc)
            elif state.get(nxt) is None:
                dfs(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if state.get(node) is None:
            dfs(node, [])
    return found


def check(src):
    top_edges, sib_edges = graphs(src)
    bad = [" -> ".join(c) for c in cycles(top_edges)]
    for top, edges in sorted(sib_edges.items()):
        bad += [" -> ".join(f"{top}::{m}" for m in c) for c in cycles(edges)]
    return top_edges, bad


def self_test():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src")
        os.makedirs(os.path.join(src, "seal"))
        files = {
            "lib.rs": "mod a; mod b; mod seal;\n",
            "a.rs": "//! uses crate::b in a comment only\nuse crate::b::X;\nconst S: &str = \"crate::seal\";\n",
            "b.rs": "pub struct X;\n",
            "seal/mod.rs": "mod plan; mod edit;\n",
            "seal/plan.rs": "use super::edit::E;\nuse super::Y;\n",
            "seal/edit.rs": "pub struct E;\n",
        }
        for name, text in files.items():
            with open(os.path.join(src, name), "w") as f:
                f.write(text)
        _, bad = check(src)
        assert bad == [], f"no cycle yet, got {bad}"
        # Plant a cycle between top-level modules (through a grouped use)…
        with open(os.path.join(src, "b.rs"), "a") as f:
            f.write("use crate::{a::Y, seal};\n")
        _, bad = check(src)
        assert bad == ["a -> b -> a"], bad
        # …and one between sibling files of a folder module.
        with open(os.path.join(src, "b.rs"), "w") as f:
            f.write("pub struct X;\n")
        with open(os.path.join(src, "seal/edit.rs"), "a") as f:
            f.write("fn f() { crate::seal::plan::g(); }\n")
        _, bad = check(src)
        assert bad == ["seal::edit -> seal::plan -> seal::edit"], bad
        # …and one hidden behind `super::super::` (a child file naming a top-level module).
        with open(os.path.join(src, "seal/edit.rs"), "w") as f:
            f.write("pub struct E;\nfn f() { super::super::a::g(); }\n")
        with open(os.path.join(src, "a.rs"), "a") as f:
            f.write("fn h() { crate::seal::edit::E; }\n")
        _, bad = check(src)
        assert bad == ["a -> seal -> a"], bad
    print("modcycles self-test: a planted cycle fails the check")


def layers(edges):
    """Layer of each module: 0 when it imports no module, else one more than its highest
    import (the graph is acyclic when this is asked)."""
    memo = {}

    def depth(m):
        if m not in memo:
            memo[m] = 0
            memo[m] = 1 + max((depth(n) for n in edges.get(m, ())), default=-1)
        return memo[m]

    by = {}
    for m in edges:
        by.setdefault(depth(m), []).append(m)
    return by


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if sys.argv[1:2] == ["--layers"]:
        src = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
        top_edges, bad = check(src)
        if bad:
            print("the graph has cycles; no layering", file=sys.stderr)
            return 1
        for k, mods in sorted(layers(top_edges).items()):
            parts = [f"{m} (-> {', '.join(sorted(top_edges[m]))})" if top_edges[m] else m for m in sorted(mods)]
            print(f"{k}: " + "; ".join(parts))
        return 0
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    top_edges, bad = check(src)
    if bad:
        print("module import cycles:", file=sys.stderr)
        for b in bad:
            print("  " + b, file=sys.stderr)
        return 1
    print(f"module graph: {len(top_edges)} modules, {sum(len(v) for v in top_edges.values())} imports, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
