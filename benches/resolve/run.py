#!/usr/bin/env python3
"""Memory benchmark of `mapvault resolve` and `export` (issue 19): peak RSS and output size on
inputs far bigger than real ones, to show memory is bounded by the maps a run needs, never by
what the trace or the vault claims.

    python3 benches/resolve/run.py [--bin target/release/mapvault] [--baseline BIN]
                                   [--map-mb 100] [--frames 1000000] [--line-mb 10]
                                   [--work DIR] [--keep]

It generates (under --work, default $TMPDIR/mapvault-resolve-bench):

- big.js.map, about --map-mb MB: one minified generated line of ~18 M segments (what a
  minifier writes) plus ~10 MB of sourcesContent in 200 ordinary sources;
- wide.js.map: one source whose sourcesContent is a single --line-mb MB line (minified vendor
  code), 10,000 segments spread over it;
- two stack traces of --frames frames each (V8 syntax), at random columns of each bundle;

seals them into a vault, then runs, one at a time, and reports wall and CPU time, the peak RSS
of the process (GNU time's wait4 rusage) and the bytes written to stdout:

- resolve of one position in big.js; a trace into big.js (human and --format json);
- a trace into wide.js (human and --format json): every frame lands on the 10 MB line;
- export of the vault.

--baseline BIN runs the same commands with another mapvault (say a build of the commit before
issue 19) under an 8 GiB address-space limit and a 300 s timeout, with the wide trace cut to
200 frames (the old JSON copied the whole line into every frame). Tests never assert
timings; this script is for docs/performance.md.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def vlq(v):
    x = ((-v) << 1) | 1 if v < 0 else v << 1
    out = []
    while True:
        d = x & 31
        x >>= 5
        if x:
            d |= 32
        out.append(B64[d])
        if not x:
            return "".join(out)


def big_map(path, target_bytes, rng):
    """One generated line of repeated segment blocks (net zero in every field but the
    generated column), plus 200 sources of ordinary code."""
    sources = [f"src/module{i:03}.ts" for i in range(200)]
    content_line = "  const value = compute(input, options) + other.field * 42; // code\n"
    contents = [content_line * 800 for _ in sources]  # ~50 KB each, ~10 MB in all
    names = [f"name{i}" for i in range(2000)]
    # A block of 1000 segments walking sources/lines/columns/names, then one segment back.
    segs, state, cols = [], [0, 0, 0, 0], 1
    for _ in range(1000):
        new = [rng.randrange(200), rng.randrange(800), rng.randrange(60), rng.randrange(2000)]
        step = rng.randrange(1, 6)
        cols += step
        segs.append(vlq(step) + "".join(vlq(n - o) for n, o in zip(new, state)))
        state = new
    segs.append(vlq(1) + "".join(vlq(-o) for o in state))
    block = ",".join(segs) + ","
    head = json.dumps({"version": 3, "file": "big.js", "sources": sources, "names": names,
                       "sourcesContent": contents})[:-1]
    room = max(target_bytes - len(head) - 40, len(block))
    reps = room // len(block)
    mappings = (block * reps)[:-1]
    with open(path, "w") as f:
        f.write(head)
        f.write(', "mappings": "')
        f.write(mappings)
        f.write('"}')
    return reps * len(segs), reps * cols


def wide_map(path, line_bytes):
    """One source whose content is a single huge line; 10,000 segments spread over it.
    Returns the last generated column."""
    line = ("var a=function(b){return b*2},c=[1,2,3].map(a);" * (line_bytes // 48 + 1))[:line_bytes]
    step = line_bytes // 10_000
    segs = ["AAAA"] + [vlq(10) + "A" + "A" + vlq(step) for _ in range(9_999)]
    with open(path, "w") as f:
        json.dump({"version": 3, "file": "wide.js", "sources": ["vendor/huge.min.js"],
                   "names": [], "sourcesContent": [line], "mappings": ",".join(segs)}, f)
    return 10 * 9_999


def trace(path, bundle, max_col, frames, rng):
    with open(path, "w") as f:
        f.write("TypeError: something broke\n")
        chunk = []
        for i in range(frames):
            chunk.append(f"    at fn{i % 97} (https://cdn.example.com/assets/{bundle}:1:{rng.randrange(1, max_col + 1)})\n")
            if len(chunk) == 10_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


TIME = "/usr/bin/time"


def run(cmd, stdin_path=None, out_path=None, limit_as=None, timeout=None):
    """Run cmd under GNU time; return (exit, wall s, CPU s, peak RSS MiB, stdout bytes,
    stderr).

    The RSS comes from GNU time's wait4 of its own child, which is forked from `time`, not
    from this Python process: a child forked from Python starts with Python's pages and
    reports them as its peak. With a limit or a timeout the child is `timeout`, whose rusage
    includes the mapvault it waited for.
    """
    inner = list(cmd)
    if limit_as:
        inner = ["sh", "-c", f'ulimit -v {limit_as >> 10}; exec "$0" "$@"'] + inner
    if timeout:
        inner = ["timeout", str(timeout)] + inner
    res = out_path + ".time" if out_path else os.path.join(tempfile.gettempdir(), "mv-bench.time")
    full = [TIME, "-o", res, "-f", "%M %x %e %U %S"] + inner
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    stdout = open(out_path or os.devnull, "wb")
    p = subprocess.run(full, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    stdout.close()
    if stdin_path:
        stdin.close()
    err = p.stderr.decode(errors="replace")
    with open(res) as f:
        lines = f.read().strip().splitlines()
    os.remove(res)
    rss_kb, code, wall, user, system = lines[-1].split()
    if lines[0].startswith("Command terminated by signal"):
        code = lines[0].replace("Command terminated by ", "")
    elif timeout and code == "124":
        code = "killed (timeout)"
    size = os.path.getsize(out_path) if out_path and os.path.exists(out_path) else 0
    return code, float(wall), float(user) + float(system), int(rss_kb) / 1024, size, err


def mib(n):
    return f"{n / (1 << 20):.1f} MiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap.add_argument("--bin", default=os.path.join(repo, "target/release/mapvault"))
    ap.add_argument("--baseline")
    ap.add_argument("--map-mb", type=int, default=100)
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--line-mb", type=int, default=10)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "mapvault-resolve-bench"))
    ap.add_argument("--keep", action="store_true", help="keep the generated inputs")
    a = ap.parse_args()
    if not os.access(TIME, os.X_OK):
        sys.exit(f"{TIME} (GNU time, Debian package `time`) is needed to measure peak RSS")
    work = os.path.abspath(a.work)
    if work == repo or work.startswith(repo + os.sep):
        sys.exit("--work must be outside the repository")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rng = random.Random(19)
    dist = os.path.join(work, "dist")
    os.makedirs(dist)
    for b in ("big.js", "wide.js"):
        with open(os.path.join(dist, b), "w") as f:
            f.write("(function(){throw new Error('x')})();\n")
    print(f"generating in {work}", file=sys.stderr)
    big_segs, big_cols = big_map(os.path.join(dist, "big.js.map"), a.map_mb << 20, rng)
    wide_cols = wide_map(os.path.join(dist, "wide.js.map"), a.line_mb << 20)
    trace(os.path.join(work, "big-trace.txt"), "big.js", big_cols, a.frames, rng)
    trace(os.path.join(work, "wide-trace.txt"), "wide.js", wide_cols, a.frames, rng)
    trace(os.path.join(work, "wide-trace-200.txt"), "wide.js", wide_cols, 200, rng)
    sizes = {n: os.path.getsize(os.path.join(dist, n)) for n in ("big.js.map", "wide.js.map")}
    tsize = os.path.getsize(os.path.join(work, "big-trace.txt"))

    rows = []
    for label, binary, base in [("mapvault", a.bin, False)] + ([("baseline", a.baseline, True)] if a.baseline else []):
        vault = os.path.join(work, f"vault-{label}")
        # Each binary seals its own copy (seal moves the maps out of the dist).
        copy = os.path.join(work, f"dist-{label}")
        shutil.copytree(dist, copy)
        code, _, _, _, _, err = run([binary, "seal", copy, "--vault", vault, "-q"])
        if code != "0":
            sys.exit(f"seal failed ({code}): {err}")
        wide_trace = "wide-trace-200.txt" if base else "wide-trace.txt"
        frames_wide = 200 if base else a.frames
        cases = [
            (f"resolve one position, {a.map_mb} MB map", ["resolve", "big.js:1:12345"], None),
            (f"resolve {a.frames:,}-frame trace (human)", ["resolve"], "big-trace.txt"),
            (f"resolve {a.frames:,}-frame trace (json)", ["resolve", "--format", "json"], "big-trace.txt"),
            (f"resolve {frames_wide:,} frames on a {a.line_mb} MB line (human)", ["resolve"], wide_trace),
            (f"resolve {frames_wide:,} frames on a {a.line_mb} MB line (json)", ["resolve", "--format", "json"], wide_trace),
            ("export (both maps)", ["export", "--out", os.path.join(work, f"out-{label}")], None),
        ]
        for name, args, tr in cases:
            cmd = [binary] + args + ["--vault", vault]
            out = os.path.join(work, "stdout.tmp")
            code, wall, cpu, rss, size, err = run(
                cmd,
                stdin_path=os.path.join(work, tr) if tr else None,
                out_path=out,
                limit_as=(8 << 30) if base else None,
                timeout=300 if base else None,
            )
            os.remove(out)
            rows.append((label, name, code, wall, cpu, rss, size, err.strip().splitlines()[-1:] if code not in ("0", "1") else []))
            print(f"{label:9} {name:45} exit {code:>7}  {wall:7.2f} s  cpu {cpu:7.2f} s  {rss:8.1f} MiB  stdout {mib(size)}", file=sys.stderr)

    print(f"\nInputs: big.js.map {mib(sizes['big.js.map'])} (one generated line, {big_segs:,} segments), "
          f"wide.js.map {mib(sizes['wide.js.map'])} (one {a.line_mb} MB source line), "
          f"trace {mib(tsize)} ({a.frames:,} frames).\n")
    print("| binary | command | exit | wall | CPU (user+sys) | peak RSS | stdout |")
    print("|---|---|---|---|---|---|---|")
    for label, name, code, wall, cpu, rss, size, err in rows:
        note = f" ({err[0][:80]})" if err else ""
        print(f"| {label} | {name} | {code}{note} | {wall:.2f} s | {cpu:.2f} s | {rss:.0f} MiB | {mib(size)} |")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
