#!/usr/bin/env python3
"""History-independence of seal on the 1 GB benchmark dist (issue 13's goal: seal into a vault
that already holds 10 earlier releases within 10% of seal into an empty vault). Called by
`benches/e2e/run.sh --history N`, which builds mapvault and generates the master dist.

Releases are rebuilt dists: release R is the master dist with every bundle's, stylesheet's and
HTML page's bench banner and every map's `x_mapvault_bench` field tagged `rRR` (same line count,
so every map stays exact; inline maps change with their bundle), so each release's bundles and
maps hash differently from every other release's, as between real builds, and no object is
shared between releases.

1. The history vault: releases 1..N sealed one after another into one vault (built once, kept
   while the master dist, N and the mapvault binary are unchanged: `WORK/history-N/`).
2. Release N+1 is generated once; each round seals a fresh `cp -a` of it twice, in an order
   that alternates per round:
     empty    `mapvault seal DIST --vault EMPTY`   (a new, empty vault directory)
     history  `mapvault seal DIST --vault COPY`    (a copy of the history vault: `maps/` and
              `blobs/` hard-linked — immutable, content-addressed objects that seal only reads
              — everything else copied)
   Copies, `sync` and deletions are untimed. Wall time around the child; CPU time (user + sys)
   and peak RSS from `wait4`'s rusage of the child.
3. Checks, untimed: both seals exit alike (0 or 1: this dist's eval-source-map copies cannot be
   sealed) and leave the same dist (path, mode and content digest); the history copy then holds
   N+1 records and the empty vault 1; the history vault's objects are untouched at the end (the
   same names, sizes, mtimes and inodes as before the rounds).

Prints a Markdown table (medians, min–max, ratio of medians, CPU, RSS, load average) and writes
the numbers as JSON. Exit 2 on a failed seal or check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CODE_EXT = (".js", ".mjs", ".cjs", ".css", ".html", ".htm")
BANNERS = (b"/*! mapvault-bench copy ", b"<!-- mapvault-bench copy ")
MAP_TAG = b'"x_mapvault_bench":"'


def log(msg: str) -> None:
    print(f"[history1g] {msg}", file=sys.stderr, flush=True)


class Failed(Exception):
    pass


def make_release(master: Path, dest: Path, r: int) -> int:
    """Copy `master` to `dest` as release `r`; returns how many files were changed."""
    if dest.exists():
        shutil.rmtree(dest)
    tag = b"r%02d " % r
    changed = 0
    for dirpath, dirs, files in os.walk(master):
        dirs.sort()
        out_dir = dest / os.path.relpath(dirpath, master)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in files:
            src = os.path.join(dirpath, name)
            dst = out_dir / name
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
                continue
            data = Path(src).read_bytes()
            low = name.lower()
            new = data
            if low.endswith(".map"):
                i = data.find(MAP_TAG)
                if i >= 0:
                    j = i + len(MAP_TAG)
                    new = data[:j] + tag.strip() + b"-" + data[j:]
            elif low.endswith(CODE_EXT):
                for b in BANNERS:
                    i = data.find(b, 0, 4096)
                    if i >= 0:
                        j = i + len(b) - len(b"copy ")
                        new = data[:j] + tag + data[j:]
                        break
            if new is not data:
                changed += 1
            dst.write_bytes(new)
            shutil.copymode(src, dst)
    return changed


def tree_digest(root: Path) -> str:
    """sha256 over every entry's path, mode and content."""
    h = hashlib.sha256()
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, root)}\0{st.st_mode:o}\0".encode())
            if os.path.islink(p):
                h.update(os.readlink(p).encode())
            else:
                with open(p, "rb") as f:
                    h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def objects_state(vault: Path) -> dict[str, tuple[int, int, int]]:
    out = {}
    for sub in ("maps", "blobs"):
        d = vault / sub
        if d.is_dir():
            for e in os.scandir(d):
                st = e.stat(follow_symlinks=False)
                out[f"{sub}/{e.name}"] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def records(vault: Path) -> int:
    d = vault / "seals"
    return sum(1 for n in os.listdir(d) if n.endswith(".json")) if d.is_dir() else 0


def run_seal(mapvault: str, dist: Path, vault: Path, jobs: str, errlog: Path) -> dict:
    """Wall time, CPU time (user + sys), peak RSS and exit code of one seal."""
    argv = [mapvault, "seal", str(dist), "--vault", str(vault), "-q"]
    if jobs:
        argv += ["--jobs", jobs]
    with open(errlog, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime,
            "rss": ru.ru_maxrss * 1024, "rc": p.returncode}


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True)


def build_history(a, mapvault: str, hist: Path) -> None:
    st = os.stat(mapvault)
    stamp = json.dumps({"master": str(a.master), "n": a.history, "bin": [st.st_size, st.st_mtime_ns]})
    if (hist / ".stamp").is_file() and (hist / ".stamp").read_text() == stamp:
        log(f"reusing the history vault {hist} ({records(hist / 'vault')} records)")
        return
    shutil.rmtree(hist, ignore_errors=True)
    hist.mkdir(parents=True)
    vault = hist / "vault"
    rel = a.run_dir / "rel"
    for r in range(1, a.history + 1):
        t0 = time.perf_counter()
        n = make_release(a.master, rel, r)
        t1 = time.perf_counter()
        res = run_seal(mapvault, rel, vault, a.jobs, a.run_dir / f"history-{r}.log")
        if res["rc"] not in (0, 1):
            raise Failed(f"sealing release {r} into {vault} exited {res['rc']}: "
                         f"{(a.run_dir / f'history-{r}.log').read_text(errors='replace')[-2000:]}")
        shutil.rmtree(rel)
        log(f"history: release {r}/{a.history} ({n} files tagged, {t1 - t0:.0f} s) sealed in "
            f"{res['wall']:.1f} s (exit {res['rc']})")
    (hist / ".stamp").write_text(stamp)


def copy_history(src: Path, dest: Path) -> None:
    dest.mkdir()
    for e in os.scandir(src):
        if e.name in ("maps", "blobs"):
            sh("cp", "-al", e.path, str(dest / e.name))
        else:
            sh("cp", "-a", e.path, str(dest / e.name))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mapvault", required=True)
    ap.add_argument("--master", required=True, type=Path)
    ap.add_argument("--run-dir", required=True, type=Path)
    ap.add_argument("--history", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", default="", help="seal --jobs (default: mapvault's own)")
    ap.add_argument("--goal", type=float, default=1.10)
    ap.add_argument("--label", default="")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--md-out", type=Path)
    a = ap.parse_args()
    a.run_dir.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()
    hist = a.run_dir.parent / f"history-{a.history}"
    rows: dict[str, list[dict]] = {"empty": [], "history": []}
    try:
        build_history(a, a.mapvault, hist)
        hvault = hist / "vault"
        if records(hvault) != a.history:
            raise Failed(f"the history vault {hvault} holds {records(hvault)} records, not {a.history}")
        before = objects_state(hvault)
        nxt = a.run_dir / "next"
        log(f"generating release {a.history + 1}")
        make_release(a.master, nxt, a.history + 1)
        dist, vault = a.run_dir / "dist", a.run_dir / "vault"
        for r in range(1, a.runs + 1):
            order = ["empty", "history"] if r % 2 else ["history", "empty"]
            seen = {}
            for kind in order:
                for p in (dist, vault):
                    if p.exists():
                        shutil.rmtree(p)
                sh("cp", "-a", str(nxt), str(dist))
                if kind == "empty":
                    vault.mkdir(mode=0o700)
                else:
                    copy_history(hvault, vault)
                sh("sync")
                res = run_seal(a.mapvault, dist, vault, a.jobs, a.run_dir / f"{kind}-{r}.log")
                if res["rc"] not in (0, 1):
                    raise Failed(f"round {r}: {kind} seal exited {res['rc']}: "
                                 f"{(a.run_dir / f'{kind}-{r}.log').read_text(errors='replace')[-2000:]}")
                want = 1 + (a.history if kind == "history" else 0)
                if records(vault) != want:
                    raise Failed(f"round {r}: the {kind} vault holds {records(vault)} records after the seal, not {want}")
                if r == 1:
                    res["digest"] = tree_digest(dist)
                seen[kind] = res
                rows[kind].append(res)
                log(f"round {r}/{a.runs}: {kind:7} {res['wall']:.2f} s wall, {res['cpu']:.2f} s CPU, "
                    f"{res['rss'] / 1048576:.0f} MiB, exit {res['rc']}, load {os.getloadavg()[0]:.1f}")
            if seen["empty"]["rc"] != seen["history"]["rc"] or \
                    seen["empty"].get("digest") != seen["history"].get("digest"):
                raise Failed(f"round {r}: the two seals left different dists or exit codes")
        for p in (dist, vault):
            shutil.rmtree(p, ignore_errors=True)
        if objects_state(hvault) != before:
            raise Failed(f"the history vault's objects changed during the rounds ({hvault})")
    except Failed as e:
        log(f"FAILED: {e}")
        sys.exit(2)
    load1 = os.getloadavg()

    med = {k: statistics.median(x["wall"] for x in v) for k, v in rows.items()}
    cpu = {k: statistics.median(x["cpu"] for x in v) for k, v in rows.items()}
    ratio, cratio = med["history"] / med["empty"], cpu["history"] / cpu["empty"]
    lines = [
        f"### Seal into a vault of {a.history} releases vs an empty vault{': ' + a.label if a.label else ''}",
        "",
        f"{a.runs} rounds, alternating; release {a.history + 1} sealed each time (exit "
        f"{rows['empty'][0]['rc']} both ways, the same sealed dist); load average "
        f"{load0[0]:.1f} / {load0[1]:.1f} at the start, {load1[0]:.1f} / {load1[1]:.1f} at the end (1 / 5 min).",
        "",
        "| seal into | median wall | min–max | ratio | median CPU (user+sys) | CPU ratio | peak RSS (max) |",
        "|---|---|---|---|---|---|---|",
    ]
    for k, label in (("empty", "an empty vault"), ("history", f"a vault of {a.history} releases")):
        w = [x["wall"] for x in rows[k]]
        lines.append(f"| {label} | {med[k]:.2f} s | {min(w):.2f}–{max(w):.2f} s | {med[k] / med['empty']:.3f}× | "
                     f"{cpu[k]:.2f} s | {cpu[k] / cpu['empty']:.3f}× | "
                     f"{max(x['rss'] for x in rows[k]) / 1048576:.0f} MiB |")
    lines += ["", f"- goal: within {a.goal:g}× of the empty vault: **{'met' if ratio <= a.goal else 'missed'}** "
                  f"(wall {ratio:.3f}×, CPU {cratio:.3f}×)"]
    report = "\n".join(lines) + "\n"
    print(report)
    if a.md_out:
        a.md_out.write_text(report)
    if a.json_out:
        a.json_out.write_text(json.dumps({
            "label": a.label, "history": a.history, "runs": a.runs, "ratio": ratio, "cpu_ratio": cratio,
            "load": [load0, load1],
            "rounds": {k: [{kk: vv for kk, vv in x.items() if kk != "digest"} for x in v] for k, v in rows.items()},
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
