#!/usr/bin/env python3
"""Memory and time of mapvault on hostile inputs, each at size N and 2N (issue 15).

Every case is generated here (nothing is downloaded), run as a child process, and measured:
peak RSS from wait4's rusage of the child (`ru_maxrss`), wall time around the child alone. Each
case alternates N and 2N for --rounds rounds and keeps the median. The table shows both, the
2N/N time ratio, and flags:

  RSS   peak RSS over 512 MiB at N or 2N                      (issue 15's memory goal)
  TIME  2N takes more than 2.3x the time of N                  (issue 15's linear-time goal)

A time ratio is only judged when N takes at least 0.2 s: below that, process start-up and a
busy machine decide it (shown as `-`). The machine is shared, so times are noisy; ratios taken
in one run, alternating, are what to read. Tests never assert timings.

Usage:
  python3 benches/hostile/run.py                   # every case, 3 rounds (~10 min here)
  python3 benches/hostile/run.py --quick           # smaller N, 1 round (~2 min)
  python3 benches/hostile/run.py --only zst,seeds  # cases whose name contains a word
  python3 benches/hostile/run.py --bin target/release/mapvault --keep

Needs python3 and a release build (built with `cargo build --release --locked` when --bin is
not given and target/release/mapvault is missing). Everything goes under
$MAPVAULT_BENCH_DIR or /tmp/mapvault-hostile (deleted afterwards unless --keep).
"""

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RSS_LIMIT = 512 << 20
TIME_RATIO_LIMIT = 2.3
MIN_JUDGED_SECONDS = 0.2
MIB = 1 << 20


# ---------------------------------------------------------------- input generators


def zstd_zeros(size):
    """A zstd frame of `size` zero bytes made of RLE blocks (RFC 8878): 4 bytes per 128 KiB,
    so 1 GiB is 32 KiB, the "33 KB" bomb of issue 15."""
    block = 128 << 10
    out = bytearray(b"\x28\xb5\x2f\xfd")
    out += bytes([0x00])  # Frame_Header_Descriptor: no content size, no checksum, no dict
    out += bytes([(17 - 10) << 3])  # Window_Descriptor: 2^17 = 128 KiB
    left = size
    while left > 0:
        n = min(block, left)
        left -= n
        last = 1 if left == 0 else 0
        header = last | (1 << 1) | (n << 3)  # Block_Type 1 = RLE
        out += struct.pack("<I", header)[:3] + b"\x00"
    if size == 0:
        out += struct.pack("<I", 1 | (0 << 1))[:3]
    return bytes(out)


class Zeros(io.RawIOBase):
    """`n` zero bytes as a file object, without holding them."""

    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


def tar_add(t, name, size, fileobj):
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    t.addfile(info, fileobj)


def nested_tarball(path, inner_size):
    """outer.tgz holding inner.tgz, which holds `inner_size` bytes of zeros (a member only
    sniffed, never held) and a source map after them, which verify must reach."""
    inner = io.BytesIO()
    with gzip.GzipFile(fileobj=inner, mode="wb", compresslevel=9, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w|") as t:
            tar_add(t, "package/blob.bin", inner_size, io.BufferedReader(Zeros(inner_size)))
            m = b'{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}'
            tar_add(t, "package/late.js.map", len(m), io.BytesIO(m))
    inner = inner.getvalue()
    with gzip.GzipFile(path, "wb", compresslevel=1, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w|") as t:
            tar_add(t, "package/vendor/inner.tgz", len(inner), io.BytesIO(inner))
    return len(inner)


def make_zst_bombs(d, n):
    d.mkdir(parents=True)
    bomb = zstd_zeros(n)
    for i in range(4):
        (d / f"bomb{i}.js.zst").write_bytes(bomb)
    return f"4 x {len(bomb) // 1024} KiB .js.zst, {n // MIB} MiB of zeros each"


def make_nested(d, n):
    d.mkdir(parents=True)
    nested_tarball(d / "pkg0.tgz", n)
    for i in range(1, 4):
        shutil.copyfile(d / "pkg0.tgz", d / f"pkg{i}.tgz")
    size = (d / "pkg0.tgz").stat().st_size
    return f"4 x {size // 1024} KiB tgz > tgz > {n // MIB} MiB blob + map"


def make_brackets(d, n):
    d.mkdir(parents=True)
    # The header scanner only parses a file that mentions the header name.
    (d / "vercel.json").write_bytes(b"[" * n + b'"SourceMap"')
    return f"vercel.json: {n // MIB} MiB of '[' + \"SourceMap\""


def make_data_uris(d, n):
    d.mkdir(parents=True)
    m = base64.b64encode(
        b'{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}'
    ).decode()
    line = f"f();//# sourceMappingURL=data:application/json;base64,{m}\n"
    (d / "main.js").write_text(line * n)
    return f"{n:,} inline data-URI lines"


def make_seal_dist(d, n_chunks, stats_bytes):
    d.mkdir(parents=True)
    names = []
    for i in range(n_chunks):
        name = f"chunk-{i:05d}.{i * 2654435761 % (1 << 32):08x}.js"
        names.append(name)
        (d / name).write_text(f"c{i}();\n//# sourceMappingURL={name}.map\n")
        (d / f"{name}.map").write_text(
            '{"version":3,"sources":["c%d.ts"],"names":[],"mappings":"AAAA"}' % i
        )
    # A webpack stats.json: every chunk named with its SRI hash (as webpack-subresource-integrity
    # adds it), so seal's stale-hash search hashes every chunk and finds every digest; padded
    # with module records to the size.
    assets = []
    for i, n in enumerate(names):
        body = f"c{i}();\n//# sourceMappingURL={n}.map\n".encode()
        sri = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
        assets.append({"name": n, "size": 40, "chunks": [i], "emitted": True, "integrity": sri})
    modules = []
    body = json.dumps({"assets": assets, "modules": modules})
    pad = max(0, stats_bytes - len(body))
    k = 0
    rec_len = len(json.dumps({"id": 0, "name": "./src/" + "m" * 80 + ".ts", "size": 1})) + 2
    while pad > 0:
        modules.append({"id": k, "name": f"./src/{k:08d}" + "m" * 72 + ".ts", "size": 1})
        pad -= rec_len
        k += 1
    (d / "stats.json").write_text(json.dumps({"assets": assets, "modules": modules}))
    size = (d / "stats.json").stat().st_size
    return f"{n_chunks:,} chunks + maps, stats.json {size / 1e6:.1f} MB"


# Where each fuzz target's seeds go: a file name the scanner treats as that target's input, and
# the command to run on it.
SEED_NAMES = {
    "analyze": "seed.js",
    "css_scan": "seed.css",
    "datauri": "seed.js",
    "js_scan": "seed.js",
    "jslex": "seed.js",
    "mapsniff": "seed.json",
    "url_resolve": "seed.js",
}


def seed_file_name(target, data):
    """The name a seed is scanned under, following the fuzz target's first-byte selector where
    it has one."""
    if target == "archive":
        names = ["tar", "tgz", "zip", "tar.zst", "tar.xz", "tar.bz2", "tar.br", "bin"]
        return "seed." + names[data[0] % len(names)] if data else "seed.tar"
    if target == "decompress":
        return ["seed.js.gz", "seed.js.br", "seed.js.zst"][data[0] % 3] if data else "seed.js.gz"
    return SEED_NAMES.get(target, "seed.bin")


def make_seed(d, seed, size):
    """A fuzz seed repeated up to `size` bytes (its first byte, a selector for some targets,
    dropped first), scanned by verify; a manifest seed becomes a vault's manifest.json, read by
    export."""
    d.mkdir(parents=True)
    target = seed.parent.name
    data = seed.read_bytes()
    if target in ("archive", "decompress") and data:
        name, data = seed_file_name(target, data), data[1:]
    else:
        name = seed_file_name(target, data)
    reps = max(1, size // max(1, len(data)))
    body = data * reps
    if target == "manifest":
        vault = d / "vault"
        vault.mkdir(mode=0o700)
        (vault / "manifest.json").write_bytes(body)
        return f"{len(body) // 1024} KiB manifest", ["export", "--vault", "vault", "--out", "out"]
    (d / name).write_bytes(body)
    return f"{len(body) // 1024} KiB {name}", ["verify", name]


# ---------------------------------------------------------------- running and measuring


TIME_BIN = "/usr/bin/time"


def run_child(cmd, cwd):
    """Run `cmd`; return (exit code, wall seconds, peak RSS bytes, stderr).

    Linux carries a process's memory high-water mark across exec, so wait4's ru_maxrss of a
    child spawned from this script starts at this script's own RSS (100 MiB once a big input
    was generated). GNU time forks a fresh process whose mark starts at time's own (~2 MiB),
    so its %M is the child's; without it the number is an upper bound (see the header)."""
    t0 = time.perf_counter()
    rss_file = cwd / ".rss"
    wrapped = [TIME_BIN, "-f", "%M", "-o", str(rss_file), *cmd] if os.path.exists(TIME_BIN) else cmd
    p = subprocess.Popen(
        wrapped, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"}
    )
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    rss = ru.ru_maxrss * 1024
    if wrapped is not cmd:
        lines = rss_file.read_text().split()
        rss = int(lines[-1]) * 1024
        rss_file.unlink()
    return code, wall, rss, err.decode(errors="replace")


class Case:
    def __init__(self, name, sizes, make, args, cwd_sub=".", fresh=False):
        self.name = name
        self.sizes = sizes  # (N, 2N)
        self.make = make  # (dir, size) -> description, or (description, args)
        self.args = args  # command arguments (after the binary), or None when make gives them
        self.cwd_sub = cwd_sub
        self.fresh = fresh  # regenerate before every run (the command changes its input)


def measure(case, binary, work, rounds):
    dirs, descs, cmds = [], [], []
    for label, size in zip(("N", "2N"), case.sizes):
        d = work / f"{case.name}-{label}"
        shutil.rmtree(d, ignore_errors=True)
        made = case.make(d / "in", size)
        desc, args = made if isinstance(made, tuple) else (made, case.args)
        dirs.append(d)
        descs.append(desc)
        cmds.append(args)
    results = {0: [], 1: []}
    for r in range(rounds):
        for k in (0, 1) if r % 2 == 0 else (1, 0):
            d = dirs[k]
            if case.fresh and r > 0:
                shutil.rmtree(d / "in", ignore_errors=True)
                shutil.rmtree(d / "vault", ignore_errors=True)
                case.make(d / "in", case.sizes[k])
            for leftover in ("out", "vault-run"):
                shutil.rmtree(d / "in" / leftover, ignore_errors=True)
            code, wall, rss, err = run_child([str(binary), *cmds[k]], d / "in")
            results[k].append((code, wall, rss, err))
    rows = []
    for k in (0, 1):
        walls = [w for _, w, _, _ in results[k]]
        rss = max(r for _, _, r, _ in results[k])
        codes = sorted({c for c, _, _, _ in results[k]})
        last_err = results[k][-1][3].strip().splitlines()
        rows.append((descs[k], statistics.median(walls), rss, codes, last_err[-1] if last_err else ""))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller inputs, 1 round")
    ap.add_argument("--only", default="", help="comma-separated words; run cases containing one")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--jobs", default="4", help="--jobs for the parallel cases (issue 15 used 4)")
    a = ap.parse_args()
    rounds = 1 if a.quick else a.rounds
    q = 4 if a.quick else 1  # divide sizes by this in --quick

    binary = a.bin or REPO / "target/release/mapvault"
    if not binary.exists():
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=REPO, check=True)
    binary = binary.resolve()
    work = Path(os.environ.get("MAPVAULT_BENCH_DIR", "/tmp/mapvault-hostile"))
    work.mkdir(parents=True, exist_ok=True)

    jobs = ["--jobs", a.jobs]
    cases = [
        Case("zst-bombs", (512 * MIB // q, 1024 * MIB // q), make_zst_bombs, ["verify", ".", *jobs]),
        Case("nested-tarballs", (1024 * MIB // q, 2048 * MIB // q), make_nested, ["verify", ".", *jobs]),
        Case("brackets-vercel-json", (10 * MIB // q, 20 * MIB // q), make_brackets, ["verify", "."]),
        Case("data-uri-lines", (100_000 // q, 200_000 // q), make_data_uris, ["verify", "."]),
        Case(
            "seal-dry-run-stats-json",
            # 16 MB, as in issue 15: just under seal's 16 MiB cap on a list it reads.
            ((5_000 // q, 8_000_000 // q), (10_000 // q, 16_000_000 // q)),
            lambda d, s: make_seal_dist(d, *s),
            ["seal", ".", "--vault", "../vault-run", "--dry-run"],
        ),
    ]
    seeds = sorted(p for p in (REPO / "fuzz/seeds").glob("*/*") if p.is_file())
    for s in seeds:
        cases.append(
            Case(
                f"seed {s.parent.name}/{s.name}",
                (MIB // q, 2 * MIB // q),
                lambda d, size, s=s: make_seed(d, s, size),
                None,
            )
        )
    words = [w for w in a.only.split(",") if w]
    if words:
        cases = [c for c in cases if any(w in c.name for w in words)]

    print(f"mapvault hostile-input benchmark: {binary}")
    print(f"rounds {rounds}, median wall time; peak RSS is the max over rounds; load {os.getloadavg()[0]:.1f}")
    if not os.path.exists(TIME_BIN):
        print(f"no {TIME_BIN}: peak RSS from wait4 includes this script's own RSS (an upper bound)")
    print()
    hdr = f"{'case':44} {'N: input':46} {'time':>7} {'RSS MiB':>8} {'2N time':>8} {'2N RSS':>8} {'ratio':>6} {'exit':>7}  flags"
    print(hdr)
    print("-" * len(hdr))
    flagged = []
    for c in cases:
        (d1, t1, r1, c1, e1), (d2, t2, r2, c2, e2) = measure(c, binary, work, rounds)
        ratio = t2 / t1 if t1 > 0 else float("inf")
        flags = []
        if max(r1, r2) > RSS_LIMIT:
            flags.append("RSS")
        judged = t1 >= MIN_JUDGED_SECONDS
        if judged and ratio > TIME_RATIO_LIMIT:
            flags.append("TIME")
        codes = "/".join(map(str, c1)) + "," + "/".join(map(str, c2))
        print(
            f"{c.name[:44]:44} {d1[:46]:46} {t1:7.2f} {r1 / MIB:8.0f} {t2:8.2f} {r2 / MIB:8.0f} "
            f"{(f'{ratio:.2f}' if judged else '-'):>6} {codes:>7}  {' '.join(flags)}"
        )
        if flags:
            flagged.append((c.name, flags, e2))
        sys.stdout.flush()
        if not a.keep:
            for label in ("N", "2N"):
                shutil.rmtree(work / f"{c.name}-{label}", ignore_errors=True)
    print()
    if flagged:
        print(f"{len(flagged)} case(s) flagged:")
        for name, flags, err in flagged:
            print(f"  {name}: {' '.join(flags)}" + (f"  (stderr: {err[:120]})" if err else ""))
    else:
        print("no case over 512 MiB RSS or 2.3x time for 2x input")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
