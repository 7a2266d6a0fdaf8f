#!/usr/bin/env python3
"""`mapvault verify https://…` on loopback: a generated site of real bundler chunks.

    python3 benches/remote/bench.py BIN [--assets 500] [--runs 5] [--work DIR]

The site: `index.html` with 20 module scripts; every script imports others until ASSETS
scripts are reachable (some only through `import()`); each script is a real minified chunk from
fixtures/ (Vite, webpack, Rollup, esbuild) with its imports prepended; every other script still
ends in `//# sourceMappingURL=` and has its map beside it, the rest are sealed (no comment, no
map: the `.map` probes get 404). nginx (Debian's) serves it on a free port from a temp prefix;
without nginx, Python's threading http.server does (labelled, and much slower).

Timed, alternating, RUNS times each: `mapvault verify URL` with the default concurrency and
with --jobs 1, and a reference: curl fetching exactly the URLs mapvault requested, 6 in parallel
(`xargs -P 6`, 50 URLs per curl process so connections are reused), bodies thrown away — what
fetching alone costs with a common tool, process starts included. Prints a Markdown table;
tests never assert timings.
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHUNKS = [
    "vite/assets/index-SezSZ-FV.js", "vite/assets/lazy-BOcWjl4z.js", "vite/assets/worker--rS7y3IJ.js",
    "webpack-source-map/527.13fe32c5.js", "webpack-source-map/656.d1ba4a78.js",
    "rollup", "esbuild",
]


def real_chunks():
    """Minified JS bodies from the fixtures, without their own references or imports."""
    out = []
    for c in CHUNKS:
        p = REPO / "fixtures" / c
        files = [p] if p.is_file() else sorted(p.rglob("*.js"))
        for f in files:
            text = f.read_text(errors="replace")
            lines = [l for l in text.splitlines() if "sourceMappingURL" not in l]
            body = "\n".join(lines)
            # Relative imports of the fixture would point nowhere here.
            if "import" in body and ('from"./' in body or "from './" in body or 'import("./' in body
                                     or "import(`./" in body or 'from "./' in body):
                continue
            out.append(body)
    assert out, "no usable fixture chunks"
    return out


MAP = '{"version":3,"file":"%s","sources":["src/%s.ts"],"sourcesContent":["export {}"],"names":[],"mappings":"AAAA"}'


def generate(root: Path, n: int):
    chunks = real_chunks()
    entries = 20
    children = {i: [] for i in range(n)}
    # Breadth-first tree: script i imports the next ones in order, ~(n/entries) per entry.
    nxt = entries
    i = 0
    while nxt < n:
        for _ in range(3):
            if nxt < n:
                children[i].append(nxt)
                nxt += 1
        i += 1
    (root / "assets").mkdir(parents=True)
    for i in range(n):
        name = f"c{i:04}.js"
        imports = []
        for k, c in enumerate(children[i]):
            if k == 2:  # one child in three only through a dynamic import
                imports.append(f"const l{c}=()=>import(\"./c{c:04}.js\");")
            else:
                imports.append(f"import \"./c{c:04}.js\";")
        body = "\n".join(imports) + "\n" + chunks[i % len(chunks)] + "\n"
        if i % 2 == 0:
            body += f"//# sourceMappingURL={name}.map\n"
            (root / "assets" / f"{name}.map").write_text(MAP % (name, name))
        (root / "assets" / name).write_text(body)
    scripts = "\n".join(f'<script type="module" src="/assets/c{i:04}.js"></script>' for i in range(entries))
    (root / "index.html").write_text(f"<!doctype html><html><head>{scripts}</head><body></body></html>\n")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(site: Path, work: Path):
    port = free_port()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx:
        prefix = work / "nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(f"""daemon off; master_process off; worker_processes 1;
pid {prefix}/nginx.pid; error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{ include /etc/nginx/mime.types; default_type application/octet-stream; access_log off;
  client_body_temp_path {prefix}/tmp/b; proxy_temp_path {prefix}/tmp/p; fastcgi_temp_path {prefix}/tmp/f;
  uwsgi_temp_path {prefix}/tmp/u; scgi_temp_path {prefix}/tmp/s; keepalive_requests 100000;
  server {{ listen 127.0.0.1:{port}; root {site}; }} }}
""")
        proc = subprocess.Popen([nginx, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        label = "nginx " + subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    else:
        proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                 "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        label = "python http.server (no nginx: a slower server)"
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port, label
        except OSError:
            time.sleep(0.02)
    proc.kill()
    sys.exit("bench: the server did not start")


def timed(cmd, env=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return time.perf_counter() - t, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--assets", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work")
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="mapvault-remote-bench."))
    site = work / "site"
    if site.exists():
        shutil.rmtree(site)
    generate(site, a.assets)
    proc, port, label = start_server(site, work)
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, NO_PROXY="*")
    try:
        # One untimed run: the URL list for curl, and the counts.
        _, r = timed([a.bin, "verify", url, "--format", "json", "--max-requests", "100000"], env)
        rep = json.loads(r.stdout)
        assert r.returncode == 1 and not rep["errors"], (r.returncode, rep["errors"][:3])
        requests = rep["requests"]
        assets = rep["files_scanned"]
        leaks = len(rep["leaks"])
        urls = {l["path"] for l in rep["leaks"]}
        urls |= {url + f"assets/c{i:04}.js" for i in range(a.assets)}
        urls |= {url + f"assets/c{i:04}.js.map" for i in range(a.assets)}
        urls.add(url)
        listing = work / "urls.txt"
        listing.write_text("\n".join(sorted(urls)) + "\n")
        cmds = {
            "mapvault verify (default: 6 requests at once)": [a.bin, "verify", url, "--quiet", "--max-requests", "100000"],
            "mapvault verify --jobs 1": [a.bin, "verify", url, "--quiet", "--jobs", "1", "--max-requests", "100000"],
            "curl: the same URLs, 6 at once, 50 per process": ["sh", "-c", f"xargs -P 6 -n 50 curl -s -o /dev/null < {listing}"],
        }
        times = {k: [] for k in cmds}
        for run in range(a.runs):
            order = list(cmds)
            order = order[run % len(order):] + order[:run % len(order)]
            for k in order:
                t, r = timed(cmds[k], env)
                if k.startswith("mapvault") and r.returncode != 1:
                    sys.exit(f"bench: {k} exited {r.returncode}: {r.stderr.decode()[-500:]}")
                times[k].append(t)
        ref = statistics.median(times["curl: the same URLs, 6 at once, 50 per process"])
        print(f"site: {a.assets} scripts ({assets} responses examined, {requests} requests, {leaks} leaks) "
              f"served by {label} on 127.0.0.1; {a.runs} runs each, rotated; load {os.getloadavg()[0]:.2f}")
        print()
        print("| command | median wall | min–max | ÷ curl |")
        print("|---|---|---|---|")
        for k, ts in times.items():
            m = statistics.median(ts)
            print(f"| {k} | {m:.3f} s | {min(ts):.2f}–{max(ts):.2f} s | {m / ref:.2f}× |")
    finally:
        proc.kill()
        proc.wait()
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
