#!/usr/bin/env python3
"""History-independence of seal (issue 13): seal release 20 into a vault that already holds 19
releases vs release 1 into an empty vault, on a ~1,000-file dist built from the bundler
fixtures. Prints the median seal time of each and their ratio (the issue asks for <= 1.15x).
With --readers N it then grows the vault to N releases and times `resolve` of one position and
`export` of the latest release there and in a vault holding only that release (wall and CPU
time, medians, and their ratios).

    python3 benches/vault/history.py [--bin target/release/mapvault] [--rounds 5] [--copies 22]
                                     [--readers 50]

Every release is a new build: each bundle and map gets a release-specific comment/field, so no
map object is shared between releases (as between real builds). Release 20 is sealed into a
fresh copy of the 19-release vault in each round, alternating with release 1 into a fresh empty
vault, so both see the same machine load.
"""
import argparse, os, pathlib, resource, shutil, statistics, subprocess, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ["vite", "webpack-source-map", "esbuild", "rollup", "webpack-inline-source-map"]


def make_release(dest: pathlib.Path, n: int, copies: int):
    for c in range(copies):
        for fx in FIXTURES:
            shutil.copytree(ROOT / "fixtures" / fx, dest / f"{fx}-{c}", symlinks=True)
    for p in dest.rglob("*"):
        if not p.is_file():
            continue
        if p.name.endswith(".map"):
            b = p.read_bytes().replace(b'"version":3', b'"version":3,"x_release":%d' % n, 1)
            p.write_bytes(b)
        elif p.name.endswith(".js"):
            p.write_bytes(b"/* release %d */\n" % n + p.read_bytes())


def seal(bin_, dist, vault):
    t = time.perf_counter()
    subprocess.run([bin_, "seal", str(dist), "--vault", str(vault), "-q"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target/release/mapvault"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--copies", type=int, default=22)
    ap.add_argument("--readers", type=int, default=0,
                    help="then grow the vault to this many releases and time resolve/export")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mapvault-history-") as tmp:
        tmp = pathlib.Path(tmp)
        hist = tmp / "vault19"
        for n in range(2, 21):
            d = tmp / "rel"
            make_release(d, n, a.copies)
            seal(a.bin, d, hist)
            shutil.rmtree(d)
        files = None
        t1, t20 = [], []
        for r in range(a.rounds):
            for which in ("1", "20"):
                d = tmp / f"dist{which}"
                make_release(d, 1 if which == "1" else 21, a.copies)
                files = files or sum(1 for p in d.rglob("*") if p.is_file())
                v = tmp / f"v{which}"
                if which == "20":
                    shutil.copytree(hist, v, symlinks=True)
                (t1 if which == "1" else t20).append(seal(a.bin, d, v))
                shutil.rmtree(d)
                shutil.rmtree(v)
        m1, m20 = statistics.median(t1), statistics.median(t20)
        recs = len(list((hist / "seals").glob("*.json")))
        print(f"dist: {files} files; history vault: {recs} records")
        print(f"seal release 1 into an empty vault:      median {m1*1000:.0f} ms  {[round(x*1000) for x in t1]}")
        print(f"seal release 20 into a 19-release vault: median {m20*1000:.0f} ms  {[round(x*1000) for x in t20]}")
        print(f"ratio: {m20/m1:.3f}x")
        if a.readers:
            readers(a, tmp, hist)


def readers(a, tmp, hist):
    """resolve of one position and export of one release in a vault of `a.readers` releases,
    against the same in a vault of that one release alone (sealed from a copy of the same
    build), alternating so both see the same machine load."""
    one = tmp / "vault1"
    for n in range(21, a.readers + 1):
        d = tmp / "rel"
        make_release(d, n, a.copies)
        if n == a.readers:
            shutil.copytree(d, tmp / "rel1", symlinks=True)
            seal(a.bin, tmp / "rel1", one)
            shutil.rmtree(tmp / "rel1")
        seal(a.bin, d, hist)
        shutil.rmtree(d)
    js = sorted((ROOT / "fixtures" / "vite").rglob("*.js"))[0]
    # Line 2: every release starts each bundle with a one-line comment.
    pos = f"vite-0/{js.relative_to(ROOT / 'fixtures' / 'vite')}:2:10"
    def cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    # CPU time (user + system) of each reader too: on a loaded shared machine the wall time
    # is mostly waiting for a core, the CPU time is the work done.
    def resolve(vault, cr):
        t, c = time.perf_counter(), cpu()
        rc = subprocess.run([a.bin, "resolve", "--vault", str(vault), pos],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        assert rc in (0, 1), f"resolve exited {rc}"  # 1: found, nothing mapped there
        cr.append(cpu() - c)
        return time.perf_counter() - t

    def export(vault, out, ce):
        t, c = time.perf_counter(), cpu()
        subprocess.run([a.bin, "export", "--vault", str(vault), "--out", str(out), "-q"],
                       check=True, stdout=subprocess.DEVNULL)
        ce.append(cpu() - c)
        shutil.rmtree(out)
        return time.perf_counter() - t

    # The first reader builds the derived index of every seal that lacks one (vault/index.rs):
    # once for the whole history here, then once per new seal.
    first_cpu = []
    first = resolve(hist, first_cpu)
    resolve(one, [])
    res = {v: ([], [], [], []) for v in ("many", "one")}  # resolve wall/cpu, export wall/cpu
    for r in range(a.rounds):
        for which, vault in (("many", hist), ("one", one)):
            tr, cr, te, ce = res[which]
            tr.append(resolve(vault, cr))
            te.append(export(vault, tmp / f"out-{which}-{r}", ce))
    recs = len([p for p in (hist / "seals").glob("*.json")])
    ms = lambda xs: f"{statistics.median(xs)*1000:.0f} ms"
    for which, label in (("many", f"vault of {recs} releases"), ("one", "vault of 1 release ")):
        tr, cr, te, ce = res[which]
        print(f"{label}: resolve median {ms(tr)} wall, {ms(cr)} CPU; export of the latest "
              f"release median {ms(te)} wall, {ms(ce)} CPU  (resolve {[round(x*1000) for x in tr]}, "
              f"export {[round(x*1000) for x in te]})")
    ratio = lambda i: (statistics.median(res["many"][i]) / statistics.median(res["one"][i]))
    print(f"{recs} releases / 1 release: resolve {ratio(0):.2f}x wall, {ratio(1):.2f}x CPU; "
          f"export {ratio(2):.2f}x wall, {ratio(3):.2f}x CPU")
    print(f"first resolve (builds every missing index): {first*1000:.0f} ms "
          f"({first_cpu[0]*1000:.0f} ms CPU)")
    d = tmp / "rel"
    make_release(d, a.readers + 1, a.copies)
    seal(a.bin, d, hist)
    shutil.rmtree(d)
    print(f"first resolve after one more seal: {resolve(hist, [])*1000:.0f} ms; "
          f"then {resolve(hist, [])*1000:.0f} ms")


if __name__ == "__main__":
    main()
