#!/usr/bin/env python3
"""Time the end-to-end comparison on fresh copies of a generated dist (called by run.sh).

Each round runs every command once, in an order rotated per round, each on a fresh copy of the
master dist (and an empty vault): copy + `sync` happen before the clock starts. Wall time is
measured around the child alone; peak RSS comes from `wait4`'s rusage of that child and its
descendants. Prints a Markdown report (medians, ratios to the read-once floor and to
sentry-cli, peak RSS) and writes the raw numbers as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

FLOOR = "read every byte once"
SENTRY = "sentry-cli sourcemaps inject"
NAIVE = "find -exec mv + sed -i"


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def fresh(master: str, run_dir: str, n: int) -> tuple[str, str]:
    """A new copy of the master and an empty vault; the previous ones go to the trash (deleting
    is slow on a disk mounted with `discard`, so it happens once a round, see `empty_trash`)."""
    dist, vault = os.path.join(run_dir, "dist"), os.path.join(run_dir, "vault")
    trash = os.path.join(run_dir, "trash")
    os.makedirs(trash, exist_ok=True)
    for p in (dist, vault):
        if os.path.exists(p):
            os.rename(p, os.path.join(trash, f"{os.path.basename(p)}-{n}"))
    subprocess.run(["cp", "-a", master, dist], check=True)
    os.makedirs(vault, mode=0o700)
    subprocess.run(["sync"], check=True)
    return dist, vault


def empty_trash(run_dir: str) -> None:
    trash = os.path.join(run_dir, "trash")
    t0 = time.perf_counter()
    shutil.rmtree(trash, ignore_errors=True)
    subprocess.run(["sync"], check=True)
    print(f"  (emptied the trash in {time.perf_counter() - t0:.1f} s, not timed)", file=sys.stderr, flush=True)


def timed(argv: list[str], log: str) -> tuple[float, int, int]:
    """(wall seconds, exit code, peak RSS in KiB) of one child process tree."""
    with open(log, "ab") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, p.returncode, ru.ru_maxrss


def tree_stats(root: str) -> dict[str, int]:
    files = maps = size = 0
    for dirpath, _, names in os.walk(root):
        for n in names:
            files += 1
            if n.endswith(".map"):
                maps += 1
            size += os.lstat(os.path.join(dirpath, n)).st_size
    return {"files": files, "maps": maps, "bytes": size}


def check_after(name: str, dist: str, vault: str, master: str, mapvault: str) -> str:
    """A one-line correctness note, checked outside the clock on the first round."""
    if name.startswith("mapvault seal"):
        r = subprocess.run([mapvault, "verify", "--quiet", dist], capture_output=True, check=False)
        objs = sum(len(f) for _, _, f in os.walk(os.path.join(vault, "maps")))
        return f"verify after seal: exit {r.returncode}; {objs} map objects in the vault"
    if name == NAIVE:
        st = tree_stats(dist)
        in_vault = len(os.listdir(vault))
        total = tree_stats(master)["maps"]
        # Files where the sed deleted code, not just a comment line: any line holding the text
        # that is not a `//#` / `/*#` comment (a minified bundle's one line, an eval string).
        broken = 0
        for dirpath, _, names in os.walk(master):
            for n in names:
                if not n.endswith((".js", ".mjs", ".cjs", ".css")):
                    continue
                with open(os.path.join(dirpath, n), "rb") as f:
                    data = f.read()
                if b"sourceMappingURL=" not in data:
                    continue
                for line in data.splitlines():
                    if b"sourceMappingURL=" in line and not line.lstrip().startswith(
                            (b"//#", b"//@", b"/*#", b"/*@")):
                        broken += 1
                        break
        r = subprocess.run([mapvault, "verify", "--quiet", dist], capture_output=True, check=False)
        return (f"{in_vault} of {total} maps in the vault (the rest overwrote each other), "
                f"{st['maps']} left in the dist, "
                f"{broken} files had code lines deleted; mapvault verify exit {r.returncode}")
    if name == SENTRY:
        r = subprocess.run([mapvault, "verify", "--quiet", dist], capture_output=True, check=False)
        return f"(injects debug ids; strips nothing) mapvault verify exit {r.returncode}"
    return ""


def machine() -> dict[str, str]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": mem,
        "kernel": platform.release(),
    }


def fmt_ratio(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--master", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--mapvault", required=True)
    ap.add_argument("--sentry", default="")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--jobs", default="1,2", help="seal --jobs values, comma-separated")
    ap.add_argument("--label", default="")
    ap.add_argument("--dist-stats", default="{}")
    ap.add_argument("--versions", default="{}")
    ap.add_argument("--seal-goal", type=float, default=2.0, help="goal: seal ≤ this × the floor")
    ap.add_argument("--json-out", required=True)
    ap.add_argument("--md-out", required=True)
    args = ap.parse_args()

    mv = args.mapvault
    nproc = os.cpu_count() or 1
    jobs = [int(j) for j in args.jobs.split(",") if j]
    cmds: list[tuple[str, list[str]]] = [
        (FLOOR, ["bash", "-c", 'find "$0" -type f -exec cat {} + >/dev/null', "{dist}"]),
        (f"mapvault verify (--jobs {nproc})", [mv, "verify", "{dist}"]),
    ]
    for j in jobs:
        cmds.append((f"mapvault seal --jobs {j}", [mv, "seal", "{dist}", "--vault", "{vault}", "--jobs", str(j)]))
    if args.sentry:
        cmds.append((SENTRY, [args.sentry, "sourcemaps", "inject", "{dist}"]))
    cmds.append((NAIVE, ["bash", "-c",
                         'find "$0" -type f -name "*.map" -exec mv -t "$1" {} + ; '
                         'find "$0" -type f \\( -name "*.js" -o -name "*.css" \\) '
                         '-exec sed -i "/sourceMappingURL=/d" {} +', "{dist}", "{vault}"]))

    log = os.path.join(args.run_dir, "stderr.log")
    os.makedirs(args.run_dir, exist_ok=True)
    open(log, "wb").close()
    results: dict[str, list[dict]] = {name: [] for name, _ in cmds}
    notes: dict[str, str] = {}
    load_before = os.getloadavg()
    started = dt.datetime.now(dt.timezone.utc)
    shutil.rmtree(os.path.join(args.run_dir, "dist"), ignore_errors=True)
    shutil.rmtree(os.path.join(args.run_dir, "vault"), ignore_errors=True)
    empty_trash(args.run_dir)
    n = 0
    for r in range(args.runs):
        order = cmds[r % len(cmds):] + cmds[: r % len(cmds)]
        for name, argv in order:
            n += 1
            dist, vault = fresh(args.master, args.run_dir, n)
            real = [a.replace("{dist}", dist).replace("{vault}", vault) for a in argv]
            with open(log, "ab") as f:
                f.write(f"\n=== round {r + 1}: {name}\n".encode())
            wall, code, rss = timed(real, log)
            results[name].append({"wall": wall, "exit": code, "rss_kib": rss})
            print(f"round {r + 1}/{args.runs}  {name:<34} {wall:8.3f} s  exit {code}  "
                  f"rss {rss / 1024:7.1f} MiB", file=sys.stderr, flush=True)
            if r == 0:
                notes[name] = check_after(name, dist, vault, args.master, mv)
        empty_trash(args.run_dir)
    load_after = os.getloadavg()
    for p in ("dist", "vault"):
        shutil.rmtree(os.path.join(args.run_dir, p), ignore_errors=True)

    med = {n: statistics.median(x["wall"] for x in v) for n, v in results.items()}
    floor = med[FLOOR]
    sentry = med.get(SENTRY)
    rows = []
    for name, _ in cmds:
        v = results[name]
        walls = [x["wall"] for x in v]
        per_round = [x["wall"] / f["wall"] for x, f in zip(v, results[FLOOR])]
        rows.append({
            "command": name,
            "median_s": med[name],
            "min_s": min(walls),
            "max_s": max(walls),
            "x_floor": med[name] / floor,
            "x_floor_per_round_median": statistics.median(per_round),
            "sentry_over_this": (sentry / med[name]) if sentry else None,
            "peak_rss_mib": max(x["rss_kib"] for x in v) / 1024,
            "exits": sorted({x["exit"] for x in v}),
            "note": notes.get(name, ""),
        })

    m = machine()
    versions = json.loads(args.versions)
    dstats = json.loads(args.dist_stats)
    out = {
        "label": args.label, "date": started.isoformat(timespec="seconds"), "machine": m,
        "versions": versions, "dist": dstats, "runs": args.runs,
        "load_before": load_before, "load_after": load_after, "rows": rows, "raw": results,
    }
    with open(args.json_out, "w") as f:
        json.dump(out, f, indent=1)

    lines = []
    lines.append(f"### {args.label}" if args.label else "### Results")
    lines.append("")
    lines.append(f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}; {args.runs} alternating rounds, "
                 f"fresh copy + `sync` before each command (not timed); hot page cache")
    lines.append(f"- machine: {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, Linux {m['kernel']}; "
                 f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    if dstats:
        lines.append(f"- dist: {dstats.get('bytes', 0) / 1e6:,.0f} MB in {dstats.get('files', 0):,} files "
                     f"({dstats.get('maps', 0):,} maps, {dstats.get('comments', 0):,} comments, "
                     f"{dstats.get('inline', 0):,} inline maps)")
    lines.append("")
    lines.append("| command | median wall | min–max | × read-once floor | sentry-cli ÷ this | peak RSS | exit |")
    lines.append("|---|---|---|---|---|---|---|")
    for row in rows:
        lines.append(
            f"| {row['command']} | {row['median_s']:.3f} s | {row['min_s']:.2f}–{row['max_s']:.2f} s | "
            f"{fmt_ratio(row['x_floor'])} | {fmt_ratio(row['sentry_over_this'])} | "
            f"{row['peak_rss_mib']:.0f} MiB | {','.join(map(str, row['exits']))} |")
    lines.append("")
    by = {r["command"]: r for r in rows}
    seal = by.get(f"mapvault seal --jobs {nproc}") or next((r for r in rows if r["command"].startswith("mapvault seal")), None)
    ver = next((r for r in rows if r["command"].startswith("mapvault verify")), None)
    goals = []
    if seal:
        goals.append((f"seal ≤ {args.seal_goal:g}× floor", seal["x_floor"] <= args.seal_goal, fmt_ratio(seal["x_floor"])))
        if seal["sentry_over_this"] is not None:
            goals.append(("seal ≥ 30× faster than sentry-cli", seal["sentry_over_this"] >= 30, fmt_ratio(seal["sentry_over_this"])))
        goals.append(("seal peak RSS ≤ 150 MB", seal["peak_rss_mib"] * 1.048576 <= 150, f"{seal['peak_rss_mib']:.0f} MiB"))
    if ver:
        goals.append(("verify ≤ 1.5× floor", ver["x_floor"] <= 1.5, fmt_ratio(ver["x_floor"])))
    if goals:
        lines.append("Goals (issue 5): " + "; ".join(f"{g}: {v} **{'met' if ok else 'not met'}**" for g, ok, v in goals))
        lines.append("")
    out["goals"] = [{"goal": g, "met": ok, "value": v} for g, ok, v in goals]
    with open(args.json_out, "w") as f:
        json.dump(out, f, indent=1)
    checks = [f"- {r['command']}: {r['note']}" for r in rows if r["note"]]
    if checks:
        lines.append("Checked after the first round (not timed):")
        lines.extend(checks)
        lines.append("")
    with open(args.md_out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
