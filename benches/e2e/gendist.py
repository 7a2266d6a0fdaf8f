#!/usr/bin/env python3
"""Generate a big benchmark dist from real bundler output, deterministically.

Input: a seed directory (built by run.sh) with four kinds of real output, each a "unit":

  fixtures/  the committed fixtures (vite, webpack-*, rollup, esbuild) plus d3/ (esbuild,
             one entry per d3 package, code splitting): ~150 files, ~2.6 MB per copy
  app/       a Vite build of a React app with three.js, d3 and lodash-es pages: ~24 files,
             ~7.5 MB per copy (chunks up to 380 kB, maps up to 2.1 MB)
  lodash/    esbuild, one entry per lodash-es function, code splitting: ~1,640 small files,
             ~1.6 MB per copy

The dist is `OUT/pkg-NNNN/<unit files>`: a monorepo of packages, unit copies shuffled with the
seed. How many copies of each unit is solved from the target size and file count.

Every copy differs in bytes, and every file stays valid with an exact map:
  * JS/CSS get a first line `/*! mapvault-bench copy N seed S */` (after a `#!` line if any);
  * their map (the sibling `X.map`, or an inline `data:` map on the last line) gets one more
    `;` at the start of `mappings` - an empty first generated line - so every mapping still
    points at the same original position;
  * every map also gets an `x_mapvault_bench` key naming the copy and the file (ECMA-426 allows
    `x_` extension fields), and HTML gets a first-line comment.
So every copy's hashes differ from every other copy's, and no two maps are equal, which defeats
any content dedup. Real builds do repeat maps within one build (esbuild writes the same trivial
map for each re-export entry; webpack's source-map and hidden-source-map maps are identical):
`--keep-dup-maps` tags maps per copy only, keeping those repeats (35% of the maps at 1g).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import sys
from dataclasses import dataclass, field

SIZES = {
    # name: (target bytes, target files) - 1g and 200m follow the measured dists.
    "1g": (1_030_000_000, 25_400),
    "200m": (195_000_000, 20_000),
    "small": (50_000_000, 3_000),
}

JS_EXT = (".js", ".mjs", ".cjs")
CSS_EXT = (".css",)
HTML_EXT = (".html", ".htm")

INLINE_RE = re.compile(rb"sourceMappingURL=data:([^,;\s]*(?:;[^,;\s]*)*?);base64,([A-Za-z0-9+/=]+)")


@dataclass
class Unit:
    name: str
    files: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(len(b) for _, b in self.files)


def load_unit(root: str, name: str) -> Unit:
    u = Unit(name)
    base = os.path.join(root, name)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for fn in sorted(filenames):
            p = os.path.join(dirpath, fn)
            with open(p, "rb") as f:
                u.files.append((os.path.relpath(p, base), f.read()))
    if not u.files:
        sys.exit(f"gendist: seed unit {base} is empty")
    return u


def solve(units: dict[str, Unit], target_bytes: int, target_files: int) -> dict[str, int]:
    """Copies of each unit that best match both targets (small exhaustive search)."""
    a, f, l = units["app"], units["fixtures"], units["lodash"]
    best = None
    # At least one copy of each unit, so every size has every kind of output.
    for nl in range(1, max(1, target_files // len(l.files)) + 1):
        rb = target_bytes - nl * l.nbytes
        rf = target_files - nl * len(l.files)
        # Solve na*A + nf*F = (rb, rf) for bytes and files.
        det = a.nbytes * len(f.files) - f.nbytes * len(a.files)
        if det == 0:
            continue
        na = (rb * len(f.files) - f.nbytes * rf) / det
        nf = (a.nbytes * rf - rb * len(a.files)) / det
        for na_i in {max(1, int(na)), max(1, int(na) + 1)}:
            for nf_i in {max(1, int(nf)), max(1, int(nf) + 1)}:
                tb = na_i * a.nbytes + nf_i * f.nbytes + nl * l.nbytes
                tf = na_i * len(a.files) + nf_i * len(f.files) + nl * len(l.files)
                err = abs(tb - target_bytes) / target_bytes + abs(tf - target_files) / target_files
                if best is None or err < best[0]:
                    best = (err, {"app": na_i, "fixtures": nf_i, "lodash": nl})
    assert best is not None
    return best[1]


def bump_mappings(map_bytes: bytes) -> bytes | None:
    """Prefix an empty generated line to a map's `mappings` (None if it has none)."""
    key = b'"mappings"'
    i = map_bytes.find(key)
    if i < 0:
        return None
    j = i + len(key)
    while j < len(map_bytes) and map_bytes[j] in b" \t\r\n:":
        j += 1
    if j >= len(map_bytes) or map_bytes[j] != ord('"'):
        return None
    return map_bytes[: j + 1] + b";" + map_bytes[j + 1 :]


def tag_map(map_bytes: bytes, tag: str) -> bytes:
    i = map_bytes.find(b"{")
    if i < 0:
        return map_bytes + b"\n"
    return map_bytes[: i + 1] + f'"x_mapvault_bench":"{tag}",'.encode() + map_bytes[i + 1 :]


def banner_code(data: bytes, banner: bytes) -> bytes:
    if data.startswith(b"#!"):
        nl = data.find(b"\n")
        if nl < 0:
            return data + b"\n" + banner
        return data[: nl + 1] + banner + data[nl + 1 :]
    return banner + data


def rewrite_inline_map(data: bytes, tag: str) -> bytes:
    """Bump the `mappings` of a data: map on the file's last non-blank line, if there is one."""
    stripped = data.rstrip()
    last_nl = max(stripped.rfind(b"\n"), stripped.rfind(b"\r"))
    last_line_start = last_nl + 1
    m = None
    for m2 in INLINE_RE.finditer(data, last_line_start):
        m = m2
    if m is None:
        return data
    line = data[last_line_start:].lstrip()
    if not (line.startswith(b"//#") or line.startswith(b"/*#") or line.startswith(b"//@")):
        return data
    try:
        decoded = base64.b64decode(m.group(2), validate=True)
    except ValueError:
        return data
    bumped = bump_mappings(decoded)
    if bumped is None:
        return data
    enc = base64.b64encode(tag_map(bumped, tag))
    return data[: m.start(2)] + enc + data[m.end(2) :]


def map_tag(tag: str, rel: str, keep_dups: bool) -> str:
    return tag.replace(" ", "-") + ("" if keep_dups else f" {rel}")


def copy_files(unit: Unit, k: int, seed: int, keep_dups: bool) -> list[tuple[str, bytes]]:
    tag = f"copy {k:05d} seed {seed}"
    out: dict[str, bytes] = {}
    bannered: set[str] = set()
    for rel, data in unit.files:
        low = rel.lower()
        if low.endswith(JS_EXT) or low.endswith(CSS_EXT):
            new = banner_code(data, f"/*! mapvault-bench {tag} */\n".encode())
            out[rel] = rewrite_inline_map(new, map_tag(tag, rel, keep_dups))
            bannered.add(rel)
        elif low.endswith(HTML_EXT):
            out[rel] = f"<!-- mapvault-bench {tag} -->\n".encode() + data
        else:
            out[rel] = data
    for rel, data in unit.files:
        if not rel.lower().endswith(".map"):
            continue
        sibling = rel[: -len(".map")]
        bumped = bump_mappings(data) if sibling in bannered else None
        out[rel] = tag_map(bumped if bumped is not None else data, map_tag(tag, rel, keep_dups))
    return [(rel, out[rel]) for rel, _ in unit.files]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed-dir", required=True)
    ap.add_argument("--out", required=True, help="new directory to create")
    ap.add_argument("--size", choices=sorted(SIZES), default="1g")
    ap.add_argument("--bytes", type=int, help="override the size preset's target bytes")
    ap.add_argument("--files", type=int, help="override the size preset's target file count")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep-dup-maps", action="store_true",
                    help="keep the real output's identical maps within a copy (tag maps per copy only)")
    args = ap.parse_args()

    target_bytes, target_files = SIZES[args.size]
    target_bytes = args.bytes or target_bytes
    target_files = args.files or target_files
    units = {n: load_unit(args.seed_dir, n) for n in ("app", "fixtures", "lodash")}
    counts = solve(units, target_bytes, target_files)
    plan = [name for name in sorted(counts) for _ in range(counts[name])]
    rng = random.Random(args.seed)
    rng.shuffle(plan)

    if os.path.exists(args.out):
        sys.exit(f"gendist: {args.out} exists")
    os.makedirs(args.out)
    stats = {"keep_dup_maps": args.keep_dup_maps, "files": 0, "bytes": 0, "maps": 0, "comments": 0, "inline": 0, "copies": counts}
    width = max(4, len(str(len(plan))))
    for k, name in enumerate(plan):
        pkg = os.path.join(args.out, f"pkg-{k:0{width}d}")
        made: set[str] = set()
        for rel, data in copy_files(units[name], k, args.seed, args.keep_dup_maps):
            p = os.path.join(pkg, rel)
            d = os.path.dirname(p)
            if d not in made:
                os.makedirs(d, exist_ok=True)
                made.add(d)
            with open(p, "wb") as f:
                f.write(data)
            stats["files"] += 1
            stats["bytes"] += len(data)
            low = rel.lower()
            if low.endswith(".map"):
                stats["maps"] += 1
            elif low.endswith(JS_EXT + CSS_EXT):
                tail = data[-4096:]
                last = tail.rstrip().rsplit(b"\n", 1)[-1].lstrip()
                if b"sourceMappingURL=" in last and last[:3] in (b"//#", b"/*#", b"//@"):
                    if b"sourceMappingURL=data:" in last:
                        stats["inline"] += 1
                    else:
                        stats["comments"] += 1
    json.dump(stats, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
