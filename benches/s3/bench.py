#!/usr/bin/env python3
"""Seal into a remote vault vs into a local one (issue 16's goal: the 1 GB benchmark dist sealed
into a loopback S3 server within 2x of a local seal, peak RSS at or below 200 MB). Called by
benches/s3/run.sh, which builds mapvault, generates the dist and installs the server (moto,
s3s-fs with --server s3s, Garage with --server garage).

Each round runs both seals once, in an order that alternates per round, each on a fresh `cp -a`
of the master dist (copy and `sync` untimed):
  local   `mapvault seal DIST --vault RUN/vault`           (an empty vault directory)
  s3      `mapvault seal DIST --vault s3://bench/round-N`  (a fresh server per round, so its
          memory and CPU start from zero: moto, or s3s-fs or Garage with a fresh root
          directory; an empty cache directory, MAPVAULT_CACHE_DIR)
each under `/usr/bin/time -v`: wall time is taken around the child (perf_counter), CPU time
(user + sys) and peak RSS from time. The server runs on the same 2 cores, so the s3 time
includes the server's own work; its CPU seconds and peak RSS are reported beside it.

After every s3 seal, untimed, it checks that the seal really went to the bucket: one record
under `seals/`, the same `maps/` and `blobs/` names as the local seal of that round wrote
(mapvault names objects by their sha256, so the sets must be equal), and the same exit code and
the same sealed dist, byte for byte (a digest of every path, mode and content). Seal exits 1 on
this dist (its webpack eval-source-map copies cannot be sealed), so 0 and 1 are both accepted,
as long as both seals agree. A failed seal (exit 2) or check ends the run with exit 2 (a build
without the S3 backend fails here, clearly). Prints a Markdown table
(median, min–max, ratio of medians, peak RSS, the goals) and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
S3CTL = REPO / "tests" / "tools" / "s3ctl.py"
BUCKET = "bench"
RSS_GOAL_BYTES = 200 * 1000 * 1000
KEYS = {"AWS_ACCESS_KEY_ID": "mapvault-bench", "AWS_SECRET_ACCESS_KEY": "mapvault-bench-secret",
        "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true", "NO_PROXY": "*", "no_proxy": "*"}


def log(msg: str) -> None:
    print(f"[s3 bench] {msg}", file=sys.stderr, flush=True)


class Failed(Exception):
    pass


def s3_env(endpoint: str, cache: Path) -> dict[str, str]:
    """The machine's environment without its AWS_* settings, pointed at the loopback server."""
    env = server_env()
    env.update(KEYS)
    env["AWS_ENDPOINT_URL"] = endpoint
    env["MAPVAULT_CACHE_DIR"] = str(cache)
    return env


def server_env(rust_log: str | None = None) -> dict[str, str]:
    """Our environment without AWS_* (a server or client uses only the keys given to it), with
    RUST_LOG set for the Rust servers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if rust_log:
        env["RUST_LOG"] = rust_log
    return env


class Server:
    """An S3 server on 127.0.0.1, one per s3 seal; subclasses start it and set `endpoint`."""

    name = "?"
    proc: subprocess.Popen
    endpoint: str

    def __init__(self, venv: Path):
        self.venv = venv

    def make_bucket(self) -> None:
        # Answering: the bucket is made through the S3 API, which retries nothing (s3ctl).
        deadline = time.monotonic() + 90
        while self.s3ctl("create-bucket", BUCKET, check=False).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise Failed(f"{self.name} never answered create-bucket")
            time.sleep(0.2)

    def s3ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = s3_env(self.endpoint, Path("/nonexistent"))
        r = subprocess.run([str(self.venv / "bin" / "python"), str(S3CTL), self.endpoint, *args],
                           capture_output=True, env=env)
        if check and r.returncode != 0:
            raise Failed(f"s3ctl {' '.join(args)}: {r.stderr.decode(errors='replace')}")
        return r

    def keys(self, prefix: str) -> list[tuple[str, int]]:
        out = self.s3ctl("list", BUCKET, prefix).stdout
        return [(o["key"], o["size"]) for o in json.loads(out)]

    def usage(self) -> tuple[float, int]:
        """(CPU seconds, peak RSS bytes) of the server so far."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            tick = os.sysconf("SC_CLK_TCK")
            cpu = (int(stat[11]) + int(stat[12])) / tick
            hwm = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{self.proc.pid}/status").read_text())
            return cpu, int(hwm.group(1)) * 1024 if hwm else 0
        except (OSError, IndexError, ValueError):
            return 0.0, 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Moto(Server):
    """A moto server on 127.0.0.1, port chosen by the kernel (Werkzeug prints it)."""

    name = "moto"

    def __init__(self, venv: Path, logfile: Path):
        super().__init__(venv)
        out = open(logfile, "wb")
        self.proc = subprocess.Popen([str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", "0"],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=server_env())
        out.close()
        deadline = time.monotonic() + 90
        self.port = None
        while self.port is None:
            m = re.search(r"Running on http://127\.0\.0\.1:(\d+)", logfile.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise Failed(f"moto_server did not start:\n{logfile.read_text(errors='replace')[-2000:]}")
            else:
                time.sleep(0.05)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.make_bucket()


def free_port() -> int:
    """A port the kernel picked a moment ago (bound and released: a server started next binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, logfile: Path, secs: float = 30) -> None:
    deadline = time.monotonic() + secs
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                raise Failed(f"{what} did not start:\n{logfile.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)


class RootedServer(Server):
    """A server keeping its state under `root`: a fresh directory, removed when it stops."""

    def __init__(self, venv: Path, root: Path):
        super().__init__(venv)
        if root.exists():
            shutil.rmtree(root)
        root.mkdir()
        self.root = root

    def spawn(self, argv: list[str], port: int, logfile: Path, rust_log: str) -> None:
        """Start `argv` logging to `logfile` and wait until `port` answers; set `endpoint`."""
        out = open(logfile, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     env=server_env(rust_log))
        out.close()
        try:
            wait_port(port, self.proc, self.name, logfile)
        except Failed:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        self.endpoint = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.root, ignore_errors=True)


class S3sFs(RootedServer):
    """s3s-fs (Rust, tokio, hyper; objects are plain files under a root directory) on
    127.0.0.1, with the bench's access key, on a port the kernel picked a moment before (bound
    and released here: s3s-fs prints its address only at log level info, which would also log
    every request). Its root is a fresh directory on the same file system as the dist."""

    name = "s3s-fs"

    def __init__(self, venv: Path, binary: Path, root: Path, logfile: Path):
        super().__init__(venv, root)
        port = free_port()
        self.spawn([str(binary), "--host", "127.0.0.1", "--port", str(port),
                    "--access-key", KEYS["AWS_ACCESS_KEY_ID"],
                    "--secret-key", KEYS["AWS_SECRET_ACCESS_KEY"], str(root)],
                   port, logfile, "error")
        self.make_bucket()


class Garage(RootedServer):
    """Garage (Rust, tokio/hyper; objects cut into 1 MiB blocks, zstd-compressed, one file per
    block under data_dir, the object index in LMDB under metadata_dir) as a single node on
    127.0.0.1: a fresh root directory (config, metadata, data) on the same file system as the
    dist, replication_factor 1, layout, key (the bench's, imported) and bucket set up with the
    garage CLI before the seal (untimed). `fsync`: metadata_fsync and data_fsync (both off by
    default in Garage; --garage-fsync turns both on)."""

    name = "garage"

    def __init__(self, venv: Path, binary: Path, root: Path, logfile: Path, fsync: bool):
        super().__init__(venv, root)
        self.binary, self.logfile = binary, logfile
        s3_port, rpc_port = free_port(), free_port()
        self.config = root / "garage.toml"
        self.config.write_text(f"""metadata_dir = "{root}/meta"
data_dir = "{root}/data"
db_engine = "lmdb"
replication_factor = 1
metadata_fsync = {str(fsync).lower()}
data_fsync = {str(fsync).lower()}
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{os.urandom(32).hex()}"

[s3_api]
s3_region = "{KEYS['AWS_REGION']}"
api_bind_addr = "127.0.0.1:{s3_port}"
""")
        self.config.chmod(0o600)  # it holds the RPC secret
        self.spawn([str(binary), "-c", str(self.config), "server"], s3_port, logfile, "warn")
        node = self.cli("node", "id", "-q").split("@")[0].strip()
        self.cli("layout", "assign", "-z", "dc1", "-c", "10G", node)
        self.cli("layout", "apply", "--version", "1")
        self.cli("key", "import", "--yes", "-n", "bench", KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"])
        self.cli("bucket", "create", BUCKET)
        self.cli("bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "bench")
        # Answering through the S3 API (the layout takes a moment to be in force).
        deadline = time.monotonic() + 60
        while self.s3ctl("list", BUCKET, "", check=False).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise Failed(f"garage never answered a listing:\n{logfile.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)

    def cli(self, *args: str) -> str:
        r = subprocess.run([str(self.binary), "-c", str(self.config), *args], capture_output=True,
                           env=server_env("warn"))
        if r.returncode != 0:
            self.stop()
            raise Failed(f"garage {' '.join(args[:2])}: {r.stderr.decode(errors='replace')[-2000:]}")
        return r.stdout.decode(errors="replace")


def timed(argv: list[str], env: dict[str, str], cwd: Path, errlog: Path) -> tuple[float, int, int, float]:
    """(wall seconds, exit code, peak RSS bytes, CPU seconds: user + sys) of `argv` under
    /usr/bin/time -v."""
    tfile = errlog.with_suffix(".time")
    with open(errlog, "wb") as err:
        t0 = time.perf_counter()
        rc = subprocess.run(["/usr/bin/time", "-v", "-o", str(tfile), *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cwd).returncode
        wall = time.perf_counter() - t0
    t = tfile.read_text(errors="replace")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
    u = re.search(r"User time \(seconds\): ([\d.]+)", t)
    s = re.search(r"System time \(seconds\): ([\d.]+)", t)
    if not (m and u and s):
        raise Failed(f"/usr/bin/time -v printed no peak RSS or CPU time: {t}")
    return wall, rc, int(m.group(1)) * 1024, float(u.group(1)) + float(s.group(1))


def fresh_copy(master: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run(["cp", "-a", str(master), str(dest)], check=True)
    subprocess.run(["sync"], check=True)


def tree_digest(root: Path) -> str:
    """sha256 over every entry's path, kind, mode and content (links: their target)."""
    h = hashlib.sha256()
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, root)}\0{st.st_mode:o}\0".encode())
            if os.path.islink(p):
                h.update(os.readlink(p).encode())
            else:
                with open(p, "rb") as f:
                    h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


PHASE = re.compile(r"^mapvault: phase (.+): ([\d.]+) ms$")


def phases(errlog: Path) -> dict[str, float]:
    """Seconds per phase from a seal's stderr (`MAPVAULT_PHASES=1`: `mapvault: phase NAME: N ms`)."""
    out: dict[str, float] = {}
    for line in errlog.read_text(errors="replace").splitlines():
        m = PHASE.match(line)
        if m:
            out[m.group(1).strip()] = out.get(m.group(1).strip(), 0.0) + float(m.group(2)) / 1000
    return out


def object_names(vault: Path) -> set[str]:
    names = set()
    for sub in ("maps", "blobs"):
        d = vault / sub
        if d.is_dir():
            names |= {f"{sub}/{n}" for n in os.listdir(d)}
    return names


def seal_local(mapvault: str, master: Path, run: Path, r: int) -> dict:
    dist, vault = run / "dist", run / "vault"
    fresh_copy(master, dist)
    if vault.exists():
        shutil.rmtree(vault)
    vault.mkdir(mode=0o700)
    env = server_env()
    env["MAPVAULT_PHASES"] = "1"
    wall, rc, rss, cpu = timed([mapvault, "seal", str(dist), "--vault", str(vault)], env, run,
                               run / f"local-{r}.log")
    if rc not in (0, 1):
        raise Failed(f"round {r}: local seal exited {rc}: {(run / f'local-{r}.log').read_text()[-2000:]}")
    return {"wall": wall, "cpu": cpu, "rss": rss, "rc": rc, "objects": object_names(vault),
            "dist": tree_digest(dist), "phases": phases(run / f"local-{r}.log")}


def seal_s3(a: argparse.Namespace, r: int) -> dict:
    run = a.run_dir
    dist = run / "dist"
    fresh_copy(a.master, dist)
    cache = run / f"cache-{r}"
    shutil.rmtree(cache, ignore_errors=True)
    if a.server == "s3s":
        moto: Server = S3sFs(a.venv, a.s3s, run / "s3s-root", run / f"s3s-{r}.log")
        subprocess.run(["sync"], check=True)
    elif a.server == "garage":
        moto = Garage(a.venv, a.garage, run / "garage-root", run / f"garage-{r}.log", a.garage_fsync)
        subprocess.run(["sync"], check=True)
    else:
        moto = Moto(a.venv, run / f"moto-{r}.log")
    mapvault = a.mapvault
    try:
        prefix = f"round-{r}"
        url = f"s3://{BUCKET}/{prefix}"
        env = s3_env(moto.endpoint, cache)
        env["MAPVAULT_PHASES"] = "1"
        opts = [x for o in a.vault_option for x in ("--vault-option", o)]
        wall, rc, rss, cpu = timed([mapvault, "seal", str(dist), "--vault", url, *opts], env, run,
                                   run / f"s3-{r}.log")
        moto_cpu, moto_rss = moto.usage()
        if rc not in (0, 1):
            raise Failed(f"round {r}: seal --vault {url} exited {rc}: "
                         f"{(run / f's3-{r}.log').read_text(errors='replace')[-2000:]}")
        keys = moto.keys(prefix + "/")
        names = {k[len(prefix) + 1:] for k, _ in keys}
        records = [n for n in names if n.startswith("seals/") and n.endswith(".json")]
        if len(records) != 1:
            raise Failed(f"round {r}: seal exited 0 but the bucket holds {len(records)} records under "
                         f"{url}/seals/ ({len(keys)} keys in all): is this a build with the S3 backend?")
        return {"wall": wall, "cpu": cpu, "rss": rss, "rc": rc, "moto_cpu": moto_cpu, "moto_rss": moto_rss,
                "objects": {n for n in names if n.startswith(("maps/", "blobs/"))},
                "bytes": sum(s for _, s in keys), "keys": len(keys), "dist": tree_digest(dist),
                "phases": phases(run / f"s3-{r}.log")}
    finally:
        moto.stop()
        shutil.rmtree(cache, ignore_errors=True)


def mib(b: float) -> str:
    return f"{b / 1048576:.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mapvault", required=True)
    ap.add_argument("--master", required=True, type=Path)
    ap.add_argument("--venv", required=True, type=Path, help="a venv with boto3 (scripts/moto.sh)")
    ap.add_argument("--server", choices=("moto", "s3s", "garage"), default="moto")
    ap.add_argument("--s3s", type=Path, help="the s3s-fs binary (scripts/s3s.sh), for --server s3s")
    ap.add_argument("--garage", type=Path, help="the garage binary (scripts/garage.sh), for --server garage")
    ap.add_argument("--garage-fsync", action="store_true",
                    help="garage with metadata_fsync and data_fsync on (both off by default)")
    ap.add_argument("--run-dir", required=True, type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ratio-goal", type=float, default=2.0)
    ap.add_argument("--label", default="")
    ap.add_argument("--vault-option", action="append", default=[],
                    help="KEY=VALUE passed to the s3 seal as --vault-option (repeatable)")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--md-out", type=Path)
    a = ap.parse_args()
    a.run_dir.mkdir(parents=True, exist_ok=True)

    if a.server == "s3s" and not (a.s3s and a.s3s.is_file()):
        sys.exit("bench.py: --server s3s needs --s3s BIN (scripts/s3s.sh installs it)")
    if a.server == "garage" and not (a.garage and a.garage.is_file()):
        sys.exit("bench.py: --server garage needs --garage BIN (scripts/garage.sh installs it)")
    server = {"moto": "moto", "s3s": "s3s-fs", "garage": "garage"}[a.server]
    if a.server == "garage" and a.garage_fsync:
        server = "garage+fsync"
    load0 = os.getloadavg()
    rows: dict[str, list[dict]] = {"local": [], "s3": []}
    try:
        for r in range(1, a.runs + 1):
            order = ["local", "s3"] if r % 2 else ["s3", "local"]
            for kind in order:
                log(f"round {r}/{a.runs}: {kind} seal")
                if kind == "local":
                    res = seal_local(a.mapvault, a.master, a.run_dir, r)
                else:
                    res = seal_s3(a, r)
                rows[kind].append(res)
                log(f"  {res['wall']:.2f} s, {res['cpu']:.2f} s CPU, peak RSS {mib(res['rss'])}"
                    + (f"; {server} {res['moto_cpu']:.1f} s CPU" if kind == "s3" else "")
                    + f"; load {os.getloadavg()[0]:.1f}")
            loc, rem = rows["local"][-1], rows["s3"][-1]
            if (loc["rc"], loc["dist"]) != (rem["rc"], rem["dist"]):
                raise Failed(f"round {r}: the s3 seal left another dist than the local one "
                             f"(exit {rem['rc']} vs {loc['rc']}, tree {rem['dist'][:12]} vs {loc['dist'][:12]})")
            if rows["local"][-1]["objects"] != rows["s3"][-1]["objects"]:
                only_l = rows["local"][-1]["objects"] - rows["s3"][-1]["objects"]
                only_s = rows["s3"][-1]["objects"] - rows["local"][-1]["objects"]
                raise Failed(f"round {r}: the local and s3 vaults hold different objects "
                             f"({len(only_l)} only local, {len(only_s)} only in the bucket)")
    except Failed as e:
        log(f"FAILED: {e}")
        sys.exit(2)

    load1 = os.getloadavg()
    med = {k: statistics.median(x["wall"] for x in v) for k, v in rows.items()}
    cpu = {k: statistics.median(x["cpu"] for x in v) for k, v in rows.items()}
    ratio = med["s3"] / med["local"]
    s3_rss = max(x["rss"] for x in rows["s3"])
    lines = [
        f"### Seal into a loopback S3 server ({server}) vs a local vault{': ' + a.label if a.label else ''}",
        "",
        f"{a.runs} rounds, alternating; seal exit {rows['local'][0]['rc']} both ways (the same sealed "
        f"dist, the same objects); {rows['s3'][0]['keys']} keys, "
        f"{rows['s3'][0]['bytes'] / 1e6:.0f} MB in the bucket after each s3 seal. Load average "
        f"{load0[0]:.1f} / {load0[1]:.1f} at the start, {load1[0]:.1f} / {load1[1]:.1f} at the end (1 / 5 min).",
        "",
        "| seal into | median wall | min–max | ratio | median CPU (user+sys) | peak RSS (max) |",
        "|---|---|---|---|---|---|",
    ]
    for k, label in (("local", "local vault"), ("s3", f"s3:// ({server} on 127.0.0.1)")):
        w = [x["wall"] for x in rows[k]]
        lines.append(f"| {label} | {med[k]:.2f} s | {min(w):.2f}–{max(w):.2f} s | "
                     f"{med[k] / med['local']:.2f}× | {cpu[k]:.2f} s | {mib(max(x['rss'] for x in rows[k]))} |")
    moto_cpu = statistics.median(x["moto_cpu"] for x in rows["s3"])
    moto_rss = max(x["moto_rss"] for x in rows["s3"])
    names = [n for n in rows["s3"][0]["phases"]]
    names += [n for n in rows["local"][0]["phases"] if n not in names]
    if names:
        lines += ["", "| phase (`MAPVAULT_PHASES=1`, median) | local | s3 |", "|---|---|---|"]
        for n in names:
            cell = {k: statistics.median(x["phases"].get(n, 0.0) for x in rows[k]) for k in rows}
            lines.append(f"| {n.strip()}{' (apply)' if n.startswith('  ') else ''} | "
                         f"{cell['local']:.2f} s | {cell['s3']:.2f} s |")
    lines += [
        "",
        f"{server} itself, per s3 seal: {moto_cpu:.1f} CPU s (median), peak RSS {mib(moto_rss)}."
        + (f" Options: {' '.join('--vault-option ' + o for o in a.vault_option)}." if a.vault_option else ""),
        "",
        f"- goal: s3 within {a.ratio_goal:g}× of local: **{'met' if ratio <= a.ratio_goal else 'missed'}** "
        f"({ratio:.2f}×)",
        f"- goal: peak RSS ≤ 200 MB: **{'met' if s3_rss <= RSS_GOAL_BYTES else 'missed'}** "
        f"({s3_rss / 1e6:.0f} MB)",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if a.md_out:
        a.md_out.write_text(report)
    if a.json_out:
        a.json_out.write_text(json.dumps({
            "label": a.label, "server": server, "runs": a.runs, "ratio": ratio, "load": [load0, load1],
            "rounds": {k: [{kk: vv for kk, vv in x.items() if kk not in ("objects", "dist")} for x in v]
                       for k, v in rows.items()},
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
